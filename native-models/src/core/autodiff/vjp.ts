/**
 * The shape of a VJP (vector-Jacobian product) rule and the small helpers rules share.
 * A rule receives one forward node, its input/output values and the gradients flowing into its outputs, and
 * returns the gradient for each input (undefined where not needed or not differentiable). Rules build their
 * nodes with the same GraphBuilder ops as the forward pass, so shapes are checked as they are emitted.
 */
import type { AttributeData } from '../onnx/proto.js';
import { GraphError, type GraphBuilder, type Node, type Value } from '../graph/builder.js';

export interface VjpArgs {
  b: GraphBuilder;
  node: Node;
  /** Forward inputs (undefined for omitted optional inputs). */
  x: (Value | undefined)[];
  /** Forward outputs. */
  y: Value[];
  /** dLoss/dOutput for each output; undefined means zero (that output does not reach the loss). */
  gy: (Value | undefined)[];
  /** Which inputs need a gradient. */
  needs: boolean[];
}

export type VjpRule = (a: VjpArgs) => (Value | undefined)[];

export function attrInt(node: Node, name: string, def: number): number {
  const a: AttributeData | undefined = node.attrs[name];
  return a && a.type === 'int' ? a.value : def;
}
export function attrInts(node: Node, name: string, def: readonly number[]): number[] {
  const a = node.attrs[name];
  return a && a.type === 'ints' ? [...a.value] : [...def];
}
export function attrFloat(node: Node, name: string, def: number): number {
  const a = node.attrs[name];
  return a && a.type === 'float' ? a.value : def;
}
export function attrString(node: Node, name: string, def: string): string {
  const a = node.attrs[name];
  return a && a.type === 'string' ? a.value : def;
}

/** The output gradient, or a clear error when a single-output rule is called without one. */
export function g0(a: VjpArgs): Value {
  const g = a.gy[0];
  if (!g) throw new GraphError('E_VJP', `${a.node.op}: no gradient for its output`);
  return g;
}

/** Sum a broadcast gradient back down to `shape` (the inverse of numpy broadcasting). */
export function sumToShape(b: GraphBuilder, g: Value, shape: readonly number[]): Value {
  const gs = g.shape;
  if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
  const lead = gs.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < gs.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && gs[i] !== 1)) axes.push(i);
  }
  return b.reshape(b.reduceSum(g, axes, true), shape);
}

/** Inverse of a permutation. */
export function invPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Swap the last two axes. */
export function transposeLast2(b: GraphBuilder, v: Value): Value {
  const r = v.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return b.transpose(v, perm);
}
