/**
 * The header facts an AI's intended-use check needs (electron/features/scan/intended-use.ts): what was imaged
 * (modality, body part, descriptions), in which plane (Image Orientation (Patient)), and what kind of image it is
 * (frames, samples, photometric interpretation, matrix). Read straight from the data set, without decoding pixels
 * and without throwing for values the importer would accept: a missing attribute is reported as missing, so the
 * check can name it.
 */
import type { DataSet } from 'dicom-parser';

export interface ImageFacts {
  sopClassUid?: string;
  /** (0008,0060), e.g. 'MR'. */
  modality?: string;
  /** (0018,0015), e.g. 'BRAIN' or 'HEAD' (PS3.16 Annex L defined terms). */
  bodyPartExamined?: string;
  studyDescription?: string;
  seriesDescription?: string;
  /** (0018,1030). */
  protocolName?: string;
  /** (0020,0037): row direction cosines then column direction cosines, patient coordinates (LPS). */
  imageOrientationPatient?: [number, number, number, number, number, number];
  numberOfFrames: number;
  samplesPerPixel: number;
  photometricInterpretation?: string;
  rows: number;
  columns: number;
}

const MAX_TEXT = 256;

function text(ds: DataSet, tag: string): string | undefined {
  let v: string | undefined;
  try {
    v = ds.string(tag);
  } catch {
    return undefined;
  }
  v = v?.trim();
  return v ? v.slice(0, MAX_TEXT) : undefined;
}

function orientation(ds: DataSet): ImageFacts['imageOrientationPatient'] {
  const out: number[] = [];
  for (let i = 0; i < 6; i++) {
    let v: number | undefined;
    try {
      v = ds.floatString('x00200037', i);
    } catch {
      return undefined;
    }
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out as ImageFacts['imageOrientationPatient'];
}

export function readImageFacts(ds: DataSet): ImageFacts {
  const frames = ds.intString('x00280008');
  const facts: ImageFacts = {
    numberOfFrames: Number.isFinite(frames) && (frames as number) > 0 ? (frames as number) : 1,
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
  };
  const fields: Array<[keyof ImageFacts, string]> = [
    ['sopClassUid', 'x00080016'],
    ['modality', 'x00080060'],
    ['bodyPartExamined', 'x00180015'],
    ['studyDescription', 'x00081030'],
    ['seriesDescription', 'x0008103e'],
    ['protocolName', 'x00181030'],
    ['photometricInterpretation', 'x00280004'],
  ];
  for (const [key, tag] of fields) {
    const v = text(ds, tag);
    if (v !== undefined) (facts as unknown as Record<string, string>)[key] = v;
  }
  const iop = orientation(ds);
  if (iop) facts.imageOrientationPatient = iop;
  return facts;
}
