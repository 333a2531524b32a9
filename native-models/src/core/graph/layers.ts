/**
 * Layers as plain functions over the builder. Each creates its parameters inside a named scope, so a layer called as
 * conv2d(b, x, 'conv1', ...) inside scope 'body.block1' owns "body.block1.conv1.weight" and ".bias".
 * Conventions: images NCHW; linear weights are [in, out] (so token matmuls need no transpose).
 */
import type { GraphBuilder, Value } from './builder.js';

export interface Conv2dOpts {
  stride?: number;
  pad?: number;
  bias?: boolean;
}

export function conv2d(b: GraphBuilder, x: Value, name: string, outC: number, k: number, o: Conv2dOpts = {}): Value {
  return b.scope(name, () => {
    const inC = x.shape[1];
    const w = b.param('weight', [outC, inC, k, k], { kind: 'he', fanIn: inC * k * k });
    const bias = o.bias === false ? undefined : b.param('bias', [outC], { kind: 'zeros' });
    const p = o.pad ?? Math.floor(k / 2);
    const s = o.stride ?? 1;
    return b.conv(x, w, bias, { strides: [s, s], pads: [p, p, p, p] });
  });
}

/** Transposed conv for ×stride up-sampling (weight [inC, outC, k, k]). */
export function convTranspose2d(b: GraphBuilder, x: Value, name: string, outC: number, k: number, stride: number, pad: number): Value {
  return b.scope(name, () => {
    const inC = x.shape[1];
    const w = b.param('weight', [inC, outC, k, k], { kind: 'he', fanIn: (inC * k * k) / (stride * stride) });
    const bias = b.param('bias', [outC], { kind: 'zeros' });
    return b.convTranspose(x, w, bias, { strides: [stride, stride], pads: [pad, pad, pad, pad] });
  });
}

/** y = x·W + b over the last axis; x is [N, in] (one Gemm) or [..., in] (MatMul + Add). */
export function linear(b: GraphBuilder, x: Value, name: string, out: number, o: { bias?: boolean; init?: 'xavier' | 'he' | 'zeros' } = {}): Value {
  return b.scope(name, () => {
    const inF = x.shape[x.shape.length - 1];
    const init = o.init === 'he' ? { kind: 'he' as const, fanIn: inF } : o.init === 'zeros' ? { kind: 'zeros' as const } : { kind: 'xavier' as const, fanIn: inF, fanOut: out };
    const w = b.param('weight', [inF, out], init);
    const bias = o.bias === false ? undefined : b.param('bias', [out], { kind: 'zeros' });
    if (x.shape.length === 2) return b.gemm(x, w, bias);
    const y = b.matmul(x, w);
    return bias ? b.add(y, bias) : y;
  });
}

export function layerNorm(b: GraphBuilder, x: Value, name: string, eps = 1e-5): Value {
  return b.scope(name, () => {
    const d = x.shape[x.shape.length - 1];
    return b.layerNormalization(x, b.param('weight', [d], { kind: 'ones' }), b.param('bias', [d], { kind: 'zeros' }), -1, eps);
  });
}

/**
 * GroupNorm over [N, C, spatial...], as one composite op 'GroupNorm' for the autodiff (its fused VJP is in
 * autodiff/rules/norm.ts). onnxruntime runs: reshape to [N, G, C/G·spatial] → LayerNormalization (no affine; its
 * InvStdDev output is kept for the gradient) → reshape back to x̂ → per-channel affine γ·x̂ + β as one
 * BatchNormalization (mean 0, var 1, ε 0: one pass, where Mul + Add took two).
 * Composite outputs: [y, x̂, σ⁻¹ [N, G, 1]].
 */
export function groupNorm(b: GraphBuilder, x: Value, name: string, groups: number, eps = 1e-5): Value {
  return b.scope(name, () => {
    const [n, c] = x.shape;
    if (x.shape.length < 2) b.fail('GroupNorm', `expects [N, C, spatial...], got [${x.shape.join(', ')}]`);
    if (c % groups !== 0) b.fail('GroupNorm', `channels ${c} not divisible by ${groups} groups`);
    const per = (c / groups) * x.shape.slice(2).reduce((p, q) => p * q, 1);
    const gamma = b.param('weight', [c], { kind: 'ones' });
    const beta = b.param('bias', [c], { kind: 'zeros' });
    const ones = (k: number): Value => b.constF32(new Float32Array(k).fill(1), [k]);
    return b.composite('GroupNorm', [x, gamma, beta], { groups: { type: 'int', value: groups } }, () => {
      const normed = b.layerNormalization(b.reshape(x, [n, groups, per]), ones(per), undefined, -1, eps);
      const invStd = b.value(b.nodes[b.producer.get(normed.name)!].outputs[2]);
      const xhat = b.reshape(normed, x.shape);
      const y = b.batchNormalization(xhat, gamma, beta, b.constF32(new Float32Array(c), [c]), ones(c), 0);
      return [y, xhat, invStd];
    })[0];
  });
}

/** A state tensor's new value, produced by a training graph (see GraphBuilder.state and stateName). */
export interface StateUpdate {
  name: string;
  value: Value;
}

export interface BatchNormMode {
  /**
   * true (training graph): normalise with the batch's statistics over (N, spatial) and append the running
   * statistics' new values to `updates`; false (inference, attacks, evaluation): normalise with the running statistics.
   */
  training: boolean;
  /** Where training mode appends the new `running_mean` / `running_var` (required when training). */
  updates?: StateUpdate[];
  /** Running-statistics momentum, PyTorch's convention: new = (1 − m)·old + m·batch (default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * BatchNorm over [N, C, spatial...] (Ioffe & Szegedy 2015) with PyTorch's semantics: trainable `weight` γ and `bias`
 * β, and the non-trainable state `running_mean` and `running_var` (GraphBuilder.state: fed, saved and exported like
 * weights; never differentiated or decayed).
 *
 * Training mode is the composite op 'BatchNorm' (fused VJP in autodiff/rules/norm.ts): μ = mean over (N, spatial),
 * σ² = the biased variance (two-pass: mean of (x − μ)²), y = one inference-form BatchNormalization of x with (μ, σ²).
 * Composite outputs: [y, μ [C], σ² [C]]. Outside it, running_mean ← (1 − m)·running_mean + m·μ and
 * running_var ← (1 − m)·running_var + m·σ²·k/(k − 1) (unbiased, k = N·spatial values per channel) are appended
 * to `mode.updates`. Evaluation mode is one BatchNormalization with the running statistics, so the inference
 * export bakes them in as initializers.
 */
export function batchNorm(b: GraphBuilder, x: Value, name: string, mode: BatchNormMode): Value {
  return b.scope(name, () => {
    if (x.shape.length < 2) b.fail('BatchNorm', `expects [N, C, spatial...], got [${x.shape.join(', ')}]`);
    const c = x.shape[1];
    const eps = mode.eps ?? 1e-5;
    const momentum = mode.momentum ?? 0.1;
    const gamma = b.param('weight', [c], { kind: 'ones' });
    const beta = b.param('bias', [c], { kind: 'zeros' });
    const runMean = b.state('running_mean', [c], { kind: 'zeros' });
    const runVar = b.state('running_var', [c], { kind: 'ones' });
    if (!mode.training) return b.batchNormalization(x, gamma, beta, runMean, runVar, eps);
    if (!mode.updates) b.fail('BatchNorm', 'training mode needs an updates list for the running statistics');
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const k = x.shape[0] * x.shape.slice(2).reduce((p, q) => p * q, 1);
    if (k < 2) b.fail('BatchNorm', `training mode needs at least 2 values per channel, got ${k}`);
    const bc = [1, c, ...x.shape.slice(2).map(() => 1)];
    const [y, mean, variance] = b.composite('BatchNorm', [x, gamma, beta], { epsilon: { type: 'float', value: eps } }, () => {
      const mu = b.reduceMean(x, axes, false);
      const d = b.sub(x, b.reshape(mu, bc));
      const v = b.reduceMean(b.mul(d, d), axes, false);
      return [b.batchNormalization(x, gamma, beta, mu, v, eps), mu, v];
    });
    const keep = b.scalar(1 - momentum);
    mode.updates.push({ name: runMean.name, value: b.add(b.mul(runMean, keep), b.mul(mean, b.scalar(momentum))) });
    mode.updates.push({ name: runVar.name, value: b.add(b.mul(runVar, keep), b.mul(variance, b.scalar((momentum * k) / (k - 1)))) });
    return y;
  });
}

export const silu = (b: GraphBuilder, x: Value): Value => b.mul(x, b.sigmoid(x));

/** GELU, erf form: x·½(1 + erf(x/√2)). */
export const gelu = (b: GraphBuilder, x: Value): Value =>
  b.mul(b.mul(x, b.scalar(0.5)), b.add(b.scalar(1), b.erf(b.mul(x, b.scalar(Math.SQRT1_2)))));

/** Multi-head self-attention over tokens x [N, T, D]. */
export function selfAttention(b: GraphBuilder, x: Value, name: string, heads: number): Value {
  return b.scope(name, () => {
    const [n, t, d] = x.shape;
    if (d % heads !== 0) b.fail('Attention', `width ${d} not divisible by ${heads} heads`);
    const dh = d / heads;
    const split = (v: Value, perm: number[]): Value => b.transpose(b.reshape(v, [n, t, heads, dh]), perm);
    const q = split(linear(b, x, 'q', d), [0, 2, 1, 3]); // [N,H,T,dh]
    const k = split(linear(b, x, 'k', d), [0, 2, 3, 1]); // [N,H,dh,T]
    const v = split(linear(b, x, 'v', d), [0, 2, 1, 3]); // [N,H,T,dh]
    const att = b.softmax(b.mul(b.matmul(q, k), b.scalar(1 / Math.sqrt(dh))), -1);
    const o = b.reshape(b.transpose(b.matmul(att, v), [0, 2, 1, 3]), [n, t, d]);
    return linear(b, o, 'proj', d);
  });
}
