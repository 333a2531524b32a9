/**
 * AI results of one analysed series as a DICOM Comprehensive SR (SOP Class 1.2.840.10008.5.1.4.1.1.88.33), written
 * with dcmjs, so a PACS keeps them beside the images and any DICOM viewer can show them.
 *
 * The document is a new series in the source study (same patient and study attributes), with:
 *  - observation context: the device observer (this workstation's software, name and version);
 *  - a series summary: overall finding, images analysed, images flagged by the adversarial-input detector;
 *  - one container per analysed image: a reference to the source image (IMAGE item, SOP Class + Instance UID), the
 *    finding, p(tumour), the detector flag, its score and calibrated threshold, the purification start t* and the
 *    defence mode;
 *  - one container per model (name, version, sha256, whether its weights are trained);
 *  - a plain-text caution that this is decision support, unverified by a physician (Verification Flag UNVERIFIED).
 * Every source image is also listed in Current Requested Procedure Evidence, as PS3.3 C.17.2 asks.
 *
 * Concepts without a DICOM or LOINC code use the private coding scheme 99MFP (PS3.16 8.2: designators starting with
 * "99" are local); the same scheme names the audit event types (electron/features/audit/codes.ts).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ScanResult } from '../api.js';

interface DcmjsData {
  DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
  DicomMetaDictionary: { denaturalizeDataset(ds: Record<string, unknown>): unknown };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
/** UUID-derived root (PS3.5 B.2) of this implementation's class UID. */
const IMPLEMENTATION_CLASS_UID = '2.25.184733460541519216913375064577004958353';

/** A new UID under the UUID-derived root 2.25 (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
}

interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}
const code = (value: string, scheme: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });
const mfp = (value: string, meaning: string): Code => code(value, '99MFP', meaning);

export const SR_CODES = {
  title: mfp('MFP-RPT', 'AI Brain MRI Analysis Report'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceName: code('121013', 'DCM', 'Device Observer Name'),
  deviceManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceModel: code('121015', 'DCM', 'Device Observer Model Name'),
  finding: code('121071', 'DCM', 'Finding'),
  source: code('121112', 'DCM', 'Source of Measurement'),
  comment: code('121106', 'DCM', 'Comment'),
  tumour: mfp('MFP-TUM', 'Brain tumour suspected'),
  noTumour: mfp('MFP-NOTUM', 'No brain tumour suspected'),
  imageResult: mfp('MFP-IMG', 'Analysed image'),
  pTumour: mfp('MFP-PTUM', 'Probability of tumour'),
  detector: mfp('MFP-DET', 'Adversarial input detector'),
  flagged: mfp('MFP-FLAG', 'Flagged: purified before classification'),
  notFlagged: mfp('MFP-CLEAR', 'Not flagged'),
  detectorScore: mfp('MFP-SCORE', 'Detector score'),
  detectorThreshold: mfp('MFP-THR', 'Detector threshold'),
  tStar: mfp('MFP-TSTAR', 'Purification start step t*'),
  mode: mfp('MFP-MODE', 'Defence mode'),
  imagesAnalysed: mfp('MFP-NIMG', 'Images analysed'),
  imagesFlagged: mfp('MFP-NFLAG', 'Images flagged'),
  model: mfp('MFP-MODEL', 'AI model'),
  modelName: mfp('MFP-MNAME', 'Model name'),
  modelVersion: mfp('MFP-MVER', 'Model version'),
  modelSha256: mfp('MFP-MSHA', 'Model SHA-256'),
  modelTrained: mfp('MFP-MTRN', 'Model weights trained'),
  unity: code('1', 'UCUM', 'no units'),
  steps: code('{steps}', 'UCUM', 'steps'),
} as const;

export interface ReportImage {
  sopClassUid: string;
  sopInstanceUid: string;
  result: ScanResult;
}

export interface ReportInput {
  patient: { id: string; name: string; birthDate?: string; sex?: string };
  study: { studyInstanceUid: string; date?: string; time?: string; accessionNumber?: string; studyId?: string; description?: string };
  sourceSeriesInstanceUid: string;
  images: readonly ReportImage[];
  software: { name: string; version: string; workstation: string };
  now?: Date;
}

export interface BuiltReport {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/** DS values: at most 16 characters (PS3.5 6.2). */
export function ds(x: number): string {
  for (let p = 10; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  return x.toExponential(4);
}

const text = (rel: string, concept: Code, value: string) => ({ RelationshipType: rel, ValueType: 'TEXT', ConceptNameCodeSequence: [concept], TextValue: value.slice(0, 1024) });
const codeItem = (rel: string, concept: Code, value: Code) => ({ RelationshipType: rel, ValueType: 'CODE', ConceptNameCodeSequence: [concept], ConceptCodeSequence: [value] });
const numItem = (rel: string, concept: Code, value: number, unit: Code) => ({
  RelationshipType: rel,
  ValueType: 'NUM',
  ConceptNameCodeSequence: [concept],
  MeasuredValueSequence: [{ NumericValue: ds(value), MeasurementUnitsCodeSequence: [unit] }],
});
const container = (rel: string, concept: Code, items: unknown[]) => ({ RelationshipType: rel, ValueType: 'CONTAINER', ConceptNameCodeSequence: [concept], ContinuityOfContent: 'SEPARATE', ContentSequence: items });

function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString(); // UTC, stated in TimezoneOffsetFromUTC
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

function imageContainer(img: ReportImage): unknown {
  const r = img.result;
  const source = { RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ConceptNameCodeSequence: [SR_CODES.source], ReferencedSOPSequence: [{ ReferencedSOPClassUID: img.sopClassUid, ReferencedSOPInstanceUID: img.sopInstanceUid }] };
  // Outside the AI's intended use (scan/intended-use.ts): the reason, and no finding or probability.
  if (r.label === null || r.probabilities === null) {
    const why = r.intendedUse?.status === 'outside' ? r.intendedUse.reasons.join('; ') : 'not an axial brain MR slice';
    return container('CONTAINS', SR_CODES.imageResult, [source, text('CONTAINS', SR_CODES.comment, `Outside intended use: ${why}. No AI finding.`)]);
  }
  const items: unknown[] = [
    source,
    codeItem('CONTAINS', SR_CODES.finding, r.label === 'tumour' ? SR_CODES.tumour : SR_CODES.noTumour),
    numItem('CONTAINS', SR_CODES.pTumour, r.probabilities[1] ?? 0, SR_CODES.unity),
    codeItem('CONTAINS', SR_CODES.detector, r.flagged ? SR_CODES.flagged : SR_CODES.notFlagged),
  ];
  if (r.score !== null) items.push(numItem('CONTAINS', SR_CODES.detectorScore, r.score, SR_CODES.unity));
  if (r.threshold !== null) items.push(numItem('CONTAINS', SR_CODES.detectorThreshold, r.threshold, SR_CODES.unity));
  items.push(numItem('CONTAINS', SR_CODES.tStar, r.tStar, SR_CODES.steps));
  items.push(text('CONTAINS', SR_CODES.mode, r.mode));
  if (r.state === 'unlike-training-data') items.push(text('CONTAINS', SR_CODES.comment, 'Unlike the training data: the AI may be wrong here.'));
  return container('CONTAINS', SR_CODES.imageResult, items);
}

/** Builds the SR. Throws when there is nothing to report (no images) or the images span another series. */
export function buildAnalysisReport(input: ReportInput): BuiltReport {
  if (input.images.length === 0) throw new Error('no analysed images to report');
  for (const img of input.images) {
    if (img.result.seriesInstanceUid !== input.sourceSeriesInstanceUid) throw new Error(`image ${img.sopInstanceUid} is not in series ${input.sourceSeriesInstanceUid}`);
  }
  const now = dicomDateTime(input.now ?? new Date());
  const sopInstanceUid = newUid();
  const seriesInstanceUid = newUid();
  const flagged = input.images.filter((i) => i.result.flagged).length;
  const anyTumour = input.images.some((i) => i.result.label === 'tumour');
  // Models: the union over the images' results (normally the same set), by name + sha256.
  const models = new Map<string, ScanResult['models'][number]>();
  for (const img of input.images) for (const m of img.result.models) models.set(`${m.name}:${m.sha256}`, m);

  const content: unknown[] = [
    codeItem('HAS OBS CONTEXT', SR_CODES.observerType, SR_CODES.device),
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'UIDREF', ConceptNameCodeSequence: [SR_CODES.deviceUid], UID: IMPLEMENTATION_CLASS_UID },
    text('HAS OBS CONTEXT', SR_CODES.deviceName, input.software.workstation),
    text('HAS OBS CONTEXT', SR_CODES.deviceManufacturer, 'MedFedPure'),
    text('HAS OBS CONTEXT', SR_CODES.deviceModel, `${input.software.name} ${input.software.version}`),
    codeItem('CONTAINS', SR_CODES.finding, anyTumour ? SR_CODES.tumour : SR_CODES.noTumour),
    numItem('CONTAINS', SR_CODES.imagesAnalysed, input.images.length, SR_CODES.unity),
    numItem('CONTAINS', SR_CODES.imagesFlagged, flagged, SR_CODES.unity),
    ...input.images.map(imageContainer),
    ...[...models.values()].map((m) =>
      container('CONTAINS', SR_CODES.model, [
        text('CONTAINS', SR_CODES.modelName, m.name),
        text('CONTAINS', SR_CODES.modelVersion, m.version),
        text('CONTAINS', SR_CODES.modelSha256, m.sha256),
        text('CONTAINS', SR_CODES.modelTrained, m.trained ? 'yes' : 'no (development weights: not for clinical reading)'),
      ]),
    ),
    text(
      'CONTAINS',
      SR_CODES.comment,
      'Decision support from an AI system, not verified by a physician. Images flagged by the adversarial-input detector were purified before classification.',
    ),
  ];

  const p = input.patient;
  const s = input.study;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
    TimezoneOffsetFromUTC: '+0000',
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: sopInstanceUid,
    StudyDate: s.date ?? '',
    StudyTime: s.time ?? '',
    ContentDate: now.date,
    ContentTime: now.time,
    AccessionNumber: s.accessionNumber ?? '',
    Modality: 'SR',
    Manufacturer: 'MedFedPure',
    ReferringPhysicianName: '',
    StudyDescription: s.description ?? '',
    SeriesDescription: 'AI analysis (MedFedPure)',
    ManufacturerModelName: input.software.name,
    ReferencedPerformedProcedureStepSequence: [],
    PatientName: p.name,
    PatientID: p.id,
    PatientBirthDate: p.birthDate ?? '',
    PatientSex: p.sex ?? '',
    SoftwareVersions: input.software.version,
    StudyInstanceUID: s.studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    StudyID: s.studyId ?? '',
    SeriesNumber: 9901,
    InstanceNumber: 1,
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [SR_CODES.title],
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: s.studyInstanceUid,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: input.sourceSeriesInstanceUid,
            ReferencedSOPSequence: input.images.map((i) => ({ ReferencedSOPClassUID: i.sopClassUid, ReferencedSOPInstanceUID: i.sopInstanceUid })),
          },
        ],
      },
    ],
    PerformedProcedureCodeSequence: [],
    ContentSequence: content,
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: COMPREHENSIVE_SR,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: `MFP_${input.software.version}`.slice(0, 16),
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return { bytes: new Uint8Array(dict.write()), sopInstanceUid, seriesInstanceUid };
}
