// Runs electron/main/main.ts against a recording stand-in for `electron` (fake-electron.ts): checks the
// start-up order's results, the hardened window, IPC served only to our main frame, events forwarded to the
// window, the app:// protocol, and an orderly quit that audits Application Stop.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AuditEvent } from '../../../electron/features/api.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'mfp-main-smoke-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('main.ts wires security, protocol, backend, IPC and the window', async () => {
  const fakeUrl = pathToFileURL(path.join(import.meta.dirname, 'fake-electron.ts')).href;
  const hook = `export async function resolve(s, c, next) { return s === 'electron' ? { url: ${JSON.stringify(fakeUrl)}, shortCircuit: true } : next(s, c); }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  process.env.MEDFEDPURE_DATA_DIR = dataDir;
  const { record } = (await import(fakeUrl)) as typeof import('./fake-electron.js');
  await import('../../../electron/main/main.js');
  // Start-up imports the demo data first (parsed in the decode worker, which compiles its sources under tsx): wait for
  // the window as long as that takes on a loaded machine.
  for (let i = 0; i < 6000 && !record.windows[0]?.loadedUrl; i++) await new Promise((r) => setTimeout(r, 10));

  assert.equal(record.exitCode, null, 'main() did not fail');
  assert.equal(record.sandboxEnabled, true);
  assert.deepEqual((record.privileged[0] as { scheme: string }).scheme, 'app');
  assert.ok(record.protocolHandlers.has('app'));
  assert.ok(record.permissionRequestHandler);
  assert.ok(record.menuTemplate);

  const win = record.windows[0]!;
  assert.equal(win.loadedUrl, 'app://medfedpure/index.html');
  const prefs = win.options.webPreferences as Record<string, unknown>;
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.match(String(prefs.preload), /electron[\\/]preload[\\/]preload\.cjs$/); // dist/electron/… when compiled
  assert.ok(win.webContents.windowOpenHandler, 'webContents security installed');
  assert.deepEqual(win.webContents.windowOpenHandler!({ url: 'https://evil.example/' }), { action: 'deny' });

  // IPC: our main frame is served; a subframe is refused.
  const invoke = record.ipcHandlers.get('medfedpure:invoke')!;
  assert.deepEqual([...record.ipcHandlers.keys()], ['medfedpure:invoke']);
  const wc = win.webContents;
  const ok = (await invoke({ sender: wc, senderFrame: wc.mainFrame }, { method: 'app.info', request: {} })) as { ok: boolean; result: { host: string } };
  assert.equal(ok.ok, true);
  assert.equal(ok.result.host, 'electron');
  const sub = { ...wc.mainFrame, parent: wc.mainFrame, routingId: 999 };
  const refused = (await invoke({ sender: wc, senderFrame: sub }, { method: 'app.info', request: {} })) as { ok: boolean; error: { code: string } };
  assert.deepEqual([refused.ok, refused.error.code], [false, 'FORBIDDEN']);

  // The refusal was audited, and that audit append reached the window as an event.
  assert.ok(wc.sent.some((s) => s.channel === 'medfedpure:event' && (s.message as { event: string }).event === 'audit.appended'));

  // app:// serves only inside dist/renderer.
  const res = await record.protocolHandlers.get('app')!(new Request('app://medfedpure/..%2f..%2fpackage.json'));
  assert.equal(res.status, 403);

  // Quit: audited Application Stop, handlers removed, then a real quit.
  (await import(fakeUrl)).app.quit();
  for (let i = 0; i < 200 && record.quitCalls < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(record.quitCalls, 2);
  assert.equal(record.ipcHandlers.size, 0);

  const { openBackend } = await import('../../../electron/main/backend.js');
  const b = await openBackend({ dataDir, demoData: false });
  try {
    const { events } = (await b.dispatch('audit.list', { limit: 100 })) as { events: AuditEvent[] };
    const types = events.map((e) => e.eventTypeCode?.code).reverse();
    assert.equal(types[0], '110120'); // Application Start
    assert.ok(types.includes('110126')); // the refused subframe
    assert.ok(types.includes('110121')); // Application Stop
  } finally {
    b.close();
  }
});
