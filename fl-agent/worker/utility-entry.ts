/**
 * Entry of the FL agent as an Electron utilityProcess: waits for the main process's `connect` message on
 * `process.parentPort` (port-rpc's handshake), then serves the same handlers as the worker_thread entry.
 * Main forks it with utilityProcess.fork(<compiled utility-entry.js>) and connects a MessageChannelMain, exactly as
 * it does for the inference engine.
 */
import { serveOnParentPort } from '../../native-models/src/core/port-rpc.js';
import { flHandlers } from './core.js';
import type { FlMethods } from './protocol.js';

type ParentPort = Parameters<typeof serveOnParentPort>[0];
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

if (parentPort) {
  let emit: ((name: string, payload: unknown) => void) | null = null;
  const queued: [string, unknown][] = [];
  void serveOnParentPort<FlMethods>(parentPort, flHandlers((name, payload) => (emit ? emit(name, payload) : queued.push([name, payload])))).then((s) => {
    emit = s.emit;
    for (const [n, p] of queued.splice(0)) emit(n, p);
  });
}
