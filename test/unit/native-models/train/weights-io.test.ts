import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { decodeWeights, encodeWeights, loadWeights, saveWeights, WeightsFormatError } from '../../../../native-models/src/core/weights-io.js';
import { tensor, type NamedWeights } from '../../../../native-models/src/core/tensor.js';

const sample = (): NamedWeights => new Map([
  ['conv1.w', tensor([2, 1, 2, 2], [1, 2, 3, 4, -1, -2, 1e-30, Number.MAX_VALUE / 1e10])],
  ['conv1.b', tensor([2], [0.5, -0.5])],
  ['empty', tensor([0])],
  ['scalar', tensor([], [42])],
]);
const isErr = (code: string) => (e: unknown) => e instanceof WeightsFormatError && e.code === code;

test('round trip keeps names, order, shapes, bits and meta', () => {
  const w = sample();
  const d = decodeWeights(encodeWeights(w, { step: 7, note: 'x' }));
  assert.deepEqual([...d.weights.keys()], [...w.keys()]);
  for (const [k, t] of w) {
    assert.deepEqual(d.weights.get(k)!.shape, t.shape);
    assert.deepEqual(d.weights.get(k)!.data, t.data);
  }
  assert.deepEqual(d.meta, { step: 7, note: 'x' });
  // Subarray-backed tensors serialise their own bytes only.
  const big = new Float32Array(10).map((_, i) => i);
  const d2 = decodeWeights(encodeWeights(new Map([['v', { shape: [3], data: big.subarray(4, 7) }]])));
  assert.deepEqual([...d2.weights.get('v')!.data], [4, 5, 6]);
});

test('every truncation is rejected; tampering is caught by the checksum', () => {
  const bytes = encodeWeights(sample(), { a: 1 });
  for (const n of [0, 10, 43, 60, bytes.length - 33, bytes.length - 1]) {
    assert.throws(() => decodeWeights(bytes.subarray(0, n)), (e: unknown) => e instanceof WeightsFormatError, `truncated to ${n}`);
  }
  assert.throws(() => decodeWeights(bytes.subarray(0, bytes.length - 1)), isErr('WEIGHTS_TRUNCATED'));
  const tampered = new Uint8Array(bytes);
  tampered[bytes.length - 40] ^= 1; // a data byte
  assert.throws(() => decodeWeights(tampered), isErr('WEIGHTS_CHECKSUM'));
  const badMagic = new Uint8Array(bytes);
  badMagic[0] = 0x4e;
  assert.throws(() => decodeWeights(badMagic), isErr('WEIGHTS_BAD_MAGIC'));
  const v2 = new Uint8Array(bytes);
  v2[7] = 0x32;
  assert.throws(() => decodeWeights(v2), isErr('WEIGHTS_UNSUPPORTED'));
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  assert.throws(() => decodeWeights(extra), isErr('WEIGHTS_BAD_HEADER'));
});

test('save is atomic, returns the file sha256, and leaves no temp files; load gives typed errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-w-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'model.mfpw');
  const r = await saveWeights(p, sample(), { v: 1 });
  assert.equal(r.sha256, createHash('sha256').update(readFileSync(p)).digest('hex'));
  const l = await loadWeights(p);
  assert.equal(l.sha256, r.sha256);
  assert.deepEqual(l.meta, { v: 1 });
  await saveWeights(p, new Map([['x', tensor([1], [1])]]));
  assert.deepEqual(readdirSync(dir), ['model.mfpw']);
  // A failed write (target folder missing) throws and leaves the existing file alone.
  await assert.rejects(saveWeights(join(dir, 'missing', 'm.mfpw'), sample()));
  assert.deepEqual([...(await loadWeights(p)).weights.keys()], ['x']);
  await assert.rejects(loadWeights(join(dir, 'nope.mfpw')), isErr('WEIGHTS_NOT_FOUND'));
  writeFileSync(join(dir, 'cut.mfpw'), readFileSync(p).subarray(0, 30));
  await assert.rejects(loadWeights(join(dir, 'cut.mfpw')), isErr('WEIGHTS_TRUNCATED'));
});
