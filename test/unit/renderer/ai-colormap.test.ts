/** Colour scales of the AI overlays: ends, monotone brightness, symmetric diverging scale, robust ranges, alpha. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  colourBarRgba, differenceRange, divergingColor, divergingRgba, errorMapRange, formatScaleNumber, greyRgba, heatColor,
  heatOverlayRgba, robustAbsMax,
} from '../../../renderer/src/ai/colormap.js';

const luminance = ([r, g, b]: readonly number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

test('heat scale: near-black to pale yellow, brightness rising, clamped outside [0, 1]', () => {
  assert.deepEqual(heatColor(0), [0, 0, 4]);
  assert.deepEqual(heatColor(1), [252, 255, 164]);
  assert.deepEqual(heatColor(-3), heatColor(0));
  assert.deepEqual(heatColor(7), heatColor(1));
  assert.deepEqual(heatColor(Number.NaN), heatColor(0));
  let prev = -1;
  for (let i = 0; i <= 100; i++) {
    const l = luminance(heatColor(i / 100));
    assert.ok(l >= prev - 1e-9, `luminance falls at ${i / 100}`);
    prev = l;
  }
});

test('diverging scale: dark at 0, blue for negative, red for positive, brighter with |t|', () => {
  const [r0, g0, b0] = divergingColor(0);
  assert.ok(r0 < 20 && g0 < 20 && b0 < 20, 'zero is dark');
  const [rn, , bn] = divergingColor(-1);
  const [rp, , bp] = divergingColor(1);
  assert.ok(bn > rn, 'negative end is blue');
  assert.ok(rp > bp, 'positive end is red/orange');
  for (const t of [0.25, 0.5, 1]) {
    assert.ok(luminance(divergingColor(t)) > luminance(divergingColor(t / 2)));
    assert.ok(luminance(divergingColor(-t)) > luminance(divergingColor(-t / 2)));
  }
  assert.deepEqual(divergingColor(-5), divergingColor(-1));
});

test('robust range ignores the top 1 % and is never zero', () => {
  const v = new Float32Array(1000).map((_, i) => i / 1000);
  v[999] = 1e6; // one hot pixel
  assert.ok(Math.abs(robustAbsMax(v) - 0.989) < 1e-6);
  assert.equal(errorMapRange(v).min, 0);
  assert.ok(robustAbsMax(new Float32Array(10)) > 0);
  assert.ok(robustAbsMax([Number.NaN, Infinity]) > 0);
  const d = differenceRange([-0.5, 0.1, 0.2]);
  assert.equal(d.min, -d.max);
  assert.equal(d.max, 0.5);
});

test('heat overlay: transparent at 0, maxAlpha at the range top, clipped above', () => {
  const px = heatOverlayRgba([0, 0.5, 1, 2], { min: 0, max: 1 }, 0.8);
  assert.equal(px[3], 0);
  assert.equal(px[7], Math.round(255 * 0.8 * 0.5));
  assert.equal(px[11], Math.round(255 * 0.8));
  assert.deepEqual([...px.subarray(12, 16)], [...px.subarray(8, 12)]);
});

test('difference and grey images are opaque; grey is linear in [0, 1]', () => {
  const d = divergingRgba([-1, 0, 1], 1);
  assert.deepEqual([d[3], d[7], d[11]], [255, 255, 255]);
  assert.deepEqual([...d.subarray(0, 3)], [...divergingColor(-1)]);
  const g = greyRgba([0, 0.5, 1, 1.5]);
  assert.deepEqual([g[0], g[4], g[8], g[12], g[15]], [0, 128, 255, 255, 255]);
});

test('colour bar runs from the range minimum to the maximum', () => {
  const bar = colourBarRgba('heat', 64);
  assert.deepEqual([...bar.subarray(0, 3)], [...heatColor(0)]);
  assert.deepEqual([...bar.subarray(63 * 4, 63 * 4 + 3)], [...heatColor(1)]);
  const div = colourBarRgba('diverging', 65);
  assert.deepEqual([...div.subarray(32 * 4, 32 * 4 + 3)], [...divergingColor(0)]);
});

test('scale numbers are short', () => {
  assert.equal(formatScaleNumber(0), '0');
  assert.equal(formatScaleNumber(0.038744), '0.0387');
  assert.equal(formatScaleNumber(-0.25), '-0.25');
  assert.equal(formatScaleNumber(0.00002), '2.0e-5');
});
