/**
 * Runs the FL agent in a worker_thread and returns a typed client: the browser host's and the CLI's counterpart of
 * the Electron utilityProcess host. The parent owns the audit store: `fl.audit` events are appended to the given
 * AuditSink here, on the parent's side. From TypeScript sources (tsx) the worker gets tsx's loader first, as the
 * inference engine's worker does.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { fromNodePort, PortRpcClient } from '../../native-models/src/core/port-rpc.js';
import type { AuditEvent, AuditSink } from '../site/audit.js';
import type { FlMethods } from './protocol.js';

export interface FlWorker {
  client: PortRpcClient<FlMethods>;
  close(): Promise<void>;
}

export async function startFlWorker(opts: { audit: AuditSink; onEvent?: (name: string, payload: unknown) => void }): Promise<FlWorker> {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker-entry.ts' : './worker-entry.js', import.meta.url);
  const worker = fromSource
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`,
        { eval: true },
      )
    : new Worker(fileURLToPath(entry));
  const client = new PortRpcClient<FlMethods>(fromNodePort(worker as unknown as Parameters<typeof fromNodePort>[0]));
  client.onEvent((name, payload) => {
    if (name === 'fl.audit') void Promise.resolve(opts.audit.append(payload as AuditEvent)).catch(() => undefined);
    opts.onEvent?.(name, payload);
  });
  worker.on('exit', (code) => client.close(`FL agent worker exited with code ${code}`));
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', (err) => {
      client.close(`FL agent worker failed: ${err.message}`);
      reject(err);
    });
    worker.on('exit', (code) => reject(new Error(`FL agent worker exited with code ${code}`)));
  });
  failed.catch(() => undefined);
  await Promise.race([client.ready, failed]);
  return {
    client,
    async close() {
      await client.request('fl.stop', {}, { timeoutMs: 30_000 }).catch(() => undefined);
      client.close('FL agent stopped');
      await worker.terminate();
    },
  };
}
