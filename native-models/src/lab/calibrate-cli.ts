/**
 * `medfedpure calibrate` — calibrate the detector threshold on clean held-out images (group-val + the MAE's
 * group-train holdout) and store it next to the models (calibrate.ts says where and how).
 *
 *   medfedpure calibrate --data DIR [--fpr 0.05] [--k 4] [--mask-seed N] [--score mse|laplacian] [--steps 4]
 *                        [--t-min 50] [--t-max 150] [--s-hi-factor 2] [--compare] [--out FILE] [--json]
 *   medfedpure calibrate --synthetic ...     (Colin27 stand-in; says so in the file)
 *
 * Uses the leakage-free group split's validation part (seed 42), never test, plus — when the MAE's recipe kept one out
 * of its training — the group-train calibration holdout (data/split.ts trainHoldout): unseen clean groups the detector
 * never trained on (only on the dataset the MAE was trained on: same fingerprint). The holdout is re-derived from the
 * recipe's fraction and seed and must match the MAE's recorded image count, else the command refuses. `--compare`
 * also reports, on the same validation images, how well each score separates clean images from copies with a random
 * ±ε (ε = 8/255) sign perturbation — a proxy for high-frequency adversarial noise, not an attack (attacks come with
 * the robustness benchmark); it is what the choice of the default score is based on until then.
 */
import { loadYesNoFolder } from './data/folder.js';
import { loadSynthetic, SYNTHETIC_CAVEAT } from './data/synthetic.js';
import { TRAIN_HOLDOUT_SEED, groupSplit, trainHoldout, type DatasetSplit } from './data/split.js';
import { Rng } from '../core/rng.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../core/cli-args.js';
import { loadModelBundle, type LoadedModel } from '../inference/pipeline/models.js';
import { PipelineError } from '../inference/pipeline/errors.js';
import { DefencePipeline } from '../inference/pipeline/pipeline.js';
import { auroc, calibrate, calibrationPath, writeCalibration, PURIFICATION_DEFAULTS } from '../inference/pipeline/calibrate.js';
import { SCORE_KINDS, type ScoreKind } from '../inference/pipeline/detector.js';

const SPEC = {
  data: { kind: 'string', value: 'DIR', help: 'Br35H-style yes/no folder' },
  synthetic: { kind: 'boolean', help: 'the Colin27 + lesion-mask stand-in instead of --data' },
  fpr: { kind: 'string', value: 'P', help: 'target false-positive rate on clean images (default 0.05)' },
  k: { kind: 'string', value: 'N', help: 'MAE masks per image (default 4)' },
  'mask-seed': { kind: 'string', value: 'N', help: 'seed of the MAE masks' },
  score: { kind: 'string', value: 'KIND', help: `detector score: ${SCORE_KINDS.join(' | ')} (default mse)` },
  steps: { kind: 'string', value: 'N', help: 'DDIM steps' },
  't-min': { kind: 'string', value: 'N', help: 'smallest t*' },
  't-max': { kind: 'string', value: 'N', help: 'largest t*' },
  's-hi-factor': { kind: 'string', value: 'X', help: 'score at which t* reaches t-max, as a multiple of the threshold' },
  compare: { kind: 'boolean', help: 'also compare the score kinds' },
  limit: { kind: 'string', value: 'N', help: 'use only the first N calibration images' },
  'models-dir': { kind: 'string', value: 'D', help: 'models folder (default native-models/models)' },
  out: { kind: 'string', value: 'FILE', help: 'where to write the calibration (default: beside the models)' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure calibrate', SPEC, '(--data DIR | --synthetic)', 'Detector threshold at a target FPR on clean images the MAE never saw, and the t* map.');

export async function calibrateCommand(argv: string[]): Promise<number> {
  const { flags: a } = parseArgs(argv, SPEC);
  if (a.help) { console.log(USAGE); return 0; }
  if (!a.data && !a.synthetic) throw new UsageError('--data DIR or --synthetic is required');
  const num = (k: string, d: number) => (a[k] === undefined ? d : Number(a[k]));
  const fpr = num('fpr', 0.05), K = num('k', 4), maskSeed = num('mask-seed', 20251114);
  const score = (a.score ?? 'mse') as ScoreKind;
  if (!SCORE_KINDS.includes(score)) throw new UsageError(`--score must be one of ${SCORE_KINDS.join(', ')}`);
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(`${s}\n`);

  const models = await loadModelBundle({ modelsDir: a['models-dir'] as string | undefined });
  const ds = a.synthetic ? await loadSynthetic({ size: models.mae.config.size }) : await loadYesNoFolder(String(a.data), { size: models.mae.config.size });
  const split = groupSplit(ds.labels, ds.groups);
  let part: { indices: Int32Array; name: string };
  try {
    part = calibrationPart(models.mae.provenance, ds.labels, ds.groups, ds.meta.fingerprint, split);
  } catch (e) {
    console.error(`calibrate: ${(e as Error).message}`);
    return 2;
  }
  let val = part.indices;
  if (a.limit !== undefined) val = val.subarray(0, Number(a.limit));
  const sub = ds.subset(val);
  log(`calibrating on ${part.name}: ${sub.count} clean images (${ds.meta.source})${ds.meta.caveat ? ` — ${ds.meta.caveat}` : ''}`);
  if (!models.mae.trained) log('NOTE: untrained seeded models (no native-models/models/manifest.json): this calibration is for development only');

  const pipeline = await DefencePipeline.create({ models, calibration: null, ep: 'cpu', K, maskSeed });
  const t0 = performance.now();
  const { calibration, scores } = await calibrate(pipeline.detector, models.mae.sha256, models.mae.version, sub.images, sub.count, {
    fpr, scoreKind: score, split: part.name + (a.limit !== undefined ? ` (first ${sub.count})` : ''),
    data: { source: ds.meta.source + (a.synthetic ? ` (${SYNTHETIC_CAVEAT})` : ''), fingerprint: ds.meta.fingerprint },
    groups: sub.groups,
    purification: {
      tMin: num('t-min', PURIFICATION_DEFAULTS.tMin), tMax: num('t-max', PURIFICATION_DEFAULTS.tMax),
      steps: num('steps', PURIFICATION_DEFAULTS.steps), sHiFactor: num('s-hi-factor', PURIFICATION_DEFAULTS.sHiFactor),
    },
  });
  const seconds = (performance.now() - t0) / 1000;

  let comparison: Record<ScoreKind, number> | undefined;
  if (a.compare) {
    const eps = 8 / 255, rng = new Rng(7);
    const noisy = new Float32Array(sub.images);
    for (let i = 0; i < noisy.length; i++) noisy[i] = Math.min(1, Math.max(0, noisy[i] + (rng.uniform() < 0.5 ? -eps : eps)));
    const det = await pipeline.detector.detect(noisy, sub.count);
    comparison = { mse: auroc(scores.mse, det.map((d) => d.scores.mse)), laplacian: auroc(scores.laplacian, det.map((d) => d.scores.laplacian)) };
  }
  await pipeline.release();
  const out = (a.out as string | undefined) ?? calibrationPath(models);
  await writeCalibration(out, calibration);
  const report = { file: out, calibration, seconds, ...(comparison ? { proxyAurocSignNoise8: comparison } : {}) };
  if (a.json) console.log(JSON.stringify(report));
  else {
    for (const k of SCORE_KINDS) {
      const c = calibration.scores[k];
      log(`${k.padEnd(9)} threshold ${c.threshold.toExponential(4)}  median ${c.median.toExponential(4)}  max ${c.max.toExponential(4)}  val flag rate ${(100 * c.valFlagRate).toFixed(1)}%${comparison ? `  proxy AUROC (±8/255 sign noise) ${comparison[k].toFixed(3)}` : ''}`);
      const t = c.groupTransfer;
      if (t) log(`${''.padEnd(9)} on unseen groups (threshold from one random half of the groups, ${t.draws} draws): flag rate ${(100 * t.mean).toFixed(1)}% ± ${(100 * t.sd).toFixed(1)}, 95th percentile ${(100 * t.p95).toFixed(1)}%`);
    }
    log(`flagging score: ${calibration.scoreKind}; FPR target ${fpr}; K ${K}; ${seconds.toFixed(1)} s\nwrote ${out}`);
  }
  return 0;
}

/**
 * The clean images the threshold is calibrated on: group-val, plus the MAE's group-train holdout when its recipe kept
 * one (`calibrationHoldout` > 0) and these are the images it was trained on (same data fingerprint). The holdout is
 * re-derived here and checked against the MAE's record, so a changed split cannot silently put training images into
 * the calibration set.
 */
export function calibrationPart(provenance: LoadedModel<unknown>['provenance'], labels: ArrayLike<number>, groups: ArrayLike<number>,
  fingerprint: string, split: DatasetSplit): { indices: Int32Array; name: string } {
  const recipe = provenance?.recipe ?? {};
  const fraction = Number(recipe.calibrationHoldout ?? 0);
  if (!(fraction > 0)) return { indices: split.val, name: split.names.val };
  // Another dataset (a site recalibrating on its own clean scans, the synthetic stand-in): the MAE saw none of it,
  // so its validation part is unseen data as it stands; the holdout belongs to the training data only.
  if (provenance?.dataFingerprint !== fingerprint) return { indices: split.val, name: `${split.names.val} (not the MAE's training data)` };
  const seed = Number(recipe.calibrationHoldoutSeed ?? TRAIN_HOLDOUT_SEED);
  const held = trainHoldout(split, labels, groups, { fraction, seed });
  if (held.holdout.length !== Number(recipe.calibrationHoldoutImages)) {
    throw new PipelineError('E_CALIBRATION', `calibration holdout mismatch: the MAE recorded ${String(recipe.calibrationHoldoutImages)} held-out images, re-derived ${held.holdout.length}`);
  }
  const indices = Int32Array.from([...split.val, ...held.holdout]).sort();
  return { indices, name: `${split.names.val} + group-train-holdout (${Math.round(fraction * 100)} % of group-train groups, seed ${seed}, not seen by the MAE)` };
}
