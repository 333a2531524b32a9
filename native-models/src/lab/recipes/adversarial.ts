/**
 * Adversarial training for the classifier (Madry et al. 2018, with the clean/adversarial mix of Goodfellow et al.
 * 2015): before each optimiser step, part of the batch is replaced by PGD-ℓ∞ adversarial versions of those images,
 * made against the current weights with the classifier's exact input gradient (nets/classifier.ts
 * makeInputGradient), inside the exact float32 ε-ball and [0, 1] box of attacks/project.ts.
 *
 * Why: the MAE detector cannot see small perturbations on these images (docs/ROBUSTNESS.md), so at small ε the
 * adaptive pipeline is only as robust as its classifier. A classifier trained on its own worst cases is the one
 * component that holds at small ε; purification still handles what it flags.
 *
 * Seeded from the trainer's per-batch seed, so a resumed run makes the same adversarial examples. Labels are used
 * here, at training time only (inference never sees one).
 */
import * as classifier from '../../inference/nets/classifier.js';
import { oneHot } from '../../inference/nets/common.js';
import { linfBounds, clampInto } from '../attacks/project.js';
import { deriveSeed, Rng } from '../../core/rng.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';

export interface AdversarialTrainingOptions {
  /** ℓ∞ radius in pixel units /255 (2 means 2/255); 0 turns adversarial training off. */
  eps255: number;
  /** PGD steps per batch (random start, step 2.5·ε/steps). */
  steps: number;
  /** Share of each batch replaced by its adversarial version (the first ⌈fraction·n⌉ images of a shuffled batch). */
  fraction: number;
}

const ADV_STREAM = 0x61647674; // 'advt'

export class AdversarialBatchMaker {
  private readonly grad;

  constructor(readonly cfg: classifier.ClassifierConfig, readonly o: AdversarialTrainingOptions, threads: number) {
    if (!(o.eps255 > 0 && o.eps255 <= 64)) throw new RangeError(`adversarial ε must be in (0, 64]/255, got ${o.eps255}`);
    if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new RangeError(`adversarial steps must be an integer ≥ 1, got ${o.steps}`);
    if (!(o.fraction > 0 && o.fraction <= 1)) throw new RangeError(`adversarial fraction must be in (0, 1], got ${o.fraction}`);
    this.grad = classifier.makeInputGradient(cfg, { threads });
  }

  /** A copy of batch `x` whose first ⌈fraction·n⌉ images are PGD adversarials against `weights` (others unchanged). */
  async make(weights: NamedWeights, x: TensorF32, y: Int32Array, seed: number): Promise<TensorF32> {
    const n = x.shape[0], ss = x.data.length / n, m = Math.ceil(this.o.fraction * n);
    const eps = this.o.eps255 / 255, alpha = (2.5 * eps) / this.o.steps;
    const out = new Float32Array(x.data);
    const clean = x.data.subarray(0, m * ss);
    const { lo, hi } = linfBounds(clean, eps);
    const v = new Float32Array(clean);
    const rng = new Rng(deriveSeed(seed, ADV_STREAM));
    for (let i = 0; i < v.length; i++) v[i] += rng.uniform(-eps, eps);
    clampInto(v, lo, hi);
    const target = oneHot(y.subarray(0, m), this.cfg.classes);
    for (let s = 0; s < this.o.steps; s++) {
      const g = (await this.grad(weights, { shape: [m, 1, this.cfg.size, this.cfg.size], data: v }, target)).grad.data;
      for (let i = 0; i < v.length; i++) v[i] += alpha * Math.sign(g[i]);
      clampInto(v, lo, hi);
    }
    out.set(v);
    return { shape: x.shape, data: out };
  }

  release(): Promise<void> {
    return this.grad.release();
  }
}
