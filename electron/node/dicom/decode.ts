/**
 * Decodes one frame of native (uncompressed) grayscale pixel data into modality values (Float32Array).
 *
 * Handles Bits Allocated 8/16/32, unsigned and two's-complement pixels, Bits Stored < Bits Allocated
 * (High Bit position, masking, sign extension), Rescale Slope/Intercept, little and big endian
 * (including 8-bit OW pixel data in big endian, which is stored as byte-swapped 16-bit words).
 * MONOCHROME1 is reported, not inverted: inversion is a display step.
 */
import type { DataSet } from 'dicom-parser';
import type { Frame } from '../../common/contract.js';
import { DicomError } from './errors.js';
import { readImageInfo, readInstanceHeader, type ImageInfo } from './header.js';
import { parseDicomFile } from './parse.js';
import { EXPLICIT_BE } from './transfer-syntax.js';

/** Stored pixel values of frame `frameIndex`, before rescale, as plain numbers in a Float64-safe range. */
export function readStoredValues(ds: DataSet, info: ImageInfo, frameIndex = 0): Float64Array | Int32Array {
  const pixel = ds.elements.x7fe00010;
  const n = info.rows * info.columns;
  const bytesPer = info.bitsAllocated / 8;
  const bigEndian = ds.string('x00020010') === EXPLICIT_BE;
  const bytes = ds.byteArray;
  const start = pixel.dataOffset + frameIndex * n * bytesPer;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shift = info.highBit + 1 - info.bitsStored;
  const mask = info.bitsStored === 32 ? 0xffffffff : 2 ** info.bitsStored - 1;
  const signed = info.pixelRepresentation === 1;
  const signBit = 2 ** (info.bitsStored - 1);
  const range = 2 ** info.bitsStored;

  const out = info.bitsAllocated === 32 ? new Float64Array(n) : new Int32Array(n);
  // In explicit big endian, pixel data with VR OW is a sequence of 16-bit words even when Bits Allocated is 8.
  const swapBytePairs = bigEndian && info.bitsAllocated === 8 && pixel.vr === 'OW';
  for (let i = 0; i < n; i++) {
    let raw: number;
    if (info.bitsAllocated === 8) raw = bytes[start + (swapBytePairs ? i ^ 1 : i)];
    else if (info.bitsAllocated === 16) raw = view.getUint16(start + 2 * i, !bigEndian);
    else raw = view.getUint32(start + 4 * i, !bigEndian);
    let v = ((raw >>> shift) & mask) >>> 0;
    if (signed && v >= signBit) v -= range;
    out[i] = v;
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
