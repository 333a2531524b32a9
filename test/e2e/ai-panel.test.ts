/**
 * End-to-end: the viewer's AI panel against `medfedpure serve` (fresh data dir, demo study, the committed trained
 * models in native-models/models/). Scans slice 1 of the axial demo series, checks the panel's label, flag state
 * and model versions (sha256 against native-models/models/manifest.json, none untrained), the slice mark and the
 * series badge; toggles the error-map overlay, the Purified and Difference views (buttons and hotkeys), follows a
 * zoom; scans the rest of the series; then reloads and finds the stored results again (scan.results). Screenshots: test-results/screenshots/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { openDemoAxial, useE2eSession } from './support/session.js';

/** The engine loads its models on the first scan.* call; give it time on a busy CI machine. */
const ENGINE_TIMEOUT_MS = 180_000;

interface Manifest { models: Record<string, { version: string; sha256: string }> }
const MANIFEST = JSON.parse(readFileSync(new URL('../../native-models/models/manifest.json', import.meta.url), 'utf8')) as Manifest;

/** The bits of the DOM canvas used in the page function below (this file compiles without the DOM lib). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(type: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** Hash and colourfulness (pixels whose channels differ: overlays are coloured, the MR image is grey) of the canvas. */
async function canvasStats(page: Page): Promise<{ hash: number; coloured: number }> {
  return page.getByTestId('viewport-canvas').evaluate((el) => {
    const c = el as unknown as CanvasLike;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let hash = 2166136261;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - d[i + 1]) > 12 || Math.abs(d[i + 1] - d[i + 2]) > 12) coloured++;
      hash = Math.imul(hash ^ d[i], 16777619) >>> 0;
      hash = Math.imul(hash ^ d[i + 2], 16777619) >>> 0;
    }
    return { hash, coloured };
  });
}

async function nextFrame(page: Page): Promise<void> {
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(null))))');
}

describe('AI panel end-to-end', { skip: CHROMIUM_SKIP_REASON }, () => {
  const session = useE2eSession();

  async function openDemo(page: Page): Promise<void> {
    await openDemoAxial(page, session.server.url);
    await nextFrame(page);
  }

  test('scan a slice: label, flag, models; error map, Purified and Difference overlays; stored result on reopen', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await openDemo(page);
    const panel = page.getByTestId('ai-panel');
    assert.match((await panel.textContent()) ?? '', /research use only/i);
    assert.match((await page.getByTestId('ai-no-result').textContent()) ?? '', /not scanned/i);
    await page.waitForSelector('[data-testid=ai-engine][data-ready=true]', { timeout: ENGINE_TIMEOUT_MS });
    // The shipped calibration says how often clean scans of unseen groups get flagged.
    assert.match((await page.getByTestId('ai-expected-flags').textContent()) ?? '', /^False flags expected on new patients' clean scans: \d+\.\d % ± \d+\.\d % \(≤ \d+\.\d % in 95 % of resamples\)$/);
    // The shipped classifier's held-out figures, from its model card.
    assert.match((await page.getByTestId('ai-held-out').textContent()) ?? '', /^Classifier on \d+ held-out slices \(br35h-group-v1 \(seed 42\)\): accuracy \d+\.\d %( \(95 % CI \d+\.\d %–\d+\.\d %\))? · sensitivity \d+\.\d % · specificity \d+\.\d %$/);
    const plain = await canvasStats(page);

    // Scan slice 1 (the top of the head).
    await page.getByTestId('ai-scan-slice').click();
    const result = page.getByTestId('ai-result');
    await result.waitFor({ timeout: ENGINE_TIMEOUT_MS });
    // Slice 1 is in intended use (axial brain MR) and under the out-of-distribution cut: answered.
    assert.equal(await result.getAttribute('data-state'), 'answered');
    assert.match((await page.getByTestId('ai-state').textContent()) ?? '', /^AnsweredIn intended use \(MR · BRAIN · axial \(0° tilt\) · 256×256\) and like the training data\.$/);
    const label = await result.getAttribute('data-label');
    assert.ok(label === 'tumour' || label === 'no-tumour', `label ${label}`);
    assert.match((await page.getByTestId('ai-label').textContent()) ?? '', /^(Tumour|No tumour)$/);
    assert.match((await page.getByTestId('ai-probability').textContent()) ?? '', /^\d{1,3}\.\d %$/);
    const flagged = (await result.getAttribute('data-flagged')) === 'true';
    const flagText = (await page.getByTestId('ai-flag').textContent()) ?? '';
    // The detector is at chance against attacks (docs/ROBUSTNESS.md): its flag reads "unusual", not "adversarial".
    assert.match(flagText, flagged ? /UNUSUAL.*Not evidence of an attack/ : /not flagged/);
    assert.doesNotMatch(flagText, /adversarial/i);
    assert.match((await page.getByTestId('ai-score').textContent()) ?? '', /score [\d.e-]+ [>≤] threshold [\d.e-]+ \(mse|laplacian\)/);
    const models = (await page.getByTestId('ai-models').textContent()) ?? '';
    for (const name of ['classifier', 'mae', 'diffusion']) {
      const m = MANIFEST.models[name];
      assert.ok(models.includes(m.sha256.slice(0, 12)), `${name} ${m.version} (sha256 ${m.sha256.slice(0, 12)}) is the model used: ${models}`);
    }
    assert.match(models, /classifier 1\.0\.0/);
    assert.equal(await page.getByTestId('ai-untrained').count(), 0, 'the committed models are trained');
    assert.equal(await page.locator('[data-testid=ai-models] li[data-trained=false]').count(), 0);
    assert.match((await page.getByTestId('ai-ep').textContent()) ?? '', /\w+/);
    console.log(`# slice 1: ${label}, flagged=${flagged}; ${(await page.getByTestId('ai-score').textContent())}; ${(await page.getByTestId('ai-purify').textContent())}`);

    // The slice indicator marks slice 1; the series thumbnail counts it.
    const mark = page.locator('[data-testid=slice-mark][data-index="0"]');
    await mark.waitFor();
    assert.equal(await mark.getAttribute('data-flagged'), String(flagged));
    assert.match((await page.getByTestId('series-ai-badge').textContent()) ?? '', flagged ? /AI 1 · 1 flagged/ : /AI 1$/);
    await nextFrame(page);
    await screenshot(page, 'e2e-ai-1-result');

    // Error-map heat overlay: coloured pixels appear on the image, with its colour scale.
    await page.getByTestId('ai-toggle-errormap').click();
    await page.waitForSelector('[data-testid=viewport][data-ai-error-map=true]');
    await nextFrame(page);
    const heat = await canvasStats(page);
    assert.notEqual(heat.hash, plain.hash, 'the error map changes the canvas');
    assert.ok(heat.coloured > plain.coloured + 500, `coloured pixels ${plain.coloured} → ${heat.coloured}`);
    // Overlay opacity: at 0 % the heat is gone from the canvas, at 100 % it is back.
    await page.getByTestId('ai-overlay-opacity').fill('0');
    let faded = await canvasStats(page);
    for (let i = 0; i < 20 && faded.coloured >= heat.coloured; i++) { await nextFrame(page); faded = await canvasStats(page); }
    assert.ok(faded.coloured < plain.coloured + 500, `opacity 0: coloured pixels ${faded.coloured} (plain ${plain.coloured})`);
    await page.getByTestId('ai-overlay-opacity').fill('100');
    await page.getByTestId('legend-errormap').waitFor();
    assert.match((await page.getByTestId('legend-errormap').textContent()) ?? '', /MAE error\s*0\s*≥[\d.e-]+/);
    // One colour scale for every slice, from the calibration (not from this slice's own values).
    assert.equal(await page.getByTestId('legend-errormap-scale').getAttribute('data-calibrated'), 'true');
    await screenshot(page, 'e2e-ai-2-errormap');
    await page.getByTestId('ai-toggle-errormap').click();
    await page.waitForSelector('[data-testid=viewport][data-ai-error-map=false]');

    // Slice 1 of the demo is out of the training distribution: the committed detector flags it (score/threshold ≈ 1.6 with the committed MAE and calibration).
    assert.ok(flagged, 'demo slice 1 is expected to be flagged by the committed detector, so that it has a purified image');
    await page.getByTestId('ai-view-purified').click();
    await page.waitForSelector('[data-testid=viewport][data-ai-view=purified]');
    await nextFrame(page);
    const purified = await canvasStats(page);
    assert.notEqual(purified.hash, plain.hash, 'the Purified view changes the canvas');
    assert.match((await page.getByTestId('viewport-legend').textContent()) ?? '', /PURIFIED · model space 64×64/);
    await screenshot(page, 'e2e-ai-3-purified');

    // Hotkeys: V cycles to Difference (diverging scale with its range), E adds the error map; zoom keeps them on.
    await page.getByTestId('viewport-canvas').focus();
    await page.keyboard.press('v');
    await page.waitForSelector('[data-testid=viewport][data-ai-view=difference]');
    await page.getByTestId('legend-difference').waitFor();
    assert.match((await page.getByTestId('legend-difference').textContent()) ?? '', /-[\d.e-]+\s*≥\+[\d.e-]+/);
    await nextFrame(page);
    assert.ok((await canvasStats(page)).coloured > 500, 'the difference is drawn in colour');
    await screenshot(page, 'e2e-ai-4-difference');
    await page.keyboard.press('v'); // back to Original
    await page.waitForSelector('[data-testid=viewport][data-ai-view=original]');
    await page.keyboard.press('e');
    await page.keyboard.press('=');
    await page.keyboard.press('=');
    await page.waitForSelector('[data-testid=viewport][data-ai-error-map=true]');
    await page.getByTestId('overlay-zoom').filter({ hasNotText: /^Zoom: 100%$/ }).waitFor();
    await nextFrame(page);
    await screenshot(page, 'e2e-ai-5-errormap-zoomed');
    assert.match((await page.locator('.hotkey-help').textContent()) ?? '', /E AI error map · V AI view/);

    // Another slice has no result; coming back shows it again.
    await page.keyboard.press('ArrowDown');
    await page.getByTestId('ai-no-result').waitFor();
    await page.keyboard.press('ArrowUp');
    await result.waitFor();

    // Scan series: the 23 remaining slices one after another; every slice gets a mark, flagged ones in red.
    await page.getByTestId('ai-scan-series').click();
    await page.getByTestId('ai-note').filter({ hasText: '23 of 23 slices scanned' }).waitFor({ timeout: ENGINE_TIMEOUT_MS });
    assert.equal(await page.getByTestId('slice-mark').count(), 24);
    const nFlagged = await page.locator('[data-testid=slice-mark][data-flagged=true]').count();
    assert.ok(nFlagged >= 1);
    assert.match((await page.getByTestId('series-ai-badge').textContent()) ?? '', new RegExp(`AI 24 · ${nFlagged} flagged`));
    assert.equal(await page.getByTestId('ai-scan-series').textContent(), 'Rescan series');
    console.log(`# series: ${nFlagged} of 24 slices flagged`);
    await page.keyboard.press('e');
    await page.waitForSelector('[data-testid=viewport][data-ai-error-map=false]');
    await page.keyboard.press('f');
    for (let i = 0; i < 11; i++) await page.keyboard.press('ArrowDown');
    await page.getByTestId('overlay-slice').filter({ hasText: /^Im: 12\/24$/ }).waitFor();
    await result.waitFor();
    if ((await result.getAttribute('data-flagged')) === 'false') {
      // An unflagged result says plainly that "not flagged" is no proof of a clean scan.
      assert.match((await page.getByTestId('ai-flag-limit').textContent()) ?? '', /not proof of a clean scan/);
    }
    await nextFrame(page);
    await screenshot(page, 'e2e-ai-6-series-scanned');
    assert.deepEqual(errors, []);
    await page.close();

    // A reopened study shows the stored result (scan.results) without scanning again.
    const again = await session.context.newPage();
    const errors2 = watchPageErrors(again);
    await openDemo(again);
    await again.locator('[data-testid=slice-mark][data-index="0"]').waitFor();
    assert.equal(await again.getByTestId('slice-mark').count(), 24);
    await again.getByTestId('ai-result').waitFor();
    assert.equal(await again.getByTestId('ai-result').getAttribute('data-flagged'), String(flagged));
    assert.equal(await again.getByTestId('ai-result').getAttribute('data-label'), label);
    assert.deepEqual(errors2, []);
    await again.close();
  });
});
