// The preload bridge: named methods only, envelope unwrapped, typed errors as plain objects, no IPC leakage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBridge, PRELOAD_METHODS, PRELOAD_EVENTS, type BridgeIpc } from '../../../electron/preload/preload.js';
import { API_EVENTS, API_METHODS } from '../../../electron/features/api.js';
import { IPC_CHANNELS, isApiErrorBody } from '../../../electron/common/preload-api.js';

function fakeIpc(reply: (payload: unknown) => unknown) {
  const sent: Array<{ channel: string; payload: unknown }> = [];
  let listener: ((m: unknown) => void) | null = null;
  const ipc: BridgeIpc = {
    invoke: async (channel, payload) => {
      sent.push({ channel, payload });
      return reply(payload);
    },
    onEventMessage: (l) => {
      listener = l;
    },
  };
  return { ipc, sent, push: (m: unknown) => listener!(m) };
}

test("the preload's copies of names and channels match electron/common", () => {
  assert.deepEqual([...PRELOAD_METHODS], [...API_METHODS]);
  assert.deepEqual([...PRELOAD_EVENTS], [...API_EVENTS]);
});

test('exposes exactly invoke and on', () => {
  const bridge = createBridge(fakeIpc(() => null).ipc);
  assert.deepEqual(Object.keys(bridge).sort(), ['invoke', 'on']);
});

test('invoke sends { method, request } on the invoke channel and unwraps the result', async () => {
  const { ipc, sent } = fakeIpc(() => ({ ok: true, result: [{ studyInstanceUid: '1.2' }] }));
  const bridge = createBridge(ipc);
  assert.deepEqual(await bridge.invoke('studies.list', { query: 'a' }), [{ studyInstanceUid: '1.2' }]);
  await bridge.invoke('app.info', undefined as never);
  assert.deepEqual(sent, [
    { channel: IPC_CHANNELS.invoke, payload: { method: 'studies.list', request: { query: 'a' } } },
    { channel: IPC_CHANNELS.invoke, payload: { method: 'app.info', request: {} } },
  ]);
});

test('unknown methods and non-object requests never reach IPC', async () => {
  const { ipc, sent } = fakeIpc(() => ({ ok: true, result: null }));
  const bridge = createBridge(ipc);
  await assert.rejects(bridge.invoke('shell.exec' as never, {} as never), (e: unknown) => isApiErrorBody(e) && e.code === 'UNKNOWN_METHOD');
  await assert.rejects(bridge.invoke('studies.list', 'x' as never), (e: unknown) => isApiErrorBody(e) && e.code === 'BAD_REQUEST');
  await assert.rejects(bridge.invoke('studies.list', [] as never), (e: unknown) => isApiErrorBody(e) && e.code === 'BAD_REQUEST');
  assert.equal(sent.length, 0);
});

test('error replies reject with a plain ApiError object that keeps its code', async () => {
  const bridge = createBridge(fakeIpc(() => ({ ok: false, error: { code: 'NOT_FOUND', message: 'no study', details: { uid: '9' } } })).ipc);
  await assert.rejects(bridge.invoke('studies.series', { studyInstanceUid: '9' }), (e: unknown) => {
    assert.deepEqual(e, { name: 'ApiError', code: 'NOT_FOUND', message: 'no study', details: { uid: '9' } });
    return true;
  });
  const malformed = createBridge(fakeIpc(() => 'garbage').ipc);
  await assert.rejects(malformed.invoke('app.info', {}), (e: unknown) => isApiErrorBody(e) && e.code === 'INTERNAL');
  const broken = createBridge({ invoke: async () => { throw new Error('No handler registered'); }, onEventMessage: () => {} });
  await assert.rejects(broken.invoke('app.info', {}), (e: unknown) => isApiErrorBody(e) && e.code === 'INTERNAL' && /No handler/.test(e.message));
});

test('on: only contract events, payload only, unsubscribe works', () => {
  const { ipc, push } = fakeIpc(() => null);
  const bridge = createBridge(ipc);
  const got: unknown[] = [];
  const off = bridge.on('import.progress', (p) => got.push(p));
  push({ event: 'import.progress', payload: { done: 1, total: 2, file: 'a.dcm' } });
  push({ event: 'studies.changed', payload: { studyInstanceUids: [] } }); // no subscriber
  push({ event: 'evil.event', payload: 1 });
  push('garbage');
  push(null);
  off();
  push({ event: 'import.progress', payload: { done: 2, total: 2, file: 'b.dcm' } });
  assert.deepEqual(got, [{ done: 1, total: 2, file: 'a.dcm' }]);
  assert.throws(() => bridge.on('evil.event' as never, () => {}), (e: unknown) => isApiErrorBody(e) && e.code === 'BAD_REQUEST');
  assert.throws(() => bridge.on('import.progress', 'not a function' as never), (e: unknown) => isApiErrorBody(e));
});

test('a throwing listener does not stop the others', () => {
  const { ipc, push } = fakeIpc(() => null);
  const bridge = createBridge(ipc);
  const got: number[] = [];
  const origError = console.error;
  console.error = () => {};
  try {
    bridge.on('audit.appended', () => {
      throw new Error('boom');
    });
    bridge.on('audit.appended', (p) => got.push(p.seq));
    push({ event: 'audit.appended', payload: { seq: 5, eventCode: '110100' } });
  } finally {
    console.error = origError;
  }
  assert.deepEqual(got, [5]);
});
