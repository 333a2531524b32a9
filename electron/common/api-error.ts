/**
 * The typed error every API failure becomes before it crosses a transport (IPC or HTTP), and its wire body.
 *
 * Runs anywhere (renderer, main, Node host). Services throw it (or their own errors, which the router maps);
 * the HTTP client rethrows it on the renderer side, so `err.code` is the same on both ends.
 */

/** Every error code a transport may carry. */
export const API_ERROR_CODES = ['BAD_REQUEST', 'UNKNOWN_METHOD', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHORIZED', 'CONFLICT', 'INTERNAL'] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Every failure that crosses a transport is one of these (never a raw stack trace). */
export interface ApiErrorBody {
  code: ApiErrorCode;
  message: string;
  details?: unknown;
}

const errorCodeSet: ReadonlySet<string> = new Set(API_ERROR_CODES);

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && errorCodeSet.has(code);
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
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
export const API_ERROR_HTTP_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_METHOD: 404,
  CONFLICT: 409,
  INTERNAL: 500,
};
