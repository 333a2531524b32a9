/**
 * The FL agent as an Electron utilityProcess: the launcher the FL service (electron/features/fl/service.ts) uses in
 * the app. Same pattern as the inference engine (EngineHost: fork, MessageChannelMain, port-RPC handshake); the entry
 * is fl-agent/worker/utility-entry.ts, compiled to dist/fl-agent/worker/utility-entry.js. Electron-free: the spawner
 * is injected (main.ts passes utilityProcess.fork and MessageChannelMain).
 */
import path from 'node:path';
import type { FlMethods } from '../../fl-agent/worker/protocol.js';
import type { FlAgentLauncher } from '../features/fl/service.js';
import { EngineHost, type EngineSpawner } from './engine/engine-host.js';

/** Path of the FL agent's utilityProcess entry relative to the compiled output root (dist/). */
export const FL_AGENT_ENTRY_FROM_DIST = path.join('fl-agent', 'worker', 'utility-entry.js');

export function utilityFlLauncher(spawner: EngineSpawner, entryPath: string): FlAgentLauncher {
  return async (onEvent) => {
    const host = new EngineHost<FlMethods>(spawner, entryPath);
    const client = await host.start();
    client.onEvent(onEvent);
    return {
      client,
      async close() {
        await client.request('fl.stop', {}, { timeoutMs: 30_000 }).catch(() => undefined);
        host.stop();
      },
    };
  };
}
