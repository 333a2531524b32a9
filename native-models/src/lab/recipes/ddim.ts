/**
 * Deterministic DDIM (η = 0, Song et al. 2021) in plain JS around the UNet's ε-prediction inference graph, used by
 * the diffusion recipe to look at what the model does: diffuse clean images to t*, denoise back to t = 0, compare.
 * (The production purifier with adaptive t* belongs to the pipeline; this is the same maths, for previews/metrics.)
 *
 *   forward   x_t* = √ᾱ_t*·x0 + √(1−ᾱ_t*)·ε,  x0 = 2·pixels − 1
 *   step      x̂0 = clip((x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t, −1, 1);  x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev)·ε̂
 *   last      the final x̂0, mapped back to pixels (x̂0 + 1) / 2
 */
import * as unet from '../../inference/nets/unet.js';
import { linearSchedule } from '../../inference/nets/diffusion-schedule.js';
import { ModelSession, feedsOf } from '../../core/runtime/session.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';

/** `k` strictly descending timesteps from t* to 0 (inclusive), evenly spaced, e.g. (200, 5) → [200, 150, 100, 50, 0]. */
export function ddimTimesteps(tStar: number, k: number): number[] {
  if (!(Number.isInteger(tStar) && tStar >= 1 && Number.isInteger(k) && k >= 2)) throw new RangeError(`ddimTimesteps: t* ≥ 1 and k ≥ 2 integers, got ${tStar}, ${k}`);
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const t = Math.round(tStar * (1 - i / (k - 1)));
    if (out.length === 0 || t < out[out.length - 1]) out.push(t);
  }
  return out;
}

/** ε̂ for a fixed batch size with weights fed as inputs (one session serves any weights). */
export class EpsModel {
  private constructor(private readonly session: ModelSession, readonly cfg: unet.UnetConfig, readonly batch: number) {}

  static async create(cfg: unet.UnetConfig, batch: number, threads: number): Promise<EpsModel> {
    return new EpsModel(await ModelSession.create(unet.buildInference(cfg, undefined, batch), { threads }), cfg, batch);
  }

  async eps(weights: NamedWeights, xt: TensorF32, t: Float32Array): Promise<Float32Array> {
    const out = await this.session.run(feedsOf(weights, { x_t: xt, t: { shape: [this.batch], data: t } }), ['eps']);
    return out.get('eps')!.data;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Diffuse `pixels` (batch × S², in [0, 1]) to t* = steps[0] with `noise`, then DDIM back to 0. Returns pixels (clamped). */
export async function ddimPurify(model: EpsModel, weights: NamedWeights, pixels: Float32Array, noise: Float32Array, steps: readonly number[]): Promise<{ noised: Float32Array; purified: Float32Array }> {
  const { cfg, batch } = model;
  const n = batch * cfg.size * cfg.size;
  if (pixels.length !== n || noise.length !== n) throw new RangeError(`ddimPurify: need ${n} pixels and noise values`);
  const ab = linearSchedule(cfg.T).alphaBar;
  const t0 = steps[0];
  const x = new Float32Array(n);
  const sa0 = Math.sqrt(ab[t0]), s10 = Math.sqrt(1 - ab[t0]);
  for (let i = 0; i < n; i++) x[i] = sa0 * (2 * pixels[i] - 1) + s10 * noise[i];
  const noised = x.map((v) => Math.min(1, Math.max(0, (v + 1) / 2)));
  const shape = [batch, 1, cfg.size, cfg.size];
  for (let s = 0; s < steps.length; s++) {
    const t = steps[s];
    const eps = await model.eps(weights, { shape, data: x }, new Float32Array(batch).fill(t));
    const sa = Math.sqrt(ab[t]), s1 = Math.sqrt(1 - ab[t]);
    const last = s === steps.length - 1;
    const sp = last ? 0 : Math.sqrt(ab[steps[s + 1]]), s1p = last ? 0 : Math.sqrt(1 - ab[steps[s + 1]]);
    for (let i = 0; i < n; i++) {
      let x0 = (x[i] - s1 * eps[i]) / sa;
      x0 = x0 < -1 ? -1 : x0 > 1 ? 1 : x0;
      x[i] = last ? x0 : sp * x0 + s1p * eps[i];
    }
  }
  return { noised, purified: x.map((v) => (v + 1) / 2) };
}
