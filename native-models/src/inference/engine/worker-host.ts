/**
 * Runs the engine in a worker_thread and returns a typed client: the browser host's (and the CLI's) counterpart of
 * electron/main/engine/engine-host.ts. From TypeScript sources (tsx), the worker gets tsx's loader; from compiled
 * JavaScript it loads worker-entry.js directly.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { fromNodePort, PortRpcClient } from '../../core/port-rpc.js';
import type { EngineOptions } from './core.js';
import type { EngineMethods, EngineStatus } from './protocol.js';
import { PipelineError } from '../pipeline/errors.js';

export interface WorkerEngine {
  client: PortRpcClient<EngineMethods>;
  /** Resolves once models are loaded (status.ready), or rejects with the load error. */
  ready(timeoutMs?: number): Promise<EngineStatus>;
  close(): Promise<void>;
}

export async function startWorkerEngine(opts: Omit<EngineOptions, 'models' | 'calibration'> & { calibration?: EngineOptions['calibration'] } = {}): Promise<WorkerEngine> {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker-entry.ts' : './worker-entry.js', import.meta.url);
  // From sources, a two-line bootstrap registers tsx in the worker first (an `--import` in a worker's execArgv does not
  // reach the worker's own entry on Node 20); tsx is resolved from this package, so any cwd works.
  const worker = fromSource
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`,
        { eval: true, workerData: opts },
      )
    : new Worker(fileURLToPath(entry), { workerData: opts });
  const client = new PortRpcClient<EngineMethods>(fromNodePort(worker as unknown as Parameters<typeof fromNodePort>[0]));
  worker.on('exit', (code) => client.close(`engine worker exited with code ${code}`));
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', (err) => {
      client.close(`engine worker failed: ${err.message}`);
      reject(new PipelineError('E_ENGINE', `engine worker failed: ${err.message}`, { cause: err }));
    });
    worker.on('exit', (code) => reject(new PipelineError('E_ENGINE', `engine worker exited with code ${code}`)));
  });
  failed.catch(() => undefined);
  await Promise.race([client.ready, failed]);
  return {
    client,
    async ready(timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const s = await client.request('engine.status', {});
        if (s.ready) return s;
        if (s.error) throw new PipelineError(s.error.code as never, s.error.message);
        if (Date.now() > until) throw new PipelineError('E_ENGINE', `engine not ready within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      client.close('engine stopped');
      await worker.terminate();
    },
  };
}
