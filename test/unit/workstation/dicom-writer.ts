/**
 * Test helper: writes DICOM Part 10 bytes by hand, so the tests control every detail the decoder must handle
 * (transfer syntax, VR encoding, byte order, pixel layout) without trusting another DICOM library's writer.
 * Supports implicit/explicit little endian, explicit big endian, deflated explicit little endian, sequences
 * (for DICOMDIR), and encapsulated pixel data (to make a "compressed" file).
 */
import { deflateRawSync } from 'node:zlib';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  /** Video: no codec here, so always refused. */
  mpeg2: '1.2.840.10008.1.2.4.100',
} as const;

export type Value =
  | { vr: 'UI' | 'CS' | 'LO' | 'SH' | 'PN' | 'DA' | 'TM' | 'DS' | 'IS' | 'LT'; value: string }
  | { vr: 'US'; value: number[] }
  | { vr: 'UL'; value: number[] }
  | { vr: 'OB' | 'OW'; value: Uint8Array }
  | { vr: 'SQ'; items: Array<Record<string, Value>> }
  /** Encapsulated pixel data: fragments after an empty basic offset table. */
  | { vr: 'ENCAPSULATED'; fragments: Uint8Array[] };

/** Tag keys are 'ggggeeee' hex. */
export type Elements = Record<string, Value>;

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UT', 'UN', 'OF', 'OD', 'OL']);

class Writer {
  private chunks: number[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u16(v: number): void {
    if (this.littleEndian) this.chunks.push(v & 0xff, (v >> 8) & 0xff);
    else this.chunks.push((v >> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.chunks.push(...(this.littleEndian ? b : b.reverse()));
  }
  bytes(b: Uint8Array | number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.chunks.push(s.charCodeAt(i) & 0xff);
  }
  out(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function valueBytes(v: Value, littleEndian: boolean, explicit: boolean): Uint8Array {
  const w = new Writer(littleEndian);
  switch (v.vr) {
    case 'US':
      v.value.forEach((x) => w.u16(x));
      break;
    case 'UL':
      v.value.forEach((x) => w.u32(x));
      break;
    case 'OB':
    case 'OW':
      w.bytes(v.value);
      if (v.value.length % 2) w.bytes([0]);
      break;
    case 'SQ':
      for (const item of v.items) {
        const body = encodeElements(item, littleEndian, explicit);
        w.u16(0xfffe);
        w.u16(0xe000);
        w.u32(body.length);
        w.bytes(body);
      }
      break;
    case 'ENCAPSULATED':
      w.u16(0xfffe);
      w.u16(0xe000);
      w.u32(0); // empty basic offset table
      for (const f of v.fragments) {
        w.u16(0xfffe);
        w.u16(0xe000);
        w.u32(f.length + (f.length % 2));
        w.bytes(f);
        if (f.length % 2) w.bytes([0]);
      }
      w.u16(0xfffe);
      w.u16(0xe0dd);
      w.u32(0);
      break;
    default: {
      const s = v.value.length % 2 ? v.value + (v.vr === 'UI' ? '\0' : ' ') : v.value;
      w.ascii(s);
    }
  }
  return w.out();
}

export function encodeElements(elements: Elements, littleEndian: boolean, explicit: boolean): Uint8Array {
  const w = new Writer(littleEndian);
  for (const tag of Object.keys(elements).sort()) {
    const v = elements[tag];
    const group = parseInt(tag.slice(0, 4), 16);
    const element = parseInt(tag.slice(4), 16);
    const body = valueBytes(v, littleEndian, explicit);
    w.u16(group);
    w.u16(element);
    const vr = v.vr === 'ENCAPSULATED' ? 'OB' : v.vr;
    const undefinedLength = v.vr === 'ENCAPSULATED';
    if (explicit) {
      w.ascii(vr);
      if (LONG_VRS.has(vr)) {
        w.u16(0);
        w.u32(undefinedLength ? 0xffffffff : body.length);
      } else w.u16(body.length);
    } else {
      w.u32(undefinedLength ? 0xffffffff : body.length);
    }
    w.bytes(body);
  }
  return w.out();
}

export interface FileOptions {
  transferSyntax: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
}

/** A whole Part 10 file: preamble, DICM, meta group (explicit LE), then the data set in the transfer syntax. */
export function dicomFile(elements: Elements, opts: FileOptions): Uint8Array {
  const sopClass = opts.sopClassUid ?? (elements['00080016'] as { value: string } | undefined)?.value ?? '1.2.840.10008.5.1.4.1.1.4';
  const sopInstance = opts.sopInstanceUid ?? (elements['00080018'] as { value: string } | undefined)?.value ?? '1.2.3.4';
  const metaBody = encodeElements(
    {
      '00020001': { vr: 'OB', value: Uint8Array.from([0, 1]) },
      '00020002': { vr: 'UI', value: sopClass },
      '00020003': { vr: 'UI', value: sopInstance },
      '00020010': { vr: 'UI', value: opts.transferSyntax },
      '00020012': { vr: 'UI', value: '1.2.826.0.1.3680043.10.1' },
    },
    true,
    true,
  );
  const groupLength = encodeElements({ '00020000': { vr: 'UL', value: [metaBody.length] } }, true, true);
  const littleEndian = opts.transferSyntax !== TS.explicitBE;
  const explicit = opts.transferSyntax !== TS.implicitLE;
  let data = encodeElements(elements, littleEndian, explicit);
  if (opts.transferSyntax === TS.deflatedLE) data = new Uint8Array(deflateRawSync(data));
  const out = new Uint8Array(132 + groupLength.length + metaBody.length + data.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(groupLength, 132);
  out.set(metaBody, 132 + groupLength.length);
  out.set(data, 132 + groupLength.length + metaBody.length);
  return out;
}

// ---------- image fixtures ----------

export interface ImageOptions {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16 | 32;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: 0 | 1;
  photometric?: string;
  samplesPerPixel?: number;
  /** Raw stored words (already masked/garbage-filled as the test wants), one per pixel. */
  raw: ArrayLike<number>;
  slope?: number;
  intercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  studyUid?: string;
  seriesUid?: string;
  sopUid?: string;
  instanceNumber?: number;
  position?: [number, number, number];
  orientation?: [number, number, number, number, number, number];
  patientName?: string;
  patientId?: string;
  /** Pixel data VR for 8-bit images (OB default). */
  pixelVr?: 'OB' | 'OW';
  omit?: string[];
}

/** Pixel bytes for the raw words, in the byte order of the transfer syntax. */
export function pixelBytes(raw: ArrayLike<number>, bitsAllocated: 8 | 16 | 32, littleEndian: boolean, vr: 'OB' | 'OW' = 'OB'): Uint8Array {
  const n = raw.length;
  const bytesPer = bitsAllocated / 8;
  const out = new Uint8Array(n * bytesPer + ((n * bytesPer) % 2));
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    if (bitsAllocated === 8) out[i] = raw[i] & 0xff;
    else if (bitsAllocated === 16) view.setUint16(2 * i, raw[i] & 0xffff, littleEndian);
    else view.setUint32(4 * i, raw[i] >>> 0, littleEndian);
  }
  // 8-bit data with VR OW in big endian is a sequence of byte-swapped 16-bit words.
  if (bitsAllocated === 8 && vr === 'OW' && !littleEndian) {
    for (let i = 0; i + 1 < out.length; i += 2) [out[i], out[i + 1]] = [out[i + 1], out[i]];
  }
  return out;
}

export function imageElements(o: ImageOptions, transferSyntax: string): Elements {
  const littleEndian = transferSyntax !== TS.explicitBE;
  const bitsStored = o.bitsStored ?? o.bitsAllocated;
  const e: Elements = {
    '00080016': { vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    '00080018': { vr: 'UI', value: o.sopUid ?? '1.2.826.0.1.3680043.10.9.1' },
    '00080060': { vr: 'CS', value: 'MR' },
    '00100010': { vr: 'PN', value: o.patientName ?? 'TEST^PATIENT' },
    '00100020': { vr: 'LO', value: o.patientId ?? 'TEST-1' },
    '0020000d': { vr: 'UI', value: o.studyUid ?? '1.2.826.0.1.3680043.10.9.100' },
    '0020000e': { vr: 'UI', value: o.seriesUid ?? '1.2.826.0.1.3680043.10.9.200' },
    '00200011': { vr: 'IS', value: '1' },
    '00200013': { vr: 'IS', value: String(o.instanceNumber ?? 1) },
    '00280002': { vr: 'US', value: [o.samplesPerPixel ?? 1] },
    '00280004': { vr: 'CS', value: o.photometric ?? 'MONOCHROME2' },
    '00280010': { vr: 'US', value: [o.rows] },
    '00280011': { vr: 'US', value: [o.columns] },
    '00280100': { vr: 'US', value: [o.bitsAllocated] },
    '00280101': { vr: 'US', value: [bitsStored] },
    '00280102': { vr: 'US', value: [o.highBit ?? bitsStored - 1] },
    '00280103': { vr: 'US', value: [o.pixelRepresentation ?? 0] },
    '7fe00010': { vr: o.bitsAllocated === 8 ? (o.pixelVr ?? 'OB') : 'OW', value: pixelBytes(o.raw, o.bitsAllocated, littleEndian, o.pixelVr) },
  };
  if (o.position) e['00200032'] = { vr: 'DS', value: o.position.join('\\') };
  if (o.orientation) e['00200037'] = { vr: 'DS', value: o.orientation.join('\\') };
  if (o.slope !== undefined) e['00281053'] = { vr: 'DS', value: String(o.slope) };
  if (o.intercept !== undefined) e['00281052'] = { vr: 'DS', value: String(o.intercept) };
  if (o.windowCenter !== undefined) e['00281050'] = { vr: 'DS', value: String(o.windowCenter) };
  if (o.windowWidth !== undefined) e['00281051'] = { vr: 'DS', value: String(o.windowWidth) };
  for (const tag of o.omit ?? []) delete e[tag];
  return e;
}

export function imageFile(o: ImageOptions, transferSyntax: string = TS.explicitLE): Uint8Array {
  return dicomFile(imageElements(o, transferSyntax), { transferSyntax });
}

/** A DICOMDIR whose IMAGE records reference the given relative paths ("DIR/FILE"). */
export function dicomDirFile(referenced: string[]): Uint8Array {
  const items = referenced.map((rel) => ({
    '00041400': { vr: 'UL', value: [0] },
    '00041410': { vr: 'US', value: [0xffff] },
    '00041420': { vr: 'UL', value: [0] },
    '00041430': { vr: 'CS', value: 'IMAGE' },
    '00041500': { vr: 'CS', value: rel.split('/').join('\\') },
  })) as Array<Record<string, Value>>;
  return dicomFile(
    {
      '00041130': { vr: 'CS', value: 'TESTMEDIA' },
      '00041220': { vr: 'SQ', items },
    },
    { transferSyntax: TS.explicitLE, sopClassUid: '1.2.840.10008.1.3.10', sopInstanceUid: '1.2.826.0.1.3680043.10.9.999' },
  );
}
