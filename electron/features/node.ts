/**
 * The composition root of the Node side: builds the shared stores (audit log, study store), the features'
 * services, and one router over every feature's handlers. Electron main and `medfedpure serve` both call
 * `createServices` and `createRouter`. Never imports electron.
 *
 * Adding a feature: its api.ts goes into FEATURE_APIS (api.ts), its service is built here and its handlers are
 * spread into `handlers`. Adding a method to an existing feature touches only that feature's folder.
 *
 * Audited here: application start/stop (when `auditLifecycle`), and a security alert when the audit log's
 * append-only triggers were found missing. Each feature audits its own operations.
 */
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { composeRouter, type Handlers, type Router, type RouterOptions } from '../node/router/router.js';
import { EventBus } from '../node/services/event-bus.js';
import { appVersion } from '../node/services/paths.js';
import { API_SCHEMAS, type ApiEvents, type ApiMethods, type AppInfo } from './api.js';
import { appHandlers } from './app/service.js';
import { AuditStore } from './audit/audit-store.js';
import { EVENT_TYPE } from './audit/codes.js';
import { applicationActivity, securityAlert, type AuditActor } from './audit/events.js';
import { auditHandlers } from './audit/service.js';
import { createFlService, type FlAgentLauncher, type FlService } from './fl/service.js';
import { pacsErrorToApiError } from './pacs/errors.js';
import { createPacsService, type PacsService } from './pacs/service.js';
import { createScanService, type ScanEngineProvider, type ScanService } from './scan/service.js';
import { dicomErrorToApiError } from './studies/dicom/errors.js';
import { createStudiesService, type StudiesService } from './studies/service.js';
import { StudyStore } from './studies/store/study-store.js';

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
  /** How the FL agent's process is started (browser host: worker_thread; Electron: utilityProcess). None: it never runs here. */
  flAgent?: FlAgentLauncher;
  /** FL agent options for tests (a tiny network, fast polling). */
  flOptions?: Pick<Parameters<typeof createFlService>[0], 'training' | 'agent'>;
}

export type AppEventBus = EventBus<ApiEvents>;

export interface Services {
  readonly info: AppInfo;
  readonly events: AppEventBus;
  readonly actor: AuditActor;
  /** The shared stores. */
  readonly studies: StudyStore;
  readonly audit: AuditStore;
  /** Feature services. */
  readonly imports: StudiesService;
  readonly scan: ScanService;
  readonly pacs: PacsService;
  readonly fl: FlService;
  /** Every feature's handlers, one per API method. */
  readonly handlers: Handlers<ApiMethods>;
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
  const events: AppEventBus = new EventBus();
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

  const imports = createStudiesService({ studies, audit, actor, events });
  const scan = createScanService({ dataDir, studies, audit, actor, events, engine: opts.engine });
  const pacs = createPacsService({
    dataDir, studies, audit, actor, events, scanResults: (s) => scan.results(s), software: { name: info.name, version: info.version, workstation },
  });
  const fl = createFlService({ dataDir, audit, actor, events, launcher: opts.flAgent, ...opts.flOptions });
  const handlers: Handlers<ApiMethods> = {
    ...appHandlers(info),
    ...imports.handlers,
    ...auditHandlers(audit),
    ...scan.handlers,
    ...pacs.handlers,
    ...fl.handlers,
  };

  let closed = false;
  return {
    info,
    events,
    actor,
    studies,
    audit,
    imports,
    scan,
    pacs,
    fl,
    handlers,
    close(reason = 'normal shutdown') {
      if (closed) return;
      closed = true;
      try {
        if (lifecycle) audit.append(applicationActivity(actor, 'stop', { reason, pid: process.pid }));
      } finally {
        imports.close();
        scan.close();
        pacs.close();
        void fl.close(); // hosts await services.fl.close() first, so its last audit events land before the store closes
        studies.close();
        audit.close();
      }
    },
  };
}

export type AppRouter = Router<ApiMethods, ApiEvents>;

/** The one router over every feature's methods. */
export function createRouter(services: Services, opts: Omit<RouterOptions, 'errorMappers'> = {}): AppRouter {
  return composeRouter<ApiMethods, ApiEvents>(API_SCHEMAS, services.handlers, services.events, { ...opts, errorMappers: [dicomErrorToApiError, pacsErrorToApiError] });
}

function safeUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}
