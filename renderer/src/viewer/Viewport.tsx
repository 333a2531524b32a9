/**
 * One viewport cell: Cornerstone's element plus the overlay corners, orientation letters and scale bar. React only
 * creates the DOM; a `ViewportController` (cs/stack-controller.ts) drives Cornerstone and writes the overlay text,
 * so interaction never re-renders React.
 */
import { useEffect, useRef } from 'react';
import type { ApiClient } from '../../../electron/features/api.js';
import type { FrameLoader } from './frame-cache.js';
import { VIEWPORT_IDS } from './cs/engine.js';
import { ViewportController, type ViewportUiState } from './viewport-controller.js';

export interface ViewportProps {
  client: ApiClient;
  loader: FrameLoader;
  onReady: (controller: ViewportController | null) => void;
  onUiState: (state: ViewportUiState) => void;
  /** This cell is the one the toolbar, hotkeys and AI panel act on. */
  active?: boolean;
  onActivate?: () => void;
  /** A series UID dropped onto the cell (dragged from the series strip). */
  onDropSeries?: (seriesInstanceUid: string) => void;
  testId?: string;
  /** Which cell of the layout (0..3): picks the Cornerstone viewport id. */
  cell?: number;
}

export const SERIES_DRAG_TYPE = 'application/x-medfedpure-series';

export function Viewport({ client, loader, onReady, onUiState, active = true, onActivate, onDropSeries, testId = 'viewport', cell = 0 }: ViewportProps) {
  const rootRef = useRef<HTMLDivElement>(null);
  const elRef = useRef<HTMLDivElement>(null);
  const tl = useRef<HTMLDivElement>(null);
  const tr = useRef<HTMLDivElement>(null);
  const slice = useRef<HTMLSpanElement>(null);
  const blExtra = useRef<HTMLSpanElement>(null);
  const wl = useRef<HTMLSpanElement>(null);
  const zoom = useRef<HTMLSpanElement>(null);
  const oL = useRef<HTMLDivElement>(null);
  const oR = useRef<HTMLDivElement>(null);
  const oT = useRef<HTMLDivElement>(null);
  const oB = useRef<HTMLDivElement>(null);
  const bar = useRef<HTMLDivElement>(null);
  const barLabel = useRef<HTMLSpanElement>(null);
  const barLine = useRef<HTMLDivElement>(null);
  const uiRef = useRef(onUiState);
  uiRef.current = onUiState;
  const readyRef = useRef(onReady);
  readyRef.current = onReady;

  useEffect(() => {
    const nodes = [rootRef, elRef, tl, tr, slice, blExtra, wl, zoom, oL, oR, oT, oB, bar, barLabel, barLine].map((r) => r.current);
    if (nodes.some((n) => !n)) return;
    const controller = new ViewportController(
      client, loader, rootRef.current!, elRef.current!,
      {
        topLeft: tl.current!, topRight: tr.current!, slice: slice.current!, bottomLeftExtra: blExtra.current!, wl: wl.current!, zoom: zoom.current!,
        orient: { left: oL.current!, right: oR.current!, top: oT.current!, bottom: oB.current! },
        scaleBar: bar.current!, scaleLine: barLine.current!, scaleLabel: barLabel.current!,
      },
      (s) => uiRef.current(s),
      VIEWPORT_IDS[cell],
    );
    readyRef.current(controller);
    return () => {
      readyRef.current(null);
      controller.dispose();
    };
  }, [client, loader, cell]);

  return (
    <div
      className={active ? 'viewport active' : 'viewport'} ref={rootRef} data-testid={testId} data-active={String(active)}
      onPointerDownCapture={onActivate}
      onWheelCapture={onActivate}
      onDragOver={(e) => { if (onDropSeries && e.dataTransfer.types.includes(SERIES_DRAG_TYPE)) e.preventDefault(); }}
      onDrop={(e) => {
        const uid = e.dataTransfer.getData(SERIES_DRAG_TYPE);
        if (uid && onDropSeries) { e.preventDefault(); onActivate?.(); onDropSeries(uid); }
      }}
    >
      <div className="cs-element" ref={elRef} onContextMenu={(e) => e.preventDefault()} />
      <div className="overlay" data-testid="viewport-overlay">
        <div className="overlay-corner tl" ref={tl} data-testid="overlay-patient" />
        <div className="overlay-corner tr" ref={tr} data-testid="overlay-series" />
        <div className="overlay-corner bl">
          <span ref={slice} data-testid="overlay-slice" />
          <span ref={blExtra} className="overlay-extra" />
        </div>
        <div className="overlay-corner br">
          <div className="scale" ref={bar} data-testid="scale-bar" hidden><span ref={barLabel} /><div className="scale-line" ref={barLine} /></div>
          <span ref={wl} data-testid="overlay-wl" />
          <span ref={zoom} data-testid="overlay-zoom" />
        </div>
        <div className="orient left" ref={oL} data-testid="orient-left" />
        <div className="orient right" ref={oR} data-testid="orient-right" />
        <div className="orient top" ref={oT} data-testid="orient-top" />
        <div className="orient bottom" ref={oB} data-testid="orient-bottom" />
      </div>
    </div>
  );
}
