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
 */
import { buildInference, type UnetConfig } from '../nets/unet.js';
import { linearSchedule } from '../nets/diffusion-schedule.js';
import { Rng } from '../../core/rng-mulberry.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { EpName } from '../../core/runtime/ep.js';
import { BucketedSessions, bucketOf, padBatch } from './sessions.js';

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
    const S = this.cfg.size, ss = S * S, n = jobs.length, ab = this.alphaBar;
    const bucket = bucketOf(n, this.maxBatch);
    const session = await this.sessions.get(bucket);
    const steps = jobs[0].timesteps.length;
    // x_{t*} = √ᾱ·(2x − 1) + √(1 − ᾱ)·ε
    let xt = new Float32Array(bucket * ss);
    jobs.forEach((j, b) => {
      const t0 = j.timesteps[0];
      const sa = Math.sqrt(ab[t0]), s1 = Math.sqrt(1 - ab[t0]);
      const eps = new Rng(j.seed).normals(ss);
      for (let i = 0; i < ss; i++) xt[b * ss + i] = sa * (2 * j.x[i] - 1) + s1 * eps[i];
    });
    let x0 = new Float32Array(bucket * ss);
    for (let s = 0; s < steps; s++) {
      const t = new Float32Array(bucket);
      jobs.forEach((j, b) => (t[b] = j.timesteps[s]));
      const eps = (await session.run({ x_t: { shape: [bucket, 1, S, S], data: padBatch(xt, bucket, bucket, ss) }, t: { shape: [bucket], data: t } }, ['eps'])).get('eps')!.data;
      const next = new Float32Array(bucket * ss);
      x0 = new Float32Array(bucket * ss);
      jobs.forEach((j, b) => {
        const ti = j.timesteps[s];
        const inv = 1 / Math.sqrt(ab[ti]), s1 = Math.sqrt(1 - ab[ti]);
        const last = s === steps - 1;
        const tp = last ? 0 : j.timesteps[s + 1];
        const sap = Math.sqrt(ab[tp]), s1p = Math.sqrt(1 - ab[tp]);
        for (let i = b * ss; i < (b + 1) * ss; i++) {
          const p = (xt[i] - s1 * eps[i]) * inv;
          x0[i] = p;
          if (!last) next[i] = sap * p + s1p * eps[i];
        }
      });
      xt = next;
    }
    return jobs.map((_, b) => {
      const img = new Float32Array(ss);
      for (let i = 0; i < ss; i++) {
        const v = (x0[b * ss + i] + 1) * 0.5;
        img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
      return img;
    });
  }

  release(): Promise<void> {
    return this.sessions.release();
  }
}
