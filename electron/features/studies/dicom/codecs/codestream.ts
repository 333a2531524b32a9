/**
 * Reads the image size a compressed frame's own header declares (JPEG SOFn incl. JPEG-LS SOF55, JPEG 2000 / HTJ2K
 * SIZ), without decoding. The codec packages allocate from these numbers, so they are checked against the DICOM
 * header's Rows × Columns (and thereby the limits) before a codec sees the bytes.
 */
export interface CodestreamInfo {
  width: number;
  height: number;
  components: number;
  /** Sample precision in bits. */
  precision: number;
  /** The SOF marker (0xC0–0xCF, 0xF7 for JPEG-LS) or 0x51 for a JPEG 2000 SIZ. */
  marker: number;
}

/** JPEG family: walk marker segments to the first SOFn (C0–CF except C4, C8, CC) or SOF55 (F7). */
export function jpegInfo(b: Uint8Array): CodestreamInfo | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1];
    if (m === 0xff) { i++; continue; }
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) { i += 2; continue; }
    const len = dv.getUint16(i + 2, false);
    if (len < 2) return null;
    if ((m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7) {
      if (i + 10 > b.length) return null;
      return { precision: b[i + 4], height: dv.getUint16(i + 5, false), width: dv.getUint16(i + 7, false), components: b[i + 9], marker: m };
    }
    if (m === 0xda || m === 0xd9) return null;
    i += 2 + len;
  }
  return null;
}

/** JPEG 2000 / HTJ2K codestream: SOC (FF4F) then SIZ (FF51): Xsiz, Ysiz, XOsiz, YOsiz, ..., Csiz, Ssiz of component 0. */
export function j2kInfo(b: Uint8Array): CodestreamInfo | null {
  if (b.length < 4 + 38 + 3 || b[0] !== 0xff || b[1] !== 0x4f || b[2] !== 0xff || b[3] !== 0x51) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const xsiz = dv.getUint32(8, false), ysiz = dv.getUint32(12, false), xo = dv.getUint32(16, false), yo = dv.getUint32(20, false);
  if (xo > xsiz || yo > ysiz) return null;
  const components = dv.getUint16(40, false);
  return { width: xsiz - xo, height: ysiz - yo, components, precision: (b[42] & 0x7f) + 1, marker: 0x51 };
}
