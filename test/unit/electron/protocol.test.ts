// app:// protocol: path mapping confined to the renderer build folder, GET/HEAD only, CSP on every response.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAppProtocolHandler, resolveAppPath, mimeTypeFor } from '../../../electron/main/protocol.js';
import { CONTENT_SECURITY_POLICY } from '../../../electron/main/security/csp.js';

const ROOT = '/srv/app/dist/renderer';

test('maps app URLs inside the root', () => {
  assert.deepEqual(resolveAppPath('app://medfedpure/index.html', ROOT), { ok: true, filePath: `${ROOT}/index.html` });
  assert.deepEqual(resolveAppPath('app://medfedpure/assets/main-abc.js?v=1#x', ROOT), { ok: true, filePath: `${ROOT}/assets/main-abc.js` });
  assert.deepEqual(resolveAppPath('app://medfedpure/assets/a%20b.css', ROOT), { ok: true, filePath: `${ROOT}/assets/a b.css` });
  // the bare origin serves index.html
  for (const u of ['app://medfedpure/', 'app://medfedpure']) {
    assert.deepEqual(resolveAppPath(u, ROOT), { ok: true, filePath: `${ROOT}/index.html` }, u);
  }
});

test('refuses traversal, encoded separators and foreign origins', () => {
  const refused = [
    'app://medfedpure/..%2f..%2fetc%2fpasswd',
    'app://medfedpure/assets/..%2F..%2F..%2Fetc/passwd.txt',
    'app://medfedpure/%2e%2e/%2e%2e/etc/passwd', // URL parser collapses this to /etc/passwd: still inside root, see below
    'app://medfedpure/a%5c..%5c..%5csecret.txt',
    'app://medfedpure/x%00.js',
    'app://medfedpure/C:%5cWindows%5cwin.ini',
    'app://medfedpure/%E0%A4%A.js',
  ];
  for (const u of refused) {
    const r = resolveAppPath(u, ROOT);
    if (r.ok) {
      // the only acceptable "ok" is a path still strictly inside the root
      assert.ok(r.filePath.startsWith(`${ROOT}/`), `${u} → ${r.filePath}`);
    } else {
      assert.ok(r.status === 400 || r.status === 403, u);
    }
  }
  assert.equal(resolveAppPath('app://medfedpure/..%2f..%2fetc%2fpasswd', ROOT).ok, false);
  assert.equal(resolveAppPath('app://medfedpure/a%5c..%5c..%5csecret.txt', ROOT).ok, false);
  assert.equal(resolveAppPath('app://medfedpure/x%00.js', ROOT).ok, false);
  for (const u of ['app://evil/index.html', 'https://medfedpure/index.html', 'file:///srv/app/dist/renderer/index.html', 'garbage']) {
    assert.equal(resolveAppPath(u, ROOT).ok, false, u);
  }
});

test('mime types', () => {
  assert.equal(mimeTypeFor('a/index.html'), 'text/html; charset=utf-8');
  assert.equal(mimeTypeFor('a/x.JS'), 'text/javascript; charset=utf-8');
  assert.equal(mimeTypeFor('a/x.wasm'), 'application/wasm');
  assert.equal(mimeTypeFor('a/x.bin'), 'application/octet-stream');
});

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mfp-proto-'));
  mkdirSync(path.join(dir, 'renderer', 'assets'), { recursive: true });
  writeFileSync(path.join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(dir, 'renderer', 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'renderer', 'assets', 'leak.txt'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('handler serves files with CSP, refuses symlink escapes, methods and misses', async () => {
  const handle = createAppProtocolHandler(path.join(dir, 'renderer'));
  const ok = await handle(new Request('app://medfedpure/assets/app.js'));
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'console.log(1)');
  assert.equal(ok.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(ok.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');

  const index = await handle(new Request('app://medfedpure/'));
  assert.equal(index.status, 200);
  assert.match(await index.text(), /<title>t<\/title>/);

  const leak = await handle(new Request('app://medfedpure/assets/leak.txt'));
  assert.equal(leak.status, 403);
  assert.ok(!(await leak.text()).includes('secret\n') );

  const missing = await handle(new Request('app://medfedpure/assets/nope.js'));
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);

  const post = await handle(new Request('app://medfedpure/index.html', { method: 'POST', body: 'x' }));
  assert.equal(post.status, 405);

  const trav = await handle(new Request('app://medfedpure/..%2fsecret.txt'));
  assert.equal(trav.status, 403);
});
