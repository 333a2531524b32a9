import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Augmenter } from '../../../../native-models/src/core/train/augment.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';

function toyDataset(n = 10, size = 16): ImageDataset {
  const images = new Float32Array(n * size * size);
  const r = new Rng(5);
  for (let i = 0; i < images.length; i++) images[i] = r.next();
  return new ImageDataset('toy', size, images, Int32Array.from({ length: n }, (_, i) => i % 2),
    Int32Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => `f${i}`), { source: 'test', groupSource: 'file', fingerprint: '' });
}

test('augmentation keeps [0,1], shape, and is seed-deterministic', () => {
  const size = 16;
  const base = new Float32Array(4 * size * size);
  const r = new Rng(9);
  for (let i = 0; i < base.length; i++) base[i] = r.next();
  const a = new Float32Array(base), b = new Float32Array(base);
  const aug = new Augmenter({ brightness: 0.3, contrast: 0.5 });
  aug.apply(a, 4, size, new Rng(1));
  aug.apply(b, 4, size, new Rng(1));
  assert.deepEqual(a, b);
  assert.equal(a.length, base.length);
  for (const v of a) assert.ok(v >= 0 && v <= 1 && Number.isFinite(v));
  assert.notDeepEqual(a, base);
});

test('identity settings leave the image unchanged; pure flip mirrors', () => {
  const size = 8;
  const img = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
  const id = new Augmenter({ flipP: 0, rotateDeg: 0, scaleMin: 1, scaleMax: 1, translate: 0, contrast: 0, brightness: 0, gammaMax: 1 });
  const x = new Float32Array(img);
  id.apply(x, 1, size, new Rng(3));
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(x[i] - img[i]) < 1e-6);
  const flip = new Augmenter({ flipP: 1, rotateDeg: 0, scaleMin: 1, scaleMax: 1, translate: 0, contrast: 0, brightness: 0, gammaMax: 1 });
  const y = new Float32Array(img);
  flip.apply(y, 1, size, new Rng(3));
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) assert.ok(Math.abs(y[r * 8 + c] - img[r * 8 + 7 - c]) < 1e-6);
});

test('batches: NCHW shapes, labels, every index once per epoch, exact startBatch resume', () => {
  const ds = toyDataset(10);
  const idx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const full = [...ds.batches(idx, 4, new Rng(2), {}, {})];
  assert.deepEqual(full.map((b) => b.x.shape), [[4, 1, 16, 16], [4, 1, 16, 16], [2, 1, 16, 16]]);
  assert.equal(full.reduce((s, b) => s + b.y!.length, 0), 10);
  for (const b of full) for (const v of b.x.data) assert.ok(v >= 0 && v <= 1);
  const resumed = [...ds.batches(idx, 4, new Rng(2), {}, { startBatch: 1 })];
  assert.equal(resumed.length, 2);
  assert.deepEqual(resumed[0].x.data, full[1].x.data);
  assert.deepEqual(resumed[1].y, full[2].y);
  // Unaugmented, unshuffled batches are exact copies of the dataset.
  const plain = [...ds.batches([3], 1)];
  assert.deepEqual(plain[0].x.data, ds.image(3));
  // The dataset itself is never modified by augmentation.
  const before = new Float32Array(ds.images);
  [...ds.batches(idx, 5, new Rng(1), {})];
  assert.deepEqual(ds.images, before);
});

test('reuse: full batches share one buffer', () => {
  const ds = toyDataset(8);
  const it = ds.batches([0, 1, 2, 3, 4, 5, 6, 7], 4, new Rng(1), null, { reuse: true });
  const a = it.next().value!.x.data;
  const b = it.next().value!.x.data;
  assert.equal(a, b);
});
