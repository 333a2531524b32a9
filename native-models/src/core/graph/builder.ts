/**
 * A small typed graph builder that emits ONNX (opset 17).
 * Every value carries a dtype and a fully static shape; every op method checks its operands' shapes at build time
 * and infers the output shape, so a wrong wiring fails here — with the layer scope in the message — and not deep
 * inside onnxruntime. Parameters are named by the scope they are created in ("body.block1.conv1.weight") and can be
 * emitted as graph inputs (training: weights fed each step) or as initializers (inference export).
 * The autodiff (../autodiff) appends its backward nodes to the same builder through these same op methods.
 */
import { lowerConvsToNchwc } from './nchwc.js';
import { asBytes, encodeModel, type AttributeData, type ModelProtoData, type NodeProtoData, type TensorProtoData } from '../onnx/proto.js';
import { numel, type NamedWeights } from '../tensor.js';

export const OPSET = 17;

export type DType = 'float32' | 'int64' | 'bool';

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface Node {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttributeData>>;
  /** Scope path at creation ("body.block1.conv1"); used in error messages. */
  readonly scope: string;
}

/** How a parameter is initialised (see nets/init.ts). fanIn/fanOut are per-parameter. */
export type ParamInit =
  | { kind: 'he'; fanIn: number }
  | { kind: 'xavier'; fanIn: number; fanOut: number }
  | { kind: 'normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'ones' };

export interface ParamInfo {
  readonly value: Value;
  readonly init: ParamInit;
  /**
   * false for state such as BatchNorm's running statistics: fed and saved like a weight (so checkpoints, resume and
   * the inference export hold it), but never differentiated, never seen by the optimiser or weight decay. The
   * training graph outputs its new value as `state.<name>` (see `stateName`), and the trainer copies that in.
   */
  readonly trainable: boolean;
}

/** Name of the training-graph output that holds the new value of the state tensor `name`. */
export const stateName = (name: string): string => `state.${name}`;

/** A shape or wiring mistake found while building; the message names the layer scope and the op. */
export class ShapeError extends Error {
  readonly code = 'E_SHAPE';
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Structural misuse of the builder (duplicate parameter, missing weight at export, ...). */
export class GraphError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'GraphError';
    this.code = code;
  }
}

type ConstData = Float32Array | BigInt64Array | Uint8Array;

export interface ConvOpts {
  strides?: readonly number[];
  pads?: readonly number[]; // [top, left, bottom, right]
  dilations?: readonly number[];
  group?: number;
}
export interface ConvTransposeOpts extends ConvOpts {
  outputPadding?: readonly number[];
}
export interface PoolOpts {
  kernel: readonly number[];
  strides?: readonly number[];
  pads?: readonly number[];
  countIncludePad?: boolean;
}

const ai = (value: number): AttributeData => ({ type: 'int', value });
const aints = (value: readonly number[]): AttributeData => ({ type: 'ints', value });
const af = (value: number): AttributeData => ({ type: 'float', value });

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** numpy-style broadcast of two static shapes, or undefined if incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * A run of forward nodes that the autodiff differentiates as one op (see GraphBuilder.composite): `node` is the
 * op as backward() sees it, nodes[first..last] are what onnxruntime runs.
 */
export interface Composite {
  readonly node: Node;
  readonly first: number;
  readonly last: number;
}

export interface SerializeOptions {
  paramsAs: 'inputs' | 'initializers';
  weights?: NamedWeights;
  /** MLAS NCHWc block size (runtime/nchwc.ts) to lower eligible Convs with; 0 or absent: plain ONNX only. */
  nchwcBlock?: number;
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly values = new Map<string, Value>();
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly params = new Map<string, ParamInfo>();
  readonly constants = new Map<string, { value: Value; data: ConstData }>();
  /** value name → index of the node that produces it */
  readonly producer = new Map<string, number>();
  /** Composite ops (for the autodiff), in node order. */
  readonly composites: Composite[] = [];
  private readonly scopeStack: string[] = [];
  private counter = 0;

  constructor(readonly name = 'graph') {}

  // ---- scopes, naming, errors -----------------------------------------------------------------------------------

  get scopePath(): string {
    return this.scopeStack.join('.');
  }

  /** Run `fn` inside a named scope; parameters created inside get the dotted prefix. */
  scope<T>(name: string, fn: () => T): T {
    this.scopeStack.push(name);
    try {
      return fn();
    } finally {
      this.scopeStack.pop();
    }
  }

  fail(op: string, msg: string): never {
    throw new ShapeError(`${this.scopePath || '<root>'}: ${op} ${msg}`);
  }

  private fresh(prefix: string): string {
    let n: string;
    do n = `${this.scopePath || 'g'}/${prefix}_${this.counter++}`;
    while (this.values.has(n));
    return n;
  }

  private define(name: string, dtype: DType, shape: readonly number[]): Value {
    if (this.values.has(name)) throw new GraphError('E_DUPLICATE', `value name "${name}" is already defined`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) this.fail('define', `bad dimension in shape ${fmt(shape)} for "${name}"`);
    }
    const v: Value = { name, dtype, shape: [...shape] };
    this.values.set(name, v);
    return v;
  }

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new GraphError('E_UNKNOWN_VALUE', `no value named "${name}"`);
    return v;
  }

  // ---- graph interface ------------------------------------------------------------------------------------------

  input(name: string, shape: readonly number[], dtype: DType = 'float32'): Value {
    const v = this.define(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  private shareDepth = 0;

  /** Run `fn` so that parameters it creates that already exist (same name and shape) are reused: weight sharing. */
  sharing<T>(fn: () => T): T {
    this.shareDepth++;
    try {
      return fn();
    } finally {
      this.shareDepth--;
    }
  }

  /** A trainable parameter named `<scope>.<local>`. */
  param(local: string, shape: readonly number[], init: ParamInit): Value {
    return this.addParam(local, shape, init, true);
  }

  /** A non-trainable state tensor named `<scope>.<local>` (running statistics), fed and saved like a parameter. */
  state(local: string, shape: readonly number[], init: ParamInit): Value {
    return this.addParam(local, shape, init, false);
  }

  private addParam(local: string, shape: readonly number[], init: ParamInit, trainable: boolean): Value {
    const full = this.scopePath ? `${this.scopePath}.${local}` : local;
    const existing = this.params.get(full);
    if (existing && this.shareDepth > 0) {
      if (!same(existing.value.shape, shape)) this.fail('param', `shared parameter "${full}" is ${fmt(existing.value.shape)}, asked for ${fmt(shape)}`);
      return existing.value;
    }
    if (this.params.has(full)) throw new GraphError('E_DUPLICATE', `parameter "${full}" defined twice`);
    const v = this.define(full, 'float32', shape);
    this.params.set(full, { value: v, init, trainable });
    return v;
  }

  /** Mark `v` as a graph output, renamed to `name` through an Identity when asked. */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name !== undefined && name !== v.name) {
      out = this.define(name, v.dtype, v.shape);
      this.push('Identity', [v], [out], {});
    }
    if (this.outputs.some((o) => o.name === out.name)) throw new GraphError('E_DUPLICATE', `output "${out.name}" declared twice`);
    this.outputs.push(out);
    return out;
  }

  // ---- constants ------------------------------------------------------------------------------------------------

  constF32(data: Float32Array | readonly number[], shape: readonly number[]): Value {
    const d = data instanceof Float32Array ? data : Float32Array.from(data);
    if (d.length !== numel(shape)) this.fail('Constant', `shape ${fmt(shape)} needs ${numel(shape)} values, got ${d.length}`);
    const v = this.define(this.fresh('const'), 'float32', shape);
    this.constants.set(v.name, { value: v, data: d });
    return v;
  }

  constI64(data: readonly number[], shape: readonly number[] = [data.length]): Value {
    if (data.length !== numel(shape)) this.fail('Constant', `shape ${fmt(shape)} needs ${numel(shape)} values, got ${data.length}`);
    const v = this.define(this.fresh('const'), 'int64', shape);
    this.constants.set(v.name, { value: v, data: BigInt64Array.from(data.map((x) => BigInt(x))) });
    return v;
  }

  /** A float32 scalar (shape []), broadcastable against anything. */
  scalar(x: number): Value {
    return this.constF32([x], []);
  }

  // ---- node emission --------------------------------------------------------------------------------------------

  /**
   * Emit the nodes `fn` builds as one composite op for the autodiff: onnxruntime runs those nodes, while backward()
   * sees a single node `op` with these inputs and the outputs `fn` returns, and differentiates it with the VJP rule
   * registered for `op` (a layer can so have a cheaper gradient than the sum of its parts'; like a custom autograd
   * function). Outputs beyond the first may carry forward intermediates for that rule. Values made inside must not
   * be used outside except through the returned outputs (backward() checks this).
   */
  composite(op: string, inputs: readonly Value[], attrs: Record<string, AttributeData>, fn: () => readonly Value[]): Value[] {
    const first = this.nodes.length;
    const open = this.composites.length;
    const outputs = fn();
    const last = this.nodes.length - 1;
    if (last < first) this.fail(op, 'composite emitted no nodes');
    if (this.composites.length !== open) this.fail(op, 'composites cannot be nested');
    for (const o of outputs) {
      const k = this.producer.get(o.name);
      if (k === undefined || k < first) this.fail(op, `composite output "${o.name}" is not made inside it`);
    }
    const node: Node = {
      op,
      name: `${this.scopePath || 'g'}/${op}#${first}`,
      inputs: inputs.map((v) => v.name),
      outputs: outputs.map((v) => v.name),
      attrs,
      scope: this.scopePath,
    };
    this.composites.push({ node, first, last });
    return [...outputs];
  }

  private push(op: string, inputs: readonly (Value | undefined)[], outputs: readonly Value[], attrs: Record<string, AttributeData>): void {
    const node: Node = {
      op,
      name: `${this.scopePath || 'g'}/${op}#${this.nodes.length}`,
      inputs: inputs.map((v) => (v ? v.name : '')),
      outputs: outputs.map((v) => v.name),
      attrs,
      scope: this.scopePath,
    };
    for (const v of inputs) if (v && !this.values.has(v.name)) throw new GraphError('E_UNKNOWN_VALUE', `${op}: input "${v.name}" is not in this graph`);
    for (const o of outputs) this.producer.set(o.name, this.nodes.length);
    this.nodes.push(node);
  }

  /** Emit a node with freshly named outputs of the given dtypes/shapes. */
  emit(op: string, inputs: readonly (Value | undefined)[], outs: readonly { dtype: DType; shape: readonly number[] }[], attrs: Record<string, AttributeData> = {}): Value[] {
    const outputs = outs.map((o) => this.define(this.fresh(op), o.dtype, o.shape));
    this.push(op, inputs, outputs, attrs);
    return outputs;
  }

  private float(op: string, ...vs: Value[]): void {
    for (const v of vs) if (v.dtype !== 'float32') this.fail(op, `expects float32 operands, got ${v.dtype} ("${v.name}")`);
  }

  // ---- elementwise ----------------------------------------------------------------------------------------------

  private binary(op: string, a: Value, b: Value): Value {
    if (a.dtype !== b.dtype) this.fail(op, `operand dtypes differ: ${a.dtype} vs ${b.dtype}`);
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) this.fail(op, `cannot broadcast ${fmt(a.shape)} with ${fmt(b.shape)}`);
    return this.emit(op, [a, b], [{ dtype: a.dtype, shape }])[0];
  }
  add(a: Value, b: Value): Value { return this.binary('Add', a, b); }
  sub(a: Value, b: Value): Value { return this.binary('Sub', a, b); }
  mul(a: Value, b: Value): Value { return this.binary('Mul', a, b); }
  div(a: Value, b: Value): Value { return this.binary('Div', a, b); }
  pow(a: Value, b: Value): Value { this.float('Pow', a, b); return this.binary('Pow', a, b); }

  greater(a: Value, b: Value): Value {
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) this.fail('Greater', `cannot broadcast ${fmt(a.shape)} with ${fmt(b.shape)}`);
    return this.emit('Greater', [a, b], [{ dtype: 'bool', shape }])[0];
  }

  where(cond: Value, a: Value, b: Value): Value {
    if (cond.dtype !== 'bool') this.fail('Where', 'condition must be bool');
    const s1 = broadcastShapes(cond.shape, a.shape);
    const shape = s1 && broadcastShapes(s1, b.shape);
    if (!shape) this.fail('Where', `cannot broadcast ${fmt(cond.shape)}, ${fmt(a.shape)}, ${fmt(b.shape)}`);
    return this.emit('Where', [cond, a, b], [{ dtype: a.dtype, shape }])[0];
  }

  /** Variadic broadcasting sum. */
  sum(vs: readonly Value[]): Value {
    if (vs.length === 0) this.fail('Sum', 'needs at least one operand');
    if (vs.length === 1) return vs[0];
    let shape: number[] | undefined = [...vs[0].shape];
    for (const v of vs.slice(1)) shape = shape && broadcastShapes(shape, v.shape);
    if (!shape) this.fail('Sum', `cannot broadcast ${vs.map((v) => fmt(v.shape)).join(', ')}`);
    return this.emit('Sum', vs, [{ dtype: vs[0].dtype, shape }])[0];
  }

  private unary(op: string, x: Value, attrs: Record<string, AttributeData> = {}): Value {
    this.float(op, x);
    return this.emit(op, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0];
  }
  relu(x: Value): Value { return this.unary('Relu', x); }
  sigmoid(x: Value): Value { return this.unary('Sigmoid', x); }
  tanh(x: Value): Value { return this.unary('Tanh', x); }
  exp(x: Value): Value { return this.unary('Exp', x); }
  log(x: Value): Value { return this.unary('Log', x); }
  sqrt(x: Value): Value { return this.unary('Sqrt', x); }
  erf(x: Value): Value { return this.unary('Erf', x); }
  neg(x: Value): Value { return this.unary('Neg', x); }
  sin(x: Value): Value { return this.unary('Sin', x); }
  cos(x: Value): Value { return this.unary('Cos', x); }
  sign(x: Value): Value { return this.unary('Sign', x); }
  abs(x: Value): Value { return this.unary('Abs', x); }
  reciprocal(x: Value): Value { return this.unary('Reciprocal', x); }
  identity(x: Value): Value { return this.emit('Identity', [x], [{ dtype: x.dtype, shape: x.shape }])[0]; }

  cast(x: Value, to: DType): Value {
    const code = { float32: 1, int64: 7, bool: 9 }[to];
    return this.emit('Cast', [x], [{ dtype: to, shape: x.shape }], { to: ai(code) })[0];
  }

  private axis(op: string, x: Value, axis: number): number {
    const r = x.shape.length;
    const a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r) this.fail(op, `axis ${axis} out of range for rank-${r} input ${fmt(x.shape)}`);
    return a;
  }

  softmax(x: Value, axis = -1): Value { this.axis('Softmax', x, axis); return this.unary('Softmax', x, { axis: ai(axis) }); }
  logSoftmax(x: Value, axis = -1): Value { this.axis('LogSoftmax', x, axis); return this.unary('LogSoftmax', x, { axis: ai(axis) }); }

  // ---- linear algebra -------------------------------------------------------------------------------------------

  matmul(a: Value, b: Value): Value {
    this.float('MatMul', a, b);
    if (a.shape.length < 2 || b.shape.length < 2) this.fail('MatMul', `expects rank ≥ 2 operands, got ${fmt(a.shape)} @ ${fmt(b.shape)}`);
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) this.fail('MatMul', `inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (!batch) this.fail('MatMul', `batch dimensions do not broadcast: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
    return this.emit('MatMul', [a, b], [{ dtype: 'float32', shape: [...batch, m, n] }])[0];
  }

  /** Y = op(A) op(B) + C with alpha = beta = 1. */
  gemm(a: Value, b: Value, c: Value | undefined, opts: { transA?: boolean; transB?: boolean } = {}): Value {
    this.float('Gemm', a, b);
    if (a.shape.length !== 2 || b.shape.length !== 2) this.fail('Gemm', `expects 2-D operands, got ${fmt(a.shape)}, ${fmt(b.shape)}`);
    const [m, k] = opts.transA ? [a.shape[1], a.shape[0]] : a.shape;
    const [k2, n] = opts.transB ? [b.shape[1], b.shape[0]] : b.shape;
    if (k !== k2) this.fail('Gemm', `inner dimensions differ: op(A) ${fmt([m, k])}, op(B) ${fmt([k2, n])}`);
    if (c && !same(broadcastShapes(c.shape, [m, n]) ?? [], [m, n])) this.fail('Gemm', `C ${fmt(c.shape)} does not broadcast to ${fmt([m, n])}`);
    const attrs: Record<string, AttributeData> = {};
    if (opts.transA) attrs.transA = ai(1);
    if (opts.transB) attrs.transB = ai(1);
    return this.emit('Gemm', c ? [a, b, c] : [a, b], [{ dtype: 'float32', shape: [m, n] }], attrs)[0];
  }

  // ---- convolution and pooling ----------------------------------------------------------------------------------

  private spatial(op: string, x: Value, kernel: readonly number[], o: ConvOpts): { strides: number[]; pads: number[]; dilations: number[] } {
    const sd = x.shape.length - 2;
    if (sd < 1) this.fail(op, `expects an N,C,spatial... input, got ${fmt(x.shape)}`);
    const strides = [...(o.strides ?? Array(sd).fill(1))];
    const pads = [...(o.pads ?? Array(2 * sd).fill(0))];
    const dilations = [...(o.dilations ?? Array(sd).fill(1))];
    if (kernel.length !== sd || strides.length !== sd || dilations.length !== sd || pads.length !== 2 * sd) {
      this.fail(op, `kernel/strides/pads/dilations do not match ${sd} spatial dims`);
    }
    return { strides, pads, dilations };
  }

  conv(x: Value, w: Value, b: Value | undefined, o: ConvOpts = {}): Value {
    this.float('Conv', x, w);
    const group = o.group ?? 1;
    if (w.shape.length !== x.shape.length) this.fail('Conv', `weight ${fmt(w.shape)} rank does not match input ${fmt(x.shape)}`);
    const { strides, pads, dilations } = this.spatial('Conv', x, w.shape.slice(2), o);
    const [n, c] = x.shape;
    const [m, cg] = w.shape;
    if (cg * group !== c) this.fail('Conv', `expects input channels ${cg * group}, got ${c} (input ${fmt(x.shape)}, weight ${fmt(w.shape)})`);
    if (m % group !== 0) this.fail('Conv', `output channels ${m} not divisible by group ${group}`);
    if (b && !same(b.shape, [m])) this.fail('Conv', `bias must be [${m}], got ${fmt(b.shape)}`);
    const sd = x.shape.length - 2;
    const out = [n, m];
    for (let i = 0; i < sd; i++) {
      const ek = (w.shape[2 + i] - 1) * dilations[i] + 1;
      const span = x.shape[2 + i] + pads[i] + pads[i + sd] - ek;
      if (span < 0) this.fail('Conv', `kernel ${ek} larger than padded input ${x.shape[2 + i] + pads[i] + pads[i + sd]}`);
      out.push(Math.floor(span / strides[i]) + 1);
    }
    const attrs: Record<string, AttributeData> = { kernel_shape: aints(w.shape.slice(2)), strides: aints(strides), pads: aints(pads), dilations: aints(dilations) };
    if (group !== 1) attrs.group = ai(group);
    return this.emit('Conv', b ? [x, w, b] : [x, w], [{ dtype: 'float32', shape: out }], attrs)[0];
  }

  /** ConvTranspose with weight [C_in, C_out/group, k...]. */
  convTranspose(x: Value, w: Value, b: Value | undefined, o: ConvTransposeOpts = {}): Value {
    this.float('ConvTranspose', x, w);
    const group = o.group ?? 1;
    if (w.shape.length !== x.shape.length) this.fail('ConvTranspose', `weight ${fmt(w.shape)} rank does not match input ${fmt(x.shape)}`);
    const { strides, pads, dilations } = this.spatial('ConvTranspose', x, w.shape.slice(2), o);
    const sd = x.shape.length - 2;
    const outputPadding = [...(o.outputPadding ?? Array(sd).fill(0))];
    const [n, c] = x.shape;
    if (w.shape[0] !== c) this.fail('ConvTranspose', `expects input channels ${w.shape[0]}, got ${c}`);
    const m = w.shape[1] * group;
    if (b && !same(b.shape, [m])) this.fail('ConvTranspose', `bias must be [${m}], got ${fmt(b.shape)}`);
    const out = [n, m];
    for (let i = 0; i < sd; i++) {
      if (outputPadding[i] >= Math.max(strides[i], dilations[i])) this.fail('ConvTranspose', `output_padding ${outputPadding[i]} must be < stride or dilation`);
      out.push(strides[i] * (x.shape[2 + i] - 1) + outputPadding[i] + (w.shape[2 + i] - 1) * dilations[i] + 1 - pads[i] - pads[i + sd]);
    }
    const attrs: Record<string, AttributeData> = { kernel_shape: aints(w.shape.slice(2)), strides: aints(strides), pads: aints(pads), dilations: aints(dilations) };
    if (group !== 1) attrs.group = ai(group);
    if (outputPadding.some((p) => p !== 0)) attrs.output_padding = aints(outputPadding);
    return this.emit('ConvTranspose', b ? [x, w, b] : [x, w], [{ dtype: 'float32', shape: out }], attrs)[0];
  }

  private poolShape(op: string, x: Value, p: PoolOpts): { out: number[]; strides: number[]; pads: number[] } {
    const { strides, pads } = this.spatial(op, x, p.kernel, { strides: p.strides ?? p.kernel, pads: p.pads });
    const sd = x.shape.length - 2;
    const out = [x.shape[0], x.shape[1]];
    for (let i = 0; i < sd; i++) {
      const span = x.shape[2 + i] + pads[i] + pads[i + sd] - p.kernel[i];
      if (span < 0) this.fail(op, `kernel ${p.kernel[i]} larger than padded input`);
      out.push(Math.floor(span / strides[i]) + 1);
    }
    return { out, strides, pads };
  }

  /** MaxPool; the node also emits the argmax Indices (used by its gradient). */
  maxPool(x: Value, p: PoolOpts): Value {
    this.float('MaxPool', x);
    const { out, strides, pads } = this.poolShape('MaxPool', x, p);
    return this.emit('MaxPool', [x], [{ dtype: 'float32', shape: out }, { dtype: 'int64', shape: out }], { kernel_shape: aints(p.kernel), strides: aints(strides), pads: aints(pads) })[0];
  }

  averagePool(x: Value, p: PoolOpts): Value {
    this.float('AveragePool', x);
    const { out, strides, pads } = this.poolShape('AveragePool', x, p);
    const attrs: Record<string, AttributeData> = { kernel_shape: aints(p.kernel), strides: aints(strides), pads: aints(pads) };
    if (p.countIncludePad) attrs.count_include_pad = ai(1);
    else if (pads.some((q) => q !== 0)) this.fail('AveragePool', 'with padding needs countIncludePad: true (its gradient assumes it)');
    return this.emit('AveragePool', [x], [{ dtype: 'float32', shape: out }], attrs)[0];
  }

  globalAveragePool(x: Value): Value {
    this.float('GlobalAveragePool', x);
    if (x.shape.length < 3) this.fail('GlobalAveragePool', `expects N,C,spatial..., got ${fmt(x.shape)}`);
    return this.emit('GlobalAveragePool', [x], [{ dtype: 'float32', shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }])[0];
  }

  // ---- normalisation --------------------------------------------------------------------------------------------

  /** ONNX LayerNormalization over dims [axis, rank); also emits Mean and InvStdDev (for the gradient). */
  layerNormalization(x: Value, scale: Value, bias: Value | undefined, axis = -1, epsilon = 1e-5): Value {
    this.float('LayerNormalization', x, scale);
    const a = this.axis('LayerNormalization', x, axis);
    const normShape = x.shape.slice(a);
    if (!same(scale.shape, normShape)) this.fail('LayerNormalization', `scale must be ${fmt(normShape)}, got ${fmt(scale.shape)}`);
    if (bias && !same(bias.shape, normShape)) this.fail('LayerNormalization', `bias must be ${fmt(normShape)}, got ${fmt(bias.shape)}`);
    const statShape = [...x.shape.slice(0, a), ...normShape.map(() => 1)];
    return this.emit('LayerNormalization', bias ? [x, scale, bias] : [x, scale],
      [{ dtype: 'float32', shape: x.shape }, { dtype: 'float32', shape: statShape }, { dtype: 'float32', shape: statShape }],
      { axis: ai(a), epsilon: af(epsilon) })[0];
  }

  /**
   * BatchNormalization in inference form: y = (x − mean)·scale/√(var + ε) + bias per channel (axis 1). With mean 0,
   * var 1 and ε 0 it is a one-pass per-channel affine (GroupNorm's γ, β).
   */
  batchNormalization(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, epsilon = 1e-5): Value {
    this.float('BatchNormalization', x, scale, bias, mean, variance);
    if (x.shape.length < 2) this.fail('BatchNormalization', `expects [N, C, ...], got ${fmt(x.shape)}`);
    for (const v of [scale, bias, mean, variance]) {
      if (!same(v.shape, [x.shape[1]])) this.fail('BatchNormalization', `per-channel inputs must be [${x.shape[1]}], got ${fmt(v.shape)} ("${v.name}")`);
    }
    return this.emit('BatchNormalization', [x, scale, bias, mean, variance], [{ dtype: 'float32', shape: x.shape }], { epsilon: af(epsilon) })[0];
  }

  // ---- reductions -----------------------------------------------------------------------------------------------

  private reduceShape(op: string, x: Value, axes: readonly number[], keepdims: boolean): { axes: number[]; shape: number[] } {
    const ax = [...new Set(axes.map((a) => this.axis(op, x, a)))].sort((p, q) => p - q);
    const shape = keepdims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
    return { axes: ax, shape };
  }

  /** ReduceSum (opset 13+: axes are an input). */
  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value {
    const r = this.reduceShape('ReduceSum', x, axes, keepdims);
    if (r.axes.length === 0) return x; // ONNX would reduce everything for empty axes
    return this.emit('ReduceSum', [x, this.constI64(r.axes)], [{ dtype: x.dtype, shape: r.shape }], { keepdims: ai(keepdims ? 1 : 0) })[0];
  }

  /** ReduceMean (opset 17: axes are an attribute). */
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    const r = this.reduceShape('ReduceMean', x, axes, keepdims);
    if (r.axes.length === 0) return x;
    return this.emit('ReduceMean', [x], [{ dtype: x.dtype, shape: r.shape }], { axes: aints(r.axes), keepdims: ai(keepdims ? 1 : 0) })[0];
  }

  // ---- shape manipulation ---------------------------------------------------------------------------------------

  /** Reshape to a static shape (one -1 allowed, 0 copies the input dimension). */
  reshape(x: Value, shape: readonly number[]): Value {
    const n = numel(x.shape);
    const s = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
    const unknown = s.filter((d) => d === -1).length;
    if (unknown > 1) this.fail('Reshape', `at most one -1 allowed in ${fmt(shape)}`);
    if (unknown === 1) {
      const known = numel(s.filter((d) => d !== -1));
      if (known === 0 || n % known !== 0) this.fail('Reshape', `cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
      s[s.indexOf(-1)] = n / known;
    }
    if (numel(s) !== n) this.fail('Reshape', `cannot reshape ${fmt(x.shape)} (${n} elements) to ${fmt(shape)}`);
    if (same(s, x.shape)) return x;
    return this.emit('Reshape', [x, this.constI64(s)], [{ dtype: x.dtype, shape: s }])[0];
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      this.fail('Transpose', `perm ${fmt(perm)} is not a permutation of rank ${x.shape.length}`);
    }
    return this.emit('Transpose', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }], { perm: aints(perm) })[0];
  }

  flatten(x: Value, axis = 1): Value {
    if (axis < 0 || axis > x.shape.length) this.fail('Flatten', `axis ${axis} out of range`);
    const shape = [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))];
    return this.emit('Flatten', [x], [{ dtype: x.dtype, shape }], { axis: ai(axis) })[0];
  }

  concat(xs: readonly Value[], axis: number): Value {
    if (xs.length === 0) this.fail('Concat', 'needs inputs');
    const a = this.axis('Concat', xs[0], axis);
    let total = 0;
    for (const v of xs) {
      if (v.shape.length !== xs[0].shape.length || v.shape.some((d, i) => i !== a && d !== xs[0].shape[i]) || v.dtype !== xs[0].dtype) {
        this.fail('Concat', `operands ${xs.map((q) => fmt(q.shape)).join(', ')} differ outside axis ${a}`);
      }
      total += v.shape[a];
    }
    const shape = xs[0].shape.map((d, i) => (i === a ? total : d));
    return this.emit('Concat', xs, [{ dtype: xs[0].dtype, shape }], { axis: ai(a) })[0];
  }

  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    const a = this.axis('Split', x, axis);
    if (sizes.reduce((p, q) => p + q, 0) !== x.shape[a]) this.fail('Split', `sizes ${fmt(sizes)} do not add up to ${x.shape[a]}`);
    return this.emit('Split', [x, this.constI64(sizes)], sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) })), { axis: ai(a) });
  }

  /** Slice with static starts/ends (clamped as in ONNX) and optional positive steps (default 1). */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Value {
    if (starts.length !== axes.length || ends.length !== axes.length) this.fail('Slice', 'starts/ends/axes lengths differ');
    if (steps && (steps.length !== axes.length || steps.some((q) => !Number.isInteger(q) || q < 1))) this.fail('Slice', `steps ${fmt(steps ?? [])} must be positive integers, one per axis`);
    const shape = [...x.shape];
    const ax = axes.map((q) => this.axis('Slice', x, q));
    ax.forEach((a, i) => {
      const d = x.shape[a];
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]);
      const e = clamp(ends[i]);
      shape[a] = Math.max(0, Math.ceil((e - s) / (steps?.[i] ?? 1)));
    });
    const inputs = [x, this.constI64(starts), this.constI64(ends), this.constI64(ax)];
    if (steps && steps.some((q) => q !== 1)) inputs.push(this.constI64(steps));
    return this.emit('Slice', inputs, [{ dtype: x.dtype, shape }])[0];
  }

  /** Constant-zero (or `value`) padding; pads = [begin_0.., end_0..] as in ONNX. */
  pad(x: Value, pads: readonly number[], value = 0): Value {
    const r = x.shape.length;
    if (pads.length !== 2 * r) this.fail('Pad', `needs ${2 * r} pads, got ${pads.length}`);
    const shape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
    if (shape.some((d) => d < 0)) this.fail('Pad', `negative result shape ${fmt(shape)}`);
    const inputs = value === 0 ? [x, this.constI64(pads)] : [x, this.constI64(pads), this.scalar(value)];
    return this.emit('Pad', inputs, [{ dtype: x.dtype, shape }], { mode: { type: 'string', value: 'constant' } })[0];
  }

  expand(x: Value, shape: readonly number[]): Value {
    const out = broadcastShapes(x.shape, shape);
    if (!out || !same(out, shape)) this.fail('Expand', `cannot expand ${fmt(x.shape)} to ${fmt(shape)}`);
    if (same(x.shape, shape)) return x;
    return this.emit('Expand', [x, this.constI64(shape)], [{ dtype: x.dtype, shape }])[0];
  }

  /** A float32 zero tensor of `shape`, made at run time (no stored initializer). */
  zeros(shape: readonly number[]): Value {
    const value: AttributeData = { type: 'tensor', value: { name: 'value', dtype: 'float32', dims: [1], raw: asBytes(new Float32Array(1)) } };
    return this.emit('ConstantOfShape', [this.constI64(shape)], [{ dtype: 'float32', shape }], { value })[0];
  }

  gather(x: Value, indices: Value, axis = 0): Value {
    if (indices.dtype !== 'int64') this.fail('Gather', 'indices must be int64');
    const a = this.axis('Gather', x, axis);
    const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
    return this.emit('Gather', [x, indices], [{ dtype: x.dtype, shape }], { axis: ai(a) })[0];
  }

  gatherElements(x: Value, indices: Value, axis: number): Value {
    if (indices.dtype !== 'int64') this.fail('GatherElements', 'indices must be int64');
    const a = this.axis('GatherElements', x, axis);
    if (indices.shape.length !== x.shape.length || indices.shape.some((d, i) => i !== a && d > x.shape[i])) {
      this.fail('GatherElements', `indices ${fmt(indices.shape)} incompatible with data ${fmt(x.shape)} on axis ${a}`);
    }
    return this.emit('GatherElements', [x, indices], [{ dtype: x.dtype, shape: indices.shape }], { axis: ai(a) })[0];
  }

  scatterElements(data: Value, indices: Value, updates: Value, axis: number, reduction: 'none' | 'add' = 'none'): Value {
    const a = this.axis('ScatterElements', data, axis);
    if (!same(indices.shape, updates.shape)) this.fail('ScatterElements', `indices ${fmt(indices.shape)} and updates ${fmt(updates.shape)} differ`);
    return this.emit('ScatterElements', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], { axis: ai(a), reduction: { type: 'string', value: reduction } })[0];
  }

  scatterND(data: Value, indices: Value, updates: Value, reduction: 'none' | 'add' = 'none'): Value {
    const q = indices.shape.length;
    const k = indices.shape[q - 1];
    const expect = [...indices.shape.slice(0, q - 1), ...data.shape.slice(k)];
    if (!same(updates.shape, expect)) this.fail('ScatterND', `updates must be ${fmt(expect)}, got ${fmt(updates.shape)}`);
    return this.emit('ScatterND', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], { reduction: { type: 'string', value: reduction } })[0];
  }

  // ---- export ---------------------------------------------------------------------------------------------------

  /**
   * The ONNX model. paramsAs 'inputs' makes every parameter a graph input (fed each run, the training layout);
   * 'initializers' bakes `weights` in (inference export). Parameters no node uses are left out. `nchwcBlock` (the
   * MLAS block size probed by runtime/nchwc.ts; CPU only) lowers eligible Convs to onnxruntime's NCHWc kernels.
   */
  toModel(opts: SerializeOptions): ModelProtoData {
    const used = new Set<string>();
    for (const n of this.nodes) for (const i of n.inputs) used.add(i);
    for (const o of this.outputs) used.add(o.name);
    const vi = (v: Value) => ({ name: v.name, dtype: v.dtype, dims: v.shape });
    const initializers: TensorProtoData[] = [];
    for (const { value, data } of this.constants.values()) {
      if (used.has(value.name)) initializers.push({ name: value.name, dtype: value.dtype, dims: value.shape, raw: asBytes(data) });
    }
    const inputs = [];
    for (const [name, { value }] of this.params) {
      if (!used.has(name)) continue;
      if (opts.paramsAs === 'inputs') {
        inputs.push(vi(value));
        continue;
      }
      const w = opts.weights?.get(name);
      if (!w) throw new GraphError('E_MISSING_WEIGHT', `no weight given for parameter "${name}"`);
      if (!same(w.shape, value.shape)) throw new GraphError('E_WEIGHT_SHAPE', `weight "${name}" has shape ${fmt(w.shape)}, graph expects ${fmt(value.shape)}`);
      initializers.push({ name, dtype: 'float32', dims: value.shape, raw: asBytes(w.data) });
    }
    inputs.push(...this.inputs.map(vi));
    const nodes: NodeProtoData[] = this.nodes.map((n) => ({ name: n.name, opType: n.op, inputs: n.inputs, outputs: n.outputs, attributes: n.attrs }));
    const model: ModelProtoData = { opset: OPSET, graph: { name: this.name, nodes, initializers, inputs, outputs: this.outputs.map(vi) } };
    if (!opts.nchwcBlock || opts.nchwcBlock < 2) return model;
    const isConstant = (name: string): boolean => this.constants.has(name) || (opts.paramsAs === 'initializers' && this.params.has(name));
    return lowerConvsToNchwc(model, { shapeOf: (name) => this.value(name).shape, isConstant }, opts.nchwcBlock);
  }

  serialize(opts: SerializeOptions): Uint8Array {
    return encodeModel(this.toModel(opts));
  }

  /** Integer contents of a constant int64 value (for rules that read axes/shapes). */
  constInts(v: Value | string): number[] {
    const name = typeof v === 'string' ? v : v.name;
    const c = this.constants.get(name);
    if (!c || !(c.data instanceof BigInt64Array)) throw new GraphError('E_NOT_CONST', `"${name}" is not an int64 constant`);
    return Array.from(c.data, Number);
  }

  /** The parameters and state tensors in creation order (the canonical NamedWeights order). */
  paramList(): ParamInfo[] {
    return [...this.params.values()];
  }

  /** The trainable parameters (what backward() differentiates and the optimiser updates), in creation order. */
  trainableParams(): Value[] {
    return [...this.params.values()].filter((p) => p.trainable).map((p) => p.value);
  }
}
