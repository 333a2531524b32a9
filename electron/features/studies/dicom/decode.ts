/**
 * Decodes one frame of grayscale pixel data into modality values (Float32Array): native pixel data directly,
 * encapsulated (compressed) pixel data through codecs/index.ts, which yields the same stored words.
 *
 * Handles Bits Allocated 8/16/32, unsigned and two's-complement pixels, Bits Stored < Bits Allocated
 * (High Bit position, masking, sign extension), Rescale Slope/Intercept, little and big endian
 * (including 8-bit OW pixel data in big endian, which is stored as byte-swapped 16-bit words).
 * MONOCHROME1 is reported, not inverted: inversion is a display step.
 */
import dicomParser, { type DataSet } from 'dicom-parser';
import type { Frame } from '../../api.js';
import { DicomError } from './errors.js';
import { frameValues } from './functional-groups.js';
import { MAX_MODALITY_MAGNITUDE, readImageInfo, readInstanceHeader, type ImageInfo } from './header.js';
import { decodeCompressedFrame, prepareCodec } from './codecs/index.js';
import { parseDicomFile, typedDicom } from './parse.js';
import { validateDataSet } from './validate.js';
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

/** The compressed bytes of frame `frameIndex` of encapsulated pixel data (PS3.5 A.4). */
function encapsulatedFrame(ds: DataSet, info: ImageInfo, frameIndex: number, file: string): Uint8Array {
  const el = ds.elements.x7fe00010;
  const fragments = el.fragments ?? [];
  if (info.numberOfFrames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length) as Uint8Array;
  if ((el.basicOffsetTable?.length ?? 0) > 0) return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex) as Uint8Array;
  if (fragments.length === info.numberOfFrames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frameIndex, 1) as Uint8Array;
  // No offset table and several fragments per frame: JPEG frames can be found by their start-of-image markers.
  const ts = ds.string('x00020010') ?? '';
  if (ts.startsWith('1.2.840.10008.1.2.4.5') || ts.startsWith('1.2.840.10008.1.2.4.7') || ts.startsWith('1.2.840.10008.1.2.4.8')) {
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    if (table.length === info.numberOfFrames) return dicomParser.readEncapsulatedImageFrame(ds, el, frameIndex, table) as Uint8Array;
  }
  throw new DicomError('INVALID_DICOM', file, `${info.numberOfFrames} frames in ${fragments.length} fragments without a Basic Offset Table: the frames cannot be told apart`);
}

/** The frame's stored words (native or decoded), Bits Allocated wide, in host order. */
function frameWords(ds: DataSet, info: ImageInfo, frameIndex: number, file: string): Uint8Array | Uint16Array | Uint32Array {
  if (!ds.elements.x7fe00010.encapsulatedPixelData) return rawWords(ds, info, frameIndex);
  const encoded = encapsulatedFrame(ds, info, frameIndex, file);
  return decodeCompressedFrame(ds.string('x00020010') ?? '', encoded, { ...info, frameIndex }, file);
}

/**
 * Stored pixel values of frame `frameIndex`, before rescale: Bits Stored extracted at High Bit, sign-extended
 * when Pixel Representation is 1. Returns a typed array whose elements are those values.
 */
export function readStoredValues(ds: DataSet, info: ImageInfo, frameIndex = 0, file = ''): IntArray | Float64Array {
  const raw = frameWords(ds, info, frameIndex, file);
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

/** Decodes frame `frameIndex` (0-based) of a parsed data set. */
export function decodeDataSet(ds: DataSet, file: string, frameIndex = 0): DecodedFrame {
  const header = readInstanceHeader(ds, file);
  const info = readImageInfo(ds, file);
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= info.numberOfFrames) {
    throw new DicomError('NO_PIXEL_DATA', file, `no frame ${frameIndex + 1}: the instance has ${info.numberOfFrames} frame(s)`);
  }
  // Enhanced multi-frame objects carry rescale, window and geometry per frame (functional groups).
  const fv = frameValues(ds, frameIndex, file);
  const slope = fv.rescaleSlope ?? info.rescaleSlope;
  const intercept = fv.rescaleIntercept ?? info.rescaleIntercept;
  if (Math.abs(slope) * 2 ** info.bitsStored + Math.abs(intercept) > MAX_MODALITY_MAGNITUDE) {
    throw new DicomError('INVALID_DICOM', file, `frame ${frameIndex + 1}: Rescale Slope ${slope} / Intercept ${intercept} map ${info.bitsStored}-bit values beyond ±${MAX_MODALITY_MAGNITUDE}`);
  }
  const stored = readStoredValues(ds, info, frameIndex, file);
  const pixels = new Float32Array(stored.length);
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
  if (fv.windowCenter !== undefined && fv.windowWidth !== undefined) {
    frame.windowCenter = fv.windowCenter;
    frame.windowWidth = fv.windowWidth;
  } else if (info.windowCenter !== undefined && info.windowWidth !== undefined && info.windowWidth > 0) {
    frame.windowCenter = info.windowCenter;
    frame.windowWidth = info.windowWidth;
  }
  const spacing = fv.pixelSpacing ?? info.pixelSpacing;
  if (spacing) frame.pixelSpacing = spacing;
  const thickness = fv.sliceThickness ?? info.sliceThickness;
  if (thickness !== undefined) frame.sliceThickness = thickness;
  const position = fv.slicePosition ?? header.slicePosition;
  if (position !== undefined) frame.sliceLocation = position;
  if (header.instanceNumber !== undefined) frame.instanceNumber = header.instanceNumber;
  const ipp = fv.imagePositionPatient ?? header.imagePositionPatient;
  if (ipp) frame.imagePositionPatient = ipp;
  const iop = fv.imageOrientationPatient ?? header.imageOrientationPatient;
  if (iop) frame.imageOrientationPatient = iop;
  return frame;
}

/**
 * Parses, validates and decodes one frame of a DICOM file (default the first). Throws DicomError only. A compressed
 * file needs its codec loaded first (`decodeDicomFileAsync` does that; so does importing the file).
 */
export function decodeDicomFile(bytes: Uint8Array, file: string, frameIndex = 0): DecodedFrame {
  return typedDicom(file, () => {
    const ds = parseDicomFile(bytes, file);
    validateDataSet(ds, file);
    return decodeDataSet(ds, file, frameIndex);
  });
}

/** The transfer syntax in a file's meta header, or undefined (no Part 10 header, unreadable). Never throws. */
export function peekTransferSyntax(bytes: Uint8Array): string | undefined {
  try {
    return dicomParser.readPart10Header(bytes).string('x00020010');
  } catch {
    return undefined;
  }
}

/** Loads the codec the file needs (if any), then decodes like `decodeDicomFile`. */
export async function decodeDicomFileAsync(bytes: Uint8Array, file: string, frameIndex = 0): Promise<DecodedFrame> {
  const ts = peekTransferSyntax(bytes);
  if (ts) await prepareCodec(ts).catch(() => undefined); // a codec that fails to load surfaces as DECODE_FAILED
  return decodeDicomFile(bytes, file, frameIndex);
}

/** Strips decoder-internal fields so only the contract's Frame crosses a transport. */
export function toContractFrame(f: DecodedFrame): Frame {
  const { info: _info, ...frame } = f;
  return frame;
}
