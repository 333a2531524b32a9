/**
 * The browser host's request checks and response headers. The host serves patient data over plain HTTP on
 * loopback, so every request must prove three things:
 *   - it is addressed to us by a loopback name (Host header), which defeats DNS rebinding;
 *   - it comes from our own page when a browser says where it comes from (Origin, Sec-Fetch-Site), which
 *     defeats cross-site request forgery;
 *   - it carries the per-launch secret token (cookie, Bearer header, or `?token=` on the boot URL and the
 *     event stream), which keeps out other local users and processes.
 * On top of the token rides the signed-in user's session (electron/features/users): the host keeps it in a second
 * HttpOnly SameSite=Strict cookie and also accepts it in the `X-MedFedPure-Session` header (scripts and tests).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UI_SECURITY_HEADERS } from '../../common/ui-policy.js';

export { CONTENT_SECURITY_POLICY } from '../../common/ui-policy.js';

/** 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The UI's shared policy (electron/common/ui-policy.ts) plus what a page served over HTTP also needs. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...UI_SECURITY_HEADERS,
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=()',
};

/** The cookie name includes the port: browsers share cookies across ports of one host. */
export const tokenCookieName = (port: number): string => `medfedpure_token_${port}`;

export function tokenCookie(port: number, token: string): string {
  return `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

/** Session cookie (per port, like the token cookie) and header. */
export const sessionCookieName = (port: number): string => `medfedpure_session_${port}`;
export const SESSION_HEADER = 'x-medfedpure-session';

/** Sets the session cookie, or expires it when `token` is null. */
export function sessionCookie(port: number, token: string | null): string {
  return token === null
    ? `${sessionCookieName(port)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`
    : `${sessionCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

/** The session token this request presents: the header first, else the cookie. */
export function presentedSession(req: IncomingMessage, port: number): string | undefined {
  const header = req.headers[SESSION_HEADER];
  if (typeof header === 'string' && header.length > 0 && header.length <= 200) return header;
  const cookie = cookieValue(req.headers.cookie, sessionCookieName(port));
  return cookie && cookie.length <= 200 ? cookie : undefined;
}

/** Host header values that name this server: loopback names with our port. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

export function allowedOrigins(port: number): Set<string> {
  return new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Host and Origin checks (403 on failure). Run before authentication, on every request. */
export function checkOrigin(req: IncomingMessage, port: number): Verdict {
  const host = req.headers.host?.toLowerCase();
  if (!host || !allowedHosts(port).has(host)) return { ok: false, status: 403, reason: 'Host header is not this server (possible DNS rebinding)' };
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins(port).has(origin.toLowerCase())) return { ok: false, status: 403, reason: 'cross-origin request refused' };
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site') return { ok: false, status: 403, reason: 'cross-site request refused' };
  return { ok: true };
}

/** Where the token was found, if it was. */
export function presentedToken(req: IncomingMessage, url: URL, port: number, allowQuery: boolean): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const cookie = cookieValue(req.headers.cookie, tokenCookieName(port));
  if (cookie) return cookie;
  if (allowQuery) return url.searchParams.get('token') ?? undefined;
  return undefined;
}

export function checkToken(presented: string | undefined, token: string): Verdict {
  if (presented === undefined) return { ok: false, status: 401, reason: 'missing access token: open the URL printed by `medfedpure serve`' };
  if (!constantTimeEqual(presented, token)) return { ok: false, status: 401, reason: 'wrong access token' };
  return { ok: true };
}
