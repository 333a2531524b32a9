/** Types for jpeg-lossless-decoder-js 2.1.2, whose package points at a declaration file it does not ship. */
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor(buffer?: ArrayBuffer, numBytes?: number);
    decode(buffer: ArrayBufferLike, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
    /** The predictor functions, looked up on the instance when a scan starts. */
    select7(compOffset: number): number;
    getPreviousX(compOffset?: number): number;
    getPreviousY(compOffset?: number): number;
  }
}
