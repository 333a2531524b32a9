/**
 * The one event bus for API events (server → UI). Services emit; transports (SSE in the HTTP host,
 * webContents.send in Electron) subscribe with `onAny` and forward. A throwing listener never stops the others.
 * Platform code: generic over the event table (electron/features/api.ts gives the app's).
 */
/** The emitting side only: what a feature service needs, typed to the events it declares. */
export interface EventSink<E> {
  emit<K extends keyof E & string>(event: K, payload: E[K]): void;
}

type AnyListener<E> = <K extends keyof E & string>(event: K, payload: E[K]) => void;

export class EventBus<E extends Record<string, unknown> = Record<string, unknown>> implements EventSink<E> {
  private readonly byEvent = new Map<string, Set<(payload: never) => void>>();
  private readonly any = new Set<AnyListener<E>>();

  on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): () => void {
    let set = this.byEvent.get(event);
    if (!set) this.byEvent.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => void set.delete(listener as (payload: never) => void);
  }

  /** Every event, for transports. */
  onAny(listener: AnyListener<E>): () => void {
    this.any.add(listener);
    return () => void this.any.delete(listener);
  }

  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    for (const l of [...(this.byEvent.get(event) ?? [])]) safeCall(() => (l as (p: E[K]) => void)(payload));
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
