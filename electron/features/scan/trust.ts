/**
 * How far a scan's answer can be trusted, decided after the intended-use gate (intended-use.ts):
 *
 *  - the thresholds in force: the site's own calibration (site-calibration.ts) when a valid one for the loaded
 *    detector is stored, else the shipped calibration (native-models/models/calibration.json);
 *  - out of distribution: the MAE's image-level reconstruction error (the `mse` score) over the OOD cut (the clean
 *    images' 99th percentile) means "unlike the training data: the AI may be wrong here". That is a statement about
 *    the image, not about an attacker;
 *  - security alert: only for a flagged scan that is in intended use and in distribution, i.e. one the detector's
 *    calibration covers, so alerts happen at the stated expected rate on clean scans and never because a slice is
 *    merely unusual;
 *  - what the detector's flag may be called: by its measured AUROC against attacks (DETECTOR_EVIDENCE). The MAE
 *    scores sit at chance against transfer PGD-ℓ∞ (docs/ROBUSTNESS.md), so a flag means "unusual", not "attacked".
 */
import type { DetectorEvidence, ExpectedRate, ScanState, ScanThresholds } from './api.js';
import type { EngineStatus } from '../../../native-models/src/inference/engine/protocol.js';
import type { SiteCalibration } from './site-calibration.js';

/** AUROC at or above which a detector flag may be worded as a possible attack. */
export const ATTACK_CLAIM_MIN_AUROC = 0.9;

/** The shipped detector's measured AUROC range (docs/ROBUSTNESS.md, "Detector": 0.500–0.529 for every attack and ε). */
const MEASURED_AUROC: [number, number] = [0.5, 0.53];

export const DETECTOR_EVIDENCE: DetectorEvidence = {
  auroc: MEASURED_AUROC,
  measuredOn: 'MAE reconstruction error vs FGSM and PGD-ℓ∞ (transfer and adaptive) at 1/255–8/255 on Br35H group-test (docs/ROBUSTNESS.md)',
  supportsAttackClaim: MEASURED_AUROC[0] >= ATTACK_CLAIM_MIN_AUROC,
};

type EngineCalibration = NonNullable<EngineStatus['calibration']>;

function expected(t: { draws: number; mean: number; sd: number; p95: number } | null | undefined, by: ExpectedRate['by']): ExpectedRate | null {
  return t ? { draws: t.draws, mean: t.mean, sd: t.sd, p95: t.p95, by } : null;
}

/** The shipped calibration as thresholds (OOD cut: its 99th percentile, or its largest clean score in older files). */
export function factoryThresholds(c: EngineCalibration): ScanThresholds {
  const ood = c.ood ?? { scoreKind: 'mse' as const, threshold: Number.POSITIVE_INFINITY, fpr: 0, rule: 'max' as const, unseenGroupRate: null };
  return {
    source: 'factory', createdUtc: c.createdUtc, basis: `${c.n} clean Br35H images (${c.split})`, n: c.n,
    flag: { scoreKind: c.scoreKind, threshold: c.threshold, fpr: c.fpr, expected: expected(c.unseenGroupFlagRate, 'group') },
    ood: { scoreKind: 'mse', threshold: ood.threshold, fpr: ood.fpr, expected: expected(ood.unseenGroupRate, 'group') },
  };
}

export function siteThresholds(s: SiteCalibration): ScanThresholds {
  const series = s.series.length > 0 ? `${s.series.length} series` : `${s.studies.length} stud${s.studies.length === 1 ? 'y' : 'ies'}`;
  return {
    source: 'site', createdUtc: s.createdUtc, basis: `${s.n} clean axial slices of ${series} at this site`, n: s.n,
    flag: { scoreKind: s.flag.scoreKind, threshold: s.flag.threshold, fpr: s.flag.fpr, expected: s.flag.expected },
    ood: { scoreKind: 'mse', threshold: s.ood.threshold, fpr: s.ood.fpr, expected: s.ood.expected },
  };
}

/** Why a stored site calibration does not fit the loaded detector, or null when it does. */
export function siteMismatch(s: SiteCalibration, status: Pick<EngineStatus, 'models' | 'calibration'>): string | null {
  const mae = status.models?.find((m) => m.name === 'mae');
  if (!mae || !status.calibration) return 'the engine has no calibrated detector';
  if (mae.sha256 !== s.detector.maeSha256) return `it was measured with MAE ${s.detector.maeSha256.slice(0, 12)}…, the loaded MAE is ${mae.sha256.slice(0, 12)}… (run medfedpure calibrate site again)`;
  if (status.calibration.K !== s.detector.K) return `it was measured with K = ${s.detector.K} masks, the engine uses ${status.calibration.K}`;
  if (status.calibration.scoreKind !== s.flag.scoreKind) return `it sets the ${s.flag.scoreKind} threshold, the engine flags on ${status.calibration.scoreKind}`;
  return null;
}

/** The thresholds in force: the site's when a valid one for the loaded detector is stored, else the shipped ones. */
export function thresholdsInForce(st: EngineStatus, site: { value: SiteCalibration | null; problem?: string }): { thresholds: ScanThresholds | null; problem?: string } {
  if (!st.calibration) return { thresholds: null };
  const factory = factoryThresholds(st.calibration);
  if (site.problem) return { thresholds: factory, problem: site.problem };
  if (!site.value) return { thresholds: factory };
  const mismatch = siteMismatch(site.value, st);
  return mismatch ? { thresholds: factory, problem: `the stored site calibration is not used: ${mismatch}` } : { thresholds: siteThresholds(site.value) };
}

export interface Judgement {
  state: Exclude<ScanState, 'outside-intended-use'>;
  ood: { score: number; threshold: number; out: boolean } | null;
  securityAlert: boolean;
}

/** State, OOD verdict and whether to raise a security alert, for a scan that passed the gate and ran the detector. */
export function judge(r: { flagged: boolean; scores: { mse: number } | null }, t: ScanThresholds | null): Judgement {
  if (!r.scores || !t) return { state: 'answered', ood: null, securityAlert: false };
  const out = r.scores.mse > t.ood.threshold;
  return {
    state: out ? 'unlike-training-data' : 'answered',
    ood: { score: r.scores.mse, threshold: t.ood.threshold, out },
    securityAlert: r.flagged && !out,
  };
}
