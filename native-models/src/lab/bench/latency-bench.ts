/**
 * `medfedpure bench latency [--json] [--runs N] [--threads N] [--k K] [--steps N]` — inference latency of the defence
 * pipeline per stage (preprocess, detect, purify, classify), p50/p95, at batch 1 and 16, for the unflagged path,
 * the flagged path, the purify-everything (DiffPure-style) baseline and the undefended classifier, with FLOPs per
 * stage (flops.ts) and achieved GFLOP/s, and the ratio adaptive : purify-all at the calibrated flag rate.
 *
 * Latency does not depend on pixel values, only on the path, so the paths are forced with two bench-only
 * calibrations (threshold +∞ → never flagged; threshold 0 → always flagged, t* = tMax) carrying the stored
 * calibration's K / steps / t* settings when there is one. Inputs: real Br35H JPEGs when the folder is there
 * (preprocess timed on them), else seeded random images. Models: the trained ones when present, else seeded init
 * (same graphs, same cost). Wall-clock on a shared machine: p95 includes other processes' interference.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { loadModelBundle } from '../../inference/pipeline/models.js';
import { DefencePipeline, type DefenceMode, type PipelineResult } from '../../inference/pipeline/pipeline.js';
import { readCalibration, PURIFICATION_DEFAULTS, CALIBRATION_FORMAT, type Calibration } from '../../inference/pipeline/calibrate.js';
import { preprocessImageBytes, type ModelImage } from '../../inference/pipeline/preprocess.js';
import { classifierFlops, maeFlops, unetFlops } from '../../inference/pipeline/flops.js';
import { ddimTimesteps } from '../../inference/pipeline/tstar.js';
import { Rng } from '../../core/rng.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../../core/cli-args.js';

const SPEC = {
  runs: { kind: 'string', value: 'N', help: 'timed runs per path and batch size (default 30, at least 2)' },
  threads: { kind: 'string', value: 'N', help: "intra-op threads (default 1, the engine's)" },
  k: { kind: 'string', value: 'K', help: 'MAE masks per image (default: the calibration\'s)' },
  steps: { kind: 'string', value: 'N', help: 'DDIM steps (default: the calibration\'s)' },
  data: { kind: 'string', value: 'DIR', help: 'real images to time on (default: synthetic inputs)' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
const USAGE = usage('medfedpure bench latency', SPEC, '', 'Inference latency per stage at batch 1 and 16, adaptive against purify-everything.');
const BR35H = '/work/shared/datasets/br35h';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const r2 = (x: number) => Math.round(x * 100) / 100;

function forced(base: Calibration | null, maeSha256: string, K: number, steps: number, flagged: boolean): Calibration {
  const p = { ...PURIFICATION_DEFAULTS, ...base?.purification, steps };
  const sc = flagged ? { threshold: 0, sHi: 1e-12, median: 0, max: 0, valFlagRate: 1 } : { threshold: 1e30, sHi: 2e30, median: 0, max: 0, valFlagRate: 0 };
  return {
    format: CALIBRATION_FORMAT, version: 1, createdUtc: new Date().toISOString(), split: 'bench-forced', n: 0, data: { source: 'bench', fingerprint: '' },
    fpr: base?.fpr ?? 0.05, detector: { maeSha256, maeVersion: 'bench', K, maskSeed: base?.detector.maskSeed ?? 20251114 },
    scoreKind: base?.scoreKind ?? 'mse', scores: { mse: sc, laplacian: sc }, purification: p,
  };
}

interface StageStats { p50: number; p95: number }
interface Row {
  path: string;
  batch: number;
  runs: number;
  /** Per image (batch time / batch size), ms. */
  perImage: Record<'detect' | 'purify' | 'classify' | 'total', StageStats>;
  /** Whole batch, ms. */
  batchTotal: StageStats;
  flopsPerImage: { detect: number; purify: number; classify: number; total: number };
  gflops: { detect: number | null; purify: number | null; classify: number | null; total: number };
}

export async function benchLatencyCommand(argv: string[]): Promise<number> {
  const { flags: a } = parseArgs(argv, SPEC);
  if (a.help) { console.log(USAGE); return 0; }
  const runs = a.runs ? Number(a.runs) : 30;
  const threads = a.threads ? Number(a.threads) : 1; // the engine's default (core.ts)
  if (!(Number.isInteger(runs) && runs >= 2)) throw new UsageError('--runs must be an integer ≥ 2');
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(`${s}\n`);

  const models = await loadModelBundle();
  const stored = await readCalibration(models).catch(() => null);
  const K = a.k ? Number(a.k) : stored?.detector.K ?? 4;
  const steps = a.steps ? Number(a.steps) : stored?.purification.steps ?? PURIFICATION_DEFAULTS.steps;
  const S = models.classifier.config.size;

  // Inputs and preprocessing time.
  const dataDir = (a.data as string | undefined) ?? (existsSync(join(BR35H, 'no')) ? BR35H : undefined);
  const images: ModelImage[] = [];
  const preMs: number[] = [];
  if (dataDir) {
    const files = readdirSync(join(dataDir, 'no')).sort().slice(0, 64).map((n) => join(dataDir, 'no', n));
    for (const f of files) {
      const bytes = readFileSync(f);
      const t = performance.now();
      images.push(preprocessImageBytes(bytes, S, f));
      preMs.push(performance.now() - t);
    }
  } else {
    const rng = new Rng(1);
    for (let i = 0; i < 64; i++) images.push({ width: S, height: S, pixels: Float32Array.from({ length: S * S }, () => rng.uniform()) });
  }

  const flops = {
    detect: maeFlops(models.mae.config, K),
    unetEval: unetFlops(models.unet.config, 1),
    classify: classifierFlops(models.classifier.config, 1),
  };
  const base = { models, ep: 'auto' as const, threads, K };
  const pUnflagged = await DefencePipeline.create({ ...base, calibration: forced(stored, models.mae.sha256, K, steps, false) });
  const pFlagged = await DefencePipeline.create({ ...base, calibration: forced(stored, models.mae.sha256, K, steps, true) });
  const tMax = pFlagged.calibration!.purification.tMax;
  const fixedTStar = pFlagged.calibration!.purification.purifyAllTStar;
  const nFlagged = ddimTimesteps(tMax, steps).length, nAll = ddimTimesteps(fixedTStar, steps).length;
  log(`bench latency: ${models.mae.trained ? 'trained' : 'untrained seeded'} models, EP ${pFlagged.ep}, intra-op threads ${threads ?? 'ORT default'}, K=${K}, DDIM steps=${steps}, ${runs} runs, ${cpus().length} CPUs (shared)`);

  const paths: Array<{ path: string; p: DefencePipeline; mode: DefenceMode; evals: number; detect: boolean }> = [
    { path: 'undefended (classifier only)', p: pUnflagged, mode: 'undefended', evals: 0, detect: false },
    { path: 'adaptive, unflagged', p: pUnflagged, mode: 'adaptive', evals: 0, detect: true },
    { path: `adaptive, flagged (t*=${tMax})`, p: pFlagged, mode: 'adaptive', evals: nFlagged, detect: true },
    { path: `purify-all baseline (t*=${fixedTStar})`, p: pFlagged, mode: 'purify-all', evals: nAll, detect: false },
  ];
  const rows: Row[] = [];
  for (const batch of [1, 16]) {
    const n = batch === 1 ? runs : Math.max(3, Math.ceil(runs / 8));
    for (const { path, p, mode, evals, detect } of paths) {
      const st = { detect: [] as number[], purify: [] as number[], classify: [] as number[], total: [] as number[], batch: [] as number[] };
      for (let r = -2; r < n; r++) {
        const imgs = Array.from({ length: batch }, (_, i) => images[(r + 2 + i) % images.length]);
        const res: PipelineResult[] = await p.scan(imgs, { mode, seed: r });
        if (r < 0) continue; // warm-up: session creation and first-run allocation
        const t = res[0].timings;
        st.detect.push(t.detectMs / batch); st.purify.push(t.purifyMs / batch); st.classify.push(t.classifyMs / batch);
        st.total.push(t.totalMs / batch); st.batch.push(t.totalMs);
      }
      const f = { detect: detect ? flops.detect : 0, purify: evals * flops.unetEval, classify: flops.classify, total: 0 };
      f.total = f.detect + f.purify + f.classify;
      const s = (xs: number[]) => ({ p50: r2(pct(xs, 50)), p95: r2(pct(xs, 95)) });
      const g = (fl: number, ms: number[]) => (fl > 0 ? r2(fl / (pct(ms, 50) * 1e6)) : null);
      rows.push({
        path, batch, runs: n,
        perImage: { detect: s(st.detect), purify: s(st.purify), classify: s(st.classify), total: s(st.total) },
        batchTotal: s(st.batch), flopsPerImage: f,
        gflops: { detect: g(f.detect, st.detect), purify: g(f.purify, st.purify), classify: g(f.classify, st.classify), total: g(f.total, st.total)! },
      });
      log(`  b${String(batch).padEnd(2)} ${path.padEnd(34)} per image p50/p95 ms: detect ${s(st.detect).p50}/${s(st.detect).p95}  purify ${s(st.purify).p50}/${s(st.purify).p95}  classify ${s(st.classify).p50}/${s(st.classify).p95}  total ${s(st.total).p50}/${s(st.total).p95}  (${(f.total / 1e9).toFixed(3)} GFLOP, ${rows[rows.length - 1].gflops.total} GFLOP/s)`);
    }
  }
  const fpr = stored?.fpr ?? 0.05;
  const ratio: Record<string, number> = {};
  for (const batch of [1, 16]) {
    const get = (prefix: string) => rows.find((r) => r.batch === batch && r.path.startsWith(prefix))!.perImage.total.p50;
    const adaptive = (1 - fpr) * get('adaptive, unflagged') + fpr * get('adaptive, flagged');
    ratio[`batch${batch}`] = r2(get('purify-all') / adaptive);
    log(`  b${batch}: expected adaptive cost at flag rate ${fpr} = ${r2(adaptive)} ms/image; purify-all ${get('purify-all')} ms/image; purify-all / adaptive = ${ratio[`batch${batch}`]}×`);
  }
  const preprocess = preMs.length ? { p50: r2(pct(preMs, 50)), p95: r2(pct(preMs, 95)), images: preMs.length, source: `${dataDir}/no (JPEG decode + letterbox + resize + quantise)` } : null;
  if (preprocess) log(`  preprocess per image p50/p95 ms: ${preprocess.p50}/${preprocess.p95} (${preprocess.images} Br35H JPEGs)`);
  const report = {
    date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, ep: pFlagged.ep, threads: threads ?? null,
    models: pFlagged.status().models, trainedModels: models.mae.trained, K, steps, fpr, flops, preprocess, rows, purifyAllOverAdaptive: ratio,
  };
  if (a.json) console.log(JSON.stringify(report));
  await pUnflagged.release();
  await pFlagged.release();
  return 0;
}
