/** Panel controls for the viewport's AI overlays: the error-map heat overlay and the Original / Purified / Difference view. */
import type { ScanResult } from '../../../electron/features/api.js';
import type { ViewportController, ViewportUiState } from '../viewer/viewport-controller.js';
import { AI_VIEWS, hasView, type AiView } from './layers.js';

const VIEW_LABEL: Record<AiView, string> = { original: 'Original', purified: 'Purified', difference: 'Difference' };

export function OverlayControls({ viewport: v, ui, result }: { viewport: ViewportController | null; ui: ViewportUiState; result: ScanResult | undefined }) {
  const noMap = !result?.errorMap;
  return (
    <div className="ai-overlays" role="group" aria-label="AI overlays">
      <button
        type="button" data-testid="ai-toggle-errormap" aria-pressed={ui.errorMap} className={ui.errorMap ? 'active' : ''}
        disabled={!v} title="Reconstruction-error heat map over the image (E)" onClick={() => v?.toggleErrorMap()}
      >
        Error map
      </button>
      <div className="segmented" role="radiogroup" aria-label="AI view (V)">
        {AI_VIEWS.map((view) => {
          const available = view === 'original' || hasView(result, view);
          return (
            <button
              key={view} type="button" role="radio" aria-checked={ui.aiView === view} data-testid={`ai-view-${view}`}
              className={ui.aiView === view ? 'active' : ''} disabled={!v || (!available && ui.aiView !== view)}
              title={available ? `${VIEW_LABEL[view]} (V cycles)` : 'Only for slices the purifier processed (flagged scans)'}
              onClick={() => v?.setAiView(view)}
            >
              {VIEW_LABEL[view]}
            </button>
          );
        })}
      </div>
      <label className="ai-opacity" title="Opacity of the AI layers over the image">
        Opacity{' '}
        <input
          type="range" min={0} max={100} step={5} data-testid="ai-overlay-opacity" disabled={!v} value={Math.round(ui.overlayOpacity * 100)}
          onChange={(e) => v?.setOverlayOpacity(Number(e.target.value) / 100)}
        />{' '}
        <span className="mono">{Math.round(ui.overlayOpacity * 100)} %</span>
      </label>
      {result && noMap && ui.errorMap && <div className="muted">This result has no error map (detector not run).</div>}
      {result && ui.aiView !== 'original' && !hasView(result, ui.aiView) && (
        <div className="muted">Not purified (not flagged): the viewport shows the original.</div>
      )}
    </div>
  );
}
