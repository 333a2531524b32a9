/**
 * How a feature declares its part of the API contract. Runs anywhere (renderer, main, Node host, preload bundle).
 *
 * A feature's shared part (electron/features/<name>/api.ts) exports one `FeatureApi`:
 *
 *   export const studiesApi = defineFeatureApi({
 *     methods: {
 *       'studies.list': method(object({ query: optional(string({ max: 200 })) }), returns<StudySummary[]>()),
 *     },
 *     events: { 'studies.changed': event<{ studyInstanceUids: string[] }>() },
 *   });
 *
 * The request type of a method is the type its validator returns, so the runtime check and the static type cannot
 * drift; the response and event payload types are phantoms (`returns<T>()`, `event<T>()`), present only for the
 * compiler. electron/features/api.ts composes every feature's declaration into the one contract; the router, the
 * transports and the preload take their method and event names from that composition at run time.
 */
import type { Check } from './validate.js';

/** A method: its request validator, and (type-level only) its response type. */
export interface MethodSpec<Req, Res> {
  readonly check: Check<Req>;
  /**
   * Largest request body a byte transport (HTTP) accepts for this method; absent: the transport's small default for
   * JSON calls. Only methods that carry bulk data (file uploads) declare more.
   */
  readonly maxBodyBytes?: number;
  /** Phantom: never read at run time. */
  readonly response?: Res;
}

/** An event: (type-level only) its payload type. */
export interface EventSpec<P> {
  readonly event: true;
  /** Phantom: never read at run time. */
  readonly payload?: P;
}

export type MethodSpecs = Record<string, MethodSpec<any, any>>;
export type EventSpecs = Record<string, EventSpec<any>>;

export interface FeatureApi<M extends MethodSpecs = MethodSpecs, E extends EventSpecs = EventSpecs> {
  readonly methods: M;
  readonly events: E;
}

/** Phantom type carrier for `method(check, returns<T>())`. */
export function returns<T>(): T {
  return undefined as T;
}

export function method<Req, Res>(check: Check<Req>, _response: Res, opts: { maxBodyBytes?: number } = {}): MethodSpec<Req, Res> {
  return opts.maxBodyBytes === undefined ? { check } : { check, maxBodyBytes: opts.maxBodyBytes };
}

export function event<P>(): EventSpec<P> {
  return { event: true };
}

export function defineFeatureApi<M extends MethodSpecs, E extends EventSpecs = Record<never, never>>(api: { methods: M; events?: E }): FeatureApi<M, E> {
  return { methods: api.methods, events: (api.events ?? {}) as E };
}

/** `{ name: { req, res } }` for a method spec table: the shape transports and the renderer code against. */
export type MethodTable<M> = { [K in keyof M]: M[K] extends MethodSpec<infer Req, infer Res> ? { req: Req; res: Res } : never };

/** `{ name: payload }` for an event spec table. */
export type EventTable<E> = { [K in keyof E]: E[K] extends EventSpec<infer P> ? P : never };

/** The client surface both transports implement, for a method and event table. */
export interface ApiClientOf<M extends Record<string, { req: unknown; res: unknown }>, E extends Record<string, unknown>> {
  invoke<K extends keyof M & string>(method: K, request: M[K]['req']): Promise<M[K]['res']>;
  on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): () => void;
}
