/**
 * Binary message codec for the HTTP transport: JSON for structure, raw bytes for typed arrays.
 *
 * Runs in the browser and in Node (no Node APIs). Layout of one message:
 *
 *   [u32 LE: byte length J of the JSON text]
 *   [J bytes: UTF-8 JSON of { value, chunks }]      value = the payload with every typed array replaced by
 *                                                    { "$bin": i, "type": "Float32Array" }; chunks[i] =
 *                                                    { type, offset, length } (offset in bytes from the start
 *                                                    of the message, length in elements)
 *   [zero padding to a multiple of 8]
 *   [chunk 0 bytes][padding to 8][chunk 1 bytes][padding to 8]...
 *
 * Chunks are 8-byte aligned, so the receiver gets typed-array *views* on the received buffer without copying
 * (it copies only when the buffer itself starts misaligned). Byte order is little-endian: the encoder refuses
 * to run on a big-endian host rather than send the wrong bytes.
 */

export const MESSAGE_CONTENT_TYPE = 'application/vnd.medfedpure.msg';

export class CodecError extends Error {
  readonly code = 'CODEC_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

interface TypedArrayCtor {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray;
  new (length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
}

/** Checked in this order by `instanceof` (so Node's Buffer encodes as Uint8Array). */
const CTORS: ReadonlyArray<readonly [string, TypedArrayCtor]> = [
  ['Uint8Array', Uint8Array as unknown as TypedArrayCtor],
  ['Int8Array', Int8Array as unknown as TypedArrayCtor],
  ['Uint8ClampedArray', Uint8ClampedArray as unknown as TypedArrayCtor],
  ['Int16Array', Int16Array as unknown as TypedArrayCtor],
  ['Uint16Array', Uint16Array as unknown as TypedArrayCtor],
  ['Int32Array', Int32Array as unknown as TypedArrayCtor],
  ['Uint32Array', Uint32Array as unknown as TypedArrayCtor],
  ['Float32Array', Float32Array as unknown as TypedArrayCtor],
  ['Float64Array', Float64Array as unknown as TypedArrayCtor],
  ['BigInt64Array', BigInt64Array as unknown as TypedArrayCtor],
  ['BigUint64Array', BigUint64Array as unknown as TypedArrayCtor],
];
const CTOR_BY_NAME: ReadonlyMap<string, TypedArrayCtor> = new Map(CTORS);

interface ChunkInfo {
  type: string;
  offset: number;
  length: number;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const align8 = (n: number): number => (n + 7) & ~7;

function typedArrayName(v: ArrayBufferView): string {
  for (const [name, ctor] of CTORS) if (v instanceof (ctor as unknown as typeof Uint8Array)) return name;
  throw new CodecError(`Cannot encode ${Object.prototype.toString.call(v)} (only typed arrays are supported)`);
}

/** Encodes a JSON-compatible value that may contain typed arrays. */
export function encodeMessage(value: unknown): Uint8Array<ArrayBuffer> {
  if (!LITTLE_ENDIAN_HOST) throw new CodecError('The message codec requires a little-endian host');
  const arrays: ArrayBufferView[] = [];
  const names: string[] = [];
  const json = JSON.stringify(value, function replacer(this: unknown, key: string, after: unknown): unknown {
    // `this[key]` is the value before any toJSON() (Node's Buffer has one that would turn it into a number array).
    const v = (this as Record<string, unknown>)[key];
    if (typeof v !== 'object' || v === null) return after;
    if (ArrayBuffer.isView(v)) {
      const type = typedArrayName(v);
      arrays.push(v);
      names.push(type);
      return { $bin: arrays.length - 1, type };
    }
    if (v instanceof ArrayBuffer) throw new CodecError('Cannot encode a bare ArrayBuffer; wrap it in a Uint8Array');
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '$bin')) {
      throw new CodecError('Objects with a "$bin" key are reserved by the message codec');
    }
    return after;
  });
  // First pass gave us the arrays; lay them out, then write the JSON with the chunk table.
  const chunks: ChunkInfo[] = [];
  const valueJson = json === undefined ? 'null' : json;
  // The chunk table's size depends on the offsets, which depend on the JSON size: compute offsets relative to
  // the binary section, then shift them once the JSON length is known.
  let rel = 0;
  const relOffsets: number[] = [];
  for (const a of arrays) {
    relOffsets.push(rel);
    rel = align8(rel + a.byteLength);
  }
  const encoder = new TextEncoder();
  let jsonBytes = new Uint8Array(0);
  let binStart = 0;
  // Offsets are written as decimal numbers, so a longer JSON can push the binary section further and make the
  // numbers longer; iterate until stable (at most a couple of rounds).
  for (let guess = align8(4 + valueJson.length + 64); ; ) {
    chunks.length = 0;
    arrays.forEach((a, i) => chunks.push({ type: names[i], offset: guess + relOffsets[i], length: (a as TypedArray).length }));
    jsonBytes = encoder.encode(`{"value":${valueJson},"chunks":${JSON.stringify(chunks)}}`);
    binStart = align8(4 + jsonBytes.length);
    if (binStart === guess) break;
    guess = binStart;
  }
  const out = new Uint8Array(binStart + rel);
  new DataView(out.buffer).setUint32(0, jsonBytes.length, true);
  out.set(jsonBytes, 4);
  arrays.forEach((a, i) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), binStart + relOffsets[i]));
  return out;
}

/** Decodes a message made by `encodeMessage`. Typed arrays are views on `bytes` when alignment allows. */
export function decodeMessage(bytes: Uint8Array): unknown {
  if (!LITTLE_ENDIAN_HOST) throw new CodecError('The message codec requires a little-endian host');
  if (bytes.byteLength < 4) throw new CodecError('Message too short');
  const jsonLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + jsonLength > bytes.byteLength) throw new CodecError('Message JSON length exceeds the message');
  let envelope: { value?: unknown; chunks?: unknown };
  try {
    envelope = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + jsonLength)));
  } catch {
    throw new CodecError('Message JSON is not valid UTF-8 JSON');
  }
  if (typeof envelope !== 'object' || envelope === null || !Array.isArray(envelope.chunks)) throw new CodecError('Message has no chunk table');
  const chunks = envelope.chunks as unknown[];
  const arrays = chunks.map((c, i) => readChunk(bytes, c, i));
  const revive = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(o, '$bin')) {
      const i = o.$bin;
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= arrays.length) throw new CodecError(`Bad binary reference ${String(i)}`);
      if (o.type !== (chunks[i] as ChunkInfo).type) throw new CodecError(`Binary reference ${i} type mismatch`);
      return arrays[i];
    }
    for (const k of Object.keys(o)) o[k] = revive(o[k]);
    return o;
  };
  return revive(envelope.value);
}

function readChunk(bytes: Uint8Array, c: unknown, i: number): TypedArray {
  const info = c as Partial<ChunkInfo>;
  const ctor = typeof info?.type === 'string' ? CTOR_BY_NAME.get(info.type) : undefined;
  if (!ctor) throw new CodecError(`Chunk ${i} has an unknown type`);
  const { offset, length } = info;
  if (typeof offset !== 'number' || typeof length !== 'number' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new CodecError(`Chunk ${i} has a bad offset/length`);
  }
  const byteLength = length * ctor.BYTES_PER_ELEMENT;
  if (offset + byteLength > bytes.byteLength) throw new CodecError(`Chunk ${i} runs past the end of the message`);
  const absolute = bytes.byteOffset + offset;
  if (absolute % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer as ArrayBuffer, absolute, length);
  // Misaligned: copy once into a fresh buffer. (Not `bytes.slice`: on a Node Buffer that is a view, not a copy, and
  // `copy.buffer` would then be the whole underlying allocation, read from its start.)
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(offset, offset + byteLength));
  return new ctor(copy.buffer, 0, length);
}
