import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withPurifiedCopies } from '../../../../native-models/src/lab/recipes/purified-copies.js';
import { Purifier } from '../../../../native-models/src/inference/pipeline/ddim.js';
import { ddimTimesteps } from '../../../../native-models/src/inference/pipeline/tstar.js';
import { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';
import { images, tinyBundle } from './fixtures.js';

test('withPurifiedCopies: originals plus one purified copy each, labels and groups kept, made as the pipeline makes them, cached', async () => {
  const bundle = tinyBundle();
  const n = 6, S = 16, ss = S * S;
  const flat = new Float32Array(n * ss);
  images(n).forEach((im, i) => flat.set(im.pixels, i * ss));
  const ds = new ImageDataset('toy', S, flat, Int32Array.from({ length: n }, (_, i) => i % 2), Int32Array.from({ length: n }, (_, i) => 10 + i),
    Array.from({ length: n }, (_, i) => `img${i}.png`), { source: 'toy', groupSource: 'one per file', fingerprint: 'f00d' });
  const pick = Int32Array.from([1, 4, 5]);
  const dir = mkdtempSync(join(tmpdir(), 'mfp-purified-'));
  try {
    const o = { tMin: 20, tMax: 60, steps: 2, seed: 3, threads: 1, cacheDir: dir };
    const a = await withPurifiedCopies(ds, pick, bundle.unet, o);
    assert.equal(a.ds.count, n + 3);
    assert.deepEqual([...a.indices], [1, 4, 5, 6, 7, 8]);
    for (let k = 0; k < 3; k++) {
      assert.equal(a.ds.labels[n + k], ds.labels[pick[k]]);
      assert.equal(a.ds.groups[n + k], ds.groups[pick[k]]);
      assert.equal(a.ds.paths[n + k], `${ds.paths[pick[k]]}#purified`);
      assert.ok(a.tStars[k] >= 20 && a.tStars[k] <= 60);
    }
    // Originals unchanged; copies differ from them and stay in [0, 1].
    assert.deepEqual([...a.ds.image(4)], [...ds.image(4)]);
    const copy = a.ds.image(n + 1);
    assert.ok(copy.some((v, i) => v !== ds.image(4)[i]));
    assert.ok(copy.every((v) => v >= 0 && v <= 1));
    // The same purification the pipeline's Purifier gives for that t* and seed.
    const purifier = new Purifier(bundle.unet.config, bundle.unet.weights, { ep: 'cpu', threads: 1 });
    const { deriveSeed } = await import('../../../../native-models/src/core/rng.js');
    const [ref] = await purifier.purify([{ x: ds.image(4), timesteps: ddimTimesteps(a.tStars[1], 2), seed: deriveSeed(3, 0x6464, 1) }]);
    await purifier.release();
    assert.deepEqual([...copy], [...ref]);
    // Second call: served from the cache file, identical.
    assert.equal(readdirSync(dir).length, 1);
    const b = await withPurifiedCopies(ds, pick, bundle.unet, o);
    assert.deepEqual([...b.ds.images], [...a.ds.images]);
    // Another seed is another cache entry.
    await withPurifiedCopies(ds, pick, bundle.unet, { ...o, seed: 4 });
    assert.equal(readdirSync(dir).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
