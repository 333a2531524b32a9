/**
 * DDIM purification (Song et al. 2021, deterministic η = 0) with the ε-prediction UNet inference session.
 *
 * Same convention as nets/unet.ts `ddimChain` (a unit test checks the two agree): pixels x ∈ [0, 1] are mapped to
 * x0 = 2x − 1, diffused to t* = steps[0] in one jump, x_{t*} = √ᾱ_{t*}·x0 + √(1 − ᾱ_{t*})·ε with seeded ε ~ N(0, I),
 * then for each timestep t_i: ε̂ = UNet(x_{t_i}, t_i), x̂0 = (x_{t_i} − √(1 − ᾱ_{t_i})·ε̂) / √ᾱ_{t_i}, and
 * x_{t_{i+1}} = √ᾱ_{t_{i+1}}·x̂0 + √(1 − ᾱ_{t_{i+1}})·ε̂; the last x̂0 is the purified image, mapped back to [0, 1]
 * and clipped there (the classifier's input domain; `ddimChain` leaves it unclipped to stay differentiable).
 * An image with no timesteps (t* = 0) is returned unchanged.
 *
 * Images of one batch may have different t* (the UNet takes one t per sample); they are grouped by schedule length.
 *
 * `ddimSample` is the one sampler: the Purifier runs it on its baked-weight sessions, and the diffusion recipe's
 * validation and previews run it on the weights being trained (native-models/src/lab/recipes/diffusion.ts), so what
 * is validated is what ships. Timesteps come from one schedule, tstar.ts `ddimTimesteps`.
 */
import { buildInference, type UnetConfig } from '../nets/unet.js';
import { linearSchedule } from '../nets/diffusion-schedule.js';
import { Rng } from '../../core/rng.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { EpName } from '../../core/runtime/ep.js';
import { BucketedSessions, bucketOf, padBatch } from './sessions.js';

/** ε̂ for n images at once: x_t [n·S·S] and one timestep per image → ε̂ [n·S·S]. */
export type EpsFn = (xt: Float32Array, t: Float32Array) => Promise<Float32Array>;

/**
 * The DDIM sampler (η = 0) for n images that share a schedule length: `images` [n·S·S] pixels in [0, 1], `noise`
 * [n·S·S] ε ~ N(0, I), `timesteps[b]` strictly descending for image b (from tstar.ts ddimTimesteps). Returns the
 * noised images x_{t*} and the purified images (last x̂0), both mapped back to pixels and clipped to [0, 1]. x̂0 is not
 * clipped between steps (as in nets/unet.ts ddimChain, which the attacks differentiate).
 */
export async function ddimSample(eps: EpsFn, images: Float32Array, noise: Float32Array, timesteps: ReadonlyArray<readonly number[]>, alphaBar: Float64Array, ss: number): Promise<{ noised: Float32Array; purified: Float32Array }> {
  const n = timesteps.length;
  const steps = n === 0 ? 0 : timesteps[0].length;
  if (images.length !== n * ss || noise.length !== n * ss) throw new RangeError(`ddimSample: need ${n * ss} pixels and noise values`);
  if (timesteps.some((ts) => ts.length !== steps || steps === 0)) throw new RangeError('ddimSample: every image needs the same, non-zero number of timesteps');
  const ab = alphaBar;
  // x_{t*} = √ᾱ·(2x − 1) + √(1 − ᾱ)·ε
  let xt = new Float32Array(n * ss);
  for (let b = 0; b < n; b++) {
    const t0 = timesteps[b][0];
    const sa = Math.sqrt(ab[t0]), s1 = Math.sqrt(1 - ab[t0]);
    for (let i = b * ss; i < (b + 1) * ss; i++) xt[i] = sa * (2 * images[i] - 1) + s1 * noise[i];
  }
  const noised = toPixels(xt);
  let x0 = new Float32Array(n * ss);
  for (let s = 0; s < steps; s++) {
    const t = Float32Array.from(timesteps, (ts) => ts[s]);
    const e = await eps(xt, t);
    const next = new Float32Array(n * ss);
    x0 = new Float32Array(n * ss);
    const last = s === steps - 1;
    for (let b = 0; b < n; b++) {
      const ti = timesteps[b][s];
      const inv = 1 / Math.sqrt(ab[ti]), s1 = Math.sqrt(1 - ab[ti]);
      const tp = last ? 0 : timesteps[b][s + 1];
      const sap = Math.sqrt(ab[tp]), s1p = Math.sqrt(1 - ab[tp]);
      for (let i = b * ss; i < (b + 1) * ss; i++) {
        const p = (xt[i] - s1 * e[i]) * inv;
        x0[i] = p;
        if (!last) next[i] = sap * p + s1p * e[i];
      }
    }
    xt = next;
  }
  return { noised, purified: toPixels(x0) };
}

/** [−1, 1] model space → [0, 1] pixels, clipped. */
function toPixels(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x[i] + 1) * 0.5;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

export interface PurifyJob {
  /** [S·S] pixel-space image. */
  x: Float32Array;
  /** Strictly descending timesteps, first = t* (see tstar.ts ddimTimesteps); empty = no purification. */
  timesteps: readonly number[];
  /** Seed of ε. */
  seed: number;
}

export class Purifier {
  private readonly sessions: BucketedSessions;
  private readonly alphaBar: Float64Array;

  constructor(
    readonly cfg: UnetConfig,
    weights: NamedWeights,
    session: { ep: EpName; threads?: number },
    readonly maxBatch = 16,
  ) {
    this.sessions = new BucketedSessions('unet', (n) => buildInference(cfg, weights, n), { ...session });
    this.alphaBar = linearSchedule(cfg.T).alphaBar;
  }

  /** Number of UNet evaluations (per image) a job costs. */
  static evaluations(job: Pick<PurifyJob, 'timesteps'>): number {
    return job.timesteps.length;
  }

  /** Purified images (new arrays), in job order. */
  async purify(jobs: readonly PurifyJob[]): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(jobs.length);
    const byLength = new Map<number, number[]>();
    jobs.forEach((j, i) => {
      if (j.timesteps.length === 0) out[i] = new Float32Array(j.x);
      else byLength.set(j.timesteps.length, [...(byLength.get(j.timesteps.length) ?? []), i]);
    });
    for (const idx of byLength.values()) {
      for (let lo = 0; lo < idx.length; lo += this.maxBatch) {
        const group = idx.slice(lo, lo + this.maxBatch);
        const res = await this.run(group.map((i) => jobs[i]));
        group.forEach((i, k) => (out[i] = res[k]));
      }
    }
    return out;
  }

  private async run(jobs: readonly PurifyJob[]): Promise<Float32Array[]> {
    const S = this.cfg.size, ss = S * S, n = jobs.length;
    const bucket = bucketOf(n, this.maxBatch);
    const session = await this.sessions.get(bucket);
    const images = new Float32Array(n * ss);
    const noise = new Float32Array(n * ss);
    jobs.forEach((j, b) => {
      images.set(j.x, b * ss);
      noise.set(new Rng(j.seed).normals(ss), b * ss);
    });
    const eps: EpsFn = async (xt, t) => {
      const out = await session.run(
        { x_t: { shape: [bucket, 1, S, S], data: padBatch(xt, n, bucket, ss) }, t: { shape: [bucket], data: padBatch(t, n, bucket, 1) } },
        ['eps'],
      );
      return out.get('eps')!.data.subarray(0, n * ss);
    };
    const { purified } = await ddimSample(eps, images, noise, jobs.map((j) => j.timesteps), this.alphaBar, ss);
    return jobs.map((_, b) => purified.slice(b * ss, (b + 1) * ss));
  }

  release(): Promise<void> {
    return this.sessions.release();
  }
}
