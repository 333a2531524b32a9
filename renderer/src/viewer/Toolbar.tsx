/** The viewer toolbar: W/L presets (by modality), mouse and measurement tools, invert, zoom, reset and cine. Buttons call the controller directly. */
import type { ViewportController, ViewportUiState } from './viewport-controller.js';
import type { PresetId } from './voi.js';
import { LAYOUTS, type Layout } from './ViewerGrid.js';

export interface ToolbarProps {
  viewport: ViewportController | null;
  ui: ViewportUiState;
  layout?: Layout;
  onLayout?: (layout: Layout) => void;
  sync?: boolean;
  onSync?: (sync: boolean) => void;
}

export function Toolbar({ viewport: v, ui, layout, onLayout, sync, onSync }: ToolbarProps) {
  const disabled = !v || !ui.hasSeries;
  return (
    <div className="toolbar" role="toolbar" aria-label="Viewer tools">
      <label className="tb-group">
        <span className="tb-label">W/L</span>
        <select
          data-testid="wl-preset"
          value={ui.presetId}
          disabled={disabled}
          onChange={(e) => {
            if (e.target.value !== 'custom') v?.applyPreset(e.target.value as PresetId);
            e.target.blur(); // give the arrow keys back to the viewer
          }}
        >
          {ui.presetId === 'custom' && <option value="custom">Custom</option>}
          {ui.presets.map((p, i) => (
            <option key={p.id} value={p.id}>{`${i + 1} · ${p.label}`}</option>
          ))}
        </select>
      </label>
      <div className="tb-group" role="group" aria-label="Mouse tool">
        <ToolButton v={v} ui={ui} tool="wl" label="W/L" hotkey="W" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="pan" label="Pan" hotkey="P" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="zoom" label="Zoom" hotkey="Z" disabled={disabled} />
      </div>
      <div className="tb-group" role="group" aria-label="Measurement tools">
        <ToolButton v={v} ui={ui} tool="length" label="Length" hotkey="L" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="angle" label="Angle" hotkey="A" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="ellipse" label="Ellipse" hotkey="O" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="rectangle" label="Rect" hotkey="R" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="probe" label="Probe" hotkey="B" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="arrow" label="Arrow" hotkey="T" disabled={disabled} />
        <ToolButton v={v} ui={ui} tool="eraser" label="Eraser" hotkey="X" disabled={disabled} />
      </div>
      <div className="tb-group">
        <button type="button" data-testid="btn-invert" aria-pressed={ui.invert} className={ui.invert ? 'active' : ''} disabled={disabled} title="Invert (I)" onClick={() => v?.toggleInvert()}>Invert</button>
        <button type="button" data-testid="btn-fit" disabled={disabled} title="Fit (F, double-click)" onClick={() => v?.fit()}>Fit</button>
        <button type="button" data-testid="btn-1to1" disabled={disabled} title="One image pixel per screen pixel" onClick={() => v?.oneToOne()}>1:1</button>
        <button type="button" disabled={disabled} title="Zoom in (=)" onClick={() => v?.zoomIn()}>+</button>
        <button type="button" disabled={disabled} title="Zoom out (-)" onClick={() => v?.zoomOut()}>−</button>
        <button type="button" data-testid="btn-reset" disabled={disabled} title="Reset (Space)" onClick={() => v?.reset()}>Reset</button>
      </div>
      {layout && onLayout && (
        <div className="tb-group" role="radiogroup" aria-label="Layout">
          {LAYOUTS.map((l) => (
            <button key={l} type="button" role="radio" aria-checked={layout === l} data-testid={`layout-${l}`} className={layout === l ? 'active' : ''}
              title={`${l.replace('x', '×')} layout`} onClick={() => onLayout(l)}>{l.replace('x', '×')}</button>
          ))}
          {onSync && (
            <button type="button" data-testid="btn-sync" aria-pressed={!!sync} className={sync ? 'active' : ''} disabled={layout === '1x1'}
              title="Synchronise scrolling and window/level across the viewports of one study" onClick={() => onSync(!sync)}>Sync</button>
          )}
        </div>
      )}
      <div className="tb-group">
        <button type="button" data-testid="btn-cine" aria-pressed={ui.cinePlaying} className={ui.cinePlaying ? 'active' : ''} disabled={disabled} title="Cine (C)" onClick={() => v?.toggleCine()}>
          {ui.cinePlaying ? '■ Stop' : '▶ Cine'}
        </button>
        <label className="tb-fps">
          <input
            type="number" min={1} max={60} step={1} value={ui.cineFps} disabled={disabled} aria-label="Cine frames per second"
            onChange={(e) => { const n = Number(e.target.value); if (Number.isFinite(n) && n > 0) v?.setCineFps(n); }}
          />
          <span className="tb-label">fps</span>
        </label>
      </div>
    </div>
  );
}

function ToolButton({ v, ui, tool, label, hotkey, disabled }: {
  v: ViewportController | null; ui: ViewportUiState; tool: ViewportUiState['tool']; label: string; hotkey: string; disabled: boolean;
}) {
  const active = ui.tool === tool;
  return (
    <button type="button" data-testid={`tool-${tool}`} aria-pressed={active} className={active ? 'active' : ''} disabled={disabled} title={`${label} tool (${hotkey})`} onClick={() => v?.setTool(tool)}>
      {label}
    </button>
  );
}
