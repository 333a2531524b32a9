/**
 * Exact projections onto the attacker's constraint set: the ε-ball around the clean image x intersected with the
 * pixel box [0, 1], for images stored as float32.
 *
 * ℓ∞ guarantee (bit-exact): with ε₃₂ = the largest float32 ≤ ε, every returned pixel v satisfies, as real numbers,
 *   0 ≤ v ≤ 1 and |v − x| ≤ ε₃₂ ≤ ε.
 * Per pixel the bounds lo = max(0, x − ε₃₂) and hi = min(1, x + ε₃₂) are computed in float32 and then nudged by one
 * ulp inward while they are outside the ball (the float32 rounding of x ± ε₃₂ can land outside it); the candidate is
 * rounded to float32 and clamped to [lo, hi], so the result is a float32 inside [lo, hi] by construction. The
 * check `x − lo > ε₃₂` is done in float64, where the difference of two float32 values near each other is exact.
 *
 * ℓ2: δ = v − x is scaled to radius ε − margin with margin = √n · 2⁻²⁴ (an upper bound on the ℓ2 norm of the
 * float32 rounding of x + δ for pixels in [0, 1], half an ulp ≤ 2⁻²⁵ each), then clipped to the box (clipping only
 * moves a pixel toward x, so it cannot increase the norm). The final ‖v − x‖₂ is re-measured in float64 and the
 * projection repeated with a smaller radius in the (never observed) case it still exceeds ε.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Next float32 above v (v finite, ≥ 0 or negative). */
export function nextUp32(v: number): number {
  f32[0] = v;
  if (f32[0] === 0) { u32[0] = 1; return f32[0]; }
  if (f32[0] > 0) u32[0] += 1; else u32[0] -= 1;
  return f32[0];
}

/** Next float32 below v. */
export function nextDown32(v: number): number {
  return -nextUp32(-v);
}

/** The largest float32 ≤ e (e ≥ 0). */
export function floorF32(e: number): number {
  const r = Math.fround(e);
  return r > e ? nextDown32(r) : r;
}

/** Per-pixel float32 bounds [lo, hi] of the ℓ∞ ball ∩ [0, 1] (see header). */
export function linfBounds(x: Float32Array, eps: number): { lo: Float32Array; hi: Float32Array; eps32: number } {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new RangeError(`ε must be a finite number ≥ 0, got ${eps}`);
  const e = floorF32(eps);
  const lo = new Float32Array(x.length), hi = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    let l = Math.fround(xi - e);
    while (xi - l > e) l = nextUp32(l);
    let h = Math.fround(xi + e);
    while (h - xi > e) h = nextDown32(h);
    lo[i] = l < 0 ? 0 : l;
    hi[i] = h > 1 ? 1 : h;
  }
  return { lo, hi, eps32: e };
}

/** In place: v ← clamp(fround(v), lo, hi). */
export function clampInto(v: Float32Array, lo: Float32Array, hi: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    v[i] = a < lo[i] ? lo[i] : a > hi[i] ? hi[i] : a;
  }
  return v;
}

/** ℓ2 distance in float64. */
export function l2Dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; s += d * d; }
  return Math.sqrt(s);
}

/** ℓ∞ distance in float64 (exact for float32 inputs in [0, 1] away from 0). */
export function linfDist(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (d > m) m = d; }
  return m;
}

/** In place: project v onto {‖v − x‖₂ ≤ eps} ∩ [0, 1]ⁿ (see header). */
export function projectL2(v: Float32Array, x: Float32Array, eps: number): Float32Array {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new RangeError(`ε must be a finite number ≥ 0, got ${eps}`);
  const margin = Math.sqrt(v.length) * 2 ** -24;
  let radius = Math.max(0, eps - margin);
  const d = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) d[i] = v[i] - x[i];
  for (let attempt = 0; attempt < 60; attempt++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * d[i];
    const norm = Math.sqrt(s);
    const k = norm > radius ? radius / norm : 1;
    for (let i = 0; i < v.length; i++) {
      const w = Math.fround(x[i] + d[i] * k);
      v[i] = w < 0 ? 0 : w > 1 ? 1 : w;
    }
    if (l2Dist(v, x) <= eps) return v;
    radius *= 0.5; // unreachable in practice; keeps the guarantee unconditional
  }
  v.set(x);
  return v;
}
