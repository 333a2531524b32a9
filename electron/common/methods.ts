/**
 * Runtime lists of the contract's method and event names.
 *
 * contract.ts is types only; transports need the names at run time to refuse anything else
 * (the Electron main process rejects unknown methods, the preload checks before sending).
 * The two `Exact…` checks below fail to compile if a name is added to or removed from the
 * contract without updating these lists, so the lists cannot drift.
 */
import type { ApiErrorBody, ApiEvent, ApiEvents, ApiMethod, ApiMethods } from './contract.js';

export const API_METHODS = [
  'app.info',
  'studies.list',
  'studies.series',
  'series.open',
  'instances.frame',
  'import.files',
  'audit.list',
  'audit.verify',
  'scan.run',
  'scan.status',
  'scan.results',
] as const satisfies readonly ApiMethod[];

export const API_EVENTS = [
  'studies.changed',
  'import.progress',
  'audit.appended',
  'scan.completed',
] as const satisfies readonly ApiEvent[];

/** `true` only when every key of T appears in the list L (the `satisfies` above covers the other direction). */
type CoversAll<T, L extends readonly unknown[]> = [Exclude<keyof T, L[number]>] extends [never] ? true : Exclude<keyof T, L[number]>;
const methodsCoverContract: CoversAll<ApiMethods, typeof API_METHODS> = true;
const eventsCoverContract: CoversAll<ApiEvents, typeof API_EVENTS> = true;
void methodsCoverContract;
void eventsCoverContract;

const methodSet: ReadonlySet<string> = new Set(API_METHODS);
const eventSet: ReadonlySet<string> = new Set(API_EVENTS);

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && methodSet.has(name);
}

export function isApiEvent(name: unknown): name is ApiEvent {
  return typeof name === 'string' && eventSet.has(name);
}

/** Runtime list of `ApiErrorBody['code']`, so transports can tell a typed API error from an arbitrary throw. */
export const API_ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_METHOD',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'CONFLICT',
  'INTERNAL',
] as const satisfies readonly ApiErrorBody['code'][];

type ErrorCodesComplete = [Exclude<ApiErrorBody['code'], (typeof API_ERROR_CODES)[number]>] extends [never] ? true : false;
const errorCodesComplete: ErrorCodesComplete = true;
void errorCodesComplete;

const errorCodeSet: ReadonlySet<string> = new Set(API_ERROR_CODES);

export function isApiErrorCode(code: unknown): code is ApiErrorBody['code'] {
  return typeof code === 'string' && errorCodeSet.has(code);
}
