/**
 * `medfedpure bench robustness` — attacks × defences on the same images, resumable, with a report folder.
 *
 *   medfedpure bench robustness --data DIR|synthetic [--split test|all|random-80-20-test] [--attack fgsm,pgd-linf,...]
 *       [--eps 1/255,2/255,4/255,8/255] [--eps-l2 0.5,1,2] [--limit N] [--steps K] [--eot E] [--restarts R]
 *       [--batch B] [--seed S] [--lambda X] [--margin X] [--out DIR] [--models-dir D | --dev-models]
 *       [--calibration FILE] [--threads N] [--json]
 *
 * Defences (all on every image): undefended classifier; MAE-reject only (flagged scans refused); purify-everything
 * (DiffPure-style, the calibration's fixed t*); the full adaptive pipeline (DefencePipeline, unchanged).
 * Attacks (attacks/): fgsm, pgd-linf, pgd-l2 on the classifier alone (scored on every defence: transfer, the paper's
 * threat model); eot (PGD-EOT with exact gradients through the DDIM chain), bpda (identity backward through the
 * purifier) — each aimed at purify-all and at adaptive; detector-aware (eot + λ·score hinge) aimed at adaptive and at
 * mae-reject. PGD: K steps of α = 2.5·ε/K from a random start (Madry et al.), R restarts.
 *
 * Labels go to the attacks only (the attacker's knowledge). The defences are scanned with DefencePipeline.scan,
 * which takes pixels and refuses labels; evaluation noise = the pipeline's own (seed 0, per-image hash), which the
 * EOT attacker does not reuse (it draws its own seeded noises).
 *
 * Resumable: every finished (image, attack, ε, target) appends one JSON line to <out>/results.jsonl; a rerun with
 * the same settings skips what is there (settings are checked against <out>/config.json). The report (summary.json,
 * REPORT.md, SVG plots) is rewritten after every batch, so a partial run always has a current report.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadModelBundle, seededBundle, type ModelBundle } from '../../inference/pipeline/models.js';
import { DefencePipeline, type PipelineResult } from '../../inference/pipeline/pipeline.js';
import { readCalibration, checkCalibration, type Calibration } from '../../inference/pipeline/calibrate.js';
import { loadYesNoFolder } from '../data/folder.js';
import { loadSynthetic, SYNTHETIC_CAVEAT } from '../data/synthetic.js';
import { groupSplit, randomSplit } from '../data/split.js';
import { Rng as DataRng } from '../../core/rng.js';
import type { ImageDataset } from '../../core/train/dataset.js';
import { ATTACKED_DEFENCES, AttackKit, type AttackedDefence } from '../attacks/oracles.js';
import { pgd, fgsmOptions, type GradientOracle, type PgdOptions } from '../attacks/pgd.js';
import { l2Dist, linfDist } from '../attacks/project.js';
import { AttackError } from '../attacks/errors.js';
import { DEFENCES, writeReport, type AdvRecord, type BenchRecord, type CleanRecord, type Defence, type DefenceEval } from './robustness-report.js';
import { parseArgs, usage, type FlagSpec } from '../../core/cli-args.js';

export const ATTACKS = ['fgsm', 'pgd-linf', 'pgd-l2', 'eot', 'bpda', 'detector-aware'] as const;

const SPEC = {
  data: { kind: 'string', value: 'DIR|synthetic', help: 'Br35H-style yes/no folder, or the synthetic stand-in' },
  split: { kind: 'string', value: 'PART', help: 'test (group-test, default), all, or random-80-20-test (the paper\'s LEAKY split)' },
  attack: { kind: 'string', value: 'LIST', help: `comma-separated attacks (default all): ${ATTACKS.join(', ')}` },
  defence: { kind: 'string', value: 'LIST', help: `defences the adaptive attacks target (default all): ${ATTACKED_DEFENCES.join(', ')}` },
  eps: { kind: 'string', value: 'LIST', help: 'ℓ∞ radii (default 1/255,2/255,4/255,8/255)' },
  'eps-l2': { kind: 'string', value: 'LIST', help: 'ℓ2 radii (default 0.5,1,2)' },
  limit: { kind: 'string', value: 'N', help: 'images (default 100)' },
  steps: { kind: 'string', value: 'K', help: 'PGD steps (default 10)' },
  eot: { kind: 'string', value: 'E', help: 'EOT samples (default 4)' },
  restarts: { kind: 'string', value: 'R', help: 'random restarts (default 1)' },
  batch: { kind: 'string', value: 'B', help: 'images per attack batch (default 8)' },
  seed: { kind: 'string', value: 'S', help: 'seed (default 0)' },
  lambda: { kind: 'string', value: 'X', help: 'detector-aware attack weight (default 10)' },
  margin: { kind: 'string', value: 'X', help: 'detector-aware margin below the threshold (default 0.05)' },
  out: { kind: 'string', value: 'DIR', help: 'resumable report folder' },
  'models-dir': { kind: 'string', value: 'D', help: 'models folder' },
  'dev-models': { kind: 'boolean', help: 'seeded development models (excludes --models-dir)' },
  calibration: { kind: 'string', value: 'FILE', help: 'calibration file (default: beside the models)' },
  threads: { kind: 'string', value: 'N', help: 'intra-op threads' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure bench robustness', SPEC, '--data DIR|synthetic', 'Attacks (FGSM, PGD, adaptive PGD-EOT, BPDA, detector-aware) against each defence; resumable report folder.');

export type AttackName = (typeof ATTACKS)[number];

export const BENCH_SPLITS = ['test', 'all', 'random-80-20-test'] as const;
export type BenchSplit = (typeof BENCH_SPLITS)[number];

/** Which defences each attack differentiates through ('classifier' = the classifier alone). */
const TARGETS: Record<AttackName, Array<'classifier' | AttackedDefence>> = {
  fgsm: ['classifier'], 'pgd-linf': ['classifier'], 'pgd-l2': ['classifier'],
  eot: ['purify-all', 'adaptive'], bpda: ['purify-all', 'adaptive'], 'detector-aware': ['adaptive', 'mae-reject'],
};

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export interface RobustnessOptions {
  data: string;
  /** test = group-test; random-80-20-test = the paper's LEAKY file-level split (comparison only). */
  split: BenchSplit;
  attacks: AttackName[];
  /** Restrict the adaptive attacks to these targets (classifier-only attacks always run); null = all. */
  defences: AttackedDefence[] | null;
  eps: Array<{ value: number; label: string }>;
  epsL2: Array<{ value: number; label: string }>;
  limit: number;
  steps: number;
  eot: number;
  restarts: number;
  batch: number;
  seed: number;
  lambda: number;
  margin: number;
  out?: string;
  modelsDir?: string;
  devModels: boolean;
  calibration?: string;
  threads?: number;
  json: boolean;
}

/** "2/255" → 2/255; "0.5" → 0.5. */
export function parseEps(s: string): { value: number; label: string } {
  const m = /^\s*([0-9.]+)\s*(?:\/\s*([0-9.]+))?\s*$/.exec(s);
  const v = m ? Number(m[1]) / (m[2] ? Number(m[2]) : 1) : NaN;
  if (!(Number.isFinite(v) && v > 0 && v <= 1e3)) throw new AttackError('E_BENCH_OPTION', `bad ε "${s}" (use e.g. 2/255 or 0.5)`);
  return { value: v, label: s.trim().replace(/\s+/g, '') };
}

export function parseRobustnessArgs(argv: string[]): RobustnessOptions | 'help' {
  let a: Record<string, string | boolean | string[] | undefined>;
  try {
    a = parseArgs(argv, SPEC).flags;
  } catch (e) {
    throw new AttackError('E_BENCH_OPTION', (e as Error).message);
  }
  if (a.help) return 'help';
  if (typeof a.data !== 'string') throw new AttackError('E_BENCH_OPTION', '--data DIR (or --data synthetic) is required');
  const int = (k: string, d: number, min: number) => {
    const v = a[k] === undefined ? d : Number(a[k]);
    if (!(Number.isInteger(v) && v >= min)) throw new AttackError('E_BENCH_OPTION', `--${k} must be an integer ≥ ${min}, got ${String(a[k])}`);
    return v;
  };
  const num = (k: string, d: number) => {
    const v = a[k] === undefined ? d : Number(a[k]);
    if (!(Number.isFinite(v) && v >= 0)) throw new AttackError('E_BENCH_OPTION', `--${k} must be a number ≥ 0`);
    return v;
  };
  const split = (a.split ?? 'test') as string;
  if (!BENCH_SPLITS.includes(split as BenchSplit)) throw new AttackError('E_BENCH_OPTION', `--split must be ${BENCH_SPLITS.join(', ')}, got ${split}`);
  const attacks = (typeof a.attack === 'string' ? a.attack.split(',').map((s) => s.trim()).filter(Boolean) : [...ATTACKS]) as AttackName[];
  for (const x of attacks) if (!ATTACKS.includes(x)) throw new AttackError('E_BENCH_OPTION', `unknown attack "${x}" (available: ${ATTACKS.join(', ')})`);
  const defences = typeof a.defence === 'string' ? a.defence.split(',').map((s) => s.trim()).filter(Boolean) as AttackedDefence[] : null;
  for (const d of defences ?? []) if (!ATTACKED_DEFENCES.includes(d)) throw new AttackError('E_BENCH_OPTION', `unknown defence "${d}" (available: ${ATTACKED_DEFENCES.join(', ')})`);
  if (a['dev-models'] && a['models-dir']) throw new AttackError('E_BENCH_OPTION', '--dev-models and --models-dir exclude each other');
  return {
    data: a.data, split: split as BenchSplit, attacks, defences,
    eps: String(a.eps ?? '1/255,2/255,4/255,8/255').split(',').map(parseEps),
    epsL2: String(a['eps-l2'] ?? '0.5,1,2').split(',').map(parseEps),
    limit: int('limit', 100, 1), steps: int('steps', 10, 1), eot: int('eot', 4, 1), restarts: int('restarts', 1, 1),
    batch: int('batch', 8, 1), seed: int('seed', 0, 0), lambda: num('lambda', 10), margin: num('margin', 0.05),
    out: a.out as string | undefined, modelsDir: a['models-dir'] as string | undefined, devModels: !!a['dev-models'],
    calibration: a.calibration as string | undefined, threads: a.threads === undefined ? undefined : int('threads', 0, 1), json: !!a.json,
  };
}

/** Seeded choice of `limit` images from the split part (stable across runs). */
export function selectImages(ds: ImageDataset, split: BenchSplit, limit: number): { indices: number[]; splitName: string } {
  let pool: number[];
  let splitName: string;
  if (split === 'all') {
    pool = [...Array(ds.count).keys()];
    splitName = 'all';
  } else if (split === 'random-80-20-test') {
    const sp = randomSplit(ds.count);
    pool = Array.from(sp.test);
    splitName = `${sp.names.test} (LEAKY: near-duplicate copies of these slices were in training; comparison with the paper only)`;
  } else {
    const sp = groupSplit(ds.labels, ds.groups);
    pool = Array.from(sp.test);
    splitName = sp.names.test;
  }
  const perm = Int32Array.from(pool);
  new DataRng(20251129).shuffle(perm);
  return { indices: Array.from(perm.subarray(0, Math.min(limit, perm.length))), splitName };
}

async function loadModels(o: RobustnessOptions): Promise<ModelBundle> {
  return o.devModels ? seededBundle(0) : loadModelBundle({ modelsDir: o.modelsDir });
}

async function loadCalibration(o: RobustnessOptions, models: ModelBundle): Promise<Calibration> {
  let c: Calibration | null;
  if (o.calibration) {
    const parsed: unknown = JSON.parse(readFileSync(o.calibration, 'utf8'));
    checkCalibration(parsed);
    c = parsed;
  } else c = await readCalibration(models);
  if (!c) throw new AttackError('E_BENCH_OPTION', 'no detector calibration for these models: run `medfedpure calibrate --data DIR` first (or pass --calibration FILE)');
  if (c.detector.maeSha256 !== models.mae.sha256) throw new AttackError('E_BENCH_OPTION', 'the calibration was measured with another MAE');
  return c;
}

interface Job { attack: AttackName; norm: 'linf' | 'l2'; eps: { value: number; label: string }; target: 'classifier' | AttackedDefence }

const keyOf = (j: Job, image: number) => `${j.attack}|${j.eps.label}|${j.target}|${image}`;

/** Runs all four defences on n images; per image its evaluations, score and per-image latency. */
async function evaluate(p: DefencePipeline, x: Float32Array, n: number) {
  const S = p.size, ss = S * S;
  const imgs = Array.from({ length: n }, (_, i) => ({ width: S, height: S, pixels: x.slice(i * ss, (i + 1) * ss) }));
  const und = await p.scan(imgs, { mode: 'undefended' });
  const ada = await p.scan(imgs, { mode: 'adaptive' });
  const all = await p.scan(imgs, { mode: 'purify-all' });
  const per = (r: PipelineResult[]) => r[0].timings.totalMs / n;
  return imgs.map((_, i) => {
    const evals: Record<Defence, DefenceEval> = {
      undefended: { pred: und[i].labelIndex },
      'mae-reject': { pred: und[i].labelIndex, flagged: ada[i].flagged },
      'purify-all': { pred: all[i].labelIndex },
      adaptive: { pred: ada[i].labelIndex, flagged: ada[i].flagged },
    };
    // mae-reject runs the detector and the classifier: its latency is the adaptive detect stage + the classifier
    const maeReject = (ada[0].timings.detectMs + und[0].timings.classifyMs) / n;
    return { evals, score: ada[i].score!, latencyMs: { undefended: per(und), 'mae-reject': maeReject, 'purify-all': per(all), adaptive: per(ada) } as Record<Defence, number> };
  });
}

export async function benchRobustnessCommand(argv: string[]): Promise<number> {
  let o: RobustnessOptions | 'help';
  try {
    o = parseRobustnessArgs(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (o === 'help') { console.log(USAGE); return 0; }
  return runRobustness(o);
}

export async function runRobustness(o: RobustnessOptions): Promise<number> {
  const log = (s: string) => (o.json ? process.stderr : process.stdout).write(`${s}\n`);
  const models = await loadModels(o);
  const calibration = await loadCalibration(o, models);
  const S = models.classifier.config.size, ss = S * S;
  const ds = o.data === 'synthetic' ? await loadSynthetic({ size: S }) : await loadYesNoFolder(o.data, { size: S });
  const { indices, splitName } = selectImages(ds, o.split, o.limit);
  const caveat = ds.meta.caveat ?? (o.data === 'synthetic' ? SYNTHETIC_CAVEAT : undefined);
  const trained = models.classifier.trained && models.mae.trained && models.unet.trained;

  const identity = {
    format: 'medfedpure-robustness', version: 1,
    models: Object.fromEntries((['classifier', 'mae', 'unet'] as const).map((k) => [k, { version: models[k].version, sha256: models[k].sha256, trained: models[k].trained }])),
    calibration: createHash('sha256').update(JSON.stringify({ ...calibration, createdUtc: undefined })).digest('hex'),
    data: { source: ds.meta.source, fingerprint: ds.meta.fingerprint, split: splitName },
    attack: { steps: o.steps, eot: o.eot, restarts: o.restarts, seed: o.seed, lambda: o.lambda, margin: o.margin, alpha: '2.5*eps/steps (PGD); eps (FGSM)' },
  };
  const idHash = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 12);
  const out = o.out ?? join(REPO, '.cache', 'robustness', `${o.data === 'synthetic' ? 'synthetic' : 'data'}-${o.split}-${idHash}`);
  mkdirSync(out, { recursive: true });
  const cfgPath = join(out, 'config.json'), resultsPath = join(out, 'results.jsonl');
  if (existsSync(cfgPath)) {
    const prev = JSON.parse(readFileSync(cfgPath, 'utf8')) as { identity?: unknown };
    if (JSON.stringify(prev.identity) !== JSON.stringify(identity)) throw new AttackError('E_BENCH_RESUME', `${out} holds results for other settings (models, calibration, data or attack parameters); use another --out`);
  } else writeFileSync(cfgPath, `${JSON.stringify({ identity, createdUtc: new Date().toISOString() }, null, 2)}\n`);

  const records: BenchRecord[] = [];
  if (existsSync(resultsPath)) {
    for (const line of readFileSync(resultsPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try { records.push(JSON.parse(line) as BenchRecord); } catch { /* a line cut by a kill: redone below */ }
    }
  }
  const done = new Set(records.map((r) => (r.kind === 'clean' ? `clean|${r.image}` : `${r.attack}|${r.epsLabel}|${r.target}|${r.image}`)));
  const append = (r: BenchRecord) => { records.push(r); appendFileSync(resultsPath, `${JSON.stringify(r)}\n`); };

  const jobs: Job[] = [];
  for (const attack of o.attacks) {
    const norm = attack === 'pgd-l2' ? 'l2' : 'linf';
    for (const eps of norm === 'l2' ? o.epsL2 : o.eps) for (const target of TARGETS[attack]) {
      // Results are keyed by (attack, ε, target, image), so a run restricted with --defence can share a report folder
      // with runs of the other targets and resume into it.
      if (target === 'classifier' || !o.defences || o.defences.includes(target)) jobs.push({ attack, norm, eps, target });
    }
  }
  const total = indices.length * (1 + jobs.length);
  let finished = indices.filter((i) => done.has(`clean|${i}`)).length + jobs.reduce((s, j) => s + indices.filter((i) => done.has(keyOf(j, i))).length, 0);
  log(`bench robustness: ${indices.length} images of ${splitName} (${ds.meta.source})${caveat ? ` — ${caveat}` : ''}; models ${trained ? 'trained' : 'UNTRAINED seeded (development only)'}; ${jobs.length} attack runs; report → ${out}${finished ? ` (resuming: ${finished}/${total} done)` : ''}`);

  const pipeline = await DefencePipeline.create({ models, calibration, ep: 'cpu', threads: o.threads });
  const kit = new AttackKit(pipeline, { threads: o.threads });
  const meta = () => ({
    date: new Date().toISOString(), data: ds.meta.source, split: splitName, caveat, trained,
    models: `classifier ${models.classifier.version}, mae ${models.mae.version}, unet ${models.unet.version}`,
    calibration: { split: calibration.split, fpr: calibration.fpr, scoreKind: calibration.scoreKind, K: calibration.detector.K, steps: calibration.purification.steps, tMin: calibration.purification.tMin, tMax: calibration.purification.tMax, purifyAllTStar: calibration.purification.purifyAllTStar },
    attackSummary: `PGD K=${o.steps}, α=2.5ε/K, random start, restarts=${o.restarts}; EOT E=${o.eot}; detector-aware λ=${o.lambda}, margin=${o.margin}; seed ${o.seed}`,
    complete: `${finished}/${total} (image × attack run) results`, identity,
  });
  const report = () => writeReport(out, records, meta(), calibration.scores[calibration.scoreKind].threshold);
  const t0 = performance.now();
  let doneNow = 0;
  const progress = (label: string) => {
    if (o.json) return;
    const w = 30, f = Math.round((w * finished) / total);
    const el = (performance.now() - t0) / 1000, eta = doneNow ? (el / doneNow) * (total - finished) : NaN;
    process.stdout.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${finished}/${total} ${label.padEnd(36)} ${Number.isFinite(eta) ? `ETA ${(eta / 60).toFixed(1)} min` : ''}   `);
  };
  const batches = (pending: number[]) => Array.from({ length: Math.ceil(pending.length / o.batch) }, (_, k) => pending.slice(k * o.batch, (k + 1) * o.batch));
  const pack = (idx: number[]) => {
    const x = new Float32Array(idx.length * ss);
    idx.forEach((i, k) => x.set(ds.image(i), k * ss));
    return x;
  };

  try {
    // 1. clean evaluation of every defence (after a warm-up of each batch size, so latency excludes session creation)
    const cleanBatches = batches(indices.filter((i) => !done.has(`clean|${i}`)));
    for (const size of new Set(cleanBatches.map((b) => b.length))) await evaluate(pipeline, pack(cleanBatches.find((b) => b.length === size)!), size);
    for (const b of cleanBatches) {
      const ev = await evaluate(pipeline, pack(b), b.length);
      b.forEach((i, k) => append({ kind: 'clean', image: i, group: ds.groups[i], path: ds.paths[i], label: ds.labels[i], ...ev[k] } satisfies CleanRecord));
      finished += b.length; doneNow += b.length;
      progress('clean');
    }
    report();
    // 2. attacks, cheapest first (the order of ATTACKS), all images of one (attack, ε, target) before the next
    for (const j of jobs) {
      const oracle: GradientOracle = j.target === 'classifier' ? kit.classifierOracle() : kit.defenceOracle({
        defence: j.target, backward: j.attack === 'bpda' ? 'bpda' : 'exact', eot: o.eot, seed: o.seed,
        detectorAware: j.attack === 'detector-aware' ? { lambda: o.lambda, margin: o.margin } : null,
      });
      const opts: PgdOptions = j.attack === 'fgsm' ? fgsmOptions(j.eps.value, o.seed)
        : { norm: j.norm, eps: j.eps.value, alpha: (2.5 * j.eps.value) / o.steps, steps: o.steps, restarts: o.restarts, randomStart: true, seed: o.seed };
      for (const b of batches(indices.filter((i) => !done.has(keyOf(j, i))))) {
        const x = pack(b);
        const ta = performance.now();
        const r = await pgd(oracle, x, Int32Array.from(b, (i) => ds.labels[i]), b, opts);
        const attackMs = (performance.now() - ta) / b.length;
        const ev = await evaluate(pipeline, r.adv, b.length);
        b.forEach((i, k) => {
          const a = r.adv.subarray(k * ss, (k + 1) * ss), c = x.subarray(k * ss, (k + 1) * ss);
          append({
            kind: 'adv', attack: j.attack, norm: j.norm, eps: j.eps.value, epsLabel: j.eps.label, target: j.target, image: i, label: ds.labels[i],
            score: ev[k].score, linf: linfDist(a, c), l2: l2Dist(a, c), evals: ev[k].evals, attackMs,
          } satisfies AdvRecord);
        });
        finished += b.length; doneNow += b.length;
        progress(`${j.attack} ${j.eps.label} → ${j.target}`);
        report();
      }
    }
  } finally {
    await kit.release();
    await pipeline.release();
  }
  if (!o.json) process.stdout.write('\n');
  const { summary, files } = report();
  log(`wrote ${files.map((f) => join(out, f)).join(', ')}`);
  for (const d of DEFENCES) log(`  clean ${d.padEnd(11)} ${(100 * summary.clean.accuracy[d]).toFixed(1)}%  latency ${summary.clean.meanLatencyMs[d].toFixed(1)} ms/image`);
  for (const [norm, byEps] of Object.entries(summary.worst)) for (const [e, byD] of Object.entries(byEps)) {
    log(`  worst-case ${norm} ε=${e}: ${DEFENCES.map((d) => `${d} ${byD[d] ? `${(100 * byD[d]!.acc).toFixed(1)}%` : '—'}`).join('  ')}`);
  }
  if (o.json) console.log(JSON.stringify({ out, files, summary }));
  return 0;
}
