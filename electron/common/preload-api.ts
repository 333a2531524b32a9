/**
 * What the Electron preload puts on `window.medfedpure`, and the wire format of the two IPC channels
 * between preload and main. Types and constants only; runs anywhere.
 *
 * The renderer codes against `ApiClient` (electron/features/api.ts) and may find it at `window.medfedpure` when hosted by
 * Electron; in browser mode that global is absent and the renderer uses its HTTP client instead.
 *
 * Error semantics: `invoke` rejects with a plain `ApiErrorBody`-shaped object (`{ name: 'ApiError', code,
 * message, details? }`), not an `Error` instance. contextBridge rebuilds thrown `Error`s from their message
 * alone, which would drop `code`; plain objects cross intact. Use `isApiErrorBody` to recognise one.
 */
import type { ApiErrorBody } from './api-error.js';

/** The two (and only two) IPC channels. The preload keeps type-checked copies of these strings. */
export const IPC_CHANNELS = {
  /** renderer → main, `ipcRenderer.invoke(IPC_CHANNELS.invoke, IpcInvokePayload)` → `IpcInvokeResult`. */
  invoke: 'medfedpure:invoke',
  /** main → renderer, `webContents.send(IPC_CHANNELS.event, IpcEventMessage)`. */
  event: 'medfedpure:event',
} as const;

export type IpcChannel = (typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS];

export interface IpcInvokePayload {
  /** A method of the composed contract (checked against its runtime list by the preload and again by main). */
  method: string;
  request: unknown;
}

/** Main always resolves (never throws across IPC), so error codes survive the trip. */
export type IpcInvokeResult = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };

export interface IpcEventMessage {
  event: string;
  payload: unknown;
}

/** The shape `invoke` rejects with (see the file comment). */
export interface BridgeApiError extends ApiErrorBody {
  name: 'ApiError';
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** The global key the preload exposes. */
export const BRIDGE_GLOBAL = 'medfedpure' as const;
