/**
 * Import of many files: from paths (files, folders walked recursively, DICOMDIR) or from bytes sent by the UI.
 *
 * Each file is imported on its own (StudyStore.importBytesAsync: parsed and checked in the decode worker); a bad file
 * becomes an entry in `errors` naming the file and the reason, and the import carries on. The loop also yields to
 * the event loop between files so a host keeps serving requests during a large import, and reports progress.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ImportFileError, ImportResult } from '../../api.js';
import { readDicomDir } from '../dicom/dicomdir.js';
import { DicomError } from '../dicom/errors.js';
import { MAX_DICOM_FILE_BYTES } from '../dicom/limits.js';
import type { StudyStore } from './study-store.js';

/** One file to import; bytes are read lazily so a big folder is never all in memory. */
export interface ImportSource {
  name: string;
  read(): Uint8Array;
}

export interface CollectedSources {
  sources: ImportSource[];
  errors: ImportFileError[];
  skipped: string[];
}

/** Files a folder walk passes over without reporting them: hidden files, documentation, DICOMDIR indexes. */
export function isIgnoredInFolder(name: string): boolean {
  return name.startsWith('.') || /^(readme|license|licence)(\..*)?$/i.test(name) || /\.(md|txt)$/i.test(name) || name.toUpperCase() === 'DICOMDIR';
}

/** Reads a file for import, refusing one over MAX_DICOM_FILE_BYTES before reading it (TOO_LARGE). */
const fileSource = (path: string): ImportSource => ({
  name: path,
  read: () => {
    const size = statSync(path).size;
    if (size > MAX_DICOM_FILE_BYTES) throw new DicomError('TOO_LARGE', path, `file is ${size} bytes; the limit is ${MAX_DICOM_FILE_BYTES}`);
    return readFileSync(path);
  },
});

function ioError(file: string, err: unknown): ImportFileError {
  return { file, code: 'IO_ERROR', message: err instanceof Error ? err.message : String(err) };
}

/** Finds a DICOMDIR's referenced file, trying the exact path first, then a case-insensitive match per component. */
function resolveReferenced(root: string, rel: string): string | null {
  const exact = join(root, ...rel.split('/'));
  try {
    if (statSync(exact).isFile()) return exact;
  } catch {
    /* try case-insensitively */
  }
  let dir = root;
  for (const part of rel.split('/')) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return null;
    }
    const hit = entries.find((e) => e.toUpperCase() === part.toUpperCase());
    if (!hit) return null;
    dir = join(dir, hit);
  }
  return dir;
}

function expandDicomDir(path: string, out: CollectedSources): void {
  let refs: string[];
  try {
    refs = readDicomDir(readFileSync(path), path);
  } catch (err) {
    out.errors.push(err instanceof DicomError ? err.toImportError() : ioError(path, err));
    return;
  }
  const root = dirname(path);
  for (const rel of refs) {
    const target = resolveReferenced(root, rel);
    const fromRoot = target === null ? '' : relative(root, target);
    const inside = fromRoot !== '' && !isAbsolute(fromRoot) && !fromRoot.split(sep).includes('..');
    if (!target || !inside) {
      out.errors.push({ file: join(root, rel), code: 'IO_ERROR', message: `referenced by ${path} but not found` });
      continue;
    }
    out.sources.push(fileSource(target));
  }
}

function walk(dir: string, out: CollectedSources): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    out.errors.push(ioError(dir, err));
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      out.errors.push(ioError(p, err));
      continue;
    }
    if (st.isDirectory()) {
      if (!name.startsWith('.')) walk(p, out);
    } else if (st.isFile()) {
      if (isIgnoredInFolder(name)) out.skipped.push(p);
      else out.sources.push(fileSource(p));
    }
  }
}

/** Turns command-line paths into import sources. A file named DICOMDIR is expanded to the files it references. */
export function collectPaths(paths: readonly string[]): CollectedSources {
  const out: CollectedSources = { sources: [], errors: [], skipped: [] };
  for (const given of paths) {
    const p = resolve(given);
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      out.errors.push(ioError(given, err));
      continue;
    }
    if (st.isDirectory()) walk(p, out);
    else if (basename(p).toUpperCase() === 'DICOMDIR') expandDicomDir(p, out);
    else out.sources.push(fileSource(p));
  }
  return out;
}

export interface ImportProgress {
  done: number;
  total: number;
  file: string;
}

/** Imports the sources one by one into the store. Never throws for a bad file. */
export async function importSources(
  store: StudyStore,
  sources: readonly ImportSource[],
  opts: { onProgress?: (p: ImportProgress) => void; initialErrors?: ImportFileError[]; initialSkipped?: number } = {},
): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, duplicates: 0, errors: [...(opts.initialErrors ?? [])], studies: [], skipped: opts.initialSkipped ?? 0 };
  const studies = new Set<string>();
  let lastYield = Date.now();
  for (let i = 0; i < sources.length; i++) {
    const src = sources[i];
    try {
      const r = await store.importBytesAsync(src.name, src.read());
      if (r.status === 'directory') result.skipped = (result.skipped ?? 0) + 1;
      else {
        if (r.status === 'imported') result.imported++;
        else result.duplicates++;
        studies.add(r.header.studyInstanceUid);
      }
    } catch (err) {
      result.errors.push(err instanceof DicomError ? err.toImportError() : ioError(src.name, err));
    }
    opts.onProgress?.({ done: i + 1, total: sources.length, file: src.name });
    if (Date.now() - lastYield > 20) {
      await new Promise((r) => setImmediate(r));
      lastYield = Date.now();
    }
  }
  result.studies = [...studies];
  return result;
}
