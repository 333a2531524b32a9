/**
 * The in-memory image dataset every loader produces (Br35H folder, DICOM frames, synthetic stand-in) and the batch
 * iterator the trainer consumes.
 *
 * Layout: `images` holds N grey images of size × size, row-major, consecutively, in pixel space [0, 1].
 * `labels[i]` is 0 (no tumour) or 1 (tumour); `groups[i]` is the near-duplicate group (splits never cut a group);
 * `paths[i]` names the source (relative path, or a synthetic id).
 */
import type { Batch } from './types.js';
import { Augmenter, type AugmentOptions } from './augment.js';
import { Rng } from '../rng.js';

export class DatasetError extends Error {
  constructor(
    readonly code:
      | 'DATASET_NOT_FOUND'
      | 'DATASET_EMPTY'
      | 'DATASET_BAD_LAYOUT'
      | 'DATASET_GROUP_MISSING'
      | 'DATASET_CHECKSUM_MISMATCH'
      | 'DATASET_DECODE_FAILED'
      | 'DATASET_BAD_ARGUMENT',
    message: string,
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface DatasetMeta {
  /** Where it came from, e.g. "Br35H folder /work/shared/datasets/br35h" or "synthetic (Colin27 + mricron VOIs)". */
  source: string;
  /** A caveat that must be printed next to every number measured on this dataset (e.g. "synthetic lesions, one anatomy"). */
  caveat?: string;
  /** How groups were assigned (near-duplicate table, slice blocks, one file per group, ...). */
  groupSource: string;
  /** sha256 fingerprint of the source data (file hashes + group table) and preprocessing version. */
  fingerprint: string;
  /** Files that could not be decoded and were skipped (only when the loader was asked to skip). */
  skipped?: { path: string; error: string }[];
  /** Whether the pixels came from the preprocessed cache. */
  fromCache?: boolean;
}

export interface BatchOptions {
  /** Skip this many batches at the start (resuming mid-epoch); the remaining batches are identical to a full run. */
  startBatch?: number;
  /** Drop a last, smaller batch. Default false. */
  dropLast?: boolean;
  /**
   * Reuse one x/y buffer for all full batches (no per-step allocation). A yielded batch is then only valid until
   * the next one is requested — right for a training loop, wrong for `[...ds.batches(...)]`. Default false.
   */
  reuse?: boolean;
}

export class ImageDataset {
  private augmenter: Augmenter | null = null;
  private augmenterKey = '';

  constructor(
    readonly name: string,
    readonly size: number,
    readonly images: Float32Array,
    readonly labels: Int32Array,
    readonly groups: Int32Array,
    readonly paths: string[],
    readonly meta: DatasetMeta,
  ) {
    const n = labels.length;
    if (images.length !== n * size * size || groups.length !== n || paths.length !== n) {
      throw new DatasetError('DATASET_BAD_ARGUMENT',
        `ImageDataset: inconsistent lengths (images ${images.length} for ${n}×${size}², groups ${groups.length}, paths ${paths.length})`);
    }
  }

  get count(): number {
    return this.labels.length;
  }

  /** One image (a view, not a copy). */
  image(i: number): Float32Array {
    const ss = this.size * this.size;
    return this.images.subarray(i * ss, (i + 1) * ss);
  }

  /** Class counts [no, yes] over the given indices (all when omitted). */
  classCounts(indices?: ArrayLike<number>): [number, number] {
    const c: [number, number] = [0, 0];
    const n = indices ? indices.length : this.count;
    for (let k = 0; k < n; k++) c[this.labels[indices ? indices[k] : k] ? 1 : 0]++;
    return c;
  }

  /**
   * Batches over `indices` as NCHW tensors [B, 1, S, S] with labels.
   * With `rng`: the order is shuffled and each batch gets its own seed drawn up front, so a batch's content depends
   * only on (rng state at the call, batch number) — that is what makes `startBatch` resume exact and cheap.
   * `augment` (needs `rng`) applies seeded augmentation to the copies, never to the dataset.
   */
  *batches(indices: ArrayLike<number>, batchSize: number, rng?: Rng | null, augment?: AugmentOptions | null,
    opts: BatchOptions = {}): Generator<Batch> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new DatasetError('DATASET_BAD_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
    if (augment && !rng) throw new DatasetError('DATASET_BAD_ARGUMENT', 'augmentation needs an rng');
    const order = Int32Array.from(indices as ArrayLike<number>);
    for (let k = 0; k < order.length; k++) {
      if (!(order[k] >= 0 && order[k] < this.count)) throw new DatasetError('DATASET_BAD_ARGUMENT', `index ${order[k]} out of range`);
    }
    const nBatches = opts.dropLast ? Math.floor(order.length / batchSize) : Math.ceil(order.length / batchSize);
    const seeds = new Uint32Array(nBatches);
    if (rng) {
      rng.shuffle(order);
      for (let b = 0; b < nBatches; b++) seeds[b] = rng.nextU32();
    }
    const aug = augment ? this.getAugmenter(augment) : null;
    const ss = this.size * this.size;
    let fullX: Float32Array | null = null;
    let fullY: Int32Array | null = null;
    for (let b = opts.startBatch ?? 0; b < nBatches; b++) {
      const lo = b * batchSize;
      const n = Math.min(batchSize, order.length - lo);
      let x: Float32Array, y: Int32Array;
      if (opts.reuse && n === batchSize) {
        x = fullX ??= new Float32Array(batchSize * ss);
        y = fullY ??= new Int32Array(batchSize);
      } else {
        x = new Float32Array(n * ss);
        y = new Int32Array(n);
      }
      for (let k = 0; k < n; k++) {
        const i = order[lo + k];
        x.set(this.images.subarray(i * ss, (i + 1) * ss), k * ss);
        y[k] = this.labels[i];
      }
      if (aug) aug.apply(x, n, this.size, new Rng(seeds[b]));
      yield { x: { shape: [n, 1, this.size, this.size], data: x }, y };
    }
  }

  /** Number of batches `batches()` yields for `count` indices. */
  static batchCount(count: number, batchSize: number, dropLast = false): number {
    return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** A new dataset holding only `indices` (copies pixels). */
  subset(indices: ArrayLike<number>, name = this.name): ImageDataset {
    const ss = this.size * this.size;
    const n = indices.length;
    const images = new Float32Array(n * ss);
    const labels = new Int32Array(n);
    const groups = new Int32Array(n);
    const paths: string[] = [];
    for (let k = 0; k < n; k++) {
      const i = indices[k];
      images.set(this.images.subarray(i * ss, (i + 1) * ss), k * ss);
      labels[k] = this.labels[i];
      groups[k] = this.groups[i];
      paths.push(this.paths[i]);
    }
    return new ImageDataset(name, this.size, images, labels, groups, paths, this.meta);
  }

  private getAugmenter(opts: AugmentOptions): Augmenter {
    const key = JSON.stringify(opts);
    if (!this.augmenter || key !== this.augmenterKey) {
      this.augmenter = new Augmenter(opts);
      this.augmenterKey = key;
    }
    return this.augmenter;
  }
}
