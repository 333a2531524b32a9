/**
 * Inputs to model space, with the same functions the training data went through (native-models/src/data): grey
 * [0, 1] → letterbox to a square → resample to S×S → quantise to 8 bits. Image files (JPEG/PNG, sniffed by content)
 * and decoded DICOM frames (modality values; VOI window or min–max, MONOCHROME1 inverted) both end as one S×S image.
 */
import { decodeImage, ImageDecodeError, type GreyImage } from '../image/decode.js';
import { letterboxResize, quantiseInPlace } from '../image/resize.js';
import { frameToUnit } from '../image/frames.js';
import { PipelineError } from './errors.js';

export interface ModelImage {
  width: number;
  height: number;
  /** Row-major pixel values in [0, 1]. */
  pixels: Float32Array;
}

export function preprocessGrey(img: GreyImage, size: number): ModelImage {
  const pixels = quantiseInPlace(letterboxResize(img, size));
  return { width: size, height: size, pixels };
}

/** JPEG or PNG bytes → model image. Over the size limits → E_TOO_LARGE; anything else → PipelineError E_NOT_IMAGE. */
export function preprocessImageBytes(bytes: Uint8Array, size: number, name?: string): ModelImage {
  try {
    return preprocessGrey(decodeImage(bytes, name), size);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw new PipelineError(e.code === 'IMAGE_TOO_LARGE' ? 'E_TOO_LARGE' : 'E_NOT_IMAGE', e.message, { cause: e });
    throw e;
  }
}

/** The parts of a decoded DICOM frame (electron/common/contract.ts Frame) preprocessing needs. */
export interface FrameLike {
  rows: number;
  columns: number;
  pixels: ArrayLike<number>;
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  windowCenter?: number;
  windowWidth?: number;
  sopInstanceUid?: string;
}

export function preprocessFrame(f: FrameLike, size: number): ModelImage {
  if (!(f.rows > 0 && f.columns > 0) || f.pixels.length !== f.rows * f.columns) {
    throw new PipelineError('E_INPUT_SIZE', `frame has ${f.pixels.length} values for ${f.columns}×${f.rows}`);
  }
  for (let i = 0; i < f.pixels.length; i++) {
    if (!Number.isFinite(f.pixels[i])) throw new PipelineError('E_INPUT_NONFINITE', `frame pixel ${i} is ${f.pixels[i]}`);
  }
  const window = f.windowCenter !== undefined && f.windowWidth !== undefined ? { center: f.windowCenter, width: f.windowWidth } : undefined;
  const unit = frameToUnit({ width: f.columns, height: f.rows, pixels: f.pixels, window, invert: f.photometricInterpretation === 'MONOCHROME1', id: f.sopInstanceUid ?? 'frame' });
  return preprocessGrey({ width: f.columns, height: f.rows, data: unit }, size);
}
