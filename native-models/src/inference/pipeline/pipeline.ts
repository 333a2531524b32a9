/**
 * The defence pipeline: detect → adaptive purify → classify (MedFedPure, arXiv 2511.11625).
 *
 *   score  = MAE reconstruction error over K seeded masks (detector.ts), compared with the calibrated threshold
 *            (calibrate.ts; never derived from the batch at hand);
 *   flagged (score > threshold): t* = tstar.ts map of the score, DDIM from t* in N steps with seeded noise
 *            (ddim.ts), classify the purified image;
 *   unflagged: classify the input as is (no purification run).
 *
 * Modes: 'adaptive' (the above), 'purify-all' (DiffPure-style baseline: every image purified at a fixed t*, no
 * detector) and 'undefended' (classifier only) — the last two for the robustness evaluation and the latency baseline.
 *
 * The API takes images only: requests are checked field by field and anything else (a label included) is refused.
 * Inputs are model-space images (S×S, [0, 1]; see preprocess.ts). Bad input → PipelineError with a code.
 *
 * Noise seed per image = mix(options.seed, FNV-1a of the image's bytes): the same image gives the same result in any
 * batch and on any run (reproducible for audit). An adaptive attacker who knows this can attack the fixed noise;
 * pass a fresh `seed` per request where that matters more than reproducibility.
 */
import { selectExecutionProvider, type EpName } from '../../core/runtime/ep.js';
import { Classifier, CLASS_NAMES, argmax, type ClassName } from './classify.js';
import { Detector, type ScoreKind } from './detector.js';
import { Purifier } from './ddim.js';
import { PipelineError } from './errors.js';
import { modelInfo, type ModelBundle, type ModelName } from './models.js';
import { tStarMapOf, type Calibration, type GroupTransfer } from './calibrate.js';
import { ddimTimesteps, tStarOf } from './tstar.js';
import type { ModelImage } from './preprocess.js';

export type DefenceMode = 'adaptive' | 'purify-all' | 'undefended';
export const DEFENCE_MODES: readonly DefenceMode[] = ['adaptive', 'purify-all', 'undefended'];

export interface ScanOptions {
  mode?: DefenceMode;
  /** Noise seed (default 0). */
  seed?: number;
  /** DDIM steps (default: calibration's). */
  steps?: number;
  /** t* for 'purify-all' (default: calibration's purifyAllTStar, else 100). */
  fixedTStar?: number;
  /**
   * A flagging threshold that replaces the calibration's for this scan (a site's own calibration,
   * electron/features/scan/site-calibration.ts); t*'s upper score becomes sHiFactor × this threshold.
   */
  threshold?: number;
  /** Refuse unless the loaded models have these versions (e.g. what the UI displayed). */
  expectVersions?: Partial<Record<ModelName, string>>;
}

export interface StageTimings {
  /** Milliseconds of each stage for the whole batch this image ran in. */
  detectMs: number;
  purifyMs: number;
  classifyMs: number;
  totalMs: number;
  batchSize: number;
}

export interface PipelineResult {
  label: ClassName;
  labelIndex: number;
  /** Softmax over [no-tumour, tumour]. */
  probabilities: number[];
  mode: DefenceMode;
  flagged: boolean;
  /** Detector score (null when the mode runs no detector). */
  score: number | null;
  /** Both scores, for research and the UI's details. */
  scores: Record<ScoreKind, number> | null;
  threshold: number | null;
  scoreKind: ScoreKind | null;
  /** DDIM start time (0 = not purified). */
  tStar: number;
  /** Number of DDIM steps run (0 when not purified). */
  steps: number;
  timesteps: number[];
  seed: number;
  /** Side length S of the images below. */
  size: number;
  /** The preprocessed input [S·S]. */
  input: Float32Array;
  /** Per-pixel MAE reconstruction error [S·S] (null when no detector ran). */
  errorMap: Float32Array | null;
  /** Purified image and purified − input [S·S] (null when not purified). */
  purified: Float32Array | null;
  difference: Float32Array | null;
  models: Array<{ name: ModelName; version: string; sha256: string; trained: boolean }>;
  ep: EpName;
  timings: StageTimings;
}

export interface PipelineCreateOptions {
  models: ModelBundle;
  /** Required for 'adaptive' scans; null = only 'purify-all' and 'undefended' work. */
  calibration: Calibration | null;
  /** 'auto' = selectExecutionProvider(); default 'auto'. */
  ep?: EpName | 'auto';
  threads?: number;
  /** Largest batch run at once (default 16). */
  maxBatch?: number;
  /** Detector settings when there is no calibration (e.g. to calibrate). Must match the calibration's when both. */
  K?: number;
  maskSeed?: number;
}

const DEFAULT_K = 4;
const DEFAULT_MASK_SEED = 20251114;

export class DefencePipeline {
  private constructor(
    readonly models: ModelBundle,
    readonly calibration: Calibration | null,
    readonly ep: EpName,
    readonly epTried: Array<{ ep: EpName; ok: boolean; reason?: string }>,
    readonly detector: Detector,
    readonly purifier: Purifier,
    readonly classifier: Classifier,
  ) {}

  static async create(o: PipelineCreateOptions): Promise<DefencePipeline> {
    const choice = o.ep === undefined || o.ep === 'auto' ? await selectExecutionProvider() : { ep: o.ep, tried: [{ ep: o.ep, ok: true }] };
    const session = { ep: choice.ep, threads: o.threads };
    const maxBatch = o.maxBatch ?? 16;
    const m = o.models;
    const sizes = [m.classifier.config.size, m.mae.config.size, m.unet.config.size];
    if (sizes.some((s) => s !== sizes[0])) throw new PipelineError('E_MODELS', `models disagree on the input size: ${sizes.join(', ')}`);
    const cal = o.calibration;
    if (cal) {
      if (cal.detector.maeSha256 !== m.mae.sha256) throw new PipelineError('E_CALIBRATION', 'calibration was measured with another MAE');
      if ((o.K !== undefined && o.K !== cal.detector.K) || (o.maskSeed !== undefined && o.maskSeed !== cal.detector.maskSeed)) {
        throw new PipelineError('E_CALIBRATION', `calibration is for K=${cal.detector.K}, mask seed ${cal.detector.maskSeed}`);
      }
    }
    const K = cal?.detector.K ?? o.K ?? DEFAULT_K;
    const maskSeed = cal?.detector.maskSeed ?? o.maskSeed ?? DEFAULT_MASK_SEED;
    return new DefencePipeline(
      m, cal, choice.ep, choice.tried,
      new Detector(m.mae.config, m.mae.weights, { K, maskSeed }, session, maxBatch),
      new Purifier(m.unet.config, m.unet.weights, session, maxBatch),
      new Classifier(m.classifier.config, m.classifier.weights, session, maxBatch),
    );
  }

  get size(): number {
    return this.models.classifier.config.size;
  }

  /** Checks one request image; returns its pixels. Throws PipelineError (E_INPUT_*) — never a label. */
  validate(img: unknown): Float32Array {
    return validateImage(img, this.size);
  }

  /** Runs a batch (any length; split into runs of maxBatch). Validate first: a bad image fails the whole call. */
  async scan(images: readonly ModelImage[], opts: ScanOptions = {}): Promise<PipelineResult[]> {
    const t0 = performance.now();
    const mode = opts.mode ?? 'adaptive';
    if (!DEFENCE_MODES.includes(mode)) throw new PipelineError('E_OPTION', `unknown mode ${String(mode)}`);
    this.checkVersions(opts.expectVersions);
    const cal = this.calibration;
    if (mode === 'adaptive' && !cal) throw new PipelineError('E_NOT_CALIBRATED', 'the detector has no calibration for these models: run `medfedpure calibrate --data DIR`');
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new PipelineError('E_OPTION', `seed must be an integer, got ${seed}`);
    const steps = opts.steps ?? cal?.purification.steps ?? 4;
    const fixedTStar = opts.fixedTStar ?? cal?.purification.purifyAllTStar ?? 100;
    ddimTimesteps(fixedTStar, steps); // validates both
    const S = this.size, ss = S * S, n = images.length;
    if (n === 0) return [];
    const x = new Float32Array(n * ss);
    images.forEach((img, i) => x.set(this.validate(img), i * ss));

    // 1. detect
    let t = performance.now();
    const det = mode === 'adaptive' ? await this.detector.detect(x, n) : null;
    const detectMs = performance.now() - t;
    const kind = cal?.scoreKind ?? null;
    if (opts.threshold !== undefined && !(Number.isFinite(opts.threshold) && opts.threshold > 0 && Number.isFinite(opts.threshold * (cal?.purification.sHiFactor ?? 2)))) {
      throw new PipelineError('E_OPTION', `threshold must be a positive finite number, got ${opts.threshold}`);
    }
    const map = cal ? (opts.threshold === undefined ? tStarMapOf(cal) : { ...tStarMapOf(cal), threshold: opts.threshold, sHi: opts.threshold * cal.purification.sHiFactor }) : null;
    const tStars = images.map((_, i) => (mode === 'purify-all' ? fixedTStar : mode === 'adaptive' ? tStarOf(det![i].scores[kind!], map!) : 0));

    // 2. purify the flagged (or all) images
    t = performance.now();
    const seeds = images.map((_, i) => mixSeed(seed, fnv1a(x.subarray(i * ss, (i + 1) * ss))));
    const jobs = images.map((_, i) => ({ x: x.subarray(i * ss, (i + 1) * ss), timesteps: ddimTimesteps(tStars[i], steps), seed: seeds[i] }));
    const toPurify = jobs.map((j, i) => (j.timesteps.length > 0 ? i : -1)).filter((i) => i >= 0);
    const purifiedList = toPurify.length > 0 ? await this.purifier.purify(toPurify.map((i) => jobs[i])) : [];
    const purified: (Float32Array | null)[] = images.map(() => null);
    toPurify.forEach((i, k) => (purified[i] = purifiedList[k]));
    const purifyMs = performance.now() - t;

    // 3. classify what each image became
    t = performance.now();
    const cx = new Float32Array(n * ss);
    for (let i = 0; i < n; i++) cx.set(purified[i] ?? x.subarray(i * ss, (i + 1) * ss), i * ss);
    const probs = await this.classifier.probabilities(cx, n);
    const classifyMs = performance.now() - t;

    const timings: StageTimings = { detectMs, purifyMs, classifyMs, totalMs: performance.now() - t0, batchSize: n };
    const models = modelInfo(this.models);
    return images.map((_, i) => {
      const input = x.slice(i * ss, (i + 1) * ss);
      const p = purified[i];
      let difference: Float32Array | null = null;
      if (p) {
        difference = new Float32Array(ss);
        for (let j = 0; j < ss; j++) difference[j] = p[j] - input[j];
      }
      const labelIndex = argmax(probs[i]);
      const d = det?.[i];
      return {
        label: CLASS_NAMES[labelIndex], labelIndex, probabilities: Array.from(probs[i]), mode,
        flagged: mode === 'adaptive' && tStars[i] > 0,
        score: d ? d.scores[kind!] : null, scores: d ? d.scores : null,
        threshold: d ? map!.threshold : null, scoreKind: d ? kind : null,
        tStar: tStars[i], steps: jobs[i].timesteps.length, timesteps: jobs[i].timesteps, seed: seeds[i],
        size: S, input, errorMap: d ? d.errorMap : null, purified: p, difference,
        models, ep: this.ep, timings,
      };
    });
  }

  status() {
    return {
      ep: this.ep,
      epTried: this.epTried,
      models: modelInfo(this.models),
      size: this.size,
      calibrated: this.calibration !== null,
      calibration: this.calibration && {
        split: this.calibration.split, n: this.calibration.n, fpr: this.calibration.fpr, scoreKind: this.calibration.scoreKind,
        threshold: this.calibration.scores[this.calibration.scoreKind].threshold, K: this.calibration.detector.K,
        unseenGroupFlagRate: this.calibration.scores[this.calibration.scoreKind].groupTransfer ?? null,
        ood: oodCutOf(this.calibration),
        steps: this.calibration.purification.steps, tMin: this.calibration.purification.tMin, tMax: this.calibration.purification.tMax,
        createdUtc: this.calibration.createdUtc,
      },
      detector: { K: this.detector.K, maskSeed: this.detector.opts.maskSeed },
      classifierHeldOut: this.models.classifier.provenance?.heldOut ?? null,
    };
  }

  private checkVersions(expect: ScanOptions['expectVersions']): void {
    if (!expect) return;
    if (typeof expect !== 'object') throw new PipelineError('E_INPUT_FIELDS', 'expectVersions must be an object');
    for (const [name, v] of Object.entries(expect)) {
      const m = (this.models as unknown as Record<string, { version: string } | undefined>)[name];
      if (!m || !['classifier', 'mae', 'unet'].includes(name)) throw new PipelineError('E_MODEL_VERSION', `unknown model "${name}"`);
      if (m.version !== v) throw new PipelineError('E_MODEL_VERSION', `model ${name} version ${String(v)} is not loaded (loaded: ${m.version})`);
    }
  }

  async release(): Promise<void> {
    await Promise.all([this.detector.release(), this.purifier.release(), this.classifier.release()]);
  }
}

/**
 * The out-of-distribution cut on the MAE's image-level error (the mse score): the calibration's (1 − OOD_FPR)
 * quantile, or in older calibration files the largest clean score (rate ≈ 1/(n + 1)).
 */
export function oodCutOf(c: Calibration): { scoreKind: 'mse'; threshold: number; fpr: number; rule: 'quantile' | 'max'; unseenGroupRate: GroupTransfer | null } {
  const m = c.scores.mse;
  return m.ood
    ? { scoreKind: 'mse', threshold: m.ood.threshold, fpr: m.ood.fpr, rule: 'quantile', unseenGroupRate: m.ood.groupTransfer ?? null }
    : { scoreKind: 'mse', threshold: m.max, fpr: 1 / (c.n + 1), rule: 'max', unseenGroupRate: null };
}

const IMAGE_FIELDS = new Set(['width', 'height', 'pixels']);

/** Request-image check: exactly { width, height, pixels: Float32Array }, S×S, finite, in [0, 1]. */
export function validateImage(img: unknown, size: number): Float32Array {
  if (typeof img !== 'object' || img === null) throw new PipelineError('E_INPUT_FIELDS', 'image must be an object { width, height, pixels }');
  for (const k of Object.keys(img)) {
    if (!IMAGE_FIELDS.has(k)) throw new PipelineError('E_INPUT_FIELDS', `unexpected field "${k}" in an image (the inference API takes pixels only${/label|target|class/i.test(k) ? '; it never takes a label' : ''})`);
  }
  const { width, height, pixels } = img as Partial<ModelImage>;
  if (!(pixels instanceof Float32Array)) throw new PipelineError('E_INPUT_FIELDS', 'pixels must be a Float32Array');
  if (width !== size || height !== size) throw new PipelineError('E_INPUT_SIZE', `image must be ${size}×${size}, got ${String(width)}×${String(height)} (preprocess first)`);
  if (pixels.length !== size * size) throw new PipelineError('E_INPUT_SIZE', `image must have ${size * size} pixels, got ${pixels.length}`);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (!Number.isFinite(v)) throw new PipelineError('E_INPUT_NONFINITE', `pixel ${i} is ${v}`);
    if (v < 0 || v > 1) throw new PipelineError('E_INPUT_RANGE', `pixel ${i} is ${v}, outside [0, 1]`);
  }
  return pixels;
}

export function fnv1a(x: Float32Array): number {
  const b = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

export function mixSeed(a: number, b: number): number {
  let h = Math.imul((a | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
