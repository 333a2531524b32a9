/**
 * The detector's score as a differentiable graph, for detector-aware attacks: the same number pipeline/detector.ts
 * computes (mean over the K fixed masks of the mean squared reconstruction error on the masked pixels — of x − x̂
 * for 'mse', of its 5-point Laplacian with replicated edges for 'laplacian'), with dScore/dx.
 *
 * Rows are (image, mask) pairs, K per image in the detector's mask order; the graph outputs Σᵢ scoreᵢ so that the
 * gradient of each image is its own dScoreᵢ/dxᵢ once the K rows of an image are summed (done in `run`).
 * Weights are baked in as initializers; one session per image count.
 */
import { GraphBuilder, type Value } from '../../core/graph/builder.js';
import { keptOf, maeForward, patchesOf, unpatchify, type MaeConfig } from '../../inference/nets/mae.js';
import { backward } from '../../core/autodiff/backward.js';
import { ModelSession, type SessionOptions } from '../../core/runtime/session.js';
import { maskFeeds, type ScoreKind } from '../../inference/pipeline/detector.js';
import type { NamedWeights } from '../../core/tensor.js';

/** 5-point Laplacian of [R, 1, S, S] with replicated edges (as detector.ts `laplacian`). */
function laplacianGraph(b: GraphBuilder, d: Value): Value {
  const [R, , S] = d.shape;
  const rows = b.concat([b.slice(d, [0], [1], [2]), d, b.slice(d, [S - 1], [S], [2])], 2); // [R,1,S+2,S]
  const padded = b.concat([b.slice(rows, [0], [1], [3]), rows, b.slice(rows, [S - 1], [S], [3])], 3); // [R,1,S+2,S+2]
  const k = b.constF32([0, 1, 0, 1, -4, 1, 0, 1, 0], [1, 1, 3, 3]);
  const out = b.conv(padded, k, undefined, { pads: [0, 0, 0, 0] });
  if (out.shape[0] !== R || out.shape[2] !== S) b.fail('Laplacian', 'unexpected shape');
  return out;
}

export function buildScoreGraph(c: MaeConfig, K: number, images: number, kind: ScoreKind): GraphBuilder {
  const R = images * K, L = patchesOf(c), k = keptOf(c), S = c.size;
  const b = new GraphBuilder('detector_score');
  const x = b.input('x', [R, 1, S, S]);
  const keep = b.input('keep', [R * k], 'int64');
  const restore = b.input('restore', [R * L], 'int64');
  const mask = b.input('mask', [R, L]);
  const recon = unpatchify(b, c, maeForward(b, c, { x, keep, restore }));
  const ones = b.constF32(new Float32Array(c.patch * c.patch).fill(1), [c.patch * c.patch]);
  const pix = unpatchify(b, c, b.mul(b.reshape(mask, [R, L, 1]), ones)); // 1 where masked
  let d = b.sub(x, recon);
  if (kind === 'laplacian') d = laplacianGraph(b, d);
  const maskedPixels = (L - k) * c.patch * c.patch;
  const total = b.mul(b.reduceSum(b.mul(b.mul(d, d), pix), [0, 1, 2, 3], false), b.scalar(1 / (maskedPixels * K)));
  b.output(total, 'score_sum');
  backward(b, total, [x]);
  return b;
}

export class DetectorScoreGrad {
  private readonly cache = new Map<number, Promise<ModelSession>>();

  constructor(
    readonly cfg: MaeConfig,
    readonly weights: NamedWeights,
    /** The detector's mask orders (Detector.orders), so the score is the one the pipeline computes. */
    readonly orders: readonly Int32Array[],
    readonly kind: ScoreKind,
    readonly opts: SessionOptions = {},
  ) {}

  private session(images: number): Promise<ModelSession> {
    let p = this.cache.get(images);
    if (!p) {
      const g = buildScoreGraph(this.cfg, this.orders.length, images, this.kind);
      p = ModelSession.create(g.serialize({ paramsAs: 'initializers', weights: this.weights }), this.opts);
      p.catch(() => this.cache.delete(images));
      this.cache.set(images, p);
    }
    return p;
  }

  /** dScoreᵢ/dxᵢ for n images packed in x [n·S·S]; also Σ scores (a consistency check against the detector). */
  async run(x: Float32Array, n: number): Promise<{ grad: Float32Array; scoreSum: number }> {
    const S = this.cfg.size, ss = S * S, K = this.orders.length;
    const rep = new Float32Array(n * K * ss);
    for (let i = 0; i < n; i++) for (let j = 0; j < K; j++) rep.set(x.subarray(i * ss, (i + 1) * ss), (i * K + j) * ss);
    const session = await this.session(n);
    const out = await session.run({ x: { shape: [n * K, 1, S, S], data: rep }, ...maskFeeds(this.cfg, this.orders, n) }, ['score_sum', 'grad.x']);
    const gRep = out.get('grad.x')!.data;
    const grad = new Float32Array(n * ss);
    for (let i = 0; i < n; i++) for (let j = 0; j < K; j++) {
      const src = gRep.subarray((i * K + j) * ss, (i * K + j + 1) * ss);
      for (let p = 0; p < ss; p++) grad[i * ss + p] += src[p];
    }
    return { grad, scoreSum: out.get('score_sum')!.data[0] };
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) await (await p.catch(() => null))?.release().catch(() => undefined);
  }
}
