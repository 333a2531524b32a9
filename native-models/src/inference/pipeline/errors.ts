/**
 * Typed errors of the defence pipeline and the engine. Every rejection of bad input is a `PipelineError` with a
 * stable `code`; the engine turns it into an RPC error `{ code, message }` and keeps serving.
 */
export type PipelineErrorCode =
  /** Image is not S×S (or pixel count does not match width × height), or a tensor has the wrong rank. */
  | 'E_INPUT_SIZE'
  /** NaN or ±Inf in the pixels. */
  | 'E_INPUT_NONFINITE'
  /** A pixel outside [0, 1] (the pipeline takes pixel-space images; preprocess first). */
  | 'E_INPUT_RANGE'
  /** The request is not an object of the expected fields (unknown field, a label, wrong type). */
  | 'E_INPUT_FIELDS'
  /** Bytes that are neither JPEG, PNG nor DICOM, or that do not decode. */
  | 'E_NOT_IMAGE'
  /** An image whose declared size is over the decoder's limits (the message names the numbers). */
  | 'E_TOO_LARGE'
  /** The request asked for a model version the engine does not have loaded. */
  | 'E_MODEL_VERSION'
  /** No calibration matches the loaded detector (run `medfedpure calibrate`). */
  | 'E_NOT_CALIBRATED'
  /** A calibration file that does not parse or does not match the loaded models. */
  | 'E_CALIBRATION'
  /** Models could not be loaded (missing loader, integrity failure). */
  | 'E_MODELS'
  /** Bad pipeline option (steps, t*, K ...). */
  | 'E_OPTION'
  /** The engine is not ready or was closed. */
  | 'E_ENGINE';

export class PipelineError extends Error {
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineError';
  }
}
