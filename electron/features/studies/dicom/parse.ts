/**
 * Parses DICOM Part 10 bytes with dicom-parser and turns its many failure shapes (thrown strings, Errors,
 * `{ exception, dataSet }` objects) into one typed DicomError: NOT_DICOM, TRUNCATED, TOO_LARGE or
 * UNSUPPORTED_TRANSFER_SYNTAX.
 *
 * Deflated data sets are inflated with a cap (see limits.ts): a probe inflates the first 16 KiB of the deflated
 * stream, reads the image size the header declares from it, refuses a declared size over the limits, and then
 * inflates the whole stream with `maxOutputLength` = bytes seen in the probe + declared pixel bytes + a margin. A
 * deflate bomb therefore costs at most what its header declares, never what its compression ratio would allow.
 */
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import { DicomError } from './errors.js';
import { checkDeclaredImage, DEFLATE_MARGIN_BYTES, MAX_DICOM_FILE_BYTES, MAX_INFLATED_BYTES } from './limits.js';
import { DEFLATED_EXPLICIT_LE, EXPLICIT_LE, IMPLICIT_LE, isSupportedTransferSyntax, transferSyntaxName } from './transfer-syntax.js';

const PREAMBLE = 128;
/** Deflated bytes inflated by the header probe. A header (with vendor private groups) deflates to a few KiB. */
const PROBE_DEFLATED_BYTES = 16 * 1024;
/** Deflate's ratio is at most ~1032:1, so the probe's output is bounded anyway; this makes it explicit. */
const PROBE_MAX_OUTPUT = 32 * 1024 * 1024;

/** True when the bytes carry the Part 10 "DICM" magic after the 128-byte preamble. */
export function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= PREAMBLE + 4 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

export function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'exception' in err) return describe((err as { exception: unknown }).exception);
  return String(err);
}

const isTooLarge = (e: unknown): boolean => e instanceof RangeError || (e as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE';

/**
 * The largest inflated size a deflated data set may have: what its header (read from a probe) declares plus a margin,
 * and never more than MAX_INFLATED_BYTES. Throws TOO_LARGE when the declared image is over the limits.
 */
export function inflateCap(deflated: Uint8Array, file: string): number {
  let probe: Buffer;
  try {
    probe = inflateRawSync(deflated.subarray(0, PROBE_DEFLATED_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: PROBE_MAX_OUTPUT });
  } catch (err) {
    if (isTooLarge(err)) throw new DicomError('TOO_LARGE', file, `the first ${PROBE_DEFLATED_BYTES} deflated bytes inflate to more than ${PROBE_MAX_OUTPUT} bytes`);
    throw new DicomError('TRUNCATED', file, `deflated data set is corrupt: ${describe(err)}`);
  }
  let ds: DataSet | undefined;
  try {
    ds = dicomParser.parseDicom(probe, { TransferSyntaxUID: EXPLICIT_LE, untilTag: 'x7fe00010' });
  } catch (err) {
    ds = (err as { dataSet?: DataSet }).dataSet; // the probe usually ends mid-element: keep what was read
  }
  let rows: number | undefined;
  let columns: number | undefined;
  try {
    rows = ds?.uint16('x00280010');
    columns = ds?.uint16('x00280011');
    if (ds && rows && columns) {
      const frames = Number(ds.intString('x00280008')) || 1;
      const samplesPerPixel = ds.uint16('x00280002') ?? 1;
      const bitsAllocated = ds.uint16('x00280100') ?? 16;
      checkDeclaredImage(file, { rows, columns, frames, samplesPerPixel, bitsAllocated });
      const declared = rows * columns * frames * samplesPerPixel * Math.ceil(bitsAllocated / 8);
      return Math.min(MAX_INFLATED_BYTES, probe.length + declared + DEFLATE_MARGIN_BYTES);
    }
  } catch (err) {
    if (err instanceof DicomError) throw err;
  }
  return MAX_INFLATED_BYTES; // no image size in the probe: only the absolute bound applies
}

type DataSetCtor = new (parser: typeof dicomParser.littleEndianByteArrayParser, byteArray: Uint8Array, elements: DataSet['elements']) => DataSet;

/**
 * Deflated explicit LE: the data set after the meta header is raw-deflated. Inflates it within its cap and parses it
 * from the meta header's end. (dicom-parser's own deflate path restarts parsing at byte 0, reading the preamble as
 * elements; this reads the inflated data set where it starts.) The meta elements keep their offsets: the returned
 * byte array holds the original meta bytes followed by the inflated data set.
 */
function parseDeflated(bytes: Uint8Array, meta: DataSet & { position?: number }, file: string): DataSet {
  const position = meta.position ?? 0;
  const deflated = bytes.subarray(position);
  const cap = inflateCap(deflated, file);
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(deflated, { maxOutputLength: cap });
  } catch (err) {
    if (isTooLarge(err)) throw new DicomError('TOO_LARGE', file, `deflated data set inflates to more than ${cap} bytes (its declared size plus ${DEFLATE_MARGIN_BYTES} bytes, at most ${MAX_INFLATED_BYTES})`);
    throw new DicomError('TRUNCATED', file, `deflated data set is corrupt: ${describe(err)}`);
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(inflated, position);
  const parser = dicomParser.littleEndianByteArrayParser;
  const ds = new (dicomParser as unknown as { DataSet: DataSetCtor }).DataSet(parser, full, {});
  ds.warnings = [];
  try {
    dicomParser.parseDicomDataSetExplicit(ds, new dicomParser.ByteStream(parser, full, position), full.length);
  } catch (err) {
    throw new DicomError('TRUNCATED', file, `deflated data set ends early or is malformed: ${describe(err)}`);
  }
  for (const [tag, el] of Object.entries(meta.elements)) ds.elements[tag] = el;
  return ds;
}

const VR_RE = /^(AE|AS|AT|CS|DA|DS|DT|FD|FL|IS|LO|LT|OB|OD|OF|OL|OV|OW|PN|SH|SL|SQ|SS|ST|SV|TM|UC|UI|UL|UN|UR|US|UT|UV)$/;

/**
 * A data set without the 128-byte preamble and meta header (some modalities write these; dcmtk and pydicom read
 * them): the transfer syntax is guessed from the first element, which must be in group 0008 (a data set starts with
 * Specific Character Set, Image Type or SOP Class UID). Two letters of a valid VR after the tag mean explicit VR
 * little endian, else implicit VR little endian with a plausible 32-bit length. Returns null when the bytes do not
 * look like that. A wrong guess can parse into nonsense without an error, so what comes back is checked: the SOP
 * Instance, Study and Series UIDs must be there and the whole buffer must have been read.
 */
export function sniffRawDataSet(bytes: Uint8Array): string | null {
  if (bytes.length < 16) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(0, true) !== 0x0008) return null;
  if (VR_RE.test(String.fromCharCode(bytes[4], bytes[5]))) return EXPLICIT_LE;
  return dv.getUint32(4, true) <= bytes.length - 8 ? IMPLICIT_LE : null;
}

function parseRawDataSet(bytes: Uint8Array, file: string): DataSet | null {
  const ts = sniffRawDataSet(bytes);
  if (!ts) return null;
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, { TransferSyntaxUID: ts });
  } catch {
    return null; // the guess did not hold
  }
  const has = (tag: string): boolean => (ds.elements[tag]?.length ?? 0) > 0;
  if (!has('x00080018') || !has('x0020000d') || !has('x0020000e')) return null;
  return ds;
}

/** Parses the whole file. Throws DicomError; never returns a partial data set. */
export function parseDicomFile(bytes: Uint8Array, file: string): DataSet {
  if (bytes.length > MAX_DICOM_FILE_BYTES) throw new DicomError('TOO_LARGE', file, `file is ${bytes.length} bytes; the limit is ${MAX_DICOM_FILE_BYTES}`);
  if (!hasDicmPrefix(bytes)) {
    const raw = parseRawDataSet(bytes, file);
    if (raw) return raw;
    const why = bytes.length < PREAMBLE + 4 ? `only ${bytes.length} bytes, too short for a DICOM file` : 'no "DICM" marker at byte 128 and not a readable raw data set: not DICOM';
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
  let ts: string | undefined;
  try {
    ts = meta.string('x00020010');
  } catch (err) {
    throw new DicomError('INVALID_DICOM', file, `unreadable Transfer Syntax UID (0002,0010): ${describe(err)}`);
  }
  if (!ts) throw new DicomError('NOT_DICOM', file, 'file meta information has no Transfer Syntax UID (0002,0010)');
  if (!isSupportedTransferSyntax(ts)) {
    throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', file, `transfer syntax ${ts.slice(0, 64)} (${transferSyntaxName(ts)}) cannot be decoded here (supported: uncompressed, deflated, RLE, JPEG 8-bit baseline/extended, JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K)`);
  }
  if (ts === DEFLATED_EXPLICIT_LE) return parseDeflated(bytes, meta, file);
  try {
    return dicomParser.parseDicom(bytes);
  } catch (err) {
    throw new DicomError('TRUNCATED', file, `data set ends early or is malformed: ${describe(err)}`);
  }
}

/**
 * Runs one step of reading a file and maps anything that is not already a DicomError (dicom-parser throws strings,
 * TypeErrors such as "reading 'trim'" on a damaged element, RangeErrors on impossible offsets) to INVALID_DICOM
 * naming the file, so an import never reports a parser exception as an I/O problem.
 */
export function typedDicom<T>(file: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof DicomError) throw err;
    throw new DicomError('INVALID_DICOM', file, `malformed data set: ${describe(err).slice(0, 200)}`);
  }
}
