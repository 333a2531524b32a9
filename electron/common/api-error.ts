/**
 * The typed error every API failure becomes before it crosses a transport (IPC or HTTP).
 *
 * Runs anywhere (renderer, main, Node host). Services throw it (or their own errors, which the router maps);
 * the HTTP client rethrows it on the renderer side, so `err.code` is the same on both ends.
 */
import type { ApiErrorBody } from './contract.js';
import { isApiErrorCode } from './methods.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorBody['code'],
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toBody(): ApiErrorBody {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an ApiError from a wire body; anything malformed becomes INTERNAL. */
  static fromBody(body: unknown): ApiError {
    if (typeof body === 'object' && body !== null) {
      const b = body as { code?: unknown; message?: unknown; details?: unknown };
      if (isApiErrorCode(b.code) && typeof b.message === 'string') return new ApiError(b.code, b.message, b.details);
    }
    return new ApiError('INTERNAL', 'Malformed error response');
  }
}

/** HTTP status for each API error code (used by the browser host). */
export const API_ERROR_HTTP_STATUS: Readonly<Record<ApiErrorBody['code'], number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_METHOD: 404,
  CONFLICT: 409,
  INTERNAL: 500,
};
