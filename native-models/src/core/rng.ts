/**
 * The one seeded PRNG of the repository, so that splits, shuffles, augmentation, weight init, MAE masks, diffusion
 * noise and training are bit-identical across machines and Node versions (Math.random is neither seedable nor
 * specified).
 *
 * Generator: mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32, passes PractRand to 2^32 outputs
 * — plenty for shuffling a few thousand files and drawing augmentation parameters. Seeds are first scrambled with the
 * splitmix32 finaliser so that nearby seeds (42, 43, ...) give unrelated streams.
 *
 * The whole state is one uint32 (`state`), so it can be saved in a checkpoint and restored exactly.
 * All arithmetic is 32-bit integer (Math.imul, >>>), hence identical on every platform.
 */

/** splitmix32 finaliser: a bijective 32-bit mix. Used to derive seeds. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Derive a child seed from a parent seed and a list of integers (e.g. epoch, step). Deterministic, order-sensitive. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32(seed >>> 0);
  for (const p of parts) h = mix32((h ^ (p >>> 0)) >>> 0);
  return h;
}

export class Rng {
  /** The full generator state (uint32). Save it to resume the stream exactly. */
  state: number;

  constructor(seed: number) {
    this.state = mix32(seed >>> 0);
  }

  /** A generator continuing from a saved `state` (not a seed). */
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.state = state >>> 0;
    return r;
  }

  /** Next uint32 (mulberry32 step). */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi) (default [0, 1)). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal via Box–Muller (uses two uniforms per call; no cached spare, so the state stays one uint32). */
  normal(): number {
    const u1 = (this.nextU32() + 1) / 4294967297; // (0, 1]: log is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fill `out` with independent N(0, σ²) samples, using both Box–Muller outputs (twice as fast as `normal()`). */
  fillNormal(out: Float32Array | Float64Array, sigma = 1): void {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = (this.nextU32() + 1) / 4294967297;
      const u2 = this.next();
      const r = sigma * Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
  }

  /** n independent N(0, std²) samples. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    this.fillNormal(out, std);
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
