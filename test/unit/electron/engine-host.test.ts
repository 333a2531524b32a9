// Port RPC (both ends) and the engine host's process wiring, over real Node MessageChannels.
// The "child" here is a test double of the transport (a few handlers), not an engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromNodePort, PortRpcClient, PortRpcError, servePortRpc, serveOnParentPort } from '../../../native-models/src/core/port-rpc.js';
import { EngineHost, EngineUnavailableError, type ChildProcessLike, type EngineSpawner } from '../../../electron/main/engine/engine-host.js';

type TestMethods = {
  'echo': { req: { x: number[] }; res: { x: number[] } };
  'fail': { req: Record<string, never>; res: never };
  'never': { req: Record<string, never>; res: never };
};

test('requests, typed remote errors, unknown methods, events', async () => {
  const { port1, port2 } = new MessageChannel();
  const child = servePortRpc<TestMethods>(fromNodePort(port2), {
    echo: async ({ x }) => ({ x: x.map((v) => v * 2) }),
    fail: async () => {
      throw Object.assign(new Error('model file missing'), { code: 'MODEL_MISSING' });
    },
    never: () => new Promise(() => {}),
  });
  const client = new PortRpcClient<TestMethods>(fromNodePort(port1));
  await client.ready;
  const events: Array<[string, unknown]> = [];
  client.onEvent((n, p) => events.push([n, p]));

  assert.deepEqual(await client.request('echo', { x: [1, 2] }), { x: [2, 4] });
  await assert.rejects(client.request('fail', {}), (e: unknown) => e instanceof PortRpcError && e.code === 'MODEL_MISSING' && e.message === 'model file missing');
  await assert.rejects(client.request('nope' as 'echo', { x: [] }), (e: unknown) => e instanceof PortRpcError && e.code === 'UNKNOWN_METHOD');
  await assert.rejects(client.request('never', {}, { timeoutMs: 20 }), (e: unknown) => e instanceof PortRpcError && e.code === 'TIMEOUT');

  child.emit('progress', { done: 1 });
  await client.request('echo', { x: [] }); // round trip: the event (sent earlier) has arrived
  assert.deepEqual(events, [['progress', { done: 1 }]]);

  const pending = client.request('never', {});
  client.close('test over');
  await assert.rejects(pending, (e: unknown) => e instanceof PortRpcError && e.code === 'PORT_CLOSED');
  await assert.rejects(client.request('echo', { x: [] }), (e: unknown) => e instanceof PortRpcError && e.code === 'PORT_CLOSED');
  port2.close();
});

/** Wraps a Node MessagePort in the shape of Electron's MessagePortMain ({ data } events, start()). */
function electronLikePort(port: NodeMessagePort) {
  return {
    postMessage: (m: unknown) => port.postMessage(m),
    on: (_: 'message', l: (e: { data: unknown }) => void) => port.on('message', (data) => l({ data })),
    start: () => port.start(),
    close: () => port.close(),
  };
}

/** A spawner whose "child" runs in this process and answers via serveOnParentPort, like a utilityProcess entry would. */
function inProcessSpawner(opts: { exitImmediately?: boolean } = {}) {
  const forked: string[] = [];
  let killed = false;
  const spawner: EngineSpawner = {
    fork(modulePath) {
      forked.push(modulePath);
      let exitListener: (code: number) => void = () => {};
      const child: ChildProcessLike = {
        postMessage(message, transfer) {
          const ports = (transfer ?? []) as never[];
          if (opts.exitImmediately) {
            setImmediate(() => exitListener(3));
            return;
          }
          const parentPort = { once: (_: 'message', l: (e: { data: unknown; ports: never[] }) => void) => setImmediate(() => l({ data: message, ports })) };
          void serveOnParentPort<{ 'engine.ping': { req: Record<string, never>; res: string } }>(parentPort, { 'engine.ping': async () => 'pong' });
        },
        on(_event, listener) {
          exitListener = listener;
          return child;
        },
        kill() {
          killed = true;
          exitListener(0);
          return true;
        },
      };
      return child;
    },
    newChannel() {
      const { port1, port2 } = new MessageChannel();
      return { port1: electronLikePort(port1), port2: electronLikePort(port2) };
    },
  };
  return { spawner, forked, wasKilled: () => killed };
}

test('EngineHost: missing entry is a typed error and nothing is spawned', async () => {
  const { spawner, forked } = inProcessSpawner();
  const host = new EngineHost(spawner, '/nonexistent/dist/native-models/src/inference/engine/entry.js');
  await assert.rejects(host.start(), (e: unknown) => e instanceof EngineUnavailableError && e.code === 'ENGINE_ENTRY_MISSING');
  assert.deepEqual(forked, []);
});

test('EngineHost: handshake over a transferred port, requests, stop', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mfp-engine-'));
  try {
    const entry = path.join(dir, 'entry.js');
    writeFileSync(entry, '// placeholder file: only its existence is checked here\n');
    const { spawner, forked, wasKilled } = inProcessSpawner();
    const host = new EngineHost<{ 'engine.ping': { req: Record<string, never>; res: string } }>(spawner, entry, { readyTimeoutMs: 5_000 });
    const client = await host.start();
    assert.deepEqual(forked, [entry]);
    assert.equal(host.running, true);
    assert.equal(await client.request('engine.ping', {}), 'pong');
    host.stop();
    assert.equal(wasKilled(), true);
    assert.equal(host.running, false);
    await assert.rejects(client.request('engine.ping', {}), (e: unknown) => e instanceof PortRpcError && e.code === 'PORT_CLOSED');

    const dying = new EngineHost(inProcessSpawner({ exitImmediately: true }).spawner, entry, { readyTimeoutMs: 5_000 });
    await assert.rejects(dying.start(), (e: unknown) => e instanceof EngineUnavailableError && e.code === 'ENGINE_EXITED');
    assert.equal(dying.running, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
