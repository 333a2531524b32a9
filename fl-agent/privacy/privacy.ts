/**
 * Client-side privacy, applied to the shared layers before anything leaves the site.
 *
 * Clipping has the semantics of Flower's `fixedclipping_mod` (used with the server's
 * DifferentialPrivacyClientSideFixedClipping wrapper, which sends `clipping_norm` in the train message's config):
 *   update = new − received; if ‖update‖₂ (over all shared tensors together) > C, scale it by C / ‖update‖₂;
 *   sent = received + update.
 *
 * Local noise (optional, off by default) adds N(0, (z·C)²) to every coordinate of the clipped update, i.e. the
 * Gaussian mechanism with sensitivity C and noise multiplier z on each round's release. It needs a clipping norm
 * (the server's, or the site's own when the server sends none). The noise comes from the OS CSPRNG: noise anyone
 * could regenerate protects nothing.
 *
 * The accountant composes those releases in zero-concentrated DP: one Gaussian release with sensitivity C and
 * σ = z·C is ρ = 1/(2z²)-zCDP (Bun & Steinke 2016, Prop. 1.6); ρ adds up over rounds (Lemma 2.3); and ρ-zCDP implies
 * (ε, δ)-DP with ε = ρ + 2·√(ρ·ln(1/δ)) (Prop. 1.3). The neighbouring relation is adding or removing the site's
 * whole contribution to a round (sensitivity C, because the whole update is clipped to C): a site-level bound, which
 * covers any one record of the site too. Under replace-one semantics the sensitivity is 2C and ρ four times larger.
 * No subsampling amplification is claimed.
 */
import type { NamedWeights } from '../../native-models/src/core/tensor.js';
import { randomBytes } from 'node:crypto';
import { Rng } from '../../native-models/src/core/rng.js';
import { FlError } from '../protocol/errors.js';

export function updateNorm(next: NamedWeights, received: NamedWeights, names: readonly string[]): number {
  let s = 0;
  for (const n of names) {
    const a = next.get(n)!.data, b = received.get(n)!.data;
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - b[i];
      s += d * d;
    }
  }
  return Math.sqrt(s);
}

export interface ClipResult {
  /** ‖new − received‖₂ before clipping. */
  normBefore: number;
  /** The scale applied to the update (1 when it was within the norm). */
  scale: number;
}

/** Clip `next` in place so that ‖next − received‖₂ ≤ clippingNorm. */
export function clipUpdate(next: NamedWeights, received: NamedWeights, names: readonly string[], clippingNorm: number): ClipResult {
  if (!(clippingNorm > 0 && Number.isFinite(clippingNorm))) throw new FlError('FL_BAD_ARGUMENT', `clipping norm must be a positive number, got ${clippingNorm}`);
  const normBefore = updateNorm(next, received, names);
  const scale = normBefore > clippingNorm ? clippingNorm / normBefore : 1;
  if (scale < 1) {
    for (const n of names) {
      const a = next.get(n)!.data, b = received.get(n)!.data;
      for (let i = 0; i < a.length; i++) a[i] = b[i] + (a[i] - b[i]) * scale;
    }
  }
  return { normBefore, scale };
}

/** A source of uniform numbers in (0, 1). */
export type UniformSource = () => number;

/**
 * Uniforms from the operating system's CSPRNG (53-bit, never 0). DP noise must not be reproducible by anyone who
 * knows the code: a seeded generator would let the server regenerate and subtract the noise.
 */
export function cryptoUniform(): UniformSource {
  let buf = new Uint32Array(0);
  let pos = 0;
  return () => {
    if (pos + 2 > buf.length) {
      buf = new Uint32Array(randomBytes(64 * 1024).buffer);
      pos = 0;
    }
    const hi = buf[pos++] >>> 5, lo = buf[pos++] >>> 6; // 27 + 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  };
}

/** A seeded uniform source (tests only: reproducible, therefore not for real noise). */
export function seededUniform(seed: number): UniformSource {
  const rng = new Rng(seed >>> 0);
  return () => {
    let u = rng.next();
    while (u <= 0) u = rng.next();
    return u;
  };
}

/** Add N(0, σ²) to every shared coordinate of `next`, in place (Box–Muller over `uniform`, CSPRNG by default). */
export function addGaussianNoise(next: NamedWeights, names: readonly string[], sigma: number, uniform: UniformSource = cryptoUniform()): void {
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new FlError('FL_BAD_ARGUMENT', `noise σ must be ≥ 0, got ${sigma}`);
  if (sigma === 0) return;
  let spare: number | null = null;
  const normal = () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(uniform())), t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  for (const n of names) {
    const a = next.get(n)!.data;
    for (let i = 0; i < a.length; i++) a[i] += sigma * normal();
  }
}

/** zCDP accountant over Gaussian releases. Its state is a plain object so the agent can persist it. */
export class ZcdpAccountant {
  constructor(
    /** Total ρ spent so far. */
    public rho = 0,
    /** Number of noisy releases. */
    public releases = 0,
  ) {}

  /** Record one release with noise multiplier z (σ = z·C). */
  addGaussian(noiseMultiplier: number): void {
    if (!(noiseMultiplier > 0)) throw new FlError('FL_BAD_ARGUMENT', 'a noisy release needs a noise multiplier > 0');
    this.rho += 1 / (2 * noiseMultiplier * noiseMultiplier);
    this.releases++;
  }

  /** ε at the given δ (0 while nothing noisy has been released). */
  epsilon(delta: number): number {
    if (!(delta > 0 && delta < 1)) throw new FlError('FL_BAD_ARGUMENT', `δ must be in (0, 1), got ${delta}`);
    if (this.rho === 0) return 0;
    return this.rho + 2 * Math.sqrt(this.rho * Math.log(1 / delta));
  }

  toJSON(): { rho: number; releases: number } {
    return { rho: this.rho, releases: this.releases };
  }
}
