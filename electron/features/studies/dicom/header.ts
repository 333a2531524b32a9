/**
 * Reads the attributes the workstation indexes and displays from a parsed data set:
 * identity (UIDs, patient, study, series, instance), geometry, and the Image Pixel module.
 * `readImageInfo` also validates that the pixel data is something `decodeFrame` can decode.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
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

/** Reads and validates the Image Pixel module. Throws NO_PIXEL_DATA, UNSUPPORTED_PIXEL_FORMAT or TRUNCATED. */
export function readImageInfo(ds: DataSet, file: string): ImageInfo {
  const pixel = ds.elements.x7fe00010;
  const rows = ds.uint16('x00280010');
  const columns = ds.uint16('x00280011');
  if (!pixel) throw new DicomError('NO_PIXEL_DATA', file, 'no Pixel Data (7FE0,0010): not an image (missing pixel module)');
  if (!rows || !columns) throw new DicomError('NO_PIXEL_DATA', file, 'Image Pixel module incomplete: Rows (0028,0010) or Columns (0028,0011) missing or zero');
  if (pixel.encapsulatedPixelData) {
    throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', file, `encapsulated (compressed) pixel data in ${transferSyntaxName(ds.string('x00020010') ?? '')}`);
  }
  const samples = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `only grayscale images are supported (Samples per Pixel ${samples}, Photometric Interpretation ${photometric})`);
  }
  const bitsAllocated = ds.uint16('x00280100');
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `Bits Allocated ${bitsAllocated ?? 'missing'} (supported: 8, 16, 32)`);
  }
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `inconsistent Bits Stored ${bitsStored} / High Bit ${highBit} for Bits Allocated ${bitsAllocated}`);
  }
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `Pixel Representation ${pixelRepresentation}`);
  }
  const frames = ds.intString('x00280008');
  const numberOfFrames = Number.isFinite(frames) && (frames as number) > 0 ? (frames as number) : 1;
  const frameBytes = rows * columns * (bitsAllocated / 8);
  const available = Math.min(pixel.length, ds.byteArray.length - pixel.dataOffset);
  if (available < frameBytes * numberOfFrames) {
    throw new DicomError('TRUNCATED', file, `Pixel Data holds ${available} bytes, ${frameBytes * numberOfFrames} expected for ${numberOfFrames} frame(s) of ${rows}×${columns}×${bitsAllocated} bits`);
  }
  const slope = num(ds, 'x00281053');
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
    rescaleSlope: slope === undefined || slope === 0 ? 1 : slope,
    rescaleIntercept: num(ds, 'x00281052') ?? 0,
    windowCenter: num(ds, 'x00281050'),
    windowWidth: num(ds, 'x00281051'),
    pixelSpacing: spacing as [number, number] | undefined,
    sliceThickness: num(ds, 'x00180050'),
  };
}
