/**
 * Exponential moving average of the weights, as an Optimizer wrapper so that the average lives in the optimiser
 * state and therefore in every checkpoint (resume stays exact without touching the trainer).
 *
 * After each inner update: ema ← d·ema + (1 − d)·w with d = min(decay, (1 + t) / (10 + t)) (t = updates so far),
 * the usual warm-up so early averages are not dominated by the random initialisation. The EMA starts as a copy of
 * the weights at the first update. State tensors are the inner optimiser's plus `ema/<weight name>`.
 */
import type { NamedWeights } from '../tensor.js';
import type { Optimizer, OptimizerState } from '../train/optim.js';

const PREFIX = 'ema/';

export class EmaOptimizer implements Optimizer {
  private ema: NamedWeights | null = null;

  constructor(private readonly inner: Optimizer, readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
  }

  get kind() {
    return this.inner.kind;
  }

  get stepCount(): number {
    return this.inner.stepCount;
  }

  /** The averaged weights (null before the first update). Live: do not mutate. */
  get averaged(): NamedWeights | null {
    return this.ema;
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    this.inner.step(weights, grads, lr);
    const t = this.inner.stepCount;
    if (!this.ema) {
      this.ema = new Map([...weights].map(([k, w]) => [k, { shape: [...w.shape], data: new Float32Array(w.data) }]));
      return;
    }
    const d = Math.min(this.decay, (1 + t) / (10 + t));
    for (const [k, w] of weights) {
      const e = this.ema.get(k)!.data, v = w.data;
      for (let i = 0; i < v.length; i++) e[i] = d * e[i] + (1 - d) * v[i];
    }
  }

  state(): OptimizerState {
    const s = this.inner.state();
    const tensors: NamedWeights = new Map(s.tensors);
    if (this.ema) for (const [k, t] of this.ema) tensors.set(PREFIX + k, { shape: [...t.shape], data: new Float32Array(t.data) });
    return { ...s, hyper: { ...s.hyper, emaDecay: this.decay }, tensors };
  }

  load(s: OptimizerState): void {
    const inner: NamedWeights = new Map(), ema: NamedWeights = new Map();
    for (const [k, t] of s.tensors) {
      if (k.startsWith(PREFIX)) ema.set(k.slice(PREFIX.length), { shape: [...t.shape], data: new Float32Array(t.data) });
      else inner.set(k, t);
    }
    const { emaDecay: _d, ...hyper } = s.hyper;
    this.inner.load({ ...s, hyper, tensors: inner });
    this.ema = ema.size ? ema : null;
  }
}
