/**
 * Decodes one frame of native (uncompressed) grayscale pixel data into modality values (Float32Array).
 *
 * Handles Bits Allocated 8/16/32, unsigned and two's-complement pixels, Bits Stored < Bits Allocated
 * (High Bit position, masking, sign extension), Rescale Slope/Intercept, little and big endian
 * (including 8-bit OW pixel data in big endian, which is stored as byte-swapped 16-bit words).
 * MONOCHROME1 is reported, not inverted: inversion is a display step.
 */
import type { DataSet } from 'dicom-parser';
import type { Frame } from '../../api.js';
import { DicomError } from './errors.js';
import { readImageInfo, readInstanceHeader, type ImageInfo } from './header.js';
import { parseDicomFile } from './parse.js';
import { EXPLICIT_BE } from './transfer-syntax.js';

type IntArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/**
 * The frame's words as a typed array of the allocated width, in host (little-endian) order: a zero-copy view when
 * the data is little endian and aligned, else a copy (byte-swapped for big endian).
 */
function rawWords(ds: DataSet, info: ImageInfo, frameIndex: number): Uint8Array | Uint16Array | Uint32Array {
  const pixel = ds.elements.x7fe00010;
  const n = info.rows * info.columns;
  const bytesPer = info.bitsAllocated / 8;
  const bigEndian = ds.string('x00020010') === EXPLICIT_BE;
  const bytes = ds.byteArray;
  const start = bytes.byteOffset + pixel.dataOffset + frameIndex * n * bytesPer;
  if (info.bitsAllocated === 8) {
    const view = new Uint8Array(bytes.buffer, start, n);
    // In explicit big endian, pixel data with VR OW is a sequence of 16-bit words even when Bits Allocated is 8.
    if (!(bigEndian && pixel.vr === 'OW')) return view;
    const swapped = new Uint8Array(n);
    const all = new Uint8Array(bytes.buffer, start, n + (n % 2));
    for (let i = 0; i < n; i++) swapped[i] = all[i ^ 1];
    return swapped;
  }
  const Ctor = info.bitsAllocated === 16 ? Uint16Array : Uint32Array;
  if (!bigEndian && start % bytesPer === 0) return new Ctor(bytes.buffer as ArrayBuffer, start, n);
  const out = new Ctor(n);
  const dv = new DataView(bytes.buffer, start, n * bytesPer);
  if (info.bitsAllocated === 16) for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, !bigEndian);
  else for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, !bigEndian);
  return out;
}

/**
 * Stored pixel values of frame `frameIndex`, before rescale: Bits Stored extracted at High Bit, sign-extended
 * when Pixel Representation is 1. Returns a typed array whose elements are those values.
 */
export function readStoredValues(ds: DataSet, info: ImageInfo, frameIndex = 0): IntArray | Float64Array {
  const raw = rawWords(ds, info, frameIndex);
  const signed = info.pixelRepresentation === 1;
  const shift = info.highBit + 1 - info.bitsStored;
  if (shift === 0 && info.bitsStored === info.bitsAllocated) {
    // The common case: all allocated bits are stored. Signed data is the same bytes read as signed integers.
    if (!signed) return raw;
    const S = info.bitsAllocated === 8 ? Int8Array : info.bitsAllocated === 16 ? Int16Array : Int32Array;
    return new S(raw.buffer as ArrayBuffer, raw.byteOffset, raw.length);
  }
  const n = raw.length;
  const mask = info.bitsStored === 32 ? 0xffffffff : 2 ** info.bitsStored - 1;
  const out = info.bitsAllocated === 32 ? new Float64Array(n) : new Int32Array(n);
  if (!signed) {
    for (let i = 0; i < n; i++) out[i] = ((raw[i] >>> shift) & mask) >>> 0;
    return out;
  }
  const signBit = 2 ** (info.bitsStored - 1);
  const range = 2 ** info.bitsStored;
  for (let i = 0; i < n; i++) {
    const v = ((raw[i] >>> shift) & mask) >>> 0;
    out[i] = v >= signBit ? v - range : v;
  }
  return out;
}

export interface DecodedFrame extends Frame {
  info: ImageInfo;
}

/** Decodes frame 0 of a parsed data set (multi-frame objects: the first frame). */
export function decodeDataSet(ds: DataSet, file: string): DecodedFrame {
  const header = readInstanceHeader(ds, file);
  const info = readImageInfo(ds, file);
  const stored = readStoredValues(ds, info, 0);
  const pixels = new Float32Array(stored.length);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = info;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i] * slope + intercept;
    pixels[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) throw new DicomError('NO_PIXEL_DATA', file, 'image has no pixels');
  const frame: DecodedFrame = {
    sopInstanceUid: header.sopInstanceUid,
    rows: info.rows,
    columns: info.columns,
    pixels,
    // Float32 rounding: report the range of the values actually stored in `pixels`.
    minValue: Math.fround(min),
    maxValue: Math.fround(max),
    photometricInterpretation: info.photometricInterpretation,
    info,
  };
  if (info.windowCenter !== undefined && info.windowWidth !== undefined && info.windowWidth > 0) {
    frame.windowCenter = info.windowCenter;
    frame.windowWidth = info.windowWidth;
  }
  if (info.pixelSpacing) frame.pixelSpacing = info.pixelSpacing;
  if (info.sliceThickness !== undefined) frame.sliceThickness = info.sliceThickness;
  if (header.slicePosition !== undefined) frame.sliceLocation = header.slicePosition;
  if (header.instanceNumber !== undefined) frame.instanceNumber = header.instanceNumber;
  if (header.imagePositionPatient) frame.imagePositionPatient = header.imagePositionPatient;
  if (header.imageOrientationPatient) frame.imageOrientationPatient = header.imageOrientationPatient;
  return frame;
}

/** Parses and decodes a DICOM file's first frame. Throws DicomError. */
export function decodeDicomFile(bytes: Uint8Array, file: string): DecodedFrame {
  return decodeDataSet(parseDicomFile(bytes, file), file);
}

/** Strips decoder-internal fields so only the contract's Frame crosses a transport. */
export function toContractFrame(f: DecodedFrame): Frame {
  const { info: _info, ...frame } = f;
  return frame;
}
