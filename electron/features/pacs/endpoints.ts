/**
 * The site's configured PACS endpoints, kept with the site's settings in the data folder
 * (dataDir/settings/pacs-endpoints.json, owner-only 0600, written atomically).
 *
 * Secrets (basic password, bearer token) live only in that file and in memory on the services side: `info()` turns
 * an endpoint into what the UI and the logs may see (auth kind, user name, whether a secret is set). The file is
 * plain JSON protected by file permissions; a packaged build should move the secrets into the OS keychain
 * (Electron safeStorage), which this module's interface allows without changing its callers.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { PacsAuthKind, PacsEndpointInfo } from './api.js';
import { PacsError } from './errors.js';

export interface PacsEndpoint {
  id: string;
  name: string;
  url: string;
  auth: { kind: PacsAuthKind; username?: string; secret?: string };
  caFile?: string;
  timeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** What may leave the services side: no secret. */
export function endpointInfo(e: PacsEndpoint): PacsEndpointInfo {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    auth: { kind: e.auth.kind, ...(e.auth.username !== undefined ? { username: e.auth.username } : {}), hasSecret: e.auth.secret !== undefined && e.auth.secret !== '' },
    ...(e.caFile !== undefined ? { caFile: e.caFile } : {}),
    timeoutMs: e.timeoutMs,
  };
}

/**
 * Checks and normalises a DICOMweb base URL: http or https, no credentials in it (they belong in `auth`, and a URL
 * gets logged), no query or fragment; the trailing slash is dropped.
 */
export function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PacsError('REFUSED', raw, 'not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PacsError('REFUSED', raw, 'only http and https DICOMweb endpoints are supported');
  if (u.username || u.password) throw new PacsError('REFUSED', `${u.protocol}//${u.host}${u.pathname}`, 'put credentials in the endpoint\'s auth settings, not in the URL');
  if (u.search || u.hash) throw new PacsError('REFUSED', raw, 'the base URL takes no query or fragment');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Validates one endpoint's settings (URL, auth completeness, CA file); throws PacsError REFUSED naming the problem. */
export function checkEndpoint(e: PacsEndpoint): PacsEndpoint {
  const url = normaliseBaseUrl(e.url);
  if (e.auth.kind === 'basic' && (!e.auth.username || e.auth.username.includes(':'))) throw new PacsError('REFUSED', url, 'basic auth needs a user name without ":"');
  if (e.auth.kind !== 'none' && !e.auth.secret) throw new PacsError('REFUSED', url, `${e.auth.kind} auth needs a ${e.auth.kind === 'basic' ? 'password' : 'token'}`);
  if (e.caFile !== undefined) {
    if (!isAbsolute(e.caFile)) throw new PacsError('REFUSED', url, 'the CA file must be an absolute path');
    if (!existsSync(e.caFile)) throw new PacsError('REFUSED', url, `CA file ${e.caFile} does not exist`);
  }
  const auth = e.auth.kind === 'none' ? { kind: 'none' as const } : e.auth;
  return { ...e, url, auth, timeoutMs: e.timeoutMs };
}

/**
 * The endpoint list, re-read when the file changes (an admin's `medfedpure pacs add-endpoint` is seen by a running
 * host without a restart).
 */
export class EndpointStore {
  private readonly file: string;
  private endpoints: PacsEndpoint[] = [];
  private loadedMtime = -1;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'settings', 'pacs-endpoints.json');
    this.refresh();
  }

  private refresh(): void {
    const mtime = existsSync(this.file) ? statSync(this.file).mtimeMs : 0;
    if (mtime === this.loadedMtime) return;
    this.endpoints = this.load();
    this.loadedMtime = mtime;
  }

  private load(): PacsEndpoint[] {
    if (!existsSync(this.file)) return [];
    const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: number; endpoints?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.endpoints)) throw new Error(`${this.file}: not a version-1 PACS endpoint list`);
    return parsed.endpoints as PacsEndpoint[];
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, endpoints: this.endpoints }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.loadedMtime = statSync(this.file).mtimeMs;
  }

  list(): PacsEndpoint[] {
    this.refresh();
    return [...this.endpoints];
  }

  get(id: string): PacsEndpoint | undefined {
    this.refresh();
    return this.endpoints.find((e) => e.id === id);
  }

  /** Adds or replaces; a missing secret on a replace keeps the stored one (the UI never has it to send back). */
  put(e: PacsEndpoint): PacsEndpoint {
    const old = this.get(e.id);
    const secret = e.auth.secret ?? (old && old.auth.kind === e.auth.kind ? old.auth.secret : undefined);
    const checked = checkEndpoint({ ...e, auth: { ...e.auth, ...(secret !== undefined ? { secret } : {}) } });
    this.endpoints = [...this.endpoints.filter((x) => x.id !== e.id), checked].sort((a, b) => a.id.localeCompare(b.id));
    this.save();
    return checked;
  }

  remove(id: string): boolean {
    this.refresh();
    const before = this.endpoints.length;
    this.endpoints = this.endpoints.filter((e) => e.id !== id);
    if (this.endpoints.length === before) return false;
    this.save();
    return true;
  }
}
