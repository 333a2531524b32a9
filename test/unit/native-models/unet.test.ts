/** UNet: schedule, whole-model gradient check (params and input), StepFn, DDIM-chain input gradient vs FD. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as U from '../../../native-models/src/inference/nets/unet.js';
import { linearSchedule } from '../../../native-models/src/inference/nets/diffusion-schedule.js';
import { gradCheck } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { mse } from '../../../native-models/src/core/graph/losses.js';
import { ModelSession, type Feed } from '../../../native-models/src/core/runtime/session.js';
import { Rng } from '../../../native-models/src/core/rng.js';

const small: U.UnetConfig = { size: 8, width: 4, mults: [1, 2], groups: 2, heads: 2, T: 1000 };

test('linear β schedule 1e-4 → 0.02 over 1000 steps', () => {
  const s = linearSchedule();
  assert.equal(s.T, 1000);
  assert.ok(Math.abs(s.betas[0] - 1e-4) < 1e-12 && Math.abs(s.betas[999] - 0.02) < 1e-12);
  assert.ok(Math.abs(s.alphaBar[0] - (1 - 1e-4)) < 1e-12);
  assert.ok(s.alphaBar[999] > 0 && s.alphaBar[999] < 1e-4);
});

test('whole-model gradient check of the diffusion loss: all parameters and the input image', async () => {
  const rng = new Rng(3);
  const n = 2;
  const w = U.init(small, 1);
  // non-zero output conv so every parameter gets gradient
  const feeds = new Map<string, Feed>(w);
  const noise = U.sampleNoise(small, n, rng);
  feeds.set('x0', { shape: [n, 1, 8, 8], data: Float32Array.from({ length: n * 64 }, () => rng.uniform()) });
  for (const [k, v] of Object.entries(noise)) feeds.set(k, v);
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const { x0, loss } = U.diffusionLoss(b, small, n);
      return { out: loss, wrt: [x0, ...[...b.params.values()].map((p) => p.value)] };
    },
  }, { coords: 3, eps: 1e-3, rtol: 5e-2, atol: 5e-3 });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
});

test('dL/dx through a 3-step DDIM chain matches finite differences', async () => {
  const rng = new Rng(8);
  const n = 1;
  const w = U.init(small, 2);
  const feeds = new Map<string, Feed>(w);
  feeds.set('x', { shape: [n, 1, 8, 8], data: Float32Array.from({ length: 64 }, () => rng.uniform()) });
  feeds.set('noise', { shape: [n, 1, 8, 8], data: rng.normals(64) });
  feeds.set('ref', { shape: [n, 1, 8, 8], data: Float32Array.from({ length: 64 }, () => rng.uniform()) });
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const x = b.input('x', [n, 1, 8, 8]);
      const out = U.ddimChain(b, small, x, b.input('noise', [n, 1, 8, 8]), [300, 150, 0]);
      return { out: mse(b, out, b.input('ref', [n, 1, 8, 8])), wrt: [x] };
    },
  }, { coords: 8, eps: 1e-3, rtol: 5e-2, atol: 5e-3 });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
  const g = U.makeChainInputGradient(small, [300, 150, 0], { threads: 1 });
  const r = await g(w, feeds.get('x') as never, feeds.get('noise') as never, { kind: 'mse', target: feeds.get('ref') as never });
  assert.deepEqual(r.grad.shape, [1, 1, 8, 8]);
  assert.deepEqual(r.purified.shape, [1, 1, 8, 8]);
  await g.release();
  assert.throws(() => U.makeChainInputGradient(small, [10, 20]), (e: Error & { code?: string }) => e.code === 'E_INPUT');
});

test('StepFn: seeded, loss falls with SGD; inference graph runs', async () => {
  const x = { shape: [4, 1, 8, 8], data: Float32Array.from({ length: 256 }, (_, i) => (i % 8 < 4 ? 0.8 : 0.2)) };
  const a = U.makeTrainStep(small, { threads: 1, seed: 4 });
  const b = U.makeTrainStep(small, { threads: 1, seed: 4 });
  let w = U.init(small, 0);
  const ra = await a(w, { x }), rb = await b(w, { x });
  assert.equal(ra.loss, rb.loss);
  let avgFirst = 0, avgLast = 0;
  for (let i = 0; i < 60; i++) {
    const r = await a(w, { x });
    if (i < 10) avgFirst += r.loss / 10;
    if (i >= 50) avgLast += r.loss / 10;
    w = new Map([...w].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v, j) => v - 0.05 * r.grads.get(k)!.data[j]) }]));
  }
  assert.ok(avgLast < avgFirst, `${avgFirst} → ${avgLast}`);
  await a.release();
  await b.release();
  const s = await ModelSession.create(U.buildInference(small, w, 2), { threads: 1 });
  const out = await s.run({ x_t: { shape: [2, 1, 8, 8], data: new Float32Array(128) }, t: { shape: [2], data: Float32Array.from([10, 500]) } });
  assert.deepEqual(out.get('eps')!.shape, [2, 1, 8, 8]);
  await s.release();
});
