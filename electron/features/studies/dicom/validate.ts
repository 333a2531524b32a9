/**
 * Strict checks on a parsed data set, for the rules that matter to a store that indexes, displays and decodes what it
 * imports (dcmtk's dcmdump is the yardstick; PS3.5 is the rule book). A file that breaks one is refused with
 * INVALID_DICOM naming the element and the rule:
 *
 * - every element's VR (explicit syntaxes) is one of PS3.5's two-letter codes, and its value fits inside the data set;
 * - binary VRs have a length that is a whole number of values (US/SS 2, UL/SL/FL/AT 4, FD/SV/UV 8 bytes);
 * - the UIDs the store keys on (SOP Instance, Study, Series, SOP Class, Transfer Syntax) are 1–64 characters of digits
 *   and dots, with no empty components (PS3.5 §9.1);
 * - the text attributes the store indexes stay within PS3.5's maximum length for their VR.
 *
 * Lenient where real files need it (documented in docs/ARCHITECTURE.md, "Hostile input"): UID components with a
 * leading zero (written by some older modalities) are accepted; trailing NUL/space padding is stripped; private
 * elements are checked only for VR and length; text up to twice the VR's maximum is accepted for the indexed
 * description fields, which vendors routinely overrun.
 */
import type { DataSet, Element } from 'dicom-parser';
import { DicomError } from './errors.js';
import { MAX_UID_LENGTH } from './limits.js';

/** PS3.5 Table 6.2-1. */
const VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);
const VALUE_SIZE: Readonly<Record<string, number>> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, AT: 4, FD: 8, SV: 8, UV: 8 };
const UNDEFINED_LENGTH = 0xffffffff;

const UID_TAGS: ReadonlyArray<readonly [string, string]> = [
  ['x00020010', 'Transfer Syntax UID (0002,0010)'],
  ['x00020002', 'Media Storage SOP Class UID (0002,0002)'],
  ['x00020003', 'Media Storage SOP Instance UID (0002,0003)'],
  ['x00080016', 'SOP Class UID (0008,0016)'],
  ['x00080018', 'SOP Instance UID (0008,0018)'],
  ['x0020000d', 'Study Instance UID (0020,000D)'],
  ['x0020000e', 'Series Instance UID (0020,000E)'],
];

/** Indexed text attributes and their PS3.5 maximum length in characters (PN: per component group). */
const TEXT_TAGS: ReadonlyArray<readonly [string, string, number]> = [
  ['x00100010', "Patient's Name (0010,0010)", 64 * 3 + 2],
  ['x00100020', 'Patient ID (0010,0020)', 64],
  ['x00100030', "Patient's Birth Date (0010,0030)", 8],
  ['x00100040', "Patient's Sex (0010,0040)", 16],
  ['x00080020', 'Study Date (0008,0020)', 8],
  ['x00080030', 'Study Time (0008,0030)', 16 * 2],
  ['x00080050', 'Accession Number (0008,0050)', 16 * 2],
  ['x00081030', 'Study Description (0008,1030)', 64 * 2],
  ['x0008103e', 'Series Description (0008,103E)', 64 * 2],
  ['x00080060', 'Modality (0008,0060)', 16],
  ['x00200010', 'Study ID (0020,0010)', 16 * 2],
];

const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

function tagName(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}

/** The element's raw value as Latin-1 text without its padding (dicom-parser's `string()` keeps only value 0). */
function rawText(ds: DataSet, el: Element): string {
  const end = Math.min(ds.byteArray.length, el.dataOffset + el.length);
  let s = '';
  for (let i = el.dataOffset; i < end; i++) s += String.fromCharCode(ds.byteArray[i]);
  return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

function checkElements(ds: DataSet, file: string, depth: number): void {
  if (depth > 32) throw new DicomError('INVALID_DICOM', file, 'sequences nested more than 32 deep');
  const size = ds.byteArray.length;
  for (const el of Object.values(ds.elements)) {
    if ((el as { Value?: unknown }).Value !== undefined) continue; // supplied by the parser (raw data set's syntax), not read from the file
    const name = tagName(el.tag);
    if (el.vr !== undefined && !VRS.has(el.vr)) throw new DicomError('INVALID_DICOM', file, `element ${name} has an invalid VR ${JSON.stringify(el.vr)}`);
    if (el.length !== UNDEFINED_LENGTH && !el.hadUndefinedLength) {
      if (!(el.dataOffset >= 0 && el.length >= 0 && el.dataOffset + el.length <= size)) {
        throw new DicomError('INVALID_DICOM', file, `element ${name} claims ${el.length} bytes at offset ${el.dataOffset}, past the end of the data set (${size} bytes)`);
      }
      const unit = el.vr ? VALUE_SIZE[el.vr] : undefined;
      if (unit && el.length % unit !== 0) throw new DicomError('INVALID_DICOM', file, `element ${name} (${el.vr}) has length ${el.length}, not a multiple of ${unit}`);
    }
    for (const item of el.items ?? []) if (item.dataSet) checkElements(item.dataSet, file, depth + 1);
  }
}

/** Checks the data set against the rules above; throws DicomError('INVALID_DICOM') naming the first broken one. */
export function validateDataSet(ds: DataSet, file: string): void {
  checkElements(ds, file, 0);
  for (const [tag, name] of UID_TAGS) {
    const el = ds.elements[tag];
    const supplied = (el as { Value?: unknown } | undefined)?.Value;
    if (!el || (supplied === undefined && el.length === 0)) continue; // absence is reported by the header reader (MISSING_UID)
    const uid = typeof supplied === 'string' ? supplied : rawText(ds, el);
    if (uid.length > MAX_UID_LENGTH) throw new DicomError('INVALID_DICOM', file, `${name} is ${uid.length} characters long; a UID has at most ${MAX_UID_LENGTH}`);
    if (uid !== '' && !UID_RE.test(uid)) throw new DicomError('INVALID_DICOM', file, `${name} ${JSON.stringify(uid.slice(0, MAX_UID_LENGTH))} is not a UID (digits and dots, no empty component)`);
  }
  for (const [tag, name, max] of TEXT_TAGS) {
    const el = ds.elements[tag];
    if (!el || el.length === 0) continue;
    if (el.length > max + 2) throw new DicomError('INVALID_DICOM', file, `${name} is ${el.length} bytes long; at most ${max} are accepted`);
  }
}
