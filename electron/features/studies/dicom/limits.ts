/**
 * The size limits of DICOM reading, in one place, each with the reason for its value.
 *
 * Every decoder checks the sizes a file *declares* (Rows × Columns × frames × bytes per sample) against these limits
 * before it allocates anything, so a 500-byte file that claims a 16384² image, or a deflated data set that inflates
 * to gigabytes, is refused with a typed TOO_LARGE error naming the numbers instead of exhausting memory. A real
 * brain-MRI slice is 256²–1024²; the limits are generous for every clinical image this workstation may be shown.
 */
import { DicomError } from './errors.js';

const MiB = 1024 * 1024;

/** Largest DICOM file read for import (bytes). A 400-frame enhanced MR of 512² 16-bit pixels is 200 MiB. */
export const MAX_DICOM_FILE_BYTES = 512 * MiB;

/**
 * Largest frame (Rows × Columns). 2^25 ≈ 33.5 MP: the largest digital mammography detectors (≈ 4096 × 5625 = 23 MP)
 * fit; a decoded frame is then at most 128 MiB of Float32. A 16384² header bomb (268 MP) does not.
 */
export const MAX_FRAME_PIXELS = 2 ** 25;

/** Most frames in one instance: multi-frame MR/CT rarely exceed a few hundred; 4D series stay far below. */
export const MAX_FRAMES = 8192;

/** Largest Pixel Data the header may declare (all frames, bytes). Same bound as the file: what is stored must fit. */
export const MAX_PIXEL_DATA_BYTES = MAX_DICOM_FILE_BYTES;

/**
 * Largest inflated data set of a Deflated Explicit VR Little Endian file (bytes). Inflation also stops at the size the
 * header declares plus DEFLATE_MARGIN_BYTES, so a deflate bomb costs at most its declared size, never its ratio.
 */
export const MAX_INFLATED_BYTES = 256 * MiB;

/** Room after the declared pixel data for trailing elements (padding, digital signatures) of a deflated data set. */
export const DEFLATE_MARGIN_BYTES = 1 * MiB;

/** DICOM PS3.5 §9: a UID is at most 64 characters of digits and dots. */
export const MAX_UID_LENGTH = 64;

/** Throws TOO_LARGE when the declared image does not fit the limits. Call before allocating anything for pixels. */
export function checkDeclaredImage(file: string, d: { rows: number; columns: number; frames: number; samplesPerPixel: number; bitsAllocated: number }): void {
  const pixels = d.rows * d.columns;
  if (pixels > MAX_FRAME_PIXELS) {
    throw new DicomError('TOO_LARGE', file, `declared frame ${d.columns}×${d.rows} = ${pixels} pixels exceeds the limit of ${MAX_FRAME_PIXELS} pixels`);
  }
  if (d.frames > MAX_FRAMES) throw new DicomError('TOO_LARGE', file, `declared ${d.frames} frames exceeds the limit of ${MAX_FRAMES}`);
  const bytes = pixels * d.frames * d.samplesPerPixel * Math.ceil(d.bitsAllocated / 8);
  if (bytes > MAX_PIXEL_DATA_BYTES) {
    throw new DicomError('TOO_LARGE', file, `declared pixel data ${d.frames} × ${d.columns}×${d.rows} × ${d.samplesPerPixel} × ${d.bitsAllocated} bits = ${bytes} bytes exceeds the limit of ${MAX_PIXEL_DATA_BYTES} bytes`);
  }
}
