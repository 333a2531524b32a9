/**
 * The engine's typed method table (port RPC, native-models/src/core/port-rpc.ts), shared by its two hosts — the Electron
 * utilityProcess (entry.ts) and the worker_thread of `medfedpure serve` / the CLI (worker-entry.ts) — and by callers.
 * Types only.
 */
import type { Calibration, GroupTransfer } from '../pipeline/calibrate.js';
import type { DefenceMode, PipelineResult, ScanOptions } from '../pipeline/pipeline.js';
import type { ModelImage } from '../pipeline/preprocess.js';
import type { EpName } from '../../core/runtime/ep.js';
import type { HeldOutPerformance } from '../pipeline/models.js';

export interface EngineStatus {
  ready: boolean;
  /** Why the engine is not ready (model loading failed, ...). */
  error?: { code: string; message: string };
  ep?: EpName;
  epTried?: Array<{ ep: EpName; ok: boolean; reason?: string }>;
  models?: Array<{ name: string; version: string; sha256: string; trained: boolean }>;
  size?: number;
  calibrated?: boolean;
  calibration?: Pick<Calibration, 'split' | 'n' | 'fpr' | 'scoreKind' | 'createdUtc'> & {
    threshold: number; K: number; steps: number; tMin: number; tMax: number; unseenGroupFlagRate: GroupTransfer | null;
    /** The out-of-distribution cut on the MAE's image-level error (pipeline.ts oodCutOf); absent from older engines. */
    ood?: { scoreKind: 'mse'; threshold: number; fpr: number; rule: 'quantile' | 'max'; unseenGroupRate: GroupTransfer | null };
  } | null;
  /** The detector's mask settings. */
  detector?: { K: number; maskSeed: number };
  /** The classifier's figures on its held-out test part (from its manifest entry; null for untrained models). */
  classifierHeldOut?: HeldOutPerformance | null;
  queue?: { pending: number; batchesRun: number; scansRun: number; maxBatch: number; batchWindowMs: number };
}

export interface EngineScanRequest {
  image: ModelImage;
  options?: Pick<ScanOptions, 'mode' | 'seed' | 'steps' | 'fixedTStar' | 'expectVersions' | 'threshold'>;
}

export type EngineMethods = {
  'engine.status': { req: Record<string, never>; res: EngineStatus };
  'engine.scan': { req: EngineScanRequest; res: PipelineResult };
};

export type { DefenceMode, PipelineResult, ModelImage };
