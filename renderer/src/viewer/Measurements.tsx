/**
 * The measurement list of the series in the active viewport: every Length, Angle, ROI, Probe and Arrow with its
 * reading (from Cornerstone's statistics, in the modality's units), the slice it is on (click to go there) and a
 * delete button; whether they are saved to the study store. Also asks for an arrow's text (no prompt() in Electron).
 */
import { annotation as csAnnotation } from '@cornerstonejs/tools';
import { useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../../../electron/features/api.js';
import { annotationSync, type SaveState } from './cs/annotation-sync.js';
import { setArrowTextProvider } from './cs/engine.js';
import { readingOf } from './cs/measurements.js';
import type { ViewportController } from './viewport-controller.js';

interface Row {
  uid: string;
  index: number;
  kind: string;
  text: string;
  value?: number;
  tool: string;
  /** The reading is computed for the handles as they are now (false while a handle moves or stats are pending). */
  fresh: boolean;
}

export function Measurements({ client, viewport }: { client: ApiClient; viewport: ViewportController | null }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [save, setSave] = useState<SaveState>({ state: 'idle' });
  const [asking, setAsking] = useState<((text: string) => void) | null>(null);
  const [text, setText] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => annotationSync(client).onStatus(setSave), [client]);

  useEffect(() => {
    setArrowTextProvider((done) => { setText(''); setAsking(() => done); });
    return () => setArrowTextProvider((done) => done(''));
  }, []);
  useEffect(() => { if (asking) inputRef.current?.focus(); }, [asking]);

  useEffect(() => {
    if (!viewport) { setRows([]); return; }
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refresh = () => {
      if (timer) return;
      // Statistics arrive in bursts while a handle is dragged; redraw the list at most every 100 ms.
      timer = setTimeout(() => {
        timer = null;
        setRows(viewport.seriesAnnotations().map(({ annotation: a, index }) => {
          const r = readingOf(a);
          return { uid: a.annotationUID ?? '', index, kind: r.kind, text: r.text, value: r.value, tool: a.metadata.toolName, fresh: a.metadata.toolName === 'ArrowAnnotate' ? r.text !== '(no text)' : a.invalidated !== true && r.text !== '…' };
        }).sort((x, y) => x.index - y.index));
      }, 100);
    };
    refresh();
    const offA = viewport.onAnnotationsChanged(refresh);
    const offS = viewport.onSlice(refresh);
    return () => { offA(); offS(); if (timer) clearTimeout(timer); };
  }, [viewport]);

  const answer = (value: string) => {
    asking?.(value);
    setAsking(null);
  };

  return (
    <section className="measurements" data-testid="measurements" aria-label="Measurements">
      <h4>Measurements {rows.length > 0 ? `(${rows.length})` : ''}</h4>
      {rows.length === 0 ? (
        <p className="muted">None on this series. Tools: L length · A angle · O ellipse · R rectangle · B probe · T arrow.</p>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={r.uid} data-testid="measurement" data-tool={r.tool} data-value={r.value ?? ''} data-index={r.index} data-fresh={String(r.fresh)}>
              <button type="button" className="link" title="Go to this slice" onClick={() => viewport?.goTo(r.index)}>Im {r.index + 1}</button>
              <span className="m-kind">{r.kind}</span>
              <span className="mono m-text">{r.text}</span>
              <button type="button" title="Delete this measurement" aria-label={`Delete ${r.kind}`} onClick={() => { csAnnotation.state.removeAnnotation(r.uid); viewport?.refresh(); }}>✕</button>
            </li>
          ))}
        </ul>
      )}
      <div className="muted" data-testid="measurements-saved" data-state={save.state}>
        {save.state === 'saving' ? 'Saving…' : save.state === 'saved' ? 'Saved to the study store (audited).' : save.state === 'error' ? save.message : ''}
      </div>
      {asking && (
        <form className="arrow-text" data-testid="arrow-text" onSubmit={(e) => { e.preventDefault(); answer(text.trim()); }}>
          <label>
            Arrow text{' '}
            <input ref={inputRef} value={text} maxLength={200} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => { if (e.key === 'Escape') answer(''); }} />
          </label>
          <button type="submit">OK</button>
          <button type="button" onClick={() => answer('')}>Cancel</button>
        </form>
      )}
    </section>
  );
}
