/**
 * A stand-in dataset for machines without Br35H, built only from Debian packages:
 *   - anatomy: the Colin27 T1 template (mricron-data: /usr/share/mricron/templates/ch2.nii.gz, 181×217×181, 1 mm);
 *   - lesion shapes: the 24 simulated lesion masks shipped as examples (mricron-doc:
 *     /usr/share/doc/mricron/examples/dataset/{1..24}.voi, gzipped NIfTI on the same grid).
 * Every number measured on it must carry the caveat "synthetic lesions, one anatomy": all images are slices of one
 * brain, so it tests the pipeline, not clinical generalisation.
 *
 * Construction (deterministic, seed 42 unless told otherwise):
 *  - axial slices z ∈ [48, 112) (the widest part of the brain), cut into 32 blocks of 2 consecutive slices;
 *    a seeded shuffle makes 16 blocks "yes" (tumour) and 16 "no";
 *  - the 24 masks are shuffled into 8 cells of 3; yes-cell k owns 2 yes-blocks and 3 masks, and only those are
 *    combined, so no slice block and no mask id is ever shared between two groups;
 *  - a yes image = a slice of its cell's blocks with one of its cell's masks painted in, using the mask's axial
 *    cross-section at 30/50/70% of its z-extent (in place, intersected with the head): a tumour-like region with a
 *    heterogeneous core (bright or dark), an enhancing rim and soft edges;
 *  - a no image = a slice of a no-block, 9 variants per slice to balance the classes;
 *  - both classes then get the same random global gain, gamma, Gaussian blur and noise, at native resolution,
 *    before letterboxing and resizing like Br35H.
 * Groups: yes-cell k → group 1000 + k, no-block b → group 2000 + b. The standard group split therefore separates
 * slice blocks and mask ids at once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as nifti from 'nifti-reader-js';
import { DatasetError, ImageDataset } from '../../core/train/dataset.js';
import { letterboxResize, quantiseInPlace } from '../../inference/image/resize.js';
import { PIPELINE_VERSION, readCache, writeCache } from './cache.js';
import { DEFAULT_CACHE_DIR } from './folder.js';
import { Rng } from '../../core/rng.js';
import { gaussianBlur, paintLesion } from './lesion.js';

export const SYNTHETIC_CAVEAT = 'synthetic lesions, one anatomy';
export const SYNTHETIC_VERSION = 'colin27+mricron-voi v2';
export const DEFAULT_TEMPLATE = '/usr/share/mricron/templates/ch2.nii.gz';
export const DEFAULT_MASK_DIR = '/usr/share/doc/mricron/examples/dataset';

export interface SyntheticOptions {
  size?: number;
  seed?: number;
  templatePath?: string;
  maskDir?: string;
  /** Cache folder (`null` disables). Generation takes seconds; the cache mostly saves reading 25 NIfTI volumes. */
  cacheDir?: string | null;
}

interface Volume {
  dims: [number, number, number];
  data: Float32Array | Uint8Array; // template: [0, 1] floats; masks: 0/1 bytes; index x + X·(y + Y·z)
}

async function readNifti(path: string, asMask = false): Promise<{ vol: Volume; bytes: Buffer }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new DatasetError('DATASET_NOT_FOUND', `${path} not found (install the Debian packages mricron-data and mricron-doc)`);
  }
  let buf: ArrayBuffer = new Uint8Array(bytes).buffer;
  if (nifti.isCompressed(buf)) buf = nifti.decompress(buf) as ArrayBuffer;
  const h = nifti.readHeader(buf);
  if (!h) throw new DatasetError('DATASET_BAD_LAYOUT', `${path} is not a NIfTI file`);
  const raw = nifti.readImage(h, buf);
  const [, X, Y, Z] = h.dims;
  const n = X * Y * Z;
  let src: ArrayLike<number>;
  switch (h.datatypeCode) {
    case nifti.NIFTI1.TYPE_UINT8: src = new Uint8Array(raw, 0, n); break;
    case nifti.NIFTI1.TYPE_INT16: src = new Int16Array(raw, 0, n); break;
    case nifti.NIFTI1.TYPE_FLOAT32: src = new Float32Array(raw, 0, n); break;
    default: throw new DatasetError('DATASET_BAD_LAYOUT', `${path}: unsupported NIfTI datatype ${h.datatypeCode}`);
  }
  if (asMask) {
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) mask[i] = src[i] > 0 ? 1 : 0;
    return { vol: { dims: [X, Y, Z], data: mask }, bytes };
  }
  let hi = 0;
  for (let i = 0; i < n; i++) if (src[i] > hi) hi = src[i];
  const data = new Float32Array(n);
  const k = hi > 0 ? 1 / hi : 0;
  for (let i = 0; i < n; i++) data[i] = Math.max(0, src[i] * k);
  return { vol: { dims: [X, Y, Z], data }, bytes };
}

/** Axial slice z as a W×H image (x → column, anterior up). */
function axial(v: Volume, z: number): Float32Array {
  const [X, Y] = v.dims;
  const out = new Float32Array(X * Y);
  for (let y = 0; y < Y; y++) {
    const row = (Y - 1 - y) * X;
    const src = X * (y + Y * z);
    for (let x = 0; x < X; x++) out[row + x] = v.data[src + x];
  }
  return out;
}

/** Same acquisition variation for both classes: gain, gamma, blur, Gaussian noise (clamped to [0, 1]). */
function acquire(img: Float32Array, w: number, h: number, rng: Rng, noiseBuf: Float32Array): void {
  const gain = rng.uniform(0.85, 1.1);
  const gamma = Math.exp(rng.uniform(-0.2, 0.2));
  const sigma = rng.uniform(0.3, 1.2);
  const noise = rng.uniform(0.01, 0.05);
  gaussianBlur(img, w, h, sigma);
  rng.fillNormal(noiseBuf, noise);
  for (let i = 0; i < img.length; i++) {
    const v = gain * Math.pow(Math.max(0, img[i]), gamma) + noiseBuf[i];
    img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Generate (or load from cache) the synthetic stand-in dataset. */
export async function loadSynthetic(opts: SyntheticOptions = {}): Promise<ImageDataset> {
  const size = opts.size ?? 64;
  const seed = opts.seed ?? 42;
  const templatePath = opts.templatePath ?? DEFAULT_TEMPLATE;
  const maskDir = opts.maskDir ?? DEFAULT_MASK_DIR;
  const { vol: t1, bytes: t1Bytes } = await readNifti(templatePath);
  const masks: Volume[] = [];
  const fp = createHash('sha256').update(`${PIPELINE_VERSION}\n${SYNTHETIC_VERSION}\nseed ${seed}\n`).update(t1Bytes);
  for (let id = 1; id <= 24; id++) {
    const { vol, bytes } = await readNifti(`${maskDir}/${id}.voi`, true);
    if (vol.dims.join() !== t1.dims.join()) throw new DatasetError('DATASET_BAD_LAYOUT', `mask ${id}.voi grid ${vol.dims} ≠ template ${t1.dims}`);
    masks.push(vol);
    fp.update(bytes);
  }
  const fingerprint = fp.digest('hex');
  const name = `synthetic-s${seed}`;
  const cacheDir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  const meta = {
    source: `synthetic: Colin27 T1 (${templatePath}) + 24 lesion masks (${maskDir})`,
    caveat: SYNTHETIC_CAVEAT,
    groupSource: 'yes: cell of 2 slice blocks × 3 mask ids; no: one slice block (no block or mask id shared between groups)',
    fingerprint,
  };
  if (cacheDir !== null) {
    const hit = await readCache(cacheDir, name, size, fingerprint);
    if ('images' in hit) {
      return new ImageDataset(name, size, hit.images, Int32Array.from(hit.index.labels), Int32Array.from(hit.index.groups), hit.index.paths, { ...meta, fromCache: true });
    }
  }

  const [X, Y] = t1.dims;
  const rng = new Rng(seed);
  const blocks = Array.from({ length: 32 }, (_, b) => b); // block b = slices 48 + 2b, 49 + 2b
  rng.shuffle(blocks);
  const yesBlocks = blocks.slice(0, 16).sort((a, b) => a - b);
  const noBlocks = blocks.slice(16).sort((a, b) => a - b);
  const maskIds = rng.shuffle(Array.from({ length: 24 }, (_, i) => i + 1));

  // z-extent of every mask (first and last axial slice with a lesion voxel).
  const extent = masks.map((mv) => {
    let zmin = Infinity, zmax = -Infinity;
    const d = mv.data, slab = X * Y;
    for (let z = 0; z < mv.dims[2]; z++) {
      for (let i = z * slab, end = i + slab; i < end; i++) if (d[i] > 0) { if (z < zmin) zmin = z; zmax = z; break; }
    }
    if (zmax < 0) throw new DatasetError('DATASET_BAD_LAYOUT', 'an empty lesion mask');
    return [zmin, zmax] as const;
  });
  const items: { img: Float32Array; label: number; group: number; path: string }[] = [];
  const levels = [0.3, 0.5, 0.7];
  const noiseBuf = new Float32Array(X * Y);
  for (let cell = 0; cell < 8; cell++) {
    const cellBlocks = yesBlocks.slice(cell * 2, cell * 2 + 2);
    const cellMasks = maskIds.slice(cell * 3, cell * 3 + 3);
    for (const b of cellBlocks) for (const z of [48 + 2 * b, 49 + 2 * b]) {
      const slice = axial(t1, z);
      for (const id of cellMasks) {
        const mv = masks[id - 1];
        const [zmin, zmax] = extent[id - 1];
        for (const lv of levels) {
          const mz = Math.round(zmin + lv * (zmax - zmin));
          const m2 = axial(mv, mz);
          for (let i = 0; i < m2.length; i++) m2[i] = m2[i] > 0 && slice[i] > 0.08 ? 1 : 0; // inside the head
          const img = new Float32Array(slice);
          paintLesion(img, m2, X, Y, rng);
          acquire(img, X, Y, rng, noiseBuf);
          items.push({ img, label: 1, group: 1000 + cell, path: `synthetic/yes/z${z}-mask${id}-level${Math.round(lv * 100)}` });
        }
      }
    }
  }
  for (const b of noBlocks) for (const z of [48 + 2 * b, 49 + 2 * b]) {
    const slice = axial(t1, z);
    for (let v = 0; v < 9; v++) {
      const img = new Float32Array(slice);
      acquire(img, X, Y, rng, noiseBuf);
      items.push({ img, label: 0, group: 2000 + b, path: `synthetic/no/z${z}-variant${v}` });
    }
  }

  const ss = size * size;
  const images = new Float32Array(items.length * ss);
  items.forEach((it, i) => letterboxResize({ width: X, height: Y, data: it.img }, size, images.subarray(i * ss, (i + 1) * ss)));
  quantiseInPlace(images);
  const ds = new ImageDataset(name, size, images, Int32Array.from(items, (i) => i.label), Int32Array.from(items, (i) => i.group),
    items.map((i) => i.path), { ...meta, fromCache: false });
  if (cacheDir !== null) {
    await writeCache(cacheDir, { name, size, count: ds.count, fingerprint, paths: ds.paths, labels: [...ds.labels], groups: [...ds.groups], groupSource: meta.groupSource }, images);
  }
  return ds;
}
