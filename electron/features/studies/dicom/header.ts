/**
 * Reads the attributes the workstation indexes and displays from a parsed data set:
 * identity (UIDs, patient, study, series, instance), geometry, and the Image Pixel module.
 * `readImageInfo` also validates that the pixel data is something `decodeFrame` can decode, that its declared size is
 * within limits.ts (before anything is allocated for it), and that the rescale maps every stored value to a finite
 * Float32.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
import { checkDeclaredImage } from './limits.js';
import { isCompressedSyntax } from './codecs/index.js';
import { transferSyntaxName } from './transfer-syntax.js';

export interface InstanceHeader {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patient: { id: string; name: string; birthDate?: string; sex?: string };
  study: { date?: string; time?: string; description?: string; accessionNumber?: string; studyId?: string };
  series: { number?: number; description?: string; modality?: string };
  instanceNumber?: number;
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** Position along the slice normal (ImagePositionPatient · (row × column direction)), else Slice Location (0020,1041). */
  slicePosition?: number;
}

export interface ImageInfo {
  rows: number;
  columns: number;
  numberOfFrames: number;
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: 0 | 1;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  pixelSpacing?: [number, number];
  sliceThickness?: number;
}

const str = (ds: DataSet, tag: string): string | undefined => {
  const v = ds.string(tag);
  return v === undefined || v === '' ? undefined : v;
};

const num = (ds: DataSet, tag: string, index = 0): number | undefined => {
  const v = ds.floatString(tag, index);
  return v === undefined || !Number.isFinite(v) ? undefined : v;
};

function numbers(ds: DataSet, tag: string, count: number): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = num(ds, tag, i);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** Slice normal = row direction × column direction (both from ImageOrientationPatient). */
export function sliceNormal(o: readonly number[]): [number, number, number] {
  return [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
}

export function readInstanceHeader(ds: DataSet, file: string): InstanceHeader {
  const sopInstanceUid = str(ds, 'x00080018') ?? str(ds, 'x00020003');
  const studyInstanceUid = str(ds, 'x0020000d');
  const seriesInstanceUid = str(ds, 'x0020000e');
  const missing = [
    sopInstanceUid ? null : 'SOP Instance UID (0008,0018)',
    studyInstanceUid ? null : 'Study Instance UID (0020,000D)',
    seriesInstanceUid ? null : 'Series Instance UID (0020,000E)',
  ].filter((x): x is string => x !== null);
  if (missing.length > 0) throw new DicomError('MISSING_UID', file, `missing ${missing.join(', ')}`);

  const ipp = numbers(ds, 'x00200032', 3) as InstanceHeader['imagePositionPatient'];
  const iop = numbers(ds, 'x00200037', 6) as InstanceHeader['imageOrientationPatient'];
  let slicePosition: number | undefined;
  if (ipp && iop) {
    const n = sliceNormal(iop);
    slicePosition = ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
  } else {
    slicePosition = num(ds, 'x00201041');
  }
  const instanceNumber = ds.intString('x00200013');
  const seriesNumber = ds.intString('x00200011');
  return {
    transferSyntaxUid: str(ds, 'x00020010') ?? '',
    sopClassUid: str(ds, 'x00080016') ?? str(ds, 'x00020002'),
    sopInstanceUid: sopInstanceUid!,
    studyInstanceUid: studyInstanceUid!,
    seriesInstanceUid: seriesInstanceUid!,
    patient: { id: str(ds, 'x00100020') ?? '', name: str(ds, 'x00100010') ?? '', birthDate: str(ds, 'x00100030'), sex: str(ds, 'x00100040') },
    study: {
      date: str(ds, 'x00080020'),
      time: str(ds, 'x00080030'),
      description: str(ds, 'x00081030'),
      accessionNumber: str(ds, 'x00080050'),
      studyId: str(ds, 'x00200010'),
    },
    series: {
      number: Number.isFinite(seriesNumber) ? seriesNumber : undefined,
      description: str(ds, 'x0008103e'),
      modality: str(ds, 'x00080060'),
    },
    instanceNumber: Number.isFinite(instanceNumber) ? instanceNumber : undefined,
    imagePositionPatient: ipp,
    imageOrientationPatient: iop,
    slicePosition,
  };
}

/** A US attribute of the Image Pixel module: absent, or exactly one 16-bit value (VR US when explicit). */
function pixelModuleUs(ds: DataSet, tag: string, name: string, file: string): number | undefined {
  const el = ds.elements[tag];
  if (!el) return undefined;
  if ((el.vr !== undefined && el.vr !== 'US') || el.length !== 2) {
    throw new DicomError('INVALID_DICOM', file, `${name} must be one US value (2 bytes); found VR ${el.vr ?? 'implicit'} with ${el.length} bytes`);
  }
  return ds.uint16(tag);
}

/** A DS attribute that, when present, must be a finite number (an unreadable rescale would corrupt every pixel). */
function strictDecimal(ds: DataSet, tag: string, name: string, file: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const v = ds.floatString(tag);
  if (v === undefined || !Number.isFinite(v)) throw new DicomError('INVALID_DICOM', file, `${name} ${JSON.stringify(ds.string(tag)?.slice(0, 32))} is not a finite number`);
  return v;
}

/** Largest magnitude a decoded value may reach: well inside Float32 (3.4e38), so min/max and windowing stay finite. */
export const MAX_MODALITY_MAGNITUDE = 1e30;

/** Reads and validates the Image Pixel module. Throws NO_PIXEL_DATA, UNSUPPORTED_PIXEL_FORMAT, TOO_LARGE, INVALID_DICOM or TRUNCATED. */
export function readImageInfo(ds: DataSet, file: string): ImageInfo {
  const pixel = ds.elements.x7fe00010;
  const rows = pixelModuleUs(ds, 'x00280010', 'Rows (0028,0010)', file);
  const columns = pixelModuleUs(ds, 'x00280011', 'Columns (0028,0011)', file);
  if (!pixel) throw new DicomError('NO_PIXEL_DATA', file, 'no Pixel Data (7FE0,0010): not an image (missing pixel module)');
  if (!rows || !columns) throw new DicomError('NO_PIXEL_DATA', file, 'Image Pixel module incomplete: Rows (0028,0010) or Columns (0028,0011) missing or zero');
  const samples = pixelModuleUs(ds, 'x00280002', 'Samples per Pixel (0028,0002)', file) ?? 1;
  const bitsAllocatedRaw = pixelModuleUs(ds, 'x00280100', 'Bits Allocated (0028,0100)', file);
  const framesText = ds.elements.x00280008 && ds.elements.x00280008.length > 0 ? ds.string('x00280008') : undefined;
  let numberOfFrames = 1;
  if (framesText !== undefined) {
    if (!/^\+?[0-9]{1,12}$/.test(framesText) || Number(framesText) < 1) throw new DicomError('INVALID_DICOM', file, `Number of Frames (0028,0008) ${JSON.stringify(framesText.slice(0, 32))} is not a positive integer`);
    numberOfFrames = Number(framesText);
  }
  // Before anything else looks at the pixels: does the declared image fit the limits?
  checkDeclaredImage(file, { rows, columns, frames: numberOfFrames, samplesPerPixel: samples, bitsAllocated: bitsAllocatedRaw ?? 16 });
  const ts = ds.string('x00020010') ?? '';
  const encapsulated = pixel.encapsulatedPixelData === true;
  if (encapsulated !== isCompressedSyntax(ts)) {
    const guessed = (ds.elements.x00020010 as { Value?: unknown } | undefined)?.Value !== undefined;
    throw new DicomError(encapsulated ? 'UNSUPPORTED_TRANSFER_SYNTAX' : 'INVALID_DICOM', file, encapsulated
      ? guessed
        ? 'compressed pixel data in a file without a meta header: nothing says which codec it needs'
        : `encapsulated (compressed) pixel data in ${transferSyntaxName(ts)}, which has no codec here`
      : `native pixel data in a compressed transfer syntax (${transferSyntaxName(ts)})`);
  }
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `only grayscale images are supported (Samples per Pixel ${samples}, Photometric Interpretation ${photometric.slice(0, 16)})`);
  }
  const bitsAllocated = bitsAllocatedRaw;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `Bits Allocated ${bitsAllocated ?? 'missing'} (supported: 8, 16, 32)`);
  }
  const bitsStored = pixelModuleUs(ds, 'x00280101', 'Bits Stored (0028,0101)', file) ?? bitsAllocated;
  const highBit = pixelModuleUs(ds, 'x00280102', 'High Bit (0028,0102)', file) ?? bitsStored - 1;
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `inconsistent Bits Stored ${bitsStored} / High Bit ${highBit} for Bits Allocated ${bitsAllocated}`);
  }
  const pixelRepresentation = pixelModuleUs(ds, 'x00280103', 'Pixel Representation (0028,0103)', file) ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `Pixel Representation ${pixelRepresentation}`);
  }
  const frameBytes = rows * columns * (bitsAllocated / 8);
  const available = Math.min(pixel.length, ds.byteArray.length - pixel.dataOffset);
  if (encapsulated) {
    // One fragment at least; a frame's size is known only after decoding (the codecs check it against Rows × Columns).
    if ((pixel.fragments?.length ?? 0) === 0) throw new DicomError('NO_PIXEL_DATA', file, 'encapsulated Pixel Data has no fragments');
  } else if (available < frameBytes * numberOfFrames) {
    throw new DicomError('TRUNCATED', file, `Pixel Data holds ${available} bytes, ${frameBytes * numberOfFrames} expected for ${numberOfFrames} frame(s) of ${rows}×${columns}×${bitsAllocated} bits`);
  }
  const slope = strictDecimal(ds, 'x00281053', 'Rescale Slope (0028,1053)', file);
  const intercept = strictDecimal(ds, 'x00281052', 'Rescale Intercept (0028,1052)', file) ?? 0;
  const rescaleSlope = slope === undefined || slope === 0 ? 1 : slope;
  const largestStored = 2 ** bitsStored;
  if (Math.abs(rescaleSlope) * largestStored + Math.abs(intercept) > MAX_MODALITY_MAGNITUDE) {
    throw new DicomError('INVALID_DICOM', file, `Rescale Slope ${rescaleSlope} / Intercept ${intercept} map ${bitsStored}-bit values beyond ±${MAX_MODALITY_MAGNITUDE}`);
  }
  const spacing = numbers(ds, 'x00280030', 2);
  return {
    rows,
    columns,
    numberOfFrames,
    photometricInterpretation: photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    rescaleSlope,
    rescaleIntercept: intercept,
    windowCenter: num(ds, 'x00281050'),
    windowWidth: num(ds, 'x00281051'),
    pixelSpacing: spacing as [number, number] | undefined,
    sliceThickness: num(ds, 'x00180050'),
  };
}
