/**
 * The typed error of DICOM reading and import: a machine-readable code (the contract's ImportFileError codes)
 * plus the file it is about. Import turns these into per-file entries and carries on with the next file.
 */
import { ApiError } from '../../../common/api-error.js';
import type { ImportFileError } from '../api.js';

export type DicomErrorCode = ImportFileError['code'];

export class DicomError extends Error {
  override readonly name = 'DicomError';
  constructor(
    readonly code: DicomErrorCode,
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }

  toImportError(): ImportFileError {
    return { file: this.file, code: this.code, message: this.reason };
  }
}

/** For the router: a stored instance that can no longer be decoded says which and why (no stack, no paths beyond the file name). */
export function dicomErrorToApiError(err: unknown): ApiError | undefined {
  return err instanceof DicomError ? new ApiError('INTERNAL', `Cannot decode stored instance: ${err.message}`, { code: err.code }) : undefined;
}
