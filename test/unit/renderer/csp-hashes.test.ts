/**
 * The CSP admits Cornerstone3D's measurement-label style by hash (electron/common/ui-policy.ts): the hashes must be
 * those of the style the installed library writes, for exactly the viewer's viewport ids, in both policies (the
 * response header and renderer/index.html's meta tag).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CONTENT_SECURITY_POLICY, MEASUREMENT_LABEL_STYLE_HASHES, measurementLabelStyle } from '../../../electron/common/ui-policy.js';

const VIEWPORT_IDS = ['mfp-vp-0', 'mfp-vp-1', 'mfp-vp-2', 'mfp-vp-3'];

test('the viewer uses exactly the viewport ids the policy was computed for', () => {
  const engine = readFileSync(new URL('../../../renderer/src/viewer/cs/engine.ts', import.meta.url), 'utf8');
  assert.match(engine, new RegExp(`VIEWPORT_IDS = \\[${VIEWPORT_IDS.map((id) => `'${id}'`).join(', ')}\\] as const`));
});

test("the label style is the one the installed Cornerstone tools write", () => {
  const req = createRequire(import.meta.url);
  const pkg = dirname(req.resolve('@cornerstonejs/tools/package.json'));
  const src = readFileSync(join(pkg, 'dist', 'esm', 'drawingSvg', 'drawTextBox.js'), 'utf8');
  const noSelect = /const noSelectStyle = '([^']*)'/.exec(src)?.[1];
  assert.ok(noSelect, 'drawTextBox.js still builds noSelectStyle');
  assert.match(src, /const dropShadowStyle = `filter:url\(#shadow-\$\{svgDrawingHelper\.svgLayerElement\.id\}\);`/);
  assert.equal(measurementLabelStyle('x'), `${noSelect}filter:url(#shadow-svg-layer-x);`);
});

test('header and meta policies admit exactly these label styles, and no other inline style', () => {
  const hashes = VIEWPORT_IDS.map((id) => createHash('sha256').update(measurementLabelStyle(id)).digest('base64'));
  assert.deepEqual([...MEASUREMENT_LABEL_STYLE_HASHES], hashes);
  const directive = `style-src-attr 'unsafe-hashes' ${hashes.map((h) => `'sha256-${h}'`).join(' ')}`;
  assert.ok(CONTENT_SECURITY_POLICY.includes(directive), CONTENT_SECURITY_POLICY);
  const html = readFileSync(new URL('../../../renderer/index.html', import.meta.url), 'utf8');
  assert.ok(html.includes(directive), 'index.html meta CSP');
  assert.ok(!CONTENT_SECURITY_POLICY.includes("'unsafe-inline'") && !html.includes("'unsafe-inline'"));
});
