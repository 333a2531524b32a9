/**
 * Local training and evaluation of the classifier for one federated round, on the native-models stack: the
 * classifier's own train step (`makeTrainStep`), the core trainer loop, AdamW and the core augmentation — the same
 * pieces the classifier recipe uses, in a small per-round budget.
 *
 * Budgets. `threads` caps onnxruntime's intra-op threads (the site policy's thread cap); `maxSeconds` stops training
 * after the step that crosses it (the trainer's abort signal), so a round never runs away on a busy workstation;
 * `epochs` and `maxSteps` bound the work when the clock does not.
 *
 * Evaluation runs the classifier's inference graph with the weights as inputs (one compiled session per batch size,
 * reused across rounds), and reports mean cross-entropy and accuracy.
 */
import * as classifier from '../../native-models/src/inference/nets/classifier.js';
import { ModelSession } from '../../native-models/src/core/runtime/session.js';
import { train } from '../../native-models/src/core/train/trainer.js';
import { AdamW } from '../../native-models/src/core/train/optim.js';
import { datasetFactory, batchesPerEpoch } from '../../native-models/src/core/train/data.js';
import type { ImageDataset } from '../../native-models/src/core/train/dataset.js';
import type { AugmentOptions } from '../../native-models/src/core/train/augment.js';
import type { NamedWeights } from '../../native-models/src/core/tensor.js';
import { FlError } from '../protocol/errors.js';

export interface LocalTrainingOptions {
  net: classifier.ClassifierConfig;
  /** onnxruntime intra-op threads. */
  threads: number;
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** Stop after the step that crosses this many seconds. */
  maxSeconds: number;
  /** Upper bound on optimiser steps per round (0 = none). */
  maxSteps: number;
  augment: AugmentOptions | null;
  /** Global-norm gradient clipping inside local training (not the DP clipping of the update). */
  clipGradNorm: number;
}

export const DEFAULT_LOCAL_TRAINING: LocalTrainingOptions = {
  net: { ...classifier.CLASSIFIER_DEFAULT, width: 24 },
  threads: 2,
  epochs: 1,
  batch: 32,
  lr: 1e-3,
  weightDecay: 1e-4,
  maxSeconds: 600,
  maxSteps: 0,
  augment: { flipP: 0.5, rotateDeg: 10, scaleMin: 0.9, scaleMax: 1.1, translate: 0.05, contrast: 0.2, brightness: 0, gammaMax: 1 },
  clipGradNorm: 5,
};

const EVAL_BATCH = 16;

export interface TrainOutcome {
  steps: number;
  examples: number;
  loss: number;
  accuracy: number;
  stoppedByBudget: boolean;
  seconds: number;
}

export interface EvalOutcome {
  examples: number;
  loss: number;
  accuracy: number;
}

export class LocalTrainer {
  private step: ReturnType<typeof classifier.makeTrainStep> | null = null;
  private readonly evalSessions = new Map<number, Promise<ModelSession>>();

  constructor(readonly opts: LocalTrainingOptions) {
    if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new FlError('FL_BAD_ARGUMENT', `threads must be ≥ 1, got ${opts.threads}`);
  }

  /** Train `weights` in place on `indices` of `ds`. `lr` and `epochs` may be overridden per round (server config). */
  async train(weights: NamedWeights, ds: ImageDataset, indices: Int32Array, round: { seed: number; lr?: number; epochs?: number; maxSeconds?: number; signal?: AbortSignal }): Promise<TrainOutcome> {
    if (indices.length === 0) throw new FlError('FL_NO_DATA', 'no confirmed cases to train on');
    if (ds.size !== this.opts.net.size) throw new FlError('FL_BAD_ARGUMENT', `site images are ${ds.size} px, the model takes ${this.opts.net.size}`);
    this.step ??= classifier.makeTrainStep(this.opts.net, { threads: this.opts.threads });
    const batch = Math.min(this.opts.batch, indices.length);
    const epochs = round.epochs ?? this.opts.epochs;
    const ctrl = new AbortController();
    const t0 = performance.now();
    const timer = setTimeout(() => ctrl.abort(), Math.max(0, Math.min(this.opts.maxSeconds, round.maxSeconds ?? Infinity) * 1000));
    const onOuter = () => ctrl.abort();
    round.signal?.addEventListener('abort', onOuter);
    let lossSum = 0, accSum = 0, n = 0;
    try {
      const res = await train({
        weights,
        step: this.step,
        optimizer: new AdamW({ weightDecay: this.opts.weightDecay, decay: (_n, shape) => shape.length > 1 }),
        data: datasetFactory(ds, indices, batch, { augment: this.opts.augment, dropLast: true }),
        epochs,
        ...(this.opts.maxSteps > 0 ? { steps: this.opts.maxSteps } : {}),
        batchesPerEpoch: batchesPerEpoch(indices.length, batch, true),
        seed: round.seed >>> 0,
        lr: round.lr ?? this.opts.lr,
        clipGradNorm: this.opts.clipGradNorm,
        signal: ctrl.signal,
        onProgress: (p) => {
          if (p.phase === 'train') {
            lossSum += p.loss;
            accSum += p.metrics?.accuracy ?? 0;
            n++;
          }
        },
      });
      return {
        steps: res.step, examples: indices.length, loss: n ? lossSum / n : NaN, accuracy: n ? accSum / n : NaN,
        stoppedByBudget: res.stopped === 'aborted', seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      clearTimeout(timer);
      round.signal?.removeEventListener('abort', onOuter);
    }
  }

  async evaluate(weights: NamedWeights, ds: ImageDataset, indices: Int32Array): Promise<EvalOutcome> {
    if (indices.length === 0) throw new FlError('FL_NO_DATA', 'no confirmed cases to evaluate on');
    // one compiled graph of EVAL_BATCH images: a short last batch is zero-padded and the padding ignored
    const bs = EVAL_BATCH;
    let p = this.evalSessions.get(bs);
    if (!p) {
      p = ModelSession.create(classifier.buildInference(this.opts.net, undefined, bs), { threads: this.opts.threads });
      p.catch(() => this.evalSessions.delete(bs));
      this.evalSessions.set(bs, p);
    }
    const session = await p;
    const ss = ds.size * ds.size;
    let lossSum = 0, correct = 0;
    for (const b of ds.batches(indices, bs)) {
      const n = b.x.shape[0];
      const x = n === bs ? b.x : { shape: [bs, 1, ds.size, ds.size], data: (() => { const d = new Float32Array(bs * ss); d.set(b.x.data); return d; })() };
      const feeds = new Map([...weights, ['x', x]]);
      const out = await session.run(feeds, ['logits']);
      const logits = out.get('logits')!.data;
      const k = this.opts.net.classes;
      for (let i = 0; i < n; i++) {
        let max = -Infinity, best = 0;
        for (let c = 0; c < k; c++) if (logits[i * k + c] > max) { max = logits[i * k + c]; best = c; }
        let z = 0;
        for (let c = 0; c < k; c++) z += Math.exp(logits[i * k + c] - max);
        lossSum += -(logits[i * k + b.y![i]] - max - Math.log(z));
        if (best === b.y![i]) correct++;
      }
    }
    return { examples: indices.length, loss: lossSum / indices.length, accuracy: correct / indices.length };
  }

  async release(): Promise<void> {
    await this.step?.release();
    this.step = null;
    for (const p of this.evalSessions.values()) await (await p.catch(() => null))?.release().catch(() => undefined);
    this.evalSessions.clear();
  }
}
