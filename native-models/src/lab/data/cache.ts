/**
 * Preprocessed-dataset cache: decoding ~2,600 JPEGs takes minutes in pure JS, so the resized grey pixels are kept in
 * `.cache/datasets/<name>-<size>.bin` (uint8, N·S·S bytes) with a JSON index beside it (`<name>-<size>.json`).
 *
 * The index records the source fingerprint (SHA-256 over every source file's SHA-256 and the group table, see
 * folder.ts), the preprocessing version, size, labels, groups, paths, and the SHA-256 of the .bin. A cache is used
 * only when all of them match the data on disk now; anything else (changed, added or removed file, edited group
 * table, new pipeline version, damaged .bin) makes it stale and it is rebuilt. The .bin is written first and the
 * index last, both atomically, so the index is the commit marker.
 *
 * Pixels are stored as uint8 (round(v·255)). Loaders quantise freshly decoded pixels the same way, so a run from
 * the cache and a run without it see bit-identical images (Br35H's sources are 8-bit anyway).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/weights-io.js';

/** Bump when decode/resize/quantisation changes: invalidates every cache. */
export const PIPELINE_VERSION = 'grey-bt601, alpha-over-black, letterbox-black, area-down/bilinear-up, uint8; v1';

export interface CacheIndex {
  format: 'medfedpure-dataset-cache';
  version: 1;
  pipeline: string;
  name: string;
  size: number;
  count: number;
  fingerprint: string;
  /** sha256 of the SHA256SUMS file of the source folder, when it has one (informational). */
  sourceSumsSha256?: string;
  binSha256: string;
  paths: string[];
  labels: number[];
  groups: number[];
  groupSource: string;
}

export interface CacheHit {
  index: CacheIndex;
  images: Float32Array;
}

export function cachePaths(cacheDir: string, name: string, size: number): { bin: string; index: string } {
  const base = `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${size}`;
  return { bin: join(cacheDir, `${base}.bin`), index: join(cacheDir, `${base}.json`) };
}

/** Returns the cached images when the cache matches `fingerprint`; otherwise `{ stale: reason }`. */
export async function readCache(cacheDir: string, name: string, size: number, fingerprint: string): Promise<CacheHit | { stale: string }> {
  const p = cachePaths(cacheDir, name, size);
  let index: CacheIndex;
  try {
    index = JSON.parse(await readFile(p.index, 'utf8')) as CacheIndex;
  } catch {
    return { stale: 'no cache index' };
  }
  if (index.format !== 'medfedpure-dataset-cache' || index.version !== 1) return { stale: 'unknown cache format' };
  if (index.pipeline !== PIPELINE_VERSION) return { stale: 'preprocessing changed' };
  if (index.size !== size) return { stale: 'different size' };
  if (index.fingerprint !== fingerprint) return { stale: 'source data changed' };
  let bin: Buffer;
  try {
    bin = await readFile(p.bin);
  } catch {
    return { stale: 'cache .bin missing' };
  }
  if (bin.length !== index.count * size * size) return { stale: 'cache .bin has the wrong length' };
  if (createHash('sha256').update(bin).digest('hex') !== index.binSha256) return { stale: 'cache .bin checksum mismatch' };
  const images = new Float32Array(bin.length);
  for (let i = 0; i < bin.length; i++) images[i] = bin[i] / 255;
  return { index, images };
}

/** Write the cache (pixels must already be quantised; they are rounded again to be safe). */
export async function writeCache(cacheDir: string, index: Omit<CacheIndex, 'binSha256' | 'format' | 'version' | 'pipeline'>, images: Float32Array): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const p = cachePaths(cacheDir, index.name, index.size);
  const bin = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) bin[i] = Math.round(images[i] * 255);
  const full: CacheIndex = {
    format: 'medfedpure-dataset-cache', version: 1, pipeline: PIPELINE_VERSION, ...index,
    binSha256: createHash('sha256').update(bin).digest('hex'),
  };
  await writeFileAtomic(p.bin, bin);
  await writeFileAtomic(p.index, Buffer.from(JSON.stringify(full)));
}
