/**
 * The viewport layout: 1×1, 1×2 or 2×2 cells, one of them active (the toolbar, hotkeys, AI panel and a series click
 * act on it). A series dragged from the strip opens in the cell it is dropped on. Cells of one study are
 * synchronised: scrolling one moves the others to the slice nearest in position when their planes are parallel
 * (the same series: the same slice), and a window/level change is applied to the others of the same modality.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient, SeriesSummary, StudySummary } from '../../../electron/features/api.js';
import type { FrameLoader } from './frame-cache.js';
import { imageIdOf, viewerMetadata } from './cs/metadata.js';
import { Viewport } from './Viewport.js';
import type { ViewportController, ViewportUiState } from './viewport-controller.js';

export type Layout = '1x1' | '1x2' | '2x2';
export const LAYOUTS: readonly Layout[] = ['1x1', '1x2', '2x2'];
const CELLS: Record<Layout, number> = { '1x1': 1, '1x2': 2, '2x2': 4 };

export interface ViewerGridProps {
  client: ApiClient;
  loader: FrameLoader;
  layout: Layout;
  /** The active cell's controller (null while none is mounted). */
  onActive: (controller: ViewportController | null) => void;
  onUiState: (state: ViewportUiState) => void;
  /** The series of the selected study (to open what is dropped, and to fill new cells). */
  series: readonly SeriesSummary[];
  study: StudySummary | null;
  /** Synchronise scroll and window/level across the cells of one study. */
  sync: boolean;
}

/** Unit normal of the image plane shown in a cell, when its geometry is known. */
function normalOf(c: ViewportController): number[] | null {
  const uid = c.displayedSopInstanceUid;
  const p = uid ? viewerMetadata.plane(imageIdOf(uid)) : undefined;
  if (!p || !p.hasPatientGeometry) return null;
  const [a, b] = [p.rowCosines, p.columnCosines];
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function parallel(a: number[] | null, b: number[] | null): boolean {
  if (!a || !b) return false;
  return Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) > 0.99;
}

export function ViewerGrid({ client, loader, layout, onActive, onUiState, series, study, sync }: ViewerGridProps) {
  const n = CELLS[layout];
  const [active, setActive] = useState(0);
  const controllers = useRef<Array<ViewportController | null>>([null, null, null, null]);
  const uiStates = useRef<Array<ViewportUiState | null>>([null, null, null, null]);
  const activeRef = useRef(active);
  activeRef.current = active;
  const syncRef = useRef(sync);
  syncRef.current = sync;
  const seriesRef = useRef(series);
  seriesRef.current = series;
  const studyRef = useRef(study);
  studyRef.current = study;
  const syncing = useRef(false);
  const unsub = useRef<Array<Array<() => void>>>([[], [], [], []]);

  const activeIndex = Math.min(active, n - 1);
  useEffect(() => {
    if (active !== activeIndex) setActive(activeIndex);
    onActive(controllers.current[activeIndex]);
    const ui = uiStates.current[activeIndex];
    if (ui) onUiState(ui);
  }, [activeIndex, active, onActive, onUiState]);

  /** Follow cell `i`'s slice and window in the other cells of its study. */
  const wire = useCallback((i: number, c: ViewportController) => {
    const others = () => controllers.current.filter((o, k): o is ViewportController => !!o && k !== i && k < CELLS[layoutRef.current] && o.studyUid === c.studyUid && o.studyUid !== null);
    const offSlice = c.onSlice(() => {
      if (!syncRef.current || syncing.current || activeRef.current !== i) return;
      syncing.current = true;
      try {
        const loc = c.currentLocation();
        for (const o of others()) {
          if (o.series?.seriesInstanceUid === c.series?.seriesInstanceUid) o.goTo(c.currentIndex);
          else if (loc !== undefined && parallel(normalOf(c), normalOf(o))) {
            const k = o.indexNearestLocation(loc);
            if (k >= 0) o.goTo(k);
          }
        }
      } finally {
        syncing.current = false;
      }
    });
    const offVoi = c.onVoi((v) => {
      if (!syncRef.current || syncing.current || activeRef.current !== i) return;
      syncing.current = true;
      try {
        for (const o of others()) if (o.series?.modality === c.series?.modality) o.syncVoi(v);
      } finally {
        syncing.current = false;
      }
    });
    unsub.current[i] = [offSlice, offVoi];
  }, []);

  const layoutRef = useRef(layout);
  layoutRef.current = layout;

  const readyFns = useRef(
    [0, 1, 2, 3].map((i) => (c: ViewportController | null) => {
      for (const off of unsub.current[i]) off();
      unsub.current[i] = [];
      controllers.current[i] = c;
      if (c) {
        wire(i, c);
        // A new cell of a multi-cell layout shows the next series of the study (a simple hanging protocol).
        const list = seriesRef.current;
        if (i > 0 && list.length > 0) void c.openSeries(list[i % list.length], studyRef.current ?? undefined);
      }
      if (i === activeRef.current) onActiveRef.current(c);
    }),
  );
  const onActiveRef = useRef(onActive);
  onActiveRef.current = onActive;

  const uiFns = useRef(
    [0, 1, 2, 3].map((i) => (s: ViewportUiState) => {
      uiStates.current[i] = s;
      if (i === activeRef.current) onUiStateRef.current(s);
    }),
  );
  const onUiStateRef = useRef(onUiState);
  onUiStateRef.current = onUiState;

  const drop = (i: number) => (uid: string) => {
    const s = seriesRef.current.find((x) => x.seriesInstanceUid === uid);
    const c = controllers.current[i];
    if (s && c) void c.openSeries(s, studyRef.current ?? undefined);
  };

  return (
    <div className={n > 1 ? 'viewport-grid multi' : 'viewport-grid'} data-testid="viewport-grid" data-layout={layout}
      style={{ gridTemplateColumns: n === 1 ? '1fr' : '1fr 1fr', gridTemplateRows: n === 4 ? '1fr 1fr' : '1fr' }}>
      {Array.from({ length: n }, (_, i) => (
        <div className="viewport-cell" key={i}>
          <Viewport
            client={client} loader={loader} cell={i} testId={i === 0 ? 'viewport' : `viewport-${i}`}
            active={n === 1 || i === activeIndex}
            onActivate={() => { if (activeRef.current !== i) setActive(i); }}
            onDropSeries={drop(i)}
            onReady={readyFns.current[i]}
            onUiState={uiFns.current[i]}
          />
        </div>
      ))}
    </div>
  );
}
