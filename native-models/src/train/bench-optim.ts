/**
 * Micro-benchmark: time of one optimiser update (and of global-norm clipping) for a 0.7M-parameter model.
 * Tensor shapes mimic a small CNN classifier at 64 px (conv stacks + a dense head), 700,000 float32 parameters.
 *
 *   node --import tsx native-models/src/train/bench-optim.ts [--steps 200]
 * Prints JSON: median and p90 milliseconds per step for AdamW, SGD (momentum) and clipGradNorm.
 */
import { AdamW, SGD, clipGradNorm, type Optimizer } from './optim.js';
import { tensor, numel, type NamedWeights } from '../tensor.js';
import { Rng } from '../data/rng.js';

const shapes: [string, number[]][] = [
  ['conv1.w', [32, 1, 3, 3]], ['conv1.b', [32]],
  ['conv2.w', [64, 32, 3, 3]], ['conv2.b', [64]],
  ['conv3.w', [128, 64, 3, 3]], ['conv3.b', [128]],
  ['conv4.w', [256, 128, 3, 3]], ['conv4.b', [256]],
  ['fc1.w', [128, 2048]], ['fc1.b', [128]],
];
const used = shapes.reduce((s, [, sh]) => s + numel(sh), 0);
shapes.push(['head.w', [700_000 - used]]); // pad to exactly 0.7M parameters

function make(fill: (r: Rng) => number): NamedWeights {
  const r = new Rng(1);
  return new Map(shapes.map(([n, sh]) => [n, tensor(sh, Float32Array.from({ length: numel(sh) }, () => fill(r)))]));
}

const steps = Number(process.argv[process.argv.indexOf('--steps') + 1]) || 200;

function timeIt(f: () => void): { medianMs: number; p90Ms: number } {
  for (let i = 0; i < 20; i++) f(); // warm-up (JIT)
  const t: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { medianMs: +t[Math.floor(t.length / 2)].toFixed(3), p90Ms: +t[Math.floor(t.length * 0.9)].toFixed(3) };
}

const grads = make((r) => 0.01 * r.normal());
const results: Record<string, unknown> = { params: 700_000, tensors: shapes.length, steps, node: process.version };
for (const [name, opt] of [['adamw', new AdamW({ weightDecay: 0.01 })], ['sgd-momentum', new SGD({ momentum: 0.9, weightDecay: 5e-4 })]] as [string, Optimizer][]) {
  const w = make((r) => 0.05 * r.normal());
  results[name] = timeIt(() => opt.step(w, grads, 1e-3));
}
results.clipGradNorm = timeIt(() => clipGradNorm(grads, 1e9));
console.log(JSON.stringify(results, null, 2));
