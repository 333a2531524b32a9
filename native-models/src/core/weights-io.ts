/**
 * A small binary format for NamedWeights (model weights, optimiser state, checkpoints), with a strict reader and
 * atomic writes.
 *
 * Layout of a `.mfpw` file (all integers little-endian):
 *
 *   bytes 0..7     magic  "MFPW\0v01" (8 bytes; the last three name the format version)
 *   bytes 8..11    H = header length in bytes (uint32)
 *   bytes 12..     header: UTF-8 JSON, H bytes, space-padded so the data starts at a multiple of 8
 *                  { "format": "medfedpure-weights", "version": 1, "dtype": "float32", "byteOrder": "little",
 *                    "dataBytes": D,
 *                    "tensors": [ { "name": "...", "shape": [..], "offset": o, "bytes": b }, ... ],
 *                    "meta": { ... free JSON: config, step, metrics ... } }
 *                  offsets are relative to the start of the data section; tensors are stored in map order,
 *                  contiguous, each b = 4·numel(shape) bytes.
 *   next D bytes   raw float32 data, little-endian
 *   last 32 bytes  SHA-256 of every byte before it (integrity trailer)
 *
 * The reader rejects, with a `WeightsFormatError` and a `code`, anything that is not exactly this: short or long
 * files (truncation), bad magic, unknown version or dtype, malformed or inconsistent headers, duplicate names, and
 * checksum mismatches (tampering or corruption). Writes go to a temporary file in the same folder, are fsynced and
 * then renamed over the target, so a process killed mid-write leaves the previous file intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { endianness } from 'node:os';
import { numel, type NamedWeights } from './tensor.js';

export const WEIGHTS_MAGIC = 'MFPW\0v01';
export const WEIGHTS_VERSION = 1;

export type WeightsFormatErrorCode =
  | 'WEIGHTS_NOT_FOUND'
  | 'WEIGHTS_TRUNCATED'
  | 'WEIGHTS_BAD_MAGIC'
  | 'WEIGHTS_UNSUPPORTED'
  | 'WEIGHTS_BAD_HEADER'
  | 'WEIGHTS_CHECKSUM'
  | 'WEIGHTS_BAD_VALUE';

export class WeightsFormatError extends Error {
  constructor(readonly code: WeightsFormatErrorCode, message: string) {
    super(message);
    this.name = 'WeightsFormatError';
  }
}

export interface DecodedWeights {
  weights: NamedWeights;
  meta: Record<string, unknown>;
  /** SHA-256 (hex) of the whole file, as `sha256sum` prints it. */
  sha256: string;
}

interface HeaderTensor {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
}

const LITTLE = endianness() === 'LE';

/** Serialise weights (+ optional JSON metadata) to the format above. */
export function encodeWeights(weights: NamedWeights, meta: Record<string, unknown> = {}): Uint8Array {
  const tensors: HeaderTensor[] = [];
  let offset = 0;
  for (const [name, t] of weights) {
    if (!name) throw new WeightsFormatError('WEIGHTS_BAD_VALUE', 'empty tensor name');
    if (t.data.length !== numel(t.shape)) {
      throw new WeightsFormatError('WEIGHTS_BAD_VALUE', `tensor ${name}: shape [${t.shape.join(', ')}] vs ${t.data.length} values`);
    }
    const bytes = t.data.length * 4;
    tensors.push({ name, shape: [...t.shape], offset, bytes });
    offset += bytes;
  }
  const headerObj = { format: 'medfedpure-weights', version: WEIGHTS_VERSION, dtype: 'float32', byteOrder: 'little', dataBytes: offset, tensors, meta };
  let header = Buffer.from(JSON.stringify(headerObj), 'utf8');
  const pad = (8 - ((12 + header.length) % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const dataStart = 12 + header.length;
  const total = dataStart + offset + 32;
  const out = new Uint8Array(total);
  out.set(Buffer.from(WEIGHTS_MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let p = dataStart;
  const dv = new DataView(out.buffer);
  for (const [, t] of weights) {
    if (LITTLE) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    else for (let i = 0; i < t.data.length; i++) dv.setFloat32(p + 4 * i, t.data[i], true);
    p += t.data.byteLength;
  }
  out.set(createHash('sha256').update(out.subarray(0, total - 32)).digest(), total - 32);
  return out;
}

function bad(code: WeightsFormatErrorCode, msg: string, where?: string): WeightsFormatError {
  return new WeightsFormatError(code, where ? `${where}: ${msg}` : msg);
}

/** Parse and fully verify a weights file. `where` labels errors (e.g. the path). */
export function decodeWeights(bytes: Uint8Array, where?: string): DecodedWeights {
  if (bytes.length < 12 + 32) throw bad('WEIGHTS_TRUNCATED', `file is ${bytes.length} bytes, too short for a weights file`, where);
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== WEIGHTS_MAGIC) {
    if (Buffer.from(bytes.subarray(0, 5)).toString('latin1') === 'MFPW\0') {
      throw bad('WEIGHTS_UNSUPPORTED', `unsupported format version ${JSON.stringify(Buffer.from(bytes.subarray(5, 8)).toString('latin1'))}`, where);
    }
    throw bad('WEIGHTS_BAD_MAGIC', 'not a medfedpure weights file (bad magic)', where);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  if (12 + hlen + 32 > bytes.length) throw bad('WEIGHTS_TRUNCATED', `header claims ${hlen} bytes but the file has ${bytes.length}`, where);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + hlen)).toString('utf8'));
  } catch {
    // A damaged header is either truncation or tampering; the checksum tells which is likelier, but both are fatal.
    throw bad('WEIGHTS_BAD_HEADER', 'header is not valid JSON', where);
  }
  const h = header as Record<string, unknown>;
  if (typeof h !== 'object' || h === null || h.format !== 'medfedpure-weights') throw bad('WEIGHTS_BAD_HEADER', 'header lacks format "medfedpure-weights"', where);
  if (h.version !== WEIGHTS_VERSION) throw bad('WEIGHTS_UNSUPPORTED', `unsupported header version ${String(h.version)}`, where);
  if (h.dtype !== 'float32' || h.byteOrder !== 'little') throw bad('WEIGHTS_UNSUPPORTED', `unsupported dtype/byteOrder ${String(h.dtype)}/${String(h.byteOrder)}`, where);
  const dataBytes = h.dataBytes;
  if (typeof dataBytes !== 'number' || !Number.isInteger(dataBytes) || dataBytes < 0) throw bad('WEIGHTS_BAD_HEADER', 'bad dataBytes', where);
  const dataStart = 12 + hlen;
  const expected = dataStart + dataBytes + 32;
  if (bytes.length < expected) throw bad('WEIGHTS_TRUNCATED', `file is ${bytes.length} bytes, header says ${expected}`, where);
  if (bytes.length > expected) throw bad('WEIGHTS_BAD_HEADER', `file is ${bytes.length} bytes, header says ${expected} (trailing bytes)`, where);
  const digest = createHash('sha256').update(bytes.subarray(0, expected - 32)).digest();
  if (!digest.equals(Buffer.from(bytes.subarray(expected - 32)))) throw bad('WEIGHTS_CHECKSUM', 'SHA-256 trailer does not match the content (corrupt or tampered)', where);
  if (!Array.isArray(h.tensors)) throw bad('WEIGHTS_BAD_HEADER', 'tensors is not an array', where);
  const meta = h.meta ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw bad('WEIGHTS_BAD_HEADER', 'meta is not an object', where);

  const weights: NamedWeights = new Map();
  let expectOffset = 0;
  for (const raw of h.tensors as unknown[]) {
    const t = raw as Partial<HeaderTensor>;
    if (typeof t !== 'object' || t === null || typeof t.name !== 'string' || t.name === '') throw bad('WEIGHTS_BAD_HEADER', 'tensor entry without a name', where);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad('WEIGHTS_BAD_HEADER', `tensor ${t.name}: bad shape`, where);
    if (weights.has(t.name)) throw bad('WEIGHTS_BAD_HEADER', `duplicate tensor name ${t.name}`, where);
    const n = numel(t.shape);
    if (t.offset !== expectOffset || t.bytes !== n * 4) throw bad('WEIGHTS_BAD_HEADER', `tensor ${t.name}: offset/bytes inconsistent with shape`, where);
    const start = dataStart + t.offset;
    const data = new Float32Array(n);
    if (LITTLE) new Uint8Array(data.buffer).set(bytes.subarray(start, start + t.bytes));
    else for (let i = 0; i < n; i++) data[i] = dv.getFloat32(start + 4 * i, true);
    weights.set(t.name, { shape: [...t.shape], data });
    expectOffset += t.bytes;
  }
  if (expectOffset !== dataBytes) throw bad('WEIGHTS_BAD_HEADER', `tensors cover ${expectOffset} bytes, dataBytes is ${dataBytes}`, where);
  return { weights, meta: meta as Record<string, unknown>, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Write `data` to `path` atomically: temp file in the same folder → write → fsync → rename → fsync the folder.
 * A crash at any point leaves either the old file or the new one, never a torn one.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  try {
    const dh = await open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

/** Save weights atomically; returns the file's SHA-256 (hex) and size. */
export async function saveWeights(path: string, weights: NamedWeights, meta: Record<string, unknown> = {}): Promise<{ sha256: string; bytes: number }> {
  const bytes = encodeWeights(weights, meta);
  await writeFileAtomic(path, bytes);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** Load and verify a weights file. */
export async function loadWeights(path: string): Promise<DecodedWeights> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw bad('WEIGHTS_NOT_FOUND', 'no such file', path);
    throw e;
  }
  return decodeWeights(bytes, path);
}
