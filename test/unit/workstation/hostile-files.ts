/**
 * Test helper: hostile files made on the spot, small on disk and huge when decoded, for the hostile-input and fuzz
 * tests. Nothing here is committed as a binary fixture.
 *
 * - `deflateBomb`: a Deflated Explicit VR Little Endian DICOM whose header declares Rows × Columns (any size) and
 *   whose deflated stream really inflates to `inflatedPixelBytes` zero bytes: ~1 KiB per MiB, built from independently
 *   compressed 1 MiB blocks (each sync-flushed, so the blocks concatenate into one valid raw deflate stream).
 * - `pngHeaderBomb` / `jpegHeaderBomb`: a few dozen bytes whose header claims width × height.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { dicomFile, encodeElements, imageElements, TS } from './dicom-writer.js';

const MiB = 1024 * 1024;

export interface DeflateBombOptions {
  rows: number;
  columns: number;
  bitsAllocated?: 8 | 16;
  /** Zero bytes the pixel data really inflates to (default: what the header declares). */
  inflatedPixelBytes?: number;
  sopUid?: string;
}

export function deflateBomb(o: DeflateBombOptions): Uint8Array {
  const bits = o.bitsAllocated ?? 16;
  const declared = o.rows * o.columns * (bits / 8);
  const real = o.inflatedPixelBytes ?? declared;
  const elements = imageElements({ rows: o.rows, columns: o.columns, bitsAllocated: bits, raw: [], sopUid: o.sopUid ?? '1.2.826.0.1.3680043.10.9.66601' }, TS.deflatedLE);
  delete elements['7fe00010'];
  const header = encodeElements(elements, true, true);
  // Pixel Data element header: tag, VR OW, reserved, 32-bit length (the declared size, capped to what fits in 32 bits).
  const pixelHeader = new Uint8Array(12);
  const dv = new DataView(pixelHeader.buffer);
  dv.setUint16(0, 0x7fe0, true);
  dv.setUint16(2, 0x0010, true);
  pixelHeader.set([0x4f, 0x57], 4);
  dv.setUint32(8, Math.min(real, 0xfffffffe), true);
  const sync = { finishFlush: constants.Z_SYNC_FLUSH };
  const parts: Uint8Array[] = [deflateRawSync(Buffer.concat([header, pixelHeader]), sync)];
  const block = deflateRawSync(Buffer.alloc(MiB), sync);
  for (let left = real; left > 0; left -= MiB) parts.push(left >= MiB ? block : deflateRawSync(Buffer.alloc(left), sync));
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  const deflated = Buffer.concat(parts);
  // dicomFile deflates its data set itself; build the meta with an empty data set and append ours.
  const meta = dicomFile({}, { transferSyntax: TS.deflatedLE, sopInstanceUid: o.sopUid ?? '1.2.826.0.1.3680043.10.9.66601' });
  const deflatedEmpty = deflateRawSync(new Uint8Array(0)).length;
  return Buffer.concat([meta.subarray(0, meta.length - deflatedEmpty), deflated]);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit grey) whose IHDR claims width × height, with a tiny IDAT: ~60 bytes. */
export function pngHeaderBomb(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grey, deflate, no filter method, no interlace
  const idat = deflateRawSync(Buffer.alloc(1024));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A baseline JPEG header (SOI, SOF0 claiming width × height, one component) and nothing decodable after it. */
export function jpegHeaderBomb(width: number, height: number): Uint8Array {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x01, 0x01, 0x11, 0x00]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])]);
}
