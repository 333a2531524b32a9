/**
 * Loader for the paper's dataset layout: a folder with `yes/` (tumour, label 1) and `no/` (no tumour, label 0) image
 * files, JPEG or PNG (sniffed by content). The Kaggle Br35H dataset has this layout (/work/shared/datasets/br35h);
 * other folders (e.g. brain-mri-253) work the same way. Any other subfolder (Br35H's unlabelled `pred/`) is ignored.
 *
 * Groups come from `NEAR_DUPLICATES.tsv` (columns `path`, `group`) when the folder has one — every loaded file must
 * then be listed. Without it each file is its own group, which is flagged in `meta.groupSource` because near-duplicate
 * copies can then cross a split.
 *
 * Every file is read and hashed on each load (cheap next to decoding) to form the fingerprint that validates the
 * preprocessed cache (cache.ts). When the folder has `SHA256SUMS`, each file's hash is also checked against it and a
 * mismatch is an error: the data is not what its manifest says.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, ImageDecodeError } from '../../inference/image/decode.js';
import { letterboxResize, quantiseInPlace } from '../../inference/image/resize.js';
import { DatasetError, ImageDataset, type DatasetMeta } from '../../core/train/dataset.js';
import { PIPELINE_VERSION, readCache, writeCache } from './cache.js';

/** Repository-level cache folder (`.cache/` is git-ignored). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../../../.cache/datasets', import.meta.url));

const IMAGE_EXT = /\.(jpe?g|png)$/i;

export interface FolderLoadOptions {
  /** Model input side in pixels (64 default; 128 and 224 work too). */
  size?: number;
  /** Dataset name used for the cache file; default: the folder's base name. */
  name?: string;
  /** Cache folder; `null` disables the cache. Default: <repo>/.cache/datasets. */
  cacheDir?: string | null;
  /** What to do with a file that does not decode: 'error' (default) or 'skip' (listed in meta.skipped). */
  onBadFile?: 'error' | 'skip';
  /** Progress while decoding (done, total). */
  onProgress?: (done: number, total: number) => void;
}

interface SourceFile {
  rel: string;
  label: number;
  bytes: Buffer;
  sha256: string;
}

async function listClass(dir: string, sub: 'yes' | 'no'): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, sub));
  } catch {
    return [];
  }
  // Plain code-unit order: identical on every machine and locale.
  return names.filter((n) => IMAGE_EXT.test(n) && !n.startsWith('.')).sort().map((n) => `${sub}/${n}`);
}

export function parseGroupTable(text: string, where: string): Map<string, number> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = lines.shift()?.split('\t') ?? [];
  const pi = head.indexOf('path');
  const gi = head.indexOf('group');
  if (pi < 0 || gi < 0) throw new DatasetError('DATASET_BAD_LAYOUT', `${where}: expected a header with "path" and "group" columns`);
  const m = new Map<string, number>();
  for (const line of lines) {
    const cols = line.split('\t');
    const g = Number(cols[gi]);
    if (!Number.isInteger(g)) throw new DatasetError('DATASET_BAD_LAYOUT', `${where}: bad group in line "${line}"`);
    m.set(cols[pi], g);
  }
  return m;
}

/** Load a yes/no folder as an ImageDataset (from the cache when it matches the data). */
export async function loadYesNoFolder(dir: string, opts: FolderLoadOptions = {}): Promise<ImageDataset> {
  const size = opts.size ?? 64;
  if (!(Number.isInteger(size) && size >= 8 && size <= 1024)) throw new DatasetError('DATASET_BAD_ARGUMENT', `size must be an integer in [8, 1024], got ${size}`);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error();
  } catch {
    throw new DatasetError('DATASET_NOT_FOUND', `dataset folder not found: ${dir}`);
  }
  const name = opts.name ?? (dir.replace(/\/+$/, '').split('/').pop() || 'dataset');
  const rels = [...(await listClass(dir, 'no')), ...(await listClass(dir, 'yes'))].sort();
  if (rels.length === 0) throw new DatasetError('DATASET_EMPTY', `${dir} has no image files under yes/ or no/`);

  // Read and hash every file.
  const files: SourceFile[] = [];
  for (const rel of rels) {
    const bytes = await readFile(join(dir, rel));
    files.push({ rel, label: rel.startsWith('yes/') ? 1 : 0, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }

  // Manifest check.
  let sumsSha: string | undefined;
  const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8').catch(() => null);
  if (sums !== null) {
    sumsSha = createHash('sha256').update(sums).digest('hex');
    const listed = new Map<string, string>();
    for (const line of sums.split(/\r?\n/)) {
      const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
      if (m) listed.set(m[2], m[1]);
    }
    const wrong = files.filter((f) => listed.has(f.rel) && listed.get(f.rel) !== f.sha256).map((f) => f.rel);
    if (wrong.length) {
      throw new DatasetError('DATASET_CHECKSUM_MISMATCH',
        `${wrong.length} file(s) differ from ${join(dir, 'SHA256SUMS')}: ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ', ...' : ''}`);
    }
  }

  // Groups.
  const tsvPath = join(dir, 'NEAR_DUPLICATES.tsv');
  const tsv = await readFile(tsvPath, 'utf8').catch(() => null);
  let groupOf: (rel: string, i: number) => number;
  let groupSource: string;
  if (tsv !== null) {
    const table = parseGroupTable(tsv, tsvPath);
    const missing = files.filter((f) => !table.has(f.rel)).map((f) => f.rel);
    if (missing.length) {
      throw new DatasetError('DATASET_GROUP_MISSING', `${missing.length} file(s) are not in ${tsvPath}: ${missing.slice(0, 5).join(', ')}`);
    }
    groupOf = (rel) => table.get(rel)!;
    groupSource = 'NEAR_DUPLICATES.tsv (near-duplicate groups)';
  } else {
    groupOf = (_rel, i) => i;
    groupSource = 'one group per file (no NEAR_DUPLICATES.tsv: near-duplicate copies may cross splits)';
  }

  const fp = createHash('sha256');
  fp.update(`${PIPELINE_VERSION}\n`);
  for (const f of files) fp.update(`${f.sha256}  ${f.rel}\n`);
  fp.update(`--groups--\n${tsv ?? '(none)'}`);
  const fingerprint = fp.digest('hex');

  const paths = files.map((f) => f.rel);
  const labels = Int32Array.from(files, (f) => f.label);
  const groups = Int32Array.from(files, (f, i) => groupOf(f.rel, i));
  const meta: DatasetMeta = { source: `yes/no folder ${dir}`, groupSource, fingerprint };

  const cacheDir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  if (cacheDir !== null) {
    const hit = await readCache(cacheDir, name, size, fingerprint);
    if ('images' in hit) {
      const skippedPaths = new Set(hit.index.paths);
      const skipped = paths.filter((p) => !skippedPaths.has(p));
      if (skipped.length === 0 || opts.onBadFile === 'skip') {
        return new ImageDataset(name, size, hit.images, Int32Array.from(hit.index.labels), Int32Array.from(hit.index.groups), hit.index.paths,
          { ...meta, fromCache: true, ...(skipped.length ? { skipped: skipped.map((path) => ({ path, error: 'skipped when the cache was built' })) } : {}) });
      }
    }
  }

  // Decode + resize.
  const ss = size * size;
  const images = new Float32Array(files.length * ss);
  const keep: number[] = [];
  const skipped: { path: string; error: string }[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    try {
      const img = decodeImage(f.bytes, f.rel);
      letterboxResize(img, size, images.subarray(keep.length * ss, (keep.length + 1) * ss));
      keep.push(i);
    } catch (e) {
      if (!(e instanceof ImageDecodeError) || opts.onBadFile !== 'skip') {
        throw new DatasetError('DATASET_DECODE_FAILED', `cannot load ${f.rel}: ${e instanceof Error ? e.message : String(e)}`);
      }
      skipped.push({ path: f.rel, error: e.message });
    }
    opts.onProgress?.(i + 1, files.length);
  }
  quantiseInPlace(images);
  const kept = images.subarray(0, keep.length * ss);
  const ds = new ImageDataset(name, size, keep.length === files.length ? images : kept.slice(),
    Int32Array.from(keep, (i) => labels[i]), Int32Array.from(keep, (i) => groups[i]), keep.map((i) => paths[i]),
    { ...meta, fromCache: false, ...(skipped.length ? { skipped } : {}) });
  if (cacheDir !== null) {
    await writeCache(cacheDir, {
      name, size, count: ds.count, fingerprint, ...(sumsSha ? { sourceSumsSha256: sumsSha } : {}),
      paths: ds.paths, labels: [...ds.labels], groups: [...ds.groups], groupSource,
    }, ds.images);
  }
  return ds;
}
