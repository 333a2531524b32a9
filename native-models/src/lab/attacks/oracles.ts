/**
 * Gradient oracles: the losses the attacks ascend, one per threat model.
 *
 *  - `classifier`: CE of the classifier alone (the paper's threat model; "the attacker sees the classifier only").
 *  - `defence` (adaptive, knows the whole defence):
 *      purify-all:  L = E_ε CE(C(P_{t_fix}(x; ε)), y)
 *      adaptive:    flagged (score(x) > thr): L = E_ε CE(C(P_{t*(score)}(x; ε)), y); unflagged: CE(C(x), y)
 *      mae-reject:  L = CE(C(x), y)  (nothing to purify; only useful with detectorAware)
 *    P = the DDIM purifier ending in the clip to [0, 1]. `backward: 'exact'` differentiates through the whole DDIM
 *    chain (purified-graph.ts); `'bpda'` runs the real purifier forward and takes the classifier's gradient at the
 *    purified image as the gradient at x (identity backward, Athalye et al. 2018), for comparison.
 *    EOT: the expectation is a mean over E purification noises, fresh and seeded per (seed, image, call, e).
 *    t* is a step function of the score (rounded, and 0 below the threshold), so the derivative of t* with respect to x is 0 almost everywhere: it
 *    is recomputed from the current iterate at every call and treated as a constant inside the call.
 *  - `detectorAware` (adds to either): L −= λ·max(0, score(x)/thr − 1 + margin), using the exact score gradient
 *    (score-graph.ts), to push the scan under the detector's threshold while attacking the classifier.
 *
 * Labels here are the attacker's knowledge; the defence under attack (DefencePipeline.scan) never receives them.
 */
import * as classifierNet from '../../inference/nets/classifier.js';
import { Rng } from '../../core/rng.js';
import { oneHot } from '../../inference/nets/common.js';
import { deriveSeed } from '../../core/rng.js';
import type { SessionOptions } from '../../core/runtime/session.js';
import type { DefencePipeline } from '../../inference/pipeline/pipeline.js';
import { tStarMapOf } from '../../inference/pipeline/calibrate.js';
import { ddimTimesteps, tStarOf } from '../../inference/pipeline/tstar.js';
import { PurifiedLoss, crossEntropyRows } from './purified-graph.js';
import { DetectorScoreGrad } from './score-graph.js';
import { AttackError } from './errors.js';
import type { GradientOracle, LossGrad } from './pgd.js';

/** The defences an adaptive attack can differentiate through. */
export const ATTACKED_DEFENCES = ['purify-all', 'adaptive', 'mae-reject'] as const;
export type AttackedDefence = (typeof ATTACKED_DEFENCES)[number];

export interface DefenceOracleOptions {
  defence: AttackedDefence;
  backward: 'exact' | 'bpda';
  /** EOT samples E per gradient. */
  eot: number;
  seed: number;
  detectorAware?: { lambda: number; margin: number } | null;
}

/** Rows (image × noise) per chain run; bounds memory of the backward through N UNet steps. */
const MAX_ROWS = 16;

/** Shared sessions for all attacks on one pipeline (create once, release at the end). */
export class AttackKit {
  private readonly clfGrad;
  private purifiedLoss: PurifiedLoss | null = null;
  private scoreGrad: DetectorScoreGrad | null = null;

  constructor(readonly pipeline: DefencePipeline, readonly session: SessionOptions = {}) {
    this.clfGrad = classifierNet.makeInputGradient(pipeline.models.classifier.config, session);
  }

  /** Per-image CE and dCE/dx of the classifier at n images (labels one-hot). */
  async classifierLossGrad(x: Float32Array, labels: Int32Array): Promise<LossGrad> {
    const m = this.pipeline.models.classifier, S = m.config.size, n = labels.length;
    const target = oneHot(labels, m.config.classes);
    const r = await this.clfGrad(m.weights, { shape: [n, 1, S, S], data: x }, target);
    const grad = new Float32Array(r.grad.data.length);
    for (let i = 0; i < grad.length; i++) grad[i] = r.grad.data[i] * n; // the graph's loss is the batch mean
    return { loss: crossEntropyRows(r.logits.data, target.data, m.config.classes), grad };
  }

  classifierOracle(): GradientOracle {
    return { name: 'classifier', lossGrad: (x, labels) => this.chunked(x, labels, (xs, ls) => this.classifierLossGrad(xs, ls)) };
  }

  defenceOracle(o: DefenceOracleOptions): GradientOracle {
    if (!(Number.isInteger(o.eot) && o.eot >= 1)) throw new AttackError('E_ATTACK_CONFIG', `EOT samples must be an integer ≥ 1, got ${o.eot}`);
    const cal = this.pipeline.calibration;
    if (!cal) throw new AttackError('E_ATTACK_CONFIG', 'attacking the defence needs the detector calibration (threshold, t* map)');
    const name = `${o.backward === 'bpda' ? 'bpda' : 'eot'}${o.detectorAware ? '+detector' : ''}→${o.defence}`;
    return { name, lossGrad: (x, labels, ids, iter) => this.defenceLossGrad(o, x, labels, ids, iter) };
  }

  private async chunked(x: Float32Array, labels: Int32Array, f: (x: Float32Array, l: Int32Array) => Promise<LossGrad>): Promise<LossGrad> {
    const n = labels.length, ss = x.length / n;
    const loss = new Float64Array(n), grad = new Float32Array(x.length);
    for (let lo = 0; lo < n; lo += MAX_ROWS) {
      const hi = Math.min(n, lo + MAX_ROWS);
      const r = await f(x.subarray(lo * ss, hi * ss), labels.subarray(lo, hi));
      loss.set(r.loss, lo);
      grad.set(r.grad, lo * ss);
    }
    return { loss, grad };
  }

  private async defenceLossGrad(o: DefenceOracleOptions, x: Float32Array, labels: Int32Array, ids: readonly number[], iter: number): Promise<LossGrad> {
    const p = this.pipeline, cal = p.calibration!, n = labels.length, ss = x.length / n;
    const steps = cal.purification.steps, kind = cal.scoreKind, map = tStarMapOf(cal);
    const needScores = o.defence !== 'purify-all' || !!o.detectorAware;
    const scores = needScores ? (await p.detector.detect(x, n)).map((d) => d.scores[kind]) : null;
    const tStars = labels.map((_, i) => (o.defence === 'purify-all' ? cal.purification.purifyAllTStar : o.defence === 'adaptive' ? tStarOf(scores![i], map) : 0));
    const loss = new Float64Array(n), grad = new Float32Array(x.length);

    // Images that are not purified: the classifier's loss at x.
    const plain = [...tStars.keys()].filter((i) => tStars[i] === 0);
    if (plain.length) {
      const r = await this.classifierLossGrad(gather(x, plain, ss), Int32Array.from(plain, (i) => labels[i]));
      scatter(r, plain, ss, loss, grad, 1);
    }

    // Purified images: E rows each, grouped by schedule length (t* < steps can shorten it).
    const rows: Array<{ i: number; timesteps: number[]; seed: number }> = [];
    for (let i = 0; i < n; i++) {
      if (tStars[i] === 0) continue;
      const timesteps = ddimTimesteps(tStars[i], steps);
      for (let e = 0; e < o.eot; e++) rows.push({ i, timesteps, seed: deriveSeed(o.seed, ids[i], iter, e) });
    }
    const byLen = new Map<number, typeof rows>();
    for (const r of rows) byLen.set(r.timesteps.length, [...(byLen.get(r.timesteps.length) ?? []), r]);
    for (const group of byLen.values()) {
      for (let lo = 0; lo < group.length; lo += MAX_ROWS) {
        const chunk = group.slice(lo, lo + MAX_ROWS);
        const idx = chunk.map((r) => r.i);
        const xr = gather(x, idx, ss);
        const lr = Int32Array.from(idx, (i) => labels[i]);
        let r: LossGrad;
        if (o.backward === 'exact') {
          const noise = new Float32Array(chunk.length * ss);
          chunk.forEach((row, k) => noise.set(new Rng(row.seed).normals(ss), k * ss));
          r = await this.purified().run(xr, noise, oneHot(lr, p.models.classifier.config.classes).data, chunk.map((row) => row.timesteps));
        } else {
          const purified = await p.purifier.purify(chunk.map((row, k) => ({ x: xr.subarray(k * ss, (k + 1) * ss), timesteps: row.timesteps, seed: row.seed })));
          const px = new Float32Array(chunk.length * ss);
          purified.forEach((img, k) => px.set(img, k * ss));
          r = await this.classifierLossGrad(px, lr); // gradient at P(x), used as the gradient at x (identity backward)
        }
        scatter(r, idx, ss, loss, grad, 1 / o.eot);
      }
    }

    // Detector-aware: L −= λ·max(0, score/thr − 1 + margin).
    if (o.detectorAware) {
      const { lambda, margin } = o.detectorAware, thr = map.threshold;
      const active = [...Array(n).keys()].filter((i) => scores![i] / thr - 1 + margin > 0);
      if (active.length) {
        const sg = await this.score().run(gather(x, active, ss), active.length);
        active.forEach((i, k) => {
          loss[i] -= lambda * (scores![i] / thr - 1 + margin);
          for (let q = 0; q < ss; q++) grad[i * ss + q] -= (lambda / thr) * sg.grad[k * ss + q];
        });
      }
    }
    return { loss, grad };
  }

  private purified(): PurifiedLoss {
    const m = this.pipeline.models;
    return (this.purifiedLoss ??= new PurifiedLoss(m.unet, m.classifier, this.session));
  }

  score(): DetectorScoreGrad {
    const p = this.pipeline;
    return (this.scoreGrad ??= new DetectorScoreGrad(p.models.mae.config, p.models.mae.weights, p.detector.orders, p.calibration?.scoreKind ?? 'mse', this.session));
  }

  async release(): Promise<void> {
    await this.clfGrad.release();
    await this.purifiedLoss?.release();
    await this.scoreGrad?.release();
  }
}

function gather(x: Float32Array, idx: readonly number[], ss: number): Float32Array {
  const out = new Float32Array(idx.length * ss);
  idx.forEach((i, k) => out.set(x.subarray(i * ss, (i + 1) * ss), k * ss));
  return out;
}

/** Accumulates w·(row loss, row grad) into image idx[k]'s slot. */
function scatter(r: LossGrad, idx: readonly number[], ss: number, loss: Float64Array, grad: Float32Array, w: number): void {
  idx.forEach((i, k) => {
    loss[i] += w * r.loss[k];
    for (let q = 0; q < ss; q++) grad[i * ss + q] += w * r.grad[k * ss + q];
  });
}
