/**
 * The one API router: maps each ApiMethods entry to a service call, validates every request at run time first,
 * and turns every failure into an ApiError (ApiErrorBody on the wire). Both transports use it: the Electron IPC
 * handler (electron/main/ipc.ts: `dispatch`) and the HTTP host (electron/node/http/host.ts).
 *
 * Adding a method = contract entry + a line in `SCHEMAS` + a line in `handlers` below.
 */
import { ApiError } from '../../common/api-error.js';
import type { ApiMethod, ApiMethods, ApiRequest, ApiResponse } from '../../common/contract.js';
import { isApiMethod } from '../../common/methods.js';
import { DicomError } from '../dicom/errors.js';
import type { EventBus } from '../services/event-bus.js';
import type { Services } from '../services/services.js';
import { arrayOf, bytes, integer, object, optional, string, type Check } from './validate.js';

const UID = string({ min: 1, max: 64 });
const empty = object({});

/** One request validator per method; `satisfies` keeps it in step with the contract. */
const SCHEMAS = {
  'app.info': empty,
  'studies.list': object({ query: optional(string({ max: 200 })) }),
  'studies.series': object({ studyInstanceUid: UID }),
  'series.open': object({ seriesInstanceUid: UID }),
  'instances.frame': object({ sopInstanceUid: UID }),
  'import.files': object({
    files: arrayOf(object({ name: string({ min: 1, max: 1024 }), bytes: bytes({ max: 2 * 1024 ** 3 }) }), { max: 100_000 }),
  }),
  'audit.list': object({
    limit: optional(integer({ min: 1, max: 1000 })),
    beforeSeq: optional(integer({ min: 1 })),
    eventCode: optional(string({ min: 1, max: 64 })),
    participantId: optional(string({ min: 1, max: 256 })),
  }),
  'audit.verify': empty,
  'scan.run': object({ sopInstanceUid: UID }),
  'scan.status': empty,
  'scan.results': object({ seriesInstanceUid: UID }),
} satisfies { [M in ApiMethod]: Check<unknown> };

type Handlers = { [M in ApiMethod]: (req: ApiRequest<M>) => ApiResponse<M> | Promise<ApiResponse<M>> };

export interface Router {
  /** Transport entry point: validates `request` for `method` and runs it. Rejects only with ApiError. */
  dispatch(method: string, request: unknown): Promise<unknown>;
  /** Typed convenience for in-process callers. */
  invoke<M extends ApiMethod>(method: M, request: ApiRequest<M>): Promise<ApiResponse<M>>;
  readonly events: EventBus;
}

export interface RouterOptions {
  /** Where unexpected errors are logged (their text never reaches the client). */
  logError?: (err: unknown, method: string) => void;
}

export function createRouter(services: Services, opts: RouterOptions = {}): Router {
  const handlers: Handlers = {
    'app.info': () => services.info,
    'studies.list': (r) => services.listStudies(r.query),
    'studies.series': (r) => services.listSeries(r.studyInstanceUid),
    'series.open': (r) => services.openSeries(r.seriesInstanceUid),
    'instances.frame': (r) => services.getFrame(r.sopInstanceUid),
    'import.files': (r) => services.importFiles(r.files),
    'audit.list': (r) => services.listAudit(r),
    'audit.verify': () => services.verifyAudit(),
    'scan.run': (r) => services.scan.run(r.sopInstanceUid),
    'scan.status': () => services.scan.status(),
    'scan.results': (r) => services.scan.results(r.seriesInstanceUid),
  };
  const logError = opts.logError ?? ((err, method) => console.error(`medfedpure: ${method} failed`, err));

  async function dispatch(method: string, request: unknown): Promise<unknown> {
    if (!isApiMethod(method)) throw new ApiError('UNKNOWN_METHOD', `Unknown API method: ${String(method).slice(0, 100)}`);
    const req = (SCHEMAS[method] as Check<unknown>)(request === undefined ? {} : request, '');
    try {
      return await (handlers[method] as (r: unknown) => unknown)(req);
    } catch (err) {
      throw toApiError(err, method, logError);
    }
  }

  return {
    dispatch,
    invoke: <M extends ApiMethod>(method: M, request: ApiRequest<M>) => dispatch(method, request) as Promise<ApiMethods[M]['res']>,
    events: services.events,
  };
}

function toApiError(err: unknown, method: string, logError: (err: unknown, method: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  // A stored instance that can no longer be decoded: say which and why (no stack, no paths beyond the file name).
  if (err instanceof DicomError) return new ApiError('INTERNAL', `Cannot decode stored instance: ${err.message}`, { code: err.code });
  logError(err, method);
  return new ApiError('INTERNAL', 'Internal error (see the application log)');
}
