/**
 * Reads a DICOMDIR (Media Storage Directory, PS3.10/PS3.3 F.3) and lists the files its directory records
 * reference, as paths relative to the DICOMDIR's folder (Referenced File ID components joined with '/').
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
import { parseDicomFile, typedDicom } from './parse.js';

export const MEDIA_STORAGE_DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

export function isDicomDir(ds: DataSet): boolean {
  return ds.string('x00020002') === MEDIA_STORAGE_DIRECTORY_SOP_CLASS || ds.elements.x00041220 !== undefined;
}

/** The Referenced File IDs of all directory records, in record order, without duplicates. */
export function referencedFiles(ds: DataSet): string[] {
  const seq = ds.elements.x00041220;
  const out: string[] = [];
  const seen = new Set<string>();
  for (const item of seq?.items ?? []) {
    const rec = item.dataSet;
    if (!rec) continue;
    const id = rec.string('x00041500');
    if (!id) continue;
    // Referenced File ID is a multi-valued CS: "DIR1\DIR2\FILE". dicom-parser's string() returns value 0 only.
    const el = rec.elements.x00041500;
    const raw = new TextDecoder('latin1').decode(rec.byteArray.subarray(el.dataOffset, el.dataOffset + el.length));
    const rel = raw.replace(/[\0 ]+$/, '').split('\\').map((c) => c.trim()).filter(Boolean).join('/');
    if (rel && !seen.has(rel)) {
      seen.add(rel);
      out.push(rel);
    }
  }
  return out;
}

export function readDicomDir(bytes: Uint8Array, file: string): string[] {
  return typedDicom(file, () => {
    const ds = parseDicomFile(bytes, file);
    if (!isDicomDir(ds)) throw new DicomError('NOT_DICOM', file, 'not a DICOMDIR (no Directory Record Sequence)');
    return referencedFiles(ds);
  });
}
