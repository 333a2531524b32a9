import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, sniffFormat, ImageDecodeError } from '../../../../native-models/src/inference/image/decode.js';
import { letterboxResize } from '../../../../native-models/src/inference/image/resize.js';
import { datasetFromFrames, frameToUnit } from '../../../../native-models/src/inference/image/frames.js';
import { jpegBytes, pngBytes } from './fixtures.js';

test('a PNG named .jpg is decoded as PNG by content', () => {
  const bytes = pngBytes(4, 3, (x) => x * 60);
  assert.equal(sniffFormat(bytes), 'png');
  const img = decodeImage(bytes, 'no/no396.jpg');
  assert.equal(img.format, 'png');
  assert.equal(img.width, 4);
  assert.equal(img.height, 3);
  assert.ok(Math.abs(img.data[1] - 60 / 255) < 1e-6);
  assert.ok(Math.abs(img.data[3] - 180 / 255) < 1e-6);
});

test('PNG alpha is composited over black', () => {
  const img = decodeImage(pngBytes(2, 2, () => 200, 128));
  assert.ok(Math.abs(img.data[0] - (200 / 255) * (128 / 255)) < 1e-6);
});

test('JPEG decodes to one grey channel in [0,1]', () => {
  const img = decodeImage(jpegBytes(16, 16, (x, y) => (x < 8 ? 30 : 220) + 0 * y));
  assert.equal(img.format, 'jpeg');
  assert.equal(img.data.length, 256);
  assert.ok(Math.abs(img.data[0] - 30 / 255) < 0.03);
  assert.ok(Math.abs(img.data[15] - 220 / 255) < 0.03);
  for (const v of img.data) assert.ok(v >= 0 && v <= 1);
});

test('garbage and truncated files give typed errors', () => {
  assert.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4])), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_UNKNOWN_FORMAT');
  const png = pngBytes(8, 8, () => 100);
  assert.throws(() => decodeImage(png.subarray(0, 40)), (e: unknown) => e instanceof ImageDecodeError && e.code === 'IMAGE_CORRUPT');
});

test('area downscale of a 2×2-block pattern gives the block means', () => {
  // 8×8 image made of 2×2 blocks with values v(bx, by) → 4×4 output equals those values.
  const v = (bx: number, by: number) => ((bx * 4 + by) % 7) / 7;
  const data = new Float32Array(64);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data[y * 8 + x] = v(x >> 1, y >> 1);
  const out = letterboxResize({ width: 8, height: 8, data }, 4);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.ok(Math.abs(out[y * 4 + x] - v(x, y)) < 1e-6);
});

test('a fine checkerboard is anti-aliased to flat grey, not aliased', () => {
  const data = new Float32Array(64 * 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) data[y * 64 + x] = (x + y) % 2;
  const out = letterboxResize({ width: 64, height: 64, data }, 16);
  for (const v of out) assert.ok(Math.abs(v - 0.5) < 1e-6);
  // Non-integer factor: still close to 0.5 everywhere.
  const out2 = letterboxResize({ width: 64, height: 64, data }, 24);
  for (const v of out2) assert.ok(Math.abs(v - 0.5) < 0.1, `value ${v}`);
});

test('letterbox: a wide image is centred with black bars, content not cropped', () => {
  const data = new Float32Array(8 * 4).fill(1); // 8 wide, 4 high → padded to 8×8: rows 2..5 white
  const out = letterboxResize({ width: 8, height: 4, data }, 8);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.equal(out[y * 8 + x], y >= 2 && y < 6 ? 1 : 0);
  // Downscaled to 4: rows 1..2 white, 0 and 3 black.
  const out4 = letterboxResize({ width: 8, height: 4, data }, 4);
  assert.deepEqual([...out4].map((v) => Math.round(v * 1000) / 1000), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
});

test('bilinear upscale (align_corners=false) on a known ramp', () => {
  const out = letterboxResize({ width: 2, height: 2, data: Float32Array.from([0, 1, 0, 1]) }, 4);
  // Column samples at src x = -0.25, 0.25, 0.75, 1.25 → clamped edges: 0, 0.25, 0.75, 1.
  for (let y = 0; y < 4; y++) assert.deepEqual([...out.subarray(y * 4, y * 4 + 4)], [0, 0.25, 0.75, 1]);
});

test('sizes 64, 128 and 224 all work', () => {
  const data = new Float32Array(300 * 200).fill(0.5);
  for (const s of [64, 128, 224]) {
    const out = letterboxResize({ width: 300, height: 200, data }, s);
    assert.equal(out.length, s * s);
    assert.ok(Math.abs(out[(s >> 1) * s + (s >> 1)] - 0.5) < 1e-6);
  }
});

test('DICOM frames: VOI window, MONOCHROME1 inversion, dataset from frames', () => {
  const f = { width: 2, height: 1, pixels: [0, 100], window: { center: 50.5, width: 101 }, id: 'a', label: 1, group: 1 };
  const u = frameToUnit(f);
  assert.ok(Math.abs(u[0] - 0) < 1e-6 && Math.abs(u[1] - 1) < 1e-6);
  assert.deepEqual([...frameToUnit({ ...f, window: undefined, invert: true })], [1, 0]);
  const ds = datasetFromFrames([f, { ...f, id: 'b', label: 0, group: 2 }], { name: 'dcm', size: 8 });
  assert.equal(ds.count, 2);
  assert.deepEqual([...ds.labels], [1, 0]);
  for (const v of ds.images) assert.ok(v >= 0 && v <= 1);
});
