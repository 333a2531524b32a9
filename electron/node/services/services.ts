/**
 * The workstation's services, wired together: study store, audit log, event bus, and the audited operations the
 * router exposes. Electron main and `medfedpure serve` both build one with `createServices` and hand it to
 * `createRouter`. Never imports electron.
 *
 * Audited here: application start/stop (when `auditLifecycle`), every import, every series open (study access),
 * and a security alert when the audit log's append-only triggers were found missing.
 */
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { AppInfo, AuditQuery, AuditVerifyResult, Frame, ImportResult, InstanceSummary, SeriesSummary, StudySummary } from '../../common/contract.js';
import { AuditStore } from '../audit/audit-store.js';
import { EVENT_TYPE } from '../audit/codes.js';
import { applicationActivity, importEvent, instancesAccessed, securityAlert, type AuditActor } from '../audit/events.js';
import { collectPaths, importSources, type ImportSource } from '../store/importer.js';
import { StudyStore } from '../store/study-store.js';
import { EventBus } from './event-bus.js';
import { appVersion } from './paths.js';
import { createScanService, type ScanEngineProvider, type ScanService } from './scan.js';

export interface ServicesOptions {
  dataDir: string;
  /** Who hosts the UI; reported by app.info. CLI commands that never serve a UI pass 'browser'. */
  host: AppInfo['host'];
  /** The signed-in user; defaults to the OS account with role 'radiologist'. */
  user?: { id: string; role: string };
  workstation?: string;
  /** Audit Application Start now and Application Stop on close (the app and the host: yes; one-shot CLI commands: no). */
  auditLifecycle?: boolean;
  /** Decoded-frame cache bound in bytes. */
  frameCacheBytes?: number;
  /** The inference engine for scan.* (none: scan.status says so and scan.run fails with a clear error). */
  engine?: ScanEngineProvider;
}

export interface Services {
  readonly info: AppInfo;
  readonly events: EventBus;
  readonly studies: StudyStore;
  readonly audit: AuditStore;
  readonly actor: AuditActor;
  /** AI scans: detect → adaptive purify → classify (see scan.ts). */
  readonly scan: ScanService;

  listStudies(query?: string): StudySummary[];
  listSeries(studyInstanceUid: string): SeriesSummary[];
  /** Audited as DICOM Instances Accessed; warms the frame cache for the series in the background. */
  openSeries(seriesInstanceUid: string): { series: SeriesSummary; instances: InstanceSummary[] };
  getFrame(sopInstanceUid: string): Frame;
  /** Imports bytes (UI upload); audited. */
  importFiles(files: ReadonlyArray<{ name: string; bytes: Uint8Array }>): Promise<ImportResult>;
  /** Imports files/folders/DICOMDIR from disk; audited. */
  importPaths(paths: readonly string[]): Promise<ImportResult>;
  listAudit(query: AuditQuery): ReturnType<AuditStore['list']>;
  verifyAudit(): AuditVerifyResult;
  /** Audits Application Stop (when lifecycle auditing is on) and closes the databases. Idempotent. */
  close(reason?: string): void;
}

export function createServices(opts: ServicesOptions): Services {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const user = opts.user ?? { id: safeUserName(), role: 'radiologist' };
  const workstation = opts.workstation ?? hostname();
  const actor: AuditActor = { userId: user.id, userRole: user.role, workstation };
  const info: AppInfo = { name: 'MedFedPure Workstation', version: appVersion(), host: opts.host, dataDir, user, workstation };
  const events = new EventBus();
  const audit = AuditStore.open(join(dataDir, 'audit.sqlite'), {
    onAppend: (e) => events.emit('audit.appended', { seq: e.seq, eventCode: e.eventId.code }),
  });
  let studies: StudyStore;
  try {
    studies = StudyStore.open(dataDir, { frameCacheBytes: opts.frameCacheBytes });
  } catch (err) {
    audit.close();
    throw err;
  }

  if (audit.missingTriggersAtOpen.length > 0) {
    audit.append(
      securityAlert(actor, EVENT_TYPE.securityConfiguration, {
        message: 'audit log append-only triggers were missing and have been re-created',
        triggers: audit.missingTriggersAtOpen,
      }, { outcome: 'serious-failure' }),
    );
  }
  const lifecycle = opts.auditLifecycle ?? true;
  if (lifecycle) audit.append(applicationActivity(actor, 'start', { host: opts.host, version: info.version, pid: process.pid }));

  const scan = createScanService({ dataDir, studies, audit, actor, events, engine: opts.engine });

  let prefetchGeneration = 0;
  /** Decodes the series' frames into the cache a few at a time, between requests; a newer open cancels it. */
  function prefetch(instances: InstanceSummary[]): void {
    const generation = ++prefetchGeneration;
    // Start from the middle (where the viewer opens) and work outwards.
    const mid = Math.floor(instances.length / 2);
    const order = instances.map((_, i) => i).sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid));
    let next = 0;
    const step = (): void => {
      if (generation !== prefetchGeneration || closed) return;
      const until = Date.now() + 8;
      while (next < order.length && Date.now() < until) {
        try {
          studies.getFrame(instances[order[next]].sopInstanceUid);
        } catch {
          /* reported when the UI asks for that frame */
        }
        next++;
      }
      if (next < order.length) setImmediate(step);
    };
    setImmediate(step);
  }

  async function audited(sources: readonly ImportSource[], source: Record<string, unknown>, initial: { errors?: ImportResult['errors']; skipped?: number } = {}): Promise<ImportResult> {
    const result = await importSources(studies, sources, {
      initialErrors: initial.errors,
      initialSkipped: initial.skipped,
      onProgress: (p) => events.emit('import.progress', p),
    });
    const patients = result.studies.map((uid) => studies.patientOfStudy(uid)?.patientId).filter((p): p is string => p !== undefined);
    audit.append(importEvent(actor, result, patients, source));
    if (result.imported > 0) events.emit('studies.changed', { studyInstanceUids: result.studies });
    return result;
  }

  let closed = false;
  return {
    info,
    events,
    studies,
    audit,
    actor,
    scan,
    listStudies: (query) => studies.listStudies(query),
    listSeries: (uid) => studies.listSeries(uid),
    openSeries(seriesInstanceUid) {
      const series = studies.getSeries(seriesInstanceUid);
      const instances = studies.listInstances(seriesInstanceUid);
      const patient = studies.patientOfStudy(series.studyInstanceUid);
      audit.append(
        instancesAccessed(actor, { studyInstanceUid: series.studyInstanceUid, patientId: patient?.patientId }, {
          seriesInstanceUid,
          instances: instances.length,
          purpose: 'view',
        }),
      );
      prefetch(instances);
      return { series, instances };
    },
    getFrame: (uid) => studies.getFrame(uid),
    importFiles(files) {
      const sources = files.map((f) => ({ name: f.name, read: () => f.bytes }));
      return audited(sources, { source: 'upload', files: files.length });
    },
    importPaths(paths) {
      const collected = collectPaths(paths);
      return audited(collected.sources, { source: 'filesystem', paths: paths.map((p) => resolve(p)) }, { errors: collected.errors, skipped: collected.skipped.length });
    },
    listAudit: (query) => audit.list(query),
    verifyAudit: () => audit.verify(),
    close(reason = 'normal shutdown') {
      if (closed) return;
      closed = true;
      try {
        if (lifecycle) audit.append(applicationActivity(actor, 'stop', { reason, pid: process.pid }));
      } finally {
        scan.close();
        studies.close();
        audit.close();
      }
    },
  };
}

function safeUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}
