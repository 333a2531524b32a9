/**
 * Finite-difference proof of every VJP rule: a one-op (or few-op) graph, random inputs, ORT backward vs central
 * differences of the forward (float64 accumulation in JS). The last test asserts that every registered rule is covered.
 */
import { test } from 'node:test';
import { linearRules } from '../../../native-models/src/core/autodiff/rules/linear.js';
import assert from 'node:assert/strict';
import { GraphBuilder, type Value } from '../../../native-models/src/core/graph/builder.js';
import { gradCheck, seededUniform } from '../../../native-models/src/core/autodiff/gradcheck.js';
import { VJP_RULES } from '../../../native-models/src/core/autodiff/registry.js';
import { backward } from '../../../native-models/src/core/autodiff/backward.js';
import { batchNorm, groupNorm, type StateUpdate } from '../../../native-models/src/core/graph/layers.js';
import type { Feed } from '../../../native-models/src/core/runtime/session.js';

const rand = seededUniform(7);
type Spec = { shape: number[]; lo?: number; hi?: number; awayFromZero?: number; distinct?: boolean };
function data(s: Spec): Float32Array {
  const n = s.shape.reduce((p, q) => p * q, 1);
  if (s.distinct) {
    // well-separated values (gap 0.02) in random order: no ties for max-pooling under ±eps
    const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.02);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [v[i], v[j]] = [v[j], v[i]]; }
    return v;
  }
  const lo = s.lo ?? -1, hi = s.hi ?? 1;
  return Float32Array.from({ length: n }, () => {
    let x = lo + (hi - lo) * rand();
    if (s.awayFromZero && Math.abs(x) < s.awayFromZero) x = x < 0 ? x - s.awayFromZero : x + s.awayFromZero;
    return x;
  });
}

const covered = new Set<string>();

/** Check one graph: `ins` are float inputs (all differentiated), `ints` int64 inputs. */
async function check(ops: string[], ins: Record<string, Spec>, f: (b: GraphBuilder, v: Record<string, Value>) => Value, ints: Record<string, { shape: number[]; data: number[] }> = {}, opts = {}): Promise<void> {
  const feeds = new Map<string, Feed>();
  for (const [k, s] of Object.entries(ins)) feeds.set(k, { shape: s.shape, data: data(s) });
  for (const [k, s] of Object.entries(ints)) feeds.set(k, { shape: s.shape, data: BigInt64Array.from(s.data.map(BigInt)) });
  const rep = await gradCheck({
    feeds,
    build: (b) => {
      const v: Record<string, Value> = {};
      for (const [k, s] of Object.entries(ins)) v[k] = b.input(k, s.shape);
      for (const [k, s] of Object.entries(ints)) v[k] = b.input(k, s.shape, 'int64');
      return { out: f(b, v), wrt: Object.keys(ins).map((k) => v[k]) };
    },
  }, opts);
  assert.ok(rep.ok, `${ops.join('+')}: ${rep.failures.slice(0, 5).join('; ')}`);
  assert.ok(rep.checked > 0);
  ops.forEach((o) => covered.add(o));
}

const S = (shape: number[], extra: Partial<Spec> = {}): Spec => ({ shape, ...extra });

test('elementwise binary ops with broadcasting', async () => {
  await check(['Add'], { a: S([2, 3, 4]), b: S([3, 1]) }, (b, v) => b.add(v.a, v.b));
  await check(['Sub'], { a: S([4]), b: S([2, 3, 4]) }, (b, v) => b.sub(v.a, v.b));
  await check(['Mul'], { a: S([2, 3, 4]), b: S([1, 3, 1]) }, (b, v) => b.mul(v.a, v.b));
  await check(['Div'], { a: S([2, 3]), b: S([3], { lo: 0.5, hi: 2 }) }, (b, v) => b.div(v.a, v.b));
  await check(['Pow'], { a: S([2, 3], { lo: 0.5, hi: 2 }), p: S([3], { lo: 0.5, hi: 3 }) }, (b, v) => b.pow(v.a, v.p));
  await check(['Sum'], { a: S([2, 3]), b: S([3]), c: S([2, 1]) }, (b, v) => b.sum([v.a, v.b, v.c]));
  // SiLU pattern x·σ(x) (fused rule), both operand orders, and with σ(x) also used elsewhere
  await check(['Mul'], { x: S([2, 5], { lo: -3, hi: 3 }) }, (b, v) => b.mul(v.x, b.sigmoid(v.x)));
  await check(['Mul'], { x: S([2, 5], { lo: -3, hi: 3 }) }, (b, v) => { const s = b.sigmoid(v.x); return b.add(b.mul(s, v.x), b.mul(s, s)); });
  await check(['Where'], { a: S([2, 3]), c: S([3]) }, (b, v) => b.where(b.greater(v.a, b.scalar(0)), v.a, v.c));
});

test('unary ops and activations', async () => {
  const x = { x: S([3, 5], { awayFromZero: 0.05 }) };
  const pos = { x: S([3, 5], { lo: 0.3, hi: 2 }) };
  await check(['Neg'], x, (b, v) => b.neg(v.x));
  await check(['Identity'], x, (b, v) => b.identity(v.x));
  await check(['Relu'], x, (b, v) => b.relu(v.x));
  await check(['Sigmoid'], { x: S([3, 5], { lo: -3, hi: 3 }) }, (b, v) => b.sigmoid(v.x));
  await check(['Tanh'], x, (b, v) => b.tanh(v.x));
  await check(['Exp'], x, (b, v) => b.exp(v.x));
  await check(['Log'], pos, (b, v) => b.log(v.x));
  await check(['Sqrt'], pos, (b, v) => b.sqrt(v.x));
  await check(['Erf'], x, (b, v) => b.erf(v.x));
  await check(['Sin'], x, (b, v) => b.sin(v.x));
  await check(['Cos'], x, (b, v) => b.cos(v.x));
  await check(['Abs'], x, (b, v) => b.abs(v.x));
  await check(['Reciprocal'], pos, (b, v) => b.reciprocal(v.x));
  await check(['Cast'], x, (b, v) => b.cast(v.x, 'float32'));
});

test('softmax and log-softmax on inner and outer axes', async () => {
  await check(['Softmax'], { x: S([2, 3, 5], { lo: -2, hi: 2 }) }, (b, v) => b.softmax(v.x, -1));
  await check(['Softmax'], { x: S([2, 3, 5], { lo: -2, hi: 2 }) }, (b, v) => b.softmax(v.x, 1));
  await check(['LogSoftmax'], { x: S([4, 6], { lo: -2, hi: 2 }) }, (b, v) => b.logSoftmax(v.x, -1));
  await check(['LogSoftmax'], { x: S([2, 3, 4], { lo: -2, hi: 2 }) }, (b, v) => b.logSoftmax(v.x, 1));
});

test('MatMul (batched, broadcast) and Gemm (all transposes, bias)', async () => {
  await check(['MatMul'], { a: S([2, 3, 4]), w: S([4, 5]) }, (b, v) => b.matmul(v.a, v.w));
  await check(['MatMul'], { a: S([2, 1, 3, 4]), w: S([3, 4, 2]) }, (b, v) => b.matmul(v.a, v.w));
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      await check(['Gemm'], { a: S(transA ? [4, 3] : [3, 4]), w: S(transB ? [5, 4] : [4, 5]), c: S([5]) }, (b, v) => b.gemm(v.a, v.w, v.c, { transA, transB }));
    }
  }
});

test('Gemm VJP refuses a float alpha or beta other than 1 instead of reading it as an integer', () => {
  const node = { op: 'Gemm', inputs: [], outputs: [], attrs: { alpha: { type: 'float', value: 0.5 } } } as unknown as Parameters<typeof linearRules.Gemm>[0]['node'];
  assert.throws(() => linearRules.Gemm({ node, needs: [true, true, true], x: [], y: [], g: [] } as unknown as Parameters<typeof linearRules.Gemm>[0]), /alpha = beta = 1/);
});

test('Conv: input, weight and bias gradients with stride, padding, dilation, groups', async () => {
  await check(['Conv'], { x: S([2, 3, 7, 7]), w: S([4, 3, 3, 3]), bias: S([4]) }, (b, v) => b.conv(v.x, v.w, v.bias, { pads: [1, 1, 1, 1] }));
  await check(['Conv'], { x: S([2, 2, 8, 9]), w: S([3, 2, 3, 3]), bias: S([3]) }, (b, v) => b.conv(v.x, v.w, v.bias, { strides: [2, 2], pads: [1, 0, 1, 1] }));
  await check(['Conv'], { x: S([1, 2, 9, 9]), w: S([2, 2, 3, 2]) }, (b, v) => b.conv(v.x, v.w, undefined, { dilations: [2, 2], strides: [2, 1], pads: [2, 1, 2, 1] }));
  // small feature map, many output channels: the flat-GEMM weight-gradient branch
  await check(['Conv'], { x: S([2, 2, 3, 3]), w: S([12, 2, 3, 3]) }, (b, v) => b.conv(v.x, v.w, undefined, { pads: [1, 1, 1, 1] }));
  // the per-tap weight gradient on strided/padded, dilated and 1×1 convs, and the general correlation (1-D)
  await check(['Conv'], { x: S([2, 3, 6, 6]), w: S([4, 3, 1, 1]), bias: S([4]) }, (b, v) => b.conv(v.x, v.w, v.bias, { strides: [2, 2] }));
  await check(['Conv'], { x: S([2, 1, 5, 5]), w: S([3, 1, 3, 3]) }, (b, v) => b.conv(v.x, v.w, undefined, { pads: [1, 1, 1, 1] }));
  await check(['Conv'], { x: S([2, 2, 9]), w: S([3, 2, 3]), bias: S([3]) }, (b, v) => b.conv(v.x, v.w, v.bias, { strides: [2], pads: [1, 1] }));
  // grouped conv: input gradient only (weights fixed as a constant; build runs twice, so make the data once)
  const wg = data(S([4, 2, 3, 3]));
  await check(['Conv'], { x: S([1, 4, 6, 6]) }, (b, v) => b.conv(v.x, b.constF32(wg, [4, 2, 3, 3]), undefined, { group: 2, pads: [1, 1, 1, 1] }));
});

test('ConvTranspose: input, weight and bias gradients (stride 2, padding, output_padding)', async () => {
  await check(['ConvTranspose'], { x: S([2, 3, 4, 4]), w: S([3, 2, 4, 4]), bias: S([2]) }, (b, v) => b.convTranspose(v.x, v.w, v.bias, { strides: [2, 2], pads: [1, 1, 1, 1] }));
  await check(['ConvTranspose'], { x: S([1, 2, 3, 3]), w: S([2, 3, 3, 3]) }, (b, v) => b.convTranspose(v.x, v.w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }));
});

test('pooling: max, average, global average', async () => {
  await check(['MaxPool'], { x: S([2, 2, 6, 6], { distinct: true }) }, (b, v) => b.maxPool(v.x, { kernel: [2, 2] }));
  await check(['MaxPool'], { x: S([1, 2, 7, 7], { distinct: true }) }, (b, v) => b.maxPool(v.x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
  await check(['AveragePool'], { x: S([2, 2, 6, 6]) }, (b, v) => b.averagePool(v.x, { kernel: [2, 2] }));
  await check(['AveragePool'], { x: S([1, 2, 7, 7]) }, (b, v) => b.averagePool(v.x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true }));
  await check(['GlobalAveragePool'], { x: S([2, 3, 4, 5]) }, (b, v) => b.globalAveragePool(v.x));
});

test('LayerNormalization over the last axis and over trailing axes', async () => {
  await check(['LayerNormalization'], { x: S([3, 8], { lo: -2, hi: 2 }), g: S([8]), be: S([8]) }, (b, v) => b.layerNormalization(v.x, v.g, v.be, -1));
  await check(['LayerNormalization'], { x: S([2, 3, 4], { lo: -2, hi: 2 }), g: S([3, 4]) }, (b, v) => b.layerNormalization(v.x, v.g, undefined, 1));
  // constant all-ones scale and no bias
  // (a fixed random weighting of y makes the loss sensitive to every output; built twice, so made once)
  const weighting = data(S([2, 3, 6]));
  await check(['LayerNormalization'], { x: S([2, 3, 6], { lo: -2, hi: 2 }) }, (b, v) => b.mul(b.layerNormalization(v.x, b.constF32(new Float32Array(6).fill(1), [6]), undefined, -1), b.constF32(weighting, [2, 3, 6])));
});

test('GroupNorm (composite op, fused VJP): x, γ and β, 2-D, 1-D and no spatial axes, several group counts', async () => {
  const cases: [number[], number][] = [[[2, 6, 3, 4], 3], [[3, 4, 5], 2], [[2, 4, 2, 2], 4], [[1, 4, 3, 3], 1], [[3, 6], 2]];
  for (const [shape, groups] of cases) {
    const c = shape[1];
    const feeds = new Map<string, Feed>([
      ['x', { shape, data: data(S(shape, { lo: -2, hi: 2 })) }],
      ['gn.weight', { shape: [c], data: data(S([c], { lo: 0.5, hi: 1.5 })) }],
      ['gn.bias', { shape: [c], data: data(S([c])) }],
    ]);
    const rep = await gradCheck({
      feeds,
      build: (b) => {
        const x = b.input('x', shape);
        const y = groupNorm(b, x, 'gn', groups);
        return { out: y, wrt: [x, b.params.get('gn.weight')!.value, b.params.get('gn.bias')!.value] };
      },
    });
    assert.ok(rep.ok, `GroupNorm ${shape} / ${groups}: ${rep.failures.slice(0, 5).join('; ')}`);
    assert.ok(rep.checked > 0);
  }
  covered.add('GroupNorm');
});

test('GroupNorm\'s fused VJP equals, to float32 rounding, the VJP of the same function decomposed into individually proven ops', async () => {
  // Finite differences in float32 allow ~2 % error; this exact comparison would catch a small wrong term in the fused
  // rule (dx = σ⁻¹γ·ḡ + q·x̂ + r) that a finite-difference check could let through.
  const { ModelSession } = await import('../../../native-models/src/core/runtime/session.js');
  for (const [shape, groups] of [[[2, 6, 3, 4], 3], [[3, 8, 5], 2], [[2, 4, 2, 2], 1]] as [number[], number][]) {
    const c = shape[1], n = shape[0], per = (c / groups) * shape.slice(2).reduce((p, q) => p * q, 1);
    const r = data(S(shape));
    const feeds = new Map<string, Feed>([
      ['x', { shape, data: data(S(shape, { lo: -2, hi: 2 })) }],
      ['gn.weight', { shape: [c], data: data(S([c], { lo: 0.5, hi: 1.5 })) }],
      ['gn.bias', { shape: [c], data: data(S([c])) }],
    ]);
    const grads = async (decomposed: boolean) => {
      const b = new GraphBuilder(decomposed ? 'gn_decomposed' : 'gn_fused');
      const x = b.input('x', shape);
      let y: Value;
      if (decomposed) {
        const gamma = b.param('gn.weight', [c], { kind: 'ones' }), beta = b.param('gn.bias', [c], { kind: 'zeros' });
        const xhat = b.reshape(b.layerNormalization(b.reshape(x, [n, groups, per]), b.constF32(new Float32Array(per).fill(1), [per]), undefined, -1, 1e-5), shape);
        const bc = [1, c, ...shape.slice(2).map(() => 1)];
        y = b.add(b.mul(xhat, b.reshape(gamma, bc)), b.reshape(beta, bc));
      } else y = groupNorm(b, x, 'gn', groups);
      const loss = b.reduceSum(b.mul(y, b.constF32(r, shape)), [...shape.keys()], false);
      const g = backward(b, loss, [x, b.params.get('gn.weight')!.value, b.params.get('gn.bias')!.value]);
      const sess = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { threads: 1 });
      const out = await sess.run(feeds, [...g.values()].map((v) => v.name));
      await sess.release();
      return [...g.values()].map((v) => out.get(v.name)!.data);
    };
    const [fused, ref] = [await grads(false), await grads(true)];
    fused.forEach((f, k) => {
      let scale = 0;
      for (const v of ref[k]) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < f.length; i++) assert.ok(Math.abs(f[i] - ref[k][i]) <= 1e-5 * Math.max(1, scale), `GroupNorm ${shape}/${groups} input ${k} [${i}]: fused ${f[i]} vs decomposed ${ref[k][i]}`);
    });
  }
});

test('BatchNorm in training mode (composite op, fused VJP): x, γ and β, 2-D, 1-D and no spatial axes', async () => {
  for (const shape of [[3, 4, 3, 2], [4, 3, 5], [6, 4], [2, 2, 2, 2]]) {
    const c = shape[1];
    const feeds = new Map<string, Feed>([
      ['x', { shape, data: data(S(shape, { lo: -2, hi: 2 })) }],
      ['bn.weight', { shape: [c], data: data(S([c], { lo: 0.5, hi: 1.5 })) }],
      ['bn.bias', { shape: [c], data: data(S([c])) }],
      // state inputs: unused by the training-mode output, fed because the running-statistics updates read them
      ['bn.running_mean', { shape: [c], data: new Float32Array(c) }],
      ['bn.running_var', { shape: [c], data: new Float32Array(c).fill(1) }],
    ]);
    const rep = await gradCheck({
      feeds,
      build: (b) => {
        const x = b.input('x', shape);
        const updates: StateUpdate[] = [];
        const y = batchNorm(b, x, 'bn', { training: true, updates });
        assert.equal(updates.length, 2);
        return { out: y, wrt: [x, b.params.get('bn.weight')!.value, b.params.get('bn.bias')!.value] };
      },
    });
    assert.ok(rep.ok, `BatchNorm ${shape}: ${rep.failures.slice(0, 5).join('; ')}`);
    assert.ok(rep.checked > 0);
  }
  covered.add('BatchNorm');
});

test('BatchNorm\'s fused VJP equals, to float32 rounding, the VJP of the same function decomposed into individually proven ops', async () => {
  const { ModelSession } = await import('../../../native-models/src/core/runtime/session.js');
  for (const shape of [[3, 4, 3, 2], [5, 3]]) {
    const c = shape[1], eps = 1e-5;
    const axes = [0, ...shape.slice(2).map((_, i) => i + 2)];
    const bc = [1, c, ...shape.slice(2).map(() => 1)];
    const r = data(S(shape));
    const feeds = new Map<string, Feed>([
      ['x', { shape, data: data(S(shape, { lo: -2, hi: 3 })) }],
      ['bn.weight', { shape: [c], data: data(S([c], { lo: 0.5, hi: 1.5 })) }],
      ['bn.bias', { shape: [c], data: data(S([c])) }],
      ['bn.running_mean', { shape: [c], data: new Float32Array(c) }],
      ['bn.running_var', { shape: [c], data: new Float32Array(c).fill(1) }],
    ]);
    const grads = async (decomposed: boolean) => {
      const b = new GraphBuilder(decomposed ? 'bn_decomposed' : 'bn_fused');
      const x = b.input('x', shape);
      let y: Value;
      if (decomposed) {
        const gamma = b.param('bn.weight', [c], { kind: 'ones' }), beta = b.param('bn.bias', [c], { kind: 'zeros' });
        const d = b.sub(x, b.reduceMean(x, axes, true));
        const v = b.reduceMean(b.mul(d, d), axes, true);
        const xhat = b.div(d, b.sqrt(b.add(v, b.scalar(eps))));
        y = b.add(b.mul(xhat, b.reshape(gamma, bc)), b.reshape(beta, bc));
      } else y = batchNorm(b, x, 'bn', { training: true, updates: [], eps });
      const loss = b.reduceSum(b.mul(y, b.constF32(r, shape)), [...shape.keys()], false);
      const g = backward(b, loss, [x, b.params.get('bn.weight')!.value, b.params.get('bn.bias')!.value]);
      const sess = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { threads: 1 });
      const use = new Map([...feeds].filter(([k]) => decomposed ? !k.includes('running') : true));
      const out = await sess.run(use, [...g.values()].map((v) => v.name));
      await sess.release();
      return [...g.values()].map((v) => out.get(v.name)!.data);
    };
    const fused = await grads(false), ref = await grads(true);
    fused.forEach((f, k) => {
      let scale = 0;
      for (const v of ref[k]) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < f.length; i++) assert.ok(Math.abs(f[i] - ref[k][i]) <= 2e-5 * Math.max(1, scale), `BatchNorm ${shape} input ${k} [${i}]: fused ${f[i]} vs decomposed ${ref[k][i]}`);
    });
  }
});

test('BatchNormalization (inference form): x, scale, bias, mean and variance', async () => {
  await check(['BatchNormalization'], { x: S([2, 3, 2, 2], { lo: -2, hi: 2 }), s: S([3], { lo: 0.5, hi: 1.5 }), be: S([3]), m: S([3]), v: S([3], { lo: 0.5, hi: 2 }) },
    (b, v) => b.batchNormalization(v.x, v.s, v.be, v.m, v.v, 1e-3));
  await check(['BatchNormalization'], { x: S([4, 3], { lo: -2, hi: 2 }), v: S([3], { lo: 0.3, hi: 1 }) },
    (b, v) => b.batchNormalization(v.x, b.constF32([1, -2, 0.5], [3]), b.constF32([0, 1, 0], [3]), b.constF32([0.1, 0, -0.2], [3]), v.v));
});

test('a value inside a composite op used outside it is an E_COMPOSITE error, not a silently dropped gradient', () => {
  const b = new GraphBuilder('t');
  const x = b.input('x', [2, 3]);
  let inner: Value | undefined;
  const [y] = b.composite('Softmax', [x], {}, () => {
    inner = b.exp(x);
    return [b.div(inner, b.reduceSum(inner, [1], true))];
  });
  const loss = b.reduceSum(b.add(y, inner!), [0, 1], false);
  assert.throws(() => backward(b, loss, [x]), (e: unknown) => (e as { code?: string }).code === 'E_COMPOSITE');
});

test('reductions', async () => {
  await check(['ReduceSum'], { x: S([2, 3, 4]) }, (b, v) => b.reduceSum(v.x, [0, 2], false));
  await check(['ReduceSum'], { x: S([2, 3, 4]) }, (b, v) => b.reduceSum(v.x, [-1], true));
  await check(['ReduceMean'], { x: S([2, 3, 4]) }, (b, v) => b.reduceMean(v.x, [1], false));
  await check(['ReduceMean'], { x: S([2, 3, 4]) }, (b, v) => b.reduceMean(v.x, [0, 1, 2], true));
});

test('shape ops: Reshape, Flatten, Transpose, Expand, Concat, Split, Slice, Pad', async () => {
  const m = data(S([6, 4]));
  await check(['Reshape'], { x: S([2, 3, 4]) }, (b, v) => b.mul(b.reshape(v.x, [6, 4]), b.constF32(m, [6, 4])));
  await check(['Flatten'], { x: S([2, 3, 4]) }, (b, v) => b.flatten(v.x, 1));
  await check(['Transpose'], { x: S([2, 3, 4]) }, (b, v) => b.transpose(v.x, [2, 0, 1]));
  await check(['Expand'], { x: S([3, 1]) }, (b, v) => b.expand(v.x, [2, 3, 4]));
  await check(['Concat'], { a: S([2, 3]), c: S([2, 2]) }, (b, v) => b.concat([v.a, v.c, v.a], 1));
  await check(['Split'], { x: S([5, 3]) }, (b, v) => { const [p, , r] = b.split(v.x, [2, 1, 2], 0); return b.add(p, b.mul(r, b.scalar(3))); });
  await check(['Slice'], { x: S([4, 6]) }, (b, v) => b.slice(v.x, [1, -4], [3, 100], [0, 1]));
  await check(['Pad'], { x: S([2, 3]) }, (b, v) => b.pad(v.x, [1, 0, 2, 3]));
});

test('Gather (axis 0 and 1, repeated indices) and GatherElements', async () => {
  await check(['Gather'], { x: S([5, 3]) }, (b, v) => b.gather(v.x, v.i, 0), { i: { shape: [2, 2], data: [4, 0, 4, 2] } });
  await check(['Gather'], { x: S([2, 5, 3]) }, (b, v) => b.gather(v.x, v.i, 1), { i: { shape: [4], data: [1, 3, 1, 0] } });
  await check(['GatherElements'], { x: S([3, 4]) }, (b, v) => b.gatherElements(v.x, v.i, 1), { i: { shape: [3, 2], data: [0, 3, 2, 2, 1, 0] } });
});

test('fan-out: a value used twice gets the sum of both gradients', async () => {
  await check([], { x: S([3, 4]) }, (b, v) => b.mul(b.sigmoid(v.x), b.tanh(v.x)));
});

test('every registered VJP rule has a finite-difference test above', () => {
  const missing = Object.keys(VJP_RULES).filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});
