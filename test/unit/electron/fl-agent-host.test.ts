// The FL agent's Electron launcher (electron/main/fl-agent-host.ts) over a stand-in utilityProcess: the "child" runs
// fl-agent's real port-RPC handlers in this process behind serveOnParentPort, as fl-agent/worker/utility-entry.ts does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveOnParentPort } from '../../../native-models/src/core/port-rpc.js';
import type { ChildProcessLike, EngineSpawner } from '../../../electron/main/engine/engine-host.js';
import { FL_AGENT_ENTRY_FROM_DIST, utilityFlLauncher } from '../../../electron/main/fl-agent-host.js';
import { flHandlers } from '../../../fl-agent/worker/core.js';
import type { FlMethods } from '../../../fl-agent/worker/protocol.js';

function electronLikePort(port: NodeMessagePort) {
  return {
    postMessage: (m: unknown) => port.postMessage(m),
    on: (_: 'message', l: (e: { data: unknown }) => void) => port.on('message', (data) => l({ data })),
    start: () => port.start(),
    close: () => port.close(),
  };
}

test('utilityFlLauncher: forks the FL entry, serves the agent table over the transferred port, stops it on close', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mfp-fl-host-'));
  try {
    const entry = path.join(dir, FL_AGENT_ENTRY_FROM_DIST);
    assert.match(entry, /fl-agent[/\\]worker[/\\]utility-entry\.js$/);
    writeFileSync(path.join(dir, 'entry.js'), '// only its existence is checked\n');
    const forked: string[] = [];
    let killed = false;
    let emit: ((name: string, payload: unknown) => void) | null = null;
    const spawner: EngineSpawner = {
      fork(modulePath) {
        forked.push(modulePath);
        let exit: (code: number) => void = () => {};
        const child: ChildProcessLike = {
          postMessage(message, transfer) {
            const ports = (transfer ?? []) as never[];
            const parentPort = { once: (_: 'message', l: (e: { data: unknown; ports: never[] }) => void) => setImmediate(() => l({ data: message, ports })) };
            void serveOnParentPort<FlMethods>(parentPort, flHandlers((n, p) => emit?.(n, p))).then((s) => { emit = s.emit; });
          },
          on(_e, l) { exit = l; return child; },
          kill() { killed = true; exit(0); return true; },
        };
        return child;
      },
      newChannel() {
        const { port1, port2 } = new MessageChannel();
        return { port1: electronLikePort(port1), port2: electronLikePort(port2) };
      },
    };
    const events: Array<[string, unknown]> = [];
    const proc = await utilityFlLauncher(spawner, path.join(dir, 'entry.js'))((n, p) => events.push([n, p]));
    assert.deepEqual(forked, [path.join(dir, 'entry.js')]);
    const snap = await proc.client.request('fl.status', {});
    assert.equal(snap.status.state, 'idle');
    assert.deepEqual(snap.history, []);
    emit!('fl.warning', 'hello from the agent');
    await proc.client.request('fl.status', {}); // round trip: the event sent earlier has arrived
    assert.deepEqual(events, [['fl.warning', 'hello from the agent']]);
    await proc.close();
    assert.equal(killed, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
