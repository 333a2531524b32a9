/**
 * The scan feature's part of the contract: the defence pipeline (detect → adaptive purify → classify;
 * native-models/src/inference/pipeline) run on stored instances, never with a label. Runs anywhere.
 */
import { defineFeatureApi, event, method, returns } from '../../common/feature-api.js';
import { object, UID } from '../../common/validate.js';

export interface ScanModelInfo {
  name: string;
  version: string;
  sha256: string;
  /** False for seeded development weights: results must not be read clinically. */
  trained: boolean;
}

/**
 * Which kind of answer a scan is (the AI panel says it in words):
 *  - 'answered': in intended use and like the training data: label and probability stand as the model card describes;
 *  - 'outside-intended-use': not an axial brain MR slice the AI was made for: no label, no probability, no alert;
 *  - 'unlike-training-data': in intended use, but the MAE's image-level error is over the out-of-distribution cut:
 *    the label is shown with "the AI may be wrong here", and no security alert (an unusual image is not an attack).
 */
export type ScanState = 'answered' | 'outside-intended-use' | 'unlike-training-data';

/** The intended-use gate's verdict (electron/features/scan/intended-use.ts). */
export type IntendedUse =
  | { status: 'in-use'; summary: string }
  | { status: 'outside'; reasons: string[] }
  /** An image file without a DICOM header (command line only): answered, as a research-benchmark image. */
  | { status: 'research-benchmark'; note: string };

/** Flag rate expected on clean scans the thresholds never saw: threshold set on half, counted on the other half. */
export interface ExpectedRate {
  draws: number;
  mean: number;
  sd: number;
  p95: number;
  /** What the halves were drawn by: near-duplicate groups (factory), series, or single slices (fewest guarantees). */
  by: 'group' | 'series' | 'slice';
}

/** The detector thresholds a scan is judged by: the shipped calibration, or the site's own (`medfedpure calibrate site`). */
export interface ScanThresholds {
  source: 'factory' | 'site';
  createdUtc: string;
  /** What they were set on, e.g. "24 axial slices of 1 series (site)". */
  basis: string;
  n: number;
  /** Purify (and, where in distribution, alert) over this score. */
  flag: { scoreKind: 'mse' | 'laplacian'; threshold: number; fpr: number; expected: ExpectedRate | null };
  /** "Unlike the training data" over this MAE image-level error. */
  ood: { scoreKind: 'mse'; threshold: number; fpr: number; expected: ExpectedRate | null };
}

/** One inference on one instance. Images are size×size, row-major, pixel space [0, 1] (the model's input). */
export interface ScanResult {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  createdUtc: string;
  state: ScanState;
  intendedUse: IntendedUse;
  /** Null when outside intended use. */
  label: 'no-tumour' | 'tumour' | null;
  /** Softmax over [no-tumour, tumour]; null when outside intended use. */
  probabilities: number[] | null;
  /** The out-of-distribution score (MAE image-level error) against the cut in force; null when no model ran. */
  ood: { score: number; threshold: number; out: boolean } | null;
  /** A DCM Security Alert was audited: flagged, in intended use and in distribution. */
  securityAlert: boolean;
  /** Which thresholds judged this scan (null when no model ran). */
  thresholdsSource: ScanThresholds['source'] | null;
  /** ... and their date (ScanThresholds.createdUtc), so a result judged before a recalibration can say so. */
  thresholdsCreatedUtc: string | null;
  mode: 'adaptive' | 'purify-all' | 'undefended';
  /** The detector's score exceeded the calibrated threshold: the image was purified before classification. */
  flagged: boolean;
  score: number | null;
  threshold: number | null;
  scoreKind: 'mse' | 'laplacian' | null;
  /** DDIM start time t* (0 = not purified) and the steps run. */
  tStar: number;
  steps: number;
  timesteps: number[];
  seed: number;
  size: number;
  /** The model's input; null when outside intended use (no model ran). */
  input: Float32Array | null;
  /** Per-pixel MAE reconstruction error. */
  errorMap: Float32Array | null;
  purified: Float32Array | null;
  /** purified − input. */
  difference: Float32Array | null;
  models: ScanModelInfo[];
  /** Execution provider, e.g. 'cpu' (null when no model ran). */
  ep: string | null;
  timings: { preprocessMs: number; detectMs: number; purifyMs: number; classifyMs: number; totalMs: number; batchSize: number } | null;
}

/** What the attack detector has been measured to see, so its flag is worded by evidence (docs/ROBUSTNESS.md). */
export interface DetectorEvidence {
  /** AUROC range of clean vs attacked scores over the measured attacks and ε. */
  auroc: [number, number];
  measuredOn: string;
  /** AUROC high enough (≥ 0.90) to call a flag a possible attack; otherwise a flag only means "unusual". */
  supportsAttackClaim: boolean;
}

export interface ScanStatus {
  /** An engine is configured and its models are loaded. */
  ready: boolean;
  error?: { code: string; message: string };
  ep?: string;
  models?: ScanModelInfo[];
  calibrated?: boolean;
  calibration?: {
    split: string; n: number; fpr: number; scoreKind: string; threshold: number; K: number; steps: number; tMin: number; tMax: number; createdUtc: string;
    /** Flag rate on clean scans of groups the threshold never saw (calibration halves; null in older calibrations). */
    unseenGroupFlagRate: { draws: number; mean: number; sd: number; p95: number } | null;
  } | null;
  /**
   * The classifier alone on the clean slices of its held-out test part, as its model card records them (accuracy, with
   * a 95 % interval resampling whole near-duplicate groups where the card has one); null for untrained models or when
   * the card has no such figures.
   */
  classifierHeldOut?: { split: string; count: number; accuracy: number; accuracyCi95: [number, number] | null; sensitivity: number; specificity: number } | null;
  /** The thresholds in force (site calibration when there is a valid one, else the shipped one). */
  thresholds?: ScanThresholds | null;
  /** Why a stored site calibration is not in force (another detector, unreadable); absent when none is stored. */
  siteCalibrationProblem?: string;
  detectorEvidence?: DetectorEvidence;
}

export const scanApi = defineFeatureApi({
  methods: {
    /** Runs the defence pipeline on a stored instance (no label is ever sent); audited, stored, and announced. */
    'scan.run': method(object({ sopInstanceUid: UID }), returns<ScanResult>()),
    'scan.status': method(object({}), returns<ScanStatus>()),
    /** The stored results of a series (latest per instance), so a reopened study shows them. */
    'scan.results': method(object({ seriesInstanceUid: UID }), returns<ScanResult[]>()),
  },
  events: {
    'scan.completed': event<{ sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string; label: ScanResult['label']; flagged: boolean; state: ScanState }>(),
  },
});
