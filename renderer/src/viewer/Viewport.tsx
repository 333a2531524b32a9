/**
 * The viewport element: a canvas plus overlay corners. React only creates the DOM; a `ViewportController`
 * draws into it and writes the overlay text, so interaction never re-renders React.
 */
import { useEffect, useRef } from 'react';
import type { ApiClient } from '../../../electron/features/api.js';
import type { FrameLoader } from './frame-cache.js';
import { ViewportController, type ViewportUiState } from './viewport-controller.js';

export interface ViewportProps {
  client: ApiClient;
  loader: FrameLoader;
  onReady: (controller: ViewportController | null) => void;
  onUiState: (state: ViewportUiState) => void;
}

export function Viewport({ client, loader, onReady, onUiState }: ViewportProps) {
  const rootRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const tl = useRef<HTMLDivElement>(null);
  const tr = useRef<HTMLDivElement>(null);
  const slice = useRef<HTMLSpanElement>(null);
  const blExtra = useRef<HTMLSpanElement>(null);
  const wl = useRef<HTMLSpanElement>(null);
  const zoom = useRef<HTMLSpanElement>(null);
  // Keep the latest callbacks without re-creating the controller.
  const uiRef = useRef(onUiState);
  uiRef.current = onUiState;

  useEffect(() => {
    const nodes = [rootRef.current, canvasRef.current, tl.current, tr.current, slice.current, blExtra.current, wl.current, zoom.current];
    if (nodes.some((n) => !n)) return;
    const controller = new ViewportController(
      client, loader, rootRef.current!, canvasRef.current!,
      { topLeft: tl.current!, topRight: tr.current!, slice: slice.current!, bottomLeftExtra: blExtra.current!, wl: wl.current!, zoom: zoom.current! },
      (s) => uiRef.current(s),
    );
    onReady(controller);
    return () => {
      onReady(null);
      controller.dispose();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, loader]);

  return (
    <div className="viewport" ref={rootRef} data-testid="viewport">
      <canvas ref={canvasRef} className="viewport-canvas" data-testid="viewport-canvas" tabIndex={0} />
      <div className="overlay" data-testid="viewport-overlay">
        <div className="overlay-corner tl" ref={tl} data-testid="overlay-patient" />
        <div className="overlay-corner tr" ref={tr} data-testid="overlay-series" />
        <div className="overlay-corner bl">
          <span ref={slice} data-testid="overlay-slice" />
          <span ref={blExtra} className="overlay-extra" />
        </div>
        <div className="overlay-corner br">
          <span ref={wl} data-testid="overlay-wl" />
          <span ref={zoom} data-testid="overlay-zoom" />
        </div>
      </div>
    </div>
  );
}
