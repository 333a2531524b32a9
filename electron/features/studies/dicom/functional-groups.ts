/**
 * Per-frame values of enhanced multi-frame images (Enhanced MR/CT, PS3.3 C.7.6.16): an enhanced object keeps its
 * rescale, window and geometry in functional groups rather than at the top level. For frame i, a value comes from the
 * Per-Frame Functional Groups Sequence (5200,9230) item i when present there, else from the Shared Functional Groups
 * Sequence (5200,9229), else it is absent (the top-level attributes then apply, as for classic images).
 *
 * Read here: Pixel Value Transformation (0028,9145: Rescale Intercept/Slope), Frame VOI LUT (0028,9132: Window
 * Center/Width), Plane Position (0020,9113: Image Position) and Plane Orientation (0020,9116: Image Orientation),
 * Pixel Measures (0028,9110: Pixel Spacing, Slice Thickness). A rescale that is present but not a finite number is
 * refused (INVALID_DICOM), as at the top level.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
import { sliceNormal } from './header.js';

export interface FrameValues {
  rescaleSlope?: number;
  rescaleIntercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  /** Position along the slice normal, from this frame's Image Position and Orientation. */
  slicePosition?: number;
  /** This frame's Image Position / Orientation (Patient), for the viewer's geometry (measurements in mm). */
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
}

const item = (ds: DataSet | undefined, seqTag: string, index = 0): DataSet | undefined => ds?.elements[seqTag]?.items?.[index]?.dataSet;

function decimals(ds: DataSet | undefined, tag: string, count: number, name: string, file: string, strict: boolean): number[] | undefined {
  if (!ds?.elements[tag] || ds.elements[tag].length === 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = ds.floatString(tag, i);
    if (v === undefined || !Number.isFinite(v)) {
      if (strict) throw new DicomError('INVALID_DICOM', file, `${name} in the functional groups is not a finite number`);
      return undefined;
    }
    out.push(v);
  }
  return out;
}

/** The functional-group values of frame `frameIndex`; empty for a classic (non-enhanced) image. */
export function frameValues(ds: DataSet, frameIndex: number, file: string): FrameValues {
  const shared = item(ds, 'x52009229');
  const perFrame = item(ds, 'x52009230', frameIndex);
  if (!shared && !perFrame) return {};
  /** The macro item of `seqTag` for this frame: per-frame first, then shared. */
  const macro = (seqTag: string): DataSet | undefined => item(perFrame, seqTag) ?? item(shared, seqTag);
  const out: FrameValues = {};
  const pvt = macro('x00289145');
  const slope = decimals(pvt, 'x00281053', 1, 'Rescale Slope (0028,1053)', file, true);
  const intercept = decimals(pvt, 'x00281052', 1, 'Rescale Intercept (0028,1052)', file, true);
  if (slope) out.rescaleSlope = slope[0] === 0 ? 1 : slope[0];
  if (intercept) out.rescaleIntercept = intercept[0];
  const voi = macro('x00289132');
  const center = decimals(voi, 'x00281050', 1, 'Window Center', file, false);
  const width = decimals(voi, 'x00281051', 1, 'Window Width', file, false);
  if (center && width && width[0] > 0) {
    out.windowCenter = center[0];
    out.windowWidth = width[0];
  }
  const measures = macro('x00289110');
  const spacing = decimals(measures, 'x00280030', 2, 'Pixel Spacing', file, false);
  if (spacing) out.pixelSpacing = [spacing[0], spacing[1]];
  const thickness = decimals(measures, 'x00180050', 1, 'Slice Thickness', file, false);
  if (thickness) out.sliceThickness = thickness[0];
  const ipp = decimals(macro('x00209113'), 'x00200032', 3, 'Image Position', file, false);
  const iop = decimals(macro('x00209116'), 'x00200037', 6, 'Image Orientation', file, false);
  if (ipp && iop) {
    const n = sliceNormal(iop);
    out.slicePosition = ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
  }
  if (ipp) out.imagePositionPatient = [ipp[0], ipp[1], ipp[2]];
  if (iop) out.imageOrientationPatient = [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]];
  return out;
}
