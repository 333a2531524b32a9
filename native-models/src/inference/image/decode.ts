/**
 * Image-file decoding for the datasets: JPEG (jpeg-js) and PNG (pngjs), chosen by sniffing the bytes, never by the
 * file name (14 Br35H files named .jpg are PNG). Every image becomes one grey channel in pixel space [0, 1].
 *
 * - Colour → grey with ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B). Most Br35H files are RGB-stored grey
 *   (R = G = B), for which this is exact; the few tinted scans get a sensible luminance.
 * - Alpha is composited over black (MRI background is black): grey · α.
 * - Baseline and progressive JPEG are both handled by jpeg-js; EXIF is ignored (no orientation tags in MRI exports).
 * - 16-bit PNG is reduced to 8 bits by pngjs (Br35H has none; DICOM goes through `frames.ts`, not here).
 *
 * Hostile files: the width and height a file declares (PNG IHDR, JPEG SOFn) are read from the header and checked
 * against MAX_PIXELS / MAX_SIDE *before* any decoder runs, so a 128-byte PNG claiming 50000×50000 is refused with
 * IMAGE_TOO_LARGE (the numbers in the message) instead of allocating gigabytes; jpeg-js also gets a memory cap.
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

/**
 * Refuse images above this many pixels: 16 MP (4096²). The largest Br35H file is 1920×1080 (2.1 MP) and the models see
 * 256²; at 16 MP a decode costs ≈ 64 MiB of RGBA plus 64 MiB of Float32, so a hostile file stays far below 300 MB.
 */
export const MAX_PIXELS = 16 * 1024 * 1024;
/** Refuse a side longer than this (a 1×16M strip is no MRI slice either). */
export const MAX_SIDE = 16384;
/** jpeg-js's own working-memory cap (MB), a second guard behind the header check. */
const JPEG_MAX_MEMORY_MB = 256;

/** Width and height a PNG or JPEG declares in its header, without decoding; null when no header is found. */
export function declaredSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4, BE), height (4, BE).
    if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) return null;
    return { width: dv.getUint32(16, false), height: dv.getUint32(20, false) };
  }
  // JPEG: walk the marker segments to the first SOFn (C0–CF except C4 DHT, C8 JPG, CC DAC).
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
    const length = dv.getUint16(i + 2, false);
    if (length < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) return null;
      return { width: dv.getUint16(i + 7, false), height: dv.getUint16(i + 5, false) };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data or end before any frame header
    i += 2 + length;
  }
  return null;
}

/** Throws IMAGE_TOO_LARGE when a declared size is over the limits. */
function checkSize(width: number, height: number, where: string, path?: string): void {
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ImageDecodeError('IMAGE_TOO_LARGE', `image declares ${width}×${height} = ${width * height} pixels${where}; the limit is ${MAX_PIXELS} pixels and ${MAX_SIDE} per side`, path);
  }
}

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
  const declared = declaredSize(bytes, format);
  if (declared === null) throw new ImageDecodeError('IMAGE_CORRUPT', `no ${format.toUpperCase()} image header found${where}`, path);
  checkSize(declared.width, declared.height, where, path);
  let width: number, height: number, rgba: Uint8Array, channels: 3 | 4;
  try {
    if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB });
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
  if (!(width > 0 && height > 0)) throw new ImageDecodeError('IMAGE_CORRUPT', `image is ${width}×${height}${where}`, path);
  checkSize(width, height, where, path);
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
