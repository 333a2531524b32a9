/**
 * QIDO-RS queries and their answers: builds the query parameters from the UI's filters (PS3.18 8.3.4: attribute
 * matching, fuzzy-free, `limit`/`offset` paging, `includefield`) and turns DICOM JSON objects into the contract's
 * PacsStudy / PacsSeries rows. Pure; the local state is filled in by the service.
 */
import type { PacsSeries, PacsStudy } from './api.js';
import type { DicomJson } from './dicomweb.js';

export interface StudyQuery {
  patientName?: string;
  patientId?: string;
  studyDate?: string;
  modality?: string;
  accessionNumber?: string;
  studyInstanceUid?: string;
  offset?: number;
  limit?: number;
}

/** Attributes asked for beyond the QIDO-RS defaults. */
const STUDY_FIELDS = ['00081030', '00080061', '00201206', '00201208', '00100030', '00100040', '00080050'];

export const DEFAULT_LIMIT = 50;

/** DICOM date or date range (YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-). */
export function isDicomDateQuery(s: string): boolean {
  return /^(\d{8})?(-(\d{8})?)?$/.test(s) && s !== '' && s !== '-';
}

export function studyQueryParams(q: StudyQuery): Record<string, string | number | undefined> {
  return {
    PatientName: q.patientName,
    PatientID: q.patientId,
    StudyDate: q.studyDate,
    ModalitiesInStudy: q.modality,
    AccessionNumber: q.accessionNumber,
    StudyInstanceUID: q.studyInstanceUid,
    includefield: STUDY_FIELDS.join(','),
    limit: q.limit ?? DEFAULT_LIMIT,
    offset: q.offset ?? 0,
  };
}

export function str(o: DicomJson, tag: string): string | undefined {
  const v = o[tag]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    // Person Name: { Alphabetic, Ideographic, Phonetic }
    const a = (v as { Alphabetic?: unknown }).Alphabetic;
    return typeof a === 'string' && a !== '' ? a : undefined;
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

export function num(o: DicomJson, tag: string): number | undefined {
  const v = Number(o[tag]?.Value?.[0]);
  return o[tag]?.Value?.[0] === undefined || !Number.isFinite(v) ? undefined : v;
}

/** A QIDO study object → PacsStudy (local: 'none' until the service says otherwise); null when it has no UID. */
export function toStudy(o: DicomJson): PacsStudy | null {
  const studyInstanceUid = str(o, '0020000D');
  if (!studyInstanceUid) return null;
  const s: PacsStudy = {
    studyInstanceUid,
    patientName: str(o, '00100010') ?? '',
    patientId: str(o, '00100020') ?? '',
    modalities: ((o['00080061']?.Value ?? []) as unknown[]).map(String).filter(Boolean).sort(),
    local: 'none',
  };
  const opt: Array<[keyof PacsStudy, string | number | undefined]> = [
    ['patientBirthDate', str(o, '00100030')],
    ['patientSex', str(o, '00100040')],
    ['studyDate', str(o, '00080020')],
    ['studyTime', str(o, '00080030')],
    ['studyDescription', str(o, '00081030')],
    ['accessionNumber', str(o, '00080050')],
    ['seriesCount', num(o, '00201206')],
    ['instanceCount', num(o, '00201208')],
  ];
  for (const [k, v] of opt) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  return s;
}

export function toSeries(o: DicomJson, studyInstanceUid: string): PacsSeries | null {
  const seriesInstanceUid = str(o, '0020000E');
  if (!seriesInstanceUid) return null;
  const s: PacsSeries = { studyInstanceUid, seriesInstanceUid, local: 'none' };
  const modality = str(o, '00080060');
  const number = num(o, '00200011');
  const description = str(o, '0008103E');
  const count = num(o, '00201209');
  if (modality !== undefined) s.modality = modality;
  if (number !== undefined) s.seriesNumber = number;
  if (description !== undefined) s.seriesDescription = description;
  if (count !== undefined) s.instanceCount = count;
  return s;
}

/** Modalities that hold no image the viewer could show; a study retrieval leaves them on the PACS. */
export const NON_IMAGE_MODALITIES: ReadonlySet<string> = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG', 'RTSTRUCT', 'RTPLAN']);
