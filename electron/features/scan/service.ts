/**
 * The scan service: runs the defence pipeline (native-models engine) on a stored instance and keeps the outcome.
 *
 *   scan.run(sop)  frame from the study store → preprocess (native-models/src/inference/pipeline/preprocess.ts) → engine
 *                  (utilityProcess in Electron, worker_thread in the browser host) → store the result
 *                  (scan_results) → audit DCM 110100 Application Activity / MFP-INF "AI Inference", plus DCM 110113
 *                  Security Alert / MFP-ADV when the detector flagged the scan → event `scan.completed`.
 *   scan.status    engine readiness, EP, model versions and hashes, calibration.
 *   scan.results   stored results of a series.
 *
 * No label is ever sent to the engine. Engine input errors (E_INPUT_*, E_NOT_IMAGE) become BAD_REQUEST; an engine
 * that is missing or not ready becomes INTERNAL with details.code, and the service keeps working.
 */
import { ApiError } from '../../common/api-error.js';
import type { ScanResult, ScanStatus, scanApi } from './api.js';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EngineScanRequest, EngineStatus, PipelineResult } from '../../../native-models/src/inference/engine/protocol.js';
import { preprocessFrame } from '../../../native-models/src/inference/pipeline/preprocess.js';
import type { AuditStore, AuditEventInput } from '../audit/audit-store.js';
import { EVENT_ID, MFP_EVENT_TYPE, PARTICIPANT } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import type { StudyStore } from '../studies/store/study-store.js';
import { ScanResultStore, type ScanResultHead } from './results-store.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { ApiEvents } from '../api.js';

/** What the service needs from an engine, whichever process hosts it. */
export interface ScanEngine {
  scan(req: EngineScanRequest): Promise<PipelineResult>;
  status(): Promise<EngineStatus>;
}
/** Starts (once) and returns the engine. */
export type ScanEngineProvider = () => Promise<ScanEngine>;

/** Adapts a port-RPC client of the engine (Electron EngineHost or the worker host) to ScanEngine. */
export function engineFromRpc(client: { request(method: string, payload: unknown): Promise<unknown> }): ScanEngine {
  return {
    scan: (req) => client.request('engine.scan', req) as Promise<PipelineResult>,
    status: () => client.request('engine.status', {}) as Promise<EngineStatus>,
  };
}

/** An engine in a worker_thread, started on first use (browser host, CLI). */
export function workerEngineProvider(opts: Record<string, unknown> = {}): ScanEngineProvider & { close(): Promise<void> } {
  let started: Promise<{ engine: ScanEngine; close(): Promise<void> }> | null = null;
  const start = () =>
    (started ??= import('../../../native-models/src/inference/engine/worker-host.js').then(async (m) => {
      const w = await m.startWorkerEngine(opts);
      return { engine: engineFromRpc(w.client), close: () => w.close() };
    }));
  const provider = async () => (await start()).engine;
  return Object.assign(provider, { close: async () => { if (started) await (await started.catch(() => null))?.close(); } });
}

export interface ScanService {
  readonly handlers: FeatureHandlers<typeof scanApi>;
  run(sopInstanceUid: string): Promise<ScanResult>;
  status(): Promise<ScanStatus>;
  results(seriesInstanceUid: string): ScanResult[];
  /** The latest stored result of one instance, without images (decisions refer to it). */
  latest(sopInstanceUid: string): ScanResultHead | undefined;
  /** The preprocessed model input of an instance's latest result (what the FL agent trains on). */
  input(sopInstanceUid: string): { pixels: Float32Array; size: number } | undefined;
  close(): void;
}

const INPUT_CODES = /^E_(INPUT_|NOT_IMAGE)/;

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && INPUT_CODES.test(code)) return new ApiError('BAD_REQUEST', `Cannot scan this image: ${message}`, { code });
  return new ApiError('INTERNAL', `Inference engine: ${message}`, { code: typeof code === 'string' ? code : 'E_ENGINE' });
}

export function createScanService(deps: {
  dataDir: string;
  studies: StudyStore;
  audit: AuditStore;
  actor: AuditActor;
  events: EventSink<{ 'scan.completed': ApiEvents['scan.completed'] }>;
  engine?: ScanEngineProvider;
}): ScanService {
  const store = new ScanResultStore(deps.dataDir);
  const engine = async (): Promise<ScanEngine> => {
    if (!deps.engine) throw new ApiError('INTERNAL', 'No inference engine is configured in this host', { code: 'E_ENGINE' });
    return deps.engine();
  };

  const service: ScanService = {
    handlers: {
      'scan.run': (r) => service.run(r.sopInstanceUid),
      'scan.status': () => service.status(),
      'scan.results': (r) => service.results(r.seriesInstanceUid),
    },

    async run(sopInstanceUid) {
      const where = store.locate(sopInstanceUid);
      if (!where) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
      let result: ScanResult;
      try {
        const e = await engine();
        const st = await e.status();
        if (!st.ready || st.size === undefined) throw new ApiError('INTERNAL', `Inference engine not ready${st.error ? `: ${st.error.message}` : ''}`, { code: st.error?.code ?? 'E_ENGINE' });
        const frame = await deps.studies.getFrameAsync(sopInstanceUid);
        const t0 = performance.now();
        const image = preprocessFrame(frame, st.size);
        const preprocessMs = performance.now() - t0;
        const r = await e.scan({ image });
        result = {
          sopInstanceUid, ...where, createdUtc: new Date().toISOString(),
          label: r.label, probabilities: r.probabilities, mode: r.mode, flagged: r.flagged, score: r.score, threshold: r.threshold,
          scoreKind: r.scoreKind, tStar: r.tStar, steps: r.steps, timesteps: r.timesteps, seed: r.seed, size: r.size,
          input: r.input, errorMap: r.errorMap, purified: r.purified, difference: r.difference, models: r.models, ep: r.ep,
          timings: { preprocessMs, ...r.timings },
        };
      } catch (err) {
        throw toApiError(err);
      }
      store.put(result);
      const patient = deps.studies.patientOfStudy(where.studyInstanceUid);
      const participants = [
        { type: PARTICIPANT.studyInstanceUid, id: where.studyInstanceUid },
        { type: PARTICIPANT.sopInstanceUid, id: sopInstanceUid },
        ...(patient ? [{ type: PARTICIPANT.patientId, id: patient.patientId }] : []),
      ];
      const details = {
        label: result.label, pTumour: result.probabilities[1], flagged: result.flagged, score: result.score, threshold: result.threshold,
        scoreKind: result.scoreKind, tStar: result.tStar, steps: result.steps, seed: result.seed, ep: result.ep,
        models: result.models.map((m) => ({ name: m.name, version: m.version, sha256: m.sha256, trained: m.trained })),
      };
      const inference: AuditEventInput = {
        ...deps.actor, eventId: EVENT_ID.applicationActivity, eventTypeCode: MFP_EVENT_TYPE.aiInference,
        action: 'E', outcome: 'success', participants, details,
      };
      deps.audit.append(inference);
      if (result.flagged) {
        // A rescan of a slice already alerted on is linked to the first alert (repeatOf) and counted, so a review
        // sees one incident per slice rather than one per scan.
        let first: number | undefined;
        let earlier = 0;
        for (const e of deps.audit.iterate({ participant: sopInstanceUid, eventTypeCode: MFP_EVENT_TYPE.suspectedAdversarialInput.code })) {
          if (!e.participants.some((p) => p.type === PARTICIPANT.sopInstanceUid && p.id === sopInstanceUid)) continue;
          first ??= e.seq;
          earlier++;
        }
        deps.audit.append(securityAlert(deps.actor, MFP_EVENT_TYPE.suspectedAdversarialInput,
          {
            ...details, message: 'MAE reconstruction error above the calibrated threshold; the image was purified before classification',
            ...(first !== undefined ? { repeatOf: first, occurrence: earlier + 1 } : {}),
          },
          { outcome: 'minor-failure', participants }));
      }
      deps.events.emit('scan.completed', { sopInstanceUid, ...where, label: result.label, flagged: result.flagged });
      return result;
    },

    async status() {
      if (!deps.engine) return { ready: false, error: { code: 'E_ENGINE', message: 'No inference engine is configured in this host' } };
      try {
        const s = await (await engine()).status();
        return { ready: s.ready, error: s.error, ep: s.ep, models: s.models, calibrated: s.calibrated, calibration: s.calibration, classifierHeldOut: s.classifierHeldOut ?? null };
      } catch (err) {
        const e = toApiError(err);
        return { ready: false, error: { code: String((e.details as { code?: string } | undefined)?.code ?? 'E_ENGINE'), message: e.message } };
      }
    },

    results: (seriesInstanceUid) => store.forSeries(seriesInstanceUid),
    latest: (sopInstanceUid) => store.latest(sopInstanceUid),
    input: (sopInstanceUid) => store.input(sopInstanceUid),
    close: () => store.close(),
  };
  return service;
}
