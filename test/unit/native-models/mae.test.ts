/** MAE: seeded masks, whole-model gradient check (params and input), StepFn, inference graph. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from '../../../native-models/src/inference/nets/mae.js';
import { gradCheck } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { ModelSession, type Feed } from '../../../native-models/src/core/runtime/session.js';
import { Rng } from '../../../native-models/src/core/rng.js';

const small: M.MaeConfig = { size: 16, patch: 4, maskRatio: 0.75, dim: 16, depth: 1, heads: 2, decoderDim: 8, decoderDepth: 1, decoderHeads: 2, mlpRatio: 2 };

test('sampleMask: seeded, 75% masked, keep/restore consistent', () => {
  const a = M.sampleMask(small, 2, 3), b = M.sampleMask(small, 2, 3), c = M.sampleMask(small, 2, 4);
  assert.deepEqual(a.keep.data, b.keep.data);
  assert.notDeepEqual(a.keep.data, c.keep.data);
  assert.equal(a.keep.data.length, 2 * 4);
  assert.equal(a.mask.data.reduce((p, q) => p + q, 0), 2 * 12);
  for (const k of a.keep.data) assert.equal(a.mask.data[Number(k)], 0);
});

test('whole-model gradient check: all parameters and the input', async () => {
  const rng = new Rng(5);
  const n = 2;
  const w = M.init(small, 1);
  const m = M.sampleMask(small, n, 7);
  const feeds = new Map<string, Feed>(w);
  feeds.set('x', { shape: [n, 1, 16, 16], data: Float32Array.from({ length: n * 256 }, () => rng.uniform()) });
  feeds.set('keep', m.keep).set('restore', m.restore).set('mask', m.mask);
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const x = b.input('x', [n, 1, 16, 16]);
      const keep = b.input('keep', m.keep.shape, 'int64');
      const restore = b.input('restore', m.restore.shape, 'int64');
      const mask = b.input('mask', m.mask.shape);
      const loss = M.maeLoss(b, small, x, M.maeForward(b, small, { x, keep, restore }), mask);
      return { out: loss, wrt: [x, ...[...b.params.values()].map((p) => p.value)] };
    },
  }, { coords: 3, eps: 1e-3, rtol: 5e-2, atol: 5e-3 });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
});

test('StepFn trains (loss falls on a fixed batch) and inference returns a reconstruction', async () => {
  const rng = new Rng(1);
  const x = { shape: [4, 1, 16, 16], data: Float32Array.from({ length: 1024 }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7) + 0.05 * rng.uniform()) };
  const step = M.makeTrainStep(small, { threads: 1, seed: 2 });
  let w = M.init(small, 0);
  const first = (await step(w, { x })).loss;
  let last = first;
  for (let i = 0; i < 40; i++) {
    const r = await step(w, { x });
    last = r.loss;
    w = new Map([...w].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v, j) => v - 0.05 * r.grads.get(k)!.data[j]) }]));
  }
  assert.ok(last < first * 0.7, `${first} → ${last}`);
  await step.release();
  const s = await ModelSession.create(M.buildInference(small, w, 4), { threads: 1 });
  const m = M.sampleMask(small, 4, 0);
  const out = await s.run({ x, keep: m.keep, restore: m.restore, mask: m.mask });
  assert.deepEqual(out.get('recon')!.shape, [4, 1, 16, 16]);
  const mi = out.get('mask_image')!.data;
  assert.equal(mi.reduce((p, q) => p + q, 0), 4 * 12 * 16);
  await s.release();
  const g = M.makeInputGradient(small, { threads: 1 });
  const r = await g(w, x, m);
  assert.deepEqual(r.grad.shape, [4, 1, 16, 16]);
  await g.release();
});
