/**
 * What the three training recipes share: loading the data and its split, the run folder (checkpoints) named by a
 * hash of the run's configuration, a seeded pixel-noise augmentation layered on the dataset's own augmentation,
 * batched evaluation with a fixed-batch inference session, and small helpers (timing, argument errors).
 *
 * Data: `--data DIR` is a Br35H-style yes/no folder (groups from NEAR_DUPLICATES.tsv); `--data synthetic` is the
 * Colin27 stand-in, whose every number carries the caveat "synthetic lesions, one anatomy". The split is always the
 * leakage-free group split (seed 42): train for fitting, validation for model selection, test evaluated once at the end.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYesNoFolder, parseGroupTable } from '../data/folder.js';
import { decodeImage } from '../../inference/image/decode.js';
import { letterboxResize, quantiseInPlace } from '../../inference/image/resize.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { loadSynthetic, SYNTHETIC_CAVEAT } from '../data/synthetic.js';
import { ImageDataset } from '../../core/train/dataset.js';
import { groupSplit, type DatasetSplit } from '../data/split.js';
import { datasetFactory } from '../../core/train/data.js';
import type { DataFactory } from '../../core/train/trainer.js';
import type { AugmentOptions } from '../../core/train/augment.js';
import { deriveSeed, Rng } from '../../core/rng.js';
import { synthesiseLesion } from '../data/lesion.js';
import { ModelSession, feedsOf, type Feed, type SessionOptions } from '../../core/runtime/session.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';

/** Repository root (recipes live in native-models/src/lab/recipes). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const RUNS_DIR = join(REPO_ROOT, '.cache', 'runs');
export const SPLIT_SEED = 42;
export const SPLIT_NAME = 'br35h-group-v1 (seed 42)';

export class RecipeError extends Error {
  constructor(readonly code: 'RECIPE_BAD_ARGUMENT' | 'RECIPE_RUN_EXISTS' | 'RECIPE_DATA', message: string) {
    super(message);
    this.name = 'RecipeError';
  }
}

export interface TrainingData {
  ds: ImageDataset;
  split: DatasetSplit;
  synthetic: boolean;
  /** The yes/no folder (null for the synthetic stand-in). */
  dir: string | null;
  /** Human-readable description: source, counts, caveat. */
  description: string;
  /** Name of the split for reports ("br35h-group-v1 (seed 42)" or "synthetic-group (seed 42)"). */
  splitName: string;
  caveat: string | null;
}

export async function loadTrainingData(data: string, size: number, log: (s: string) => void = () => {}): Promise<TrainingData> {
  const synthetic = data === 'synthetic';
  const ds = synthetic
    ? await loadSynthetic({ size })
    : await loadYesNoFolder(data, {
      size,
      onProgress: (d, n) => { if (d === n || d % 500 === 0) log(`decoding ${d}/${n}`); },
    });
  const split = groupSplit(ds.labels, ds.groups, { seed: SPLIT_SEED });
  const part = (idx: Int32Array) => {
    const [no, yes] = ds.classCounts(idx);
    return `${idx.length} (yes ${yes} / no ${no}, ${new Set([...idx].map((i) => ds.groups[i])).size} groups)`;
  };
  const caveat = synthetic ? SYNTHETIC_CAVEAT : (ds.meta.caveat ?? null);
  const description = [
    `${ds.meta.source}: ${ds.count} images at ${size}×${size}, ${new Set(ds.groups).size} near-duplicate groups (${ds.meta.groupSource})`,
    `fingerprint ${ds.meta.fingerprint}`,
    `${split.label}`,
    `group-train ${part(split.train)}; group-val ${part(split.val)}; group-test ${part(split.test)}`,
    ...(caveat ? [`CAVEAT: ${caveat}`] : []),
  ].join('\n');
  return { ds, split, synthetic, dir: synthetic ? null : data, description, splitName: synthetic ? `synthetic-group (seed ${SPLIT_SEED})` : SPLIT_NAME, caveat };
}

/**
 * Applies `--set key=value` overrides to a recipe: only existing top-level keys whose value is a number or a
 * boolean, with a value of the same type. Anything else is a RecipeError (a typo must not be silently ignored).
 */
export function applyOverrides<R extends object>(recipe: R, overrides: Record<string, string> = {}): R {
  const out: Record<string, unknown> = { ...(recipe as Record<string, unknown>) };
  for (const [key, raw] of Object.entries(overrides)) {
    // `a.b` reaches one level into an object field (e.g. net.width=16, net.norm=group), copied, never mutated
    const dot = key.indexOf('.');
    let obj = out, k = key;
    if (dot > 0) {
      const head = key.slice(0, dot), inner = out[head];
      if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
        obj = { ...(inner as Record<string, unknown>) };
        out[head] = obj;
        k = key.slice(dot + 1);
      }
    }
    const cur = obj[k];
    if (typeof cur === 'number') {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new RecipeError('RECIPE_BAD_ARGUMENT', `--set ${key}=${raw}: not a number`);
      obj[k] = v;
    } else if (typeof cur === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new RecipeError('RECIPE_BAD_ARGUMENT', `--set ${key}=${raw}: expected true or false`);
      obj[k] = raw === 'true';
    } else if (typeof cur === 'string' && dot > 0) {
      obj[k] = raw; // a string inside an object field (net.norm); the net checks its value
    } else {
      const keys = Object.entries(recipe).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean').map(([n]) => n);
      throw new RecipeError('RECIPE_BAD_ARGUMENT', `--set ${key}: not a settable recipe key (settable: ${keys.join(', ')}, and the fields of object keys as key.field)`);
    }
  }
  return out as R;
}

export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12);
}

/**
 * The run folder `.cache/runs/<model>-<hash>` for a configuration. With `resume` the trainer continues from its
 * newest checkpoint; with `fresh` old checkpoints are deleted; with neither, existing checkpoints are an error (so a
 * finished or interrupted run is never silently overwritten).
 */
export async function prepareRunDir(model: string, config: unknown, o: { resume: boolean; fresh: boolean; runsDir?: string }): Promise<string> {
  const dir = join(o.runsDir ?? RUNS_DIR, `${model}-${configHash(config)}`);
  await mkdir(dir, { recursive: true });
  const ckpts = (await readdir(dir)).filter((n) => /^ckpt-\d+\.mfpw$/.test(n) || n === 'best.mfpw');
  if (ckpts.length && !o.resume) {
    if (!o.fresh) throw new RecipeError('RECIPE_RUN_EXISTS', `${dir} already holds checkpoints of this configuration; pass --resume to continue it or --fresh to start over`);
    for (const n of ckpts) await rm(join(dir, n));
  }
  return dir;
}

export interface NoiseOptions {
  /** Probability that an image gets noise. */
  p: number;
  /** σ is drawn uniformly in [0, sigmaMax] per image (pixel units, image in [0, 1]). */
  sigmaMax: number;
}

const NOISE_STREAM = 0x6e6f6973; // 'nois'
const LESION_STREAM = 0x6c65736e; // 'lesn'

/**
 * The dataset's augmented batches (flip, affine, gamma/contrast/brightness; see data/augment.ts), then, optionally,
 * lesion synthesis (each no-tumour image becomes a tumour example with a painted blob with probability
 * `lesionSynthP`; data/lesion.ts), then mild additive Gaussian pixel noise, clamped to [0, 1], so that slightly noisy
 * inputs (e.g. purified images) are in-distribution. The randomness of batch b of epoch e comes from
 * Rng(deriveSeed(seed, stream, e, b)): resume stays exact.
 */
export function augmentedFactory(ds: ImageDataset, indices: Int32Array, batchSize: number, augment: AugmentOptions | null,
  noise: NoiseOptions | null, seed: number, opts: { dropLast?: boolean; lesionSynthP?: number } = {}): DataFactory {
  const base = datasetFactory(ds, indices, batchSize, { augment, dropLast: opts.dropLast ?? true });
  const lesionP = opts.lesionSynthP ?? 0;
  if (!(lesionP >= 0 && lesionP <= 1)) throw new RecipeError('RECIPE_BAD_ARGUMENT', `lesionSynthP must be in [0, 1], got ${lesionP}`);
  if (!noise && lesionP === 0) return base;
  return (ctx) => {
    const it = base(ctx) as Iterable<{ x: TensorF32; y?: Int32Array }>;
    return (function* () {
      let b = ctx.startBatch;
      for (const batch of it) {
        if (lesionP > 0 && batch.y) addLesions(batch.x, batch.y, lesionP, new Rng(deriveSeed(seed, LESION_STREAM, ctx.epoch, b)));
        if (noise) addNoise(batch.x, noise, new Rng(deriveSeed(seed, NOISE_STREAM, ctx.epoch, b)));
        b++;
        yield batch;
      }
    })();
  };
}

/** Lesion synthesis on a batch, in place: each label-0 image becomes label 1 with a painted lesion, with probability p. */
export function addLesions(x: TensorF32, y: Int32Array, p: number, rng: Rng): void {
  const [n, , h, w] = x.shape;
  const per = h * w;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 || !(rng.next() < p)) continue;
    if (synthesiseLesion(x.data.subarray(i * per, (i + 1) * per), w, h, rng)) y[i] = 1;
  }
}

export function addNoise(x: TensorF32, o: NoiseOptions, rng: Rng): void {
  const [n] = x.shape;
  const per = x.data.length / n;
  const buf = new Float32Array(per);
  for (let i = 0; i < n; i++) {
    const on = rng.next() < o.p;
    const sigma = rng.uniform(0, o.sigmaMax);
    if (!on || sigma === 0) continue;
    rng.fillNormal(buf, sigma);
    const d = x.data.subarray(i * per, (i + 1) * per);
    for (let k = 0; k < per; k++) {
      const v = d[k] + buf[k];
      d[k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}

/**
 * Runs a fixed-batch inference graph over `count` items: `fill(x, from, n)` writes items [from, from+n) into the
 * batch buffer (the rest of a last, short batch stays zero), `take(out, from, n)` reads the fetched outputs.
 * One session for any number of items.
 */
export class BatchedRunner {
  private constructor(private readonly session: ModelSession, readonly batch: number) {}

  static async create(model: Uint8Array, batch: number, opts: SessionOptions): Promise<BatchedRunner> {
    return new BatchedRunner(await ModelSession.create(model, opts), batch);
  }

  async run(weights: NamedWeights, count: number, inputs: (from: number, n: number) => Record<string, Feed>,
    fetches: string[], take: (out: Map<string, TensorF32>, from: number, n: number) => void): Promise<void> {
    for (let from = 0; from < count; from += this.batch) {
      const n = Math.min(this.batch, count - from);
      const out = await this.session.run(feedsOf(weights, inputs(from, n)), fetches);
      take(out, from, n);
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Copies images `indices[from..from+n)` of a dataset into a [batch, 1, S, S] buffer (zero padding after n). */
export function gatherImages(ds: ImageDataset, indices: ArrayLike<number>, from: number, n: number, batch: number, buf?: Float32Array): TensorF32 {
  const ss = ds.size * ds.size;
  const data = buf ?? new Float32Array(batch * ss);
  data.fill(0, n * ss);
  for (let k = 0; k < n; k++) data.set(ds.image(indices[from + k]), k * ss);
  return { shape: [batch, 1, ds.size, ds.size], data };
}

export function seconds(t0: number): number {
  return Math.round((performance.now() - t0) / 100) / 10;
}

/** Weight decay only on weight matrices and kernels (not biases, norms, embeddings of rank 1). */
export const decayMatricesOnly = (_name: string, shape: readonly number[]): boolean => shape.length > 1;

/**
 * Wall-clock training time summed over the sessions of one run folder (resume adds to it). Saved to
 * `<runDir>/time.json` at each checkpoint; on resume the time after the last checkpoint of a killed session is lost,
 * so the sum is a slight under-estimate then.
 */
export class TimeLedger {
  private t0 = performance.now();
  private constructor(private readonly path: string, private prior: number) {}

  static async open(runDir: string, resume: boolean): Promise<TimeLedger> {
    const path = join(runDir, 'time.json');
    let prior = 0;
    if (resume) {
      try {
        prior = Number(JSON.parse(await readFile(path, 'utf8')).seconds) || 0;
      } catch { /* first session */ }
    }
    return new TimeLedger(path, prior);
  }

  get seconds(): number {
    return Math.round(this.prior + (performance.now() - this.t0) / 1000);
  }

  async save(): Promise<void> {
    await writeFile(this.path, JSON.stringify({ seconds: this.seconds, savedAt: new Date().toISOString() }));
  }
}

/**
 * Unlabelled `pred/` images of a Br35H folder whose group (NEAR_DUPLICATES.tsv) is not in `exclude`.
 * Returns the images and how many were left out because their group is held out.
 */
export async function loadPredImages(dir: string, size: number, exclude: Set<number>): Promise<{ images: Float32Array[]; groups: number[]; paths: string[]; excluded: string[] }> {
  const tsv = await readFile(join(dir, 'NEAR_DUPLICATES.tsv'), 'utf8').catch(() => null);
  const out = { images: [] as Float32Array[], groups: [] as number[], paths: [] as string[], excluded: [] as string[] };
  if (tsv === null) return out; // without groups we cannot prove pred images are disjoint from val/test: use none
  const table = parseGroupTable(tsv, join(dir, 'NEAR_DUPLICATES.tsv'));
  for (const [rel, g] of [...table].filter(([p]) => p.startsWith('pred/')).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (exclude.has(g)) { out.excluded.push(rel); continue; }
    const bytes = await readFile(join(dir, rel)).catch(() => null);
    if (!bytes) continue;
    out.images.push(letterboxResize(decodeImage(bytes, rel), size));
    out.groups.push(g);
    out.paths.push(rel);
  }
  for (const im of out.images) quantiseInPlace(im);
  return out;
}

/**
 * Training set of the self-supervised models (MAE, diffusion): group-train images plus the admissible unlabelled
 * pred/ images, as one dataset (labels of pred/ images are set to 0 and must not be used). `holdout` (indices of
 * group-train, whole groups: split.ts trainHoldout) is left out, pred/ images of those groups too.
 */
export async function cleanTrainingSet(data: TrainingData, usePred: boolean, opts: { holdout?: Int32Array } = {}) {
  const dataDir = data.dir;
  const { ds, split } = data;
  const holdout = opts.holdout ?? new Int32Array(0);
  const heldOut = new Set<number>([...split.val, ...split.test, ...holdout].map((i) => ds.groups[i]));
  const pred = usePred && dataDir ? await loadPredImages(dataDir, ds.size, heldOut) : { images: [], groups: [], paths: [], excluded: [] };
  const trainIdx = holdout.length ? split.train.filter((i) => !heldOut.has(ds.groups[i])) : split.train;
  const base = ds.subset(trainIdx, `${ds.name}-clean-train`);
  const ss = ds.size * ds.size;
  const n = base.count + pred.images.length;
  const images = new Float32Array(n * ss);
  images.set(base.images);
  pred.images.forEach((im, k) => images.set(im, (base.count + k) * ss));
  const set = new ImageDataset(`${ds.name}-clean-train`, ds.size, images,
    Int32Array.from({ length: n }, (_, i) => (i < base.count ? base.labels[i] : 0)),
    Int32Array.from([...base.groups, ...pred.groups]), [...base.paths, ...pred.paths], ds.meta);
  return { set, predUsed: pred.paths.length, predExcluded: pred.excluded };
}

