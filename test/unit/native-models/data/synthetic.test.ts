/**
 * The Colin27 + lesion-mask stand-in. Skipped (with a message) where the Debian packages mricron-data / mricron-doc
 * are not installed. Generation takes ~10 s on a 2-core VM (blur and noise at native resolution).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSynthetic, SYNTHETIC_CAVEAT, DEFAULT_TEMPLATE, DEFAULT_MASK_DIR } from '../../../../native-models/src/lab/data/synthetic.js';
import { groupSplit } from '../../../../native-models/src/lab/data/split.js';

const skip = existsSync(DEFAULT_TEMPLATE) && existsSync(`${DEFAULT_MASK_DIR}/24.voi`)
  ? false : 'mricron-data / mricron-doc not installed (apt-get install mricron-data mricron-doc); skipping the synthetic stand-in';

test('synthetic stand-in: balanced, labelled, split separates slice blocks and mask ids', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-syn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ds = await loadSynthetic({ size: 32, cacheDir: dir });
  assert.equal(ds.meta.caveat, SYNTHETIC_CAVEAT);
  assert.equal(ds.meta.caveat, 'synthetic lesions, one anatomy');
  assert.equal(ds.count, 576);
  assert.deepEqual(ds.classCounts(), [288, 288]);
  assert.equal(ds.images.length, 576 * 32 * 32);
  for (const v of ds.images) assert.ok(v >= 0 && v <= 1);
  const s = groupSplit(ds.labels, ds.groups);
  const blockOf = (p: string) => Math.floor((Number(/z(\d+)/.exec(p)![1]) - 48) / 2);
  const maskOf = (p: string) => /mask(\d+)/.exec(p)?.[1];
  const seen = new Map<string, string>();
  for (const [part, idx] of [['train', s.train], ['val', s.val], ['test', s.test]] as const) {
    for (const i of idx) {
      for (const key of [`block${blockOf(ds.paths[i])}`, maskOf(ds.paths[i]) ? `mask${maskOf(ds.paths[i])}` : null]) {
        if (!key) continue;
        const prev = seen.get(key);
        assert.ok(prev === undefined || prev === part, `${key} in ${prev} and ${part}`);
        seen.set(key, part);
      }
    }
    const [no, yes] = ds.classCounts(idx);
    assert.ok(no > 0 && yes > 0, `${part} lacks a class`);
  }
  // A second load comes from the cache with identical pixels and groups.
  assert.equal(ds.meta.fromCache, false);
  const b = await loadSynthetic({ size: 32, cacheDir: dir });
  assert.equal(b.meta.fromCache, true);
  assert.equal(b.meta.fingerprint, ds.meta.fingerprint);
  assert.deepEqual(b.images, ds.images);
  assert.deepEqual(b.groups, ds.groups);
});
