/**
 * Parses DICOM Part 10 bytes with dicom-parser and turns its many failure shapes (thrown strings, Errors,
 * `{ exception, dataSet }` objects) into one typed DicomError: NOT_DICOM, TRUNCATED or UNSUPPORTED_TRANSFER_SYNTAX.
 */
import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
import { isSupportedTransferSyntax, transferSyntaxName } from './transfer-syntax.js';

const PREAMBLE = 128;

/** True when the bytes carry the Part 10 "DICM" magic after the 128-byte preamble. */
export function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= PREAMBLE + 4 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** Deflated explicit LE: the data set after the meta header is raw-deflated. */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'exception' in err) return describe((err as { exception: unknown }).exception);
  return String(err);
}

/** Parses the whole file. Throws DicomError; never returns a partial data set. */
export function parseDicomFile(bytes: Uint8Array, file: string): DataSet {
  if (!hasDicmPrefix(bytes)) {
    const why = bytes.length < PREAMBLE + 4 ? `only ${bytes.length} bytes, too short for a DICOM Part 10 file` : 'no "DICM" marker at byte 128: not a DICOM Part 10 file';
    throw new DicomError('NOT_DICOM', file, why);
  }
  // A file cut inside its meta information: (0002,0000) says how long the meta group is.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 144 || (view.getUint32(132, true) === 0x00000002 && 144 + view.getUint32(140, true) > bytes.length)) {
    throw new DicomError('TRUNCATED', file, 'file ends inside the file meta information');
  }
  // Check the transfer syntax first, from the meta header alone, so compressed files get the right error.
  let meta: DataSet;
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch (err) {
    throw new DicomError('TRUNCATED', file, `unreadable file meta information: ${describe(err)}`);
  }
  const ts = meta.string('x00020010');
  if (!ts) throw new DicomError('NOT_DICOM', file, 'file meta information has no Transfer Syntax UID (0002,0010)');
  if (!isSupportedTransferSyntax(ts)) {
    throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', file, `transfer syntax ${ts} (${transferSyntaxName(ts)}) is compressed or unknown; this workstation decodes only uncompressed little/big endian and deflated`);
  }
  try {
    return dicomParser.parseDicom(bytes, { inflater });
  } catch (err) {
    const why = describe(err);
    if (/inflat|zlib|incorrect header|invalid (block|stored|distance|code)/i.test(why)) throw new DicomError('TRUNCATED', file, `deflated data set is corrupt: ${why}`);
    throw new DicomError('TRUNCATED', file, `data set ends early or is malformed: ${why}`);
  }
}
