/**
 * FGSM and PGD (ℓ∞ and ℓ2) on pixel-space images in [0, 1], against any differentiable loss given as a
 * `GradientOracle` (the classifier alone, or the whole defence: oracles.ts).
 *
 *   ℓ∞: v ← Π(v + α·sign(∇)),  ℓ2: v ← Π(v + α·∇/‖∇‖₂),  Π = exact projection onto ball ∩ [0, 1] (project.ts)
 *   random start: uniform in the ℓ∞ ball, or a uniformly random direction at radius ε·U^(1/d) for ℓ2 (then Π);
 *   restarts: each image keeps the final iterate with the highest loss across restarts (measured once more at the
 *   end, so only with restarts > 1).
 *   FGSM = one ℓ∞ step of size ε from x, no random start.
 *
 * The attacker knows the true label (labels are the attacker's input, never the defence's). Everything random is
 * seeded per (seed, image id, restart), so an image's adversarial does not depend on which batch it ran in.
 */
import { Rng } from '../../core/rng.js';
import { deriveSeed } from '../../core/rng.js';
import { clampInto, linfBounds, projectL2 } from './project.js';
import { AttackError } from './errors.js';

export interface LossGrad {
  /** Per-image loss the attacker ascends. */
  loss: Float64Array;
  /** Per-image gradient of that loss, [n·S·S]. */
  grad: Float32Array;
}

export interface GradientOracle {
  readonly name: string;
  /**
   * Loss and gradient at the n images in x. `ids` are stable image ids (seeding), `iter` counts oracle calls of
   * this attack run (EOT oracles draw fresh noise per call from it).
   */
  lossGrad(x: Float32Array, labels: Int32Array, ids: readonly number[], iter: number): Promise<LossGrad>;
}

export type Norm = 'linf' | 'l2';

export interface PgdOptions {
  norm: Norm;
  eps: number;
  /** Step size. */
  alpha: number;
  steps: number;
  restarts: number;
  randomStart: boolean;
  seed: number;
}

export function fgsmOptions(eps: number, seed = 0): PgdOptions {
  return { norm: 'linf', eps, alpha: eps, steps: 1, restarts: 1, randomStart: false, seed };
}

export function checkPgdOptions(o: PgdOptions): void {
  const ok = (o.norm === 'linf' || o.norm === 'l2') && o.eps >= 0 && Number.isFinite(o.eps) && o.alpha > 0 && Number.isFinite(o.alpha) &&
    Number.isInteger(o.steps) && o.steps >= 1 && Number.isInteger(o.restarts) && o.restarts >= 1 && Number.isInteger(o.seed);
  if (!ok) throw new AttackError('E_ATTACK_CONFIG', `bad attack options ${JSON.stringify(o)}`);
}

export interface AttackResult {
  /** Adversarial images [n·S·S], each in its ε-ball and in [0, 1]. */
  adv: Float32Array;
  /** Loss of the returned images where measured (restarts > 1), else the loss at the last step's start point. */
  loss: Float64Array;
  /** Oracle calls made. */
  calls: number;
}

/** Runs PGD (or FGSM via fgsmOptions) on n images x [n·ss] with true labels. */
export async function pgd(oracle: GradientOracle, x: Float32Array, labels: Int32Array, ids: readonly number[], o: PgdOptions): Promise<AttackResult> {
  checkPgdOptions(o);
  const n = labels.length, ss = x.length / n;
  if (!Number.isInteger(ss) || ids.length !== n) throw new AttackError('E_ATTACK_CONFIG', `x has ${x.length} values for ${n} images / ${ids.length} ids`);
  const bounds = o.norm === 'linf' ? Array.from({ length: n }, (_, i) => linfBounds(x.subarray(i * ss, (i + 1) * ss), o.eps)) : null;
  const project = (v: Float32Array, i: number) => {
    const vi = v.subarray(i * ss, (i + 1) * ss);
    if (bounds) clampInto(vi, bounds[i].lo, bounds[i].hi);
    else projectL2(vi, x.subarray(i * ss, (i + 1) * ss), o.eps);
  };
  const best = new Float32Array(x);
  const bestLoss = new Float64Array(n).fill(-Infinity);
  let calls = 0;
  for (let r = 0; r < o.restarts; r++) {
    const v = new Float32Array(x);
    if (o.randomStart) {
      for (let i = 0; i < n; i++) {
        const rng = new Rng(deriveSeed(o.seed, ids[i], r, 0x5a17));
        randomStart(v.subarray(i * ss, (i + 1) * ss), o.norm, o.eps, rng);
        project(v, i);
      }
    }
    let last: LossGrad | null = null;
    for (let s = 0; s < o.steps; s++) {
      last = await oracle.lossGrad(v, labels, ids, r * (o.steps + 1) + s);
      calls++;
      const g = last.grad;
      for (let i = 0; i < n; i++) {
        const lo = i * ss, hi = lo + ss;
        if (o.norm === 'linf') {
          for (let p = lo; p < hi; p++) v[p] = v[p] + o.alpha * Math.sign(g[p]);
        } else {
          let s2 = 0;
          for (let p = lo; p < hi; p++) s2 += g[p] * g[p];
          const k = s2 > 0 ? o.alpha / Math.sqrt(s2) : 0;
          for (let p = lo; p < hi; p++) v[p] = v[p] + k * g[p];
        }
        project(v, i);
      }
    }
    let loss = last!.loss;
    if (o.restarts > 1) {
      loss = (await oracle.lossGrad(v, labels, ids, r * (o.steps + 1) + o.steps)).loss;
      calls++;
    }
    for (let i = 0; i < n; i++) {
      if (r === 0 || loss[i] > bestLoss[i]) {
        bestLoss[i] = loss[i];
        best.set(v.subarray(i * ss, (i + 1) * ss), i * ss);
      }
    }
  }
  return { adv: best, loss: bestLoss, calls };
}

function randomStart(v: Float32Array, norm: Norm, eps: number, rng: Rng): void {
  if (norm === 'linf') {
    for (let p = 0; p < v.length; p++) v[p] = v[p] + (2 * rng.uniform() - 1) * eps;
    return;
  }
  const d = new Float64Array(v.length);
  let s2 = 0;
  for (let p = 0; p < v.length; p++) { d[p] = rng.normal(); s2 += d[p] * d[p]; }
  const r = eps * rng.uniform() ** (1 / v.length) / Math.sqrt(s2);
  for (let p = 0; p < v.length; p++) v[p] = v[p] + d[p] * r;
}
