/**
 * The compiled codec packages (@cornerstonejs/codec-*: libjpeg-turbo 8-bit, CharLS, OpenJPEG, OpenJPH), loaded in
 * plain Node from their `decodewasmjs` entry (`wasmjs` for OpenJPH, which ships no decode-only build): no fetch
 * polyfill is needed. Each module is instantiated once, on first use (`loadWasmCodec`), and then decodes
 * synchronously. All four share one calling pattern: copy the frame into the codec's input buffer, decode, read the
 * frame info and copy the decoded samples out (the codec's buffer is reused by the next call). A codec that throws is
 * dropped and instantiated afresh on next use.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export type WasmCodecName = 'libjpeg-turbo' | 'charls' | 'openjpeg' | 'openjph';

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete?(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;

const ENTRIES: Readonly<Record<WasmCodecName, { pkg: string; entry: string; decoder: string }>> = {
  'libjpeg-turbo': { pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit', entry: 'decodewasmjs', decoder: 'JPEGDecoder' },
  charls: { pkg: '@cornerstonejs/codec-charls', entry: 'decodewasmjs', decoder: 'JpegLSDecoder' },
  openjpeg: { pkg: '@cornerstonejs/codec-openjpeg', entry: 'decodewasmjs', decoder: 'J2KDecoder' },
  openjph: { pkg: '@cornerstonejs/codec-openjph', entry: 'wasmjs', decoder: 'HTJ2KDecoder' },
};

const loaded = new Map<WasmCodecName, WasmDecoder>();
const loading = new Map<WasmCodecName, Promise<void>>();
const require = createRequire(import.meta.url);

/** Instantiates a codec module (once); later calls return at once. */
export function loadWasmCodec(name: WasmCodecName): Promise<void> {
  if (loaded.has(name)) return Promise.resolve();
  let p = loading.get(name);
  if (!p) {
    const { pkg, entry, decoder } = ENTRIES[name];
    p = (async () => {
      const mod = (await import(pathToFileURL(require.resolve(`${pkg}/${entry}`)).href)) as { default?: () => Promise<WasmModule> };
      const factory = (mod.default ?? (mod as unknown as () => Promise<WasmModule>)) as () => Promise<WasmModule>;
      const m = await factory();
      loaded.set(name, new m[decoder]());
    })();
    loading.set(name, p);
    p.catch(() => loading.delete(name));
  }
  return p;
}

export function isWasmCodecLoaded(name: WasmCodecName): boolean {
  return loaded.has(name);
}

export interface WasmDecoded {
  info: FrameInfo;
  /** A copy of the decoded samples (bytes; 8-bit or little-endian 16-bit). */
  bytes: Uint8Array;
}

/** Decodes one frame with a loaded codec. Throws whatever the codec throws (the caller maps it to a typed error). */
export function decodeWithWasm(name: WasmCodecName, encoded: Uint8Array): WasmDecoded {
  const d = loaded.get(name);
  if (!d) throw new Error(`codec ${name} is not loaded`);
  try {
    d.getEncodedBuffer(encoded.length).set(encoded);
    d.decode();
    const info = d.getFrameInfo();
    return { info: { ...info }, bytes: Uint8Array.from(d.getDecodedBuffer()) };
  } catch (err) {
    // A codec that threw (corrupt input; an Emscripten abort) may be left in a broken state: drop the instance, so
    // the next `loadWasmCodec` builds a fresh one and one hostile file cannot spoil the decoding of the next.
    loaded.delete(name);
    loading.delete(name);
    throw err;
  }
}
