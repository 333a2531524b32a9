/**
 * The UNet's ε-prediction with the weights fed as inputs (one session serves any weights), for the diffusion recipe's
 * validation while the weights are still training. Sampling itself is the shipped sampler, inference/pipeline/ddim.ts
 * `ddimSample`, with the shipped timestep schedule (inference/pipeline/tstar.ts `ddimTimesteps`).
 */
import * as unet from '../../inference/nets/unet.js';
import { ModelSession, feedsOf } from '../../core/runtime/session.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';

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
