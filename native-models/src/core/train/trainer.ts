/**
 * The training loop: batches → StepFn (forward + backward, owned by the net) → optional gradient clipping →
 * optimiser update in place → progress, evaluation, best-by-validation weights, checkpoints, ONNX export.
 *
 * Determinism and exact resume. Everything random is derived from `seed`:
 *  - the data order and augmentation of epoch e come from `Rng(deriveSeed(seed, DATA, e))`, handed to the data
 *    factory together with `startBatch` (the data-order position inside the epoch);
 *  - each step gets `batch.seed = deriveSeed(seed, STEP, step)`; stochastic step functions (noise, masks, timesteps)
 *    must draw from it, not from a private generator, for resume to be exact.
 * A checkpoint stores weights, optimiser moments and step count, best weights and metric, epoch, position in the
 * epoch, loss EMA and the run config. Resuming from it therefore replays the remaining steps bit for bit: the weights
 * at the end equal those of an uninterrupted run (tested).
 *
 * Checkpoints are single `.mfpw` files (weights-io: checksummed, written atomically) named ckpt-<step>.mfpw; the
 * newest `keepCheckpoints` are kept, and `best.mfpw` holds the best weights by the validation metric. Resume picks
 * the newest checkpoint that verifies and skips damaged ones.
 *
 * State tensors (BatchNorm running statistics) live in `weights` next to the parameters: a step returns their new
 * values in `StepResult.state`, copied in before the optimiser step (which only sees gradients, so it never updates
 * or decays them); checkpoints, resume, best weights and the export therefore carry them unchanged.
 *
 * Memory stays flat: per step the loop allocates nothing of its own (the optimiser's buffers are allocated once,
 * best weights are copied into one preallocated set); only what the StepFn returns is per step.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import type { NamedWeights } from '../tensor.js';
import { cloneWeights } from '../tensor.js';
import type { Batch, EvalFn, StepFn } from './types.js';
import { clipGradNorm, type LrSchedule, type Optimizer, type OptimizerState } from './optim.js';
import { ProgressBar, type ProgressInfo } from './progress.js';
import { deriveSeed, Rng } from '../rng.js';
import { loadWeights, saveWeights, writeFileAtomic, WeightsFormatError } from '../weights-io.js';
import { createHash } from 'node:crypto';

export class TrainError extends Error {
  constructor(readonly code: 'TRAIN_BAD_ARGUMENT' | 'TRAIN_NONFINITE' | 'TRAIN_CHECKPOINT_MISMATCH' | 'TRAIN_WEIGHTS_MISMATCH', message: string) {
    super(message);
    this.name = 'TrainError';
  }
}

/** Stream ids for deriveSeed (fixed forever: changing them changes every run). */
const DATA_STREAM = 1;
const STEP_STREAM = 2;

export interface DataContext {
  epoch: number;
  /** Seeded generator for this epoch's order and augmentation. */
  rng: Rng;
  /** Skip this many batches of the epoch (resume); the factory must yield exactly the batches from there on. */
  startBatch: number;
}

/** Produces one epoch of batches. Must be a pure function of (epoch, rng state): same input, same batches. */
export type DataFactory = (ctx: DataContext) => Iterable<Batch> | AsyncIterable<Batch>;

export interface TrainOptions {
  /** Updated in place. On resume they are overwritten by the checkpoint's weights. */
  weights: NamedWeights;
  step: StepFn;
  optimizer: Optimizer;
  data: DataFactory;
  /** Stop after this many epochs and/or this many updates (whichever comes first; at least one is required). */
  epochs?: number;
  steps?: number;
  /** Batches per epoch, for the progress bar / ETA when only `epochs` is given. */
  batchesPerEpoch?: number;
  seed: number;
  /** Learning rate or schedule (0-based update index → lr). */
  lr: number | LrSchedule;
  clipGradNorm?: number;
  /** Run evalFn every this many updates, and at the end. */
  evalEvery?: number;
  evalFn?: EvalFn;
  /** Metric that selects the best weights; default { metric: 'loss', mode: 'min' }. */
  select?: { metric: string; mode: 'min' | 'max' };
  checkpointDir?: string;
  checkpointEvery?: number;
  keepCheckpoints?: number; // default 2
  /** Resume from the newest valid checkpoint in checkpointDir (default true). */
  resume?: boolean;
  /** Run configuration stored in checkpoints; resuming with a different config is refused. */
  config?: Record<string, unknown>;
  onProgress?: (p: ProgressInfo) => void;
  progressBar?: boolean;
  /** Where the progress bar writes (default process.stderr). */
  progressStream?: ConstructorParameters<typeof ProgressBar>[0];
  /** Abort: the loop stops after the current step, writes a checkpoint and returns { stopped: 'aborted' }. */
  signal?: AbortSignal;
  /** Export an inference-only ONNX model at the end, built by the net from the chosen weights. */
  exportOnnx?: { path: string; build: (weights: NamedWeights) => Uint8Array | Promise<Uint8Array>; which?: 'best' | 'last' };
}

export interface EvalRecord {
  step: number;
  metrics: Record<string, number>;
}

export interface TrainResult {
  stopped: 'done' | 'aborted';
  step: number;
  epoch: number;
  weights: NamedWeights;
  best: { step: number; metrics: Record<string, number>; weights: NamedWeights } | null;
  evals: EvalRecord[];
  /** Mean training loss of each completed epoch (of the steps run in this process or restored from checkpoints). */
  epochLoss: number[];
  resumedFrom: number | null;
  lastCheckpoint: string | null;
  onnx: { path: string; sha256: string } | null;
}

interface LoopState {
  step: number;
  epoch: number;
  batchInEpoch: number;
  lossEma: number;
  epochLossSum: number;
  epochLossCount: number;
  epochLoss: number[];
  evals: EvalRecord[];
  best: { step: number; metrics: Record<string, number>; value: number } | null;
}

const CKPT_RE = /^ckpt-(\d{9})\.mfpw$/;
const ckptName = (step: number) => `ckpt-${String(step).padStart(9, '0')}.mfpw`;

function copyInto(dst: NamedWeights, src: NamedWeights, what: string): void {
  if (dst.size !== src.size) throw new TrainError('TRAIN_WEIGHTS_MISMATCH', `${what}: ${src.size} tensors, model has ${dst.size}`);
  for (const [name, t] of dst) {
    const s = src.get(name);
    if (!s || s.data.length !== t.data.length || s.shape.join(',') !== t.shape.join(',')) {
      throw new TrainError('TRAIN_WEIGHTS_MISMATCH', `${what}: tensor ${name} missing or of a different shape`);
    }
    t.data.set(s.data);
  }
}

/** Copies a step's new state tensors (running statistics) into the weights; they must exist with the same shape. */
function mergeState(weights: NamedWeights, state: NamedWeights): void {
  for (const [name, t] of state) {
    const w = weights.get(name);
    if (!w || w.data.length !== t.data.length) throw new TrainError('TRAIN_WEIGHTS_MISMATCH', `step returned state ${name}, which the weights ${w ? 'hold with another size' : 'do not hold'}`);
    w.data.set(t.data);
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  if (o.epochs === undefined && o.steps === undefined) throw new TrainError('TRAIN_BAD_ARGUMENT', 'give epochs and/or steps');
  if (o.epochs !== undefined && !(Number.isInteger(o.epochs) && o.epochs >= 0)) throw new TrainError('TRAIN_BAD_ARGUMENT', `bad epochs ${o.epochs}`);
  if (o.steps !== undefined && !(Number.isInteger(o.steps) && o.steps >= 0)) throw new TrainError('TRAIN_BAD_ARGUMENT', `bad steps ${o.steps}`);
  if (!Number.isInteger(o.seed)) throw new TrainError('TRAIN_BAD_ARGUMENT', `seed must be an integer, got ${o.seed}`);
  if (o.checkpointEvery !== undefined && !o.checkpointDir) throw new TrainError('TRAIN_BAD_ARGUMENT', 'checkpointEvery needs checkpointDir');
  if (o.evalEvery !== undefined && !o.evalFn) throw new TrainError('TRAIN_BAD_ARGUMENT', 'evalEvery needs evalFn');
  const lrAt: LrSchedule = typeof o.lr === 'number' ? ((lr) => () => lr)(o.lr) : o.lr;
  const select = o.select ?? { metric: 'loss', mode: 'min' as const };
  const config = o.config ?? {};
  const keep = o.keepCheckpoints ?? 2;

  const st: LoopState = { step: 0, epoch: 0, batchInEpoch: 0, lossEma: NaN, epochLossSum: 0, epochLossCount: 0, epochLoss: [], evals: [], best: null };
  let bestWeights: NamedWeights | null = null;
  let resumedFrom: number | null = null;
  let lastCheckpoint: string | null = null;

  // ---- resume ----
  if (o.checkpointDir) {
    await mkdir(o.checkpointDir, { recursive: true });
    if (o.resume ?? true) {
      const names = (await readdir(o.checkpointDir)).filter((n) => CKPT_RE.test(n)).sort().reverse();
      for (const name of names) {
        const path = join(o.checkpointDir, name);
        let file;
        try {
          file = await loadWeights(path);
        } catch (e) {
          if (e instanceof WeightsFormatError) continue; // damaged (e.g. disk full): fall back to an older one
          throw e;
        }
        const m = file.meta as Record<string, any>;
        if (m.kind !== 'medfedpure-checkpoint') continue;
        if (m.seed !== o.seed || canonicalJson(m.config) !== canonicalJson(config)) {
          throw new TrainError('TRAIN_CHECKPOINT_MISMATCH', `${path} was written by a run with a different seed or config; use another checkpointDir or resume: false`);
        }
        const w: NamedWeights = new Map(), opt: NamedWeights = new Map(), best: NamedWeights = new Map();
        for (const [k, t] of file.weights) {
          if (k.startsWith('w:')) w.set(k.slice(2), t);
          else if (k.startsWith('opt:')) opt.set(k.slice(4), t);
          else if (k.startsWith('best:')) best.set(k.slice(5), t);
        }
        copyInto(o.weights, w, path);
        const os = m.optimizer as Omit<OptimizerState, 'tensors'>;
        if (os.kind !== o.optimizer.kind) throw new TrainError('TRAIN_CHECKPOINT_MISMATCH', `${path} holds ${os.kind} state, optimiser is ${o.optimizer.kind}`);
        o.optimizer.load({ ...os, tensors: opt });
        Object.assign(st, m.loop as LoopState);
        if (typeof st.lossEma !== 'number') st.lossEma = NaN; // JSON has no NaN
        if (st.best) {
          bestWeights = cloneWeights(o.weights);
          copyInto(bestWeights, best, `${path} (best)`);
        }
        resumedFrom = st.step;
        lastCheckpoint = path;
        break;
      }
    }
  }

  const totalSteps = o.steps ?? (o.epochs !== undefined && o.batchesPerEpoch ? o.epochs * o.batchesPerEpoch : undefined);
  const bar = o.progressBar ? new ProgressBar(o.progressStream ?? process.stderr) : null;
  const t0 = performance.now();
  const step0 = st.step;
  let lastLoss = NaN, lastLr = 0, lastNorm: number | undefined;

  const progress = (phase: ProgressInfo['phase'], metrics?: Record<string, number>) => {
    if (!bar && !o.onProgress) return;
    const secs = (performance.now() - t0) / 1000;
    const sps = secs > 0 ? (st.step - step0) / secs : 0;
    const p: ProgressInfo = {
      phase, epoch: st.epoch, epochs: o.epochs, step: st.step, totalSteps, loss: lastLoss, lossEma: st.lossEma, lr: lastLr,
      gradNorm: lastNorm, stepsPerSec: sps, etaSec: totalSteps !== undefined && sps > 0 ? (totalSteps - st.step) / sps : undefined, metrics,
    };
    bar?.update(p);
    o.onProgress?.(p);
  };

  const checkpoint = async () => {
    if (!o.checkpointDir) return;
    const tensors: NamedWeights = new Map();
    for (const [k, t] of o.weights) tensors.set(`w:${k}`, t);
    const os = o.optimizer.state();
    for (const [k, t] of os.tensors) tensors.set(`opt:${k}`, t);
    if (bestWeights && st.best) for (const [k, t] of bestWeights) tensors.set(`best:${k}`, t);
    const path = join(o.checkpointDir, ckptName(st.step));
    await saveWeights(path, tensors, {
      kind: 'medfedpure-checkpoint', version: 1, seed: o.seed, config,
      optimizer: { kind: os.kind, step: os.step, hyper: os.hyper },
      loop: st,
      rng: { generator: 'mulberry32', dataStream: `deriveSeed(seed, ${DATA_STREAM}, epoch)`, stepStream: `deriveSeed(seed, ${STEP_STREAM}, step)` },
      savedAt: new Date().toISOString(),
    });
    lastCheckpoint = path;
    const old = (await readdir(o.checkpointDir)).filter((n) => CKPT_RE.test(n)).sort().reverse().slice(keep);
    for (const n of old) await unlink(join(o.checkpointDir, n)).catch(() => {});
    progress('checkpoint');
  };

  const evaluate = async () => {
    if (!o.evalFn) return;
    const metrics = await o.evalFn(o.weights);
    st.evals.push({ step: st.step, metrics });
    const v = metrics[select.metric];
    if (typeof v === 'number' && Number.isFinite(v)) {
      const better = !st.best || (select.mode === 'min' ? v < st.best.value : v > st.best.value);
      if (better) {
        st.best = { step: st.step, metrics, value: v };
        if (!bestWeights) bestWeights = cloneWeights(o.weights);
        else copyInto(bestWeights, o.weights, 'best');
        if (o.checkpointDir) await saveWeights(join(o.checkpointDir, 'best.mfpw'), bestWeights, { kind: 'medfedpure-best', step: st.step, metrics, select });
      }
    }
    progress('eval', metrics);
  };

  // ---- loop ----
  let aborted = false;
  const stepsDone = () => o.steps !== undefined && st.step >= o.steps;
  try {
    outer: while (!stepsDone() && (o.epochs === undefined || st.epoch < o.epochs)) {
      const rng = new Rng(deriveSeed(o.seed, DATA_STREAM, st.epoch));
      const it = o.data({ epoch: st.epoch, rng, startBatch: st.batchInEpoch });
      let yielded = 0;
      for await (const batch of it) {
        if (stepsDone()) break outer;
        yielded++;
        batch.seed = deriveSeed(o.seed, STEP_STREAM, st.step);
        const res = await o.step(o.weights, batch);
        if (!Number.isFinite(res.loss)) throw new TrainError('TRAIN_NONFINITE', `loss is ${res.loss} at step ${st.step} (epoch ${st.epoch}); last checkpoint: ${lastCheckpoint ?? 'none'}`);
        if (res.state) mergeState(o.weights, res.state);
        lastNorm = o.clipGradNorm !== undefined ? clipGradNorm(res.grads, o.clipGradNorm) : undefined;
        if (lastNorm !== undefined && !Number.isFinite(lastNorm)) throw new TrainError('TRAIN_NONFINITE', `gradient norm is ${lastNorm} at step ${st.step}`);
        lastLr = lrAt(st.step);
        o.optimizer.step(o.weights, res.grads, lastLr);
        st.step++;
        st.batchInEpoch++;
        lastLoss = res.loss;
        st.lossEma = Number.isNaN(st.lossEma) ? res.loss : 0.95 * st.lossEma + 0.05 * res.loss;
        st.epochLossSum += res.loss;
        st.epochLossCount++;
        progress('train', res.metrics);
        if (o.evalEvery && st.step % o.evalEvery === 0) await evaluate();
        if (o.checkpointEvery && st.step % o.checkpointEvery === 0) await checkpoint();
        if (o.signal?.aborted) { aborted = true; break outer; }
        if (stepsDone()) break outer;
      }
      if (yielded === 0 && st.batchInEpoch === 0) throw new TrainError('TRAIN_BAD_ARGUMENT', `data factory yielded no batches for epoch ${st.epoch}`);
      st.epochLoss.push(st.epochLossCount ? st.epochLossSum / st.epochLossCount : NaN);
      st.epoch++;
      st.batchInEpoch = 0;
      st.epochLossSum = 0;
      st.epochLossCount = 0;
      if (o.signal?.aborted) { aborted = true; break; }
    }
    // ---- end ----
    if (!aborted && o.evalFn && st.evals.at(-1)?.step !== st.step) await evaluate();
    if (o.checkpointDir && lastCheckpoint !== join(o.checkpointDir, ckptName(st.step))) await checkpoint();
  } finally {
    bar?.end();
  }

  let onnx: TrainResult['onnx'] = null;
  if (o.exportOnnx && !aborted) {
    const which = o.exportOnnx.which ?? (bestWeights ? 'best' : 'last');
    const bytes = await o.exportOnnx.build(which === 'best' && bestWeights ? bestWeights : o.weights);
    await writeFileAtomic(o.exportOnnx.path, bytes);
    onnx = { path: o.exportOnnx.path, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  progress('done');
  return {
    stopped: aborted ? 'aborted' : 'done', step: st.step, epoch: st.epoch, weights: o.weights,
    best: st.best && bestWeights ? { step: st.best.step, metrics: st.best.metrics, weights: bestWeights } : null,
    evals: st.evals, epochLoss: st.epochLoss, resumedFrom, lastCheckpoint, onnx,
  };
}
