/**
 * Seeded randomness for nets: weight init, masks, timesteps and noise. mulberry32 is small, fast and good enough
 * for ML sampling; gaussians by Box–Muller. Same seed → same numbers on every platform.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly u: () => number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.u = mulberry32(seed);
  }
  uniform(): number {
    return this.u();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.u() * n);
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u1 = this.u();
    while (u1 <= 1e-12) u1 = this.u();
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * this.u();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
  normals(n: number, std = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * std;
    return a;
  }
}
