/**
 * The PACS service: configured endpoints, QIDO-RS search, WADO-RS retrieval into the study store, STOW-RS of local
 * series and of AI reports (DICOM SR). Runs on the services side only (Electron main or the Node host); the renderer
 * reaches it through the pacs.* methods and never sees a credential.
 *
 * Retrieval of a series, step by step (see ledger.ts for why completeness lives there):
 *   1. QIDO-RS lists the series' SOP Instance UIDs (paged); the ledger records them, state 'in-progress';
 *   2. the ones already in the study store are skipped; if none is local the series is fetched in one WADO-RS
 *      multipart stream, else only the missing instances are fetched one by one (a retry resumes);
 *   3. each part is checked (it is DICOM, it belongs to the asked study and series) and imported through the study
 *      store's all-or-nothing importBytes; a part the importer refuses is listed with its reason, the rest go on;
 *   4. the ledger marks the series 'complete' only when every listed instance is in the store, else 'incomplete'
 *      with the error (unreachable, HTTP status, timeout, connection lost mid-transfer, cancelled, refused parts).
 * Progress is announced as `pacs.progress` events (a job per retrieval); a job can be cancelled.
 *
 * Audited: every search (DCM 110112 Query, with the query: it may name a patient), every retrieval (DCM 110107
 * Import, source = the endpoint), every STOW-RS send (DCM 110106 Export, destination = the endpoint), every endpoint change (DCM 110113 Security Alert / 110131 Software Configuration,
 * never the secret).
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../common/api-error.js';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { ImportResult, ScanResult } from '../api.js';
import type { AuditEventInput, AuditStore } from '../audit/audit-store.js';
import { EVENT_ID, EVENT_TYPE, PARTICIPANT } from '../audit/codes.js';
import { importEvent, securityAlert, type AuditActor } from '../audit/events.js';
import { DicomError } from '../studies/dicom/errors.js';
import { readInstanceHeader } from '../studies/dicom/header.js';
import { parseDicomFile } from '../studies/dicom/parse.js';
import type { StudyStore } from '../studies/store/study-store.js';
import type { LocalState, PacsJob, PacsReport, PacsSearchResult, PacsSeries, PacsStoreResult, PacsStudy, pacsApi } from './api.js';
import { DicomWebClient } from './dicomweb.js';
import { DEFAULT_TIMEOUT_MS, EndpointStore, endpointInfo, type PacsEndpoint } from './endpoints.js';
import { PacsError } from './errors.js';
import { PacsLedger } from './ledger.js';
import type { Part } from './multipart.js';
import { isDicomDateQuery, NON_IMAGE_MODALITIES, str, studyQueryParams, toSeries, toStudy, type StudyQuery } from './qido.js';
import { buildAnalysisReport, type ReportImage } from './sr.js';
import { readAnalysisReport } from './sr-read.js';

type PacsEvents = { 'pacs.progress': PacsJob; 'studies.changed': { studyInstanceUids: string[] } };

/** STOW-RS requests are split so no single request body exceeds this. */
const STOW_BATCH_BYTES = 64 * 1024 * 1024;
/** QIDO-RS page size when listing a series' instances. */
const INSTANCE_PAGE = 1000;
const MAX_INSTANCES = 100_000;
const MAX_JOBS = 50;

export interface PacsServiceDeps {
  dataDir: string;
  studies: StudyStore;
  audit: AuditStore;
  actor: AuditActor;
  events: EventSink<PacsEvents>;
  /** The stored AI results of a series (latest per instance), for reports. */
  scanResults: (seriesInstanceUid: string) => ScanResult[];
  software: { name: string; version: string; workstation: string };
}

export interface RetrieveOptions {
  signal?: AbortSignal;
  onProgress?: (job: PacsJob) => void;
}

export interface PacsService {
  readonly handlers: FeatureHandlers<typeof pacsApi>;
  readonly endpoints: EndpointStore;
  /** An endpoint by id; NOT_FOUND when unknown. */
  endpoint(id: string): PacsEndpoint;
  search(endpoint: PacsEndpoint, q: StudyQuery): Promise<PacsSearchResult>;
  series(endpoint: PacsEndpoint, studyInstanceUid: string): Promise<PacsSeries[]>;
  /** Runs a retrieval to its end; never throws: the job's state and error say how it went. */
  retrieve(endpoint: PacsEndpoint, studyInstanceUid: string, seriesInstanceUid?: string, opts?: RetrieveOptions): Promise<PacsJob>;
  /** Starts a retrieval in the background (the UI's way); returns the running job. */
  startRetrieve(endpoint: PacsEndpoint, studyInstanceUid: string, seriesInstanceUid?: string): PacsJob;
  cancel(jobId: string): boolean;
  storeSeries(endpoint: PacsEndpoint, seriesInstanceUid: string): Promise<PacsStoreResult>;
  /** STOW-RS of files (CLI push), read one batch at a time; each is checked to be DICOM first. */
  storeFiles(endpoint: PacsEndpoint, files: ReadonlyArray<{ name: string; read(): Uint8Array }>): Promise<PacsStoreResult & { errors: Array<{ file: string; message: string }> }>;
  sendReport(endpoint: PacsEndpoint, seriesInstanceUid: string): Promise<PacsStoreResult>;
  /** Cancels running jobs and closes the ledger. */
  close(): void;
}

/** An endpoint given on the command line (not stored): `--url` plus optional credentials. */
export function adHocEndpoint(url: string, auth: PacsEndpoint['auth'] = { kind: 'none' }, opts: { caFile?: string; timeoutMs?: number } = {}): PacsEndpoint {
  return { id: 'command-line', name: url, url, auth, ...(opts.caFile ? { caFile: opts.caFile } : {}), timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

export function createPacsService(deps: PacsServiceDeps): PacsService {
  const { studies, audit, actor, events } = deps;
  const endpoints = new EndpointStore(deps.dataDir);
  const ledger = new PacsLedger(deps.dataDir);
  const jobs = new Map<string, { job: PacsJob; controller: AbortController }>();
  let closed = false;

  const endpointParticipant = (e: PacsEndpoint) => ({ id: e.id, url: e.url });

  function localInstanceUids(seriesUid: string): Set<string> {
    return new Set(studies.listInstances(seriesUid).map((i) => i.sopInstanceUid));
  }

  function seriesLocalState(endpointId: string, s: { seriesInstanceUid: string; instanceCount?: number }): LocalState {
    const row = ledger.retrieval(endpointId, s.seriesInstanceUid);
    const local = localInstanceUids(s.seriesInstanceUid);
    if (local.size === 0) return 'none';
    if (row && row.state !== 'complete') return 'partial';
    if (row) return row.expected.every((u) => local.has(u)) ? 'complete' : 'partial';
    return s.instanceCount !== undefined && local.size >= s.instanceCount ? 'complete' : 'partial';
  }

  async function listExpected(client: DicomWebClient, studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for (let offset = 0; ; offset += INSTANCE_PAGE) {
      const page = await client.qido(`studies/${studyUid}/series/${seriesUid}/instances`, { includefield: '00080016', limit: INSTANCE_PAGE, offset }, signal);
      for (const o of page) {
        const uid = str(o, '00080018');
        if (uid && !out.includes(uid)) out.push(uid);
      }
      if (page.length < INSTANCE_PAGE) return out;
      if (out.length > MAX_INSTANCES) throw new PacsError('BAD_RESPONSE', client.where(`studies/${studyUid}/series/${seriesUid}`), `more than ${MAX_INSTANCES} instances in one series`);
    }
  }

  function emit(job: PacsJob, opts: RetrieveOptions): void {
    const copy = { ...job, refused: [...job.refused] };
    opts.onProgress?.(copy);
    events.emit('pacs.progress', copy);
  }

  /** Retrieves one series (steps 1–4 above). Throws PacsError on transfer failures, after recording them. */
  async function retrieveSeries(client: DicomWebClient, job: PacsJob, seriesUid: string, expected: string[], tally: ImportResult, opts: RetrieveOptions): Promise<void> {
    const e = client.endpoint;
    ledger.begin(e.id, job.studyInstanceUid, seriesUid, expected);
    const expectedSet = new Set(expected);
    const before = localInstanceUids(seriesUid);
    const missing = expected.filter((u) => !before.has(u));
    job.seriesInstanceUid = seriesUid;
    job.done += expected.length - missing.length;
    tally.duplicates += expected.length - missing.length;
    job.patientName ??= studies.patientOfStudy(job.studyInstanceUid)?.patientName;
    emit(job, opts);

    const onPart = async (part: Part): Promise<void> => {
      const type = (part.headers['content-type'] ?? 'application/dicom').split(';')[0].trim().toLowerCase();
      let sop = '?';
      try {
        if (type !== 'application/dicom') throw new DicomError('NOT_DICOM', `part ${job.done + 1}`, `the PACS sent ${type}, not application/dicom`);
        const header = readInstanceHeader(parseDicomFile(part.body, 'pacs part'), 'pacs part');
        sop = header.sopInstanceUid;
        if (header.studyInstanceUid !== job.studyInstanceUid || header.seriesInstanceUid !== seriesUid || !expectedSet.has(sop)) {
          throw new DicomError('MISSING_UID', sop, 'the PACS sent an instance that was not asked for; not imported');
        }
        const r = await studies.importBytesAsync(`pacs:${e.id}/${sop}`, part.body); // parsed and decoded in the decode worker
        job.patientName ??= header.patient.name;
        if (r.status === 'imported') {
          tally.imported++;
          if (!tally.studies.includes(job.studyInstanceUid)) tally.studies.push(job.studyInstanceUid);
        } else if (r.status === 'duplicate') tally.duplicates++;
        job.done++;
      } catch (err) {
        const code = err instanceof DicomError ? err.code : 'IO_ERROR';
        const message = err instanceof Error ? err.message : String(err);
        job.refused.push({ sopInstanceUid: sop, code, message });
        tally.errors.push({ file: `pacs:${e.id}/${sop}`, code: code as ImportResult['errors'][number]['code'], message });
      }
      emit(job, opts);
      await new Promise((r) => setImmediate(r)); // keep serving requests during a long series
    };
    const onBytes = (n: number): void => {
      job.bytes += n;
    };

    try {
      if (missing.length === 0) {
        // nothing to fetch
      } else if (missing.length === expected.length) {
        await client.retrieve(`studies/${job.studyInstanceUid}/series/${seriesUid}`, onPart, { signal: opts.signal, onBytes });
      } else {
        for (const sop of missing) await client.retrieve(`studies/${job.studyInstanceUid}/series/${seriesUid}/instances/${sop}`, onPart, { signal: opts.signal, onBytes });
      }
    } catch (err) {
      const now = localInstanceUids(seriesUid);
      ledger.finish(e.id, seriesUid, 'incomplete', expected.filter((u) => now.has(u)).length, err instanceof Error ? err.message : String(err));
      throw err;
    }
    const now = localInstanceUids(seriesUid);
    const got = expected.filter((u) => now.has(u)).length;
    const complete = got === expected.length;
    ledger.finish(e.id, seriesUid, complete ? 'complete' : 'incomplete', got, complete ? undefined : `${expected.length - got} instance(s) not imported`);
  }

  /**
   * Reads our AI reports from an SR series of the PACS (small documents; others are ignored) and keeps them in the
   * ledger. Best effort: a report that cannot be read never fails the image retrieval.
   */
  async function readReports(client: DicomWebClient, studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<void> {
    try {
      await client.retrieve(`studies/${studyUid}/series/${seriesUid}`, (part) => {
        const r = readAnalysisReport(part.body);
        if (r && r.studyInstanceUid === studyUid) ledger.putReport({ ...r, endpointId: client.endpoint.id, receivedUtc: new Date().toISOString() });
      }, { signal, maxPartBytes: 16 * 1024 * 1024 });
    } catch (err) {
      if (err instanceof PacsError && err.code === 'CANCELLED') throw err;
    }
  }

  async function runJob(endpoint: PacsEndpoint, job: PacsJob, seriesUid: string | undefined, opts: RetrieveOptions): Promise<PacsJob> {
    const tally: ImportResult = { imported: 0, duplicates: 0, errors: [], studies: [], skipped: 0 };
    const seriesDone: string[] = [];
    let reportSeries: string[] = [];
    try {
      const client = new DicomWebClient(endpoint);
      let seriesUids: string[];
      if (seriesUid) seriesUids = [seriesUid];
      else {
        const all = (await client.qido(`studies/${job.studyInstanceUid}/series`, { includefield: '00201209' }, opts.signal))
          .map((o) => toSeries(o, job.studyInstanceUid))
          .filter((s): s is PacsSeries => s !== null);
        if (all.length === 0) throw new PacsError('HTTP_STATUS', client.where(`studies/${job.studyInstanceUid}`), 'the PACS lists no series for this study');
        seriesUids = all.filter((s) => !NON_IMAGE_MODALITIES.has(s.modality ?? '')).map((s) => s.seriesInstanceUid);
        tally.skipped = all.length - seriesUids.length;
        reportSeries = all.filter((s) => s.modality === 'SR').map((s) => s.seriesInstanceUid);
        for (const s of all) if (NON_IMAGE_MODALITIES.has(s.modality ?? '')) ledger.noteNonImageSeries(endpoint.id, job.studyInstanceUid, s.seriesInstanceUid, s.instanceCount ?? 0);
      }
      // Count every series' instances up front so progress has one total.
      const listed = new Map<string, string[]>();
      for (const se of seriesUids) listed.set(se, await listExpected(client, job.studyInstanceUid, se, opts.signal));
      job.expected = [...listed.values()].reduce((n, l) => n + l.length, 0);
      emit(job, opts);
      for (const se of seriesUids) {
        await retrieveSeries(client, job, se, listed.get(se)!, tally, opts);
        seriesDone.push(se);
      }
      for (const se of reportSeries) await readReports(client, job.studyInstanceUid, se, opts.signal);
      if (job.refused.length > 0) {
        job.state = 'failed';
        job.error = { code: 'PARTIAL', message: `${endpoint.url}: ${job.refused.length} instance(s) could not be imported (first: ${job.refused[0].code}: ${job.refused[0].message})` };
      } else job.state = 'complete';
    } catch (err) {
      const pe = err instanceof PacsError ? err : new PacsError('BAD_RESPONSE', endpoint.url, err instanceof Error ? err.message : String(err));
      job.state = pe.code === 'CANCELLED' ? 'cancelled' : 'failed';
      job.error = { code: pe.code, message: pe.message };
      tally.errors.push({ file: endpoint.url, code: 'IO_ERROR', message: pe.message });
    }
    job.finishedUtc = new Date().toISOString();
    if (!tally.studies.includes(job.studyInstanceUid) && studies.patientOfStudy(job.studyInstanceUid)) tally.studies.push(job.studyInstanceUid);
    const patients = tally.studies.map((u) => studies.patientOfStudy(u)?.patientId).filter((p): p is string => p !== undefined);
    audit.append(
      importEvent(actor, tally, patients, {
        source: 'pacs',
        endpoint: endpointParticipant(endpoint),
        protocol: 'WADO-RS',
        studyInstanceUid: job.studyInstanceUid,
        ...(seriesUid ? { seriesInstanceUid: seriesUid } : {}),
        seriesComplete: seriesDone,
        state: job.state,
        ...(job.error ? { error: job.error } : {}),
      }),
    );
    if (tally.imported > 0) events.emit('studies.changed', { studyInstanceUids: [job.studyInstanceUid] });
    emit(job, opts);
    return job;
  }

  function newJob(endpoint: PacsEndpoint, studyInstanceUid: string, seriesInstanceUid?: string): PacsJob {
    return {
      jobId: randomUUID(),
      endpointId: endpoint.id,
      studyInstanceUid,
      ...(seriesInstanceUid ? { requestedSeriesInstanceUid: seriesInstanceUid, seriesInstanceUid } : {}),
      state: 'running',
      expected: 0,
      done: 0,
      bytes: 0,
      refused: [],
      startedUtc: new Date().toISOString(),
    };
  }

  function exportAudit(endpoint: PacsEndpoint, studyUid: string, kind: 'series' | 'report' | 'files', result: PacsStoreResult, extra: Record<string, unknown> = {}): void {
    const patient = studies.patientOfStudy(studyUid);
    const outcome = result.failed.length === 0 && result.stored.length > 0 ? 'success' : result.stored.length > 0 ? 'minor-failure' : 'serious-failure';
    const input: AuditEventInput = {
      ...actor,
      eventId: EVENT_ID.export,
      action: 'R',
      outcome,
      participants: [
        { type: PARTICIPANT.studyInstanceUid, id: studyUid },
        ...(patient ? [{ type: PARTICIPANT.patientId, id: patient.patientId }] : []),
      ],
      details: {
        destination: endpointParticipant(endpoint),
        protocol: 'STOW-RS',
        kind,
        stored: result.stored.length,
        failed: result.failed.slice(0, 20),
        ...extra,
      },
    };
    audit.append(input);
  }

  function queryAudit(endpoint: PacsEndpoint, level: 'studies' | 'series', query: Record<string, unknown>, answer: readonly unknown[] | undefined): void {
    const studyUid = typeof query.studyInstanceUid === 'string' ? query.studyInstanceUid : undefined;
    const input: AuditEventInput = {
      ...actor,
      eventId: EVENT_ID.query,
      action: 'E',
      outcome: answer === undefined ? 'minor-failure' : 'success',
      participants: studyUid ? [{ type: PARTICIPANT.studyInstanceUid, id: studyUid }] : [],
      details: {
        endpoint: endpointParticipant(endpoint),
        protocol: 'QIDO-RS',
        level,
        query: Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')),
        ...(answer !== undefined ? { results: answer.length } : { failed: true }),
      },
    };
    audit.append(input);
  }

  /** Sends files in batches; a transfer failure after some batches keeps what was acknowledged. */
  async function stowAll(client: DicomWebClient, files: Iterable<Uint8Array>, studyUid?: string): Promise<{ stored: string[]; failed: PacsStoreResult['failed']; error?: PacsError }> {
    const stored: string[] = [];
    const failed: PacsStoreResult['failed'] = [];
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const r = await client.stow(batch, { studyInstanceUid: studyUid });
      stored.push(...r.stored);
      failed.push(...r.failed);
      batch = [];
      size = 0;
    };
    try {
      for (const f of files) {
        if (size + f.byteLength > STOW_BATCH_BYTES) await flush();
        batch.push(f);
        size += f.byteLength;
      }
      await flush();
    } catch (err) {
      return { stored, failed, error: err instanceof PacsError ? err : new PacsError('BAD_RESPONSE', client.endpoint.url, String(err)) };
    }
    return { stored, failed };
  }

  const service: PacsService = {
    endpoints,
    endpoint(id) {
      const e = endpoints.get(id);
      if (!e) throw new ApiError('NOT_FOUND', `No PACS endpoint "${id}"`);
      return e;
    },

    async search(endpoint, q) {
      if (q.studyDate !== undefined && !isDicomDateQuery(q.studyDate)) throw new PacsError('REFUSED', endpoint.url, 'study date must be YYYYMMDD or a YYYYMMDD-YYYYMMDD range');
      if (q.modality !== undefined && !/^[A-Z0-9_]{1,16}$/.test(q.modality)) throw new PacsError('REFUSED', endpoint.url, 'modality must be a DICOM modality code such as MR');
      const client = new DicomWebClient(endpoint);
      const params = studyQueryParams(q);
      let found: PacsStudy[];
      try {
        found = (await client.qido('studies', params)).map(toStudy).filter((s): s is PacsStudy => s !== null);
      } finally {
        // DCM 110112 Query (IHE ATNA): who asked which PACS for what; the answer's size when there was one.
        queryAudit(endpoint, 'studies', { ...q }, found!);
      }
      const local = new Map(studies.listStudies().map((s) => [s.studyInstanceUid, s.instanceCount]));
      for (const s of found) {
        const localCount = local.get(s.studyInstanceUid) ?? 0;
        const rows = ledger.retrievalsOfStudy(s.studyInstanceUid).filter((r) => r.endpointId === endpoint.id);
        const reports = ledger.nonImageInstances(s.studyInstanceUid, endpoint.id);
        if (localCount === 0) s.local = 'none';
        else if (rows.some((r) => r.state !== 'complete')) s.local = 'partial';
        else s.local = s.instanceCount !== undefined && localCount + reports >= s.instanceCount ? 'complete' : 'partial';
      }
      const limit = params.limit as number;
      return { endpointId: endpoint.id, studies: found, offset: params.offset as number, limit, mayHaveMore: found.length >= limit };
    },

    async series(endpoint, studyInstanceUid) {
      const client = new DicomWebClient(endpoint);
      let list: PacsSeries[];
      try {
        list = (await client.qido(`studies/${studyInstanceUid}/series`, { includefield: '00201209,0008103E,00200011' }))
          .map((o) => toSeries(o, studyInstanceUid))
          .filter((s): s is PacsSeries => s !== null);
      } finally {
        queryAudit(endpoint, 'series', { studyInstanceUid }, list!);
      }
      for (const s of list) s.local = seriesLocalState(endpoint.id, s);
      return list.sort((a, b) => (a.seriesNumber ?? 1e9) - (b.seriesNumber ?? 1e9));
    },

    retrieve(endpoint, studyInstanceUid, seriesInstanceUid, opts = {}) {
      return runJob(endpoint, newJob(endpoint, studyInstanceUid, seriesInstanceUid), seriesInstanceUid, opts);
    },

    startRetrieve(endpoint, studyInstanceUid, seriesInstanceUid) {
      if (closed) throw new ApiError('CONFLICT', 'The PACS service is shutting down');
      for (const { job } of jobs.values()) {
        // The same request again while it runs joins the running job instead of fetching twice.
        if (job.state === 'running' && job.endpointId === endpoint.id && job.studyInstanceUid === studyInstanceUid && job.requestedSeriesInstanceUid === seriesInstanceUid) return { ...job };
      }
      const job = newJob(endpoint, studyInstanceUid, seriesInstanceUid);
      const controller = new AbortController();
      jobs.set(job.jobId, { job, controller });
      // Keep the latest jobs only (finished ones are in the audit log and the ledger).
      for (const [id, j] of jobs) if (jobs.size > MAX_JOBS && j.job.state !== 'running') jobs.delete(id);
      runJob(endpoint, job, seriesInstanceUid, { signal: controller.signal }).catch((err: unknown) => {
        // Only a shutdown mid-job (stores closed under it) gets here; the ledger marks the series incomplete on reopen.
        if (!closed) console.error('medfedpure: PACS retrieval failed unexpectedly', err);
      });
      return { ...job, refused: [] };
    },

    cancel(jobId) {
      const entry = jobs.get(jobId);
      if (!entry || entry.job.state !== 'running') return false;
      entry.controller.abort();
      return true;
    },

    async storeSeries(endpoint, seriesInstanceUid) {
      const series = studies.getSeries(seriesInstanceUid);
      const instances = studies.listInstances(seriesInstanceUid);
      const client = new DicomWebClient(endpoint);
      const r = await stowAll(client, instances.map((i) => studies.getInstanceBytes(i.sopInstanceUid)), series.studyInstanceUid);
      const result: PacsStoreResult = { endpointId: endpoint.id, stored: r.stored, failed: r.failed };
      if (r.stored.length > 0) ledger.recordSend(endpoint.id, series.studyInstanceUid, seriesInstanceUid, 'series', r.stored);
      exportAudit(endpoint, series.studyInstanceUid, 'series', result, { seriesInstanceUid, instances: instances.length, ...(r.error ? { error: r.error.message } : {}) });
      if (r.error) throw r.error;
      return result;
    },

    async storeFiles(endpoint, files) {
      const errors: Array<{ file: string; message: string }> = [];
      const studiesSent = new Set<string>();
      function* checked(): Generator<Uint8Array> {
        for (const f of files) {
          let bytes: Uint8Array;
          try {
            bytes = f.read();
            const h = readInstanceHeader(parseDicomFile(bytes, f.name), f.name);
            studiesSent.add(h.studyInstanceUid);
          } catch (err) {
            errors.push({ file: f.name, message: err instanceof Error ? err.message : String(err) });
            continue;
          }
          yield bytes;
        }
      }
      const client = new DicomWebClient(endpoint);
      const r = await stowAll(client, checked());
      const result = { endpointId: endpoint.id, stored: r.stored, failed: r.failed, errors };
      for (const st of studiesSent) exportAudit(endpoint, st, 'files', result, { files: files.length, refusedLocally: errors.length, ...(r.error ? { error: r.error.message } : {}) });
      if (r.error) throw r.error;
      return result;
    },

    async sendReport(endpoint, seriesInstanceUid) {
      const series = studies.getSeries(seriesInstanceUid);
      const results = deps.scanResults(seriesInstanceUid);
      if (results.length === 0) throw new ApiError('NOT_FOUND', `No AI results stored for series ${seriesInstanceUid}: analyse it first`);
      const images: ReportImage[] = [];
      let first: ReturnType<typeof readInstanceHeader> | undefined;
      for (const r of results) {
        const h = readInstanceHeader(parseDicomFile(studies.getInstanceBytes(r.sopInstanceUid), r.sopInstanceUid), r.sopInstanceUid);
        first ??= h;
        images.push({ sopClassUid: h.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: r.sopInstanceUid, result: r });
      }
      const h = first!;
      const report = buildAnalysisReport({
        patient: h.patient,
        study: { studyInstanceUid: series.studyInstanceUid, ...h.study },
        sourceSeriesInstanceUid: seriesInstanceUid,
        images,
        software: deps.software,
      });
      const client = new DicomWebClient(endpoint);
      const r = await stowAll(client, [report.bytes], series.studyInstanceUid);
      const result: PacsStoreResult = { endpointId: endpoint.id, stored: r.stored, failed: r.failed, report: { sopInstanceUid: report.sopInstanceUid, seriesInstanceUid: report.seriesInstanceUid } };
      if (r.stored.includes(report.sopInstanceUid)) {
        ledger.recordSend(endpoint.id, series.studyInstanceUid, seriesInstanceUid, 'report', [report.sopInstanceUid]);
        ledger.noteNonImageSeries(endpoint.id, series.studyInstanceUid, report.seriesInstanceUid, 1);
        const readBack = readAnalysisReport(report.bytes);
        if (readBack) ledger.putReport({ ...readBack, endpointId: endpoint.id, receivedUtc: new Date().toISOString() });
      }
      exportAudit(endpoint, series.studyInstanceUid, 'report', result, {
        sourceSeriesInstanceUid: seriesInstanceUid,
        reportSopInstanceUid: report.sopInstanceUid,
        imagesReported: images.length,
        ...(r.error ? { error: r.error.message } : {}),
      });
      if (r.error) throw r.error;
      if (!r.stored.includes(report.sopInstanceUid)) throw new PacsError('HTTP_STATUS', endpoint.url, `the PACS did not acknowledge the report (${r.failed[0]?.reason ?? 'no reason given'})`);
      return result;
    },

    close() {
      closed = true;
      for (const { job, controller } of jobs.values()) if (job.state === 'running') controller.abort();
      ledger.close();
    },

    handlers: {
      'pacs.endpoints': () => endpoints.list().map(endpointInfo),
      'pacs.saveEndpoint': (r) => {
        const saved = endpoints.put({
          id: r.id,
          name: r.name,
          url: r.url,
          auth: { kind: r.auth.kind, ...(r.auth.username !== undefined ? { username: r.auth.username } : {}), ...(r.auth.secret !== undefined ? { secret: r.auth.secret } : {}) },
          ...(r.caFile !== undefined ? { caFile: r.caFile } : {}),
          timeoutMs: r.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
        const info = endpointInfo(saved);
        audit.append(securityAlert(actor, EVENT_TYPE.softwareConfiguration, { message: 'PACS endpoint saved', endpoint: info }, { outcome: 'success' }));
        return info;
      },
      'pacs.removeEndpoint': (r) => {
        const removed = endpoints.remove(r.id);
        if (removed) audit.append(securityAlert(actor, EVENT_TYPE.softwareConfiguration, { message: 'PACS endpoint removed', endpointId: r.id }, { outcome: 'success' }));
        return { removed };
      },
      'pacs.search': (r) => {
        const { endpointId, ...q } = r;
        return service.search(service.endpoint(endpointId), q);
      },
      'pacs.series': (r) => service.series(service.endpoint(r.endpointId), r.studyInstanceUid),
      'pacs.retrieve': (r) => ({ jobId: service.startRetrieve(service.endpoint(r.endpointId), r.studyInstanceUid, r.seriesInstanceUid).jobId }),
      'pacs.cancel': (r) => ({ cancelled: service.cancel(r.jobId) }),
      'pacs.jobs': () => [...jobs.values()].map(({ job }) => ({ ...job, refused: [...job.refused] })).reverse(),
      'pacs.localStates': () => {
        const byKey = new Map<string, { studyInstanceUid: string; endpointId: string; local: LocalState; stored: boolean }>();
        for (const r of ledger.allRetrievals()) {
          const key = `${r.studyInstanceUid}|${r.endpointId}`;
          const prev = byKey.get(key);
          const local: LocalState = r.state === 'complete' && prev?.local !== 'partial' ? 'complete' : 'partial';
          byKey.set(key, { studyInstanceUid: r.studyInstanceUid, endpointId: r.endpointId, local, stored: false });
        }
        for (const s of ledger.sentStudies()) {
          const key = `${s.studyInstanceUid}|${s.endpointId}`;
          const prev = byKey.get(key);
          byKey.set(key, { ...(prev ?? { ...s, local: 'complete' as LocalState }), stored: true });
        }
        return [...byKey.values()];
      },
      'pacs.reports': (r): PacsReport[] => ledger.reportsOfSeries(r.seriesInstanceUid),
      'pacs.storeSeries': (r) => service.storeSeries(service.endpoint(r.endpointId), r.seriesInstanceUid),
      'pacs.sendReport': (r) => service.sendReport(service.endpoint(r.endpointId), r.seriesInstanceUid),
    },
  };
  return service;
}
