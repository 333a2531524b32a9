/**
 * The BatchNorm classifier: layer semantics (batch statistics in training, running statistics otherwise, PyTorch's
 * momentum update with the unbiased variance), whole-model gradient check in training mode, train/inference mode
 * equality, the trainer storing running statistics with the weights (checkpoint, resume, untouched by the
 * optimiser), dropout, and old GroupNorm configs (no `norm` field) building as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as C from '../../../native-models/src/inference/nets/classifier.js';
import { GraphBuilder, stateName } from '../../../native-models/src/core/graph/builder.js';
import { batchNorm, type StateUpdate } from '../../../native-models/src/core/graph/layers.js';
import { gradCheck } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { softmaxCrossEntropy } from '../../../native-models/src/core/graph/losses.js';
import { ModelSession, type Feed } from '../../../native-models/src/core/runtime/session.js';
import { Rng } from '../../../native-models/src/core/rng.js';
import { AdamW } from '../../../native-models/src/core/train/optim.js';
import { train } from '../../../native-models/src/core/train/trainer.js';
import type { NamedWeights } from '../../../native-models/src/core/tensor.js';

const bnCfg: C.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2, norm: 'batch' };

function images(n: number, seed: number): { x: { shape: number[]; data: Float32Array }; y: Int32Array } {
  const rng = new Rng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const data = new Float32Array(n * 256);
  for (let i = 0; i < n; i++) for (let p = 0; p < 256; p++) {
    const r = Math.hypot((p % 16) - 8, Math.floor(p / 16) - 8);
    data[i * 256 + p] = 0.2 * rng.uniform() + (y[i] && r < 4 ? 0.7 : 0);
  }
  return { x: { shape: [n, 1, 16, 16], data }, y };
}

test('batchNorm layer: training mode uses batch statistics and updates the running ones (unbiased variance, momentum 0.1); eval mode uses the running ones', async () => {
  const shape = [3, 2, 2, 2], c = 2, k = 3 * 4;
  const rng = new Rng(5);
  const x = Float32Array.from({ length: 24 }, () => -1 + 4 * rng.uniform());
  const gamma = Float32Array.from([1.5, 0.7]), beta = Float32Array.from([0.2, -0.1]);
  const rm0 = Float32Array.from([0.3, -0.2]), rv0 = Float32Array.from([2, 0.5]);
  // batch statistics in float64
  const mean = [0, 0], vb = [0, 0];
  for (let n = 0; n < 3; n++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < 4; p++) mean[ch] += x[(n * c + ch) * 4 + p] / k;
  for (let n = 0; n < 3; n++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < 4; p++) vb[ch] += (x[(n * c + ch) * 4 + p] - mean[ch]) ** 2 / k;
  const run = async (training: boolean, rm: Float32Array, rv: Float32Array) => {
    const b = new GraphBuilder('bn');
    const xi = b.input('x', shape);
    const updates: StateUpdate[] = [];
    b.output(batchNorm(b, xi, 'bn', { training, updates }), 'y');
    for (const u of updates) b.output(u.value, stateName(u.name));
    const s = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { threads: 1 });
    const feeds = new Map<string, Feed>([['x', { shape, data: x }], ['bn.weight', { shape: [c], data: gamma }], ['bn.bias', { shape: [c], data: beta }],
      ['bn.running_mean', { shape: [c], data: rm }], ['bn.running_var', { shape: [c], data: rv }]]);
    const out = await s.run(feeds, training ? ['y', 'state.bn.running_mean', 'state.bn.running_var'] : ['y']);
    await s.release();
    return out;
  };
  const tr = await run(true, rm0, rv0);
  for (let ch = 0; ch < c; ch++) {
    assert.ok(Math.abs(tr.get('state.bn.running_mean')!.data[ch] - (0.9 * rm0[ch] + 0.1 * mean[ch])) < 1e-6);
    assert.ok(Math.abs(tr.get('state.bn.running_var')!.data[ch] - (0.9 * rv0[ch] + 0.1 * vb[ch] * k / (k - 1))) < 1e-6);
  }
  const y = tr.get('y')!.data;
  for (let n = 0; n < 3; n++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < 4; p++) {
    const i = (n * c + ch) * 4 + p;
    assert.ok(Math.abs(y[i] - ((x[i] - mean[ch]) / Math.sqrt(vb[ch] + 1e-5) * gamma[ch] + beta[ch])) < 1e-5);
  }
  // evaluation mode with running statistics equal to the batch's (biased) statistics gives the training-mode output
  const ev = await run(false, Float32Array.from(mean), Float32Array.from(vb));
  ev.get('y')!.data.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-5, `eval ${v} vs train ${y[i]}`));
});

test('BatchNorm classifier: scopes bn/bn1/bn2 with weight, bias, running_mean, running_var; state is not counted or differentiated', () => {
  const w = C.init(bnCfg, 0);
  for (const s of ['body.stem.bn', 'body.block1.bn1', 'body.block2.bn2', 'body.block3.bn1']) {
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) assert.ok(w.has(`${s}.${p}`), `${s}.${p}`);
  }
  assert.ok(![...w.keys()].some((k) => /\.gn\d*\./.test(k)));
  // the FL agent's FedBN rule keeps exactly these local
  const fedbn = /(^|\.)(gn|bn)\d*\./;
  assert.ok([...w.keys()].filter((k) => fedbn.test(k)).every((k) => /\.bn\d*\.(weight|bias|running_mean|running_var)$/.test(k)));
  assert.deepEqual([...w.get('body.stem.bn.running_var')!.data], [1, 1, 1, 1]);
  const b = C.buildTrainGraph(bnCfg, 2);
  const outs = new Set(b.outputs.map((o) => o.name));
  assert.ok(outs.has('grad.body.stem.bn.weight') && outs.has('state.body.stem.bn.running_mean'));
  assert.ok(!outs.has('grad.body.stem.bn.running_mean'));
  const gn = C.parameterCount({ ...bnCfg, norm: 'group' }), bn = C.parameterCount(bnCfg);
  assert.equal(bn.total, gn.total); // same trainable parameters (γ, β per channel); running statistics are state
});

test('whole-model gradient check of the BatchNorm classifier in training mode: every trainable tensor and the input', async () => {
  const rng = new Rng(12);
  const n = 3;
  const w = C.init(bnCfg, 3);
  const feeds = new Map<string, Feed>(w);
  feeds.set('x', { shape: [n, 1, 16, 16], data: Float32Array.from({ length: n * 256 }, () => rng.uniform()) });
  feeds.set('target', { shape: [n, 2], data: Float32Array.from([1, 0, 0.3, 0.7, 0, 1]) });
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const x = b.input('x', [n, 1, 16, 16]);
      const t = b.input('target', [n, 2]);
      const updates: StateUpdate[] = [];
      const loss = softmaxCrossEntropy(b, C.classifierForward(b, bnCfg, x, { training: true, updates }), t);
      return { out: loss, wrt: [x, ...b.trainableParams()] };
    },
  }, { coords: 4, eps: 5e-4, rtol: 5e-2, atol: 5e-3 });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
  assert.ok(rep.checked > 60);
});

test('the training graph in evaluation mode and the exported inference graph give the same logits for the same weights and running statistics', async () => {
  const w = C.init(bnCfg, 7);
  const rng = new Rng(3);
  for (const [k, t] of w) if (/running_(mean|var)$/.test(k)) t.data.forEach((_, i) => { t.data[i] = k.endsWith('var') ? 0.5 + 1.5 * rng.uniform() : rng.uniform() - 0.5; });
  const { x, y } = images(4, 8);
  const b = C.buildTrainGraph(bnCfg, 4, { training: false });
  assert.ok(!b.outputs.some((o) => o.name.startsWith('state.')));
  const st = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { threads: 1 });
  const target = { shape: [4, 2], data: Float32Array.from([...y].flatMap((c) => (c ? [0, 1] : [1, 0]))) };
  const lt = (await st.run(new Map<string, Feed>([...w, ['x', x], ['target', target]]), ['logits'])).get('logits')!.data;
  const si = await ModelSession.create(C.buildInference(bnCfg, w, 4), { threads: 1 });
  const li = (await si.run({ x })).get('logits')!.data;
  lt.forEach((v, i) => assert.ok(Math.abs(v - li[i]) < 1e-5, `train-eval ${v} vs inference ${li[i]}`));
  // and the attack input gradient runs the same evaluation-mode net
  const grad = C.makeInputGradient(bnCfg, { threads: 1 });
  const r = await grad(w, x, target);
  r.logits.data.forEach((v, i) => assert.ok(Math.abs(v - li[i]) < 1e-5));
  await grad.release();
  await st.release();
  await si.release();
});

test('trainer: running statistics are stored in the weights each step, checkpointed, resumed exactly, never decayed by the optimiser', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bn-train-'));
  try {
    const cfg: C.ClassifierConfig = { ...bnCfg, dropout: 0.25 };
    const data = images(8, 4);
    const factory = () => [{ x: data.x, y: data.y }];
    const run = async (steps: number, resume: boolean): Promise<NamedWeights> => {
      const w = C.init(cfg, 1);
      const step = C.makeTrainStep(cfg, { threads: 1 });
      const res = await train({
        weights: w, step, optimizer: new AdamW({ weightDecay: 0.5 }), data: factory, steps, seed: 3, lr: 1e-2,
        checkpointDir: join(dir, 'ck'), checkpointEvery: 1, resume,
      });
      await step.release();
      return res.weights;
    };
    const init = C.init(cfg, 1);
    const full = await run(4, false);
    const rm = full.get('body.block2.bn1.running_mean')!.data;
    assert.ok(rm.some((v) => v !== 0), 'running mean moved');
    // what the optimiser would do to a decayed weight with a zero gradient is not what happened: the running var is
    // the momentum update of batch variances, ≥ 0.9⁴ of its start
    assert.ok(full.get('body.stem.bn.running_var')!.data.every((v) => v > 0.6));
    assert.notDeepEqual(full.get('body.stem.bn.running_var')!.data, init.get('body.stem.bn.running_var')!.data);
    rmSync(join(dir, 'ck'), { recursive: true, force: true });
    await run(2, false);
    const resumed = await run(4, true);
    for (const [k, t] of full) assert.deepEqual(resumed.get(k)!.data, t.data, `${k} after resume`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dropout: the mask is drawn from the step seed (0 or 1/(1 − p)), only the training graph takes it', () => {
  const cfg: C.ClassifierConfig = { ...bnCfg, dropout: 0.2 };
  const a = C.dropoutMask(cfg, 16, 5), b = C.dropoutMask(cfg, 16, 5), c = C.dropoutMask(cfg, 16, 6);
  assert.deepEqual(a.shape, [16, 32]);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const zeros = a.data.filter((v) => v === 0).length;
  assert.ok(a.data.every((v) => v === 0 || Math.abs(v - 1.25) < 1e-6));
  assert.ok(zeros > 512 * 0.1 && zeros < 512 * 0.3, `${zeros} of 512 dropped`);
  assert.ok(C.buildTrainGraph(cfg, 2).inputs.some((i) => i.name === 'dropmask'));
  assert.ok(!C.buildTrainGraph(cfg, 2, { training: false }).inputs.some((i) => i.name === 'dropmask'));
  assert.deepEqual(C.trainFeeds({ ...cfg, dropout: 0 }, 2, 1), {});
});

test('a config without `norm` (old manifests) builds the GroupNorm net as before', () => {
  const old = C.init({ size: 16, width: 4, groups: 2, classes: 2 }, 0);
  assert.ok(old.has('body.stem.gn.weight') && !old.has('body.stem.bn.weight'));
  assert.ok(![...old.keys()].some((k) => k.includes('running')));
});
