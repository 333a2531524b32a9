/**
 * What the viewport shows for a scanned slice, drawn over it: the active AI layers with their colour scales and
 * ranges, and a reminder that the purified/difference images are model space (size × size).
 */
import type { ScanResult } from '../../../electron/features/api.js';
import type { ViewportController, ViewportUiState } from '../viewer/viewport-controller.js';
import { ColorBar } from './ColorBar.js';
import { calibratedErrorScale, ERROR_SCALE_THRESHOLDS, hasView, resultRanges } from './layers.js';
import { useSlice } from './useSlice.js';

export function ViewportLegend({ viewport, ui, results }: { viewport: ViewportController | null; ui: ViewportUiState; results: ReadonlyMap<string, ScanResult> }) {
  const uid = useSlice(viewport)?.sopInstanceUid;
  const result = uid ? results.get(uid) : undefined;
  if (!result) return null;
  const ranges = resultRanges(result);
  const view = hasView(result, ui.aiView) ? ui.aiView : 'original';
  const heat = ui.errorMap && ranges.errorMap;
  if (view === 'original' && !heat && !result.flagged && result.state === 'answered') return null;
  return (
    <div className="viewport-legend" data-testid="viewport-legend">
      {result.state === 'outside-intended-use' && <span className="badge muted-badge" data-testid="viewport-state">AI: OUTSIDE INTENDED USE</span>}
      {result.state === 'unlike-training-data' && <span className="badge warn" data-testid="viewport-state">AI: UNLIKE TRAINING DATA</span>}
      {result.flagged && <span className="badge warn" data-testid="viewport-flag" title="The detector's score is over its threshold: unusual, not evidence of an attack">AI: DETECTOR FLAG</span>}
      {view !== 'original' && (
        <span className="legend-view">{view === 'purified' ? 'PURIFIED' : 'DIFFERENCE purified − input'} · model space {result.size}×{result.size}</span>
      )}
      {view === 'difference' && ranges.difference && <ColorBar kind="diverging" range={ranges.difference} label="Δ" testId="legend-difference" />}
      {heat && ranges.errorMap && <ColorBar kind="heat" range={ranges.errorMap} label="MAE error" testId="legend-errormap" />}
      {heat && ranges.errorMap && (
        <span className="legend-view" data-testid="legend-errormap-scale" data-calibrated={String(calibratedErrorScale(result))}>
          {calibratedErrorScale(result) ? `one scale for all slices: 0 … ${ERROR_SCALE_THRESHOLDS} × calibrated threshold` : 'scale of this slice (no calibration)'}
        </span>
      )}
    </div>
  );
}
