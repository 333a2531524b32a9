/**
 * The main window: its hardened webPreferences and its creation. The preferences are a pure function so
 * tests can assert every security-relevant flag without Electron.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { APP_ENTRY_URL } from './app-origin.js';

export function secureWebPreferences(opts: { preloadPath: string; devTools: boolean }): WebPreferences {
  return {
    preload: opts.preloadPath,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    plugins: false,
    experimentalFeatures: false,
    enableWebSQL: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: opts.devTools,
  };
}

export function mainWindowOptions(opts: { preloadPath: string; devTools: boolean; iconPath?: string }): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    backgroundColor: '#111418',
    title: 'MedFedPure Workstation',
    ...(opts.iconPath ? { icon: opts.iconPath } : {}),
    webPreferences: secureWebPreferences(opts),
  };
}

/**
 * Creates the window (not yet loaded) and shows it once it has painted. The caller registers
 * `win.webContents.id` as trusted for IPC and only then loads APP_ENTRY_URL, so the page's first calls
 * are already accepted.
 */
export function createMainWindow(
  BrowserWindowCtor: new (options: BrowserWindowConstructorOptions) => BrowserWindow,
  opts: { preloadPath: string; devTools: boolean; iconPath?: string },
): BrowserWindow {
  const win = new BrowserWindowCtor(mainWindowOptions(opts));
  win.once('ready-to-show', () => win.show());
  return win;
}

export { APP_ENTRY_URL };
