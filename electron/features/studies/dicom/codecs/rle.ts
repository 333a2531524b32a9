/**
 * RLE Lossless (PS3.5 Annex G), written here: small, and every bound is ours to check.
 *
 * A frame is a 64-byte header (segment count, then 15 segment offsets, little-endian u32) followed by the segments.
 * Each segment is one byte plane, PackBits-coded: a control byte n in 0..127 copies the next n+1 bytes; n in
 * −127..−1 repeats the next byte 1−n times; −128 is a no-op. For Bits Allocated 8/16/32 and one sample there are
 * 1/2/4 segments, most significant byte plane first. Output is exactly Rows × Columns words: a segment that decodes to
 * fewer bytes is TRUNCATED; bytes past the plane size are ignored (encoders pad odd planes with one byte).
 */
import { DicomError } from '../errors.js';

export function decodeRle(data: Uint8Array, pixels: number, bitsAllocated: 8 | 16 | 32, file: string): Uint8Array | Uint16Array | Uint32Array {
  if (data.length < 64) throw new DicomError('TRUNCATED', file, `RLE frame of ${data.length} bytes has no 64-byte header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = dv.getUint32(0, true);
  const planes = bitsAllocated / 8;
  if (segments !== planes) throw new DicomError('INVALID_DICOM', file, `RLE frame has ${segments} segments; ${planes} expected for ${bitsAllocated}-bit grayscale`);
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(dv.getUint32(4 + 4 * s, true));
  const bytes = new Uint8Array(pixels * planes);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s];
    const end = s + 1 < segments ? offsets[s + 1] : data.length;
    if (start < 64 || end > data.length || end < start) throw new DicomError('INVALID_DICOM', file, `RLE segment ${s + 1} offsets ${start}..${end} are outside the ${data.length}-byte frame`);
    // Byte plane s (most significant first) goes to byte (planes − 1 − s) of each little-endian word.
    const lane = planes - 1 - s;
    let out = 0;
    let i = start;
    while (out < pixels && i < end) {
      const n = data[i++];
      if (n < 128) {
        const count = Math.min(n + 1, pixels - out, end - i);
        for (let k = 0; k < count; k++) bytes[(out + k) * planes + lane] = data[i + k];
        out += count;
        i += n + 1;
      } else if (n > 128) {
        if (i >= end) break;
        const v = data[i++];
        const count = Math.min(257 - n, pixels - out);
        for (let k = 0; k < count; k++) bytes[(out + k) * planes + lane] = v;
        out += count;
      }
    }
    if (out < pixels) throw new DicomError('TRUNCATED', file, `RLE segment ${s + 1} decodes to ${out} of ${pixels} bytes`);
  }
  if (planes === 1) return bytes;
  return planes === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
}
