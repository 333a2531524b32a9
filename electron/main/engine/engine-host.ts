/**
 * Process wiring for the inference engine: spawns it as an Electron utilityProcess and talks to it over a
 * MessageChannelMain with the typed port RPC of native-models/src/core/port-rpc.ts.
 *
 * STATUS: wiring only. The engine itself (ORT sessions, job queue, the detect → purify → classify pipeline)
 * belongs to native-models and is not written yet. Its entry is expected at
 * `native-models/src/inference/engine/entry.ts` (compiled to dist/native-models/src/inference/engine/entry.js), calling
 * `serveOnParentPort(process.parentPort, handlers)`. Until that file exists `start()` throws
 * `EngineUnavailableError` (code ENGINE_ENTRY_MISSING) and main.ts simply runs without an engine.
 * `EngineMethods` is a placeholder for the engine's method table, to be defined next to the entry.
 *
 * Electron-free: the fork and channel factories are injected, so this is tested with fakes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fromEventPort, PORT_RPC_PROTOCOL, PortRpcClient, type RpcConnectMessage, type RpcMethods } from '../../../native-models/src/core/port-rpc.js';

/** Path of the engine entry relative to the compiled output root (dist/). */
export const ENGINE_ENTRY_FROM_DIST = path.join('native-models', 'src', 'inference', 'engine', 'entry.js');

export class EngineUnavailableError extends Error {
  constructor(
    readonly code: 'ENGINE_ENTRY_MISSING' | 'ENGINE_START_TIMEOUT' | 'ENGINE_EXITED',
    message: string,
  ) {
    super(message);
    this.name = 'EngineUnavailableError';
  }
}

type PortLike = Parameters<typeof fromEventPort>[0];

/** The parts of Electron's UtilityProcess used here. */
export interface ChildProcessLike {
  postMessage(message: unknown, transfer?: never[]): void;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

export interface EngineSpawner {
  /** Electron: `utilityProcess.fork(modulePath, [], { serviceName: 'medfedpure-engine', stdio: 'inherit' })`. */
  fork(modulePath: string): ChildProcessLike;
  /** Electron: `new MessageChannelMain()`. */
  newChannel(): { port1: PortLike; port2: PortLike };
}

export class EngineHost<M extends RpcMethods = RpcMethods> {
  private child: ChildProcessLike | null = null;
  private client: PortRpcClient<M> | null = null;

  constructor(
    private readonly spawner: EngineSpawner,
    readonly entryPath: string,
    private readonly opts: { readyTimeoutMs: number } = { readyTimeoutMs: 30_000 },
  ) {}

  get running(): boolean {
    return this.client !== null;
  }

  entryExists(): boolean {
    return existsSync(this.entryPath);
  }

  /** Forks the engine, hands it its port, and resolves when it reports `ready`. */
  async start(): Promise<PortRpcClient<M>> {
    if (this.client) return this.client;
    if (!this.entryExists()) {
      throw new EngineUnavailableError('ENGINE_ENTRY_MISSING', `engine entry not built: ${this.entryPath}`);
    }
    const child = this.spawner.fork(this.entryPath);
    const { port1, port2 } = this.spawner.newChannel();
    const client = new PortRpcClient<M>(fromEventPort(port1));
    this.child = child;
    this.client = client;

    let exited: (code: number) => void = () => {};
    const exitedEarly = new Promise<never>((_, reject) => {
      exited = (code) => reject(new EngineUnavailableError('ENGINE_EXITED', `engine exited with code ${code}`));
    });
    child.on('exit', (code) => {
      client.close(`engine exited with code ${code}`);
      if (this.client === client) {
        this.client = null;
        this.child = null;
      }
      exited(code);
    });
    child.postMessage({ kind: 'connect', protocol: PORT_RPC_PROTOCOL } satisfies RpcConnectMessage, [port2 as never]);

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EngineUnavailableError('ENGINE_START_TIMEOUT', `engine not ready within ${this.opts.readyTimeoutMs} ms`)),
        this.opts.readyTimeoutMs,
      );
    });
    try {
      await Promise.race([client.ready, exitedEarly, timeout]);
      return client;
    } catch (err) {
      this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      exitedEarly.catch(() => {}); // a later exit is handled by the 'exit' listener above
    }
  }

  stop(): void {
    this.client?.close('engine stopped');
    this.child?.kill();
    this.client = null;
    this.child = null;
  }
}
