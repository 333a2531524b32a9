/** Exact ε-ball and box projections (float32 semantics checked with Math.fround and in float64). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampInto, floorF32, linfBounds, nextDown32, nextUp32, projectL2, l2Dist } from '../../../../native-models/src/lab/attacks/project.js';
import { Rng } from '../../../../native-models/src/core/rng.js';

function worstCaseImage(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  // pixels on the 8-bit grid, at the box edges, and arbitrary float32 values
  return Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? Math.round(rng.uniform() * 255) / 255 : i % 3 === 1 ? (rng.uniform() < 0.5 ? 0 : 1) : rng.uniform()));
}

test('nextUp32/nextDown32/floorF32 step by exactly one float32', () => {
  for (const v of [0, 1e-30, 0.5, 1, 2 / 255]) {
    const u = nextUp32(v), d = nextDown32(Math.fround(v));
    assert.ok(u > Math.fround(v) && Math.fround(u) === u);
    assert.ok(d < Math.fround(v) && Math.fround(d) === d);
  }
  for (const e of [1 / 255, 2 / 255, 4 / 255, 8 / 255, 0.1]) {
    const f = floorF32(e);
    assert.ok(f <= e && Math.fround(f) === f && nextUp32(f) > e);
  }
});

test('ℓ∞ projection: every pixel in [0,1] and within ε32 ≤ ε of x, bit-exactly', () => {
  for (const eps of [1 / 255, 2 / 255, 4 / 255, 8 / 255, 0.3]) {
    const x = worstCaseImage(4096, 7);
    const { lo, hi, eps32 } = linfBounds(x, eps);
    const rng = new Rng(3);
    const v = Float32Array.from(x, (xi) => xi + (rng.uniform() * 4 - 2) * eps); // far outside the ball
    clampInto(v, lo, hi);
    for (let i = 0; i < v.length; i++) {
      assert.ok(v[i] >= 0 && v[i] <= 1, `pixel ${i} = ${v[i]}`);
      assert.ok(Math.abs(v[i] - x[i]) <= eps32, `|Δ| = ${Math.abs(v[i] - x[i])} > ε32 ${eps32} at ${i}`);
      assert.ok(Math.fround(Math.abs(Math.fround(v[i] - x[i]))) <= Math.fround(eps), 'float32 check');
      assert.equal(Math.fround(v[i]), v[i]);
    }
    // the bounds are tight: one ulp further is outside the ball (or the box)
    for (let i = 0; i < x.length; i++) {
      if (lo[i] > 0) assert.ok(x[i] - nextDown32(lo[i]) > eps32);
      if (hi[i] < 1) assert.ok(nextUp32(hi[i]) - x[i] > eps32);
    }
  }
});

test('ℓ2 projection: ‖v − x‖₂ ≤ ε and v ∈ [0,1]', () => {
  const x = worstCaseImage(4096, 11);
  for (const eps of [0.05, 0.5, 2]) {
    const rng = new Rng(5);
    const v = Float32Array.from(x, (xi) => xi + rng.normal() * 0.3);
    projectL2(v, x, eps);
    assert.ok(l2Dist(v, x) <= eps, `${l2Dist(v, x)} > ${eps}`);
    for (let i = 0; i < v.length; i++) assert.ok(v[i] >= 0 && v[i] <= 1);
  }
  // inside the ball and the box: unchanged
  const w = new Float32Array(x);
  w[5] = Math.min(1, w[5] + 0.01);
  const before = new Float32Array(w);
  projectL2(w, x, 0.5);
  assert.deepEqual(w, before);
});
