/**
 * Image-file decoding for the datasets: JPEG (jpeg-js) and PNG (pngjs), chosen by sniffing the bytes, never by the
 * file name (14 Br35H files named .jpg are PNG). Every image becomes one grey channel in pixel space [0, 1].
 *
 * - Colour → grey with ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B). Most Br35H files are RGB-stored grey
 *   (R = G = B), for which this is exact; the few tinted scans get a sensible luminance.
 * - Alpha is composited over black (MRI background is black): grey · α.
 * - Baseline and progressive JPEG are both handled by jpeg-js; EXIF is ignored (no orientation tags in MRI exports).
 * - 16-bit PNG is reduced to 8 bits by pngjs (Br35H has none; DICOM goes through `frames.ts`, not here).
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export type ImageFormat = 'jpeg' | 'png';

export class ImageDecodeError extends Error {
  constructor(
    readonly code: 'IMAGE_UNKNOWN_FORMAT' | 'IMAGE_CORRUPT' | 'IMAGE_TOO_LARGE',
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

/** A decoded grey image, row-major, values in [0, 1]. */
export interface GreyImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** Refuse images above this many pixels (a 1920×1080 Br35H file is 2.1 MP). Guards memory against hostile files. */
export const MAX_PIXELS = 64 * 1024 * 1024;

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 &&
      bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Decode JPEG or PNG bytes to one grey channel in [0, 1]. `path` only labels errors. */
export function decodeImage(bytes: Uint8Array, path?: string): GreyImage & { format: ImageFormat } {
  const format = sniffFormat(bytes);
  const where = path ? ` (${path})` : '';
  if (format === null) throw new ImageDecodeError('IMAGE_UNKNOWN_FORMAT', `not a JPEG or PNG file${where}`, path);
  let width: number, height: number, rgba: Uint8Array, channels: 3 | 4;
  try {
    if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6 });
      ({ width, height } = img);
      rgba = img.data;
      channels = 3;
    } else {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = img);
      rgba = img.data; // pngjs always yields 8-bit RGBA
      channels = 4;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = /limit exceeded|allocate/i.test(msg) ? 'IMAGE_TOO_LARGE' : 'IMAGE_CORRUPT';
    throw new ImageDecodeError(code, `cannot decode ${format.toUpperCase()}${where}: ${msg}`, path);
  }
  if (!(width > 0 && height > 0) || width * height > MAX_PIXELS) {
    throw new ImageDecodeError('IMAGE_TOO_LARGE', `image is ${width}×${height}${where}; limit ${MAX_PIXELS} pixels`, path);
  }
  if (rgba.length < width * height * channels) {
    throw new ImageDecodeError('IMAGE_CORRUPT', `decoder returned ${rgba.length} bytes for ${width}×${height}${where}`, path);
  }
  const n = width * height;
  const data = new Float32Array(n);
  const k = 1 / 255;
  if (channels === 3) {
    for (let i = 0, j = 0; i < n; i++, j += 3) data[i] = (0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]) * k;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      data[i] = (0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]) * k * (rgba[j + 3] * k);
    }
  }
  // Guard against rounding just above 1 (weights sum to 1.000 in doubles, but stay strict).
  for (let i = 0; i < n; i++) if (data[i] > 1) data[i] = 1;
  return { width, height, data, format };
}
