/**
 * Request/response RPC over a message port, used between the main process (or the browser host) and the
 * worker processes (the inference engine, later the FL agent). Runs anywhere; imports nothing.
 *
 * Wire format (structured-clone objects):
 *   parent → child  { kind: 'request',  id, method, payload }
 *   child  → parent { kind: 'response', id, ok: true, result } | { kind: 'response', id, ok: false, error: { code, message } }
 *   child  → parent { kind: 'event', name, payload }      (progress etc.)
 *   child  → parent { kind: 'ready', protocol }           (once, after the child has accepted the port)
 *
 * Ports differ by host (Electron MessagePortMain emits `{ data }`, Node worker_threads ports emit the value),
 * so both ends work on `RpcPort`, with an adapter per kind below.
 */

export const PORT_RPC_PROTOCOL = 1;

/** A method table: name → request and response types. */
export type RpcMethods = Record<string, { req: unknown; res: unknown }>;

export interface RpcPort {
  post(message: unknown): void;
  /** Registers the one message handler. */
  listen(handler: (message: unknown) => void): void;
  close(): void;
}

export type RpcRequestMessage = { kind: 'request'; id: number; method: string; payload: unknown };
export type RpcResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: { code: string; message: string } };
export type RpcEventMessage = { kind: 'event'; name: string; payload: unknown };
export type RpcReadyMessage = { kind: 'ready'; protocol: number };

export class PortRpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PortRpcError';
  }
}

/** Adapter for Electron's MessagePortMain (main process and utilityProcess child alike). */
export function fromEventPort(port: {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  start(): void;
  close(): void;
}): RpcPort {
  return {
    post: (m) => port.postMessage(m),
    listen: (handler) => {
      port.on('message', (e) => handler(e.data));
      port.start();
    },
    close: () => port.close(),
  };
}

/** Adapter for Node's worker_threads MessagePort (browser host workers, tests). */
export function fromNodePort(port: {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  close(): void;
}): RpcPort {
  return {
    post: (m) => port.postMessage(m),
    listen: (handler) => {
      port.on('message', handler);
    },
    close: () => port.close(),
  };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: PortRpcError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Parent side: typed requests with ids, per-request timeout, events, and a clean failure when closed. */
export class PortRpcClient<M extends RpcMethods> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(name: string, payload: unknown) => void>();
  private closedReason: string | null = null;
  private readyResolve!: () => void;
  /** Resolves when the child has sent `ready`. */
  readonly ready: Promise<void> = new Promise((resolve) => (this.readyResolve = resolve));

  constructor(private readonly port: RpcPort) {
    port.listen((message) => this.onMessage(message));
  }

  request<K extends keyof M & string>(method: K, payload: M[K]['req'], opts: { timeoutMs?: number } = {}): Promise<M[K]['res']> {
    if (this.closedReason !== null) return Promise.reject(new PortRpcError('PORT_CLOSED', this.closedReason));
    const id = this.nextId++;
    return new Promise<M[K]['res']>((resolve, reject) => {
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new PortRpcError('TIMEOUT', `${method} did not answer within ${opts.timeoutMs} ms`));
            }, opts.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this.port.post({ kind: 'request', id, method, payload } satisfies RpcRequestMessage);
      } catch (err) {
        this.settle(id);
        if (timer) clearTimeout(timer);
        reject(new PortRpcError('POST_FAILED', `could not send ${method}: ${String(err)}`));
      }
    });
  }

  onEvent(listener: (name: string, payload: unknown) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Rejects every pending request with `PORT_CLOSED` and closes the port. Idempotent. */
  close(reason = 'port closed'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new PortRpcError('PORT_CLOSED', reason));
      this.pending.delete(id);
    }
    try {
      this.port.close();
    } catch {
      /* already closed */
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p?.timer) clearTimeout(p.timer);
    return p;
  }

  private onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Partial<RpcResponseMessage | RpcEventMessage | RpcReadyMessage>;
    if (m.kind === 'ready') {
      this.readyResolve();
    } else if (m.kind === 'event' && typeof m.name === 'string') {
      for (const l of this.eventListeners) l(m.name, m.payload);
    } else if (m.kind === 'response' && typeof m.id === 'number') {
      const p = this.settle(m.id);
      if (!p) return; // timed out earlier, or a stray id
      const r = m as RpcResponseMessage;
      if (r.ok) p.resolve(r.result);
      else p.reject(new PortRpcError(String(r.error?.code ?? 'REMOTE_ERROR'), String(r.error?.message ?? 'remote error')));
    }
  }
}

export type RpcHandlers<M extends RpcMethods> = { [K in keyof M]: (payload: M[K]['req']) => Promise<M[K]['res']> | M[K]['res'] };

/**
 * Child side: answers requests with `handlers`, announces `ready`, and returns an `emit` for events.
 * A handler's thrown error becomes `{ code: err.code ?? 'REMOTE_ERROR', message }`.
 */
export function servePortRpc<M extends RpcMethods>(port: RpcPort, handlers: RpcHandlers<M>): { emit(name: string, payload: unknown): void } {
  port.listen((message) => {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Partial<RpcRequestMessage>;
    if (m.kind !== 'request' || typeof m.id !== 'number' || typeof m.method !== 'string') return;
    const id = m.id;
    const handler = Object.prototype.hasOwnProperty.call(handlers, m.method) ? handlers[m.method as keyof M] : undefined;
    if (!handler) {
      port.post({ kind: 'response', id, ok: false, error: { code: 'UNKNOWN_METHOD', message: `unknown method ${m.method}` } } satisfies RpcResponseMessage);
      return;
    }
    Promise.resolve()
      .then(() => handler(m.payload as never))
      .then(
        (result) => port.post({ kind: 'response', id, ok: true, result } satisfies RpcResponseMessage),
        (err: unknown) => {
          const e = err as { code?: unknown; message?: unknown };
          port.post({
            kind: 'response',
            id,
            ok: false,
            error: { code: typeof e?.code === 'string' ? e.code : 'REMOTE_ERROR', message: typeof e?.message === 'string' ? e.message : String(err) },
          } satisfies RpcResponseMessage);
        },
      );
  });
  port.post({ kind: 'ready', protocol: PORT_RPC_PROTOCOL } satisfies RpcReadyMessage);
  return { emit: (name, payload) => port.post({ kind: 'event', name, payload } satisfies RpcEventMessage) };
}

type EventPortLike = Parameters<typeof fromEventPort>[0];

/** The first message a parent sends a utilityProcess child: carries the child's end of the channel. */
export type RpcConnectMessage = { kind: 'connect'; protocol: number };

/**
 * For a utilityProcess entry (e.g. the engine): waits for the parent's `connect` message on
 * `process.parentPort`, then serves `handlers` on the transferred port.
 *
 *   // native-models engine entry, run by electron/main/engine/engine-host.ts:
 *   serveOnParentPort(process.parentPort, { 'engine.ping': async () => 'pong', ... });
 */
export function serveOnParentPort<M extends RpcMethods>(
  parentPort: { once(event: 'message', listener: (e: { data: unknown; ports: EventPortLike[] }) => void): unknown },
  handlers: RpcHandlers<M>,
): Promise<{ emit(name: string, payload: unknown): void }> {
  return new Promise((resolve, reject) => {
    parentPort.once('message', (e) => {
      const data = e.data as Partial<RpcConnectMessage> | null;
      const port = e.ports[0];
      if (data?.kind !== 'connect' || data.protocol !== PORT_RPC_PROTOCOL || port === undefined) {
        reject(new PortRpcError('BAD_HANDSHAKE', 'expected { kind: "connect", protocol } with one port'));
        return;
      }
      resolve(servePortRpc(fromEventPort(port), handlers));
    });
  });
}
