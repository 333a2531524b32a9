/**
 * The common part of the optimiser wrappers that keep an average of the weights (ema.ts, swa.ts): they delegate the
 * update to an inner optimiser and keep the averaged weights in the optimiser state, so every checkpoint holds them
 * and resume stays exact without touching the trainer. State tensors are the inner optimiser's plus
 * `<prefix><weight name>`; each subclass adds its own hyper-parameters, which are stripped again on load.
 */
import type { NamedWeights } from '../../core/tensor.js';
import type { Optimizer, OptimizerState } from '../../core/train/optim.js';

export abstract class WeightAverageOptimizer implements Optimizer {
  protected avg: NamedWeights | null = null;

  constructor(protected readonly inner: Optimizer, private readonly prefix: string) {}

  get kind() {
    return this.inner.kind;
  }

  get stepCount(): number {
    return this.inner.stepCount;
  }

  /** The averaged weights (null before the first averaged update). Live: do not mutate. */
  get averaged(): NamedWeights | null {
    return this.avg;
  }

  abstract step(weights: NamedWeights, grads: NamedWeights, lr: number): void;

  /** The wrapper's own hyper-parameters and counters, saved with the state. */
  protected abstract hyper(): Record<string, number | boolean>;

  /** Restores the wrapper's counters from the saved hyper-parameters (after the average itself is loaded). */
  protected restore(_hyper: Record<string, number | boolean>): void {}

  state(): OptimizerState {
    const s = this.inner.state();
    const tensors: NamedWeights = new Map(s.tensors);
    if (this.avg) for (const [k, t] of this.avg) tensors.set(this.prefix + k, { shape: [...t.shape], data: new Float32Array(t.data) });
    return { ...s, hyper: { ...s.hyper, ...this.hyper() }, tensors };
  }

  load(s: OptimizerState): void {
    const inner: NamedWeights = new Map(), avg: NamedWeights = new Map();
    for (const [k, t] of s.tensors) {
      if (k.startsWith(this.prefix)) avg.set(k.slice(this.prefix.length), { shape: [...t.shape], data: new Float32Array(t.data) });
      else inner.set(k, t);
    }
    const own = new Set(Object.keys(this.hyper()));
    const hyper = Object.fromEntries(Object.entries(s.hyper).filter(([k]) => !own.has(k)));
    this.inner.load({ ...s, hyper, tensors: inner });
    this.avg = avg.size ? avg : null;
    this.restore(s.hyper);
  }
}
