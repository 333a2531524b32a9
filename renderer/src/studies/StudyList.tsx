/** The study list with a search box filtering by patient name / ID, description, accession and date. */
import { useMemo } from 'react';
import type { StudySummary } from '../../../electron/features/api.js';
import { formatDicomDate, formatPersonName } from '../util.js';

export interface StudyListProps {
  studies: StudySummary[];
  query: string;
  onQuery: (q: string) => void;
  selectedUid: string | null;
  onSelect: (study: StudySummary) => void;
  loading: boolean;
  error?: string;
  /** Studies that came from or went to a PACS (study UID → where and how complete), for the "in PACS" marker. */
  pacsMarks?: ReadonlyMap<string, { endpointId: string; local: 'none' | 'partial' | 'complete'; stored: boolean }>;
}

/** True when every whitespace-separated term of `query` is found in the study's searchable text. */
export function studyMatches(study: StudySummary, query: string): boolean {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const date = study.studyDate ?? '';
  const hay = [
    study.patientName, formatPersonName(study.patientName), study.patientId, study.studyDescription ?? '',
    study.accessionNumber ?? '', date, formatDicomDate(date), study.modalities.join(' '),
  ].join(' ').toLowerCase();
  return terms.every((t) => hay.includes(t) || (/^[\d-]+$/.test(t) && date.includes(t.replace(/-/g, ''))));
}

export function StudyList({ studies, query, onQuery, selectedUid, onSelect, loading, error, pacsMarks }: StudyListProps) {
  const shown = useMemo(() => studies.filter((s) => studyMatches(s, query)), [studies, query]);
  return (
    <section className="study-list" aria-label="Studies">
      <input
        type="search"
        className="search"
        placeholder="Search patient, ID, description, date…"
        value={query}
        onChange={(e) => onQuery(e.target.value)}
        data-testid="study-search"
        aria-label="Search studies"
      />
      {error && <div className="error" role="alert">{error}</div>}
      <div className="study-count">{loading ? 'Loading…' : `${shown.length} of ${studies.length} studies`}</div>
      <ul className="studies" role="listbox" aria-label="Study list">
        {shown.map((s) => (
          <li
            key={s.studyInstanceUid}
            role="option"
            aria-selected={s.studyInstanceUid === selectedUid}
            tabIndex={0}
            className={s.studyInstanceUid === selectedUid ? 'study selected' : 'study'}
            data-testid="study-row"
            data-study-uid={s.studyInstanceUid}
            onClick={() => onSelect(s)}
            onKeyDown={(e) => { if (e.key === 'Enter') onSelect(s); }}
          >
            <div className="study-line1">
              <span className="pt-name">{formatPersonName(s.patientName) || '(no name)'}</span>
              <span className="study-date">{formatDicomDate(s.studyDate)}</span>
            </div>
            <div className="study-line2">
              <span className="pt-id">{s.patientId}</span>
              <span className="study-desc">{s.studyDescription ?? ''}</span>
            </div>
            <div className="study-line3 pacs-line3">
              <span>{s.modalities.join('/')} · {s.seriesCount} series · {s.instanceCount} images</span>
              {pacsMarks?.get(s.studyInstanceUid) && <PacsMark mark={pacsMarks.get(s.studyInstanceUid)!} />}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** "In PACS" marker of a local study: retrieved from (complete or partial) and/or stored to a PACS endpoint. */
function PacsMark({ mark }: { mark: { endpointId: string; local: 'none' | 'partial' | 'complete'; stored: boolean } }) {
  const partial = mark.local === 'partial';
  const title = `${partial ? 'Partly retrieved from' : mark.stored && mark.local === 'none' ? 'Stored to' : 'In'} PACS "${mark.endpointId}"${mark.stored ? '; results sent' : ''}`;
  return <span className={`badge ${partial ? 'pacs-partial' : 'pacs-complete'}`} data-testid="study-pacs-mark" title={title}>{partial ? 'PACS · partial' : 'PACS'}</span>;
}
