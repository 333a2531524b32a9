/**
 * `medfedpure bench train [--json] [--steps N] [--threads N] [--batch N] [--model cnn|unet|both]`: time one training step (forward +
 * backward, batch 32 at 64×64 by default) of the reference CNN (the classifier) and the reference UNet, report RSS
 * before and after the timed steps (run `--steps 10000` once to show memory stays flat), and — only when
 * /usr/bin/python3 can import torch — time the same models in torch (native-models/bench/torch_ref.py, 2 threads)
 * in the same run and print ours/torch.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as classifier from '../nets/classifier.js';
import * as unet from '../nets/unet.js';
import { Rng } from '../nets/rng.js';
import { nchwcBlockSize } from '../runtime/nchwc.js';
import type { NamedWeights, TensorF32 } from '../tensor.js';
import type { StepFn } from '../train/types.js';

interface ModelResult {
  model: string;
  params: number;
  batch: number;
  size: number;
  steps: number;
  msPerStepMedian: number;
  msPerStepMean: number;
  rssMBAfterWarmup: number;
  rssMBEnd: number;
  rssMBMax: number;
  /** [step, RSS MB] samples across the timed steps (about 20). */
  rssTrace: [number, number][];
  torchMsPerStep?: number;
  ratioOursOverTorch?: number;
}

type Which = 'cnn' | 'unet' | 'both';
function parseArgs(argv: string[]): { json: boolean; steps?: number; threads: number; batch: number; model: Which } {
  const o = { json: false, steps: undefined as number | undefined, threads: 2, batch: 32, model: 'both' as Which };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--steps') o.steps = num();
    else if (a === '--threads') o.threads = num();
    else if (a === '--batch') o.batch = num();
    else if (a === '--model') {
      const m = argv[++i];
      if (m !== 'cnn' && m !== 'unet' && m !== 'both') throw new Error('--model must be cnn, unet or both');
      o.model = m;
    } else throw new Error(`unknown option ${a} (use --json, --steps N, --threads N, --batch N, --model cnn|unet|both)`);
  }
  return o;
}

const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;

async function timeSteps(step: StepFn, w: NamedWeights, x: TensorF32, y: Int32Array, steps: number, warmup: number) {
  for (let i = 0; i < warmup; i++) await step(w, { x, y });
  const rssWarm = rssMB();
  let rssMax = rssWarm;
  const times: number[] = [];
  const trace: [number, number][] = [];
  const every = Math.max(1, Math.floor(steps / 20));
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step(w, { x, y });
    times.push(performance.now() - t0);
    if (i % every === 0 || i === steps - 1) {
      const r = rssMB();
      rssMax = Math.max(rssMax, r);
      trace.push([i + 1, Math.round(r)]);
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    mean: times.reduce((p, q) => p + q, 0) / times.length,
    rssWarm,
    rssEnd: rssMB(),
    rssMax: Math.max(rssMax, rssMB()),
    trace,
  };
}

function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

function runTorch(batch: number, threads: number, steps: number): Record<string, number> | undefined {
  const script = fileURLToPath(new URL('../../bench/torch_ref.py', import.meta.url));
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const r = spawnSync('/usr/bin/python3', [script, '--batch', String(batch), '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8', timeout: 1_800_000, env });
  if (r.status !== 0) {
    process.stderr.write(`torch reference failed: ${r.stderr}\n`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

export async function benchTrainCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`bench train: ${(e as Error).message}\n`);
    return 2;
  }
  const rng = new Rng(42);
  const n = args.batch;
  const x: TensorF32 = { shape: [n, 1, 64, 64], data: Float32Array.from({ length: n * 4096 }, () => rng.uniform()) };
  const y = Int32Array.from({ length: n }, () => rng.int(2));
  const results: ModelResult[] = [];

  const loadBefore = loadavg()[0];
  const run = async (name: string, params: number, step: StepFn & { release(): Promise<void> }, w: NamedWeights, steps: number) => {
    const m = await timeSteps(step, w, x, y, steps, 2); // two warm-up runs: the second settles the memory arena
    await step.release();
    results.push({ model: name, params, batch: n, size: 64, steps, msPerStepMedian: m.median, msPerStepMean: m.mean, rssMBAfterWarmup: m.rssWarm, rssMBEnd: m.rssEnd, rssMBMax: m.rssMax, rssTrace: m.trace });
  };
  if (args.model !== 'unet') {
    await run('reference-cnn (classifier)', classifier.parameterCount().total, classifier.makeTrainStep(classifier.CLASSIFIER_DEFAULT, { threads: args.threads }), classifier.init(classifier.CLASSIFIER_DEFAULT, 0), args.steps ?? 30);
  }
  if (args.model !== 'cnn') {
    const uw = unet.init(unet.UNET_DEFAULT, 0);
    let up = 0;
    for (const t of uw.values()) up += t.data.length;
    await run('reference-unet (DDPM eps)', up, unet.makeTrainStep(unet.UNET_DEFAULT, { threads: args.threads, seed: 0 }), uw, args.steps ?? 5);
  }

  const hasTorch = torchAvailable();
  if (hasTorch) {
    const t = runTorch(n, args.threads, Math.min(args.steps ?? 30, 30));
    if (t) {
      for (const r of results) {
        const key = r.model.startsWith('reference-cnn') ? 'cnn_ms' : 'unet_ms';
        if (t[key] !== undefined) {
          r.torchMsPerStep = t[key];
          r.ratioOursOverTorch = r.msPerStepMedian / t[key];
        }
      }
    }
  }

  const block = await nchwcBlockSize();
  const report = {
    threads: args.threads,
    /** Which onnxruntime kernels our Convs ran on (graph/nchwc.ts; MEDFEDPURE_NCHWC=0 turns the lowering off). */
    convKernels: block > 0 ? `NCHWc, block ${block}` : 'generic',
    cpus: cpus().length,
    loadavg1m: { before: loadBefore, after: loadavg()[0] },
    torch: hasTorch ? 'measured' : 'not available (/usr/bin/python3 cannot import torch)',
    results,
  };
  if (args.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    process.stdout.write(`training step, batch ${n} at 64×64, ${args.threads} intra-op threads (onnxruntime CPU, ${report.convKernels} Conv kernels), load average ${report.loadavg1m.before.toFixed(2)} → ${report.loadavg1m.after.toFixed(2)} on ${report.cpus} CPUs\n`);
    for (const r of results) {
      const torch = r.torchMsPerStep !== undefined ? `  torch ${r.torchMsPerStep.toFixed(1)} ms  ours/torch ${r.ratioOursOverTorch!.toFixed(2)}×` : '';
      process.stdout.write(`${r.model.padEnd(28)} ${String(r.params).padStart(8)} params  median ${r.msPerStepMedian.toFixed(1)} ms  mean ${r.msPerStepMean.toFixed(1)} ms  (${r.steps} steps)  RSS ${r.rssMBAfterWarmup.toFixed(0)} → ${r.rssMBEnd.toFixed(0)} MB (max ${r.rssMBMax.toFixed(0)})${torch}\n`);
    }
    if (!hasTorch) process.stdout.write('torch: not available (/usr/bin/python3 cannot import torch); no side-by-side ratio\n');
  }
  return 0;
}

// Allow `tsx native-models/src/bench/train-bench.ts ...` directly.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchTrainCommand(process.argv.slice(2)).then((code) => process.exit(code));
}
