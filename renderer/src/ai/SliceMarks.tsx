/**
 * The slice indicator along the viewport's right edge: where the current slice is in the stack, and a dot on each
 * slice that has an AI result: grey when answered, hollow when outside intended use, amber when unlike the training
 * data, red-ringed when the detector flagged it. Clicking a dot shows that slice.
 */
import type { ScanResult } from '../../../electron/features/api.js';
import type { ViewportController } from '../viewer/viewport-controller.js';
import { useSlice } from './useSlice.js';
import { STATE_TEXT } from './format.js';

function markClass(r: ScanResult): string {
  const state = r.state === 'outside-intended-use' ? ' outside' : r.state === 'unlike-training-data' ? ' ood' : '';
  return `slice-mark${state}${r.flagged ? ' flagged' : ''}`;
}

function markTitle(i: number, r: ScanResult): string {
  if (r.state === 'outside-intended-use') return `Im ${i + 1}: ${STATE_TEXT[r.state]}`;
  const label = r.label === 'tumour' ? 'tumour' : 'no tumour';
  return `Im ${i + 1}: ${label}${r.state === 'unlike-training-data' ? ` · ${STATE_TEXT[r.state].toLowerCase()}` : ''}${r.flagged ? ' · detector flag' : ''}`;
}

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
          className={markClass(r)} style={{ top: pos(i) }}
          data-testid="slice-mark" data-index={i} data-flagged={String(r.flagged)} data-state={r.state}
          title={markTitle(i, r)}
          onClick={() => viewport?.goTo(i)}
        />
      ))}
    </div>
  );
}
