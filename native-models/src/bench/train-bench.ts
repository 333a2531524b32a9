/**
 * `medfedpure bench train [--json] [--steps N] [--threads N] [--batch N]`: time one training step (forward +
 * backward, batch 32 at 64×64 by default) of the reference CNN (the classifier) and the reference UNet, report RSS
 * before and after the timed steps (run `--steps 10000` once to show memory stays flat), and — only when
 * /usr/bin/python3 can import torch — time the same models in torch (native-models/bench/torch_ref.py, 2 threads)
 * in the same run and print ours/torch.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as classifier from '../nets/classifier.js';
import * as unet from '../nets/unet.js';
import { Rng } from '../nets/rng.js';
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
  torchMsPerStep?: number;
  ratioOursOverTorch?: number;
}

function parseArgs(argv: string[]): { json: boolean; steps?: number; threads: number; batch: number } {
  const o = { json: false, steps: undefined as number | undefined, threads: 2, batch: 32 };
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
    else throw new Error(`unknown option ${a} (use --json, --steps N, --threads N, --batch N)`);
  }
  return o;
}

const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;

async function timeSteps(step: StepFn, w: NamedWeights, x: TensorF32, y: Int32Array, steps: number, warmup: number) {
  for (let i = 0; i < warmup; i++) await step(w, { x, y });
  const rssWarm = rssMB();
  let rssMax = rssWarm;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step(w, { x, y });
    times.push(performance.now() - t0);
    if (i % 50 === 0) rssMax = Math.max(rssMax, rssMB());
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    mean: times.reduce((p, q) => p + q, 0) / times.length,
    rssWarm,
    rssEnd: rssMB(),
    rssMax: Math.max(rssMax, rssMB()),
  };
}

function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

function runTorch(batch: number, threads: number, steps: number): Record<string, number> | undefined {
  const script = fileURLToPath(new URL('../../bench/torch_ref.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, '--batch', String(batch), '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8', timeout: 1_800_000 });
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

  const cnnSteps = args.steps ?? 30;
  const cw = classifier.init(classifier.CLASSIFIER_DEFAULT, 0);
  const cstep = classifier.makeTrainStep(classifier.CLASSIFIER_DEFAULT, { threads: args.threads });
  const c = await timeSteps(cstep, cw, x, y, cnnSteps, 3);
  await cstep.release();
  results.push({ model: 'reference-cnn (classifier)', params: classifier.parameterCount().total, batch: n, size: 64, steps: cnnSteps, msPerStepMedian: c.median, msPerStepMean: c.mean, rssMBAfterWarmup: c.rssWarm, rssMBEnd: c.rssEnd, rssMBMax: c.rssMax });

  const unetSteps = args.steps ?? 5;
  const uw = unet.init(unet.UNET_DEFAULT, 0);
  const ustep = unet.makeTrainStep(unet.UNET_DEFAULT, { threads: args.threads, seed: 0 });
  const u = await timeSteps(ustep, uw, x, y, unetSteps, 1);
  await ustep.release();
  let up = 0;
  for (const t of uw.values()) up += t.data.length;
  results.push({ model: 'reference-unet (DDPM ε)', params: up, batch: n, size: 64, steps: unetSteps, msPerStepMedian: u.median, msPerStepMean: u.mean, rssMBAfterWarmup: u.rssWarm, rssMBEnd: u.rssEnd, rssMBMax: u.rssMax });

  const hasTorch = torchAvailable();
  if (hasTorch) {
    const t = runTorch(n, args.threads, Math.min(cnnSteps, 30));
    if (t) {
      const pairs: [number, string][] = [[0, 'cnn_ms'], [1, 'unet_ms']];
      for (const [i, key] of pairs) {
        if (t[key] !== undefined) {
          results[i].torchMsPerStep = t[key];
          results[i].ratioOursOverTorch = results[i].msPerStepMedian / t[key];
        }
      }
    }
  }

  const report = { threads: args.threads, torch: hasTorch ? 'measured' : 'not available (/usr/bin/python3 cannot import torch)', results };
  if (args.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    process.stdout.write(`training step, batch ${n} at 64×64, ${args.threads} intra-op threads (onnxruntime CPU)\n`);
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
