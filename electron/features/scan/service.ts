/**
 * The scan service: runs the defence pipeline (native-models engine) on a stored instance and keeps the outcome.
 *
 *   scan.run(sop)  header → intended-use gate (intended-use.ts; outside → a stored, audited "outside intended use"
 *                  result with no label, no probability, no model run) → frame from the study store → preprocess
 *                  (native-models/src/inference/pipeline/preprocess.ts) → engine (utilityProcess in Electron,
 *                  worker_thread in the browser host) with the thresholds in force (the site's calibration when one
 *                  is stored, trust.ts) → state: answered, or unlike the training data (OOD cut) → store
 *                  (scan_results) → audit DCM 110100 Application Activity / MFP-INF "AI Inference", plus DCM 110113
 *                  Security Alert / MFP-ADV only for a flagged scan in intended use and in distribution → event
 *                  `scan.completed`.
 *   scan.status    engine readiness, EP, model versions and hashes, calibration, thresholds in force, detector evidence.
 *   scan.results   stored results of a series.
 *   calibrateSite  (command line only: `medfedpure calibrate site`) re-measures the thresholds on the site's own clean
 *                  axial slices, stores them in the data folder (site-calibration.ts) and audits the change.
 *
 * No label is ever sent to the engine. Engine input errors (E_INPUT_*, E_NOT_IMAGE) become BAD_REQUEST; an engine
 * that is missing or not ready becomes INTERNAL with details.code, and the service keeps working.
 */
import { ApiError } from '../../common/api-error.js';
import type { IntendedUse, ScanResult, ScanStatus, ScanThresholds, scanApi } from './api.js';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EngineScanRequest, EngineStatus, PipelineResult } from '../../../native-models/src/inference/engine/protocol.js';
import { preprocessFrame } from '../../../native-models/src/inference/pipeline/preprocess.js';
import type { AuditStore, AuditEventInput } from '../audit/audit-store.js';
import { EVENT_ID, MFP_EVENT_TYPE, PARTICIPANT } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import { EVENT_TYPE } from '../audit/codes.js';
import { checkIntendedUse, outsideMessage } from './intended-use.js';
import { DETECTOR_EVIDENCE, judge, thresholdsInForce } from './trust.js';
import {
  computeSiteCalibration, readSiteCalibration, siteCalibrationStamp, siteProblem, writeSiteCalibration, SiteCalibrationError,
  type SiteCalibration, type SiteSliceScore,
} from './site-calibration.js';
import type { StudyStore } from '../studies/store/study-store.js';
import { ScanResultStore } from './results-store.js';
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

export interface SiteCalibrationRequest {
  series?: readonly string[];
  studies?: readonly string[];
  /** Target flag rate on clean slices (default 0.05). */
  fpr?: number;
  /** Measure and report, but store and audit nothing. */
  dryRun?: boolean;
  /** Who runs it (default: the service's actor). */
  actor?: AuditActor;
}

export interface SiteCalibrationOutcome {
  calibration: SiteCalibration;
  /** Where it was stored (null on a dry run). */
  path: string | null;
  /** The thresholds in force before. */
  previous: ScanThresholds | null;
  /** Slices the gate left out, by reason. */
  excludedReasons: Record<string, number>;
}

export interface ScanService {
  readonly handlers: FeatureHandlers<typeof scanApi>;
  run(sopInstanceUid: string): Promise<ScanResult>;
  status(): Promise<ScanStatus>;
  results(seriesInstanceUid: string): ScanResult[];
  /** Site calibration (an admin operation; not on the API). Throws ApiError BAD_REQUEST when too few slices qualify. */
  calibrateSite(req: SiteCalibrationRequest): Promise<SiteCalibrationOutcome>;
  close(): void;
}

/** A flag threshold no score reaches: the engine scores and classifies, and purifies nothing (site calibration). */
const SCORES_ONLY_THRESHOLD = 1e300;

const INPUT_CODES = /^E_(INPUT_|NOT_IMAGE)/;

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && INPUT_CODES.test(code)) return new ApiError('BAD_REQUEST', `Cannot scan this image: ${message}`, { code });
  return new ApiError('INTERNAL', `Inference engine: ${message}`, { code: typeof code === 'string' ? code : 'E_ENGINE' });
}

/** The stored result of a scan the gate declined: no label, no probability, no model run. */
function outsideResult(sopInstanceUid: string, where: { seriesInstanceUid: string; studyInstanceUid: string }, use: IntendedUse): ScanResult {
  return {
    sopInstanceUid, ...where, createdUtc: new Date().toISOString(), state: 'outside-intended-use', intendedUse: use,
    label: null, probabilities: null, ood: null, securityAlert: false, thresholdsSource: null, thresholdsCreatedUtc: null,
    mode: 'adaptive', flagged: false, score: null, threshold: null, scoreKind: null, tStar: 0, steps: 0, timesteps: [], seed: 0, size: 0,
    input: null, errorMap: null, purified: null, difference: null, models: [], ep: null, timings: null,
  };
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

  /** The intended-use verdict of a stored instance, from its header. */
  function gate(sopInstanceUid: string): IntendedUse {
    return checkIntendedUse(deps.studies.getImageFacts(sopInstanceUid));
  }

  /** The stored site calibration, re-read when its file changes. */
  let site: { stamp: number | null; value: SiteCalibration | null; problem?: string } | null = null;
  function siteCalibration(): { value: SiteCalibration | null; problem?: string } {
    const stamp = siteCalibrationStamp(deps.dataDir);
    if (site && site.stamp === stamp) return site;
    try {
      site = { stamp, value: readSiteCalibration(deps.dataDir) };
    } catch (err) {
      site = { stamp, value: null, problem: siteProblem(err) };
    }
    return site;
  }

  /** The thresholds in force for this engine: the site's when valid for its detector, else the shipped ones. */
  function inForce(st: EngineStatus): { thresholds: ScanThresholds | null; problem?: string } {
    return thresholdsInForce(st, siteCalibration());
  }

  const service: ScanService = {
    handlers: {
      'scan.run': (r) => service.run(r.sopInstanceUid),
      'scan.status': () => service.status(),
      'scan.results': (r) => service.results(r.seriesInstanceUid),
    },

    async run(sopInstanceUid) {
      const where = store.locate(sopInstanceUid);
      if (!where) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
      const patient = deps.studies.patientOfStudy(where.studyInstanceUid);
      const participants = [
        { type: PARTICIPANT.studyInstanceUid, id: where.studyInstanceUid },
        { type: PARTICIPANT.sopInstanceUid, id: sopInstanceUid },
        ...(patient ? [{ type: PARTICIPANT.patientId, id: patient.patientId }] : []),
      ];
      const use = gate(sopInstanceUid);
      if (use.status === 'outside') {
        const declined = outsideResult(sopInstanceUid, where, use);
        store.put(declined);
        deps.audit.append({
          ...deps.actor, eventId: EVENT_ID.applicationActivity, eventTypeCode: MFP_EVENT_TYPE.aiInference, action: 'E', outcome: 'success', participants,
          details: { state: declined.state, message: outsideMessage(use.reasons), reasons: use.reasons },
        });
        deps.events.emit('scan.completed', { sopInstanceUid, ...where, label: null, flagged: false, state: declined.state });
        return declined;
      }
      let result: ScanResult;
      try {
        const e = await engine();
        const st = await e.status();
        if (!st.ready || st.size === undefined) throw new ApiError('INTERNAL', `Inference engine not ready${st.error ? `: ${st.error.message}` : ''}`, { code: st.error?.code ?? 'E_ENGINE' });
        const { thresholds } = inForce(st);
        const frame = await deps.studies.getFrameAsync(sopInstanceUid);
        const t0 = performance.now();
        const image = preprocessFrame(frame, st.size);
        const preprocessMs = performance.now() - t0;
        const r = await e.scan({ image, ...(thresholds?.source === 'site' ? { options: { threshold: thresholds.flag.threshold } } : {}) });
        const j = judge(r, thresholds);
        result = {
          sopInstanceUid, ...where, createdUtc: new Date().toISOString(),
          state: j.state, intendedUse: use, ood: j.ood, securityAlert: j.securityAlert, thresholdsSource: thresholds?.source ?? null, thresholdsCreatedUtc: thresholds?.createdUtc ?? null,
          label: r.label, probabilities: r.probabilities, mode: r.mode, flagged: r.flagged, score: r.score, threshold: r.threshold,
          scoreKind: r.scoreKind, tStar: r.tStar, steps: r.steps, timesteps: r.timesteps, seed: r.seed, size: r.size,
          input: r.input, errorMap: r.errorMap, purified: r.purified, difference: r.difference, models: r.models, ep: r.ep,
          timings: { preprocessMs, ...r.timings },
        };
      } catch (err) {
        throw toApiError(err);
      }
      store.put(result);
      const details = {
        state: result.state, intendedUse: use.status === 'in-use' ? use.summary : use.status,
        label: result.label, pTumour: result.probabilities?.[1], flagged: result.flagged, score: result.score, threshold: result.threshold,
        scoreKind: result.scoreKind, ood: result.ood, thresholds: result.thresholdsSource, tStar: result.tStar, steps: result.steps, seed: result.seed, ep: result.ep,
        models: result.models.map((m) => ({ name: m.name, version: m.version, sha256: m.sha256, trained: m.trained })),
      };
      const inference: AuditEventInput = {
        ...deps.actor, eventId: EVENT_ID.applicationActivity, eventTypeCode: MFP_EVENT_TYPE.aiInference,
        action: 'E', outcome: 'success', participants, details,
      };
      deps.audit.append(inference);
      if (result.securityAlert) {
        deps.audit.append(securityAlert(deps.actor, MFP_EVENT_TYPE.suspectedAdversarialInput,
          { ...details, message: `Detector score above the ${result.thresholdsSource} threshold on an in-distribution slice; the image was purified before classification (the detector's AUROC against attacks is ${DETECTOR_EVIDENCE.auroc.map((a) => a.toFixed(2)).join('–')}: this may be a false alarm)` },
          { outcome: 'minor-failure', participants }));
      }
      deps.events.emit('scan.completed', { sopInstanceUid, ...where, label: result.label, flagged: result.flagged, state: result.state });
      return result;
    },

    async status() {
      if (!deps.engine) return { ready: false, error: { code: 'E_ENGINE', message: 'No inference engine is configured in this host' } };
      try {
        const s = await (await engine()).status();
        const force = s.ready ? inForce(s) : { thresholds: null };
        return {
          ready: s.ready, error: s.error, ep: s.ep, models: s.models, calibrated: s.calibrated, calibration: s.calibration, classifierHeldOut: s.classifierHeldOut ?? null,
          thresholds: force.thresholds, ...(force.problem ? { siteCalibrationProblem: force.problem } : {}), detectorEvidence: DETECTOR_EVIDENCE,
        };
      } catch (err) {
        const e = toApiError(err);
        return { ready: false, error: { code: String((e.details as { code?: string } | undefined)?.code ?? 'E_ENGINE'), message: e.message } };
      }
    },

    results: (seriesInstanceUid) => store.forSeries(seriesInstanceUid),

    async calibrateSite(req) {
      const actor = req.actor ?? deps.actor;
      const e = await engine();
      const st = await e.status();
      if (!st.ready || st.size === undefined || !st.calibration) throw new ApiError('INTERNAL', 'Inference engine not ready or not calibrated', { code: st.error?.code ?? 'E_ENGINE' });
      const mae = st.models?.find((m) => m.name === 'mae');
      const detector = { maeSha256: mae?.sha256 ?? '', K: st.calibration.K, maskSeed: st.detector?.maskSeed ?? 0 };
      const seriesUids = new Set<string>(req.series ?? []);
      for (const study of req.studies ?? []) for (const se of deps.studies.listSeries(study)) seriesUids.add(se.seriesInstanceUid);
      if (seriesUids.size === 0) throw new ApiError('BAD_REQUEST', 'name at least one series or study');
      // In stack order per series, so the spread's seeded half-splits see the same order on every run.
      const pending: Array<Promise<SiteSliceScore>> = [];
      const excludedReasons: Record<string, number> = {};
      let excluded = 0;
      const studies = new Set<string>();
      for (const uid of seriesUids) {
        const series = deps.studies.getSeries(uid); // NOT_FOUND for an unknown series
        studies.add(series.studyInstanceUid);
        for (const inst of deps.studies.listInstances(uid)) {
          const use = gate(inst.sopInstanceUid);
          if (use.status !== 'in-use') {
            excluded++;
            // Counted by kind ("sagittal slice"), without the per-slice detail in parentheses.
            for (const reason of use.status === 'outside' ? use.reasons : [use.status]) {
              const kind = reason.replace(/\(.*\)/, '').trim();
              excludedReasons[kind] = (excludedReasons[kind] ?? 0) + 1;
            }
            continue;
          }
          const image = preprocessFrame(await deps.studies.getFrameAsync(inst.sopInstanceUid), st.size);
          const scored = e.scan({ image, options: { threshold: SCORES_ONLY_THRESHOLD } }).then((r) => {
            if (!r.scores) throw new ApiError('INTERNAL', 'the engine returned no detector scores', { code: 'E_ENGINE' });
            return { seriesInstanceUid: uid, scores: r.scores };
          });
          scored.catch(() => undefined); // rejections are reported by the Promise.all below, not as unhandled
          pending.push(scored);
          // Bounded: at most one engine batch of preprocessed images waits at a time.
          if (pending.length % 16 === 0) await Promise.allSettled(pending.slice(-16));
        }
      }
      let slices: SiteSliceScore[];
      try {
        slices = await Promise.all(pending);
      } catch (err) {
        throw toApiError(err);
      }
      const previous = inForce(st).thresholds;
      let calibration: SiteCalibration;
      try {
        calibration = computeSiteCalibration(slices, {
          flagScoreKind: st.calibration.scoreKind, fpr: req.fpr, detector, by: actor,
          studies: [...studies], series: [...new Set(slices.map((x) => x.seriesInstanceUid))], excluded,
        });
      } catch (err) {
        if (err instanceof SiteCalibrationError) throw new ApiError('BAD_REQUEST', err.message);
        throw err;
      }
      if (req.dryRun) return { calibration, path: null, previous, excludedReasons };
      const path = writeSiteCalibration(deps.dataDir, calibration);
      site = null; // re-read on the next scan
      deps.audit.append({
        ...actor, eventId: EVENT_ID.applicationActivity, eventTypeCode: EVENT_TYPE.softwareConfiguration, action: 'U', outcome: 'success',
        participants: [...studies].map((id) => ({ type: PARTICIPANT.studyInstanceUid, id })),
        details: {
          what: 'site detector calibration', path, n: calibration.n, excluded, series: calibration.series, spreadBy: calibration.spreadBy,
          flag: { scoreKind: calibration.flag.scoreKind, from: previous?.flag.threshold ?? null, to: calibration.flag.threshold, fpr: calibration.flag.fpr, expected: calibration.flag.expected },
          ood: { from: previous?.ood.threshold ?? null, to: calibration.ood.threshold, fpr: calibration.ood.fpr, expected: calibration.ood.expected },
          detector,
        },
      });
      return { calibration, path, previous, excludedReasons };
    },

    close: () => store.close(),
  };
  return service;
}
