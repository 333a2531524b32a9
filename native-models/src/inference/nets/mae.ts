/**
 * Masked autoencoder (He et al. 2022) on [N, 1, S, S] images: ViT encoder over the kept patches, light ViT decoder
 * over all patches (mask tokens + fixed 2-D sin-cos positions), pixel-space MSE on the masked patches.
 * The random mask is a graph *input* — flat int64 keep indices (n·L + l) and restore indices, plus a float mask —
 * so masks are seeded outside the graph (`sampleMask`), and the detector can average reconstruction error over K
 * seeded masks with the inference graph.
 */
import { GraphBuilder, type Value } from '../../core/graph/builder.js';
import { gelu, layerNorm, linear, selfAttention } from '../../core/graph/layers.js';
import { backward } from '../../core/autodiff/backward.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import type { StepFn } from '../../core/train/types.js';
import type { SessionOptions, TensorI64 } from '../../core/runtime/session.js';
import { GraphRunner, InputError, checkWeights, runStep } from './common.js';
import { initWeights } from './init.js';
import { Rng } from '../../core/rng.js';

export interface MaeConfig {
  size: number;
  patch: number;
  maskRatio: number;
  dim: number;
  depth: number;
  heads: number;
  decoderDim: number;
  decoderDepth: number;
  decoderHeads: number;
  mlpRatio: number;
}

export const MAE_DEFAULT: MaeConfig = { size: 64, patch: 8, maskRatio: 0.75, dim: 128, depth: 4, heads: 4, decoderDim: 64, decoderDepth: 2, decoderHeads: 4, mlpRatio: 4 };

export const patchesOf = (c: MaeConfig): number => (c.size / c.patch) ** 2;
export const keptOf = (c: MaeConfig): number => Math.max(1, Math.round(patchesOf(c) * (1 - c.maskRatio)));

/** Fixed 2-D sin-cos position embedding [L, dim] (as in the MAE paper). */
function sincos2d(grid: number, dim: number): Float32Array {
  const out = new Float32Array(grid * grid * dim);
  const quarter = dim / 4;
  for (let i = 0; i < grid; i++) for (let j = 0; j < grid; j++) {
    const row = (i * grid + j) * dim;
    for (let k = 0; k < quarter; k++) {
      const w = 1 / 10000 ** (k / quarter);
      out[row + k] = Math.sin(j * w);
      out[row + quarter + k] = Math.cos(j * w);
      out[row + 2 * quarter + k] = Math.sin(i * w);
      out[row + 3 * quarter + k] = Math.cos(i * w);
    }
  }
  return out;
}

function block(b: GraphBuilder, x: Value, name: string, heads: number, mlpRatio: number): Value {
  return b.scope(name, () => {
    const d = x.shape[2];
    const h = b.add(x, selfAttention(b, layerNorm(b, x, 'norm1'), 'attn', heads));
    const m = linear(b, gelu(b, linear(b, layerNorm(b, h, 'norm2'), 'fc1', d * mlpRatio)), 'fc2', d);
    return b.add(h, m);
  });
}

/** [N,1,S,S] → [N, L, p²] (row-major patches). */
export function patchify(b: GraphBuilder, c: MaeConfig, x: Value): Value {
  const n = x.shape[0], g = c.size / c.patch, p = c.patch;
  return b.reshape(b.transpose(b.reshape(x, [n, g, p, g, p]), [0, 1, 3, 2, 4]), [n, g * g, p * p]);
}
export function unpatchify(b: GraphBuilder, c: MaeConfig, t: Value): Value {
  const n = t.shape[0], g = c.size / c.patch, p = c.patch;
  return b.reshape(b.transpose(b.reshape(t, [n, g, g, p, p]), [0, 1, 3, 2, 4]), [n, 1, c.size, c.size]);
}

export interface MaeInputs { x: Value; keep: Value; restore: Value }

/** Predicted patches [N, L, p²] for images x and a mask given by keep/restore indices. */
export function maeForward(b: GraphBuilder, c: MaeConfig, { x, keep, restore }: MaeInputs): Value {
  if (c.size % c.patch !== 0) b.fail('MAE', `size ${c.size} not divisible by patch ${c.patch}`);
  const n = x.shape[0], L = patchesOf(c), k = keptOf(c), g = c.size / c.patch;
  const tokens = b.scope('encoder', () => {
    const emb = linear(b, patchify(b, c, x), 'patch_embed', c.dim);
    const pos = b.add(emb, b.constF32(sincos2d(g, c.dim), [L, c.dim]));
    let h = b.reshape(b.gather(b.reshape(pos, [n * L, c.dim]), keep, 0), [n, k, c.dim]);
    for (let i = 0; i < c.depth; i++) h = block(b, h, `blocks.${i}`, c.heads, c.mlpRatio);
    return layerNorm(b, h, 'norm');
  });
  return b.scope('decoder', () => {
    const e = linear(b, tokens, 'embed', c.decoderDim);
    const maskToken = b.param('mask_token', [c.decoderDim], { kind: 'normal', std: 0.02 });
    const filled = b.concat([e, b.expand(maskToken, [n, L - k, c.decoderDim])], 1);
    let h = b.reshape(b.gather(b.reshape(filled, [n * L, c.decoderDim]), restore, 0), [n, L, c.decoderDim]);
    h = b.add(h, b.constF32(sincos2d(g, c.decoderDim), [L, c.decoderDim]));
    for (let i = 0; i < c.decoderDepth; i++) h = block(b, h, `blocks.${i}`, c.decoderHeads, c.mlpRatio);
    return linear(b, layerNorm(b, h, 'norm'), 'pred', c.patch * c.patch);
  });
}

/** Loss = mean over masked patches of the per-patch pixel MSE; `mask` [N, L] is 1 where masked. */
export function maeLoss(b: GraphBuilder, c: MaeConfig, x: Value, pred: Value, mask: Value): Value {
  const d = b.sub(pred, patchify(b, c, x));
  const perPatch = b.reduceMean(b.mul(d, d), [2], false); // [N, L]
  const masked = mask.shape[0] * (patchesOf(c) - keptOf(c));
  return b.mul(b.reduceSum(b.mul(perPatch, mask), [0, 1], false), b.scalar(1 / masked));
}

function declareInputs(b: GraphBuilder, c: MaeConfig, n: number) {
  const L = patchesOf(c), k = keptOf(c);
  return {
    x: b.input('x', [n, 1, c.size, c.size]),
    keep: b.input('keep', [n * k], 'int64'),
    restore: b.input('restore', [n * L], 'int64'),
    mask: b.input('mask', [n, L]),
  };
}

export interface MaeMask { keep: TensorI64; restore: TensorI64; mask: TensorF32 }

/** A seeded random mask per sample, as in MAE: shuffle patches, keep the first (1 − ratio)·L. */
export function sampleMask(c: MaeConfig, n: number, seed: number): MaeMask {
  const rng = new Rng(seed);
  const L = patchesOf(c), k = keptOf(c);
  const keep = new BigInt64Array(n * k), restore = new BigInt64Array(n * L), mask = new Float32Array(n * L);
  for (let s = 0; s < n; s++) {
    const order = [...Array(L).keys()];
    for (let i = L - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    order.forEach((patch, pos) => {
      if (pos < k) keep[s * k + pos] = BigInt(s * L + patch);
      else mask[s * L + patch] = 1;
      restore[s * L + patch] = BigInt(s * L + pos); // where patch's token sits in [kept…, mask tokens…]
    });
  }
  return { keep: { shape: [n * k], data: keep }, restore: { shape: [n * L], data: restore }, mask: { shape: [n, L], data: mask } };
}

function parametersOf(c: MaeConfig): GraphBuilder {
  const b = new GraphBuilder('mae');
  const i = declareInputs(b, c, 1);
  maeForward(b, c, i);
  return b;
}

export function init(c: MaeConfig = MAE_DEFAULT, seed = 0): NamedWeights {
  return initWeights(parametersOf(c).paramList(), seed);
}

/** Inference: inputs x, keep, restore, mask → 'recon' [N,1,S,S] (predicted pixels) and 'mask_image' (1 = masked). */
export function buildInference(c: MaeConfig = MAE_DEFAULT, weights?: NamedWeights, batch = 1): Uint8Array {
  const b = new GraphBuilder('mae_inference');
  const i = declareInputs(b, c, batch);
  b.output(unpatchify(b, c, maeForward(b, c, i)), 'recon');
  const ones = b.constF32(new Float32Array(c.patch * c.patch).fill(1), [c.patch * c.patch]);
  b.output(unpatchify(b, c, b.mul(b.reshape(i.mask, [batch, patchesOf(c), 1]), ones)), 'mask_image');
  if (weights) checkWeights(b, weights);
  return b.serialize(weights ? { paramsAs: 'initializers', weights } : { paramsAs: 'inputs' });
}

export function buildTrainGraph(c: MaeConfig, n: number): GraphBuilder {
  const b = new GraphBuilder('mae_train');
  const i = declareInputs(b, c, n);
  const loss = maeLoss(b, c, i.x, maeForward(b, c, i), i.mask);
  b.output(loss, 'loss');
  backward(b, loss, [...b.params.values()].map((p) => p.value));
  return b;
}

function checkImages(c: MaeConfig, x: TensorF32): number {
  if (x.shape.length !== 4 || x.shape[1] !== 1 || x.shape[2] !== c.size || x.shape[3] !== c.size) throw new InputError(`MAE expects [N, 1, ${c.size}, ${c.size}], got [${x.shape.join(', ')}]`);
  return x.shape[0];
}

/**
 * StepFn: a fresh seeded mask per call — from `batch.seed` when the trainer sets it (exact resume), else from a
 * private counter (seed, seed+1, ...).
 */
export function makeTrainStep(c: MaeConfig = MAE_DEFAULT, opts: SessionOptions & { seed?: number } = {}): StepFn & { release(): Promise<void> } {
  const runner = new GraphRunner(opts);
  let calls = 0;
  const seed = opts.seed ?? 0;
  const step = async (weights: NamedWeights, batch: { x: TensorF32; seed?: number }) => {
    const n = checkImages(c, batch.x);
    const g = await runner.get(`train:${n}`, () => buildTrainGraph(c, n));
    const m = sampleMask(c, n, batch.seed ?? seed * 1_000_003 + calls++);
    return (await runStep(g, weights, { x: batch.x, keep: m.keep, restore: m.restore, mask: m.mask })).result;
  };
  return Object.assign(step, { release: () => runner.release() });
}

/** dL/dx of the masked-patch MSE for a given mask (for adaptive attacks on the detector). */
export function makeInputGradient(c: MaeConfig = MAE_DEFAULT, opts: SessionOptions = {}) {
  const runner = new GraphRunner(opts);
  const fn = async (weights: NamedWeights, x: TensorF32, m: MaeMask): Promise<{ loss: number; grad: TensorF32 }> => {
    const n = checkImages(c, x);
    const g = await runner.get(`xgrad:${n}`, () => {
      const b = new GraphBuilder('mae_input_grad');
      const i = declareInputs(b, c, n);
      const loss = maeLoss(b, c, i.x, maeForward(b, c, i), i.mask);
      b.output(loss, 'loss');
      backward(b, loss, [i.x]);
      return b;
    });
    checkWeights(g.builder, weights);
    const out = await g.session.run(new Map<string, TensorF32 | TensorI64>([...weights, ['x', x], ['keep', m.keep], ['restore', m.restore], ['mask', m.mask]]), ['loss', 'grad.x']);
    return { loss: out.get('loss')!.data[0], grad: out.get('grad.x')! };
  };
  return Object.assign(fn, { release: () => runner.release() });
}
