/**
 * The intended-use gate: the AI answers only for the kind of image it was trained on (axial brain MR slices, Br35H),
 * decided from the DICOM header before any model runs. Anything else gets "outside intended use: <reason>" with no
 * label, no probability and no security alert (scan service and `medfedpure scan`); the reasons are audited.
 *
 * Rules (all must hold; every failing one is named):
 *  - Modality (0008,0060) is MR.
 *  - Body part: Body Part Examined (0018,0015) is BRAIN, HEAD or SKULL; when it is absent, the study or series
 *    description or protocol name says brain/head/neuro/cranial. Neither → outside ("body part not stated").
 *  - Axial: the slice normal (row × column direction of Image Orientation (Patient)) lies within
 *    AXIAL_TOLERANCE_DEG = 30° of the patient's superior–inferior axis. Why 30°: axial brain series are planned
 *    along the AC–PC or orbitomeatal line, which tilts them typically 10–25° from the scanner's true axial plane,
 *    and those are the slices the classifier learnt from; coronal and sagittal slices lie 90° away, and a plane
 *    between 30° and 60° is a double oblique that shows the anatomy in a way the training set never did.
 *    No orientation in the header → outside ("orientation unknown").
 *  - Single frame, greyscale (Samples per Pixel 1, MONOCHROME1/2).
 *  - A sane matrix: each side MIN_SIDE–MAX_SIDE pixels and an aspect ratio of at most MAX_ASPECT (the image is
 *    letterboxed to 64×64: a smaller or stretched one leaves too few pixels of brain).
 * Image files without a DICOM header (JPEG, PNG) cannot be checked: they are answered as what they are, images of
 * the research benchmark's kind, and the result says so.
 */
import type { IntendedUse } from './api.js';
import type { ImageFacts } from '../studies/dicom/facts.js';

export const AXIAL_TOLERANCE_DEG = 30;
export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;
export const MAX_ASPECT = 2;
const BRAIN_BODY_PARTS = new Set(['BRAIN', 'HEAD', 'SKULL']);
const BRAIN_WORDS = /\b(brain|head|neuro\w*|cerebr\w*|cranial|intracranial|skull)\b/i;

export const RESEARCH_BENCHMARK_NOTE =
  'image file without a DICOM header: modality, body part and orientation cannot be checked; answered as a research-benchmark image (Br35H kind), not a clinical study';

/** Angle in degrees between the slice normal and the patient's S axis (0 = true axial, 90 = sagittal or coronal). */
export function tiltFromAxial(iop: readonly number[]): number {
  const n = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
  const len = Math.hypot(n[0], n[1], n[2]);
  if (!(len > 1e-6)) return Number.NaN;
  return (Math.acos(Math.min(1, Math.abs(n[2]) / len)) * 180) / Math.PI;
}

/** The plane a slice normal is closest to, for messages. */
function planeName(iop: readonly number[]): string {
  const n = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]].map(Math.abs);
  return n[2] >= n[0] && n[2] >= n[1] ? 'oblique' : n[0] >= n[1] ? 'sagittal' : 'coronal';
}

/** The gate. `null` facts = an image file without a DICOM header. */
export function checkIntendedUse(facts: ImageFacts | null): IntendedUse {
  if (facts === null) return { status: 'research-benchmark', note: RESEARCH_BENCHMARK_NOTE };
  const reasons: string[] = [];
  const modality = facts.modality?.toUpperCase();
  if (modality !== 'MR') reasons.push(modality ? `modality ${modality}, not MR` : 'modality not stated (0008,0060)');

  const part = facts.bodyPartExamined?.toUpperCase();
  let bodyPart = part;
  if (part === undefined) {
    const described = [facts.studyDescription, facts.seriesDescription, facts.protocolName].find((d) => d && BRAIN_WORDS.test(d));
    if (described) bodyPart = `brain (from "${described}")`;
    else reasons.push('body part not stated as brain (no Body Part Examined, no brain or head in the descriptions)');
  } else if (!BRAIN_BODY_PARTS.has(part)) reasons.push(`body part ${part}, not brain`);

  let tilt = Number.NaN;
  if (!facts.imageOrientationPatient) reasons.push('orientation unknown (no Image Orientation (Patient)): axial slices only');
  else {
    tilt = tiltFromAxial(facts.imageOrientationPatient);
    if (!Number.isFinite(tilt)) reasons.push('orientation invalid (row and column directions are parallel)');
    else if (tilt > AXIAL_TOLERANCE_DEG) {
      reasons.push(`${planeName(facts.imageOrientationPatient)} slice (${Math.round(tilt)}° from axial; axial within ${AXIAL_TOLERANCE_DEG}° only)`);
    }
  }

  if (facts.numberOfFrames !== 1) reasons.push(`${facts.numberOfFrames} frames: single-frame images only`);
  const photometric = facts.photometricInterpretation?.toUpperCase() ?? 'MONOCHROME2';
  if (facts.samplesPerPixel !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    reasons.push(`not greyscale (${facts.samplesPerPixel} samples per pixel, ${photometric})`);
  }
  const { rows, columns } = facts;
  const lo = Math.min(rows, columns), hi = Math.max(rows, columns);
  if (lo < MIN_SIDE || hi > MAX_SIDE) reasons.push(`matrix ${columns}×${rows}: each side must be ${MIN_SIDE}–${MAX_SIDE} pixels`);
  else if (hi / lo > MAX_ASPECT) reasons.push(`matrix ${columns}×${rows}: aspect ratio over ${MAX_ASPECT}:1`);

  if (reasons.length > 0) return { status: 'outside', reasons };
  return { status: 'in-use', summary: `MR · ${bodyPart} · axial (${Math.round(tilt)}° tilt) · ${columns}×${rows}` };
}

/** "outside intended use: a; b" for a verdict that is outside. */
export function outsideMessage(reasons: readonly string[]): string {
  return `outside intended use: ${reasons.join('; ')}`;
}
