/**
 * Compressed (encapsulated) pixel data: which transfer syntaxes the workstation decodes, with which codec, and the
 * checks around every codec call.
 *
 * | transfer syntax | codec |
 * |---|---|
 * | RLE Lossless (1.2.5) | rle.ts (written here) |
 * | JPEG Baseline (4.50), Extended 8-bit (4.51) | libjpeg-turbo 8-bit (wasm) |
 * | JPEG Lossless Process 14 (4.57) and SV1 (4.70) | jpeg-lossless-decoder-js (with a work-around, see its file) |
 * | JPEG-LS lossless / near-lossless (4.80, 4.81) | CharLS (wasm) |
 * | JPEG 2000 (4.90, 4.91) | OpenJPEG (wasm) |
 * | HTJ2K (4.201, 4.202, 4.203) | OpenJPH (wasm) |
 *
 * Before a codec runs, the size its codestream declares must equal the DICOM header's Columns × Rows (which
 * readImageInfo has already checked against limits.ts) and name one component: a codec never allocates for more
 * than the header declared. After it runs, the output must be exactly Rows × Columns samples. A codec that throws,
 * or returns anything else, gives a typed DECODE_FAILED naming the frame; 12-bit JPEG Extended (the 8-bit build
 * cannot) gives UNSUPPORTED_TRANSFER_SYNTAX.
 *
 * Output is the frame's stored words as Bits Allocated-wide unsigned integers (two's complement bit patterns for
 * signed data), exactly what the native path reads from uncompressed pixel data, so masking, sign extension and
 * rescale stay in one place (decode.ts).
 */
import { DicomError } from '../errors.js';
import { j2kInfo, jpegInfo, type CodestreamInfo } from './codestream.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { decodeRle } from './rle.js';
import { decodeWithWasm, isWasmCodecLoaded, loadWasmCodec, type WasmCodecName } from './wasm.js';

type CodecName = 'rle' | 'jpeg-lossless' | WasmCodecName;

const CODEC_OF: ReadonlyMap<string, CodecName> = new Map<string, CodecName>([
  ['1.2.840.10008.1.2.5', 'rle'],
  ['1.2.840.10008.1.2.4.50', 'libjpeg-turbo'],
  ['1.2.840.10008.1.2.4.51', 'libjpeg-turbo'],
  ['1.2.840.10008.1.2.4.57', 'jpeg-lossless'],
  ['1.2.840.10008.1.2.4.70', 'jpeg-lossless'],
  ['1.2.840.10008.1.2.4.80', 'charls'],
  ['1.2.840.10008.1.2.4.81', 'charls'],
  ['1.2.840.10008.1.2.4.90', 'openjpeg'],
  ['1.2.840.10008.1.2.4.91', 'openjpeg'],
  ['1.2.840.10008.1.2.4.201', 'openjph'],
  ['1.2.840.10008.1.2.4.202', 'openjph'],
  ['1.2.840.10008.1.2.4.203', 'openjph'],
]);

const WASM: ReadonlySet<CodecName> = new Set<CodecName>(['libjpeg-turbo', 'charls', 'openjpeg', 'openjph']);

/** True when the transfer syntax is encapsulated and a codec for it is available. */
export function isCompressedSyntax(ts: string): boolean {
  return CODEC_OF.has(ts);
}

/** Loads the codec a transfer syntax needs (wasm modules load once, asynchronously); a no-op for the others. */
export async function prepareCodec(ts: string): Promise<void> {
  const codec = CODEC_OF.get(ts);
  if (codec && WASM.has(codec)) await loadWasmCodec(codec as WasmCodecName);
}

/** True when `decodeCompressedFrame` can run now for this syntax (its codec, if a wasm one, is loaded). */
export function isCodecReady(ts: string): boolean {
  const codec = CODEC_OF.get(ts);
  return codec !== undefined && (!WASM.has(codec) || isWasmCodecLoaded(codec as WasmCodecName));
}

export interface ExpectedFrame {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  frameIndex: number;
}

function checkCodestream(cs: CodestreamInfo | null, what: string, e: ExpectedFrame, file: string): CodestreamInfo {
  const frame = `frame ${e.frameIndex + 1}`;
  if (!cs) throw new DicomError('DECODE_FAILED', file, `${frame}: no ${what} header found in the compressed data`);
  if (cs.width !== e.columns || cs.height !== e.rows) {
    throw new DicomError('INVALID_DICOM', file, `${frame}: the ${what} codestream declares ${cs.width}×${cs.height}, the DICOM header ${e.columns}×${e.rows}`);
  }
  if (cs.components !== 1) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', file, `${frame}: ${cs.components} components in the ${what} codestream; only grayscale is supported`);
  if (cs.precision > e.bitsAllocated) throw new DicomError('INVALID_DICOM', file, `${frame}: ${cs.precision}-bit ${what} samples do not fit Bits Allocated ${e.bitsAllocated}`);
  return cs;
}

/** Widens codec output (8- or little-endian 16-bit samples as bytes) to Bits Allocated-wide words. */
function toWords(bytes: Uint8Array, bytesPerSample: number, e: ExpectedFrame, file: string, codec: string): Uint8Array | Uint16Array | Uint32Array {
  const n = e.rows * e.columns;
  if (bytes.length !== n * bytesPerSample) throw new DicomError('DECODE_FAILED', file, `frame ${e.frameIndex + 1}: ${codec} returned ${bytes.length} bytes, ${n * bytesPerSample} expected`);
  const src = bytesPerSample === 1 ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  if (e.bitsAllocated === 8) {
    if (bytesPerSample !== 1) throw new DicomError('DECODE_FAILED', file, `frame ${e.frameIndex + 1}: ${codec} returned 16-bit samples for 8-bit pixels`);
    return bytes;
  }
  const out = e.bitsAllocated === 16 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = src[i];
  return out;
}

/** Decodes one compressed frame to stored words. Throws DicomError only. */
export function decodeCompressedFrame(ts: string, encoded: Uint8Array, e: ExpectedFrame, file: string): Uint8Array | Uint16Array | Uint32Array {
  const codec = CODEC_OF.get(ts);
  if (!codec) throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', file, `no codec for transfer syntax ${ts}`);
  if (WASM.has(codec) && !isWasmCodecLoaded(codec as WasmCodecName)) {
    throw new DicomError('DECODE_FAILED', file, `the ${codec} codec is not loaded yet (decode through the asynchronous path)`);
  }
  const n = e.rows * e.columns;
  const frame = `frame ${e.frameIndex + 1}`;
  try {
    switch (codec) {
      case 'rle':
        return decodeRle(encoded, n, e.bitsAllocated, file);
      case 'jpeg-lossless': {
        const cs = checkCodestream(jpegInfo(encoded), 'JPEG lossless', e, file);
        if (cs.marker !== 0xc3) throw new DicomError('INVALID_DICOM', file, `${frame}: JPEG Lossless syntax but the codestream is SOF${(cs.marker - 0xc0).toString(16)}`);
        const out = decodeJpegLossless(encoded);
        const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        return toWords(bytes, out instanceof Uint16Array ? 2 : 1, e, file, 'jpeg-lossless-decoder-js');
      }
      case 'libjpeg-turbo': {
        const cs = checkCodestream(jpegInfo(encoded), 'JPEG', e, file);
        if (cs.precision !== 8) throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', file, `${frame}: ${cs.precision}-bit JPEG Extended is not supported (the JPEG codec decodes 8-bit samples only)`);
        const { bytes } = decodeWithWasm(codec, encoded);
        return toWords(bytes, 1, e, file, codec);
      }
      case 'charls': {
        const cs = checkCodestream(jpegInfo(encoded), 'JPEG-LS', e, file);
        if (cs.marker !== 0xf7) throw new DicomError('INVALID_DICOM', file, `${frame}: JPEG-LS syntax but no SOF55 marker`);
        const { bytes, info } = decodeWithWasm(codec, encoded);
        return toWords(bytes, info.bitsPerSample > 8 ? 2 : 1, e, file, codec);
      }
      case 'openjpeg':
      case 'openjph': {
        checkCodestream(j2kInfo(encoded), codec === 'openjpeg' ? 'JPEG 2000' : 'HTJ2K', e, file);
        const { bytes, info } = decodeWithWasm(codec, encoded);
        return toWords(bytes, info.bitsPerSample > 8 ? 2 : 1, e, file, codec);
      }
    }
  } catch (err) {
    if (err instanceof DicomError) throw err;
    const why = err instanceof Error ? err.message : typeof err === 'number' ? `wasm exception ${err}` : String(err);
    throw new DicomError('DECODE_FAILED', file, `${frame}: the ${codec} codec could not decode it: ${why.slice(0, 200)}`);
  }
}
