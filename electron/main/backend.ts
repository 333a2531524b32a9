/**
 * The services + router the Electron main process serves over IPC (the same ones `medfedpure serve` serves
 * over HTTP), and the main process's audit hooks. Does not import `electron`, so it is tested under Node.
 *
 * Application Start/Stop are audited by the services themselves (createServices / close). Security refusals
 * from the IPC transport and the navigation guards are audited here as DCM 110113 Security Alert, at most
 * `maxAlertsPerMinute` per minute (a hostile page must not be able to flood the audit log); the rest are counted
 * and the count is audited with the next alert that is let through.
 */
import { EVENT_TYPE } from '../features/audit/codes.js';
import { securityAlert } from '../features/audit/events.js';
import { importDemoDataOnFirstRun } from '../features/app/demo.js';
import { defaultDataDir } from '../node/services/paths.js';
import { createRouter, createServices, type Services } from '../features/node.js';
import type { ScanEngineProvider } from '../features/scan/service.js';
import type { FlAgentLauncher } from '../features/fl/service.js';
import type { ApiEvent, ApiEvents, AppInfo } from '../features/api.js';
import type { Dispatch, IpcSecurityEvent } from './ipc.js';
import type { SecurityNotice } from './security/install.js';

export interface Backend {
  readonly info: AppInfo;
  dispatch: Dispatch;
  /** Every API event, for forwarding to the windows. Returns an unsubscribe function. */
  onEvent(listener: <E extends ApiEvent>(event: E, payload: ApiEvents[E]) => void): () => void;
  auditSecurityAlert(event: IpcSecurityEvent | SecurityNotice): void;
  /** Audits Application Stop and closes the databases. Idempotent. */
  close(reason?: string): void;
  /** Stops the FL agent (waits for its last audit events); call before close. */
  stopFlAgent(): Promise<void>;
}

export interface BackendOptions {
  /** Defaults to the same folder `medfedpure serve` uses ($MEDFEDPURE_DATA_DIR or the per-user data folder). */
  dataDir?: string;
  user?: { id: string; role: string };
  /** Import the demo series into an empty data folder (as `medfedpure serve` does). Default true. */
  demoData?: boolean;
  maxAlertsPerMinute?: number;
  now?: () => number;
  /** The inference engine behind scan.* (in Electron: the utilityProcess started by EngineHost). */
  engine?: ScanEngineProvider;
  /** The FL agent's process (in Electron: a utilityProcess, electron/main/fl-agent-host.ts). */
  flAgent?: FlAgentLauncher;
}

export async function openBackend(opts: BackendOptions = {}): Promise<Backend> {
  const services: Services = createServices({ dataDir: opts.dataDir ?? defaultDataDir(), host: 'electron', user: opts.user, engine: opts.engine, flAgent: opts.flAgent });
  try {
    if (opts.demoData ?? true) await importDemoDataOnFirstRun(services);
  } catch (err) {
    services.close('startup failed');
    throw err;
  }
  const router = createRouter(services);
  void services.fl.start();
  const maxPerMinute = opts.maxAlertsPerMinute ?? 30;
  const now = opts.now ?? Date.now;
  let windowStart = now();
  let inWindow = 0;
  let suppressed = 0;

  return {
    info: services.info,
    dispatch: (method, request) => router.dispatch(method, request),
    onEvent: (listener) => services.events.onAny(listener),
    auditSecurityAlert(event) {
      const t = now();
      if (t - windowStart >= 60_000) {
        windowStart = t;
        inWindow = 0;
      }
      if (inWindow >= maxPerMinute) {
        suppressed++;
        return;
      }
      inWindow++;
      const fromIpc = event.kind === 'ipc-sender-rejected' || event.kind === 'ipc-bad-payload';
      // CID 403: an unknown/foreign sender is a node-authentication failure; the rest is an attempted use of a
      // function the app does not offer (leaving the app, attaching a webview, calling an unknown method).
      const type = event.kind === 'ipc-sender-rejected' ? EVENT_TYPE.nodeAuthentication : EVENT_TYPE.useOfRestrictedFunction;
      const details: Record<string, unknown> = { source: fromIpc ? 'electron-ipc' : 'electron-webcontents', ...event };
      if (suppressed > 0) {
        details.suppressedSinceLastAlert = suppressed;
        suppressed = 0;
      }
      try {
        services.audit.append(securityAlert(services.actor, type, details, { outcome: 'serious-failure' }));
      } catch (err) {
        console.error('medfedpure: could not audit a security alert', err);
      }
    },
    close: (reason) => services.close(reason),
    stopFlAgent: () => services.fl.close(),
  };
}
