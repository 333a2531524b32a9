/**
 * NCHWc lowering (graph/nchwc.ts, runtime/nchwc.ts): which Convs are rewritten, and — where this machine's
 * onnxruntime has NCHWc kernels — that the lowered classifier is proven by finite differences and that classifier
 * and UNet training steps match the plain ONNX graphs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../native-models/src/core/graph/builder.js';
import { NCHWC_DOMAIN } from '../../../native-models/src/core/graph/nchwc.js';
import { nchwcBlockSize } from '../../../native-models/src/core/runtime/nchwc.js';
import { gradCheck } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { softmaxCrossEntropy } from '../../../native-models/src/core/graph/losses.js';
import * as C from '../../../native-models/src/inference/nets/classifier.js';
import * as U from '../../../native-models/src/inference/nets/unet.js';
import { Rng } from '../../../native-models/src/core/rng.js';
import { GraphRunner } from '../../../native-models/src/inference/nets/common.js';
import type { Feed } from '../../../native-models/src/core/runtime/session.js';

function sampleGraph(): GraphBuilder {
  const b = new GraphBuilder('nchwc_rule');
  const x = b.input('x', [2, 8, 8, 8]);
  const img = b.input('img', [2, 1, 8, 8]);
  b.scope('a', () => b.output(b.conv(x, b.param('w', [16, 8, 3, 3], { kind: 'he', fanIn: 72 }), undefined, { pads: [1, 1, 1, 1] }), 'a')); // lowered
  b.scope('b', () => b.output(b.conv(x, b.param('w', [16, 8, 1, 1], { kind: 'he', fanIn: 8 }), undefined), 'b')); // 1×1: kept
  b.scope('c', () => b.output(b.conv(img, b.param('w', [8, 1, 3, 3], { kind: 'he', fanIn: 9 }), undefined, { pads: [1, 1, 1, 1] }), 'c')); // 1 channel: kept
  b.scope('d', () => b.output(b.conv(x, b.param('w', [12, 8, 3, 3], { kind: 'he', fanIn: 72 }), undefined, { pads: [1, 1, 1, 1] }), 'd')); // 12 outputs: kept
  b.scope('e', () => b.output(b.conv(x, b.constF32(new Float32Array(8 * 8 * 9), [8, 8, 3, 3]), undefined, { pads: [1, 1, 1, 1] }), 'e')); // constant: kept
  return b;
}

test('lowering rewrites exactly the eligible Convs, and nothing without a block size', () => {
  const b = sampleGraph();
  const lowered = b.toModel({ paramsAs: 'inputs', nchwcBlock: 8 });
  const nchwcConvs = lowered.graph.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv');
  assert.equal(nchwcConvs.length, 1);
  assert.match(nchwcConvs[0].name, /^a\//);
  assert.equal(lowered.graph.nodes.filter((n) => n.opType === 'Conv' && !n.domain).length, 4);
  assert.ok(lowered.extraOpsets?.some((s) => s.domain === NCHWC_DOMAIN));
  // As initializers (inference export) the weights are constants: onnxruntime's own transformer handles those.
  const w = new Map([...b.params].map(([k, p]) => [k, { shape: p.value.shape, data: new Float32Array(p.value.shape.reduce((q, r) => q * r, 1)) }]));
  assert.equal(b.toModel({ paramsAs: 'initializers', weights: w, nchwcBlock: 8 }).graph.nodes.some((n) => n.domain === NCHWC_DOMAIN), false);
  for (const block of [undefined, 0, 1]) assert.deepEqual(b.toModel({ paramsAs: 'inputs', nchwcBlock: block }), b.toModel({ paramsAs: 'inputs' }));
});

test('lowered Conv: finite-difference check with bias, stride, dilation and asymmetric pads', async (t) => {
  const block = await nchwcBlockSize();
  if (block === 0) return t.skip('no NCHWc kernels in this onnxruntime build / CPU');
  const rng = new Rng(13);
  const rnd = (shape: number[]): Feed => ({ shape, data: Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.uniform() * 2 - 1) });
  const c = 2 * block;
  const feeds = new Map<string, Feed>([['x', rnd([2, c, 9, 9])], ['w1', rnd([c, c, 3, 3])], ['b1', rnd([c])], ['w2', rnd([block, c, 3, 2])]]);
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const [x, w1, b1, w2] = [b.input('x', [2, c, 9, 9]), b.input('w1', [c, c, 3, 3]), b.input('b1', [c]), b.input('w2', [block, c, 3, 2])];
      const h = b.relu(b.conv(x, w1, b1, { strides: [2, 2], pads: [1, 0, 1, 1] }));
      return { out: b.conv(h, w2, undefined, { dilations: [2, 1], pads: [2, 1, 2, 0] }), wrt: [x, w1, b1, w2] };
    },
  }, { coords: 6, nchwcBlock: block });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
});

const cfg: C.ClassifierConfig = { size: 16, width: 8, groups: 2, classes: 2 };

test('lowered classifier: whole-model finite-difference check (every parameter and the input)', async (t) => {
  const block = await nchwcBlockSize();
  if (block === 0) return t.skip('no NCHWc kernels in this onnxruntime build / CPU');
  const rng = new Rng(5);
  const n = 2;
  const feeds = new Map<string, Feed>(C.init(cfg, 1));
  feeds.set('x', { shape: [n, 1, 16, 16], data: Float32Array.from({ length: n * 256 }, () => rng.uniform()) });
  feeds.set('target', { shape: [n, 2], data: Float32Array.from([0, 1, 0.6, 0.4]) });
  let lowered = 0;
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const x = b.input('x', [n, 1, 16, 16]);
      const loss = softmaxCrossEntropy(b, C.classifierForward(b, cfg, x), b.input('target', [n, 2]));
      return { out: loss, wrt: [x, ...[...b.params.values()].map((p) => p.value)] };
    },
  }, { coords: 4, eps: 5e-4, rtol: 5e-2, atol: 5e-3, nchwcBlock: block });
  assert.ok(rep.ok, rep.failures.slice(0, 5).join('\n'));
  lowered = C.buildTrainGraph(cfg, n).toModel({ paramsAs: 'inputs', nchwcBlock: block }).graph.nodes.filter((q) => q.domain === NCHWC_DOMAIN && q.opType === 'Conv').length;
  assert.ok(lowered >= 6, `expected forward and stride-1 adjoint convs lowered, got ${lowered}`);
});

test('a training step with NCHWc kernels matches the plain ONNX step', async (t) => {
  const block = await nchwcBlockSize();
  if (block === 0) return t.skip('no NCHWc kernels in this onnxruntime build / CPU');
  const runner = new GraphRunner({ threads: 1 });
  assert.equal((await runner.get('train', () => C.buildTrainGraph(cfg, 4))).nchwcBlock, block, 'the CPU training session runs the lowered model');
  await runner.release();
  const rng = new Rng(9);
  const n = 4;
  const w = C.init(cfg, 2);
  const batch = { x: { shape: [n, 1, 16, 16], data: Float32Array.from({ length: n * 256 }, () => rng.uniform()) }, y: Int32Array.from([0, 1, 1, 0]) };
  const plain = C.makeTrainStep(cfg, { threads: 1, nchwc: false });
  const fast = C.makeTrainStep(cfg, { threads: 1 });
  try {
    const [a, b] = [await plain(w, batch), await fast(w, batch)];
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss));
    for (const [name, g] of a.grads) {
      const h = b.grads.get(name)!.data;
      const scale = Math.max(1e-6, ...g.data.map(Math.abs));
      const diff = Math.max(...g.data.map((v, i) => Math.abs(v - h[i])));
      assert.ok(diff <= 1e-4 * scale, `${name}: max diff ${diff} vs scale ${scale}`);
    }
  } finally {
    await plain.release();
    await fast.release();
  }
});

test('UNet: a training step with NCHWc kernels matches the plain ONNX step', async (t) => {
  if ((await nchwcBlockSize()) === 0) return t.skip('no NCHWc kernels in this onnxruntime build / CPU');
  const ucfg: U.UnetConfig = { size: 8, width: 8, mults: [1, 2], groups: 2, heads: 2, T: 1000 };
  const rng = new Rng(3);
  const w = U.init(ucfg, 1);
  const x = { shape: [2, 1, 8, 8], data: Float32Array.from({ length: 128 }, () => rng.uniform() * 2 - 1) };
  const plain = U.makeTrainStep(ucfg, { threads: 1, seed: 4, nchwc: false });
  const fast = U.makeTrainStep(ucfg, { threads: 1, seed: 4 });
  try {
    const [a, b] = [await plain(w, { x, seed: 1 }), await fast(w, { x, seed: 1 })];
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss));
    let global = 0;
    for (const g of a.grads.values()) for (const v of g.data) global = Math.max(global, Math.abs(v));
    for (const [name, g] of a.grads) {
      const h = b.grads.get(name)!.data;
      // Tensors whose exact gradient is 0 (attention key biases) hold only rounding noise: compare on the global scale.
      const scale = Math.max(1e-3 * global, ...g.data.map(Math.abs));
      const diff = Math.max(...g.data.map((v, i) => Math.abs(v - h[i])));
      assert.ok(diff <= 1e-4 * scale, `${name}: max diff ${diff} vs scale ${scale}`);
    }
  } finally {
    await plain.release();
    await fast.release();
  }
});
