/**
 * The tumour classifier stage: batched softmax probabilities from the classifier inference session.
 * Class 0 = no tumour, 1 = tumour (nets/classifier.ts). No label ever goes in.
 */
import { buildInference, type ClassifierConfig } from '../nets/classifier.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { EpName } from '../../core/runtime/ep.js';
import { BucketedSessions, bucketOf, padBatch } from './sessions.js';

export const CLASS_NAMES = ['no-tumour', 'tumour'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

export class Classifier {
  private readonly sessions: BucketedSessions;

  constructor(
    readonly cfg: ClassifierConfig,
    weights: NamedWeights,
    session: { ep: EpName; threads?: number },
    readonly maxBatch = 16,
  ) {
    this.sessions = new BucketedSessions('classifier', (n) => buildInference(cfg, weights, n), { ...session });
  }

  /** Probabilities per image for `n` images packed in `x` ([n, S·S], pixel space). */
  async probabilities(x: Float32Array, n: number): Promise<Float32Array[]> {
    const S = this.cfg.size, ss = S * S, k = this.cfg.classes;
    const out: Float32Array[] = [];
    for (let lo = 0; lo < n; lo += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - lo);
      const bucket = bucketOf(m, this.maxBatch);
      const session = await this.sessions.get(bucket);
      const data = padBatch(x.subarray(lo * ss, (lo + m) * ss), m, bucket, ss);
      const probs = (await session.run({ x: { shape: [bucket, 1, S, S], data } }, ['probs'])).get('probs')!.data;
      for (let b = 0; b < m; b++) out.push(probs.slice(b * k, (b + 1) * k));
    }
    return out;
  }

  release(): Promise<void> {
    return this.sessions.release();
  }
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}
