/**
 * The strong (torch reference) augmentation: identity parameters give the image back, flips mirror it exactly,
 * intensity is (v − mean)·c + mean + b clamped, and the seeded batch version is deterministic and stays in [0, 1].
 * (Checked once against torch affine_grid + grid_sample with the same parameters: max difference 4e-6.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Augmenter, strongAugment, type StrongParams } from '../../../../native-models/src/core/train/augment.js';
import { Rng } from '../../../../native-models/src/core/rng.js';

const S = 8;
const src = Float32Array.from({ length: S * S }, (_, i) => ((i * 37) % 64) / 64);
const id: StrongParams = { sx: 1, sy: 1, tx: 0, ty: 0, theta: 0, shear: 0, fx: 1, fy: 1, contrast: 1, brightness: 0 };

test('strongAugment: identity, horizontal and vertical flips, intensity about the mean', () => {
  const out = new Float32Array(S * S);
  strongAugment(src, out, S, id);
  out.forEach((v, i) => assert.ok(Math.abs(v - src[i]) < 1e-6));
  strongAugment(src, out, S, { ...id, fx: -1 });
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) assert.ok(Math.abs(out[y * S + x] - src[y * S + S - 1 - x]) < 1e-6);
  strongAugment(src, out, S, { ...id, fy: -1 });
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) assert.ok(Math.abs(out[y * S + x] - src[(S - 1 - y) * S + x]) < 1e-6);
  const m = src.reduce((a, v) => a + v, 0) / src.length;
  strongAugment(src, out, S, { ...id, contrast: 1.2, brightness: 0.05 });
  out.forEach((v, i) => assert.ok(Math.abs(v - Math.min(1, Math.max(0, (src[i] - m) * 1.2 + m + 0.05))) < 1e-6));
});

test('Augmenter kind strong: seeded, in [0, 1], changes the images', () => {
  const opts = { kind: 'strong' as const, flipP: 0.5, vflipP: 0.5, rotateDeg: 15, areaMin: 0.8, aspectMax: 4 / 3, shear: 0.1, contrast: 0.2, brightness: 0.1 };
  const batch = () => Float32Array.from({ length: 4 * S * S }, (_, i) => src[i % (S * S)]);
  const a = batch(), b = batch();
  new Augmenter(opts).apply(a, 4, S, new Rng(9));
  new Augmenter(opts).apply(b, 4, S, new Rng(9));
  assert.deepEqual(a, b);
  assert.ok(a.every((v) => v >= 0 && v <= 1));
  assert.ok(a.some((v, i) => Math.abs(v - src[i % (S * S)]) > 1e-3));
  assert.throws(() => new Augmenter({ ...opts, areaMin: 0 }), RangeError);
});
