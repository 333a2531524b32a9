/**
 * DDPM ε-prediction UNet for [N, 1, S, S] images in [−1, 1]: sinusoidal time embedding of t (a graph input) → MLP,
 * GroupNorm+SiLU residual blocks with the time embedding added, self-attention at the lowest resolution (and in
 * the middle), strided-conv down-sampling and ConvTranspose(4, s2, p1) up-sampling, skip connections by concat.
 * Training: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with x0 = 2·image − 1, loss = MSE(ε̂, ε); timesteps and noise are sampled
 * by the StepFn's own seeded RNG. Also the ε-prediction inference graph and input-gradient graphs, including one
 * through a whole deterministic DDIM chain (for adaptive attacks on purification).
 */
import { GraphBuilder, type Value } from '../../core/graph/builder.js';
import { conv2d, convTranspose2d, groupNorm, linear, selfAttention, silu } from '../../core/graph/layers.js';
import { mse } from '../../core/graph/losses.js';
import { backward } from '../../core/autodiff/backward.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import type { StepFn } from '../../core/train/types.js';
import type { SessionOptions } from '../../core/runtime/session.js';
import { GraphRunner, InputError, checkWeights, runStep } from './common.js';
import { initWeights } from './init.js';
import { Rng } from '../../core/rng.js';
import { linearSchedule } from './diffusion-schedule.js';

export interface UnetConfig {
  size: number;
  /** Base width; level i has width·mults[i] channels. */
  width: number;
  mults: readonly number[];
  groups: number;
  heads: number;
  T: number;
}

export const UNET_DEFAULT: UnetConfig = { size: 64, width: 32, mults: [1, 2, 2], groups: 8, heads: 4, T: 1000 };

function timeEmbedding(b: GraphBuilder, t: Value, dim: number): Value {
  const half = dim / 2;
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const args = b.mul(b.reshape(t, [t.shape[0], 1]), b.constF32(freqs, [1, half]));
  return b.concat([b.sin(args), b.cos(args)], 1);
}

function resBlock(b: GraphBuilder, x: Value, temb: Value, name: string, outC: number, groups: number): Value {
  return b.scope(name, () => {
    let h = conv2d(b, silu(b, groupNorm(b, x, 'norm1', groups)), 'conv1', outC, 3);
    const tproj = linear(b, silu(b, temb), 'temb', outC);
    h = b.add(h, b.reshape(tproj, [x.shape[0], outC, 1, 1]));
    h = conv2d(b, silu(b, groupNorm(b, h, 'norm2', groups)), 'conv2', outC, 3);
    const skip = x.shape[1] === outC ? x : conv2d(b, x, 'skip', outC, 1);
    return b.add(skip, h);
  });
}

function attnBlock(b: GraphBuilder, x: Value, name: string, groups: number, heads: number): Value {
  return b.scope(name, () => {
    const [n, c, hh, ww] = x.shape;
    const tokens = b.transpose(b.reshape(groupNorm(b, x, 'norm', groups), [n, c, hh * ww]), [0, 2, 1]);
    const a = selfAttention(b, tokens, 'attn', heads);
    return b.add(x, b.reshape(b.transpose(a, [0, 2, 1]), [n, c, hh, ww]));
  });
}

/** ε̂ [N,1,S,S] for x_t [N,1,S,S] and timesteps t [N] (float). */
export function unetForward(b: GraphBuilder, c: UnetConfig, xt: Value, t: Value): Value {
  const levels = c.mults.length;
  if (c.size % 2 ** (levels - 1) !== 0) b.fail('UNet', `size ${c.size} not divisible by ${2 ** (levels - 1)}`);
  const tdim = c.width * 4;
  const temb = b.scope('time', () => linear(b, silu(b, linear(b, timeEmbedding(b, t, c.width), 'fc1', tdim)), 'fc2', tdim));
  let h = conv2d(b, xt, 'conv_in', c.width, 3);
  const skips: Value[] = [];
  for (let i = 0; i < levels; i++) {
    const ch = c.width * c.mults[i];
    h = b.scope(`down.${i}`, () => {
      let y = resBlock(b, h, temb, 'res', ch, c.groups);
      if (i === levels - 1) y = attnBlock(b, y, 'attn', c.groups, c.heads);
      return y;
    });
    skips.push(h);
    if (i < levels - 1) h = b.scope(`down.${i}`, () => conv2d(b, h, 'downsample', ch, 3, { stride: 2 }));
  }
  h = b.scope('mid', () => {
    const ch = h.shape[1];
    let y = resBlock(b, h, temb, 'res1', ch, c.groups);
    y = attnBlock(b, y, 'attn', c.groups, c.heads);
    return resBlock(b, y, temb, 'res2', ch, c.groups);
  });
  for (let i = levels - 1; i >= 0; i--) {
    const ch = c.width * c.mults[i];
    h = b.scope(`up.${i}`, () => {
      let y = resBlock(b, b.concat([h, skips[i]], 1), temb, 'res', ch, c.groups);
      if (i === levels - 1) y = attnBlock(b, y, 'attn', c.groups, c.heads);
      if (i > 0) y = convTranspose2d(b, y, 'upsample', c.width * c.mults[i - 1], 4, 2, 1);
      return y;
    });
  }
  return b.scope('out', () => conv2d(b, silu(b, groupNorm(b, h, 'norm', c.groups)), 'conv', 1, 3));
}

function parametersOf(c: UnetConfig): GraphBuilder {
  const b = new GraphBuilder('unet');
  unetForward(b, c, b.input('x_t', [1, 1, c.size, c.size]), b.input('t', [1]));
  return b;
}

export function init(c: UnetConfig = UNET_DEFAULT, seed = 0): NamedWeights {
  return initWeights(parametersOf(c).paramList(), seed);
}

/** ε-prediction model: inputs 'x_t' [N,1,S,S] (in [−1,1]) and 't' [N] → 'eps'. */
export function buildInference(c: UnetConfig = UNET_DEFAULT, weights?: NamedWeights, batch = 1): Uint8Array {
  const b = new GraphBuilder('unet_inference');
  b.output(unetForward(b, c, b.input('x_t', [batch, 1, c.size, c.size]), b.input('t', [batch])), 'eps');
  if (weights) checkWeights(b, weights);
  return b.serialize(weights ? { paramsAs: 'initializers', weights } : { paramsAs: 'inputs' });
}

/** Diffusion loss graph: inputs x0 (pixels in [0,1]), eps, t, sqrt_ab, sqrt_1mab ([N,1,1,1]). */
export function diffusionLoss(b: GraphBuilder, c: UnetConfig, n: number) {
  const x0 = b.input('x0', [n, 1, c.size, c.size]);
  const eps = b.input('eps', [n, 1, c.size, c.size]);
  const t = b.input('t', [n]);
  const sa = b.input('sqrt_ab', [n, 1, 1, 1]);
  const s1 = b.input('sqrt_1mab', [n, 1, 1, 1]);
  const x0s = b.sub(b.mul(x0, b.scalar(2)), b.scalar(1));
  const xt = b.add(b.mul(x0s, sa), b.mul(eps, s1));
  return { x0, loss: mse(b, unetForward(b, c, xt, t), eps) };
}

export function buildTrainGraph(c: UnetConfig, n: number): GraphBuilder {
  const b = new GraphBuilder('unet_train');
  const { loss } = diffusionLoss(b, c, n);
  b.output(loss, 'loss');
  backward(b, loss, [...b.params.values()].map((p) => p.value));
  return b;
}

function checkImages(c: UnetConfig, x: TensorF32): number {
  if (x.shape.length !== 4 || x.shape[1] !== 1 || x.shape[2] !== c.size || x.shape[3] !== c.size) throw new InputError(`UNet expects [N, 1, ${c.size}, ${c.size}], got [${x.shape.join(', ')}]`);
  return x.shape[0];
}

/** Seeded t ~ U{0..T−1}, ε ~ N(0, I) and the matching schedule coefficients. */
export function sampleNoise(c: UnetConfig, n: number, rng: Rng) {
  const sched = linearSchedule(c.T);
  const t = new Float32Array(n), sa = new Float32Array(n), s1 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ti = rng.int(c.T);
    t[i] = ti;
    sa[i] = Math.sqrt(sched.alphaBar[ti]);
    s1[i] = Math.sqrt(1 - sched.alphaBar[ti]);
  }
  return {
    t: { shape: [n], data: t },
    eps: { shape: [n, 1, c.size, c.size], data: rng.normals(n * c.size * c.size) },
    sqrt_ab: { shape: [n, 1, 1, 1], data: sa },
    sqrt_1mab: { shape: [n, 1, 1, 1], data: s1 },
  };
}

export function makeTrainStep(c: UnetConfig = UNET_DEFAULT, opts: SessionOptions & { seed?: number } = {}): StepFn & { release(): Promise<void> } {
  const runner = new GraphRunner(opts);
  const rng = new Rng(opts.seed ?? 0);
  const step = async (weights: NamedWeights, batch: { x: TensorF32; seed?: number }) => {
    const n = checkImages(c, batch.x);
    const g = await runner.get(`train:${n}`, () => buildTrainGraph(c, n));
    // The trainer's per-step seed makes timesteps and noise replay exactly on resume.
    const r = batch.seed !== undefined ? new Rng(batch.seed) : rng;
    return (await runStep(g, weights, { x0: batch.x, ...sampleNoise(c, n, r) })).result;
  };
  return Object.assign(step, { release: () => runner.release() });
}

/** A loss on the output image for input-gradient graphs: ⟨out, direction⟩ or MSE to a target. */
export type OutputLoss = { kind: 'dot'; direction: TensorF32 } | { kind: 'mse'; target: TensorF32 };

/**
 * Deterministic DDIM (η = 0) purification chain as a graph: x (pixels [0,1]) is diffused to t* = steps[0] with the
 * given noise, then denoised through `steps` (descending, e.g. [200, 150, 100, 50, 0]) to x̂0, returned in [0,1]
 * (no clipping, so the chain is differentiable end to end). Weights are shared by every step.
 */
export function ddimChain(b: GraphBuilder, c: UnetConfig, x: Value, noise: Value, steps: readonly number[]): Value {
  const ab = linearSchedule(c.T).alphaBar;
  const n = x.shape[0];
  const t0 = steps[0];
  let xt = b.add(b.mul(b.sub(b.mul(x, b.scalar(2)), b.scalar(1)), b.scalar(Math.sqrt(ab[t0]))), b.mul(noise, b.scalar(Math.sqrt(1 - ab[t0]))));
  for (let i = 0; i < steps.length; i++) {
    const t = steps[i];
    const tv = b.constF32(new Float32Array(n).fill(t), [n]);
    const eps = b.sharing(() => unetForward(b, c, xt, tv));
    // x̂0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t ; x_prev = √ᾱ_prev x̂0 + √(1−ᾱ_prev) ε̂
    const x0 = b.mul(b.sub(xt, b.mul(eps, b.scalar(Math.sqrt(1 - ab[t])))), b.scalar(1 / Math.sqrt(ab[t])));
    if (i === steps.length - 1) {
      xt = x0;
      break;
    }
    const tp = steps[i + 1];
    xt = b.add(b.mul(x0, b.scalar(Math.sqrt(ab[tp]))), b.mul(eps, b.scalar(Math.sqrt(1 - ab[tp]))));
  }
  return b.mul(b.add(xt, b.scalar(1)), b.scalar(0.5));
}

/**
 * dL/dx through the whole DDIM chain (attacks on purification). Params are graph inputs and reused by every step,
 * so one session serves any weights. Returns the loss, the purified image and dL/dx.
 */
export function makeChainInputGradient(c: UnetConfig, steps: readonly number[], opts: SessionOptions = {}) {
  if (steps.length === 0 || steps.some((t, i) => t < 0 || t >= c.T || (i > 0 && t >= steps[i - 1]))) {
    throw new InputError(`DDIM steps must be strictly descending within [0, ${c.T}), got [${steps.join(', ')}]`);
  }
  const runner = new GraphRunner(opts);
  const fn = async (weights: NamedWeights, x: TensorF32, noise: TensorF32, loss: OutputLoss) => {
    const n = checkImages(c, x);
    const g = await runner.get(`chain:${loss.kind}:${n}`, () => {
      const b = new GraphBuilder('ddim_chain_grad');
      const xi = b.input('x', [n, 1, c.size, c.size]);
      const out = ddimChain(b, c, xi, b.input('noise', [n, 1, c.size, c.size]), steps);
      const ref = b.input('ref', [n, 1, c.size, c.size]);
      const l = loss.kind === 'dot' ? b.reduceSum(b.mul(out, ref), [0, 1, 2, 3], false) : mse(b, out, ref);
      b.output(l, 'loss');
      b.output(out, 'purified');
      backward(b, l, [xi]);
      return b;
    });
    checkWeights(g.builder, weights);
    const ref = loss.kind === 'dot' ? loss.direction : loss.target;
    const out = await g.session.run(new Map([...weights, ['x', x], ['noise', noise], ['ref', ref]]), ['loss', 'purified', 'grad.x']);
    return { loss: out.get('loss')!.data[0], purified: out.get('purified')!, grad: out.get('grad.x')! };
  };
  return Object.assign(fn, { release: () => runner.release() });
}
