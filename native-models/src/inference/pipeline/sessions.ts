/**
 * One onnxruntime session per (model, batch size), created once and reused. Graphs have static shapes, so a batch
 * of n runs in the smallest "bucket" ≥ n (1, 2, 4, 8, 16, …): the inputs are zero-padded to the bucket and the
 * padded rows' outputs are dropped. Inference graphs carry their weights as initializers (built once per bucket).
 */
import { ModelSession, type SessionOptions } from '../../core/runtime/session.js';
import type { EpName } from '../../core/runtime/ep.js';

export function bucketOf(n: number, max: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`batch size must be a positive integer, got ${n}`);
  let b = 1;
  while (b < n) b *= 2;
  return Math.min(b, Math.max(max, n));
}

export class BucketedSessions {
  private readonly cache = new Map<number, Promise<ModelSession>>();

  constructor(
    /** Label for errors and FLOP reports. */
    readonly name: string,
    /** Serialised inference graph (weights as initializers) for a batch size. */
    readonly build: (batch: number) => Uint8Array,
    readonly opts: SessionOptions & { ep: EpName },
  ) {}

  get(batch: number): Promise<ModelSession> {
    let p = this.cache.get(batch);
    if (!p) {
      p = ModelSession.create(this.build(batch), this.opts);
      p.catch(() => this.cache.delete(batch));
      this.cache.set(batch, p);
    }
    return p;
  }

  /** Batch sizes with a session (created or being created). */
  get batches(): number[] {
    return [...this.cache.keys()].sort((a, b) => a - b);
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) await (await p.catch(() => null))?.release().catch(() => undefined);
  }
}

/** Copy `n` images of `per` values into a zero-padded buffer of `bucket` images. */
export function padBatch(data: Float32Array, n: number, bucket: number, per: number): Float32Array {
  if (n === bucket && data.length === n * per) return data;
  const out = new Float32Array(bucket * per);
  out.set(data.subarray(0, n * per));
  return out;
}
