/**
 * The seam between model graphs (nets/, autodiff/) and the training loop (train/trainer.ts).
 * A net's training adapter turns a data batch into graph feeds (sampling timesteps and noise for diffusion, masks for
 * the MAE, ...) with its own seeded RNG, runs forward+backward, and returns the loss and the parameter gradients.
 */
import type { NamedWeights, TensorF32 } from '../tensor.js';

/** A batch of samples as the dataset yields it: images in pixel space [0,1], NCHW, and labels when supervised. */
export interface Batch {
  x: TensorF32;
  /** Class labels (0 = no tumour, 1 = tumour) for supervised models; absent for self-supervised ones. */
  y?: Int32Array;
  /**
   * Per-step seed set by the trainer (derived from the run seed and the update index). Stochastic step functions
   * (diffusion timesteps and noise, MAE masks, dropout) should seed their RNG from it so that resuming from a
   * checkpoint replays the run exactly. Absent outside the trainer.
   */
  seed?: number;
}

export interface StepResult {
  loss: number;
  /** d loss / d weight for every trainable weight, same names and shapes as the weights. */
  grads: NamedWeights;
  /**
   * New values of non-trainable state tensors (BatchNorm running statistics), same names and shapes as in the
   * weights. The trainer copies them into the weights before the optimiser step, so they are checkpointed, resumed,
   * averaged and exported with the weights but never touched by the optimiser or weight decay.
   */
  state?: NamedWeights;
  metrics?: Record<string, number>;
}

/** One forward+backward pass. Must not mutate `weights`. */
export type StepFn = (weights: NamedWeights, batch: Batch) => Promise<StepResult>;

/** Evaluation on held-out data; returns named metrics (e.g. { loss, accuracy }). */
export type EvalFn = (weights: NamedWeights) => Promise<Record<string, number>>;
