/**
 * The MAE detector: reconstruction error averaged over K seeded masks.
 *
 * Masks: K fixed, seeded masks, the same for every image (so scores are comparable with the calibration). They are
 * drawn stratified: each "round" is one seeded random permutation of the L patches cut into consecutive chunks of
 * (1 − ratio)·L kept patches — with L = 64 and ratio 0.75 a round is 4 masks whose kept sets partition the image, so
 * with K a multiple of 4 every patch is masked in exactly the same number of masks (3 of every 4). That gives every
 * pixel an error estimate and lowers the variance of the score compared with K independent masks.
 *
 * One MAE run per batch: the K masks of one image form a batch of K, so B images run as one batch of B·K.
 *
 * Outputs per image:
 *  - `scores.mse`: mean over masks of the MSE on the *masked* pixels (the paper's reconstruction-error score);
 *  - `scores.laplacian`: the same on the high-pass residual ∇²(x − x̂) (5-point Laplacian, edges replicated),
 *    since adversarial perturbations are mostly high-frequency;
 *  - `errorMap`: per pixel, mean over the masks that hid it of (x − x̂)².
 * Which score flags is the calibration's `scoreKind` (see calibrate.ts).
 */
import { keptOf, patchesOf, buildInference, type MaeConfig } from '../nets/mae.js';
import type { NamedWeights } from '../../core/tensor.js';
import type { EpName } from '../../core/runtime/ep.js';
import { Rng } from '../../core/rng.js';
import { BucketedSessions, bucketOf, padBatch } from './sessions.js';

export type ScoreKind = 'mse' | 'laplacian';
export const SCORE_KINDS: readonly ScoreKind[] = ['mse', 'laplacian'];

export interface DetectorOptions {
  /** Number of masks per image. */
  K: number;
  /** Seed of the mask permutations. */
  maskSeed: number;
}

export interface Detection {
  scores: Record<ScoreKind, number>;
  /** [S·S] mean squared reconstruction error over the masks that hid each pixel. */
  errorMap: Float32Array;
}

/** Per mask: the patch order, kept patches first (as nets/mae.ts sampleMask orders them). */
export function detectorMaskOrders(c: MaeConfig, K: number, seed: number): Int32Array[] {
  if (!Number.isInteger(K) || K < 1 || K > 64) throw new RangeError(`K must be an integer in 1..64, got ${K}`);
  const L = patchesOf(c), k = keptOf(c);
  const perRound = Math.max(1, Math.floor(L / k));
  const rng = new Rng(seed);
  const orders: Int32Array[] = [];
  let perm: number[] = [];
  for (let j = 0; j < K; j++) {
    if (j % perRound === 0) {
      perm = [...Array(L).keys()];
      for (let i = L - 1; i > 0; i--) { const r = rng.int(i + 1); [perm[i], perm[r]] = [perm[r], perm[i]]; }
    }
    const start = (j % perRound) * k;
    const kept = perm.slice(start, start + k);
    const keptSet = new Set(kept);
    orders.push(Int32Array.from([...kept, ...perm.filter((p) => !keptSet.has(p))]));
  }
  return orders;
}

/** Graph feeds for `images` images × K masks (keep / restore indices and the float mask). */
export function maskFeeds(c: MaeConfig, orders: readonly Int32Array[], images: number) {
  const L = patchesOf(c), k = keptOf(c), K = orders.length, n = images * K;
  const keep = new BigInt64Array(n * k), restore = new BigInt64Array(n * L), mask = new Float32Array(n * L);
  for (let s = 0; s < n; s++) {
    const order = orders[s % K];
    for (let pos = 0; pos < L; pos++) {
      const patch = order[pos];
      if (pos < k) keep[s * k + pos] = BigInt(s * L + patch);
      else mask[s * L + patch] = 1;
      restore[s * L + patch] = BigInt(s * L + pos);
    }
  }
  return { keep: { shape: [n * k], data: keep }, restore: { shape: [n * L], data: restore }, mask: { shape: [n, L], data: mask } };
}

/** Per-pixel masked indicator [K, S·S] for the K masks. */
function pixelMasks(c: MaeConfig, orders: readonly Int32Array[]): Uint8Array[] {
  const S = c.size, p = c.patch, g = S / p, k = keptOf(c);
  return orders.map((order) => {
    const m = new Uint8Array(S * S);
    for (let pos = k; pos < order.length; pos++) {
      const gy = Math.floor(order[pos] / g), gx = order[pos] % g;
      for (let y = 0; y < p; y++) m.fill(1, (gy * p + y) * S + gx * p, (gy * p + y) * S + gx * p + p);
    }
    return m;
  });
}

/** 5-point Laplacian with replicated edges, into `out`. */
export function laplacian(src: Float32Array, S: number, out: Float32Array): Float32Array {
  for (let y = 0; y < S; y++) {
    const up = (y === 0 ? 0 : y - 1) * S, row = y * S, dn = (y === S - 1 ? y : y + 1) * S;
    for (let x = 0; x < S; x++) {
      const l = x === 0 ? 0 : x - 1, r = x === S - 1 ? x : x + 1;
      out[row + x] = src[up + x] + src[dn + x] + src[row + l] + src[row + r] - 4 * src[row + x];
    }
  }
  return out;
}

export class Detector {
  readonly orders: Int32Array[];
  private readonly pixMasks: Uint8Array[];
  private readonly sessions: BucketedSessions;
  private readonly feedCache = new Map<number, ReturnType<typeof maskFeeds>>();

  constructor(
    readonly cfg: MaeConfig,
    weights: NamedWeights,
    readonly opts: DetectorOptions,
    session: { ep: EpName; threads?: number },
    /** Largest image batch run at once (MAE batch = images × K). */
    readonly maxImages = 16,
  ) {
    this.orders = detectorMaskOrders(cfg, opts.K, opts.maskSeed);
    this.pixMasks = pixelMasks(cfg, this.orders);
    this.sessions = new BucketedSessions('mae', (n) => buildInference(cfg, weights, n), { ...session });
  }

  get K(): number {
    return this.opts.K;
  }

  /** MAE batch size used for `images` images. */
  batchFor(images: number): number {
    return bucketOf(images, this.maxImages) * this.opts.K;
  }

  /** Scores and error maps for `n` images packed in `x` ([n, S·S], pixel space). */
  async detect(x: Float32Array, n: number): Promise<Detection[]> {
    const S = this.cfg.size, ss = S * S, K = this.opts.K;
    const out: Detection[] = [];
    for (let lo = 0; lo < n; lo += this.maxImages) {
      const m = Math.min(this.maxImages, n - lo);
      const bucket = bucketOf(m, this.maxImages);
      const session = await this.sessions.get(bucket * K);
      let feeds = this.feedCache.get(bucket);
      if (!feeds) this.feedCache.set(bucket, (feeds = maskFeeds(this.cfg, this.orders, bucket)));
      // Every image repeated K times: [bucket·K, 1, S, S].
      const images = padBatch(x.subarray(lo * ss, (lo + m) * ss), m, bucket, ss);
      const rep = new Float32Array(bucket * K * ss);
      for (let b = 0; b < bucket; b++) for (let j = 0; j < K; j++) rep.set(images.subarray(b * ss, (b + 1) * ss), (b * K + j) * ss);
      const res = await session.run({ x: { shape: [bucket * K, 1, S, S], data: rep }, ...feeds }, ['recon']);
      const recon = res.get('recon')!.data;
      for (let b = 0; b < m; b++) out.push(this.score(images.subarray(b * ss, (b + 1) * ss), recon.subarray(b * K * ss, (b + 1) * K * ss)));
    }
    return out;
  }

  private score(x: Float32Array, recon: Float32Array): Detection {
    const S = this.cfg.size, ss = S * S, K = this.opts.K;
    const errSum = new Float32Array(ss), count = new Uint8Array(ss);
    const d = new Float32Array(ss), lap = new Float32Array(ss);
    let mse = 0, lapScore = 0;
    for (let j = 0; j < K; j++) {
      const r = recon.subarray(j * ss, (j + 1) * ss), pm = this.pixMasks[j];
      for (let i = 0; i < ss; i++) d[i] = x[i] - r[i];
      laplacian(d, S, lap);
      let se = 0, sl = 0, nm = 0;
      for (let i = 0; i < ss; i++) {
        if (!pm[i]) continue;
        const e = d[i] * d[i];
        se += e;
        sl += lap[i] * lap[i];
        nm++;
        errSum[i] += e;
        count[i]++;
      }
      mse += se / nm;
      lapScore += sl / nm;
    }
    const errorMap = new Float32Array(ss);
    for (let i = 0; i < ss; i++) errorMap[i] = count[i] ? errSum[i] / count[i] : 0;
    return { scores: { mse: mse / K, laplacian: lapScore / K }, errorMap };
  }

  release(): Promise<void> {
    return this.sessions.release();
  }
}
