/**
 * The one typed API contract between the UI (renderer) and the services (main process or browser host), composed
 * from the features' declarations (electron/features/<name>/api.ts). Runs anywhere.
 *
 * Adding a method or an event touches only its feature's api.ts (declaration + request validator) and its
 * handlers; adding a feature adds one line to FEATURE_APIS here and one to the Node composition (node.ts).
 *
 * Transports:
 *  - Electron IPC: the preload exposes `window.medfedpure.invoke(method, request)` and `.on(event, cb)`;
 *    typed arrays cross as structured clones.
 *  - HTTP (browser host): POST /api/<method> with the request; typed arrays inside requests and responses are
 *    carried as binary (electron/common/codec.ts), never base64-in-JSON. Events over SSE.
 */
import type { ApiClientOf, EventSpecs, EventTable, MethodSpecs, MethodTable } from '../common/feature-api.js';
import type { Check } from '../common/validate.js';
import { appApi } from './app/api.js';
import { auditApi } from './audit/api.js';
import { flApi } from './fl/api.js';
import { pacsApi } from './pacs/api.js';
import { scanApi } from './scan/api.js';
import { studiesApi } from './studies/api.js';

export type { ApiErrorBody, ApiErrorCode } from '../common/api-error.js';
export type * from './app/api.js';
export type * from './audit/api.js';
export type * from './fl/api.js';
export type * from './pacs/api.js';
export type * from './scan/api.js';
export type * from './studies/api.js';

/** Every feature's declaration, in menu order. */
export const FEATURE_APIS = [appApi, studiesApi, auditApi, scanApi, pacsApi, flApi] as const;

type Features = (typeof FEATURE_APIS)[number];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type AllMethodSpecs = UnionToIntersection<Features['methods']>;
type AllEventSpecs = UnionToIntersection<Features['events']>;

/** name → { req, res } for every method of every feature. */
export type ApiMethods = MethodTable<AllMethodSpecs>;
/** name → payload for every event of every feature. */
export type ApiEvents = EventTable<AllEventSpecs>;

export type ApiMethod = keyof ApiMethods;
export type ApiRequest<M extends ApiMethod> = ApiMethods[M]['req'];
export type ApiResponse<M extends ApiMethod> = ApiMethods[M]['res'];
export type ApiEvent = keyof ApiEvents;

/** The client surface both transports implement; the renderer codes against this only. */
export type ApiClient = ApiClientOf<ApiMethods, ApiEvents>;

function compose(): { schemas: Record<string, Check<unknown>>; events: string[]; bodyLimits: Record<string, number> } {
  const schemas: Record<string, Check<unknown>> = {};
  const bodyLimits: Record<string, number> = {};
  const events: string[] = [];
  for (const feature of FEATURE_APIS) {
    for (const [name, spec] of Object.entries(feature.methods as MethodSpecs)) {
      if (name in schemas) throw new Error(`API method "${name}" is declared by two features`);
      schemas[name] = spec.check;
      if (spec.maxBodyBytes !== undefined) bodyLimits[name] = spec.maxBodyBytes;
    }
    for (const name of Object.keys(feature.events)) {
      if (events.includes(name)) throw new Error(`API event "${name}" is declared by two features`);
      events.push(name);
    }
  }
  return { schemas, events, bodyLimits };
}

const composed = compose();

/** One request validator per method (the router checks every request with it before any handler runs). */
export const API_SCHEMAS = composed.schemas as { readonly [M in ApiMethod]: Check<ApiRequest<M>> };
/** Methods that accept a request body larger than the HTTP host's default (bytes), as their features declare. */
export const API_BODY_LIMITS: Readonly<Record<string, number>> = composed.bodyLimits;
/** Runtime lists of the contract's names: transports refuse anything else. */
export const API_METHODS = Object.keys(composed.schemas) as unknown as readonly ApiMethod[];
export const API_EVENTS = composed.events as unknown as readonly ApiEvent[];

const methodSet: ReadonlySet<string> = new Set(API_METHODS);
const eventSet: ReadonlySet<string> = new Set(API_EVENTS);

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && methodSet.has(name);
}

export function isApiEvent(name: unknown): name is ApiEvent {
  return typeof name === 'string' && eventSet.has(name);
}
