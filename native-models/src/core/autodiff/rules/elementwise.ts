/**
 * VJP rules for elementwise and activation ops. y = f(x), ḡ = dL/dy.
 *
 * | op          | dL/dx                                   |
 * |-------------|-----------------------------------------|
 * | Add a+b     | ḡ , ḡ            (summed to each shape)  |
 * | Sub a−b     | ḡ , −ḡ                                  |
 * | Mul a·b     | ḡ·b , ḡ·a                               |
 * | Mul x·σ(x)  | ḡ·(σ + y·(1−σ)) to x   (SiLU, fused)    |
 * | Div a/b     | ḡ/b , −ḡ·y/b                            |
 * | Pow a^p     | ḡ·p·a^(p−1) , ḡ·y·ln a                   |
 * | Sum Σxᵢ     | ḡ for each                              |
 * | Neg         | −ḡ                                      |
 * | Relu        | ḡ·[y > 0]  (Greater+Cast, not Sign)     |
 * | Sigmoid     | ḡ·y·(1−y)                               |
 * | Tanh        | ḡ·(1−y²)                                |
 * | Exp         | ḡ·y                                     |
 * | Log         | ḡ/x                                     |
 * | Sqrt        | ḡ/(2y)                                  |
 * | Erf         | ḡ·(2/√π)·exp(−x²)                       |
 * | Sin / Cos   | ḡ·cos x / −ḡ·sin x                      |
 * | Abs         | ḡ·sign(x)                               |
 * | Reciprocal  | −ḡ·y²                                   |
 * | Softmax     | y·(ḡ − Σ ḡ·y)          (along axis)     |
 * | LogSoftmax  | ḡ − exp(y)·Σ ḡ         (along axis)     |
 * | Where c?a:b | c?ḡ:0 , c?0:ḡ                           |
 * | Identity    | ḡ                                       |
 * | Cast        | ḡ (float → float only)                  |
 */
import type { Value } from '../../graph/builder.js';
import { attrInt, g0, sumToShape, type VjpArgs, type VjpRule } from '../vjp.js';

const need = (v: Value | undefined, on: boolean): v is Value => on && v !== undefined;

/** For Mul(x, Sigmoid(x)) (either order, same shapes): which operand is x. */
function siluOperands(a: VjpArgs): { s: Value; xIndex: number } | undefined {
  const [p, q] = a.x;
  if (!p || !q || p.shape.length !== q.shape.length || p.shape.some((d, i) => d !== q.shape[i])) return undefined;
  for (const [x, s, xIndex] of [[p, q, 0], [q, p, 1]] as const) {
    const k = a.b.producer.get(s.name);
    const n = k === undefined ? undefined : a.b.nodes[k];
    if (n && n.op === 'Sigmoid' && n.inputs[0] === x.name && a.needs[xIndex]) return { s, xIndex };
  }
  return undefined;
}

export const elementwiseRules: Record<string, VjpRule> = {
  Add: (a) => {
    const { b, x: [p, q], needs } = a;
    const g = g0(a);
    return [need(p, needs[0]) ? sumToShape(b, g, p.shape) : undefined, need(q, needs[1]) ? sumToShape(b, g, q.shape) : undefined];
  },
  Sub: (a) => {
    const { b, x: [p, q], needs } = a;
    const g = g0(a);
    return [need(p, needs[0]) ? sumToShape(b, g, p.shape) : undefined, need(q, needs[1]) ? sumToShape(b, b.neg(g), q.shape) : undefined];
  },
  Mul: (a) => {
    const { b, x: [p, q], needs } = a;
    const g = g0(a);
    const silu = siluOperands(a);
    if (silu) {
      // y = x·σ(x) (SiLU): the whole derivative goes to x in one go, σ(x) + y·(1 − σ(x)); σ's node gets nothing
      // from here, which is exact because its share is already inside this term.
      const { s, xIndex } = silu;
      const gx = b.mul(g, b.add(s, b.mul(a.y[0], b.sub(b.scalar(1), s))));
      return xIndex === 0 ? [gx, undefined] : [undefined, gx];
    }
    return [need(p, needs[0]) ? sumToShape(b, b.mul(g, q!), p.shape) : undefined, need(q, needs[1]) ? sumToShape(b, b.mul(g, p!), q.shape) : undefined];
  },
  Div: (a) => {
    const { b, x: [p, q], y: [y], needs } = a;
    const g = g0(a);
    return [
      need(p, needs[0]) ? sumToShape(b, b.div(g, q!), p.shape) : undefined,
      need(q, needs[1]) ? sumToShape(b, b.neg(b.div(b.mul(g, y), q)), q.shape) : undefined,
    ];
  },
  Pow: (a) => {
    const { b, x: [p, e], y: [y], needs } = a;
    const g = g0(a);
    return [
      need(p, needs[0]) ? sumToShape(b, b.mul(b.mul(g, e!), b.pow(p, b.sub(e!, b.scalar(1)))), p.shape) : undefined,
      need(e, needs[1]) ? sumToShape(b, b.mul(b.mul(g, y), b.log(p!)), e.shape) : undefined,
    ];
  },
  Sum: (a) => a.x.map((v, i) => (need(v, a.needs[i]) ? sumToShape(a.b, g0(a), v.shape) : undefined)),
  Neg: (a) => [a.b.neg(g0(a))],
  Identity: (a) => [g0(a)],
  Cast: (a) => [a.x[0]!.dtype === 'float32' && a.y[0].dtype === 'float32' ? g0(a) : undefined],
  Relu: (a) => [a.b.mul(g0(a), a.b.cast(a.b.greater(a.y[0], a.b.scalar(0)), 'float32'))],
  Sigmoid: (a) => {
    const { b, y: [y] } = a;
    return [b.mul(g0(a), b.mul(y, b.sub(b.scalar(1), y)))];
  },
  Tanh: (a) => {
    const { b, y: [y] } = a;
    return [b.mul(g0(a), b.sub(b.scalar(1), b.mul(y, y)))];
  },
  Exp: (a) => [a.b.mul(g0(a), a.y[0])],
  Log: (a) => [a.b.div(g0(a), a.x[0]!)],
  Sqrt: (a) => [a.b.div(g0(a), a.b.mul(a.y[0], a.b.scalar(2)))],
  Erf: (a) => {
    const { b, x: [x] } = a;
    const dens = b.exp(b.neg(b.mul(x!, x!)));
    return [b.mul(g0(a), b.mul(dens, b.scalar(2 / Math.sqrt(Math.PI))))];
  },
  Sin: (a) => [a.b.mul(g0(a), a.b.cos(a.x[0]!))],
  Cos: (a) => [a.b.neg(a.b.mul(g0(a), a.b.sin(a.x[0]!)))],
  Abs: (a) => [a.b.mul(g0(a), a.b.sign(a.x[0]!))],
  Reciprocal: (a) => [a.b.neg(a.b.mul(g0(a), a.b.mul(a.y[0], a.y[0])))],
  Softmax: (a) => {
    const { b, y: [y], node } = a;
    const g = g0(a);
    const axis = attrInt(node, 'axis', -1);
    return [b.mul(y, b.sub(g, b.reduceSum(b.mul(g, y), [axis], true)))];
  },
  LogSoftmax: (a) => {
    const { b, y: [y], node } = a;
    const g = g0(a);
    const axis = attrInt(node, 'axis', -1);
    return [b.sub(g, b.mul(b.exp(y), b.reduceSum(g, [axis], true)))];
  },
  Where: (a) => {
    const { b, x: [c, p, q], needs } = a;
    const g = g0(a);
    const zero = b.scalar(0);
    return [
      undefined,
      need(p, needs[1]) ? sumToShape(b, b.where(c!, g, zero), p.shape) : undefined,
      need(q, needs[2]) ? sumToShape(b, b.where(c!, zero, g), q.shape) : undefined,
    ];
  },
};
