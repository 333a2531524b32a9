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

/** One inference on one instance. Images are size×size, row-major, pixel space [0, 1] (the model's input). */
export interface ScanResult {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  createdUtc: string;
  label: 'no-tumour' | 'tumour';
  /** Softmax over [no-tumour, tumour]. */
  probabilities: number[];
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
  input: Float32Array;
  /** Per-pixel MAE reconstruction error. */
  errorMap: Float32Array | null;
  purified: Float32Array | null;
  /** purified − input. */
  difference: Float32Array | null;
  models: ScanModelInfo[];
  /** Execution provider, e.g. 'cpu'. */
  ep: string;
  timings: { preprocessMs: number; detectMs: number; purifyMs: number; classifyMs: number; totalMs: number; batchSize: number };
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
}

/** AI results are read by the radiologists (the AI panel). */
const READERS = { roles: ['radiologist'] } as const;

export const scanApi = defineFeatureApi({
  methods: {
    /** Runs the defence pipeline on a stored instance (no label is ever sent); audited, stored, and announced. */
    'scan.run': method(object({ sopInstanceUid: UID }), returns<ScanResult>(), READERS),
    'scan.status': method(object({}), returns<ScanStatus>(), READERS),
    /** The stored results of a series (latest per instance), so a reopened study shows them. */
    'scan.results': method(object({ seriesInstanceUid: UID }), returns<ScanResult[]>(), READERS),
  },
  events: {
    'scan.completed': event<{ sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string; label: ScanResult['label']; flagged: boolean }>(),
  },
});
