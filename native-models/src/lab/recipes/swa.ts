/**
 * Tail averaging of the weights (stochastic weight averaging, Izmailov et al. 2018): the equal-weight mean of the
 * weights after every update from step `start` on. As an Optimizer wrapper, so the running mean lives in the
 * optimiser state and therefore in every checkpoint (resume stays exact without touching the trainer;
 * weight-average.ts).
 *
 * Why: on a small, noisy validation part, "best epoch by validation" picks lucky peaks; the mean of the last epochs
 * of a cosine schedule is a flatter, better-generalising point and needs no selection at all. The classifier uses
 * BatchNorm: its running statistics live in the weights, so they are averaged with them and used as they are (no
 * recomputation pass over the training data); the average is taken over the last epochs of a cosine schedule to
 * 0, where the weights move little.
 *
 * State tensors are the inner optimiser's plus `swa/<weight name>`; `hyper.swaCount` counts the averaged updates.
 */
import type { NamedWeights } from '../../core/tensor.js';
import type { Optimizer } from '../../core/train/optim.js';
import { WeightAverageOptimizer } from './weight-average.js';

export class TailAverageOptimizer extends WeightAverageOptimizer {
  private count = 0;

  /** `start`: the first update (1-based step count after the update) included in the mean. */
  constructor(inner: Optimizer, readonly start: number) {
    super(inner, 'swa/');
    if (!(Number.isInteger(start) && start >= 1)) throw new RangeError(`tail average start must be an integer ≥ 1, got ${start}`);
  }

  /** How many updates the mean holds. */
  get averagedCount(): number {
    return this.count;
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    this.inner.step(weights, grads, lr);
    if (this.inner.stepCount < this.start) return;
    if (!this.avg) this.avg = new Map([...weights].map(([k, w]) => [k, { shape: [...w.shape], data: new Float32Array(w.data.length) }]));
    this.count++;
    const f = 1 / this.count;
    for (const [k, w] of weights) {
      const m = this.avg.get(k)!.data, v = w.data;
      for (let i = 0; i < v.length; i++) m[i] += (v[i] - m[i]) * f;
    }
  }

  protected hyper() {
    return { swaStart: this.start, swaCount: this.count };
  }

  protected override restore(hyper: Record<string, number | boolean>): void {
    this.count = this.avg ? Number(hyper.swaCount ?? 0) : 0;
  }
}
