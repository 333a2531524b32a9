/**
 * Where things live on disk: the default data directory and the repository's own files (package.json,
 * the built renderer, the committed demo data).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Repository (or packaged app) root: the nearest folder above this file holding the app's package.json.
 * Walking up works both from the sources (electron/node/services/) and from the compiled copy (dist/electron/...).
 */
export const APP_ROOT = findAppRoot(dirname(fileURLToPath(import.meta.url)));

function findAppRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'medfedpure-workstation') return dir;
    } catch {
      /* keep walking */
    }
    if (dirname(dir) === dir) return resolve(start, '../../..');
  }
}

/** `$MEDFEDPURE_DATA_DIR`, else the platform's per-user data directory. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.MEDFEDPURE_DATA_DIR) return resolve(env.MEDFEDPURE_DATA_DIR);
  const home = homedir();
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? env.APPDATA ?? join(home, 'AppData', 'Local'), 'MedFedPure');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'MedFedPure');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'medfedpure');
}

export function appVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The built renderer (vite output), or null when it has not been built. */
export function rendererDir(): string | null {
  const dir = join(APP_ROOT, 'dist', 'renderer');
  return existsSync(join(dir, 'index.html')) ? dir : null;
}

/** The committed demo DICOM series (scripts/make-demo-data.ts). */
export const DEMO_DATA_DIR = join(APP_ROOT, 'build', 'demo-data');
