/**
 * Entry of the inference engine as a worker_thread (browser host `medfedpure serve`, the CLI, tests): the same core
 * and handlers as the Electron utilityProcess entry, served on the worker's parentPort. Options arrive as workerData.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fromNodePort, servePortRpc } from '../../core/port-rpc.js';
import { EngineCore, engineHandlers, type EngineOptions } from './core.js';
import type { EngineMethods } from './protocol.js';

if (parentPort) {
  const core = EngineCore.create((workerData ?? {}) as EngineOptions);
  core.catch(() => undefined); // reported through engine.status and every scan
  servePortRpc<EngineMethods>(fromNodePort(parentPort), engineHandlers(core));
}
