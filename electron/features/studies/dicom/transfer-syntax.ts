/**
 * Transfer syntaxes: names for all of them, and which ones this workstation decodes.
 * Native: implicit/explicit VR little endian, deflated explicit little endian, explicit VR big endian (retired).
 * Compressed (codecs/index.ts): RLE, JPEG baseline/extended (8-bit), JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K.
 * Refused with a typed error: JPEG 2000 Part 2 multi-component, video (MPEG/HEVC), anything unknown.
 */
import { isCompressedSyntax } from './codecs/index.js';

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

const SUPPORTED: ReadonlyMap<string, string> = new Map([
  [IMPLICIT_LE, 'Implicit VR Little Endian'],
  [EXPLICIT_LE, 'Explicit VR Little Endian'],
  [DEFLATED_EXPLICIT_LE, 'Deflated Explicit VR Little Endian'],
  [EXPLICIT_BE, 'Explicit VR Big Endian'],
]);

const KNOWN_UNSUPPORTED: ReadonlyMap<string, string> = new Map([
  [JPEG_BASELINE, 'JPEG Baseline (Process 1)'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless, First-Order Prediction (Process 14 SV1)'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component (Lossless Only)'],
  ['1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile @ Main Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile'],
  ['1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile'],
]);

export function isSupportedTransferSyntax(uid: string): boolean {
  return SUPPORTED.has(uid) || isCompressedSyntax(uid);
}

export function isNativeTransferSyntax(uid: string): boolean {
  return SUPPORTED.has(uid);
}

export function transferSyntaxName(uid: string): string {
  return SUPPORTED.get(uid) ?? KNOWN_UNSUPPORTED.get(uid) ?? 'unknown transfer syntax';
}
