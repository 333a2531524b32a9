/**
 * The browser host in-process: token (401), Host/Origin/Sec-Fetch-Site (403), CSP and hardening headers, cookie
 * boot, static files, the binary codec end to end through createHttpClient, and server-sent events.
 */
import { CONTENT_SECURITY_POLICY } from '../../../electron/common/ui-policy.js';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../electron/common/api-error.js';
import { decodeMessage, encodeMessage, MESSAGE_CONTENT_TYPE } from '../../../electron/common/codec.js';
import { createHttpClient } from '../../../electron/common/http-client.js';
import type { ApiEvents, ApiMethods } from '../../../electron/features/api.js';
import { startHttpHost, type HttpHost } from '../../../electron/node/http/host.js';
import { createRouter } from '../../../electron/features/node.js';
import { createServices, type Services } from '../../../electron/features/node.js';
import { imageFile } from './dicom-writer.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http, so the test controls Host and Origin exactly (fetch would not let it). */
function raw(host: HttpHost, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'GET', headers: { Host: `127.0.0.1:${host.port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('HTTP browser host', () => {
  let services: Services;
  let host: HttpHost;
  let uiDir: string;
  const auth = (): Record<string, string> => ({ Authorization: `Bearer ${host.token}` });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfp-host-'));
    uiDir = join(dir, 'ui');
    mkdirSync(join(uiDir, 'assets'), { recursive: true });
    writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>ui</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(uiDir, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside the UI folder');
    services = createServices({ dataDir: join(dir, 'data'), host: 'browser', user: { id: 'u', role: 'r' } });
    host = await startHttpHost({ router: createRouter(services), staticDir: uiDir, logError: () => {} });
  });
  after(async () => {
    await host.close();
    services.close();
  });

  it('prints a loopback URL with a 256-bit token', () => {
    assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('answers 401 without the token or with a wrong one, on the API, the events and the page', async () => {
    const noToken = await raw(host, '/api/app.info', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.from('{}') });
    assert.equal(noToken.status, 401);
    assert.equal(JSON.parse(noToken.body.toString()).code, 'UNAUTHORIZED');
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { Authorization: 'Bearer nope', 'Content-Type': 'application/json' } })).status, 401);
    assert.equal((await raw(host, '/api/events')).status, 401);
    assert.equal((await raw(host, '/')).status, 401);
    assert.equal((await raw(host, '/?token=wrong')).status, 401);
    // The query token is accepted only for the page and the event stream, not for API calls.
    assert.equal((await raw(host, `/api/app.info?token=${host.token}`, { method: 'POST', headers: { 'Content-Type': 'application/json' } })).status, 401);
  });

  it('answers 403 to a foreign Host (DNS rebinding) or Origin (CSRF), even with the token', async () => {
    const h = { ...auth(), 'Content-Type': 'application/json' };
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { ...h, Host: `evil.example:${host.port}` } })).status, 403);
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { ...h, Host: '127.0.0.1:1' } })).status, 403);
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { ...h, Origin: 'http://evil.example' } })).status, 403);
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { ...h, 'Sec-Fetch-Site': 'cross-site' } })).status, 403);
    const sameOrigin = await raw(host, '/api/app.info', { method: 'POST', headers: { ...h, Origin: `http://localhost:${host.port}`, Host: `localhost:${host.port}` } });
    assert.equal(sameOrigin.status, 200);
  });

  it('refuses form-style content types (CSRF) and non-POST API calls', async () => {
    assert.equal((await raw(host, '/api/app.info', { method: 'POST', headers: { ...auth(), 'Content-Type': 'text/plain' }, body: Buffer.from('{}') })).status, 415);
    assert.equal((await raw(host, '/api/app.info', { headers: auth() })).status, 405);
    const unknown = await raw(host, '/api/nope', { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: Buffer.from('{}') });
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body.toString()).code, 'UNKNOWN_METHOD');
  });

  it('sends the strict CSP and hardening headers on every response', async () => {
    for (const r of [await raw(host, '/'), await raw(host, `/?token=${host.token}`), await raw(host, '/api/app.info', { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' } })]) {
      const csp = String(r.headers['content-security-policy']);
      assert.equal(csp, CONTENT_SECURITY_POLICY, 'the same policy as the Electron app:// protocol');
      for (const d of ["default-src 'none'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) assert.ok(csp.includes(d), d);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
      assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
    }
  });

  it('boots the page from ?token= into an HttpOnly SameSite=Strict cookie that then authenticates', async () => {
    const page = await raw(host, `/?token=${host.token}`);
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<title>ui<\/title>/);
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const pair = cookie.split(';')[0];
    assert.equal((await raw(host, '/assets/app.js', { headers: { Cookie: pair } })).status, 200);
    const api = await raw(host, '/api/app.info', { method: 'POST', headers: { Cookie: pair, 'Content-Type': MESSAGE_CONTENT_TYPE }, body: encodeMessage({}) });
    assert.equal(api.status, 200);
    assert.equal((decodeMessage(new Uint8Array(api.body)) as { host: string }).host, 'browser');
  });

  it('serves static files without escaping the UI folder, with an index.html fallback for routes', async () => {
    assert.equal((await raw(host, '/viewer/some/route', { headers: auth() })).body.toString().includes('<title>ui'), true);
    assert.equal((await raw(host, '/../secret.txt', { headers: auth() })).status, 404);
    assert.equal((await raw(host, '/%2e%2e/secret.txt', { headers: auth() })).status, 404);
    assert.equal((await raw(host, '/assets/missing.js', { headers: auth() })).status, 404);
  });

  it('carries typed arrays both ways through createHttpClient, and rethrows ApiError', async () => {
    const client = createHttpClient<ApiMethods, ApiEvents>(host.origin, host.token);
    const files = [1, 2].map((n) => ({ name: `${n}.dcm`, bytes: imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [n, n, n, 40000], sopUid: `6.6.${n}`, seriesUid: '6.6' }) }));
    const r = await client.invoke('import.files', { files });
    assert.equal(r.imported, 2);
    const f = await client.invoke('instances.frame', { sopInstanceUid: '6.6.2' });
    assert.ok(f.pixels instanceof Float32Array);
    assert.deepEqual(Array.from(f.pixels), [2, 2, 2, 40000]);
    await assert.rejects(client.invoke('instances.frame', { sopInstanceUid: '0' }), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
    await assert.rejects(client.invoke('studies.list', { bogus: 1 } as never), (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST');
  });

  it('streams events over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${host.origin}/api/events?token=${host.token}`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const client = createHttpClient<ApiMethods, ApiEvents>(host.origin, host.token);
    await client.invoke('series.open', { seriesInstanceUid: '6.6' }); // audited → audit.appended
    let text = '';
    while (!text.includes('event: audit.appended')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    const data = /event: audit\.appended\ndata: (.*)\n/.exec(text);
    assert.ok(data, text);
    assert.equal(JSON.parse(data[1]).eventCode, '110103');
  });

  it('limits request bodies per method: small for JSON calls, larger only where the feature declares it', async () => {
    const limited = await startHttpHost({ router: createRouter(services), staticDir: null, defaultBodyBytes: 4096, bodyLimits: { 'import.files': 256 * 1024 } });
    const call = (method: string, body: Uint8Array, chunked = false) =>
      raw(limited, `/api/${method}`, { method: 'POST', headers: { ...{ Authorization: `Bearer ${limited.token}` }, 'Content-Type': MESSAGE_CONTENT_TYPE, ...(chunked ? { 'Transfer-Encoding': 'chunked' } : {}) }, body });
    try {
      const big = encodeMessage({ query: 'x'.repeat(8000) });
      const declared = await call('studies.list', big);
      assert.equal(declared.status, 413);
      assert.match(JSON.parse(declared.body.toString()).message, /larger than 4096 bytes, the limit of studies\.list/);
      assert.equal((await call('studies.list', big, true)).status, 413, 'chunked, no Content-Length');
      assert.equal((await call('studies.list', encodeMessage({}))).status, 200);
      const file = imageFile({ rows: 64, columns: 64, bitsAllocated: 16, raw: new Array(4096).fill(7), sopUid: '6.7.1', seriesUid: '6.7' });
      const upload = await call('import.files', encodeMessage({ files: [{ name: 'a.dcm', bytes: file }] }));
      assert.equal(upload.status, 200, upload.body.toString());
      assert.equal((await call('import.files', encodeMessage({ files: [{ name: 'b.dcm', bytes: new Uint8Array(300 * 1024) }] }))).status, 413);
    } finally {
      await limited.close();
    }
  });

  it('serves a plain "UI not built" page when there is no renderer build', async () => {
    const other = await startHttpHost({ router: createRouter(services), staticDir: null });
    try {
      const r = await raw(other, `/?token=${other.token}`);
      assert.equal(r.status, 200);
      assert.match(r.body.toString(), /has not been built/);
    } finally {
      await other.close();
    }
  });
});
