/**
 * Optimisers, gradient clipping and learning-rate schedules over NamedWeights, in tight Float32Array loops.
 *
 * Semantics follow PyTorch so results are comparable:
 *  - SGD: v ← μ·v + (g + λ·w); update = nesterov ? g' + μ·v : v; w ← w − lr·update  (λ = coupled L2 weight decay;
 *    with v starting at 0 the first step is v = g', as torch's buffer initialisation).
 *  - AdamW (Loshchilov & Hutter): w ← w·(1 − lr·λ) (decoupled decay), m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
 *    w ← w − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε).
 * The optimiser updates `weights` in place (the StepFn must not). Weights without a gradient are treated as frozen.
 * State (moments, step count) is lazily allocated once per tensor and reused: no allocation per step.
 * `state()` / `load()` round-trip exactly (moments are NamedWeights, so they go through weights-io unchanged).
 */
import type { NamedWeights, TensorF32 } from '../tensor.js';

export class OptimizerError extends Error {
  constructor(readonly code: 'OPTIM_GRAD_MISMATCH' | 'OPTIM_BAD_STATE' | 'OPTIM_BAD_ARGUMENT', message: string) {
    super(message);
    this.name = 'OptimizerError';
  }
}

export interface OptimizerState {
  kind: 'sgd' | 'adamw';
  /** Number of updates applied so far. */
  step: number;
  hyper: Record<string, number | boolean>;
  /** Moment buffers, named `<slot>/<weight name>` (e.g. `m/conv1.w`). */
  tensors: NamedWeights;
}

export interface Optimizer {
  readonly kind: 'sgd' | 'adamw';
  readonly stepCount: number;
  /** Apply one update with learning rate `lr` to `weights` in place. */
  step(weights: NamedWeights, grads: NamedWeights, lr: number): void;
  /** A deep copy of the state. */
  state(): OptimizerState;
  /** Restore a state produced by `state()` of the same kind. */
  load(s: OptimizerState): void;
}

/** Which weights get weight decay; default: all. A common choice is `(name, shape) => shape.length > 1` (no biases/norms). */
export type DecayFilter = (name: string, shape: readonly number[]) => boolean;

function checkPair(name: string, w: TensorF32, g: TensorF32): void {
  if (g.data.length !== w.data.length) {
    throw new OptimizerError('OPTIM_GRAD_MISMATCH', `gradient of ${name} has ${g.data.length} values, weight has ${w.data.length}`);
  }
}

function checkGrads(weights: NamedWeights, grads: NamedWeights): void {
  for (const name of grads.keys()) {
    if (!weights.has(name)) throw new OptimizerError('OPTIM_GRAD_MISMATCH', `gradient for unknown weight ${name}`);
  }
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: 'sgd' | 'adamw';
  protected t = 0;
  protected slots = new Map<string, Float32Array[]>();
  protected abstract readonly slotNames: string[];

  get stepCount(): number {
    return this.t;
  }

  protected slotsFor(name: string, n: number): Float32Array[] {
    let s = this.slots.get(name);
    if (!s) {
      s = this.slotNames.map(() => new Float32Array(n));
      this.slots.set(name, s);
    } else if (s[0].length !== n) {
      throw new OptimizerError('OPTIM_BAD_STATE', `optimiser state for ${name} has ${s[0].length} values, weight has ${n}`);
    }
    return s;
  }

  abstract step(weights: NamedWeights, grads: NamedWeights, lr: number): void;
  protected abstract hyper(): Record<string, number | boolean>;

  state(): OptimizerState {
    const tensors: NamedWeights = new Map();
    for (const [name, bufs] of this.slots) {
      bufs.forEach((b, i) => tensors.set(`${this.slotNames[i]}/${name}`, { shape: [b.length], data: new Float32Array(b) }));
    }
    return { kind: this.kind, step: this.t, hyper: this.hyper(), tensors };
  }

  load(s: OptimizerState): void {
    if (s.kind !== this.kind) throw new OptimizerError('OPTIM_BAD_STATE', `cannot load ${s.kind} state into ${this.kind}`);
    if (!Number.isInteger(s.step) || s.step < 0) throw new OptimizerError('OPTIM_BAD_STATE', `bad step count ${s.step}`);
    const slots = new Map<string, Float32Array[]>();
    for (const [key, t] of s.tensors) {
      const cut = key.indexOf('/');
      const slot = this.slotNames.indexOf(key.slice(0, cut));
      if (cut < 0 || slot < 0) throw new OptimizerError('OPTIM_BAD_STATE', `unknown optimiser state tensor ${key}`);
      const name = key.slice(cut + 1);
      let bufs = slots.get(name);
      if (!bufs) slots.set(name, (bufs = new Array<Float32Array>(this.slotNames.length)));
      bufs[slot] = new Float32Array(t.data);
    }
    for (const [name, bufs] of slots) {
      for (let i = 0; i < this.slotNames.length; i++) {
        if (!bufs[i] || bufs[i].length !== bufs[0].length) throw new OptimizerError('OPTIM_BAD_STATE', `incomplete optimiser state for ${name}`);
      }
    }
    this.slots = slots;
    this.t = s.step;
  }
}

export interface SgdOptions {
  momentum?: number; // default 0.9
  nesterov?: boolean; // default false
  weightDecay?: number; // coupled L2, default 0
  decay?: DecayFilter;
}

export class SGD extends BaseOptimizer {
  readonly kind = 'sgd' as const;
  protected readonly slotNames = ['momentum'];
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly decay: DecayFilter;

  constructor(o: SgdOptions = {}) {
    super();
    this.momentum = o.momentum ?? 0.9;
    this.nesterov = o.nesterov ?? false;
    this.weightDecay = o.weightDecay ?? 0;
    this.decay = o.decay ?? (() => true);
    if (!(this.momentum >= 0 && this.momentum < 1 && this.weightDecay >= 0)) throw new OptimizerError('OPTIM_BAD_ARGUMENT', 'SGD: momentum in [0,1), weightDecay ≥ 0');
    if (this.nesterov && this.momentum === 0) throw new OptimizerError('OPTIM_BAD_ARGUMENT', 'SGD: nesterov needs momentum > 0');
  }

  protected hyper(): Record<string, number | boolean> {
    return { momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    checkGrads(weights, grads);
    const mu = this.momentum;
    for (const [name, w] of weights) {
      const g = grads.get(name);
      if (!g) continue;
      checkPair(name, w, g);
      const wd = this.decay(name, w.shape) ? this.weightDecay : 0;
      const wv = w.data, gv = g.data, n = wv.length;
      if (mu === 0) {
        for (let i = 0; i < n; i++) wv[i] -= lr * (gv[i] + wd * wv[i]);
        continue;
      }
      const v = this.slotsFor(name, n)[0];
      if (this.nesterov) {
        for (let i = 0; i < n; i++) {
          const gi = gv[i] + wd * wv[i];
          const vi = mu * v[i] + gi;
          v[i] = vi;
          wv[i] -= lr * (gi + mu * vi);
        }
      } else {
        for (let i = 0; i < n; i++) {
          const vi = mu * v[i] + gv[i] + wd * wv[i];
          v[i] = vi;
          wv[i] -= lr * vi;
        }
      }
    }
    this.t++;
  }
}

export interface AdamWOptions {
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
  weightDecay?: number; // decoupled, default 0.01 (PyTorch's default)
  decay?: DecayFilter;
}

export class AdamW extends BaseOptimizer {
  readonly kind = 'adamw' as const;
  protected readonly slotNames = ['m', 'v'];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decay: DecayFilter;

  constructor(o: AdamWOptions = {}) {
    super();
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.01;
    this.decay = o.decay ?? (() => true);
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1 && this.eps > 0 && this.weightDecay >= 0)) {
      throw new OptimizerError('OPTIM_BAD_ARGUMENT', 'AdamW: betas in [0,1), eps > 0, weightDecay ≥ 0');
    }
  }

  protected hyper(): Record<string, number | boolean> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  step(weights: NamedWeights, grads: NamedWeights, lr: number): void {
    checkGrads(weights, grads);
    const t = this.t + 1;
    const b1 = this.beta1, b2 = this.beta2, eps = this.eps;
    const bc1 = 1 - Math.pow(b1, t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = lr / bc1;
    const c1 = 1 - b1, c2 = 1 - b2;
    for (const [name, w] of weights) {
      const g = grads.get(name);
      if (!g) continue;
      checkPair(name, w, g);
      const [m, v] = this.slotsFor(name, w.data.length);
      const keep = 1 - lr * (this.decay(name, w.shape) ? this.weightDecay : 0);
      const wv = w.data, gv = g.data, n = wv.length;
      for (let i = 0; i < n; i++) {
        const gi = gv[i];
        const mi = b1 * m[i] + c1 * gi;
        const vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        wv[i] = wv[i] * keep - stepSize * mi / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
    this.t = t;
  }
}

/** Build an optimiser of the right kind from a saved state's hyper-parameters (decay filter: default unless given). */
export function optimizerFromState(s: OptimizerState, decay?: DecayFilter): Optimizer {
  const h = s.hyper;
  const o = s.kind === 'sgd'
    ? new SGD({ momentum: h.momentum as number, nesterov: h.nesterov as boolean, weightDecay: h.weightDecay as number, decay })
    : new AdamW({ beta1: h.beta1 as number, beta2: h.beta2 as number, eps: h.eps as number, weightDecay: h.weightDecay as number, decay });
  o.load(s);
  return o;
}

/** Global L2 norm of all gradients (accumulated in float64). */
export function gradNorm(grads: NamedWeights): number {
  let s = 0;
  for (const g of grads.values()) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  }
  return Math.sqrt(s);
}

/** Scale all gradients in place so their global norm is at most `maxNorm`. Returns the norm before clipping. */
export function clipGradNorm(grads: NamedWeights, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new OptimizerError('OPTIM_BAD_ARGUMENT', `maxNorm must be > 0, got ${maxNorm}`);
  const norm = gradNorm(grads);
  if (norm > maxNorm) {
    const k = maxNorm / (norm + 1e-6);
    for (const g of grads.values()) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) d[i] *= k;
    }
  }
  return norm;
}

/** Learning rate as a function of the 0-based update index. */
export type LrSchedule = (step: number) => number;

export function constantLr(lr: number): LrSchedule {
  return () => lr;
}

/**
 * Linear warm-up from peak/warmupSteps to `peak` over `warmupSteps` updates, then cosine decay to `minLr` at
 * `totalSteps`; constant `minLr` after that.
 */
export function cosineWithWarmup(o: { peak: number; warmupSteps: number; totalSteps: number; minLr?: number }): LrSchedule {
  const minLr = o.minLr ?? 0;
  if (!(o.peak > 0 && o.warmupSteps >= 0 && o.totalSteps >= o.warmupSteps && minLr >= 0)) {
    throw new OptimizerError('OPTIM_BAD_ARGUMENT', 'cosineWithWarmup: need peak > 0, 0 ≤ warmupSteps ≤ totalSteps, minLr ≥ 0');
  }
  return (step) => {
    if (step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
    const span = Math.max(1, o.totalSteps - o.warmupSteps);
    const p = Math.min(1, (step - o.warmupSteps) / span);
    return minLr + 0.5 * (o.peak - minLr) * (1 + Math.cos(Math.PI * p));
  };
}
