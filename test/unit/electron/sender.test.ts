// IPC sender validation and the invoke handler: only our window's main frame on app://medfedpure/ is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSender, type FrameLike, type IpcEventLike } from '../../../electron/main/security/sender.js';
import { createInvokeHandler, toApiErrorBody, ValidatedIpcMain, UnknownChannelError, type IpcSecurityEvent } from '../../../electron/main/ipc.js';
import { API_METHODS } from '../../../electron/features/api.js';

const OUR_ID = 7;
const trusted = new Set([OUR_ID]);

function frame(url: string, over: Partial<FrameLike> = {}): FrameLike {
  return { url, parent: null, processId: 3, routingId: 1, ...over };
}
function event(opts: { senderId?: number; senderFrame?: FrameLike | null; mainFrame?: FrameLike } = {}): IpcEventLike {
  const mainFrame = opts.mainFrame ?? frame('app://medfedpure/index.html');
  return { sender: { id: opts.senderId ?? OUR_ID, mainFrame }, senderFrame: opts.senderFrame === undefined ? mainFrame : opts.senderFrame };
}

test('the main frame of our window on the app origin is accepted', () => {
  assert.deepEqual(validateSender(event(), trusted), { ok: true });
});

test('a subframe is refused, even on the app origin', () => {
  const sub = frame('app://medfedpure/index.html', { parent: {}, routingId: 2 });
  assert.equal(validateSender(event({ senderFrame: sub }), trusted).ok, false);
  assert.deepEqual(validateSender(event({ senderFrame: sub }), trusted), { ok: false, reason: 'not-main-frame', url: sub.url });
  // a top-level-looking frame that is not the webContents' main frame (other routing id) is refused too
  const other = frame('app://medfedpure/index.html', { routingId: 99 });
  assert.equal((validateSender(event({ senderFrame: other }), trusted) as { reason: string }).reason, 'not-main-frame');
});

test('a foreign origin in our main frame is refused', () => {
  for (const url of ['https://evil.example/', 'file:///etc/passwd', 'app://medfedpure.evil/', 'app://other/', 'app://x@medfedpure/', 'app://medfedpure:8080/', 'about:blank']) {
    const f = frame(url);
    assert.deepEqual(validateSender(event({ mainFrame: f, senderFrame: f }), trusted), { ok: false, reason: 'foreign-origin', url }, url);
  }
});

test('other webContents and vanished frames are refused', () => {
  assert.equal((validateSender(event({ senderId: 8 }), trusted) as { reason: string }).reason, 'untrusted-webcontents');
  assert.equal((validateSender(event({ senderFrame: null }), trusted) as { reason: string }).reason, 'no-frame');
  assert.equal((validateSender(event({ senderFrame: frame('app://medfedpure/', { detached: true }) }), trusted) as { reason: string }).reason, 'no-frame');
  const throwing = { sender: { id: OUR_ID, mainFrame: frame('app://medfedpure/') }, get senderFrame(): FrameLike { throw new Error('destroyed'); } };
  assert.equal((validateSender(throwing, trusted) as { reason: string }).reason, 'no-frame');
});

function handler(dispatch = async (method: string, request: unknown) => ({ method, request })) {
  const events: IpcSecurityEvent[] = [];
  const calls: string[] = [];
  const h = createInvokeHandler({
    trustedWebContentsIds: trusted,
    dispatch: async (m, r) => {
      calls.push(m);
      return dispatch(m, r);
    },
    onSecurityEvent: (e) => events.push(e),
    logError: () => {},
  });
  return { h, events, calls };
}

test('invoke: a valid call reaches the router and resolves ok', async () => {
  const { h, calls } = handler();
  assert.deepEqual(await h(event(), { method: 'studies.list', request: { query: 'x' } }), {
    ok: true,
    result: { method: 'studies.list', request: { query: 'x' } },
  });
  assert.deepEqual(calls, ['studies.list']);
});

test('invoke: refused senders never reach the router and are reported', async () => {
  const { h, events, calls } = handler();
  const sub = frame('app://medfedpure/', { parent: {}, routingId: 2 });
  const reply = await h(event({ senderFrame: sub }), { method: 'app.info', request: {} });
  assert.deepEqual(reply, { ok: false, error: { code: 'FORBIDDEN', message: 'IPC sender is not the application window' } });
  assert.deepEqual(calls, []);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'ipc-sender-rejected');
  assert.equal(events[0]!.reason, 'not-main-frame');
});

test('invoke: unknown methods and malformed payloads are rejected with typed errors', async () => {
  const { h, events, calls } = handler();
  for (const method of ['nope', '__proto__', 'constructor', 'app.info ', 42, undefined]) {
    const r = await h(event(), { method, request: {} });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'UNKNOWN_METHOD', String(method));
  }
  for (const payload of [null, 'app.info', 3]) {
    const r = await h(event(), payload);
    assert.equal(!r.ok && r.error.code, 'BAD_REQUEST');
  }
  for (const request of [null, [], 'x', undefined]) {
    const r = await h(event(), { method: 'app.info', request });
    assert.equal(!r.ok && r.error.code, 'BAD_REQUEST');
  }
  assert.deepEqual(calls, []);
  assert.ok(events.some((e) => e.reason === 'unknown-method'));
});

test('invoke: every contract method is accepted', async () => {
  const { h, calls } = handler();
  for (const method of API_METHODS) assert.equal((await h(event(), { method, request: {} })).ok, true);
  assert.deepEqual(calls, [...API_METHODS]);
});

test('invoke: typed router errors keep their code; anything else becomes INTERNAL without its text', async () => {
  const typed = Object.assign(new Error('no such study'), { code: 'NOT_FOUND', details: { uid: '1.2' } });
  const { h } = handler(async () => {
    throw typed;
  });
  assert.deepEqual(await h(event(), { method: 'studies.series', request: { studyInstanceUid: '1.2' } }), {
    ok: false,
    error: { code: 'NOT_FOUND', message: 'no such study', details: { uid: '1.2' } },
  });
  const { h: h2 } = handler(async () => {
    throw new Error('SQLITE_CORRUPT at /home/user/secret/path');
  });
  const r = await h2(event(), { method: 'app.info', request: {} });
  assert.equal(!r.ok && r.error.code, 'INTERNAL');
  assert.ok(!r.ok && !r.error.message.includes('secret'));
  assert.deepEqual(toApiErrorBody({ code: 'NOT_DICOM', message: 'x' }).code, 'INTERNAL');
});

test('ValidatedIpcMain serves only the app channels', () => {
  const registered: string[] = [];
  const removed: string[] = [];
  const ipc = new ValidatedIpcMain({ handle: (c) => void registered.push(c), removeHandler: (c) => void removed.push(c) });
  ipc.handle('medfedpure:invoke', async () => null);
  assert.throws(() => ipc.handle('other:channel' as never, async () => null), UnknownChannelError);
  assert.throws(() => ipc.handle('medfedpure:exec' as never, async () => null), (e: unknown) => (e as UnknownChannelError).code === 'UNKNOWN_CHANNEL');
  assert.deepEqual(registered, ['medfedpure:invoke']);
  ipc.dispose();
  assert.deepEqual(removed, ['medfedpure:invoke']);
});
