/**
 * React hook: the stored scan results of the open study's series (latest per slice, by SOP Instance UID), loaded
 * with `scan.results` when the series list changes, extended by this window's own scans as they finish, and
 * refreshed when `scan.completed` announces a result this window did not ask for (another window, the CLI host).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient, ScanResult } from '../../../electron/features/api.js';
import { scanErrorMessage } from './format.js';

/** Events for results this window did not request are gathered this long before one refresh per series. */
const REFRESH_DEBOUNCE_MS = 400;

export interface ScanResults {
  /** Latest result per SOP Instance UID. */
  results: ReadonlyMap<string, ScanResult>;
  /** Why loading failed, when it did. */
  error?: string;
  /** Record a result this window received from `scan.run`. */
  add(r: ScanResult): void;
  /** Mark a slice as being scanned by this window, so its `scan.completed` event does not trigger a reload. */
  claim(sopInstanceUid: string): void;
}

export function useScanResults(client: ApiClient, seriesUids: readonly string[]): ScanResults {
  const [results, setResults] = useState<ReadonlyMap<string, ScanResult>>(new Map());
  const [error, setError] = useState<string | undefined>();
  const own = useRef(new Set<string>());
  const key = seriesUids.join('\n');

  const load = useCallback(async (uids: readonly string[], isLive: () => boolean) => {
    try {
      const lists = await Promise.all(uids.map((u) => client.invoke('scan.results', { seriesInstanceUid: u })));
      if (!isLive()) return;
      setResults((cur) => {
        const next = new Map(cur);
        for (const list of lists) for (const r of list) next.set(r.sopInstanceUid, r);
        return next;
      });
      setError(undefined);
    } catch (e) {
      if (isLive()) setError(`Could not load stored AI results: ${scanErrorMessage(e)}`);
    }
  }, [client]);

  useEffect(() => {
    let live = true;
    const uids = key ? key.split('\n') : [];
    setResults(new Map());
    setError(undefined);
    if (uids.length > 0) void load(uids, () => live);

    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = client.on('scan.completed', (ev) => {
      // A slice this window is scanning: its event is consumed once (the response carries the result).
      if (own.current.delete(ev.sopInstanceUid) || !uids.includes(ev.seriesInstanceUid)) return;
      pending.add(ev.seriesInstanceUid);
      timer ??= setTimeout(() => {
        timer = null;
        const series = [...pending];
        pending.clear();
        void load(series, () => live);
      }, REFRESH_DEBOUNCE_MS);
    });
    return () => {
      live = false;
      off();
      if (timer) clearTimeout(timer);
    };
  }, [client, key, load]);

  const add = useCallback((r: ScanResult) => {
    setResults((cur) => new Map(cur).set(r.sopInstanceUid, r));
  }, []);
  const claim = useCallback((uid: string) => { own.current.add(uid); }, []);

  return { results, error, add, claim };
}
