/**
 * PacsError: every failure talking to a PACS, with a code a script can branch on and a message that names the
 * endpoint (its URL without credentials, which never appear in URLs here). `toApiError` is the router's mapper, so
 * the UI gets the same code in `details.code`.
 */
import { ApiError } from '../../common/api-error.js';
import type { PacsErrorCode } from './api.js';

export class PacsError extends Error {
  override readonly name = 'PacsError';
  constructor(
    readonly code: PacsErrorCode,
    /** The endpoint (base URL or request URL) the failure is about. */
    readonly endpoint: string,
    detail: string,
  ) {
    super(`${endpoint}: ${detail}`);
  }
}

export function pacsErrorToApiError(err: unknown): ApiError | undefined {
  if (!(err instanceof PacsError)) return undefined;
  const code = err.code === 'REFUSED' ? 'BAD_REQUEST' : 'INTERNAL';
  return new ApiError(code, `PACS ${err.message}`, { code: err.code, endpoint: err.endpoint });
}
