/**
 * JPEG Lossless, Process 14 (any predictor; SV1 is selection value 1), with jpeg-lossless-decoder-js 2.1.2 and two
 * work-arounds for its known faults (reported fixed upstream after that release), both tested against dcmtk for all seven
 * predictors on 12- and 16-bit images:
 * 1. Predictor 7 (below, FixedDecoder): reproduced and fixed; without it, 616 of 3072 pixels of a 16-bit image differ.
 * 2. The last pixel of some 16-bit streams is reported dropped (predictors 1, 6, 7): the bit reader can meet the EOI
 *    marker while it still needs bits for the final difference, and then stops without writing that pixel. We did not
 *    reproduce it with 240 dcmtk-made streams (dcmtk fills the last byte with 1-bits, so the reader never needs the
 *    marker's byte), but other encoders may end a scan exactly on a byte boundary. Work-around, harmless either way:
 *    the entropy-coded data gets four zero bytes before the EOI, so the reader never runs into the marker early; the
 *    decoder stops after Rows × Columns samples, so the padding is never decoded into a pixel.
 */
import { Decoder } from 'jpeg-lossless-decoder-js';

/**
 * Predictor 7 is Px = (Ra + Rb) >> 1 (ITU-T T.81 H.1.2.1, integer). 2.1.2 computes (Ra + Rb) / 2, a fraction that
 * then truncates wrongly where a sample wraps modulo 2^16 (616 of 3072 pixels of our 16-bit test image were off by
 * one against dcmtk). The selector is looked up on the instance, so overriding the method fixes it.
 */
class FixedDecoder extends Decoder {
  override select7(compOffset: number): number {
    return (this.getPreviousX(compOffset) + this.getPreviousY(compOffset)) >> 1;
  }
}

export function decodeJpegLossless(encoded: Uint8Array): Uint8Array | Uint16Array {
  let end = encoded.length;
  while (end > 2 && encoded[end - 1] === 0) end--; // fragments are padded to even length
  const hasEoi = end >= 2 && encoded[end - 2] === 0xff && encoded[end - 1] === 0xd9;
  const body = hasEoi ? end - 2 : end;
  const padded = new Uint8Array(body + 6);
  padded.set(encoded.subarray(0, body));
  padded[body + 4] = 0xff;
  padded[body + 5] = 0xd9;
  const out = new FixedDecoder().decode(padded.buffer, padded.byteOffset, padded.byteLength);
  return out as Uint8Array | Uint16Array;
}
