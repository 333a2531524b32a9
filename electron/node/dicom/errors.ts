/**
 * The typed error of DICOM reading and import: a machine-readable code (the contract's ImportFileError codes)
 * plus the file it is about. Import turns these into per-file entries and carries on with the next file.
 */
import type { ImportFileError } from '../../common/contract.js';

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
