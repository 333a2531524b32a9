/**
 * Tail averaging of the weights (stochastic weight averaging, Izmailov et al. 2018): the equal-weight mean of the
 * weights after every update from step `start` on. As an Optimizer wrapper, so the running mean lives in the
 * optimiser state and therefore in every checkpoint (resume stays exact without touching the trainer).
 *
 * Why: on a small, noisy validation part, "best epoch by validation" picks lucky peaks; the mean of the last epochs
 * of a cosine schedule is a flatter, better-generalising point and needs no selection at all. The classifier uses
 * GroupNorm, so averaged weights need no batch-statistics recomputation.
 *
 * State tensors are the inner optimiser's plus `swa/<weight name>`; `hyper.swaCount` counts the averaged updates.
 */
import type { NamedWeights } from '../tensor.js';
import type { Optimizer, OptimizerState } from '../train/optim.js';

const PREFIX = 'swa/';

export class TailAverageOptimizer implements Optimizer {
  private mean: NamedWeights | null = null;
  private count = 0;

  /** `start`: the first update (1-based step count after the update) included in the mean. */
  constructor(private readonly inner: Optimizer, readonly start: number) {
    if (!(Number.isInteger(start) && start >= 1)) throw new RangeError(`tail average start must be an integer ≥ 1, got ${start}`);
  }

  get kind() {
    return this.inner.kind;
  }

  get stepCount(): number {
    return this.inner.stepCount;
  }

  /** The tail mean (null before step `start`). Live: do not mutate. */
  get averaged(): NamedWeights | null {
    return this.mean;
  }

  /** How many updates the mean holds. */
  get averagedCount(): number {
    return this.count;
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    this.inner.step(weights, grads, lr);
    if (this.inner.stepCount < this.start) return;
    if (!this.mean) this.mean = new Map([...weights].map(([k, w]) => [k, { shape: [...w.shape], data: new Float32Array(w.data.length) }]));
    this.count++;
    const f = 1 / this.count;
    for (const [k, w] of weights) {
      const m = this.mean.get(k)!.data, v = w.data;
      for (let i = 0; i < v.length; i++) m[i] += (v[i] - m[i]) * f;
    }
  }

  state(): OptimizerState {
    const s = this.inner.state();
    const tensors: NamedWeights = new Map(s.tensors);
    if (this.mean) for (const [k, t] of this.mean) tensors.set(PREFIX + k, { shape: [...t.shape], data: new Float32Array(t.data) });
    return { ...s, hyper: { ...s.hyper, swaStart: this.start, swaCount: this.count }, tensors };
  }

  load(s: OptimizerState): void {
    const inner: NamedWeights = new Map(), mean: NamedWeights = new Map();
    for (const [k, t] of s.tensors) {
      if (k.startsWith(PREFIX)) mean.set(k.slice(PREFIX.length), { shape: [...t.shape], data: new Float32Array(t.data) });
      else inner.set(k, t);
    }
    const { swaStart: _s, swaCount, ...hyper } = s.hyper;
    this.inner.load({ ...s, hyper, tensors: inner });
    this.mean = mean.size ? mean : null;
    this.count = this.mean ? Number(swaCount ?? 0) : 0;
  }
}
