/**
 * NumPy `.npy` encoding of float32 arrays, the payload format of Flower's Array (stype "numpy.ndarray").
 *
 * Writing follows numpy's format 1.0: magic `\x93NUMPY`, version 1.0, a little-endian uint16 header length, and a
 * Python-literal header dict `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }` padded with spaces and a
 * newline so that the data starts on a 64-byte boundary.
 *
 * Reading is deliberately narrow: only C-order little-endian float32 (`<f4`), versions 1.0–3.0, a header under 64 KiB,
 * and a data length that equals 4 × the product of the shape. Anything else is an FL_NPY_UNSUPPORTED error: the
 * classifier is float32 and nothing else may reach it.
 */
import { FlError } from './errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER = 65535;
const MAX_DIMS = 16;

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** float32 data of the given shape → .npy bytes. */
export function encodeNpyF32(shape: readonly number[], data: Float32Array): Uint8Array {
  const n = shape.reduce((p, q) => p * q, 1);
  if (data.length !== n) throw new FlError('FL_BAD_ARGUMENT', `npy: shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const pre = MAGIC.length + 2 + 2;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const out = new Uint8Array(total + n * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  // little-endian float32 regardless of the host
  const view = new DataView(out.buffer, out.byteOffset + total, n * 4);
  for (let i = 0; i < n; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** .npy bytes → shape and a fresh Float32Array. */
export function decodeNpyF32(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const bad = (why: string) => new FlError('FL_NPY_UNSUPPORTED', `npy: ${why}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not an .npy payload (bad magic)');
  const major = bytes[6];
  let hlen: number, pre: number;
  if (major === 1) {
    hlen = bytes[8] | (bytes[9] << 8);
    pre = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    hlen = new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true);
    pre = 12;
  } else throw bad(`unsupported format version ${major}.${bytes[7]}`);
  if (hlen > MAX_HEADER || pre + hlen > bytes.length) throw bad(`header length ${hlen} out of range`);
  let header = '';
  for (let i = 0; i < hlen; i++) {
    const c = bytes[pre + i];
    if (c > 0x7e) throw bad('non-ASCII header');
    header += String.fromCharCode(c);
  }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('header lacks descr, fortran_order or shape');
  if (descr !== '<f4') throw bad(`dtype ${descr} is not little-endian float32 (<f4)`);
  if (fortran !== 'False') throw bad('Fortran-order arrays are not accepted');
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length > MAX_DIMS) throw bad(`${parts.length} dimensions`);
  const shape: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,10}$/.test(p)) throw bad(`bad dimension "${p}"`);
    shape.push(Number(p));
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const dataStart = pre + hlen;
  if (!Number.isSafeInteger(n * 4) || bytes.length - dataStart !== n * 4) {
    throw bad(`shape [${shape.join(', ')}] needs ${n * 4} data bytes, payload has ${bytes.length - dataStart}`);
  }
  const data = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, n * 4);
  for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
  return { shape, data };
}
