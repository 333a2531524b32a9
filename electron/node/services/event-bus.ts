/**
 * The one event bus for ApiEvents (server → UI). Services emit; transports (SSE in the HTTP host,
 * webContents.send in Electron) subscribe with `onAny` and forward. A throwing listener never stops the others.
 */
import type { ApiEvent, ApiEvents } from '../../common/contract.js';

type AnyListener = <E extends ApiEvent>(event: E, payload: ApiEvents[E]) => void;

export class EventBus {
  private readonly byEvent = new Map<ApiEvent, Set<(payload: never) => void>>();
  private readonly any = new Set<AnyListener>();

  on<E extends ApiEvent>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    let set = this.byEvent.get(event);
    if (!set) this.byEvent.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => void set.delete(listener as (payload: never) => void);
  }

  /** Every event, for transports. */
  onAny(listener: AnyListener): () => void {
    this.any.add(listener);
    return () => void this.any.delete(listener);
  }

  emit<E extends ApiEvent>(event: E, payload: ApiEvents[E]): void {
    for (const l of [...(this.byEvent.get(event) ?? [])]) safeCall(() => (l as (p: ApiEvents[E]) => void)(payload));
    for (const l of [...this.any]) safeCall(() => l(event, payload));
  }
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('medfedpure: event listener failed', err);
  }
}
