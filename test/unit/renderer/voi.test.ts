/** Window/level maths of the viewer: DICOM linear VOI, LUT vs direct path, presets, drag. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoVoi, dragVoi, fullRangeVoi, percentileVoi, presetVoi, renderVoi, VOI_PRESETS, type VoiFrame } from '../../../renderer/src/viewer/voi.js';

function frame(values: number[], extra: Partial<VoiFrame> = {}): VoiFrame {
  const pixels = Float32Array.from(values);
  let min = Infinity, max = -Infinity;
  for (const v of pixels) { min = Math.min(min, v); max = Math.max(max, v); }
  return { pixels, minValue: min, maxValue: max, photometricInterpretation: 'MONOCHROME2', ...extra };
}

function grey(f: VoiFrame, voi: { center: number; width: number }, invert = false): number[] {
  const out = new Uint8ClampedArray(f.pixels.length * 4);
  renderVoi(f, voi, invert, out);
  const g: number[] = [];
  for (let i = 0; i < f.pixels.length; i++) {
    assert.equal(out[i * 4], out[i * 4 + 1]);
    assert.equal(out[i * 4 + 3], 255);
    g.push(out[i * 4]);
  }
  return g;
}

test('linear VOI follows DICOM PS3.3 C.11.2.1.2.1 (brain 80/40)', () => {
  const f = frame([-100, 0, 0.5, 40, 79.5, 80, 200]);
  const g = grey(f, { center: 40, width: 80 });
  // x <= c - 0.5 - (w-1)/2 = 0 -> 0; x > c - 0.5 + (w-1)/2 = 79 -> 255; else ((x-39.5)/79 + 0.5) * 255.
  const expect = [-100, 0, 0.5, 40, 79.5, 80, 200].map((x) => x <= 0 ? 0 : x > 79 ? 255 : Math.round(((x - 39.5) / 79 + 0.5) * 255));
  g.forEach((v, i) => assert.ok(Math.abs(v - expect[i]) <= 1, `pixel ${i}: ${v} vs ${expect[i]}`));
});

test('integer frames (LUT path) and fractional frames (direct path) agree', () => {
  const ints: number[] = [];
  for (let i = 0; i < 3000; i++) ints.push((i * 37) % 1200 - 100);
  const fi = frame(ints);
  const ff = frame(ints.map((v) => v + 1e-3));
  const voi = { center: 300, width: 700 };
  const a = grey(fi, voi);
  const b = grey(ff, voi);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1, `pixel ${i}: ${a[i]} vs ${b[i]}`);
});

test('MONOCHROME1 displays inverted, and invert flips it back', () => {
  const m2 = frame([0, 100]);
  const m1 = frame([0, 100], { photometricInterpretation: 'MONOCHROME1' });
  const voi = fullRangeVoi(m2);
  assert.deepEqual(grey(m2, voi), [0, 255]);
  assert.deepEqual(grey(m1, voi), [255, 0]);
  assert.deepEqual(grey(m2, voi, true), [255, 0]);
  assert.deepEqual(grey(m1, voi, true), [0, 255]);
});

test('auto preset uses the DICOM VOI when present, full range otherwise', () => {
  assert.deepEqual(autoVoi(frame([0, 1000], { windowCenter: 300, windowWidth: 600 })), { center: 300, width: 600 });
  assert.deepEqual(autoVoi(frame([0, 1000])), { center: 500, width: 1000 });
  const brain = VOI_PRESETS.find((p) => p.id === 'brain')!;
  assert.deepEqual(presetVoi(brain, frame([0, 1000])), { center: 40, width: 80 });
});

test('percentile window ignores background and outliers', () => {
  const values: number[] = new Array(5000).fill(0); // air
  for (let i = 0; i < 10000; i++) values.push(200 + (i % 101)); // tissue 200..300
  values.push(5000); // one hot pixel
  const v = percentileVoi(frame(values));
  const lo = v.center - v.width / 2;
  const hi = v.center + v.width / 2;
  assert.ok(lo > 150 && lo < 215, `low edge ${lo}`);
  assert.ok(hi > 285 && hi < 360, `high edge ${hi}`);
});

test('drag: right widens, down lowers the level, width never below 1', () => {
  const start = { center: 100, width: 200 };
  const r = dragVoi(start, 50, 0, 512);
  assert.ok(r.width > 200 && r.center === 100);
  const d = dragVoi(start, 0, 20, 512);
  assert.ok(d.center < 100 && d.width === 200);
  assert.equal(dragVoi(start, -10000, 0, 512).width, 1);
});

test('renderVoi refuses an undersized output buffer', () => {
  assert.throws(() => renderVoi(frame([1, 2, 3]), { center: 2, width: 2 }, false, new Uint8ClampedArray(8)), RangeError);
});
