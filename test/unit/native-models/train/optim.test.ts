import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, SGD, clipGradNorm, gradNorm, constantLr, cosineWithWarmup, optimizerFromState, OptimizerError } from '../../../../native-models/src/core/train/optim.js';
import { tensor, type NamedWeights } from '../../../../native-models/src/core/tensor.js';

const W = (): NamedWeights => new Map([['a', tensor([3], [1, -2, 0.5])], ['b', tensor([1], [0.25])]]);
const G = (k: number): NamedWeights => new Map([['a', tensor([3], [0.1 * k, -0.3, 0.2 + k])], ['b', tensor([1], [-0.5 * k])]]);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${a[i]} vs ${b[i]} at ${i}`);
};

test('AdamW matches a float64 reference (decoupled decay, bias correction)', () => {
  const w = W(), opt = new AdamW({ weightDecay: 0.1 });
  const ref = { w: [1, -2, 0.5, 0.25], m: [0, 0, 0, 0], v: [0, 0, 0, 0] };
  for (let t = 1; t <= 4; t++) {
    const lr = 0.01 * t;
    const g = G(t);
    opt.step(w, g, lr);
    const gf = [...g.get('a')!.data, ...g.get('b')!.data];
    for (let i = 0; i < 4; i++) {
      ref.w[i] *= 1 - lr * 0.1;
      ref.m[i] = 0.9 * ref.m[i] + 0.1 * gf[i];
      ref.v[i] = 0.999 * ref.v[i] + 0.001 * gf[i] * gf[i];
      const mh = ref.m[i] / (1 - 0.9 ** t), vh = ref.v[i] / (1 - 0.999 ** t);
      ref.w[i] -= lr * mh / (Math.sqrt(vh) + 1e-8);
    }
    close([...w.get('a')!.data, ...w.get('b')!.data], ref.w);
  }
  assert.equal(opt.stepCount, 4);
});

test('SGD momentum and Nesterov match the PyTorch recurrences', () => {
  for (const nesterov of [false, true]) {
    const w = W(), opt = new SGD({ momentum: 0.9, nesterov, weightDecay: 0.01 });
    const ref = { w: [1, -2, 0.5, 0.25], v: [0, 0, 0, 0] };
    for (let t = 1; t <= 3; t++) {
      const g = G(t);
      opt.step(w, g, 0.1);
      const gf = [...g.get('a')!.data, ...g.get('b')!.data];
      for (let i = 0; i < 4; i++) {
        const gi = gf[i] + 0.01 * ref.w[i];
        ref.v[i] = 0.9 * ref.v[i] + gi;
        ref.w[i] -= 0.1 * (nesterov ? gi + 0.9 * ref.v[i] : ref.v[i]);
      }
      close([...w.get('a')!.data, ...w.get('b')!.data], ref.w);
    }
  }
});

test('decay filter exempts chosen tensors; weights without gradients are frozen', () => {
  const w = W(), opt = new AdamW({ weightDecay: 0.5, decay: (name) => name !== 'b' });
  const zero: NamedWeights = new Map([['b', tensor([1], [0])]]);
  opt.step(w, zero, 0.1);
  assert.equal(w.get('b')!.data[0], 0.25); // zero grad, no decay → unchanged
  assert.deepEqual([...w.get('a')!.data], [1, -2, 0.5]); // no gradient → frozen
  assert.throws(() => opt.step(w, new Map([['zzz', tensor([1])]]), 0.1), (e: unknown) => e instanceof OptimizerError && e.code === 'OPTIM_GRAD_MISMATCH');
  assert.throws(() => opt.step(w, new Map([['a', tensor([2])]]), 0.1), (e: unknown) => e instanceof OptimizerError);
});

test('state round-trips exactly: continuing from a restored optimiser gives identical weights', () => {
  for (const make of [() => new AdamW(), () => new SGD({ momentum: 0.8, nesterov: true })]) {
    const w1 = W(), o1 = make();
    for (let t = 1; t <= 3; t++) o1.step(w1, G(t), 0.05);
    const saved = o1.state();
    const w2: NamedWeights = new Map([...w1].map(([k, t]) => [k, tensor(t.shape, new Float32Array(t.data))]));
    const o2 = optimizerFromState(saved);
    for (let t = 4; t <= 6; t++) { o1.step(w1, G(t), 0.05); o2.step(w2, G(t), 0.05); }
    for (const k of w1.keys()) assert.deepEqual(w2.get(k)!.data, w1.get(k)!.data);
    assert.equal(o2.stepCount, 6);
    assert.throws(() => new SGD().load({ ...saved, kind: 'adamw' === saved.kind ? 'adamw' : 'sgd', tensors: new Map([['bogus/a', tensor([1])]]) }), OptimizerError);
  }
});

test('global-norm clipping', () => {
  const g: NamedWeights = new Map([['a', tensor([2], [3, 0])], ['b', tensor([1], [4])]]);
  assert.equal(gradNorm(g), 5);
  assert.equal(clipGradNorm(g, 10), 5);
  assert.deepEqual([...g.get('a')!.data], [3, 0]);
  clipGradNorm(g, 1);
  assert.ok(Math.abs(gradNorm(g) - 1) < 1e-5);
  close(g.get('b')!.data, [0.8], 1e-5);
});

test('LR schedules: constant, linear warm-up then cosine to minLr', () => {
  assert.equal(constantLr(0.1)(1234), 0.1);
  const s = cosineWithWarmup({ peak: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 });
  assert.deepEqual([0, 1, 2, 3].map(s), [0.25, 0.5, 0.75, 1]);
  assert.equal(s(4), 1);
  assert.ok(Math.abs(s(9) - 0.55) < 1e-12);
  assert.ok(Math.abs(s(14) - 0.1) < 1e-12);
  assert.ok(Math.abs(s(100) - 0.1) < 1e-12);
});
