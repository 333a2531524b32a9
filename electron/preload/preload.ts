/**
 * Preload for the app's window: exposes exactly `window.medfedpure = { invoke, on }` (an `ApiClient`, see
 * electron/features/api.ts) through contextBridge, and nothing else — no ipcRenderer, no IPC event objects.
 *
 * Runs in a sandboxed renderer, where a preload can `require('electron')` and no other file. So the build bundles
 * this file with what it imports (the composed contract's method and event names, the channel names) into one
 * self-contained CommonJS file (scripts/bundle-preload.mjs, run by `npm run build:electron`); the names are never
 * copied by hand. The main process re-checks everything: this file is a courtesy filter and the place where the
 * IPC envelope is unwrapped, not the security boundary.
 */
import { API_EVENTS, API_METHODS, type ApiClient, type ApiErrorBody, type ApiMethod } from '../features/api.js';
import { BRIDGE_GLOBAL, IPC_CHANNELS, type BridgeApiError, type IpcEventMessage, type IpcInvokePayload, type IpcInvokeResult } from '../common/preload-api.js';

const INVOKE_CHANNEL = IPC_CHANNELS.invoke;
const EVENT_CHANNEL = IPC_CHANNELS.event;
const BRIDGE_KEY = BRIDGE_GLOBAL;

export const PRELOAD_METHODS = API_METHODS;
export const PRELOAD_EVENTS = API_EVENTS;

/** The little of ipcRenderer this file needs; keeps `createBridge` testable without Electron. */
export interface BridgeIpc {
  invoke(channel: typeof INVOKE_CHANNEL, payload: IpcInvokePayload): Promise<unknown>;
  /** Subscribe to the event channel; the listener receives the message only (never the IPC event). */
  onEventMessage(listener: (message: unknown) => void): void;
}

function bridgeError(code: ApiErrorBody['code'], message: string, details?: unknown): BridgeApiError {
  return details === undefined ? { name: 'ApiError', code, message } : { name: 'ApiError', code, message, details };
}

function isInvokeResult(value: unknown): value is IpcInvokeResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; error?: unknown };
  if (v.ok === true) return 'result' in v;
  return v.ok === false && typeof v.error === 'object' && v.error !== null;
}

/** Builds the object exposed as `window.medfedpure`. */
export function createBridge(ipc: BridgeIpc): ApiClient {
  const methods: ReadonlySet<string> = new Set(PRELOAD_METHODS);
  const events: ReadonlySet<string> = new Set(PRELOAD_EVENTS);
  const listeners = new Map<string, Set<(payload: never) => void>>();

  ipc.onEventMessage((message) => {
    if (typeof message !== 'object' || message === null) return;
    const { event, payload } = message as Partial<IpcEventMessage>;
    if (typeof event !== 'string' || !events.has(event)) return;
    for (const listener of [...(listeners.get(event) ?? [])]) {
      try {
        (listener as (p: unknown) => void)(payload);
      } catch (err) {
        console.error(`medfedpure: listener for "${event}" threw`, err);
      }
    }
  });

  const client = {
    async invoke(method: unknown, request: unknown): Promise<unknown> {
      if (typeof method !== 'string' || !methods.has(method)) {
        throw bridgeError('UNKNOWN_METHOD', `Unknown API method: ${String(method)}`);
      }
      const req = request === undefined ? {} : request;
      if (typeof req !== 'object' || req === null || Array.isArray(req)) {
        throw bridgeError('BAD_REQUEST', `Request for ${method} must be an object`);
      }
      let reply: unknown;
      try {
        reply = await ipc.invoke(INVOKE_CHANNEL, { method: method as ApiMethod, request: req });
      } catch (err) {
        throw bridgeError('INTERNAL', `IPC call ${method} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!isInvokeResult(reply)) throw bridgeError('INTERNAL', `Malformed reply to ${method}`);
      if (reply.ok) return reply.result;
      throw bridgeError(reply.error.code, reply.error.message, reply.error.details);
    },

    on(event: unknown, listener: unknown): () => void {
      if (typeof event !== 'string' || !events.has(event)) {
        throw bridgeError('BAD_REQUEST', `Unknown API event: ${String(event)}`);
      }
      if (typeof listener !== 'function') throw bridgeError('BAD_REQUEST', 'Event listener must be a function');
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const fn = listener as (payload: never) => void;
      set.add(fn);
      return () => {
        set.delete(fn);
      };
    },
  };
  return client as ApiClient;
}

// In Electron's sandboxed renderer only (tests import this file under plain Node, where nothing is exposed).
// `require` exists there because the bundle is CommonJS; this branch never runs under ESM.
declare const require: (id: 'electron') => typeof import('electron');
if (typeof process !== 'undefined' && typeof process.versions === 'object' && process.versions.electron) {
  const { contextBridge, ipcRenderer } = require('electron');
  const bridge = createBridge({
    invoke: (channel, payload) => ipcRenderer.invoke(channel, payload),
    onEventMessage: (listener) => {
      ipcRenderer.on(EVENT_CHANNEL, (_event, message: unknown) => listener(message));
    },
  });
  contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
}
