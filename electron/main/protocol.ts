/**
 * Serves the renderer from the privileged custom scheme `app://medfedpure/` (instead of file://).
 *
 * `resolveAppPath` maps a URL to a file strictly inside the renderer build folder (dist/renderer):
 * percent-decoding is done per segment and any segment that decodes to '.', '..', or contains a slash,
 * backslash, NUL or a drive colon is refused; the joined path must stay under the root. The handler then
 * also resolves symlinks and refuses a real path outside the root. GET/HEAD only. Every response carries the
 * CSP and hardening headers. The bare origin serves index.html; there is no other fallback (the renderer
 * routes in memory, not by URL path).
 *
 * Electron-free: main.ts does `protocol.handle(APP_SCHEME, createAppProtocolHandler(root))`.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_SCHEME, isAppUrl, parseUrl } from './app-origin.js';
import { SECURITY_HEADERS } from './security/csp.js';
import { uiMimeType } from '../common/ui-policy.js';

/** Privileges for `protocol.registerSchemesAsPrivileged` (must be called before app `ready`). */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: {
    standard: true,
    secure: true,
    supportFetchAPI: true,
    corsEnabled: true,
    codeCache: true,
    allowServiceWorkers: false,
    bypassCSP: false,
    stream: false,
  },
} as const;


export function mimeTypeFor(filePath: string): string {
  return uiMimeType(filePath);
}

export type ResolvedPath = { ok: true; filePath: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/** Pure mapping from an app:// URL to a path under `rootDir` (absolute). Does not touch the disk. */
export function resolveAppPath(url: string, rootDir: string): ResolvedPath {
  const u = parseUrl(url);
  if (u === null) return { ok: false, status: 400, reason: 'unparseable URL' };
  if (!isAppUrl(url)) return { ok: false, status: 403, reason: `not the app origin: ${u.protocol}//${u.host}` };

  const segments: string[] = [];
  for (const raw of u.pathname.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding' };
    }
    if (seg === '.' || seg === '..' || /[/\\\0:]/.test(seg)) {
      return { ok: false, status: 403, reason: `refused path segment ${JSON.stringify(seg)}` };
    }
    segments.push(seg);
  }
  if (segments.length === 0) segments.push('index.html');

  const root = path.resolve(rootDir);
  const filePath = path.resolve(root, ...segments);
  if (!isInside(root, filePath)) {
    return { ok: false, status: 403, reason: 'path escapes the renderer root' };
  }
  return { ok: true, filePath };
}

/** True when `p` is strictly inside `root` (both absolute). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function errorResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
}

/** The `protocol.handle` handler for `app://`. `rootDir` is the renderer build folder. */
export function createAppProtocolHandler(rootDir: string): (request: Request) => Promise<Response> {
  const rootReal = realpath(path.resolve(rootDir)).catch(() => path.resolve(rootDir));
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return errorResponse(405, 'Method not allowed');
    const resolved = resolveAppPath(request.url, rootDir);
    if (!resolved.ok) return errorResponse(resolved.status, resolved.reason);
    try {
      const root = await rootReal;
      const real = await realpath(resolved.filePath);
      if (!isInside(root, real)) return errorResponse(403, 'path escapes the renderer root');
      if (!(await stat(real)).isFile()) return errorResponse(404, 'Not found');
      const body = request.method === 'HEAD' ? null : await readFile(real);
      return new Response(body, {
        status: 200,
        headers: { ...SECURITY_HEADERS, 'Content-Type': mimeTypeFor(real), 'Cache-Control': 'no-cache' },
      });
    } catch {
      return errorResponse(404, 'Not found');
    }
  };
}
