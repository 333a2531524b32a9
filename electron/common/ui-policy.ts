/**
 * What every response that carries the UI must say, whichever host serves it (the Electron `app://` protocol or the
 * browser host's HTTP server): one Content-Security-Policy, one set of hardening headers, one MIME table. Pure data
 * and string functions, so both hosts (and their tests) share a single definition that cannot drift.
 *
 * The CSP is strict on purpose: scripts and styles only from the app's own bundle (no inline, no eval), no plugins,
 * no framing, no form posts, no network beyond the app origin. Images may be data:/blob: because frames and
 * thumbnails are drawn client-side from pixel arrays. The renderer's Vite build must therefore emit no inline
 * <script>/<style>; React `style={…}` props are fine (they are set through CSSOM, which CSP allows).
 *
 * One exception, allowed by hash only: Cornerstone3D's measurement labels (tools/drawingSvg/drawTextBox) carry an
 * inline `style` attribute (no text selection, and a drop shadow that keeps the label readable on bright pixels).
 * Its text differs only by the viewport id, and the viewer uses four fixed ids (renderer/src/viewer/cs/engine.ts
 * VIEWPORT_IDS), so `style-src-attr 'unsafe-hashes'` with these four hashes admits exactly those four strings and no
 * other inline style (test/unit/renderer/csp-hashes.test.ts recomputes them from the library and the ids).
 * renderer/index.html repeats the directive in its meta policy (a page obeys both policies).
 */
/** The inline style Cornerstone3D writes on a measurement label in viewport `viewportId`. */
export function measurementLabelStyle(viewportId: string): string {
  return `user-select: none; pointer-events: none; -webkit-tap-highlight-color:  rgba(255, 255, 255, 0);filter:url(#shadow-svg-layer-${viewportId});`;
}

/** sha256 (base64) of measurementLabelStyle('mfp-vp-0'..'mfp-vp-3'). */
export const MEASUREMENT_LABEL_STYLE_HASHES: readonly string[] = [
  'ccMIP8R3dKgggqYTZMsSWWYxnvfue0KLoj3FHVVqHrE=',
  'vZc48t6c4x1p7sPysus6YIboAyzCQAHP3h9+Xe1OeVE=',
  'gPKlNlbweV7moBK1gLd7a/UIvxZwEoZjKbOSGVa/6ug=',
  '5KXxxQYYz2i1Gf5UL9KlxW4QdQXJfNO+yEr0tQZkr9Q=',
];

const CSP_DIRECTIVES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['default-src', ["'none'"]],
  ['script-src', ["'self'"]],
  ['style-src', ["'self'"]],
  ['style-src-attr', ["'unsafe-hashes'", ...MEASUREMENT_LABEL_STYLE_HASHES.map((h) => `'sha256-${h}'`)]],
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
  return CSP_DIRECTIVES.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

export const CONTENT_SECURITY_POLICY = buildContentSecurityPolicy();

/** Headers every UI response carries (CSP plus the usual hardening headers). */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Content types of the files the UI bundle may contain, by lower-case extension. */
export const UI_MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type for a file name (by its extension; unknown → application/octet-stream). */
export function uiMimeType(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const slash = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  const ext = dot > slash ? fileName.slice(dot).toLowerCase() : '';
  return UI_MIME_TYPES[ext] ?? 'application/octet-stream';
}
