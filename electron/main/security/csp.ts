/**
 * The app's Content-Security-Policy and hardening headers for Electron: set by the `app://` protocol handler and
 * again for every response via session.webRequest (belt and braces). The policy itself is shared with the browser
 * host: electron/common/ui-policy.ts.
 */
import { UI_SECURITY_HEADERS } from '../../common/ui-policy.js';

export { buildContentSecurityPolicy, CONTENT_SECURITY_POLICY } from '../../common/ui-policy.js';

/** Headers every app response carries (CSP plus the usual hardening headers). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = UI_SECURITY_HEADERS;

/**
 * Returns response headers with our CSP enforced: any CSP the response already had is dropped (a header
 * name matched case-insensitively) and ours put in its place. Pure; used by the webRequest hook.
 */
export function withSecurityHeaders(headers: Readonly<Record<string, string[] | string>> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const ours = new Set(Object.keys(SECURITY_HEADERS).map((k) => k.toLowerCase()));
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (ours.has(name.toLowerCase())) continue;
    out[name] = Array.isArray(value) ? [...value] : [value];
  }
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) out[name] = [value];
  return out;
}
