/**
 * VJP rules for convolution and pooling (NCHW, any number of spatial dims for Conv/ConvTranspose).
 * s = strides, p = pads, d = dilations, ḡ = dL/dY.
 *
 * | op            | dL/dX                                           | dL/dW                                                     | dL/dB        |
 * |---------------|-------------------------------------------------|-----------------------------------------------------------|--------------|
 * | Conv          | ConvTranspose(ḡ, W; s, p, d, output_padding);   |
 * |               | stride 1: Conv(ḡ, flip(Wᵀ); pads k−1−p)         | Conv(Xᵀ, ḡᵀ; stride d, dilation s, pads p), cropped, ᵀ    | Σ ḡ over N,HW|
 * | ConvTranspose | Conv(ḡ, W; s, p, d)                             | Conv(ḡᵀ, Xᵀ; stride d, dilation s, pads p), cropped, ᵀ    | Σ ḡ over N,HW|
 * | MaxPool       | scatter-add ḡ at the argmax Indices             |                                                           |              |
 * | AveragePool   | ConvTranspose(ḡ, 1/|k| per channel; s, p)       |                                                           |              |
 * | GlobalAvgPool | broadcast ḡ / (H·W)                             |                                                           |              |
 *
 * (ᵀ here swaps the batch and channel axes, so the batch becomes the contraction axis of the weight gradient.)
 * For 2-D Conv the weight gradient is by default one GEMM per kernel tap on a channels-last X (weightGradTaps), and
 * the stride-1 adjoint kernel flip(Wᵀ) is built with a small exchange-matrix GEMM (flippedKernel).
 */
import type { GraphBuilder, Value } from '../../graph/builder.js';
import { numel } from '../../tensor.js';
import { attrInt, attrInts, g0, type VjpRule } from '../vjp.js';

const swap01 = (r: number): number[] => [1, 0, ...[...Array(r - 2).keys()].map((i) => i + 2)];

/**
 * Correlate `inp` (treated as [C_a, N, ...]) with `ker` ([C_b, N, ...]) for a weight gradient:
 * returns [C_b, C_a, k...] cropped to `kernel`.
 */
function weightGrad(b: GraphBuilder, inp: Value, ker: Value, kernel: readonly number[], s: number[], p: number[], d: number[]): Value {
  const r = inp.shape.length;
  const it = b.transpose(inp, swap01(r));
  const kt = b.transpose(ker, swap01(r));
  let out = b.conv(it, kt, undefined, { strides: d, dilations: s, pads: p }); // [C_a, C_b, k'...]
  const sd = r - 2;
  if (out.shape.slice(2).some((k, i) => k !== kernel[i])) {
    out = b.slice(out, Array(sd).fill(0), kernel, [...Array(sd).keys()].map((i) => i + 2));
  }
  return b.transpose(out, swap01(r)); // [C_b, C_a, k...]
}

/**
 * 2-D Conv weight gradient as one GEMM per kernel tap over K = (batch, output pixel), with each tap's patch matrix
 * cut by a Slice from a channels-last copy of X (so every copied run is a contiguous block of C floats):
 *   Xs = X as [N, H, W, C] (padded),  tap(i, j) = Xs[:, i·d + s·ho, j·d + s·wo, :] → [K, C],
 *   Gs = ḡ as [M, N, Ho, Wo] → [M, K],  dW[:, :, i, j] = Gs · tap(i, j) → [M, C].
 * Both layout changes move a single axis (onnxruntime's fast transpose path); the [M, k², C] result is reordered
 * to [M, C, kh, kw] at weight size. Measured faster than an unfold (im2col) formulation on the reference CNN (docs/BENCHMARKS.md).
 */
function weightGradTaps(b: GraphBuilder, X: Value, g: Value, kernel: readonly number[], s: number[], p: number[], d: number[]): Value {
  const [n, c] = X.shape;
  const [kh, kw] = kernel;
  const [m, ho, wo] = [g.shape[1], g.shape[2], g.shape[3]];
  const k = n * ho * wo;
  let xs = b.transpose(X, [0, 2, 3, 1]); // [N, H, W, C]
  if (p.some((q) => q !== 0)) xs = b.pad(xs, [0, p[0], p[1], 0, 0, p[2], p[3], 0]);
  const gs = b.reshape(b.transpose(g, [1, 0, 2, 3]), [m, k]); // [M, N·Ho·Wo]
  const perTap: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [y0, x0] = [i * d[0], j * d[1]];
      const tap = b.slice(xs, [y0, x0], [y0 + s[0] * (ho - 1) + 1, x0 + s[1] * (wo - 1) + 1], [1, 2], s); // [N, Ho, Wo, C]
      perTap.push(b.matmul(gs, b.reshape(tap, [k, c]))); // [M, C]
    }
  }
  if (perTap.length === 1) return b.reshape(perTap[0], [m, c, 1, 1]);
  const dw = b.reshape(b.concat(perTap, 1), [m, kh * kw, c]); // tap-major
  return b.reshape(b.transpose(dw, [0, 2, 1]), [m, c, kh, kw]);
}

/** W [M, C, k...] → [C, M, k...] reversed along every spatial axis (the adjoint kernel of a stride-1 conv). */
function flippedKernel(b: GraphBuilder, w: Value): Value {
  const [m, c, ...k] = w.shape;
  const kk = numel(k);
  // Reverse the kk taps with one small GEMM against the exchange matrix J (J[i][kk−1−i] = 1), then swap M and C:
  // much cheaper in onnxruntime than per-axis Gathers, which copy one float at a time.
  const j = new Float32Array(kk * kk);
  for (let i = 0; i < kk; i++) j[i * kk + (kk - 1 - i)] = 1;
  const flipped = b.matmul(b.reshape(w, [m * c, kk]), b.constF32(j, [kk, kk]));
  return b.reshape(b.transpose(b.reshape(flipped, [m, c, kk]), [1, 0, 2]), [c, m, ...k]);
}

function convParams(node: Parameters<VjpRule>[0]['node'], sd: number) {
  return {
    s: attrInts(node, 'strides', Array(sd).fill(1)),
    p: attrInts(node, 'pads', Array(2 * sd).fill(0)),
    d: attrInts(node, 'dilations', Array(sd).fill(1)),
    group: attrInt(node, 'group', 1),
  };
}

const biasGrad = (b: GraphBuilder, g: Value): Value => b.reduceSum(g, [0, ...[...Array(g.shape.length - 2).keys()].map((i) => i + 2)], false);

export const convPoolRules: Record<string, VjpRule> = {
  Conv: (a) => {
    const { b, x: [X, W, B], needs, node } = a;
    const g = g0(a);
    const sd = X!.shape.length - 2;
    const { s, p, d, group } = convParams(node, sd);
    let dX, dW;
    const k = W!.shape.slice(2);
    const adjointPads = [...k.map((kk, i) => kk - 1 - p[i]), ...k.map((kk, i) => kk - 1 - p[i + sd])];
    if (needs[0] && s.every((v) => v === 1) && d.every((v) => v === 1) && group === 1 && adjointPads.every((q) => q >= 0)) {
      // Stride 1: dX is a plain convolution of ḡ with the flipped, channel-swapped kernel (faster than ConvTranspose).
      dX = b.conv(g, flippedKernel(b, W!), undefined, { pads: adjointPads });
    } else if (needs[0]) {
      const outputPadding = X!.shape.slice(2).map((h, i) => h - (s[i] * (g.shape[2 + i] - 1) + (W!.shape[2 + i] - 1) * d[i] + 1 - p[i] - p[i + sd]));
      dX = b.convTranspose(g, W!, undefined, { strides: s, pads: p, dilations: d, group, outputPadding });
    }
    if (needs[1]) {
      if (group !== 1) throw new Error(`Conv VJP: weight gradient for group=${group} is not supported`);
      // 2-D: one GEMM per kernel tap (the fastest formulation measured, docs/BENCHMARKS.md); else the general correlation.
      const k2 = W!.shape.slice(2);
      dW = sd === 2 ? weightGradTaps(b, X!, g, k2, s, p, d) : weightGrad(b, X!, g, k2, s, p, d);
    }
    return [dX, dW, needs[2] && B ? biasGrad(b, g) : undefined];
  },
  ConvTranspose: (a) => {
    const { b, x: [X, W, B], needs, node } = a;
    const g = g0(a);
    const sd = X!.shape.length - 2;
    const { s, p, d, group } = convParams(node, sd);
    const dX = needs[0] ? b.conv(g, W!, undefined, { strides: s, pads: p, dilations: d, group }) : undefined;
    let dW;
    if (needs[1]) {
      if (group !== 1) throw new Error(`ConvTranspose VJP: weight gradient for group=${group} is not supported`);
      dW = weightGrad(b, g, X!, W!.shape.slice(2), s, p, d); // [C_in, C_out, k...]
    }
    return [dX, dW, needs[2] && B ? biasGrad(b, g) : undefined];
  },
  MaxPool: (a) => {
    const { b, x: [X], y: [, idx] } = a;
    const g = g0(a);
    const n = numel(X!.shape);
    const flat = b.scatterElements(b.zeros([n]), b.reshape(idx, [-1]), b.reshape(g, [-1]), 0, 'add');
    return [b.reshape(flat, X!.shape)];
  },
  AveragePool: (a) => {
    const { b, x: [X], node } = a;
    const g = g0(a);
    const k = attrInts(node, 'kernel_shape', []);
    const sd = k.length;
    const s = attrInts(node, 'strides', k);
    const p = attrInts(node, 'pads', Array(2 * sd).fill(0));
    const c = X!.shape[1];
    const kk = numel(k);
    const w = b.constF32(new Float32Array(c * kk).fill(1 / kk), [c, 1, ...k]);
    const outputPadding = X!.shape.slice(2).map((h, i) => h - (s[i] * (g.shape[2 + i] - 1) + k[i] - p[i] - p[i + sd]));
    return [b.convTranspose(g, w, undefined, { strides: s, pads: p, group: c, outputPadding })];
  },
  GlobalAveragePool: (a) => {
    const { b, x: [X] } = a;
    const area = numel(X!.shape.slice(2));
    return [b.expand(b.mul(g0(a), b.scalar(1 / area)), X!.shape)];
  },
};
