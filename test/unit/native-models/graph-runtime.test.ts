/** Graph builder (shape checks, naming, export modes), serializer (through onnxruntime), runtime and EP choice, autodiff errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, GraphError, ShapeError } from '../../../native-models/src/core/graph/builder.js';
import { conv2d, linear } from '../../../native-models/src/core/graph/layers.js';
import { backward } from '../../../native-models/src/core/autodiff/backward.js';
import { ModelSession, RuntimeError } from '../../../native-models/src/core/runtime/session.js';
import { selectExecutionProvider, DEFAULT_EP_ORDER } from '../../../native-models/src/core/runtime/ep.js';
import { initWeights } from '../../../native-models/src/inference/nets/init.js';

const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && e.code === 'E_SHAPE' && re.test(e.message);

test('shape errors name the layer scope and the op', () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 16, 8, 8]);
  b.scope('body', () => b.scope('block2', () => b.scope('conv1', () => {
    const w = b.param('weight', [8, 32, 3, 3], { kind: 'he', fanIn: 288 });
    assert.throws(() => b.conv(x, w, undefined), isShape(/^body\.block2\.conv1: Conv expects input channels 32, got 16/));
  })));
  assert.throws(() => b.matmul(b.input('a', [3, 4]), b.input('c', [5, 6])), isShape(/MatMul inner dimensions differ/));
  assert.throws(() => b.add(b.input('p', [3, 4]), b.input('q', [2, 4])), isShape(/cannot broadcast \[3, 4\] with \[2, 4\]/));
  assert.throws(() => b.reshape(x, [7, -1]), isShape(/cannot reshape/));
  assert.throws(() => b.transpose(x, [0, 1, 1, 2]), isShape(/not a permutation/));
  assert.throws(() => b.softmax(x, 4), isShape(/axis 4 out of range/));
});

test('static shape inference for conv, pooling, gemm, gather, slice, concat', () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3, 64, 64]);
  const y = b.scope('stem', () => conv2d(b, x, 'conv', 16, 3, { stride: 2 }));
  assert.deepEqual(y.shape, [2, 16, 32, 32]);
  assert.deepEqual(b.maxPool(y, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }).shape, [2, 16, 16, 16]);
  assert.deepEqual(b.convTranspose(y, b.input('wt', [16, 4, 4, 4]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }).shape, [2, 4, 64, 64]);
  assert.deepEqual(b.gemm(b.input('a', [5, 7]), b.input('w', [3, 7]), undefined, { transB: true }).shape, [5, 3]);
  assert.deepEqual(b.gather(b.input('t', [10, 4, 6]), b.input('i', [2, 3], 'int64'), 1).shape, [10, 2, 3, 6]);
  assert.deepEqual(b.slice(x, [1, -10], [100, -2], [1, 3]).shape, [2, 2, 64, 8]);
  assert.deepEqual(b.concat([x, x], 1).shape, [2, 6, 64, 64]);
  assert.equal(b.params.get('stem.conv.weight')!.value.shape.join(','), '16,3,3,3');
});

test('parameters are unique unless shared explicitly', () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 4]);
  linear(b, x, 'fc', 3);
  assert.throws(() => linear(b, x, 'fc', 3), (e: unknown) => e instanceof GraphError && e.code === 'E_DUPLICATE');
  const y = b.sharing(() => linear(b, x, 'fc', 3));
  assert.deepEqual(y.shape, [2, 3]);
  assert.throws(() => b.sharing(() => linear(b, x, 'fc', 5)), isShape(/shared parameter "fc.weight"/));
});

test('serializer: the same graph exported with weights as inputs and as initializers gives the same result', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3, 6, 6]);
  const h = b.scope('body', () => conv2d(b, x, 'conv', 4, 3));
  const z = b.scope('head', () => linear(b, b.flatten(b.globalAveragePool(b.relu(h)), 1), 'fc', 2));
  b.output(b.logSoftmax(z, -1), 'y'); // negative attribute (varint two's complement)
  const w = initWeights(b.paramList(), 1);
  const xs = { shape: [2, 3, 6, 6], data: Float32Array.from({ length: 216 }, (_, i) => Math.sin(i)) };
  const a = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { threads: 1 });
  const c = await ModelSession.create(b.serialize({ paramsAs: 'initializers', weights: w }), { threads: 1 });
  assert.deepEqual([...a.inputNames].sort(), ['body.conv.bias', 'body.conv.weight', 'head.fc.bias', 'head.fc.weight', 'x']);
  assert.deepEqual([...c.inputNames], ['x']);
  const ya = (await a.run(new Map([...w, ['x', xs]]))).get('y')!;
  const yc = (await c.run({ x: xs })).get('y')!;
  assert.deepEqual(ya.shape, [2, 2]);
  ya.data.forEach((v, i) => assert.ok(Math.abs(v - yc.data[i]) < 1e-6));
  assert.throws(() => b.serialize({ paramsAs: 'initializers', weights: new Map() }), (e: unknown) => e instanceof GraphError && e.code === 'E_MISSING_WEIGHT');
  await assert.rejects(a.run({ x: xs }), (e: unknown) => e instanceof RuntimeError && e.code === 'E_MISSING_FEED');
  await a.release();
  await c.release();
});

test('runtime: bad model bytes are a RuntimeError; EP selection reports what ran and why others did not', async () => {
  await assert.rejects(ModelSession.create(new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof RuntimeError && e.code === 'E_SESSION_CREATE');
  const choice = await selectExecutionProvider();
  assert.ok(DEFAULT_EP_ORDER.includes(choice.ep));
  assert.equal(choice.tried[choice.tried.length - 1].ep, choice.ep);
  assert.ok(choice.tried.slice(0, -1).every((t) => !t.ok && typeof t.reason === 'string'));
  assert.equal((await selectExecutionProvider(['cpu'])).ep, 'cpu');
  const b = new GraphBuilder();
  b.output(b.relu(b.input('x', [3])), 'y');
  const s = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }), { ep: 'auto', threads: 1 });
  assert.equal(s.ep, choice.ep);
  assert.deepEqual([...(await s.run({ x: { shape: [3], data: Float32Array.from([-1, 0, 2]) } })).get('y')!.data], [0, 0, 2]);
  await s.release();
});

test('autodiff: clear errors for a non-scalar loss and an op without a rule; unused inputs get zero gradients', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', [3]);
  const u = b.input('unused', [2]);
  assert.throws(() => backward(b, x, [x]), (e: unknown) => e instanceof GraphError && e.code === 'E_LOSS');
  const sc = b.scatterElements(x, b.constI64([0]), b.reshape(b.reduceSum(x, [0]), [1]), 0);
  assert.throws(() => backward(b, b.reduceSum(sc, [0], false), [x]), (e: unknown) => e instanceof GraphError && e.code === 'E_NO_VJP' && /ScatterElements/.test(e.message));
  const b2 = new GraphBuilder();
  const x2 = b2.input('x', [3]);
  const u2 = b2.input('unused', [2]);
  const loss = b2.reduceSum(b2.mul(x2, x2), [0], false);
  b2.output(loss, 'loss');
  backward(b2, loss, [x2, u2]);
  const s = await ModelSession.create(b2.serialize({ paramsAs: 'inputs' }), { threads: 1 });
  const out = await s.run({ x: { shape: [3], data: Float32Array.from([1, 2, 3]) }, unused: { shape: [2], data: new Float32Array(2) } }, ['grad.x', 'grad.unused']);
  assert.deepEqual([...out.get('grad.x')!.data], [2, 4, 6]);
  assert.deepEqual([...out.get('grad.unused')!.data], [0, 0]);
  await s.release();
  void u;
});

test('strided Slice: static shape matches onnxruntime and picks every s-th element', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 7, 5]);
  const y = b.slice(x, [1, 0], [7, 5], [1, 2], [2, 3]); // rows 1,3,5 and columns 0,3
  assert.deepEqual(y.shape, [2, 3, 2]);
  assert.throws(() => b.slice(x, [0], [3], [1], [0]), isShape(/steps/));
  b.output(y, 'y');
  const s = await ModelSession.create(b.serialize({ paramsAs: 'inputs' }));
  try {
    const data = Float32Array.from({ length: 70 }, (_, i) => i);
    const out = (await s.run({ x: { shape: [2, 7, 5], data } })).get('y')!;
    assert.deepEqual(out.shape, [2, 3, 2]);
    assert.deepEqual([...out.data], [5, 8, 15, 18, 25, 28, 40, 43, 50, 53, 60, 63]);
  } finally {
    await s.release();
  }
});
