// HTTP transport helpers: codec.ts (binary message codec), http-client.ts (createHttpClient), api-error.ts (ApiError).
/**
 * The one typed API contract between the UI (renderer) and the services (main process or browser host).
 *
 * Types only: this file runs anywhere (renderer, main, Node host) and imports nothing.
 * Adding a feature = an entry in `ApiMethods` (or `ApiEvents`) + a service method + the router line + UI.
 *
 * Transports:
 *  - Electron IPC: preload exposes `window.medfedpure.invoke(method, request)` and `.on(event, cb)`;
 *    typed arrays cross as structured clones.
 *  - HTTP (browser host): POST /api/<method> with the request; typed arrays inside requests and responses
 *    are carried as binary (see electron/common/codec.ts), never base64-in-JSON. Events over SSE.
 */

// ---------- shared value types ----------

export type Iso8601 = string;

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' when hosted by the Electron main process, 'browser' when by `medfedpure serve`. */
  host: 'electron' | 'browser';
  dataDir: string;
  user: { id: string; role: string };
  workstation: string;
}

export interface StudySummary {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyDescription?: string;
  accessionNumber?: string;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
}

export interface SeriesSummary {
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesNumber?: number;
  seriesDescription?: string;
  modality?: string;
  instanceCount: number;
  /** SOP Instance UID of the middle image, for thumbnails. */
  thumbnailSopInstanceUid?: string;
}

export interface InstanceSummary {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber?: number;
  /** Position along the stack normal, when ImagePositionPatient/Orientation are present. */
  sliceLocation?: number;
  rows: number;
  columns: number;
}

/** A decoded frame in modality units (rescale slope/intercept applied), ready for window/level. */
export interface Frame {
  sopInstanceUid: string;
  rows: number;
  columns: number;
  /** Modality values (e.g. MR signal), row-major, length rows*columns. */
  pixels: Float32Array;
  minValue: number;
  maxValue: number;
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  /** From the DICOM's own VOI LUT module (first pair) when present. */
  windowCenter?: number;
  windowWidth?: number;
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  sliceLocation?: number;
  instanceNumber?: number;
}

export interface ImportFileError {
  /** File name or path as given to the import. */
  file: string;
  /** Machine-readable reason. */
  code:
    | 'NOT_DICOM'
    | 'TRUNCATED'
    | 'UNSUPPORTED_TRANSFER_SYNTAX'
    | 'NO_PIXEL_DATA'
    | 'MISSING_UID'
    | 'UNSUPPORTED_PIXEL_FORMAT'
    /** A different object with the same SOP Instance UID is already stored; the stored one was kept. */
    | 'SOP_UID_CONFLICT'
    | 'IO_ERROR';
  message: string;
}

export interface ImportResult {
  imported: number;
  /** Instances already in the store (same SOP Instance UID and same bytes): nothing written. */
  duplicates: number;
  errors: ImportFileError[];
  studies: string[];
  /** Files deliberately not imported (DICOMDIR index files, hidden and README/text files in folders). */
  skipped?: number;
}

export type AuditOutcome = 'success' | 'minor-failure' | 'serious-failure' | 'major-failure';

export interface AuditEvent {
  seq: number;
  /** DICOM / IHE ATNA event id, e.g. 'DCM 110114 User Authentication' expressed as code + meaning. */
  eventId: { code: string; system: string; meaning: string };
  eventTypeCode?: { code: string; system: string; meaning: string };
  /** ATNA action: C(reate) R(ead) U(pdate) D(elete) E(xecute). */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  outcome: AuditOutcome;
  timeUtc: Iso8601;
  userId: string;
  userRole: string;
  workstation: string;
  /** Participant objects, e.g. [{ type: 'StudyInstanceUID', id: '1.2.3' }]. */
  participants: Array<{ type: string; id: string }>;
  details: Record<string, unknown>;
  prevHash: string;
  entryHash: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  rows: number;
  /** The first row whose hash or link does not match, when !ok. */
  firstBroken?: { seq: number; reason: string };
}

export interface AuditQuery {
  limit?: number;
  /** Return events with seq < beforeSeq (paging backwards from the newest). */
  beforeSeq?: number;
  eventCode?: string;
  participantId?: string;
}

// ---------- AI scan (detect → adaptive purify → classify; native-models/src/pipeline) ----------

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
  createdUtc: Iso8601;
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
    split: string; n: number; fpr: number; scoreKind: string; threshold: number; K: number; steps: number; tMin: number; tMax: number; createdUtc: Iso8601;
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

// ---------- methods ----------

export interface ApiMethods {
  'app.info': { req: Record<string, never>; res: AppInfo };

  'studies.list': { req: { query?: string }; res: StudySummary[] };
  'studies.series': { req: { studyInstanceUid: string }; res: SeriesSummary[] };
  /** Opening a series is audited (study access). Instances come sorted along the stack. */
  'series.open': { req: { seriesInstanceUid: string }; res: { series: SeriesSummary; instances: InstanceSummary[] } };
  'instances.frame': { req: { sopInstanceUid: string }; res: Frame };

  /** Import file bytes sent by the UI (browser upload or Electron drop). */
  'import.files': { req: { files: Array<{ name: string; bytes: Uint8Array }> }; res: ImportResult };

  'audit.list': { req: AuditQuery; res: { events: AuditEvent[]; total: number } };
  'audit.verify': { req: Record<string, never>; res: AuditVerifyResult };

  /** Runs the defence pipeline on a stored instance (no label is ever sent); audited, stored, and announced. */
  'scan.run': { req: { sopInstanceUid: string }; res: ScanResult };
  'scan.status': { req: Record<string, never>; res: ScanStatus };
  /** The stored results of a series (latest per instance), so a reopened study shows them. */
  'scan.results': { req: { seriesInstanceUid: string }; res: ScanResult[] };
}

export type ApiMethod = keyof ApiMethods;
export type ApiRequest<M extends ApiMethod> = ApiMethods[M]['req'];
export type ApiResponse<M extends ApiMethod> = ApiMethods[M]['res'];

// ---------- events (server → UI) ----------

export interface ApiEvents {
  'studies.changed': { studyInstanceUids: string[] };
  'import.progress': { done: number; total: number; file: string };
  'audit.appended': { seq: number; eventCode: string };
  'scan.completed': { sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string; label: ScanResult['label']; flagged: boolean };
}

export type ApiEvent = keyof ApiEvents;

// ---------- errors ----------

/** Every failure that crosses a transport is one of these (never a raw stack trace). */
export interface ApiErrorBody {
  code:
    | 'BAD_REQUEST'
    | 'UNKNOWN_METHOD'
    | 'NOT_FOUND'
    | 'FORBIDDEN'
    | 'UNAUTHORIZED'
    | 'CONFLICT'
    | 'INTERNAL';
  message: string;
  details?: unknown;
}

/** The client surface both transports implement; the renderer codes against this only. */
export interface ApiClient {
  invoke<M extends ApiMethod>(method: M, request: ApiRequest<M>): Promise<ApiResponse<M>>;
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}
