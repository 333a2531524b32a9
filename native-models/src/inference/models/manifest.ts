/**
 * The shipped model artifacts (native-models/models/): `manifest.json` lists each model's weights file with its
 * sha256, size, net config, split and metrics; `loadModel(name)` reads a weights file only after its bytes hash to
 * the manifest's sha256, and refuses anything else with a `ModelIntegrityError` (code MODEL_INTEGRITY_MISMATCH).
 *
 * manifest.json:
 *   { "format": "medfedpure-models", "version": 1,
 *     "models": { "classifier": { "version", "file", "sha256", "bytes", "config", "trainedAt", "split", "metrics",
 *                                 "data", "recipe", "training", "card" }, "mae": {...}, "diffusion": {...} } }
 * `file` and `card` are relative to the manifest's folder.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWeights, writeFileAtomic, WeightsFormatError } from '../../core/weights-io.js';
import type { NamedWeights } from '../../core/tensor.js';

/** native-models/models/ in this repository. */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'medfedpure-models';
export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
  /** Semantic version of the artifact. */
  version: string;
  /** Weights file (weights-io format), relative to the manifest folder. */
  file: string;
  /** sha256 (hex) of the whole weights file, as `sha256sum` prints it. */
  sha256: string;
  bytes: number;
  /** The net's config: what init / buildInference take. */
  config: Record<string, unknown>;
  /** ISO time the artifact was written. */
  trainedAt: string;
  split: string;
  metrics: Record<string, unknown>;
  data?: { source: string; fingerprint: string; caveat: string | null };
  recipe?: Record<string, unknown>;
  training?: Record<string, unknown>;
  /** Model card, relative to the manifest folder. */
  card?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  models: Record<string, ManifestEntry>;
}

export type ModelErrorCode = 'MODEL_MANIFEST_MISSING' | 'MODEL_MANIFEST_INVALID' | 'MODEL_UNKNOWN' | 'MODEL_FILE_MISSING' | 'MODEL_FILE_INVALID';

/** The manifest or a weights file cannot be used (missing, malformed, unknown model name). */
export class ModelError extends Error {
  constructor(readonly code: ModelErrorCode, message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** A weights file whose bytes do not hash to the manifest's sha256: corrupted, tampered with, or swapped. */
export class ModelIntegrityError extends Error {
  readonly code = 'MODEL_INTEGRITY_MISMATCH';
  constructor(readonly model: string, readonly path: string, readonly expected: string, readonly actual: string) {
    super(`refusing to load model "${model}": ${path} has sha256 ${actual}, the manifest expects ${expected} (file corrupted, tampered with or replaced; restore it or retrain)`);
    this.name = 'ModelIntegrityError';
  }
}

const SHA_RE = /^[0-9a-f]{64}$/;

function checkEntry(name: string, e: unknown, where: string): ManifestEntry {
  const bad = (msg: string) => new ModelError('MODEL_MANIFEST_INVALID', `${where}: model "${name}": ${msg}`);
  if (typeof e !== 'object' || e === null) throw bad('entry is not an object');
  const m = e as Record<string, unknown>;
  if (typeof m.file !== 'string' || m.file === '' || isAbsolute(m.file) || normalize(m.file).startsWith('..')) throw bad('"file" must be a relative path inside the models folder');
  if (typeof m.sha256 !== 'string' || !SHA_RE.test(m.sha256)) throw bad('"sha256" must be 64 lowercase hex digits');
  if (typeof m.bytes !== 'number' || !Number.isInteger(m.bytes) || m.bytes < 0) throw bad('"bytes" must be a non-negative integer');
  if (typeof m.version !== 'string') throw bad('"version" must be a string');
  if (typeof m.config !== 'object' || m.config === null) throw bad('"config" must be an object');
  if (typeof m.split !== 'string') throw bad('"split" must be a string');
  if (typeof m.trainedAt !== 'string') throw bad('"trainedAt" must be a string');
  return m as unknown as ManifestEntry;
}

/** Parse and validate manifest text. */
export function parseManifest(text: string, where = MANIFEST_FILE): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelError('MODEL_MANIFEST_INVALID', `${where}: not valid JSON (${(e as Error).message})`);
  }
  const m = raw as Record<string, unknown>;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) {
    throw new ModelError('MODEL_MANIFEST_INVALID', `${where}: expected { "format": "${MANIFEST_FORMAT}", "version": ${MANIFEST_VERSION}, ... }`);
  }
  if (typeof m.models !== 'object' || m.models === null || Array.isArray(m.models)) throw new ModelError('MODEL_MANIFEST_INVALID', `${where}: "models" must be an object`);
  const models: Record<string, ManifestEntry> = {};
  for (const [name, e] of Object.entries(m.models)) models[name] = checkEntry(name, e, where);
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, models };
}

/** Read `<dir>/manifest.json`; a missing file gives an empty manifest when `allowMissing`. */
export async function readManifest(dir = DEFAULT_MODELS_DIR, allowMissing = false): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (allowMissing) return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, models: {} };
      throw new ModelError('MODEL_MANIFEST_MISSING', `no model manifest at ${path} (train the models with "medfedpure train")`);
    }
    throw e;
  }
  return parseManifest(text, path);
}

/** Add or replace one model's entry, keeping the others (atomic write, stable key order). */
export async function updateManifest(dir: string, name: string, entry: ManifestEntry): Promise<Manifest> {
  const m = await readManifest(dir, true);
  m.models[name] = checkEntry(name, entry, 'new entry');
  const sorted: Record<string, ManifestEntry> = {};
  for (const k of Object.keys(m.models).sort()) sorted[k] = m.models[k];
  m.models = sorted;
  await writeFileAtomic(join(dir, MANIFEST_FILE), Buffer.from(`${JSON.stringify(m, null, 2)}\n`, 'utf8'));
  return m;
}

export interface LoadedModel {
  name: string;
  entry: ManifestEntry;
  weights: NamedWeights;
  /** The `meta` block stored inside the weights file. */
  meta: Record<string, unknown>;
  path: string;
}

/**
 * Load a shipped model's weights after checking the file's sha256 against the manifest. The check runs on the exact
 * bytes that are then decoded (no time-of-check/time-of-use gap); weights-io's own trailer check runs as well.
 */
export async function loadModel(name: string, opts: { dir?: string } = {}): Promise<LoadedModel> {
  const dir = opts.dir ?? DEFAULT_MODELS_DIR;
  const manifest = await readManifest(dir);
  const entry = manifest.models[name];
  if (!entry) throw new ModelError('MODEL_UNKNOWN', `no model "${name}" in ${join(dir, MANIFEST_FILE)} (has: ${Object.keys(manifest.models).join(', ') || 'none'})`);
  const path = join(dir, entry.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelError('MODEL_FILE_MISSING', `model "${name}": weights file ${path} is missing`);
    throw e;
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== entry.sha256) throw new ModelIntegrityError(name, path, entry.sha256, actual);
  try {
    const { weights, meta } = decodeWeights(bytes, path);
    return { name, entry, weights, meta, path };
  } catch (e) {
    // Same bytes the manifest vouches for, yet unreadable: the manifest was written for a broken file.
    if (e instanceof WeightsFormatError) throw new ModelError('MODEL_FILE_INVALID', `model "${name}": ${e.message}`);
    throw e;
  }
}

/** sha256 (hex) of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}
