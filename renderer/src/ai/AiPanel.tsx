/**
 * The AI side panel for the slice on screen: engine status (with the thresholds in force and the false flags to
 * expect from them), "Scan slice" / "Scan series" (sequential, with progress and cancel), the result (ResultCard:
 * answered / outside intended use / unlike the training data), the overlay controls, and the permanent
 * research-use and intended-use lines.
 * Talks to the API only through `ApiClient` (scan.run, scan.status); results go to the shared `ScanResults`.
 */
import { useCallback, useRef, useState } from 'react';
import type { ApiClient, ScanStatus } from '../../../electron/features/api.js';
import type { ViewportController, ViewportUiState } from '../viewer/viewport-controller.js';
import { expectedFlagLine, expectedOodLine, heldOutLine, scanErrorMessage, thresholdsLine, untrainedModels } from './format.js';
import { OverlayControls } from './OverlayControls.js';
import { ResultCard } from './ResultCard.js';
import { scanSeries, type SeriesScanProgress } from './series-scan.js';
import type { ScanResults } from './useScanResults.js';
import { useScanStatus } from './useScanStatus.js';
import { useSlice } from './useSlice.js';

export interface AiPanelProps {
  client: ApiClient;
  viewport: ViewportController | null;
  ui: ViewportUiState;
  scan: ScanResults;
}

type Busy = { kind: 'slice'; uid: string } | { kind: 'series'; progress: SeriesScanProgress; stopping: boolean } | null;

export function AiPanel({ client, viewport, ui, scan }: AiPanelProps) {
  const slice = useSlice(viewport);
  const { status, error: statusError, refresh } = useScanStatus(client);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const abort = useRef<AbortController | null>(null);

  const uid = slice?.sopInstanceUid ?? null;
  const result = uid ? scan.results.get(uid) : undefined;
  const unscanned = slice ? slice.uids.filter((u) => !scan.results.has(u)) : [];

  const scanSlice = useCallback(async () => {
    if (!uid) return;
    setBusy({ kind: 'slice', uid });
    setError(undefined);
    setNote(undefined);
    scan.claim(uid);
    try {
      scan.add(await client.invoke('scan.run', { sopInstanceUid: uid }));
    } catch (e) {
      setError(scanErrorMessage(e));
    } finally {
      setBusy(null);
      refresh();
    }
  }, [client, uid, scan, refresh]);

  const runSeries = useCallback(async () => {
    if (!slice) return;
    const todo = unscanned.length > 0 ? unscanned : [...slice.uids]; // all scanned already: scan them again
    const ctl = new AbortController();
    abort.current = ctl;
    setError(undefined);
    setNote(undefined);
    setBusy({ kind: 'series', progress: { done: 0, total: todo.length }, stopping: false });
    todo.forEach((u) => scan.claim(u));
    const states = { outside: 0, unlike: 0 };
    const out = await scanSeries(client, todo, {
      signal: ctl.signal,
      onResult: (r) => {
        if (r.state === 'outside-intended-use') states.outside++;
        if (r.state === 'unlike-training-data') states.unlike++;
        scan.add(r);
      },
      onProgress: (p) => setBusy((b) => (b?.kind === 'series' ? { ...b, progress: p } : b)),
    });
    abort.current = null;
    setBusy(null);
    refresh();
    if (out.error) {
      const at = slice.uids.indexOf(out.error.sopInstanceUid);
      setError(`Stopped at slice ${at + 1}: ${scanErrorMessage(out.error.error)}`);
    } else {
      const told = [states.outside ? `${states.outside} outside intended use` : '', states.unlike ? `${states.unlike} unlike the training data` : ''].filter(Boolean).join(', ');
      setNote(`${out.scanned} of ${out.total} slice${out.total === 1 ? '' : 's'} scanned${out.cancelled ? ' (cancelled)' : ''}${told ? `: ${told}` : ''}.`);
    }
  }, [client, slice, unscanned, scan, refresh]);

  const cancel = useCallback(() => {
    abort.current?.abort();
    setBusy((b) => (b?.kind === 'series' ? { ...b, stopping: true } : b));
  }, []);

  const ready = status?.ready === true;
  return (
    <aside className="ai-panel" data-testid="ai-panel" aria-label="AI analysis">
      <div className="ai-head">
        <h3>AI analysis</h3>
        <EngineLine status={status} error={statusError} />
      </div>
      <div className="ai-actions">
        <button type="button" data-testid="ai-scan-slice" disabled={!uid || busy !== null} onClick={() => void scanSlice()}
          title="Detect → purify if flagged → classify this slice">
          {busy?.kind === 'slice' ? 'Scanning…' : result ? 'Rescan slice' : 'Scan slice'}
        </button>
        <button type="button" data-testid="ai-scan-series" disabled={!slice || slice.count === 0 || busy !== null} onClick={() => void runSeries()}
          title={unscanned.length > 0 ? `Scan the ${unscanned.length} slice(s) without a result, one after another` : 'Scan every slice again'}>
          {unscanned.length > 0 || !slice || slice.count === 0 ? `Scan series${slice && unscanned.length < slice.count ? ` (${unscanned.length} left)` : ''}` : 'Rescan series'}
        </button>
      </div>
      {busy?.kind === 'series' && (
        <div className="ai-progress" data-testid="ai-series-progress">
          <progress max={busy.progress.total} value={busy.progress.done} />
          <span>{busy.stopping ? 'Stopping after this slice…' : `Scanning ${Math.min(busy.progress.done + 1, busy.progress.total)} of ${busy.progress.total}`}</span>
          <button type="button" data-testid="ai-scan-cancel" disabled={busy.stopping} onClick={cancel}>Cancel</button>
        </div>
      )}
      {error && <div className="error" role="alert" data-testid="ai-error">{error}</div>}
      {scan.error && <div className="error" role="alert">{scan.error}</div>}
      {note && <div className="muted" data-testid="ai-note">{note}</div>}

      <div className="ai-body">
        <h4>{slice && slice.count > 0 ? `Slice ${slice.index + 1} of ${slice.count}` : 'No series open'}</h4>
        {result ? (
          <ResultCard result={result} evidence={status?.detectorEvidence} thresholds={status?.thresholds} />
        ) : (
          <p className="muted" data-testid="ai-no-result">
            {!uid ? 'Open a series to scan its slices.' : ready || !status ? 'Not scanned yet.' : 'Not scanned yet (the engine is not ready).'}
          </p>
        )}
        <h4>Overlays</h4>
        <OverlayControls viewport={viewport} ui={ui} result={result} />
      </div>

      <p className="ai-disclaimer" data-testid="ai-disclaimer">
        Research use only — not for diagnosis. Intended use: single-frame axial brain MR slices (within 30° of axial).
      </p>
    </aside>
  );
}

/** Engine readiness in one line: ready (EP, calibration), loading, or the reason it is not available. */
function EngineLine({ status, error }: { status: ScanStatus | null; error?: string }) {
  if (error) return <div className="error" data-testid="ai-engine" data-ready="false">{`Engine status unavailable: ${error}`}</div>;
  if (!status) return <div className="muted" data-testid="ai-engine">Engine: checking…</div>;
  if (!status.ready) {
    return status.error
      ? <div className="error" data-testid="ai-engine" data-ready="false">{`Engine not available: ${status.error.message}`}</div>
      : <div className="muted" data-testid="ai-engine" data-ready="false">Engine: loading models…</div>;
  }
  const untrained = untrainedModels(status.models);
  const t = status.thresholds;
  return (
    <div data-testid="ai-engine" data-ready="true">
      <div className="muted">
        Engine ready · {status.ep ?? '?'} · {t ? `${t.source === 'site' ? 'site' : 'shipped'} thresholds (${t.flag.scoreKind}, FPR ${Math.round(t.flag.fpr * 100)} %)` : 'not calibrated'}
      </div>
      {t && <div className="muted" data-testid="ai-thresholds" data-source={t.source}>{thresholdsLine(t)}</div>}
      {status.siteCalibrationProblem && <div className="ai-warning" role="alert" data-testid="ai-site-problem">⚠ {status.siteCalibrationProblem}</div>}
      {t?.flag.expected && (
        <div className="muted" data-testid="ai-expected-flags" title="Threshold set on a random half of the calibration images (by group, series or slice), flags counted on the other half, repeated">
          {expectedFlagLine(t.flag.expected)}
        </div>
      )}
      {t?.ood.expected && <div className="muted" data-testid="ai-expected-ood">{expectedOodLine(t.ood.expected)}</div>}
      {status.classifierHeldOut && (
        <div className="muted" data-testid="ai-held-out" title="The classifier alone on clean slices it never trained on (whole near-duplicate groups held out), as its model card records them; the interval resamples whole groups">
          {heldOutLine(status.classifierHeldOut)}
        </div>
      )}
      {untrained.length > 0 && <div className="ai-warning" role="alert">⚠ Untrained models loaded: {untrained.join(', ')}</div>}
    </div>
  );
}
