/**
 * Train / validation / test splits. Every number the project reports names the split it was measured on.
 *
 * 'group' (the honest one): Br35H holds only ~540 distinct slices among 3,000 files (rescaled, re-encoded, flipped
 * copies), so splitting by file puts copies of one slice on both sides and inflates accuracy. We split whole
 * near-duplicate groups instead:
 *   1. collect each group's label (a group mixing classes is an error: it cannot be stratified);
 *   2. per class, in ascending label order: sort that class's group ids, shuffle them with one mulberry32 stream
 *      (seed 42 by default), take round(20%) of the groups as test, then round(15%) of the remaining groups as
 *      validation (for calibration and model selection), the rest train.
 *   Parts: 'group-train', 'group-val', 'group-test'. Percentages are of groups, not files; counts are reported.
 *
 * 'random-80-20' (LEAKY, reported only to compare with the paper): a seeded file-level shuffle, 20% of files test,
 *   then 15% of the remaining files validation. Near-duplicates cross train/test, so its accuracy is inflated.
 *   Parts: 'random-80-20-train', 'random-80-20-val', 'random-80-20-test'.
 */
import { Rng } from '../../core/rng.js';

export type SplitScheme = 'group' | 'random-80-20';
export type SplitPartName =
  | 'group-train' | 'group-val' | 'group-test'
  | 'random-80-20-train' | 'random-80-20-val' | 'random-80-20-test';

export class SplitError extends Error {
  constructor(readonly code: 'SPLIT_MIXED_GROUP' | 'SPLIT_BAD_ARGUMENT', message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

export interface DatasetSplit {
  scheme: SplitScheme;
  /** True when near-duplicates may cross train/test (the random file-level split). Print it with every number. */
  leaky: boolean;
  seed: number;
  /** Sorted dataset indices of each part. */
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
  names: { train: SplitPartName; val: SplitPartName; test: SplitPartName };
  /** One line to print next to any metric measured on this split. */
  label: string;
}

export interface SplitOptions {
  seed?: number; // default 42
  testFraction?: number; // default 0.2
  valFraction?: number; // fraction of what remains after test, default 0.15
}

function checkFractions(o: SplitOptions): { seed: number; testFraction: number; valFraction: number } {
  const seed = o.seed ?? 42;
  const testFraction = o.testFraction ?? 0.2;
  const valFraction = o.valFraction ?? 0.15;
  if (!(testFraction >= 0 && testFraction < 1 && valFraction >= 0 && valFraction < 1) || !Number.isInteger(seed)) {
    throw new SplitError('SPLIT_BAD_ARGUMENT', `bad split options: seed ${seed}, test ${testFraction}, val ${valFraction}`);
  }
  return { seed, testFraction, valFraction };
}

function sortedIndices(a: number[]): Int32Array {
  return Int32Array.from(a).sort();
}

/** Per class, in ascending label order: that class's group ids, sorted, then shuffled by one shared `rng` stream. */
function shuffledGroupsByClass(groupLabel: ReadonlyMap<number, number>, rng: Rng): number[][] {
  const classes = [...new Set(groupLabel.values())].sort((a, b) => a - b);
  return classes.map((c) => rng.shuffle([...groupLabel].filter(([, l]) => l === c).map(([g]) => g).sort((a, b) => a - b)));
}

/** The leakage-free split by near-duplicate group, stratified by class. */
export function groupSplit(labels: ArrayLike<number>, groups: ArrayLike<number>, opts: SplitOptions = {}): DatasetSplit {
  const { seed, testFraction, valFraction } = checkFractions(opts);
  if (labels.length !== groups.length) throw new SplitError('SPLIT_BAD_ARGUMENT', 'labels and groups differ in length');
  const groupLabel = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups[i];
    const prev = groupLabel.get(g);
    if (prev === undefined) groupLabel.set(g, labels[i]);
    else if (prev !== labels[i]) {
      throw new SplitError('SPLIT_MIXED_GROUP', `group ${g} holds both label ${prev} and label ${labels[i]}; cannot stratify`);
    }
  }
  const part = new Map<number, 0 | 1 | 2>(); // group → 0 train, 1 val, 2 test
  for (const gs of shuffledGroupsByClass(groupLabel, new Rng(seed))) {
    const nTest = Math.round(testFraction * gs.length);
    const nVal = Math.round(valFraction * (gs.length - nTest));
    gs.forEach((g, k) => part.set(g, k < nTest ? 2 : k < nTest + nVal ? 1 : 0));
  }
  const out: [number[], number[], number[]] = [[], [], []];
  for (let i = 0; i < labels.length; i++) out[part.get(groups[i])!].push(i);
  return {
    scheme: 'group', leaky: false, seed,
    train: sortedIndices(out[0]), val: sortedIndices(out[1]), test: sortedIndices(out[2]),
    names: { train: 'group-train', val: 'group-val', test: 'group-test' },
    label: `group split (whole groups never cross parts; stratified by class; seed ${seed}; test ${Math.round(testFraction * 100)}% of groups)`,
  };
}

/** The paper's random 80/20 file-level split. LEAKY: kept only to compare with the paper's figures. */
export function randomSplit(count: number, opts: SplitOptions = {}): DatasetSplit {
  const { seed, testFraction, valFraction } = checkFractions(opts);
  const order = Array.from({ length: count }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const nTest = Math.round(testFraction * count);
  const nVal = Math.round(valFraction * (count - nTest));
  return {
    scheme: 'random-80-20', leaky: true, seed,
    test: sortedIndices(order.slice(0, nTest)),
    val: sortedIndices(order.slice(nTest, nTest + nVal)),
    train: sortedIndices(order.slice(nTest + nVal)),
    names: { train: 'random-80-20-train', val: 'random-80-20-val', test: 'random-80-20-test' },
    label: `random-80-20 file-level split, seed ${seed} — LEAKY: near-duplicate copies of one slice fall on both sides, accuracy is inflated`,
  };
}

export function makeSplit(scheme: SplitScheme, labels: ArrayLike<number>, groups: ArrayLike<number>, opts: SplitOptions = {}): DatasetSplit {
  return scheme === 'group' ? groupSplit(labels, groups, opts) : randomSplit(labels.length, opts);
}

/** How many test files share a group with some training or validation file (0 for the group split). */
export function leakage(split: DatasetSplit, groups: ArrayLike<number>): { testFiles: number; testFilesWithTwinInTrain: number } {
  const seen = new Set<number>();
  for (const i of split.train) seen.add(groups[i]);
  for (const i of split.val) seen.add(groups[i]);
  let n = 0;
  for (const i of split.test) if (seen.has(groups[i])) n++;
  return { testFiles: split.test.length, testFilesWithTwinInTrain: n };
}

/** Seed of the calibration holdout: the MAE's recipe, `calibrate` and the classifier's recipe study all use it. */
export const TRAIN_HOLDOUT_SEED = 42;

/**
 * The detector's calibration holdout: a class-stratified `fraction` of the *training* part's groups (whole groups,
 * mulberry32 seed `seed`, the same per-class procedure as groupSplit), which the masked autoencoder does not train on,
 * so that its threshold can be calibrated on more unseen clean images than group-val alone (about 55 groups, whose
 * 95th percentile is too noisy: measured on the first shipped MAE, group-val flagged 5.0 %, group-train 10.5 % and
 * group-test 12.9 % at the group-val threshold). Part name: 'group-train-holdout'.
 */
export function trainHoldout(split: DatasetSplit, labels: ArrayLike<number>, groups: ArrayLike<number>, opts: { fraction: number; seed?: number }): { holdout: Int32Array; rest: Int32Array; groups: number } {
  const seed = opts.seed ?? TRAIN_HOLDOUT_SEED;
  if (!(opts.fraction >= 0 && opts.fraction < 1) || !Number.isInteger(seed)) {
    throw new SplitError('SPLIT_BAD_ARGUMENT', `bad holdout options: fraction ${opts.fraction}, seed ${seed}`);
  }
  if (split.scheme !== 'group') throw new SplitError('SPLIT_BAD_ARGUMENT', 'a calibration holdout needs the group split');
  const groupLabel = new Map<number, number>();
  for (const i of split.train) groupLabel.set(groups[i], labels[i]);
  const held = new Set<number>();
  for (const gs of shuffledGroupsByClass(groupLabel, new Rng(seed))) {
    gs.slice(0, Math.round(opts.fraction * gs.length)).forEach((g) => held.add(g));
  }
  const holdout: number[] = [], rest: number[] = [];
  for (const i of split.train) (held.has(groups[i]) ? holdout : rest).push(i);
  return { holdout: sortedIndices(holdout), rest: sortedIndices(rest), groups: held.size };
}
