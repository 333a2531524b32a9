/**
 * `medfedpure bench detectors` — which attack-detector score can see small ℓ∞ perturbations? Candidate scores side
 * by side on the same clean and attacked images, each as AUROC (clean vs attacked) with a 95 % interval that
 * resamples whole near-duplicate groups.
 *
 *   medfedpure bench detectors --data DIR [--eps 2/255,4/255] [--limit N] [--steps 10] [--no-purify] [--json]
 *
 * Images: the Br35H group-split test part (seed-42 split, same order as `bench robustness`). Attack: PGD-ℓ∞ on the
 * committed classifier alone (K steps of α = 2.5·ε/K from a random start, true labels; the attacker ignores the
 * detector: "transfer" to it, as in `bench robustness`). Candidates:
 *  - mae-mse, mae-laplacian: the MAE detector's two scores (the paper's, and its high-pass variant; K = 4 masks);
 *  - squeeze-median: L1 distance between the classifier's softmax on the image and on a 3×3 median-filtered copy
 *    (feature squeezing, Xu et al. 2018);
 *  - squeeze-bits: the same against a copy quantised to 4 bits per pixel;
 *  - squeeze-max: the larger of the two (Xu et al.'s joint detector);
 *  - purify-1step: L1 between the softmax on the image and on a one-step DDIM purification from t = 50 (seeded).
 * Also reported: the classifier's accuracy on clean and attacked images (so a blind detector is not mistaken for a
 * weak attack).
 */
import { loadModelBundle } from '../../inference/pipeline/models.js';
import { DefencePipeline } from '../../inference/pipeline/pipeline.js';
import { auroc, readCalibration } from '../../inference/pipeline/calibrate.js';
import { ddimTimesteps } from '../../inference/pipeline/tstar.js';
import { argmax } from '../../inference/pipeline/classify.js';
import { loadYesNoFolder } from '../data/folder.js';
import { AttackKit } from '../attacks/oracles.js';
import { pgd } from '../attacks/pgd.js';
import { Rng } from '../../core/rng.js';
import { selectImages } from './robustness-bench.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../../core/cli-args.js';

const SPEC = {
  data: { kind: 'string', value: 'DIR', help: 'Br35H-style yes/no folder (its group-split test part is used)' },
  eps: { kind: 'string', value: 'LIST', help: 'ℓ∞ radii, e.g. 2/255,4/255 (default)' },
  limit: { kind: 'string', value: 'N', help: 'only the first N test images (same order as bench robustness)' },
  steps: { kind: 'string', value: 'K', help: 'PGD steps (default 10)' },
  'no-purify': { kind: 'boolean', help: 'skip the one-step purification candidate' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure bench detectors', SPEC, '--data DIR', 'AUROC of each attack-detector candidate, clean vs PGD-ℓ∞ on the classifier, with group-resampled 95 % intervals.');

export const CANDIDATES = ['mae-mse', 'mae-laplacian', 'squeeze-median', 'squeeze-bits', 'squeeze-max', 'purify-1step'] as const;
export type Candidate = (typeof CANDIDATES)[number];

/** 3×3 median filter with replicated edges, one S×S image. */
export function median3(src: Float32Array, S: number): Float32Array {
  const out = new Float32Array(S * S), win = new Float32Array(9);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let k = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = Math.min(S - 1, Math.max(0, y + dy));
        for (let dx = -1; dx <= 1; dx++) win[k++] = src[yy * S + Math.min(S - 1, Math.max(0, x + dx))];
      }
      win.sort();
      out[y * S + x] = win[4];
    }
  }
  return out;
}

/** Quantise [0, 1] pixels to `bits` bits per pixel. */
export function reduceBits(src: Float32Array, bits: number): Float32Array {
  const levels = 2 ** bits - 1;
  return src.map((v) => Math.round(v * levels) / levels);
}

const l1 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
};

/**
 * AUROC of attacked vs clean scores with a percentile 95 % interval from resampling whole groups (each group's clean
 * and attacked images together), `resamples` times.
 */
export function aurocWithGroupCI(clean: ArrayLike<number>, attacked: ArrayLike<number>, groups: ArrayLike<number>, resamples = 1000, seed = 7): { auroc: number; lo: number; hi: number } {
  const ids = [...new Set(Array.from(groups))];
  const members = new Map<number, number[]>(ids.map((g) => [g, []]));
  for (let i = 0; i < groups.length; i++) members.get(groups[i])!.push(i);
  const rng = new Rng(seed);
  const stats: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const neg: number[] = [], pos: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      for (const i of members.get(ids[rng.int(ids.length)])!) {
        neg.push(clean[i]);
        pos.push(attacked[i]);
      }
    }
    stats.push(auroc(neg, pos));
  }
  stats.sort((a, b) => a - b);
  return { auroc: auroc(clean, attacked), lo: stats[Math.floor(0.025 * resamples)], hi: stats[Math.ceil(0.975 * resamples) - 1] };
}

function parseEps(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`bad ε ${s}`);
  return Number(m[1]) / (m[2] ? Number(m[2]) : 1);
}

export async function benchDetectorsCommand(argv: string[]): Promise<number> {
  const { flags: a } = parseArgs(argv, SPEC);
  if (a.help) { console.log(USAGE); return 0; }
  if (typeof a.data !== 'string') throw new UsageError('--data DIR is required');
  const epsList = String(a.eps ?? '2/255,4/255').split(',').map(parseEps);
  const steps = Number(a.steps ?? 10), limit = Number(a.limit ?? 1e9);
  if (!(Number.isInteger(steps) && steps >= 1 && limit >= 1)) throw new UsageError('--steps and --limit must be positive integers');
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(`${s}\n`);
  const t0 = performance.now();

  const models = await loadModelBundle();
  const calibration = await readCalibration(models);
  const pipeline = await DefencePipeline.create({ models, calibration, ep: 'cpu', threads: 1, maxBatch: 16 });
  const S = pipeline.size, ss = S * S;
  const ds = await loadYesNoFolder(a.data, { size: S });
  const { indices, splitName } = selectImages(ds, 'test', limit);
  const sub = ds.subset(indices);
  const n = sub.count;
  log(`${n} images of ${splitName}; classifier ${models.classifier.version} (${models.classifier.sha256.slice(0, 12)}), MAE ${models.mae.version}`);

  const scoresOf = async (x: Float32Array): Promise<{ scores: Record<Candidate, Float64Array>; correct: number }> => {
    const out = Object.fromEntries(CANDIDATES.map((c) => [c, new Float64Array(n)])) as Record<Candidate, Float64Array>;
    const det = await pipeline.detector.detect(x, n);
    det.forEach((d, i) => { out['mae-mse'][i] = d.scores.mse; out['mae-laplacian'][i] = d.scores.laplacian; });
    const med = new Float32Array(x.length), bits = new Float32Array(x.length);
    for (let i = 0; i < n; i++) {
      med.set(median3(x.subarray(i * ss, (i + 1) * ss), S), i * ss);
      bits.set(reduceBits(x.subarray(i * ss, (i + 1) * ss), 4), i * ss);
    }
    const [p, pm, pb] = await Promise.all([pipeline.classifier.probabilities(x, n), pipeline.classifier.probabilities(med, n), pipeline.classifier.probabilities(bits, n)]);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      out['squeeze-median'][i] = l1(p[i], pm[i]);
      out['squeeze-bits'][i] = l1(p[i], pb[i]);
      out['squeeze-max'][i] = Math.max(out['squeeze-median'][i], out['squeeze-bits'][i]);
      if (argmax(p[i]) === sub.labels[i]) correct++;
    }
    if (!a['no-purify']) {
      const timesteps = ddimTimesteps(50, 1);
      const purified = await pipeline.purifier.purify(Array.from({ length: n }, (_, i) => ({ x: x.subarray(i * ss, (i + 1) * ss), timesteps, seed: 1000 + i })));
      const px = new Float32Array(x.length);
      purified.forEach((q, i) => px.set(q, i * ss));
      const pp = await pipeline.classifier.probabilities(px, n);
      for (let i = 0; i < n; i++) out['purify-1step'][i] = l1(p[i], pp[i]);
    } else out['purify-1step'].fill(Number.NaN);
    return { scores: out, correct };
  };

  const clean = await scoresOf(sub.images);
  log(`clean: classifier accuracy ${(100 * clean.correct / n).toFixed(1)} %  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  const kit = new AttackKit(pipeline, { ep: 'cpu', threads: 1 });
  const ids = [...Array(n).keys()];
  const rows: Array<{ eps: number; accuracy: number; candidates: Record<string, { auroc: number; lo: number; hi: number } | null> }> = [];
  for (const eps of epsList) {
    const adv = (await pgd(kit.classifierOracle(), sub.images, sub.labels, ids, { norm: 'linf', eps, alpha: (2.5 * eps) / steps, steps, restarts: 1, randomStart: true, seed: 0 })).adv;
    const attacked = await scoresOf(adv);
    const candidates: Record<string, { auroc: number; lo: number; hi: number } | null> = {};
    for (const c of CANDIDATES) candidates[c] = Number.isNaN(clean.scores[c][0]) ? null : aurocWithGroupCI(clean.scores[c], attacked.scores[c], sub.groups);
    rows.push({ eps, accuracy: attacked.correct / n, candidates });
    log(`ε ${(eps * 255).toFixed(0)}/255: classifier accuracy ${(100 * attacked.correct / n).toFixed(1)} %; ${CANDIDATES.map((c) => `${c} ${candidates[c] ? candidates[c]!.auroc.toFixed(3) : '—'}`).join(', ')}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await pipeline.release();

  const report = { split: splitName, n, groups: new Set(Array.from(sub.groups)).size, steps, cleanAccuracy: clean.correct / n, classifier: { version: models.classifier.version, sha256: models.classifier.sha256 }, rows, seconds: (performance.now() - t0) / 1000 };
  if (a.json) console.log(JSON.stringify(report));
  else {
    const head = `| candidate | ${rows.map((r) => `AUROC at ${(r.eps * 255).toFixed(0)}/255 [95 % CI]`).join(' | ')} |`;
    const lines = [head, `|---|${rows.map(() => '---').join('|')}|`];
    for (const c of CANDIDATES) lines.push(`| ${c} | ${rows.map((r) => (r.candidates[c] ? `${r.candidates[c]!.auroc.toFixed(3)} [${r.candidates[c]!.lo.toFixed(3)}, ${r.candidates[c]!.hi.toFixed(3)}]` : '—')).join(' | ')} |`);
    lines.push(`| classifier accuracy (clean ${(100 * report.cleanAccuracy).toFixed(1)} %) | ${rows.map((r) => `${(100 * r.accuracy).toFixed(1)} %`).join(' | ')} |`);
    log(lines.join('\n'));
    log(`${n} images, ${report.groups} groups; PGD-ℓ∞ K = ${steps} on the classifier alone; ${report.seconds.toFixed(0)} s`);
  }
  return 0;
}
