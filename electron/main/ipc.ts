/**
 * The Electron IPC transport of the API router, main-process side.
 *
 * One invoke channel (`medfedpure:invoke`, payload `{ method, request }`) and one event channel
 * (`medfedpure:event`, main → renderer). Every invoke is checked, in order:
 *   1. the sender is the main frame of one of our windows, showing `app://medfedpure/` (security/sender.ts);
 *   2. the payload is `{ method, request }` with a method from the contract's runtime list and an object request;
 * then dispatched to the router. Replies are always an envelope (`IpcInvokeResult`), never a thrown error,
 * so typed error codes survive IPC. Refused senders are reported to `onSecurityEvent` (the audit log).
 *
 * `ValidatedIpcMain` refuses to register any channel other than the two above, so no other channel is served.
 * Electron-free: takes an `ipcMain`-shaped object, so it is tested with fakes.
 */
import type { ApiErrorBody, ApiMethod } from '../features/api.js';
import { isApiErrorCode } from '../common/api-error.js';
import { isApiMethod } from '../features/api.js';
import { IPC_CHANNELS, type IpcChannel, type IpcInvokeResult } from '../common/preload-api.js';
import { validateSender, type IpcEventLike, type SenderRejection } from './security/sender.js';

export type Dispatch = (method: ApiMethod, request: unknown) => Promise<unknown>;

export interface IpcSecurityEvent {
  kind: 'ipc-sender-rejected' | 'ipc-bad-payload';
  reason: SenderRejection | 'not-an-object' | 'unknown-method' | 'bad-request';
  channel: IpcChannel;
  webContentsId: number;
  url?: string;
  method?: string;
}

export interface InvokeHandlerOptions {
  trustedWebContentsIds: ReadonlySet<number>;
  dispatch: Dispatch;
  onSecurityEvent?: (event: IpcSecurityEvent) => void;
  /** Where unexpected (non-API) errors are logged; their text never reaches the renderer. */
  logError?: (err: unknown, method: ApiMethod) => void;
}

/** Maps anything thrown by the router to the wire error: typed API errors pass through, the rest is INTERNAL. */
export function toApiErrorBody(err: unknown): ApiErrorBody {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown };
    if (isApiErrorCode(e.code) && typeof e.message === 'string') {
      return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
    }
  }
  return { code: 'INTERNAL', message: 'Internal error (see the application log)' };
}

function fail(code: ApiErrorBody['code'], message: string): IpcInvokeResult {
  return { ok: false, error: { code, message } };
}

export function createInvokeHandler(opts: InvokeHandlerOptions): (event: IpcEventLike, payload: unknown) => Promise<IpcInvokeResult> {
  const report = (e: IpcSecurityEvent): void => {
    try {
      opts.onSecurityEvent?.(e);
    } catch (err) {
      console.error('medfedpure: security event sink failed', err);
    }
  };

  return async (event, payload) => {
    const sender = validateSender(event, opts.trustedWebContentsIds);
    if (!sender.ok) {
      report({ kind: 'ipc-sender-rejected', reason: sender.reason, channel: IPC_CHANNELS.invoke, webContentsId: event.sender.id, url: sender.url });
      return fail('FORBIDDEN', 'IPC sender is not the application window');
    }
    if (typeof payload !== 'object' || payload === null) {
      report({ kind: 'ipc-bad-payload', reason: 'not-an-object', channel: IPC_CHANNELS.invoke, webContentsId: event.sender.id });
      return fail('BAD_REQUEST', 'IPC payload must be { method, request }');
    }
    const { method, request } = payload as { method?: unknown; request?: unknown };
    if (!isApiMethod(method)) {
      report({ kind: 'ipc-bad-payload', reason: 'unknown-method', channel: IPC_CHANNELS.invoke, webContentsId: event.sender.id, method: String(method).slice(0, 200) });
      return fail('UNKNOWN_METHOD', `Unknown API method: ${String(method).slice(0, 200)}`);
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return fail('BAD_REQUEST', `Request for ${method} must be an object`);
    }
    try {
      return { ok: true, result: await opts.dispatch(method, request) };
    } catch (err) {
      const body = toApiErrorBody(err);
      if (body.code === 'INTERNAL') (opts.logError ?? ((e, m) => console.error(`medfedpure: ${m} failed`, e)))(err, method);
      return { ok: false, error: body };
    }
  };
}

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export class UnknownChannelError extends Error {
  readonly code = 'UNKNOWN_CHANNEL';
  constructor(channel: string) {
    super(`IPC channel "${channel}" is not one of the app's channels`);
    this.name = 'UnknownChannelError';
  }
}

const KNOWN_CHANNELS: ReadonlySet<string> = new Set(Object.values(IPC_CHANNELS));

/** A registration gate in front of ipcMain: only the app's own channels can be served. */
export class ValidatedIpcMain {
  private readonly registered = new Set<string>();
  constructor(private readonly ipcMain: IpcMainLike) {}

  handle(channel: IpcChannel, listener: (event: IpcEventLike, payload: unknown) => Promise<unknown>): void {
    if (!KNOWN_CHANNELS.has(channel)) throw new UnknownChannelError(channel);
    this.ipcMain.handle(channel, (event, payload) => listener(event, payload));
    this.registered.add(channel);
  }

  dispose(): void {
    for (const channel of this.registered) this.ipcMain.removeHandler(channel);
    this.registered.clear();
  }
}
