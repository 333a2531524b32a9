/**
 * Reads back an AI report this workstation wrote (sr.ts) from a PACS, so a study opened from the PACS shows its
 * earlier AI results. Only our own documents are read: a Comprehensive SR whose root concept is MFP-RPT (99MFP);
 * anything else returns null. The bytes come from a PACS, so everything is checked and bounded: a malformed document
 * is null, never an exception, and at most MAX_IMAGES image entries are kept.
 */
import { createRequire } from 'node:module';
import type { PacsReport } from './api.js';
import { COMPREHENSIVE_SR, SR_CODES } from './sr.js';

interface DcmjsRead {
  DicomMessage: { readFile(buffer: ArrayBuffer): { dict: unknown } };
  DicomMetaDictionary: { naturalizeDataset(dict: unknown): Record<string, unknown> };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsRead };

const MAX_IMAGES = 10_000;

type Item = Record<string, unknown>;

const list = (v: unknown): Item[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : []).filter((x): x is Item => !!x && typeof x === 'object');
const text = (v: unknown): string | undefined => (Array.isArray(v) ? text(v[0]) : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const conceptOf = (item: Item): string | undefined => text(list(item.ConceptNameCodeSequence)[0]?.CodeValue);
const codeValueOf = (item: Item): string | undefined => text(list(item.ConceptCodeSequence)[0]?.CodeValue);
function numberOf(item: Item): number | undefined {
  const v = Number(text(list(item.MeasuredValueSequence)[0]?.NumericValue));
  return Number.isFinite(v) ? v : undefined;
}
const find = (items: Item[], concept: { CodeValue: string }): Item | undefined => items.find((i) => conceptOf(i) === concept.CodeValue);

/** The report's content, or null when the bytes are not one of our AI reports. */
export function readAnalysisReport(bytes: Uint8Array): Omit<PacsReport, 'endpointId' | 'receivedUtc'> | null {
  let ds: Record<string, unknown>;
  try {
    const copy = bytes.slice().buffer;
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(copy).dict);
  } catch {
    return null;
  }
  if (text(ds.SOPClassUID) !== COMPREHENSIVE_SR || conceptOf(ds) !== SR_CODES.title.CodeValue) return null;
  const sopInstanceUid = text(ds.SOPInstanceUID);
  const studyInstanceUid = text(ds.StudyInstanceUID);
  const evidence = list(list(ds.CurrentRequestedProcedureEvidenceSequence)[0]?.ReferencedSeriesSequence)[0];
  const sourceSeriesInstanceUid = text(evidence?.SeriesInstanceUID);
  if (!sopInstanceUid || !studyInstanceUid || !sourceSeriesInstanceUid) return null;
  const content = list(ds.ContentSequence);
  const images: PacsReport['images'] = [];
  for (const c of content) {
    if (conceptOf(c) !== SR_CODES.imageResult.CodeValue || images.length >= MAX_IMAGES) continue;
    const items = list(c.ContentSequence);
    const ref = find(items, SR_CODES.source);
    const sop = text(list(ref?.ReferencedSOPSequence)[0]?.ReferencedSOPInstanceUID);
    const finding = find(items, SR_CODES.finding);
    const pTumour = find(items, SR_CODES.pTumour);
    if (!sop || !finding || !pTumour) continue;
    const score = find(items, SR_CODES.detectorScore);
    const threshold = find(items, SR_CODES.detectorThreshold);
    const tStar = find(items, SR_CODES.tStar);
    images.push({
      sopInstanceUid: sop,
      label: codeValueOf(finding) === SR_CODES.tumour.CodeValue ? 'tumour' : 'no-tumour',
      pTumour: numberOf(pTumour) ?? 0,
      flagged: codeValueOf(find(items, SR_CODES.detector) ?? {}) === SR_CODES.flagged.CodeValue,
      score: score ? numberOf(score) ?? null : null,
      threshold: threshold ? numberOf(threshold) ?? null : null,
      tStar: tStar ? numberOf(tStar) ?? 0 : 0,
    });
  }
  const models = content
    .filter((c) => conceptOf(c) === SR_CODES.model.CodeValue)
    .slice(0, 20)
    .map((c) => {
      const items = list(c.ContentSequence);
      const t = (code: { CodeValue: string }) => text(find(items, code)?.TextValue) ?? '';
      return { name: t(SR_CODES.modelName), version: t(SR_CODES.modelVersion), sha256: t(SR_CODES.modelSha256), trained: t(SR_CODES.modelTrained) === 'yes' };
    });
  const date = text(ds.ContentDate) ?? '';
  const time = text(ds.ContentTime) ?? '';
  return {
    sopInstanceUid,
    studyInstanceUid,
    sourceSeriesInstanceUid,
    createdUtc: /^\d{8}$/.test(date) ? `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${time.slice(0, 2) || '00'}:${time.slice(2, 4) || '00'}:${time.slice(4, 6) || '00'}Z` : '',
    software: text(find(content, SR_CODES.deviceModel)?.TextValue) ?? '',
    verified: text(ds.VerificationFlag) === 'VERIFIED',
    images,
    models,
  };
}
