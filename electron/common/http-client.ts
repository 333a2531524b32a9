/**
 * The renderer's API client for browser mode (`medfedpure serve`): the HTTP transport's client side.
 *
 * Runs in the browser (and in Node ≥ 20 for tests; events there need an injected EventSource).
 *   invoke → POST {baseUrl}/api/<method>, body and response in the binary codec (codec.ts);
 *            a non-2xx response carries an ApiErrorBody as JSON and is rethrown as `ApiError` (api-error.ts).
 *   on     → one shared EventSource on {baseUrl}/api/events (server-sent events named after ApiEvents keys).
 *
 * Authentication: the page URL printed by `medfedpure serve` carries `?token=…`; loading it makes the host set
 * an HttpOnly SameSite=Strict cookie, which same-origin fetch and EventSource send automatically. So a page
 * served by the host may call `createHttpClient(location.origin)` with no token. Pass the token explicitly
 * when calling from elsewhere (tests, scripts): it is then sent as `Authorization: Bearer` (and as `?token=`
 * for the EventSource, which cannot send headers).
 */
import { ApiError } from './api-error.js';
import { decodeMessage, encodeMessage, MESSAGE_CONTENT_TYPE } from './codec.js';
import type { ApiClientOf } from './feature-api.js';

type MethodShape = Record<string, { req: unknown; res: unknown }>;

/** The part of the DOM EventSource used here (declared locally: this file also compiles without the DOM lib). */
interface EventSourceLike {
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  removeEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
}
type EventSourceCtor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

export interface HttpClientOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to the global EventSource (absent in Node 20: `on` then throws). */
  EventSource?: EventSourceCtor;
}

export interface HttpApiClient<M extends MethodShape, E extends Record<string, unknown>> extends ApiClientOf<M, E> {
  /** Closes the event stream, if open. */
  close(): void;
}

/** `M`, `E`: the contract's method and event tables (electron/features/api.ts ApiMethods, ApiEvents). */
export function createHttpClient<M extends MethodShape, E extends Record<string, unknown>>(baseUrl: string, token?: string, options: HttpClientOptions = {}): HttpApiClient<M, E> {
  const base = baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const listeners = new Map<string, Set<(payload: never) => void>>();
  let source: EventSourceLike | null = null;
  const sourceHandlers = new Map<string, (ev: { data: string }) => void>();

  async function invoke<K extends keyof M & string>(method: K, request: M[K]['req']): Promise<M[K]['res']> {
    const headers: Record<string, string> = { 'Content-Type': MESSAGE_CONTENT_TYPE, Accept: MESSAGE_CONTENT_TYPE };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await doFetch(`${base}/api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers,
        body: encodeMessage(request),
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new ApiError('INTERNAL', `Cannot reach the MedFedPure host: ${err instanceof Error ? err.message : String(err)}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (!res.ok) {
      let body: unknown = null;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        /* not JSON: fall through */
      }
      const err = ApiError.fromBody(body);
      if (err.code === 'INTERNAL' && body === null) throw new ApiError('INTERNAL', `HTTP ${res.status} from ${method}`);
      throw err;
    }
    return decodeMessage(bytes) as M[K]['res'];
  }

  function ensureSource(): EventSourceLike {
    if (source) return source;
    const Ctor = options.EventSource ?? (globalThis as unknown as { EventSource?: EventSourceCtor }).EventSource;
    if (!Ctor) throw new ApiError('INTERNAL', 'No EventSource available in this environment');
    const url = token ? `${base}/api/events?token=${encodeURIComponent(token)}` : `${base}/api/events`;
    source = new Ctor(url, { withCredentials: false });
    return source;
  }

  function on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): () => void {
    const es = ensureSource();
    let set = listeners.get(event);
    if (!set) {
      set = new Set();
      listeners.set(event, set);
      const handler = (ev: { data: string }): void => {
        let payload: unknown;
        try {
          payload = JSON.parse(ev.data);
        } catch {
          return;
        }
        for (const l of [...(listeners.get(event) ?? [])]) (l as (p: unknown) => void)(payload);
      };
      sourceHandlers.set(event, handler);
      es.addEventListener(event, handler);
    }
    set.add(listener as (payload: never) => void);
    return () => {
      const s = listeners.get(event);
      if (!s) return;
      s.delete(listener as (payload: never) => void);
      if (s.size === 0) {
        listeners.delete(event);
        const h = sourceHandlers.get(event);
        if (h && source) source.removeEventListener(event, h);
        sourceHandlers.delete(event);
      }
      if (listeners.size === 0) close();
    };
  }

  function close(): void {
    source?.close();
    source = null;
    listeners.clear();
    sourceHandlers.clear();
  }

  return { invoke, on, close };
}
