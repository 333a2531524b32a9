/**
 * The adaptive purification strength: a documented, monotone, bounded map from the detector's score to the DDIM
 * start time t*, and the N-step DDIM timestep schedule from t*.
 *
 *   t*(s) = 0                                                             if s ≤ thr   (not flagged: no purification)
 *   t*(s) = round( tMin + (tMax − tMin) · clamp((s − thr) / (sHi − thr), 0, 1) )    if s > thr
 *
 * so t* is non-decreasing in s, lies in [tMin, tMax] for every flagged scan, and saturates at tMax from s ≥ sHi.
 * thr, sHi, tMin and tMax are stored with the calibration (calibrate.ts), never taken from the batch at hand.
 *
 * DDIM schedule: N evenly spaced timesteps from t* down, excluding 0: t_i = round(t* · (N − i) / N), i = 0..N−1
 * (duplicates removed when t* < N). The last step's x̂0 prediction is the purified image, as in nets/unet.ts ddimChain.
 */
import { PipelineError } from './errors.js';

export interface TStarMap {
  threshold: number;
  /** Score at which t* reaches tMax. Must be > threshold. */
  sHi: number;
  tMin: number;
  tMax: number;
}

export function checkTStarMap(m: TStarMap, T = 1000): void {
  const ok = Number.isFinite(m.threshold) && Number.isFinite(m.sHi) && m.sHi > m.threshold &&
    Number.isInteger(m.tMin) && Number.isInteger(m.tMax) && m.tMin >= 1 && m.tMin <= m.tMax && m.tMax < T;
  if (!ok) throw new PipelineError('E_CALIBRATION', `bad t* map ${JSON.stringify(m)}: need sHi > threshold and 1 ≤ tMin ≤ tMax < ${T}`);
}

/** t* for a score; 0 means "not flagged". */
export function tStarOf(score: number, m: TStarMap): number {
  if (!(score > m.threshold)) return 0; // also NaN → 0 (callers reject NaN scores before)
  const u = Math.min(1, Math.max(0, (score - m.threshold) / (m.sHi - m.threshold)));
  return Math.round(m.tMin + (m.tMax - m.tMin) * u);
}

/** Strictly descending DDIM timesteps for a start time t* and N steps (empty for t* = 0). */
export function ddimTimesteps(tStar: number, steps: number): number[] {
  if (!Number.isInteger(tStar) || tStar < 0) throw new PipelineError('E_OPTION', `t* must be a non-negative integer, got ${tStar}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new PipelineError('E_OPTION', `DDIM steps must be an integer in 1..1000, got ${steps}`);
  if (tStar === 0) return [];
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = Math.round((tStar * (steps - i)) / steps);
    if (t >= 1 && (out.length === 0 || t < out[out.length - 1])) out.push(t);
  }
  return out;
}
