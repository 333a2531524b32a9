/**
 * Confidence intervals that respect Br35H's near-duplicate groups. Copies of one slice are not independent
 * observations, so a proportion measured on 457 test images of 92 groups is as uncertain as ~92 draws, not 457.
 * The percentile bootstrap here resamples whole groups with replacement and recomputes the image-level mean.
 */
import { Rng } from '../../core/rng.js';

export interface GroupCI {
  /** Lower and upper percentile bounds of the image-level mean. */
  lo: number;
  hi: number;
  level: number;
  groups: number;
  resamples: number;
}

export function groupBootstrapCI(values: ArrayLike<number>, groups: ArrayLike<number>,
  o: { resamples?: number; seed?: number; level?: number } = {}): GroupCI {
  const resamples = o.resamples ?? 2000, level = o.level ?? 0.95;
  if (values.length !== groups.length || values.length === 0) throw new RangeError('groupBootstrapCI: values and groups must be non-empty and of equal length');
  const byGroup = new Map<number, { sum: number; n: number }>();
  for (let i = 0; i < values.length; i++) {
    const e = byGroup.get(groups[i]) ?? { sum: 0, n: 0 };
    e.sum += values[i];
    e.n++;
    byGroup.set(groups[i], e);
  }
  const parts = [...byGroup.values()];
  const rng = new Rng(o.seed ?? 12345);
  const stats = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0, n = 0;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[rng.int(parts.length)];
      sum += p.sum;
      n += p.n;
    }
    stats[b] = sum / n;
  }
  stats.sort();
  const at = (q: number) => stats[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { lo: at((1 - level) / 2), hi: at(1 - (1 - level) / 2), level, groups: parts.length, resamples };
}
