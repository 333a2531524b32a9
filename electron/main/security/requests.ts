/**
 * Outgoing-request policy for the app's session: the renderer has no business on the network, so only
 * the app's own scheme and in-memory URLs load. (CSP already limits the page to 'self'; this also covers
 * requests CSP does not see, e.g. from DevTools extensions or a compromised renderer.)
 */
import { parseUrl } from '../app-origin.js';

export const ALLOWED_REQUEST_SCHEMES: readonly string[] = ['app:', 'data:', 'blob:', 'devtools:', 'chrome-extension:'];

export function decideOutgoingRequest(url: unknown): { allow: boolean; reason?: string } {
  const u = parseUrl(url);
  if (u === null) return { allow: false, reason: 'unparseable URL' };
  if (ALLOWED_REQUEST_SCHEMES.includes(u.protocol)) return { allow: true };
  return { allow: false, reason: `${u.protocol} requests are blocked` };
}
