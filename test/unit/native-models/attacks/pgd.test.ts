/**
 * FGSM / PGD on a tiny classifier trained in the test: they raise its loss, stay exactly in the ε-ball and the box,
 * and the same seed gives bit-identical images (independent of batching).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as classifier from '../../../../native-models/src/inference/nets/classifier.js';
import { oneHot } from '../../../../native-models/src/inference/nets/common.js';
import { crossEntropyRows } from '../../../../native-models/src/lab/attacks/purified-graph.js';
import { pgd, fgsmOptions, type GradientOracle, type PgdOptions } from '../../../../native-models/src/lab/attacks/pgd.js';
import { floorF32, l2Dist } from '../../../../native-models/src/lab/attacks/project.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import type { NamedWeights } from '../../../../native-models/src/core/tensor.js';

const CFG: classifier.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2 };
const S = 16, SS = S * S;

/** Class 1: a bright square somewhere; class 0: none. Pixels on the 8-bit grid. */
function data(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * SS), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let p = 0; p < SS; p++) x[i * SS + p] = Math.round((0.2 + 0.2 * rng.uniform()) * 255) / 255;
    if (y[i]) {
      const r0 = 2 + rng.int(8), c0 = 2 + rng.int(8);
      for (let r = r0; r < r0 + 5; r++) for (let c = c0; c < c0 + 5; c++) x[i * SS + r * S + c] = 0.9;
    }
  }
  return { x, y };
}

let weights: NamedWeights;
const grad = classifier.makeInputGradient(CFG, { threads: 1 });
const oracle: GradientOracle = {
  name: 'classifier',
  async lossGrad(x, labels) {
    const n = labels.length, t = oneHot(labels, 2);
    const r = await grad(weights, { shape: [n, 1, S, S], data: x }, t);
    return { loss: crossEntropyRows(r.logits.data, t.data, 2), grad: r.grad.data };
  },
};
const lossOf = async (x: Float32Array, y: Int32Array) => (await oracle.lossGrad(x, y, [], 0)).loss.reduce((a, b) => a + b, 0) / y.length;

before(async () => {
  const step = classifier.makeTrainStep(CFG, { threads: 1 });
  weights = classifier.init(CFG, 3);
  for (let s = 0; s < 40; s++) {
    const { x, y } = data(16, 100 + s);
    const r = await step(weights, { x: { shape: [16, 1, S, S], data: x }, y });
    for (const [k, g] of r.grads) {
      const w = weights.get(k)!;
      for (let i = 0; i < w.data.length; i++) w.data[i] -= 0.1 * g.data[i];
    }
  }
  await step.release();
});
after(() => grad.release());

const EPS = 8 / 255;
const { x: X, y: Y } = data(8, 999);
const IDS = [...Array(8).keys()];

function assertInBall(adv: Float32Array, x: Float32Array, eps: number) {
  const e32 = floorF32(eps);
  for (let i = 0; i < x.length; i++) {
    assert.ok(adv[i] >= 0 && adv[i] <= 1, `pixel ${i} out of [0,1]: ${adv[i]}`);
    assert.ok(Math.abs(adv[i] - x[i]) <= e32, `pixel ${i}: |Δ| ${Math.abs(adv[i] - x[i])} > ${e32}`);
    assert.ok(Math.fround(Math.abs(adv[i] - x[i])) <= Math.fround(eps));
  }
}

test('the trained tiny classifier fits its task (precondition)', async () => {
  const clean = await lossOf(X, Y);
  assert.ok(clean < 0.6, `clean loss ${clean}`);
});

test('FGSM raises the loss and stays in the ε-ball ∩ [0,1]', async () => {
  const clean = await lossOf(X, Y);
  const r = await pgd(oracle, X, Y, IDS, fgsmOptions(EPS));
  assertInBall(r.adv, X, EPS);
  assert.ok((await lossOf(r.adv, Y)) > clean + 0.05, 'FGSM did not raise the loss');
});

test('PGD-ℓ∞ (random start, restarts) raises the loss more than FGSM; exact ball', async () => {
  const o: PgdOptions = { norm: 'linf', eps: EPS, alpha: EPS / 4, steps: 10, restarts: 2, randomStart: true, seed: 5 };
  const f = await lossOf((await pgd(oracle, X, Y, IDS, fgsmOptions(EPS))).adv, Y);
  const r = await pgd(oracle, X, Y, IDS, o);
  assertInBall(r.adv, X, EPS);
  const l = await lossOf(r.adv, Y);
  assert.ok(l > (await lossOf(X, Y)) + 0.1 && l >= f - 1e-6, `PGD loss ${l}, FGSM ${f}`);
  assert.equal(r.calls, 2 * 11);
});

test('PGD-ℓ2 raises the loss; ‖δ‖₂ ≤ ε and the box hold', async () => {
  const eps = 1;
  const r = await pgd(oracle, X, Y, IDS, { norm: 'l2', eps, alpha: eps / 4, steps: 10, restarts: 1, randomStart: true, seed: 1 });
  for (let i = 0; i < 8; i++) assert.ok(l2Dist(r.adv.subarray(i * SS, (i + 1) * SS), X.subarray(i * SS, (i + 1) * SS)) <= eps);
  for (const v of r.adv) assert.ok(v >= 0 && v <= 1);
  assert.ok((await lossOf(r.adv, Y)) > (await lossOf(X, Y)) + 0.1);
});

test('same seed → bit-identical adversarials, independent of batching; another seed differs', async () => {
  const o: PgdOptions = { norm: 'linf', eps: EPS, alpha: EPS / 4, steps: 3, restarts: 1, randomStart: true, seed: 42 };
  const a = await pgd(oracle, X, Y, IDS, o);
  const b = await pgd(oracle, X, Y, IDS, o);
  assert.deepEqual(b.adv, a.adv);
  // image 3 alone (same id) gives the same adversarial as in the batch of 8
  const one = await pgd(oracle, X.slice(3 * SS, 4 * SS), Y.slice(3, 4), [3], o);
  let maxDiff = 0;
  for (let p = 0; p < SS; p++) maxDiff = Math.max(maxDiff, Math.abs(one.adv[p] - a.adv[3 * SS + p]));
  assert.ok(maxDiff <= 1e-6, `batching changed the adversarial by ${maxDiff}`); // only float reassociation inside ORT
  const c = await pgd(oracle, X, Y, IDS, { ...o, seed: 43 });
  assert.notDeepEqual(c.adv, a.adv);
});
