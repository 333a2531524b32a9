/** Classifier: builds at 64/128/224, names body.* and head.*, whole-model gradient check (params and input), StepFn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as C from '../../../native-models/src/inference/nets/classifier.js';
import { gradCheck } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { softmaxCrossEntropy } from '../../../native-models/src/core/graph/losses.js';
import { ModelSession, type Feed } from '../../../native-models/src/core/runtime/session.js';
import { Rng } from '../../../native-models/src/core/rng.js';
import { ShapeError } from '../../../native-models/src/core/graph/builder.js';

const small: C.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2 };

test('default classifier: 0.3–1M parameters, body.* and head.* only, builds for 64, 128, 224', () => {
  const c = C.parameterCount();
  assert.ok(c.total >= 300_000 && c.total <= 1_000_000, `total ${c.total}`);
  const w = C.init(C.CLASSIFIER_DEFAULT, 0);
  for (const k of w.keys()) assert.ok(k.startsWith('body.') || k.startsWith('head.'), k);
  assert.ok([...w.keys()].some((k) => k.startsWith('head.')));
  for (const size of [64, 128, 224]) {
    const cfg = { ...C.CLASSIFIER_DEFAULT, size };
    assert.ok(C.buildInference(cfg, C.init(cfg, 0)).length > 1_000_000);
  }
});

test('init is seeded: same seed same weights, different seed different weights', () => {
  const a = C.init(small, 5), b = C.init(small, 5), c = C.init(small, 6);
  const k = 'body.stem.conv.weight';
  assert.deepEqual(a.get(k)!.data, b.get(k)!.data);
  assert.notDeepEqual(a.get(k)!.data, c.get(k)!.data);
});

test('a bad configuration is a ShapeError naming the layer', () => {
  const b = C.buildTrainGraph(small, 2);
  assert.ok(b.outputs.some((o) => o.name === 'grad.head.fc.weight'));
  assert.throws(() => C.buildInference({ ...small, groups: 3 }), (e: unknown) => e instanceof ShapeError && /body\.stem\.gn/.test(e.message));
});

test('whole-model gradient check: every parameter tensor and the input', async () => {
  const rng = new Rng(11);
  const n = 2;
  const w = C.init(small, 3);
  const feeds = new Map<string, Feed>(w);
  feeds.set('x', { shape: [n, 1, 16, 16], data: Float32Array.from({ length: n * 256 }, () => rng.uniform()) });
  feeds.set('target', { shape: [n, 2], data: Float32Array.from([1, 0, 0.3, 0.7]) });
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const x = b.input('x', [n, 1, 16, 16]);
      const t = b.input('target', [n, 2]);
      const loss = softmaxCrossEntropy(b, C.classifierForward(b, small, x), t);
      return { out: loss, wrt: [x, ...[...b.params.values()].map((p) => p.value)] };
    },
  }, { coords: 4, eps: 5e-4, rtol: 5e-2, atol: 5e-3 });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
  assert.ok(rep.checked > 60);
});

test('StepFn returns loss, gradients for every weight, accuracy; does not mutate weights; SGD lowers the loss', async () => {
  const step = C.makeTrainStep(small, { threads: 1 });
  const rng = new Rng(2);
  const n = 8;
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  // class 1 = bright blob in the centre
  const x = new Float32Array(n * 256);
  for (let i = 0; i < n; i++) for (let p = 0; p < 256; p++) {
    const r = Math.hypot((p % 16) - 8, Math.floor(p / 16) - 8);
    x[i * 256 + p] = 0.2 * rng.uniform() + (y[i] && r < 4 ? 0.7 : 0);
  }
  const batch = { x: { shape: [n, 1, 16, 16], data: x }, y };
  let w = C.init(small, 1);
  const before = new Float32Array(w.get('head.fc.weight')!.data);
  const r0 = await step(w, batch);
  assert.deepEqual(w.get('head.fc.weight')!.data, before);
  assert.deepEqual([...r0.grads.keys()], [...w.keys()]);
  for (const [k, g] of r0.grads) assert.deepEqual(g.shape, w.get(k)!.shape);
  assert.ok(r0.metrics && r0.metrics.accuracy >= 0 && r0.metrics.accuracy <= 1);
  let loss = r0.loss;
  for (let i = 0; i < 30; i++) {
    const r = await step(w, batch);
    loss = r.loss;
    w = new Map([...w].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v, j) => v - 0.1 * r.grads.get(k)!.data[j]) }]));
  }
  assert.ok(loss < r0.loss * 0.5, `loss ${r0.loss} → ${loss}`);
  await assert.rejects(step(w, { x: batch.x }), (e: Error & { code?: string }) => e.code === 'E_INPUT');
  const bad = new Map(w);
  bad.delete('head.fc.bias');
  await assert.rejects(step(bad, batch), (e: Error & { code?: string }) => e.code === 'E_WEIGHTS');
  await step.release();
});

test('input gradient against an attacker-chosen target, and the exported inference model agrees with training logits', async () => {
  const w = C.init(small, 4);
  const rng = new Rng(9);
  const x = { shape: [2, 1, 16, 16], data: Float32Array.from({ length: 512 }, () => rng.uniform()) };
  const grad = C.makeInputGradient(small, { threads: 1 });
  const target = { shape: [2, 2], data: Float32Array.from([0, 1, 0, 1]) };
  const r = await grad(w, x, target);
  assert.deepEqual(r.grad.shape, [2, 1, 16, 16]);
  assert.ok(r.grad.data.some((v) => v !== 0));
  // one small step against the gradient lowers the CE towards the target
  const x2 = { shape: x.shape, data: x.data.map((v, i) => v - 0.5 * Math.sign(r.grad.data[i]) * 0.02) };
  assert.ok((await grad(w, x2, target)).loss < r.loss);
  const s = await ModelSession.create(C.buildInference(small, w, 2), { threads: 1 });
  const out = await s.run({ x });
  const lg = out.get('logits')!.data;
  r.logits.data.forEach((v, i) => assert.ok(Math.abs(v - lg[i]) < 1e-4));
  const probs = out.get('probs')!.data;
  assert.ok(Math.abs(probs[0] + probs[1] - 1) < 1e-5);
  await s.release();
  await grad.release();
});
