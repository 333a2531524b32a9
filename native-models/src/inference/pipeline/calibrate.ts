/**
 * Detector calibration: the threshold is the (1 − FPR) quantile of the scores of *clean held-out* images
 * (group-val, plus the MAE's group-train holdout when it kept one: pipeline/cli.ts calibrationPart), stored in a
 * calibration JSON with the split name, N and the detector's hash, so that a scan is never judged against its
 * own batch. Both scores (plain MSE and Laplacian) are calibrated; `scoreKind` says which one flags.
 *
 * Quantile rule: with the N validation scores sorted ascending, threshold = s_(⌈(1 − FPR)·N⌉) (1-based order
 * statistic), and a scan is flagged iff score > threshold; so at most FPR·N validation images are above it.
 *
 * t* map (tstar.ts): sHi = sHiFactor · threshold (default 2: a score twice the clean quantile gets the strongest
 * purification), tMin/tMax/steps stored here too.
 *
 * Where: trained models → `<modelsDir>/calibration.json`; seeded dev models → `<repo>/.cache/dev-models/
 * calibration-<mae sha256[:12]>.json` (never next to real artifacts).
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../core/weights-io.js';
import { PipelineError } from './errors.js';
import { SCORE_KINDS, type Detector, type ScoreKind } from './detector.js';
import type { ModelBundle } from './models.js';
import { checkTStarMap, type TStarMap } from './tstar.js';
import { Rng } from '../../core/rng.js';

export const CALIBRATION_FORMAT = 'medfedpure-calibration';

export interface ScoreCalibration {
  threshold: number;
  sHi: number;
  /** Clean validation score summary. */
  median: number;
  max: number;
  /** Fraction of validation scores above the threshold (≤ fpr). */
  valFlagRate: number;
  /** How far the FPR target can miss on groups the threshold never saw (groupTransfer below); absent in old files. */
  groupTransfer?: GroupTransfer;
  /**
   * The out-of-distribution cut on the same clean scores: the (1 − OOD_FPR) quantile by the same order-statistic rule,
   * far above the flagging threshold, so a score over it says "unlike the training data", not "attacked"
   * (electron/features/scan/trust.ts). Absent in older files.
   */
  ood?: { fpr: number; threshold: number; groupTransfer?: GroupTransfer };
}

/** Clean images expected over the out-of-distribution cut: 1 in 100. */
export const OOD_FPR = 0.01;

/**
 * The calibration images split at random into two halves by near-duplicate group, `draws` times: the threshold set
 * on one half by the same quantile rule, and the flag rate counted on the other. Clean scans from new patients or
 * scanners are new groups, so this is the spread of flag rates to expect in use, not only the FPR target. Each half
 * holds half the images, so it somewhat overstates the spread of the full calibration's threshold.
 */
export interface GroupTransfer {
  draws: number;
  /** Flag rate on the unseen half: mean, standard deviation and 95th percentile over the draws. */
  mean: number;
  sd: number;
  p95: number;
}

const GROUP_TRANSFER_DRAWS = 500;
const GROUP_TRANSFER_SEED = 0x67727470; // 'grtp'

/** GroupTransfer for scores with near-duplicate group ids; null with fewer than 4 groups. */
export function groupTransfer(scores: ArrayLike<number>, groups: ArrayLike<number>, fpr: number, draws = GROUP_TRANSFER_DRAWS): GroupTransfer | null {
  if (scores.length !== groups.length) throw new PipelineError('E_OPTION', `${scores.length} scores but ${groups.length} group ids`);
  const ids = [...new Set(Array.from(groups))].sort((a, b) => a - b);
  if (ids.length < 4) return null;
  const rng = new Rng(GROUP_TRANSFER_SEED);
  const rates = new Float64Array(draws);
  for (let r = 0; r < draws; r++) {
    const half = new Set(rng.shuffle(ids.slice()).slice(0, ids.length >> 1));
    const fit: number[] = [], other: number[] = [];
    for (let i = 0; i < scores.length; i++) (half.has(groups[i]) ? fit : other).push(scores[i]);
    const t = quantileThreshold(fit, fpr);
    rates[r] = other.filter((v) => v > t).length / other.length;
  }
  const mean = rates.reduce((a, v) => a + v, 0) / draws;
  const sd = Math.sqrt(rates.reduce((a, v) => a + (v - mean) ** 2, 0) / draws);
  const sorted = rates.slice().sort();
  return { draws, mean, sd, p95: sorted[Math.min(draws - 1, Math.ceil(0.95 * draws) - 1)] };
}

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  version: 1;
  createdUtc: string;
  /** Split the scores came from, e.g. 'group-val', and its size. */
  split: string;
  n: number;
  data: { source: string; fingerprint: string };
  fpr: number;
  /** The detector this was measured with (a different MAE or mask set invalidates it). */
  detector: { maeSha256: string; maeVersion: string; K: number; maskSeed: number };
  scoreKind: ScoreKind;
  scores: Record<ScoreKind, ScoreCalibration>;
  purification: { tMin: number; tMax: number; steps: number; purifyAllTStar: number; sHiFactor: number };
}

export const PURIFICATION_DEFAULTS = { tMin: 50, tMax: 150, steps: 4, purifyAllTStar: 100, sHiFactor: 2 } as const;

/** The (1 − fpr) quantile by the order-statistic rule above. */
export function quantileThreshold(scores: ArrayLike<number>, fpr: number): number {
  if (!(fpr > 0 && fpr < 1)) throw new PipelineError('E_OPTION', `FPR must be in (0, 1), got ${fpr}`);
  const s = Float64Array.from(scores as ArrayLike<number>).sort();
  if (s.length === 0) throw new PipelineError('E_OPTION', 'no calibration scores');
  if (s.some((v) => !Number.isFinite(v))) throw new PipelineError('E_OPTION', 'calibration scores must be finite');
  const k = Math.min(s.length, Math.max(1, Math.ceil((1 - fpr) * s.length)));
  return s[k - 1];
}

export function tStarMapOf(c: Calibration, kind: ScoreKind = c.scoreKind): TStarMap {
  return { threshold: c.scores[kind].threshold, sHi: c.scores[kind].sHi, tMin: c.purification.tMin, tMax: c.purification.tMax };
}

export interface CalibrateOptions {
  fpr?: number;
  scoreKind?: ScoreKind;
  split: string;
  data: { source: string; fingerprint: string };
  /** Near-duplicate group id of each image: adds `groupTransfer` to every score's calibration. */
  groups?: ArrayLike<number>;
  purification?: Partial<Calibration['purification']>;
  onProgress?: (done: number, total: number) => void;
}

/** Scores of `n` clean images the MAE never trained on (packed [n, S·S]) → calibration. */
export async function calibrate(detector: Detector, maeSha256: string, maeVersion: string, images: Float32Array, n: number, o: CalibrateOptions): Promise<{ calibration: Calibration; scores: Record<ScoreKind, Float64Array> }> {
  const fpr = o.fpr ?? 0.05;
  const ss = detector.cfg.size ** 2;
  const scores = { mse: new Float64Array(n), laplacian: new Float64Array(n) };
  const chunk = 16;
  for (let lo = 0; lo < n; lo += chunk) {
    const m = Math.min(chunk, n - lo);
    const det = await detector.detect(images.subarray(lo * ss, (lo + m) * ss), m);
    det.forEach((d, i) => { scores.mse[lo + i] = d.scores.mse; scores.laplacian[lo + i] = d.scores.laplacian; });
    o.onProgress?.(lo + m, n);
  }
  const purification = { ...PURIFICATION_DEFAULTS, ...o.purification };
  const per = {} as Record<ScoreKind, ScoreCalibration>;
  for (const k of SCORE_KINDS) {
    const threshold = quantileThreshold(scores[k], fpr);
    const sorted = Float64Array.from(scores[k]).sort();
    per[k] = {
      threshold,
      sHi: threshold * purification.sHiFactor,
      median: sorted[Math.floor((n - 1) / 2)],
      max: sorted[n - 1],
      valFlagRate: sorted.filter((v) => v > threshold).length / n,
    };
    const transfer = o.groups ? groupTransfer(scores[k], o.groups, fpr) : null;
    if (transfer) per[k].groupTransfer = transfer;
    const oodTransfer = o.groups ? groupTransfer(scores[k], o.groups, OOD_FPR) : null;
    per[k].ood = { fpr: OOD_FPR, threshold: quantileThreshold(scores[k], OOD_FPR), ...(oodTransfer ? { groupTransfer: oodTransfer } : {}) };
  }
  const calibration: Calibration = {
    format: CALIBRATION_FORMAT, version: 1, createdUtc: new Date().toISOString(), split: o.split, n, data: o.data, fpr,
    detector: { maeSha256, maeVersion, K: detector.K, maskSeed: detector.opts.maskSeed },
    scoreKind: o.scoreKind ?? 'mse', scores: per, purification,
  };
  checkCalibration(calibration);
  return { calibration, scores };
}

export function checkCalibration(c: unknown): asserts c is Calibration {
  const x = c as Partial<Calibration> | null;
  if (!x || x.format !== CALIBRATION_FORMAT || x.version !== 1) throw new PipelineError('E_CALIBRATION', 'not a medfedpure calibration (format/version)');
  if (!x.detector || typeof x.detector.maeSha256 !== 'string' || !Number.isInteger(x.detector.K) || !Number.isInteger(x.detector.maskSeed)) throw new PipelineError('E_CALIBRATION', 'calibration has no detector identity');
  if (!x.scoreKind || !SCORE_KINDS.includes(x.scoreKind) || !x.scores || !x.purification) throw new PipelineError('E_CALIBRATION', 'calibration lacks scores or purification settings');
  for (const k of SCORE_KINDS) if (!x.scores[k]) throw new PipelineError('E_CALIBRATION', `calibration lacks the ${k} score`);
  for (const k of SCORE_KINDS) {
    const t = x.scores[k].groupTransfer;
    if (t === undefined) continue;
    const rate = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 1;
    if (!t || !Number.isInteger(t.draws) || t.draws < 1 || !rate(t.mean) || !rate(t.sd) || !rate(t.p95)) {
      throw new PipelineError('E_CALIBRATION', `bad groupTransfer for the ${k} score: ${JSON.stringify(t)}`);
    }
  }
  for (const k of SCORE_KINDS) {
    const o = x.scores[k].ood;
    if (o === undefined) continue;
    if (!o || !(o.fpr > 0 && o.fpr < 1) || !Number.isFinite(o.threshold) || o.threshold < x.scores[k].threshold) {
      throw new PipelineError('E_CALIBRATION', `bad out-of-distribution cut for the ${k} score: ${JSON.stringify(o)}`);
    }
  }
  checkTStarMap(tStarMapOf(x as Calibration));
  const p = x.purification;
  if (!(Number.isInteger(p.steps) && p.steps >= 1 && p.steps <= 100 && Number.isInteger(p.purifyAllTStar) && p.purifyAllTStar >= 1 && p.purifyAllTStar < 1000)) {
    throw new PipelineError('E_CALIBRATION', `bad purification settings ${JSON.stringify(p)}`);
  }
}

const DEV_DIR = fileURLToPath(new URL('../../../../.cache/dev-models', import.meta.url));

/** Where the calibration of these models lives (see header). */
export function calibrationPath(models: ModelBundle): string {
  return models.mae.trained ? join(models.dir, 'calibration.json') : join(DEV_DIR, `calibration-${models.mae.sha256.slice(0, 12)}.json`);
}

export async function writeCalibration(path: string, c: Calibration): Promise<void> {
  checkCalibration(c);
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(c, null, 2)}\n`));
}

/** The calibration for these models, or null when there is none; a file for another detector is an error. */
export async function readCalibration(models: ModelBundle, path = calibrationPath(models)): Promise<Calibration | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new PipelineError('E_CALIBRATION', `${path}: not JSON (${(e as Error).message})`);
  }
  checkCalibration(c);
  if (c.detector.maeSha256 !== models.mae.sha256) {
    throw new PipelineError('E_CALIBRATION', `${path} was measured with MAE ${c.detector.maeSha256.slice(0, 12)}…, the loaded MAE is ${models.mae.sha256.slice(0, 12)}… (run medfedpure calibrate)`);
  }
  return c;
}

/** Area under the ROC curve of `pos` vs `neg` scores (ties count ½). */
export function auroc(neg: ArrayLike<number>, pos: ArrayLike<number>): number {
  const all = [...Array.from(neg, (v) => [v, 0] as const), ...Array.from(pos, (v) => [v, 1] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSum += avg;
    i = j;
  }
  const np = pos.length, nn = neg.length;
  return (rankSum - (np * (np + 1)) / 2) / (np * nn);
}
