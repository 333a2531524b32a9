/**
 * `medfedpure bench train [--json] [--steps N] [--threads N] [--batch N] [--rounds N] [--model cnn|unet|both]
 * [--no-torch]`: time one training step (forward + backward, batch 32 at 64×64 by default) of the reference CNN
 * (the classifier) and the reference UNet, report RSS before and after the timed steps (run `--steps 10000
 * --no-torch` once to show memory stays flat), and — only when /usr/bin/python3 can import torch — time the same
 * models in torch (native-models/bench/torch_ref.py, same threads) in the same run and print ours/torch.
 *
 * Side by side means interleaved: torch runs as a long-lived process (`torch_ref.py --serve`) and the steps are
 * split into `--rounds` rounds (default 5), each timing a chunk of our steps and then the same number of torch
 * steps. On a shared VM the load drifts by tens of percent within a minute, so timing one side after the other
 * compares two different machines; the reported ratio is the median of the per-round ratios (ours median / torch
 * median in the same round), with the per-round range.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as classifier from '../../inference/nets/classifier.js';
import * as unet from '../../inference/nets/unet.js';
import { Rng } from '../../core/rng.js';
import { nchwcBlockSize } from '../../core/runtime/nchwc.js';
import type { NamedWeights, TensorF32 } from '../../core/tensor.js';
import type { StepFn } from '../../core/train/types.js';
import { parseArgs, usage, UsageError, type FlagSpec } from '../../core/cli-args.js';

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
  /** Median over rounds of (our median / torch median) in the same round. */
  ratioOursOverTorch?: number;
  /** [our ms, torch ms, ratio] medians per round. */
  rounds?: [number, number, number][];
}

type Which = 'cnn' | 'unet' | 'both';
const SPEC = {
  steps: { kind: 'string', value: 'N', help: 'timed steps per round' },
  threads: { kind: 'string', value: 'N', help: 'intra-op threads (default 2)' },
  batch: { kind: 'string', value: 'N', help: 'batch size (default 32)' },
  rounds: { kind: 'string', value: 'N', help: 'alternating rounds of ours and torch (default 5)' },
  model: { kind: 'string', value: 'cnn|unet|both', help: 'which net (default both)' },
  'no-torch': { kind: 'boolean', help: 'skip the torch side' },
  json: { kind: 'boolean', help: 'machine-readable output' },
  help: { kind: 'boolean', help: 'this text' },
} satisfies FlagSpec;
export const BENCH_TRAIN_USAGE = usage('medfedpure bench train', SPEC, '', 'Training-step time of our trainer against torch on the same nets (torch where installed).');

function parseBenchArgs(argv: string[]): { help: boolean; json: boolean; steps?: number; threads: number; batch: number; model: Which; rounds: number; torch: boolean } {
  const { flags: f } = parseArgs(argv, SPEC);
  const num = (k: 'steps' | 'threads' | 'batch' | 'rounds', d: number | undefined): number | undefined => {
    if (f[k] === undefined) return d;
    const v = Number(f[k]);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${k} needs a positive integer`);
    return v;
  };
  const model = (f.model ?? 'both') as string;
  if (model !== 'cnn' && model !== 'unet' && model !== 'both') throw new UsageError('--model must be cnn, unet or both');
  return {
    help: f.help === true, json: f.json === true, steps: num('steps', undefined), threads: num('threads', 2)!, batch: num('batch', 32)!,
    model, rounds: num('rounds', 5)!, torch: f['no-torch'] !== true,
  };
}

const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;

/**
 * A pause before each side's chunk: worker threads of the side that just ran (onnxruntime's spinning pool, OpenBLAS /
 * OpenMP waiters) keep a core busy for a while after their last job and would otherwise be billed to the other side.
 */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

const median = (a: readonly number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

/** The torch side as a long-lived process answering timing requests (torch_ref.py --serve). */
class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  /** Starts torch_ref.py --serve; undefined (with the reason on stderr) when it does not come up. */
  static async start(batch: number, threads: number): Promise<TorchServer | undefined> {
    const script = fileURLToPath(new URL('../../../bench/torch_ref.py', import.meta.url));
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    const proc = spawn('/usr/bin/python3', [script, '--serve', '--batch', String(batch), '--threads', String(threads)], { env });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const server = new TorchServer(proc);
    try {
      const ready = JSON.parse(await server.next()) as { ready?: boolean };
      if (ready.ready) return server;
    } catch { /* reported below */ }
    process.stderr.write(`torch reference did not start: ${stderr.slice(-2000)}\n`);
    proc.kill();
    return undefined;
  }

  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error('torch reference exited');
    return r.value;
  }

  async time(model: 'cnn' | 'unet', steps: number): Promise<number[]> {
    this.proc.stdin.write(`${JSON.stringify({ model, steps })}\n`);
    return (JSON.parse(await this.next()) as { ms: number[] }).ms;
  }

  stop(): void {
    this.proc.stdin.end('quit\n');
  }
}

/**
 * Times `steps` of our step in `rounds` chunks; after each chunk, the same number of torch steps when a torch server
 * is given. RSS is sampled about 20 times across our steps.
 */
async function timeInterleaved(step: StepFn, w: NamedWeights, x: TensorF32, y: Int32Array, steps: number, rounds: number,
  torch: { server: TorchServer; model: 'cnn' | 'unet' } | undefined) {
  for (let i = 0; i < 2; i++) await step(w, { x, y }); // two warm-up runs: the second settles the memory arena
  const rssWarm = rssMB();
  let rssMax = rssWarm;
  const ours: number[] = [], theirs: number[] = [];
  const perRound: [number, number, number][] = [];
  const trace: [number, number][] = [];
  const every = Math.max(1, Math.floor(steps / 20));
  const r = Math.max(1, Math.min(rounds, steps));
  let done = 0;
  for (let k = 0; k < r; k++) {
    const chunk = Math.floor((steps * (k + 1)) / r) - done;
    const mine: number[] = [];
    if (torch) await settle();
    for (let i = 0; i < chunk; i++, done++) {
      const t0 = performance.now();
      await step(w, { x, y });
      mine.push(performance.now() - t0);
      if (done % every === 0 || done === steps - 1) {
        const m = rssMB();
        rssMax = Math.max(rssMax, m);
        trace.push([done + 1, Math.round(m)]);
      }
    }
    ours.push(...mine);
    if (torch) {
      await settle();
      const t = await torch.server.time(torch.model, chunk);
      theirs.push(...t);
      perRound.push([median(mine), median(t), median(mine) / median(t)]);
    }
  }
  return {
    median: median(ours),
    mean: ours.reduce((p, q) => p + q, 0) / ours.length,
    torchMedian: theirs.length ? median(theirs) : undefined,
    ratio: perRound.length ? median(perRound.map((q) => q[2])) : undefined,
    perRound: perRound.length ? perRound : undefined,
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

export async function benchTrainCommand(argv: string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args.help) {
    process.stdout.write(`${BENCH_TRAIN_USAGE}\n`);
    return 0;
  }
  const rng = new Rng(42);
  const n = args.batch;
  const x: TensorF32 = { shape: [n, 1, 64, 64], data: Float32Array.from({ length: n * 4096 }, () => rng.uniform()) };
  const y = Int32Array.from({ length: n }, () => rng.int(2));
  const results: ModelResult[] = [];

  const loadBefore = loadavg()[0];
  const hasTorch = args.torch && torchAvailable();
  const server = hasTorch ? await TorchServer.start(n, args.threads) : undefined;
  try {
    const run = async (name: string, model: 'cnn' | 'unet', params: number, step: StepFn & { release(): Promise<void> }, w: NamedWeights, steps: number) => {
      const m = await timeInterleaved(step, w, x, y, steps, args.rounds, server ? { server, model } : undefined);
      await step.release();
      results.push({
        model: name, params, batch: n, size: 64, steps, msPerStepMedian: m.median, msPerStepMean: m.mean, rssMBAfterWarmup: m.rssWarm, rssMBEnd: m.rssEnd, rssMBMax: m.rssMax, rssTrace: m.trace,
        ...(m.torchMedian !== undefined ? { torchMsPerStep: m.torchMedian, ratioOursOverTorch: m.ratio, rounds: m.perRound } : {}),
      });
    };
    if (args.model !== 'unet') {
      await run('reference-cnn (classifier)', 'cnn', classifier.parameterCount().total, classifier.makeTrainStep(classifier.CLASSIFIER_DEFAULT, { threads: args.threads }), classifier.init(classifier.CLASSIFIER_DEFAULT, 0), args.steps ?? 30);
    }
    if (args.model !== 'cnn') {
      const uw = unet.init(unet.UNET_DEFAULT, 0);
      let up = 0;
      for (const t of uw.values()) up += t.data.length;
      await run('reference-unet (DDPM eps)', 'unet', up, unet.makeTrainStep(unet.UNET_DEFAULT, { threads: args.threads, seed: 0 }), uw, args.steps ?? 5);
    }
  } finally {
    server?.stop();
  }

  const block = await nchwcBlockSize();
  const report = {
    threads: args.threads,
    /** Which onnxruntime kernels our Convs ran on (graph/nchwc.ts; MEDFEDPURE_NCHWC=0 turns the lowering off). */
    convKernels: block > 0 ? `NCHWc, block ${block}` : 'generic',
    cpus: cpus().length,
    loadavg1m: { before: loadBefore, after: loadavg()[0] },
    torch: server ? `measured, interleaved in ${args.rounds} rounds` : !args.torch ? 'not run (--no-torch)' : hasTorch ? 'failed to start (see stderr)' : 'not available (/usr/bin/python3 cannot import torch)',
    rounds: args.rounds,
    results,
  };
  if (args.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    process.stdout.write(`training step, batch ${n} at 64×64, ${args.threads} intra-op threads (onnxruntime CPU, ${report.convKernels} Conv kernels), load average ${report.loadavg1m.before.toFixed(2)} → ${report.loadavg1m.after.toFixed(2)} on ${report.cpus} CPUs\n`);
    for (const r of results) {
      const range = r.rounds ? ` (rounds ${Math.min(...r.rounds.map((q) => q[2])).toFixed(2)}–${Math.max(...r.rounds.map((q) => q[2])).toFixed(2)})` : '';
      const torch = r.torchMsPerStep !== undefined ? `  torch ${r.torchMsPerStep.toFixed(1)} ms  ours/torch ${r.ratioOursOverTorch!.toFixed(2)}×${range}` : '';
      process.stdout.write(`${r.model.padEnd(28)} ${String(r.params).padStart(8)} params  median ${r.msPerStepMedian.toFixed(1)} ms  mean ${r.msPerStepMean.toFixed(1)} ms  (${r.steps} steps)  RSS ${r.rssMBAfterWarmup.toFixed(0)} → ${r.rssMBEnd.toFixed(0)} MB (max ${r.rssMBMax.toFixed(0)})${torch}\n`);
    }
    if (!server) process.stdout.write(`torch: ${report.torch}; no side-by-side ratio\n`);
  }
  return 0;
}

// Allow `tsx native-models/src/lab/bench/train-bench.ts ...` directly.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchTrainCommand(process.argv.slice(2)).then((code) => process.exit(code));
}
