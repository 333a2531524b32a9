/**
 * Exponential moving average of the weights, as an Optimizer wrapper so that the average lives in the optimiser
 * state and therefore in every checkpoint (resume stays exact without touching the trainer; weight-average.ts).
 *
 * After each inner update: ema ← d·ema + (1 − d)·w with d = min(decay, (1 + t) / (10 + t)) (t = updates so far),
 * the usual warm-up so early averages are not dominated by the random initialisation. The EMA starts as a copy of
 * the weights at the first update. State tensors are the inner optimiser's plus `ema/<weight name>`.
 */
import type { NamedWeights } from '../../core/tensor.js';
import type { Optimizer } from '../../core/train/optim.js';
import { WeightAverageOptimizer } from './weight-average.js';

export class EmaOptimizer extends WeightAverageOptimizer {
  constructor(inner: Optimizer, readonly decay: number) {
    super(inner, 'ema/');
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    this.inner.step(weights, grads, lr);
    const t = this.inner.stepCount;
    if (!this.avg) {
      this.avg = new Map([...weights].map(([k, w]) => [k, { shape: [...w.shape], data: new Float32Array(w.data) }]));
      return;
    }
    const d = Math.min(this.decay, (1 + t) / (10 + t));
    for (const [k, w] of weights) {
      const e = this.avg.get(k)!.data, v = w.data;
      for (let i = 0; i < v.length; i++) e[i] = d * e[i] + (1 - d) * v[i];
    }
  }

  protected hyper() {
    return { emaDecay: this.decay };
  }
}
