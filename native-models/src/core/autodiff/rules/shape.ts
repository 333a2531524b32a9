/**
 * VJP rules for reductions and data movement. ḡ = dL/dY.
 *
 * | op             | dL/dX                                                           |
 * |----------------|-----------------------------------------------------------------|
 * | ReduceSum      | broadcast ḡ back over the reduced axes                          |
 * | ReduceMean     | broadcast ḡ / (reduced count)                                   |
 * | Reshape/Flatten| reshape ḡ to X's shape                                          |
 * | Transpose perm | transpose ḡ by perm⁻¹                                           |
 * | Expand         | sum ḡ back to X's shape                                         |
 * | Concat         | split ḡ along the axis                                          |
 * | Split          | concat the pieces' gradients (zeros where a piece has none)     |
 * | Slice (step 1) | pad ḡ with zeros back to X's shape                              |
 * | Pad (constant) | slice the unpadded window out of ḡ                              |
 * | Gather axis a  | scatter-add ḡ into zeros at the indices (ScatterND, axis moved first) |
 * | GatherElements | scatter-add ḡ into zeros at the indices (ScatterElements)       |
 */
import { numel } from '../../tensor.js';
import { attrInt, attrInts, g0, invPerm, sumToShape, type VjpRule } from '../vjp.js';

export const shapeRules: Record<string, VjpRule> = {
  ReduceSum: (a) => {
    const { b, x: [X, axesV] } = a;
    const axes = b.constInts(axesV!).map((q) => (q < 0 ? q + X!.shape.length : q));
    const keep = X!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.expand(b.reshape(g0(a), keep), X!.shape), undefined];
  },
  ReduceMean: (a) => {
    const { b, x: [X], node } = a;
    const axes = attrInts(node, 'axes', []).map((q) => (q < 0 ? q + X!.shape.length : q));
    const keep = X!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = numel(X!.shape) / numel(keep);
    return [b.expand(b.mul(b.reshape(g0(a), keep), b.scalar(1 / count)), X!.shape)];
  },
  Reshape: (a) => [a.b.reshape(g0(a), a.x[0]!.shape), undefined],
  Flatten: (a) => [a.b.reshape(g0(a), a.x[0]!.shape)],
  Transpose: (a) => [a.b.transpose(g0(a), invPerm(attrInts(a.node, 'perm', [])))],
  Expand: (a) => [sumToShape(a.b, g0(a), a.x[0]!.shape), undefined],
  Concat: (a) => {
    const { b, x, needs, node } = a;
    const axis = attrInt(node, 'axis', 0);
    const parts = b.split(g0(a), x.map((v) => v!.shape[axis]), axis);
    return parts.map((p, i) => (needs[i] ? p : undefined));
  },
  Split: (a) => {
    const { b, y, gy, node } = a;
    const axis = attrInt(node, 'axis', 0);
    return [b.concat(y.map((v, i) => gy[i] ?? b.zeros(v.shape)), axis), undefined];
  },
  Slice: (a) => {
    const { b, x: [X, st, en, ax, steps] } = a;
    if (steps && b.constInts(steps).some((q) => q !== 1)) throw new Error('Slice VJP supports step 1 only');
    const r = X!.shape.length;
    const pads = Array(2 * r).fill(0);
    const starts = b.constInts(st!);
    const ends = b.constInts(en!);
    b.constInts(ax!).forEach((axis, i) => {
      const d = X!.shape[axis];
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      pads[axis] = clamp(starts[i]);
      pads[axis + r] = d - clamp(ends[i]);
    });
    return [b.pad(g0(a), pads)];
  },
  Pad: (a) => {
    const { b, x: [X, padsV] } = a;
    const r = X!.shape.length;
    const pads = b.constInts(padsV!);
    if (pads.some((q) => q < 0)) throw new Error('Pad VJP supports non-negative pads only');
    const axes = [...Array(r).keys()];
    return [b.slice(g0(a), axes.map((i) => pads[i]), axes.map((i) => pads[i] + X!.shape[i]), axes)];
  },
  Gather: (a) => {
    const { b, x: [X, idx], node } = a;
    const g = g0(a);
    const r = X!.shape.length;
    const ax = attrInt(node, 'axis', 0);
    const q = idx!.shape.length;
    // Move the index dims to the front: g is X[:ax] + I + X[ax+1:] → I + X[:ax] + X[ax+1:].
    const front = [...Array(q).keys()].map((i) => i + ax);
    const perm = [...front, ...Array.from({ length: ax }, (_, i) => i), ...Array.from({ length: r - ax - 1 }, (_, i) => ax + q + i)];
    const gt = ax === 0 ? g : b.transpose(g, perm);
    const dataT = [X!.shape[ax], ...X!.shape.slice(0, ax), ...X!.shape.slice(ax + 1)];
    const scattered = b.scatterND(b.zeros(dataT), b.reshape(idx!, [...idx!.shape, 1]), gt, 'add');
    if (ax === 0) return [scattered, undefined];
    const back = [...Array.from({ length: ax }, (_, i) => i + 1), 0, ...Array.from({ length: r - ax - 1 }, (_, i) => ax + 1 + i)];
    return [b.transpose(scattered, back), undefined];
  },
  GatherElements: (a) => {
    const { b, x: [X, idx], node } = a;
    return [b.scatterElements(b.zeros(X!.shape), idx!, g0(a), attrInt(node, 'axis', 0), 'add'), undefined];
  },
};
