// The detector study's parts: the squeezers (3×3 median, bit-depth reduction) and the group-resampled AUROC interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aurocWithGroupCI, median3, reduceBits } from '../../../../native-models/src/lab/bench/detector-study.js';

test('median3 removes an isolated spike and keeps flat regions and edges; reduceBits quantises', () => {
  const S = 5;
  const img = new Float32Array(S * S).fill(0.25);
  img[12] = 1; // centre spike
  const m = median3(img, S);
  assert.ok(m.every((v) => v === 0.25));
  const step = Float32Array.from({ length: S * S }, (_, i) => (i % S < 2 ? 0 : 1));
  assert.deepEqual(Array.from(median3(step, S)), Array.from(step), 'a straight edge survives');
  assert.deepEqual(Array.from(reduceBits(Float32Array.from([0, 0.1, 0.5, 0.97, 1]), 1)), [0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(reduceBits(Float32Array.from([0.1]), 4)), [Math.fround(2 / 15)]);
});

test('aurocWithGroupCI: perfect separation is 1 with a tight interval; identical scores are 0.5', () => {
  const groups = [0, 0, 1, 1, 2, 3, 4, 5];
  const clean = [0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.2, 0.3];
  const perfect = aurocWithGroupCI(clean, clean.map((v) => v + 1), groups, 200);
  assert.deepEqual(perfect, { auroc: 1, lo: 1, hi: 1 });
  const none = aurocWithGroupCI(clean, clean, groups, 200);
  assert.equal(none.auroc, 0.5);
  assert.ok(none.lo <= 0.5 && none.hi >= 0.5);
});
