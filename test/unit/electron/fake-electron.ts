/**
 * A recording stand-in for the `electron` module, so main-smoke.test.ts can run electron/main/main.ts under
 * plain Node (the Electron binary is not installed here). It implements only what main.ts touches and records
 * every call; it is a test double, not an Electron emulation: no window is rendered and no page runs.
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => unknown;

export const record = {
  privileged: [] as unknown[],
  sandboxEnabled: false,
  protocolHandlers: new Map<string, (req: Request) => Promise<Response>>(),
  ipcHandlers: new Map<string, Listener>(),
  windows: [] as FakeBrowserWindow[],
  menuTemplate: null as unknown,
  permissionRequestHandler: null as Listener | null,
  quitCalls: 0,
  exitCode: null as number | null,
  forks: [] as string[],
};

class FakeApp extends EventEmitter {
  isPackaged = false;
  enableSandbox(): void {
    record.sandboxEnabled = true;
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  getName(): string {
    return 'MedFedPure Workstation';
  }
  getPath(): string {
    throw new Error('main.ts should use the shared data folder, not app.getPath');
  }
  quit(): void {
    record.quitCalls++;
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('before-quit', event);
  }
  exit(code: number): void {
    record.exitCode = code;
  }
}
export const app = new FakeApp();

let nextId = 1;
class FakeWebContents extends EventEmitter {
  readonly id = nextId++;
  readonly sent: Array<{ channel: string; message: unknown }> = [];
  mainFrame = { url: '', parent: null, processId: 11, routingId: this.id };
  windowOpenHandler: Listener | null = null;
  setWindowOpenHandler(h: Listener): void {
    this.windowOpenHandler = h;
  }
  send(channel: string, message: unknown): void {
    this.sent.push({ channel, message });
  }
  getURL(): string {
    return this.mainFrame.url;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  loadedUrl: string | null = null;
  constructor(readonly options: Record<string, unknown>) {
    super();
    record.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
  }
  isDestroyed(): boolean {
    return false;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
  show(): void {}
}
export { FakeBrowserWindow as BrowserWindow };

export const ipcMain = {
  handle(channel: string, listener: Listener): void {
    record.ipcHandlers.set(channel, listener);
  },
  removeHandler(channel: string): void {
    record.ipcHandlers.delete(channel);
  },
};

export const protocol = {
  registerSchemesAsPrivileged(schemes: unknown[]): void {
    record.privileged.push(...schemes);
  },
  handle(scheme: string, handler: (req: Request) => Promise<Response>): void {
    record.protocolHandlers.set(scheme, handler);
  },
};

export const Menu = {
  buildFromTemplate: (t: unknown) => t,
  setApplicationMenu(t: unknown): void {
    record.menuTemplate = t;
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler(h: Listener): void {
      record.permissionRequestHandler = h;
    },
    setPermissionCheckHandler(): void {},
    setDevicePermissionHandler(): void {},
    setSpellCheckerEnabled(): void {},
    webRequest: { onBeforeRequest(): void {}, onHeadersReceived(): void {} },
  },
};

export const shell = { openExternal: async (): Promise<void> => {} };

export class MessageChannelMain {
  port1 = {};
  port2 = {};
}

export const utilityProcess = {
  fork(modulePath: string): never {
    record.forks.push(modulePath);
    throw new Error('no utilityProcess in tests');
  },
};
