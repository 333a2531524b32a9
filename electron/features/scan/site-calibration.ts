/**
 * Site calibration: the detector's flagging threshold and the out-of-distribution cut, re-measured on a site's own
 * recent clean axial slices (`medfedpure calibrate site`), because the shipped ones were measured on Br35H JPEGs and
 * a scanner's own intensities move the MAE's error (on the Colin27 demo study the shipped threshold flags 3 of 24
 * axial slices). Stored with the site's settings: `<dataDir>/site/detector-calibration.json`, written atomically.
 *
 * Rules (the same as the shipped calibration, native-models/src/inference/pipeline/calibrate.ts):
 *  - flag threshold = the (1 − fpr) quantile of the clean slices' scores (order statistic), fpr 0.05 by default;
 *  - out-of-distribution cut = the (1 − 0.01) quantile of their MAE image-level error; with fewer than 100 slices
 *    that is the largest one;
 *  - expected flag rate and its spread: the slices split at random into halves, `draws` times, the threshold set on
 *    one half and the flags counted on the other. Halves are drawn by series when there are at least 4 series, else
 *    by slice (slices of one series are alike, so that spread is optimistic; the file says which).
 * At least MIN_SITE_SLICES slices in intended use are required. The file names the detector (MAE sha256, K, mask
 * seed) it was measured with; scans ignore it (and status says why) when another detector is loaded.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExpectedRate } from './api.js';
import { groupTransfer, quantileThreshold, OOD_FPR } from '../../../native-models/src/inference/pipeline/calibrate.js';

export const SITE_CALIBRATION_FORMAT = 'medfedpure-site-calibration';
export const MIN_SITE_SLICES = 20;
export const SITE_SPREAD_DRAWS = 500;

export interface SiteCalibration {
  format: typeof SITE_CALIBRATION_FORMAT;
  version: 1;
  createdUtc: string;
  /** Who ran it (audit actor). */
  by: { userId: string; userRole: string; workstation: string };
  detector: { maeSha256: string; K: number; maskSeed: number };
  /** What it was measured on: the studies named or holding the series named, and the series that gave slices. */
  studies: string[];
  series: string[];
  n: number;
  /** Slices of those series left out by the intended-use gate (not axial brain MR …). */
  excluded: number;
  spreadBy: 'series' | 'slice';
  flag: { scoreKind: 'mse' | 'laplacian'; fpr: number; threshold: number; expected: ExpectedRate | null; rateOnTheseSlices: number };
  ood: { scoreKind: 'mse'; fpr: number; threshold: number; expected: ExpectedRate | null; rateOnTheseSlices: number };
}

export function siteCalibrationPath(dataDir: string): string {
  return join(dataDir, 'site', 'detector-calibration.json');
}

/** One clean slice's detector scores, with its series (for drawing halves). */
export interface SiteSliceScore {
  seriesInstanceUid: string;
  scores: { mse: number; laplacian: number };
}

export class SiteCalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiteCalibrationError';
  }
}

function spread(scores: number[], groups: number[], fpr: number, by: 'series' | 'slice'): ExpectedRate | null {
  const t = groupTransfer(scores, groups, fpr, SITE_SPREAD_DRAWS);
  return t && { ...t, by };
}

export function computeSiteCalibration(
  slices: readonly SiteSliceScore[],
  o: {
    flagScoreKind: 'mse' | 'laplacian';
    fpr?: number;
    detector: SiteCalibration['detector'];
    by: SiteCalibration['by'];
    studies: string[];
    series: string[];
    excluded: number;
    now?: Date;
  },
): SiteCalibration {
  const fpr = o.fpr ?? 0.05;
  if (!(fpr > 0 && fpr < 0.5)) throw new SiteCalibrationError(`fpr must be in (0, 0.5), got ${fpr}`);
  if (slices.length < MIN_SITE_SLICES) {
    throw new SiteCalibrationError(`${slices.length} clean axial slices in intended use; a site calibration needs at least ${MIN_SITE_SLICES}`);
  }
  const seriesIds = [...new Set(slices.map((s) => s.seriesInstanceUid))];
  const spreadBy: 'series' | 'slice' = seriesIds.length >= 4 ? 'series' : 'slice';
  const groups = slices.map((s, i) => (spreadBy === 'series' ? seriesIds.indexOf(s.seriesInstanceUid) : i));
  const flagScores = slices.map((s) => s.scores[o.flagScoreKind]);
  const mse = slices.map((s) => s.scores.mse);
  for (const v of [...flagScores, ...mse]) if (!Number.isFinite(v) || v < 0) throw new SiteCalibrationError(`bad detector score ${v}`);
  const flagThreshold = quantileThreshold(flagScores, fpr);
  const oodThreshold = quantileThreshold(mse, OOD_FPR);
  const over = (xs: number[], t: number) => xs.filter((v) => v > t).length / xs.length;
  return {
    format: SITE_CALIBRATION_FORMAT, version: 1, createdUtc: (o.now ?? new Date()).toISOString(), by: o.by, detector: o.detector,
    studies: o.studies, series: o.series, n: slices.length, excluded: o.excluded, spreadBy,
    flag: { scoreKind: o.flagScoreKind, fpr, threshold: flagThreshold, expected: spread(flagScores, groups, fpr, spreadBy), rateOnTheseSlices: over(flagScores, flagThreshold) },
    ood: { scoreKind: 'mse', fpr: OOD_FPR, threshold: oodThreshold, expected: spread(mse, groups, OOD_FPR, spreadBy), rateOnTheseSlices: over(mse, oodThreshold) },
  };
}

const rate = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 1;
const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

function checkExpected(e: unknown, what: string): void {
  if (e === null) return;
  const x = e as Partial<ExpectedRate>;
  if (!x || !Number.isInteger(x.draws) || !rate(x.mean) || !rate(x.sd) || !rate(x.p95) || !['group', 'series', 'slice'].includes(x.by as string)) {
    throw new SiteCalibrationError(`${what}: bad expected rate`);
  }
}

/** Validates a parsed site calibration; throws SiteCalibrationError naming the first problem. */
export function checkSiteCalibration(c: unknown): asserts c is SiteCalibration {
  const x = c as Partial<SiteCalibration> | null;
  if (!x || typeof x !== 'object' || x.format !== SITE_CALIBRATION_FORMAT || x.version !== 1) throw new SiteCalibrationError('not a site calibration (format/version)');
  if (!x.detector || typeof x.detector.maeSha256 !== 'string' || !Number.isInteger(x.detector.K) || !Number.isInteger(x.detector.maskSeed)) throw new SiteCalibrationError('no detector identity');
  if (!Number.isInteger(x.n) || (x.n as number) < MIN_SITE_SLICES || typeof x.createdUtc !== 'string') throw new SiteCalibrationError('bad slice count or date');
  if (!x.flag || !['mse', 'laplacian'].includes(x.flag.scoreKind) || !positive(x.flag.threshold) || !rate(x.flag.fpr)) throw new SiteCalibrationError('bad flag threshold');
  if (!x.ood || x.ood.scoreKind !== 'mse' || !positive(x.ood.threshold) || !rate(x.ood.fpr)) throw new SiteCalibrationError('bad out-of-distribution cut');
  checkExpected(x.flag.expected, 'flag');
  checkExpected(x.ood.expected, 'ood');
}

/** The stored site calibration, null when there is none; a file that is there but unusable throws SiteCalibrationError. */
export function readSiteCalibration(dataDir: string): SiteCalibration | null {
  let text: string;
  try {
    text = readFileSync(siteCalibrationPath(dataDir), 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new SiteCalibrationError(`cannot read ${siteCalibrationPath(dataDir)}: ${(e as Error).message}`);
  }
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    throw new SiteCalibrationError(`${siteCalibrationPath(dataDir)} is not JSON`);
  }
  checkSiteCalibration(c);
  return c;
}

/** The status line for a stored calibration that cannot be used. */
export function siteProblem(err: unknown): string {
  return `the stored site calibration is not used: ${err instanceof Error ? err.message : String(err)}`;
}

/** The stored calibration for a status or a scan: never throws; a problem is returned as text. */
export function loadSiteCalibration(dataDir: string): { value: SiteCalibration | null; problem?: string } {
  try {
    return { value: readSiteCalibration(dataDir) };
  } catch (err) {
    return { value: null, problem: siteProblem(err) };
  }
}

/** Modification time of the stored file (ms), or null; lets a long-running host notice a new calibration. */
export function siteCalibrationStamp(dataDir: string): number | null {
  try {
    return statSync(siteCalibrationPath(dataDir)).mtimeMs;
  } catch {
    return null;
  }
}

export function writeSiteCalibration(dataDir: string, c: SiteCalibration): string {
  checkSiteCalibration(c);
  const path = siteCalibrationPath(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}
