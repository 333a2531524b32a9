/**
 * Serves the built renderer (vite output, dist/renderer) as static files: path traversal refused, unknown
 * extension-less paths fall back to index.html (client-side routes), hashed assets cacheable. When the UI has
 * not been built, a plain page says so.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { UI_MIME_TYPES, uiMimeType } from '../../common/ui-policy.js';


export interface StaticFile {
  body: Buffer;
  contentType: string;
  cacheControl: string;
}

export const UI_NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MedFedPure Workstation</title></head>
<body><h1>MedFedPure Workstation</h1>
<p>The browser host is running, but the user interface has not been built.</p>
<p>Run <code>npm run build:renderer</code>, then restart <code>medfedpure serve</code>.</p>
<p>The API is available under <code>/api/</code>.</p></body></html>
`;

async function readIfFile(path: string): Promise<Buffer | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    return await readFile(path);
  } catch {
    return null;
  }
}

/** The file for a URL path, or null (404). `root` null = UI not built. */
export async function resolveStatic(root: string | null, pathname: string): Promise<StaticFile | null> {
  if (root === null) return { body: Buffer.from(UI_NOT_BUILT_PAGE), contentType: UI_MIME_TYPES['.html'], cacheControl: 'no-store' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = resolve(root);
  const target = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  if (target !== base && !target.startsWith(base + sep)) return null;
  const ext = extname(target);
  const file = target === base ? null : await readIfFile(target);
  if (file) {
    const immutable = decoded.startsWith('/assets/');
    return { body: file, contentType: uiMimeType(ext), cacheControl: immutable ? 'private, max-age=31536000, immutable' : 'no-cache' };
  }
  if (ext === '' || ext === '.html') {
    const index = await readIfFile(join(base, 'index.html'));
    if (index) return { body: index, contentType: UI_MIME_TYPES['.html'], cacheControl: 'no-store' };
  }
  return null;
}
