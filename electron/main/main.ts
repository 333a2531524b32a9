/**
 * Electron main-process entry (dist/electron/main/main.js, package.json "main").
 *
 * Order matters: privileged scheme and sandbox before `ready`; the single-instance lock; then security
 * policies on the session and every webContents; the app:// protocol; the backend (services + router);
 * the validated IPC transport; and only then the window. All decisions live in small tested modules next
 * to this file — this one only wires them to Electron.
 */
import { app, BrowserWindow, ipcMain, Menu, MessageChannelMain, protocol, session, shell, utilityProcess } from 'electron';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiEvent, ApiEvents } from '../features/api.js';
import { IPC_CHANNELS, type IpcEventMessage } from '../common/preload-api.js';
import { APP_ENTRY_URL, APP_SCHEME } from './app-origin.js';
import { openBackend, type Backend } from './backend.js';
import { engineFromRpc, type ScanEngine } from '../features/scan/service.js';
import { ENGINE_ENTRY_FROM_DIST, EngineHost, EngineUnavailableError } from './engine/engine-host.js';
import { FL_AGENT_ENTRY_FROM_DIST, utilityFlLauncher } from './fl-agent-host.js';
import { createInvokeHandler, ValidatedIpcMain } from './ipc.js';
import { menuTemplate } from './menu.js';
import { APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './protocol.js';
import { installSessionSecurity, installWebContentsSecurity, type SecurityHooks } from './security/install.js';
import { createMainWindow } from './window.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // <app>/dist/electron/main
const distRoot = path.resolve(here, '..', '..');
const paths = {
  renderer: path.join(distRoot, 'renderer'),
  preload: path.join(distRoot, 'electron', 'preload', 'preload.cjs'),
  engineEntry: path.join(distRoot, ENGINE_ENTRY_FROM_DIST),
  flAgentEntry: path.join(distRoot, FL_AGENT_ENTRY_FROM_DIST),
  icon: path.resolve(distRoot, '..', 'build', 'icon.png'),
};

protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  main().catch((err: unknown) => {
    console.error('medfedpure: failed to start', err);
    app.exit(1);
  });
}

async function main(): Promise<void> {
  const isDev = !app.isPackaged;
  let backend: Backend | null = null;

  const hooks: SecurityHooks = {
    openExternal: (url) => shell.openExternal(url),
    onNotice: (notice) => {
      console.warn(`medfedpure: security: ${notice.kind} ${notice.url ?? ''} ${notice.detail ?? ''}`.trim());
      // Blocked navigations and webviews mean content tried to leave the app: worth an audit entry.
      if (notice.kind === 'navigation-blocked' || notice.kind === 'webview-blocked') backend?.auditSecurityAlert(notice);
    },
  };
  // Registered before any webContents exists, so it covers all of them (devtools, popups that are then denied…).
  app.on('web-contents-created', (_event, contents) => installWebContentsSecurity(contents, hooks));

  await app.whenReady();

  installSessionSecurity(session.defaultSession, hooks);
  protocol.handle(APP_SCHEME, createAppProtocolHandler(paths.renderer));
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ platform: process.platform, appName: app.getName(), isDev })));

  // The inference engine runs in a utilityProcess (native-models/src/inference/engine/entry.ts); scan.* reaches it through the services.
  const engine = new EngineHost(
    {
      fork: (modulePath) => utilityProcess.fork(modulePath, [], { serviceName: 'medfedpure-engine', stdio: 'inherit' }),
      newChannel: () => new MessageChannelMain(),
    },
    paths.engineEntry,
  );
  let engineStarting: Promise<ScanEngine> | null = null;
  const engineProvider = (): Promise<ScanEngine> => {
    engineStarting ??= engine.start().then(
      (client) => engineFromRpc(client),
      (err: unknown) => {
        engineStarting = null; // a later scan may retry (e.g. after the engine crashed)
        throw err;
      },
    );
    return engineStarting;
  };
  if (!engine.entryExists()) {
    console.info(`medfedpure: no inference engine (${new EngineUnavailableError('ENGINE_ENTRY_MISSING', paths.engineEntry).message})`);
  }

  // Same data folder as `medfedpure serve`; Application Start is audited as the services open.
  // The FL agent runs in its own utilityProcess while the site's FL settings name a SuperLink (fl.* methods).
  const flAgent = utilityFlLauncher(
    {
      fork: (modulePath) => utilityProcess.fork(modulePath, [], { serviceName: 'medfedpure-fl-agent', stdio: 'inherit' }),
      newChannel: () => new MessageChannelMain(),
    },
    paths.flAgentEntry,
  );
  backend = await openBackend({ engine: engineProvider, flAgent });
  const openedBackend = backend;

  const trusted = new Set<number>();
  const ipc = new ValidatedIpcMain(ipcMain);
  ipc.handle(
    IPC_CHANNELS.invoke,
    createInvokeHandler({
      trustedWebContentsIds: trusted,
      dispatch: (method, request) => openedBackend.dispatch(method, request),
      onSecurityEvent: (e) => {
        console.warn(`medfedpure: security: ${e.kind} (${e.reason}) from webContents ${e.webContentsId} ${e.url ?? ''}`);
        openedBackend.auditSecurityAlert(e);
      },
    }),
  );

  const windows = new Set<BrowserWindow>();
  const stopEvents = openedBackend.onEvent(<E extends ApiEvent>(event: E, payload: ApiEvents[E]) => {
    const message: IpcEventMessage = { event, payload };
    for (const w of windows) if (!w.isDestroyed()) w.webContents.send(IPC_CHANNELS.event, message);
  });

  const openWindow = async (): Promise<BrowserWindow> => {
    const win = createMainWindow(BrowserWindow, { preloadPath: paths.preload, devTools: isDev, iconPath: existsSync(paths.icon) ? paths.icon : undefined });
    const id = win.webContents.id;
    trusted.add(id);
    windows.add(win);
    win.on('closed', () => {
      trusted.delete(id);
      windows.delete(win);
    });
    await win.loadURL(APP_ENTRY_URL);
    return win;
  };
  await openWindow();

  app.on('second-instance', () => {
    const [win] = windows;
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('activate', () => {
    if (windows.size === 0) void openWindow();
  });
  app.on('window-all-closed', () => app.quit());

  // Orderly stop: audit "Application Stop" and close the stores before the process exits.
  let stopping = false;
  app.on('before-quit', (event) => {
    if (stopping) return;
    stopping = true;
    event.preventDefault();
    void (async () => {
      try {
        engine.stop();
        await openedBackend.stopFlAgent().catch(() => undefined); // its last audit events land before the store closes
        stopEvents();
        ipc.dispose();
        openedBackend.close('application quit'); // audits Application Stop
      } catch (err) {
        console.error('medfedpure: error while stopping', err);
      } finally {
        app.quit();
      }
    })();
  });
}
