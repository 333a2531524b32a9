/**
 * Thumbnails of the selected study's series, each drawn from its middle image on a small canvas, with a badge
 * counting the slices that have an AI result (red when any was flagged).
 */
import { useEffect, useRef } from 'react';
import type { ScanResult, SeriesSummary } from '../../../electron/features/api.js';
import type { FrameLoader } from '../viewer/frame-cache.js';
import { percentileVoi, renderVoi } from '../viewer/voi.js';
import { SERIES_DRAG_TYPE } from '../viewer/Viewport.js';

export interface SeriesStripProps {
  series: SeriesSummary[];
  loader: FrameLoader;
  activeUid: string | null;
  /** Latest AI result per SOP Instance UID (any series of the study). */
  results?: ReadonlyMap<string, ScanResult>;
  onOpen: (series: SeriesSummary, clickTime: number) => void;
}

export function SeriesStrip({ series, loader, activeUid, results, onOpen }: SeriesStripProps) {
  const counts = new Map<string, ScanCount>();
  for (const r of results?.values() ?? []) {
    const c = counts.get(r.seriesInstanceUid) ?? { scanned: 0, flagged: 0, outside: 0 };
    c.scanned++;
    if (r.flagged) c.flagged++;
    if (r.state === 'outside-intended-use') c.outside++;
    counts.set(r.seriesInstanceUid, c);
  }
  return (
    <section className="series-strip" aria-label="Series">
      {series.map((s) => (
        <button
          type="button"
          key={s.seriesInstanceUid}
          className={s.seriesInstanceUid === activeUid ? 'thumb active' : 'thumb'}
          data-testid="series-thumb"
          data-series-uid={s.seriesInstanceUid}
          title={s.seriesDescription ?? s.seriesInstanceUid}
          onClick={() => onOpen(s, performance.now())}
          draggable
          onDragStart={(e) => { e.dataTransfer.setData(SERIES_DRAG_TYPE, s.seriesInstanceUid); e.dataTransfer.effectAllowed = 'copy'; }}
        >
          <Thumbnail uid={s.thumbnailSopInstanceUid} loader={loader} />
          <span className="thumb-label">
            {s.seriesNumber !== undefined ? `#${s.seriesNumber} ` : ''}{s.seriesDescription || s.modality || 'Series'}
          </span>
          <span className="thumb-count">{s.instanceCount} im</span>
          <ScanBadge count={counts.get(s.seriesInstanceUid)} />
        </button>
      ))}
    </section>
  );
}

/** Slices of a series with an AI result; `outside` = outside the AI's intended use (no reading). */
interface ScanCount { scanned: number; flagged: number; outside: number }

function ScanBadge({ count }: { count?: ScanCount }) {
  if (!count) return null;
  const text = `AI ${count.scanned}${count.outside ? ` · ${count.outside} outside use` : ''}${count.flagged ? ` · ${count.flagged} flagged` : ''}`;
  return (
    <span className={count.flagged ? 'thumb-ai flagged' : 'thumb-ai'} data-testid="series-ai-badge"
      title={`${count.scanned} slice(s) with an AI result, ${count.outside} outside the AI's intended use, ${count.flagged} flagged`}>
      {text}
    </span>
  );
}

const THUMB = 96;

function Thumbnail({ uid, loader }: { uid?: string; loader: FrameLoader }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!uid || !canvas) return;
    let live = true;
    loader.load(uid, { priority: 'low' }).then((frame) => {
      if (!live) return;
      const img = document.createElement('canvas');
      img.width = frame.columns;
      img.height = frame.rows;
      const ictx = img.getContext('2d');
      const ctx = canvas.getContext('2d');
      if (!ictx || !ctx) return;
      const data = ictx.createImageData(frame.columns, frame.rows);
      renderVoi(frame, percentileVoi(frame), false, data.data);
      ictx.putImageData(data, 0, 0);
      const s = Math.min(THUMB / frame.columns, THUMB / frame.rows);
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, THUMB, THUMB);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      const w = frame.columns * s;
      const h = frame.rows * s;
      ctx.drawImage(img, (THUMB - w) / 2, (THUMB - h) / 2, w, h);
      canvas.dataset.drawn = 'true';
    }).catch(() => { if (live) canvas.dataset.drawn = 'error'; });
    return () => { live = false; };
  }, [uid, loader]);
  return <canvas ref={ref} className="thumb-canvas" width={THUMB} height={THUMB} />;
}
