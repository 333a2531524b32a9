/**
 * Entry of the FL agent as a worker_thread (browser host `medfedpure serve`, the CLI, tests): the handlers of core.ts
 * served on the worker's parentPort, events going back the same way.
 */
import { parentPort } from 'node:worker_threads';
import { fromNodePort, servePortRpc } from '../../native-models/src/core/port-rpc.js';
import { flHandlers } from './core.js';
import type { FlMethods } from './protocol.js';

if (parentPort) {
  let server: { emit(name: string, payload: unknown): void } | null = null;
  server = servePortRpc<FlMethods>(fromNodePort(parentPort), flHandlers((name, payload) => server?.emit(name, payload)));
}
