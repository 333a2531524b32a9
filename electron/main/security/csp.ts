/**
 * The Content-Security-Policy for the app's pages. Set as a response header by the `app://` protocol
 * handler and again for every response via session.webRequest (belt and braces).
 *
 * Strict on purpose: scripts and styles only from the app's own bundle (no inline, no eval), no plugins,
 * no framing, no form posts, no network beyond the app origin. Images may be data:/blob: because frames
 * and thumbnails are drawn client-side from pixel arrays. The renderer's Vite build must therefore emit
 * no inline <script>/<style>; React `style={…}` props are fine (they are set through CSSOM, which CSP allows).
 */
const DIRECTIVES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['default-src', ["'none'"]],
  ['script-src', ["'self'"]],
  ['style-src', ["'self'"]],
  ['img-src', ["'self'", 'data:', 'blob:']],
  ['font-src', ["'self'"]],
  ['connect-src', ["'self'"]],
  ['worker-src', ["'self'"]],
  ['manifest-src', ["'self'"]],
  ['media-src', ["'none'"]],
  ['object-src', ["'none'"]],
  ['frame-src', ["'none'"]],
  ['child-src', ["'none'"]],
  ['frame-ancestors', ["'none'"]],
  ['form-action', ["'none'"]],
  ['base-uri', ["'none'"]],
];

export function buildContentSecurityPolicy(): string {
  return DIRECTIVES.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

export const CONTENT_SECURITY_POLICY = buildContentSecurityPolicy();

/** Headers every app response carries (CSP plus the usual hardening headers). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

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
