// Navigation, window.open, permission, outgoing-request and CSP policies, plus the glue that applies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideNavigation, decideWindowOpen } from '../../../electron/main/security/navigation.js';
import { decidePermission } from '../../../electron/main/security/permissions.js';
import { decideOutgoingRequest } from '../../../electron/main/security/requests.js';
import { CONTENT_SECURITY_POLICY, withSecurityHeaders } from '../../../electron/main/security/csp.js';
import { installSessionSecurity, installWebContentsSecurity, type SecurityNotice } from '../../../electron/main/security/install.js';
import { secureWebPreferences } from '../../../electron/main/window.js';
import { menuTemplate } from '../../../electron/main/menu.js';

test('navigation: only within app://medfedpure/', () => {
  assert.deepEqual(decideNavigation('app://medfedpure/index.html'), { allow: true });
  assert.deepEqual(decideNavigation('app://medfedpure/viewer?study=1#x'), { allow: true });
  for (const url of ['https://example.com/', 'http://localhost:5173/', 'file:///etc/passwd', 'app://evil/', 'app://medfedpure.evil/', 'javascript:alert(1)', 'data:text/html,hi', 'not a url', '']) {
    assert.equal(decideNavigation(url).allow, false, url);
  }
});

test('window.open: never a new window; only allow-listed https goes to the OS browser', () => {
  assert.deepEqual(decideWindowOpen('https://arxiv.org/abs/2511.11625'), {
    action: 'deny',
    openExternally: 'https://arxiv.org/abs/2511.11625',
    reason: 'opened in the system browser',
  });
  for (const url of ['http://arxiv.org/abs/1', 'https://arxiv.org.evil.com/', 'https://evil.com/?arxiv.org', 'https://user@arxiv.org/', 'https://arxiv.org:8443/', 'app://medfedpure/index.html', 'file:///C:/x', 'javascript:void 0', 'smb://host/share']) {
    const d = decideWindowOpen(url);
    assert.equal(d.action, 'deny', url);
    assert.equal(d.openExternally, null, url);
  }
});

test('permissions: everything denied, including to the app itself', () => {
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'hid', 'usb', 'unknown']) {
    assert.equal(decidePermission({ permission, requestingUrl: 'app://medfedpure/index.html' }), false, permission);
  }
  // an allow-listed permission would still be granted only to the app origin
  const allow = new Set(['clipboard-sanitized-write']);
  assert.equal(decidePermission({ permission: 'clipboard-sanitized-write', requestingUrl: 'app://medfedpure/' }, allow), true);
  assert.equal(decidePermission({ permission: 'clipboard-sanitized-write', requestingUrl: 'https://evil.com/' }, allow), false);
});

test('outgoing requests: app and in-memory URLs only', () => {
  for (const url of ['app://medfedpure/assets/a.js', 'data:image/png;base64,AA', 'blob:app://medfedpure/1234']) assert.equal(decideOutgoingRequest(url).allow, true, url);
  for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'ws://x/', 'file:///etc/passwd', 'ftp://x/']) assert.equal(decideOutgoingRequest(url).allow, false, url);
});

test('CSP: strict, no inline or eval, no remote origins', () => {
  const d = new Map(CONTENT_SECURITY_POLICY.split('; ').map((p) => [p.split(' ')[0]!, p.split(' ').slice(1)]));
  assert.deepEqual(d.get('default-src'), ["'none'"]);
  assert.deepEqual(d.get('script-src'), ["'self'"]);
  assert.deepEqual(d.get('style-src'), ["'self'"]);
  assert.deepEqual(d.get('connect-src'), ["'self'"]);
  for (const k of ['object-src', 'frame-src', 'frame-ancestors', 'form-action', 'base-uri']) assert.deepEqual(d.get(k), ["'none'"], k);
  for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'", 'http:', 'https:', '*']) assert.ok(!CONTENT_SECURITY_POLICY.includes(bad), bad);
  const h = withSecurityHeaders({ 'content-security-policy': ["default-src *"], 'Content-Type': 'text/html' });
  assert.deepEqual(h['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
  assert.equal(h['content-security-policy'], undefined);
  assert.deepEqual(h['Content-Type'], ['text/html']);
  assert.deepEqual(h['X-Content-Type-Options'], ['nosniff']);
});

test('webPreferences: sandboxed, isolated, no Node, web security on', () => {
  const p = secureWebPreferences({ preloadPath: '/x/preload.cjs', devTools: false });
  assert.equal(p.sandbox, true);
  assert.equal(p.contextIsolation, true);
  assert.equal(p.nodeIntegration, false);
  assert.equal(p.nodeIntegrationInWorker, false);
  assert.equal(p.nodeIntegrationInSubFrames, false);
  assert.equal(p.webSecurity, true);
  assert.equal(p.allowRunningInsecureContent, false);
  assert.equal(p.webviewTag, false);
  assert.equal(p.experimentalFeatures, false);
  assert.equal(p.devTools, false);
  assert.equal(p.preload, '/x/preload.cjs');
});

test('menu: minimal, DevTools only in development', () => {
  const roles = (t: ReturnType<typeof menuTemplate>): string[] =>
    JSON.stringify(t).match(/"role":"(\w+)"/g)!.map((s) => s.slice(8, -1));
  assert.ok(!roles(menuTemplate({ platform: 'linux', appName: 'X', isDev: false })).includes('toggleDevTools'));
  assert.ok(roles(menuTemplate({ platform: 'linux', appName: 'X', isDev: true })).includes('toggleDevTools'));
  assert.ok(roles(menuTemplate({ platform: 'darwin', appName: 'X', isDev: false })).includes('about'));
});

// ---- glue, driven through fakes shaped like Electron's Session / WebContents ----

function fakeWebContents() {
  const listeners = new Map<string, (...args: unknown[]) => void>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  return {
    on(name: string, l: (...args: unknown[]) => void) {
      listeners.set(name, l);
      return this;
    },
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
      openHandler = h;
    },
    emit(name: string, ...args: unknown[]) {
      listeners.get(name)!(...args);
    },
    open(url: string) {
      return openHandler!({ url });
    },
  };
}

function navEvent(url: string) {
  return { url, prevented: false, preventDefault() { this.prevented = true; } };
}

test('installWebContentsSecurity blocks navigation, webviews and window.open', async () => {
  const wc = fakeWebContents();
  const notices: SecurityNotice[] = [];
  const opened: string[] = [];
  installWebContentsSecurity(wc as never, { openExternal: async (u) => void opened.push(u), onNotice: (n) => notices.push(n) });

  for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
    const away = navEvent('https://evil.example/');
    wc.emit(name, away);
    assert.equal(away.prevented, true, name);
    const inside = navEvent('app://medfedpure/index.html');
    wc.emit(name, inside);
    assert.equal(inside.prevented, false, name);
  }
  const wv = navEvent('');
  wc.emit('will-attach-webview', wv, {}, { src: 'https://evil.example/' });
  assert.equal(wv.prevented, true);

  assert.deepEqual(wc.open('https://evil.example/'), { action: 'deny' });
  assert.deepEqual(wc.open('https://arxiv.org/abs/2511.11625'), { action: 'deny' });
  await Promise.resolve();
  assert.deepEqual(opened, ['https://arxiv.org/abs/2511.11625']);
  assert.deepEqual(
    notices.map((n) => n.kind),
    ['navigation-blocked', 'navigation-blocked', 'navigation-blocked', 'webview-blocked', 'window-open-blocked'],
  );
});

test('installSessionSecurity denies permissions, blocks network, enforces CSP headers', () => {
  const h: Record<string, (...args: never[]) => unknown> = {};
  let spell: boolean | undefined;
  const session = {
    setPermissionRequestHandler: (f: never) => void (h.request = f),
    setPermissionCheckHandler: (f: never) => void (h.check = f),
    setDevicePermissionHandler: (f: never) => void (h.device = f),
    setSpellCheckerEnabled: (v: boolean) => void (spell = v),
    webRequest: { onBeforeRequest: (f: never) => void (h.before = f), onHeadersReceived: (f: never) => void (h.headers = f) },
  };
  const notices: SecurityNotice[] = [];
  installSessionSecurity(session as never, { openExternal: async () => {}, onNotice: (n) => notices.push(n) });
  assert.equal(spell, false);

  const wc = { getURL: () => 'app://medfedpure/index.html' };
  let granted: boolean | undefined;
  (h.request as (...a: unknown[]) => void)(wc, 'media', (g: boolean) => (granted = g), { requestingUrl: 'app://medfedpure/index.html' });
  assert.equal(granted, false);
  assert.equal((h.check as (...a: unknown[]) => boolean)(wc, 'notifications', 'app://medfedpure', {}), false);
  assert.equal((h.device as (...a: unknown[]) => boolean)({}), false);

  let cancel: boolean | undefined;
  (h.before as (...a: unknown[]) => void)({ url: 'https://tracker.example/x' }, (r: { cancel: boolean }) => (cancel = r.cancel));
  assert.equal(cancel, true);
  (h.before as (...a: unknown[]) => void)({ url: 'app://medfedpure/assets/x.js' }, (r: { cancel: boolean }) => (cancel = r.cancel));
  assert.equal(cancel, false);

  let headers: Record<string, string[]> | undefined;
  (h.headers as (...a: unknown[]) => void)({ responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
  assert.deepEqual(headers!['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
  assert.deepEqual(notices.map((n) => n.kind), ['permission-denied', 'request-blocked']);
});
