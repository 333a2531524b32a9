/**
 * The API router: validates every request with its method's validator, runs the method's handler, and turns every
 * failure into an ApiError (ApiErrorBody on the wire). Both transports use it: the Electron IPC handler
 * (electron/main/ipc.ts) and the HTTP host (electron/node/http/host.ts).
 *
 * Platform code: it knows no feature. electron/features/node.ts composes the features' validators
 * (electron/features/api.ts) and handlers into one router with `composeRouter`.
 */
import { ApiError } from '../../common/api-error.js';
import type { MethodTable } from '../../common/feature-api.js';
import type { Check } from '../../common/validate.js';
import type { EventBus } from '../services/event-bus.js';

type MethodShape = Record<string, { req: unknown; res: unknown }>;

/** One handler per method; a handler may return its response or a promise of it. */
export type Handlers<M> = { [K in keyof M]: M[K] extends { req: infer Q; res: infer R } ? (req: Q) => R | Promise<R> : never };

/** Turns a feature's own error into an ApiError, or returns undefined to pass it on. */
export type ErrorMapper = (err: unknown) => ApiError | undefined;

export interface Router<M extends MethodShape = MethodShape, E extends Record<string, unknown> = Record<string, unknown>> {
  /** Transport entry point: validates `request` for `method` and runs it. Rejects only with ApiError. */
  dispatch(method: string, request: unknown): Promise<unknown>;
  /** Typed convenience for in-process callers. */
  invoke<K extends keyof M & string>(method: K, request: M[K]['req']): Promise<M[K]['res']>;
  readonly events: EventBus<E>;
}

export interface RouterOptions {
  /** Where unexpected errors are logged (their text never reaches the client). */
  logError?: (err: unknown, method: string) => void;
  /** Feature error mappers, tried in order before an unexpected error becomes INTERNAL. */
  errorMappers?: readonly ErrorMapper[];
}

export function composeRouter<M extends MethodShape, E extends Record<string, unknown>>(
  schemas: { readonly [K in keyof M]: Check<M[K]['req']> },
  handlers: Handlers<M>,
  events: EventBus<E>,
  opts: RouterOptions = {},
): Router<M, E> {
  const logError = opts.logError ?? ((err, method) => console.error(`medfedpure: ${method} failed`, err));
  const mappers = opts.errorMappers ?? [];
  const known = (name: string): name is keyof M & string => Object.prototype.hasOwnProperty.call(schemas, name) && Object.prototype.hasOwnProperty.call(handlers, name);

  async function dispatch(method: string, request: unknown): Promise<unknown> {
    if (typeof method !== 'string' || !known(method)) throw new ApiError('UNKNOWN_METHOD', `Unknown API method: ${String(method).slice(0, 100)}`);
    const req = (schemas[method] as Check<unknown>)(request === undefined ? {} : request, '');
    try {
      return await (handlers[method] as (r: unknown) => unknown)(req);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      for (const map of mappers) {
        const mapped = map(err);
        if (mapped) throw mapped;
      }
      logError(err, method);
      throw new ApiError('INTERNAL', 'Internal error (see the application log)');
    }
  }

  return {
    dispatch,
    invoke: (method, request) => dispatch(method, request) as Promise<never>,
    events,
  };
}

/** The handlers of one feature's declared methods (electron/common/feature-api.ts). */
export type FeatureHandlers<A extends { methods: unknown }> = Handlers<MethodTable<A['methods']>>;

/** What a transport (HTTP host, Electron IPC) needs of a router, whatever its method and event tables. */
export interface TransportRouter {
  dispatch(method: string, request: unknown): Promise<unknown>;
  readonly events: { onAny(listener: (event: string, payload: unknown) => void): () => void };
}
