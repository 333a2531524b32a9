/**
 * The metadata Cornerstone3D asks for, answered from what the typed API gives us: the series (modality, UIDs) when
 * a series opens, and each frame's geometry (pixel spacing, position, orientation, VOI) when it is decoded.
 * Modules served: imagePixelModule, generalSeriesModule, imagePlaneModule, voiLutModule, modalityLutModule,
 * generalImageModule, generalStudyModule. DOM-free (unit-tested in Node).
 */
import type { Frame, InstanceSummary, SeriesSummary } from '../../../../electron/features/api.js';

export const IMAGE_ID_SCHEME = 'mfp:';

export function imageIdOf(sopInstanceUid: string): string {
  return `${IMAGE_ID_SCHEME}${sopInstanceUid}`;
}

export function uidOfImageId(imageId: string): string {
  return imageId.startsWith(IMAGE_ID_SCHEME) ? imageId.slice(IMAGE_ID_SCHEME.length) : imageId;
}

type Vec3 = [number, number, number];

interface Entry {
  seriesInstanceUid: string;
  studyInstanceUid: string;
  modality: string;
  seriesNumber?: number;
  seriesDescription?: string;
  instance: InstanceSummary;
  /** Index in the series' stack (0-based). */
  index: number;
  frame?: Frame;
}

/** A Frame of Reference for series whose files carry none: one per series, so annotations never cross series. */
function fallbackFrameOfReference(seriesUid: string): string {
  return `mfp-series-frame:${seriesUid}`;
}

export class ViewerMetadata {
  private readonly entries = new Map<string, Entry>();

  /** Record a series' instances (called when it opens, before any image is asked for). */
  addSeries(series: SeriesSummary, instances: readonly InstanceSummary[]): string[] {
    return instances.map((instance, index) => {
      const id = imageIdOf(instance.sopInstanceUid);
      const old = this.entries.get(id);
      this.entries.set(id, {
        seriesInstanceUid: series.seriesInstanceUid,
        studyInstanceUid: series.studyInstanceUid,
        modality: series.modality ?? 'OT',
        seriesNumber: series.seriesNumber,
        seriesDescription: series.seriesDescription,
        instance,
        index,
        frame: old?.frame,
      });
      return id;
    });
  }

  /** Record a decoded frame's geometry (the loader calls this before handing the image to Cornerstone). */
  setFrame(imageId: string, frame: Frame): void {
    const e = this.entries.get(imageId);
    if (e) e.frame = frame;
    else {
      this.entries.set(imageId, {
        seriesInstanceUid: 'unknown', studyInstanceUid: 'unknown', modality: 'OT', index: 0,
        instance: { sopInstanceUid: frame.sopInstanceUid, seriesInstanceUid: 'unknown', rows: frame.rows, columns: frame.columns },
        frame,
      });
    }
  }

  frame(imageId: string): Frame | undefined {
    return this.entries.get(imageId)?.frame;
  }

  modality(imageId: string): string | undefined {
    return this.entries.get(imageId)?.modality;
  }

  /** The geometry of an image (also used to place AI layers and orientation markers). */
  plane(imageId: string): { origin: Vec3; rowCosines: Vec3; columnCosines: Vec3; rowSpacing: number; columnSpacing: number; rows: number; columns: number; hasPatientGeometry: boolean; frameOfReferenceUID: string } | undefined {
    const e = this.entries.get(imageId);
    if (!e) return undefined;
    const f = e.frame;
    const rows = f?.rows ?? e.instance.rows;
    const columns = f?.columns ?? e.instance.columns;
    const [rowSpacing, columnSpacing] = f?.pixelSpacing && f.pixelSpacing[0] > 0 && f.pixelSpacing[1] > 0 ? f.pixelSpacing : [1, 1];
    const iop = f?.imageOrientationPatient;
    const ipp = f?.imagePositionPatient;
    const hasPatientGeometry = !!iop && !!ipp;
    const rowCosines: Vec3 = iop ? [iop[0], iop[1], iop[2]] : [1, 0, 0];
    const columnCosines: Vec3 = iop ? [iop[3], iop[4], iop[5]] : [0, 1, 0];
    // Without a position, stack the images along the normal by index so they never coincide.
    const thickness = f?.sliceThickness && f.sliceThickness > 0 ? f.sliceThickness : 1;
    const origin: Vec3 = ipp ? [ipp[0], ipp[1], ipp[2]] : [0, 0, e.index * thickness];
    return { origin, rowCosines, columnCosines, rowSpacing, columnSpacing, rows, columns, hasPatientGeometry, frameOfReferenceUID: fallbackFrameOfReference(e.seriesInstanceUid) };
  }

  get(type: string, imageId: string): unknown {
    const e = this.entries.get(imageId);
    if (!e) return undefined;
    const f = e.frame;
    switch (type) {
      case 'generalSeriesModule':
        return { modality: e.modality, seriesInstanceUID: e.seriesInstanceUid, studyInstanceUID: e.studyInstanceUid, seriesNumber: e.seriesNumber, seriesDescription: e.seriesDescription };
      case 'generalStudyModule':
        return { studyInstanceUID: e.studyInstanceUid };
      case 'generalImageModule':
        return { instanceNumber: f?.instanceNumber ?? e.instance.instanceNumber, sopInstanceUID: e.instance.sopInstanceUid };
      case 'sopCommonModule':
        return { sopInstanceUID: e.instance.sopInstanceUid };
      case 'imagePixelModule': {
        const signed = f ? f.minValue < 0 : false;
        return {
          samplesPerPixel: 1,
          photometricInterpretation: f?.photometricInterpretation ?? 'MONOCHROME2',
          rows: f?.rows ?? e.instance.rows,
          columns: f?.columns ?? e.instance.columns,
          bitsAllocated: 16,
          bitsStored: 16,
          highBit: 15,
          pixelRepresentation: signed ? 1 : 0,
        };
      }
      case 'imagePlaneModule': {
        const p = this.plane(imageId)!;
        return {
          frameOfReferenceUID: p.frameOfReferenceUID,
          rows: p.rows,
          columns: p.columns,
          imageOrientationPatient: [...p.rowCosines, ...p.columnCosines],
          rowCosines: p.rowCosines,
          columnCosines: p.columnCosines,
          imagePositionPatient: p.origin,
          sliceThickness: f?.sliceThickness,
          sliceLocation: f?.sliceLocation ?? e.instance.sliceLocation,
          pixelSpacing: [p.rowSpacing, p.columnSpacing],
          rowPixelSpacing: p.rowSpacing,
          columnPixelSpacing: p.columnSpacing,
          usingDefaultValues: !p.hasPatientGeometry,
        };
      }
      case 'voiLutModule': {
        if (f?.windowCenter !== undefined && f.windowWidth !== undefined && f.windowWidth > 0) {
          return { windowCenter: [f.windowCenter], windowWidth: [f.windowWidth] };
        }
        const lo = f?.minValue ?? 0;
        const hi = f?.maxValue ?? 1;
        return { windowCenter: [(lo + hi) / 2], windowWidth: [Math.max(1, hi - lo)] };
      }
      case 'modalityLutModule':
        return { rescaleSlope: 1, rescaleIntercept: 0 };
      default:
        return undefined;
    }
  }
}

export const viewerMetadata = new ViewerMetadata();
