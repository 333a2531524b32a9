/**
 * Frame cache and loader for the viewer: an LRU of decoded `Frame`s bounded by bytes, and a loader that
 * deduplicates requests, serves "now" requests before background prefetch, and limits how many
 * `instances.frame` calls are in flight. DOM-free, so it is unit-tested in Node with a fake client.
 */
import type { ApiClient, Frame } from '../../../electron/features/api.js';

/** Least-recently-used map from SOP Instance UID to frame, bounded by the frames' pixel bytes. */
export class FrameCache {
  private readonly map = new Map<string, Frame>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(uid: string): Frame | undefined {
    const f = this.map.get(uid);
    if (f) { this.map.delete(uid); this.map.set(uid, f); } // mark as most recent
    return f;
  }

  /** Look without touching recency (for "is it loaded?" questions). */
  peek(uid: string): Frame | undefined {
    return this.map.get(uid);
  }

  has(uid: string): boolean {
    return this.map.has(uid);
  }

  set(uid: string, frame: Frame): void {
    const old = this.map.get(uid);
    if (old) { this.bytes -= old.pixels.byteLength; this.map.delete(uid); }
    this.map.set(uid, frame);
    this.bytes += frame.pixels.byteLength;
    for (const [k, f] of this.map) {
      if (this.bytes <= this.maxBytes || k === uid) break;
      this.map.delete(k);
      this.bytes -= f.pixels.byteLength;
    }
  }

  get size(): number { return this.map.size; }
  get byteSize(): number { return this.bytes; }
}

type Listener = (frame: Frame) => void;

interface Pending {
  uid: string;
  resolve: (f: Frame) => void;
  reject: (e: unknown) => void;
  promise: Promise<Frame>;
}

/**
 * Loads frames through the API into a `FrameCache`. Three tiers, served in this order:
 *  - `load(uid)`: urgent (the slice on screen); jumps ahead of everything queued.
 *  - `load(uid, { priority: 'low' })`: wanted soon but not now (thumbnails).
 *  - `prefetch(uids)`: replaces the background queue (earlier entries first); already-cached or in-flight
 *    ones are skipped. Callers order the list outward from the current slice.
 * While a `hold()` is active only urgent requests start, so e.g. a series' first image does not queue behind
 * thumbnail decodes on the server.
 */
export class FrameLoader {
  private readonly inFlight = new Map<string, Promise<Frame>>();
  private readonly urgent: Pending[] = [];
  private readonly low: Pending[] = [];
  private holds = 0;
  private background: string[] = [];
  private running = 0;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly client: ApiClient,
    readonly cache: FrameCache,
    private readonly concurrency = 4,
  ) {}

  /** Called with every frame that arrives (urgent or prefetched). Returns an unsubscribe function. */
  onFrame(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Fetch a frame. Default priority 'now' puts it ahead of every other waiting request (the slice on
   * screen); 'low' queues it behind urgent ones but ahead of prefetch, and not during a hold (thumbnails).
   */
  load(uid: string, opts: { priority?: 'now' | 'low' } = {}): Promise<Frame> {
    const cached = this.cache.get(uid);
    if (cached) return Promise.resolve(cached);
    const flying = this.inFlight.get(uid);
    if (flying) return flying;
    const urgentAt = this.urgent.findIndex((p) => p.uid === uid);
    if (urgentAt >= 0) {
      const queued = this.urgent[urgentAt];
      if (opts.priority !== 'low' && urgentAt > 0) { this.urgent.splice(urgentAt, 1); this.urgent.unshift(queued); }
      return queued.promise;
    }
    const lowAt = this.low.findIndex((p) => p.uid === uid);
    if (lowAt >= 0) {
      const queued = this.low[lowAt];
      if (opts.priority !== 'low') { this.low.splice(lowAt, 1); this.urgent.unshift(queued); this.pump(); }
      return queued.promise;
    }
    let resolve!: (f: Frame) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Frame>((res, rej) => { resolve = res; reject = rej; });
    const entry = { uid, resolve, reject, promise };
    if (opts.priority === 'low') this.low.push(entry);
    else this.urgent.unshift(entry);
    this.pump();
    return promise;
  }

  /** Start only urgent requests until the returned release function is called (idempotent). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  prefetch(uids: readonly string[]): void {
    this.background = uids.filter((u) => !this.cache.has(u) && !this.inFlight.has(u));
    this.pump();
  }

  /** Drop the queued (not in-flight) background work, e.g. when another series opens. */
  cancelPrefetch(): void {
    this.background = [];
  }

  get pendingCount(): number {
    return this.urgent.length + this.low.length + this.background.length + this.running;
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const next = this.urgent.shift() ?? (this.holds === 0 ? this.low.shift() : undefined);
      if (next) { this.start(next.uid).then(next.resolve, next.reject); continue; }
      if (this.holds > 0) return;
      const uid = this.background.shift();
      if (uid === undefined) return;
      if (this.cache.has(uid) || this.inFlight.has(uid)) continue;
      this.start(uid).catch(() => { /* a failed prefetch is retried when the slice is shown */ });
    }
  }

  private start(uid: string): Promise<Frame> {
    const existing = this.inFlight.get(uid);
    if (existing) return existing;
    const cached = this.cache.get(uid);
    if (cached) return Promise.resolve(cached);
    this.running++;
    const p = this.client.invoke('instances.frame', { sopInstanceUid: uid }).then(
      (frame) => {
        this.cache.set(uid, frame);
        for (const l of this.listeners) l(frame);
        return frame;
      },
    ).finally(() => {
      this.inFlight.delete(uid);
      this.running--;
      this.pump();
    });
    this.inFlight.set(uid, p);
    return p;
  }
}

/** Indices ordered outward from `center`: center, center+1, center-1, center+2, ... within [0, n). */
export function outwardOrder(center: number, n: number): number[] {
  const order: number[] = [];
  if (n <= 0) return order;
  const c = Math.min(Math.max(center, 0), n - 1);
  order.push(c);
  for (let d = 1; order.length < n; d++) {
    if (c + d < n) order.push(c + d);
    if (c - d >= 0) order.push(c - d);
  }
  return order;
}

/** Index of the loaded slice nearest to `index` (itself when loaded), or -1 when none is. */
export function nearestLoaded(index: number, uids: readonly string[], cache: FrameCache): number {
  for (let d = 0; d < uids.length; d++) {
    if (index + d < uids.length && cache.has(uids[index + d])) return index + d;
    if (d > 0 && index - d >= 0 && cache.has(uids[index - d])) return index - d;
  }
  return -1;
}
