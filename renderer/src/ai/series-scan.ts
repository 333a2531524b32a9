/**
 * "Scan series": runs `scan.run` on the given slices one after another (the engine queues and batches, but one at
 * a time keeps the UI's progress honest and leaves the engine free for a single-slice scan in between), reports
 * progress, and stops between slices when cancelled. The first API error stops the run and is returned.
 */
import type { ApiClient, ScanResult } from '../../../electron/features/api.js';

export interface SeriesScanProgress {
  /** Slices finished (scanned) so far. */
  done: number;
  total: number;
  /** The slice being scanned now, when one is. */
  current?: string;
}

export interface SeriesScanOutcome {
  scanned: number;
  total: number;
  cancelled: boolean;
  error?: { sopInstanceUid: string; error: unknown };
}

export interface SeriesScanOptions {
  onProgress?: (p: SeriesScanProgress) => void;
  onResult?: (r: ScanResult) => void;
  /** Checked before each slice: aborting lets the slice in flight finish, then stops. */
  signal?: AbortSignal;
}

export async function scanSeries(client: Pick<ApiClient, 'invoke'>, sopInstanceUids: readonly string[], opts: SeriesScanOptions = {}): Promise<SeriesScanOutcome> {
  const total = sopInstanceUids.length;
  let scanned = 0;
  for (const uid of sopInstanceUids) {
    if (opts.signal?.aborted) return { scanned, total, cancelled: true };
    opts.onProgress?.({ done: scanned, total, current: uid });
    let r: ScanResult;
    try {
      r = await client.invoke('scan.run', { sopInstanceUid: uid });
    } catch (error) {
      opts.onProgress?.({ done: scanned, total });
      return { scanned, total, cancelled: false, error: { sopInstanceUid: uid, error } };
    }
    scanned++;
    opts.onResult?.(r);
    opts.onProgress?.({ done: scanned, total });
  }
  return { scanned, total, cancelled: false };
}
