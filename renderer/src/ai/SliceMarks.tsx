/**
 * The slice indicator along the viewport's right edge: where the current slice is in the stack, and a dot on each
 * slice that has an AI result (grey; red when the detector flagged it). Clicking a dot shows that slice.
 */
import type { ScanResult } from '../../../electron/features/api.js';
import type { ViewportController } from '../viewer/viewport-controller.js';
import { useSlice } from './useSlice.js';

export function SliceMarks({ results, viewport }: { results: ReadonlyMap<string, ScanResult>; viewport: ViewportController | null }) {
  const slice = useSlice(viewport);
  if (!slice || slice.count < 1) return null;
  const pos = (i: number) => `${((i + 0.5) / slice.count) * 100}%`;
  const marks = slice.uids.flatMap((uid, i) => {
    const r = results.get(uid);
    return r ? [{ i, uid, r }] : [];
  });
  const flagged = marks.filter((m) => m.r.flagged).length;
  return (
    <div className="slice-marks" data-testid="slice-marks" aria-label={`${marks.length} of ${slice.count} slices scanned, ${flagged} flagged`}>
      <div className="slice-track" />
      <div className="slice-current" style={{ top: pos(slice.index) }} />
      {marks.map(({ i, uid, r }) => (
        <button
          key={uid} type="button" tabIndex={-1}
          className={r.flagged ? 'slice-mark flagged' : 'slice-mark'} style={{ top: pos(i) }}
          data-testid="slice-mark" data-index={i} data-flagged={String(r.flagged)}
          title={`Im ${i + 1}: ${r.label === 'tumour' ? 'tumour' : 'no tumour'}${r.flagged ? ' · FLAGGED' : ''}`}
          onClick={() => viewport?.goTo(i)}
        />
      ))}
    </div>
  );
}
