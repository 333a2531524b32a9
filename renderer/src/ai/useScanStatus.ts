/**
 * React hook: `scan.status` (engine readiness, EP, models, calibration). The browser host starts its engine on the
 * first scan.* call, so a first answer is often "loading": the hook asks again every few seconds until the engine
 * is ready or reports an error, and again after each scan (`refresh`).
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, ScanStatus } from '../../../electron/features/api.js';
import { scanErrorMessage } from './format.js';

const POLL_MS = 2000;
const MAX_POLLS = 90;

export interface ScanStatusState {
  status: ScanStatus | null;
  /** The status call itself failed. */
  error?: string;
  refresh(): void;
}

export function useScanStatus(client: ApiClient): ScanStatusState {
  const [status, setStatus] = useState<ScanStatus | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    let polls = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const ask = () => {
      client.invoke('scan.status', {}).then((s) => {
        if (!live) return;
        setStatus(s);
        setError(undefined);
        if (!s.ready && !s.error && ++polls < MAX_POLLS) timer = setTimeout(ask, POLL_MS);
      }, (e: unknown) => {
        if (live) setError(scanErrorMessage(e));
      });
    };
    ask();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [client, tick]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { status, error, refresh };
}
