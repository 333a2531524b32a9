/**
 * Glue between an ImageDataset and the trainer: a DataFactory that yields shuffled, optionally augmented batches of
 * the given indices, honouring the trainer's per-epoch rng and resume position, with reused batch buffers.
 */
import type { ImageDataset } from './dataset.js';
import type { AugmentOptions } from './augment.js';
import type { DataFactory } from './trainer.js';

export function datasetFactory(ds: ImageDataset, indices: ArrayLike<number>, batchSize: number,
  opts: { augment?: AugmentOptions | null; dropLast?: boolean } = {}): DataFactory {
  return ({ rng, startBatch }) => ds.batches(indices, batchSize, rng, opts.augment ?? null, { startBatch, dropLast: opts.dropLast ?? false, reuse: true });
}

/** Batches per epoch for the progress bar's ETA. */
export function batchesPerEpoch(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}
