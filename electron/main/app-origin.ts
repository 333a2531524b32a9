/**
 * The app's own origin: the renderer is served from the privileged custom scheme `app://medfedpure/`
 * (see protocol.ts). Everything that asks "is this ours?" — sender validation, navigation policy,
 * the protocol handler — asks here.
 *
 * Note: WHATWG `URL.origin` is the string "null" for non-special schemes such as `app:`, so origins are
 * compared by protocol + host, never by `.origin`.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'medfedpure';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The URL the main window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** Parses without throwing; `null` for anything that is not an absolute URL. */
export function parseUrl(url: unknown): URL | null {
  if (typeof url !== 'string' || url.length === 0 || url.length > 32_768) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** True when `url` is on the app origin exactly (scheme, host, no port, no credentials). */
export function isAppUrl(url: unknown): boolean {
  const u = parseUrl(url);
  return (
    u !== null &&
    u.protocol === `${APP_SCHEME}:` &&
    u.hostname === APP_HOST &&
    u.port === '' &&
    u.username === '' &&
    u.password === ''
  );
}
