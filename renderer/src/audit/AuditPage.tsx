/**
 * Audit review for the compliance officer: the tamper-evident audit log as a table, filtered by event type
 * and study UID, paged backwards from the newest event, with a "Verify chain" button that re-checks the
 * hash chain and shows "intact" or the first broken row.
 */
import { Fragment, useCallback, useEffect, useState } from 'react';
import type { ApiClient, AuditEvent, AuditVerifyResult } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';

const PAGE_SIZE = 50;

/** DICOM audit event IDs (DCM 1101xx) a workstation writes; codes seen in the log are added to the filter. */
const KNOWN_EVENT_CODES: Record<string, string> = {
  '110100': 'Application Activity',
  '110101': 'Audit Log Used',
  '110103': 'DICOM Instances Accessed',
  '110104': 'DICOM Instances Transferred',
  '110106': 'Export',
  '110107': 'Import',
  '110110': 'Patient Record',
  '110112': 'Query',
  '110113': 'Security Alert',
  '110114': 'User Authentication',
};

const OUTCOME_LABEL: Record<AuditEvent['outcome'], string> = {
  success: 'success',
  'minor-failure': 'minor failure',
  'serious-failure': 'serious failure',
  'major-failure': 'major failure',
};

export function AuditPage({ client }: { client: ApiClient }) {
  const [eventCode, setEventCode] = useState('');
  const [studyUid, setStudyUid] = useState('');
  const [appliedStudyUid, setAppliedStudyUid] = useState('');
  /** beforeSeq cursors of the pages above the current one; the current page's cursor is last. */
  const [cursors, setCursors] = useState<Array<number | undefined>>([undefined]);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<AuditVerifyResult | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [seenCodes, setSeenCodes] = useState<Record<string, string>>({});
  const [expanded, setExpanded] = useState<number | null>(null);

  const beforeSeq = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const res = await client.invoke('audit.list', {
        limit: PAGE_SIZE,
        ...(beforeSeq !== undefined ? { beforeSeq } : {}),
        ...(eventCode ? { eventCode } : {}),
        ...(appliedStudyUid ? { participantId: appliedStudyUid } : {}),
      });
      setEvents(res.events);
      setTotal(res.total);
      setSeenCodes((prev) => {
        const next = { ...prev };
        for (const e of res.events) next[e.eventId.code] ??= e.eventId.meaning;
        return next;
      });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  }, [client, beforeSeq, eventCode, appliedStudyUid]);

  useEffect(() => { void load(); }, [load]);

  // New events arrive at the top: refresh only when looking at the newest page.
  useEffect(() => client.on('audit.appended', () => { if (cursors.length === 1) void load(); }), [client, cursors.length, load]);

  const resetPaging = () => setCursors([undefined]);
  const codes = { ...KNOWN_EVENT_CODES, ...seenCodes };
  const pageIndex = cursors.length - 1;
  const oldest = events[events.length - 1];

  async function runVerify() {
    setVerifying(true);
    setVerify(null);
    try {
      setVerify(await client.invoke('audit.verify', {}));
    } catch (e) {
      setVerify({ ok: false, rows: 0, firstBroken: { seq: -1, reason: `verification failed: ${errorMessage(e)}` } });
    } finally {
      setVerifying(false);
    }
  }

  return (
    <div className="audit-page">
      <form className="audit-filters" onSubmit={(e) => { e.preventDefault(); setAppliedStudyUid(studyUid.trim()); resetPaging(); }}>
        <label>
          Event type
          <select data-testid="audit-filter-event" value={eventCode} onChange={(e) => { setEventCode(e.target.value); resetPaging(); }}>
            <option value="">All events</option>
            {Object.entries(codes).sort(([a], [b]) => a.localeCompare(b)).map(([code, meaning]) => (
              <option key={code} value={code}>{`${code} ${meaning}`}</option>
            ))}
          </select>
        </label>
        <label>
          Study UID
          <input data-testid="audit-filter-study" type="search" value={studyUid} placeholder="1.2.840…" onChange={(e) => setStudyUid(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
        <button type="button" data-testid="audit-refresh" onClick={() => void load()}>Refresh</button>
        <span className="spacer" />
        <button type="button" data-testid="audit-verify" onClick={() => void runVerify()} disabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify chain'}
        </button>
        {verify && <VerifyResult r={verify} />}
      </form>
      {error && <div className="error" role="alert">{error}</div>}
      <div className="audit-paging">
        <span data-testid="audit-total">{loading ? 'Loading…' : `${total} event${total === 1 ? '' : 's'}`}{pageIndex > 0 ? ` · page ${pageIndex + 1}` : ''}</span>
        <button type="button" disabled={pageIndex === 0} onClick={() => setCursors([undefined])}>Newest</button>
        <button type="button" disabled={pageIndex === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>‹ Newer</button>
        <button type="button" data-testid="audit-older" disabled={!oldest || events.length < PAGE_SIZE} onClick={() => oldest && setCursors((c) => [...c, oldest.seq])}>Older ›</button>
      </div>
      <div className="audit-table-wrap">
        <table className="audit-table" data-testid="audit-table">
          <thead>
            <tr>
              <th>Seq</th><th>Time (UTC)</th><th>Event</th><th>Action</th><th>Outcome</th><th>User</th><th>Workstation</th><th>Participants</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <Fragment key={e.seq}>
                <tr
                  data-testid="audit-row"
                  data-seq={e.seq}
                  data-event-code={e.eventId.code}
                  className={`${verify?.firstBroken?.seq === e.seq ? 'broken' : ''} outcome-${e.outcome}`}
                  onClick={() => setExpanded(expanded === e.seq ? null : e.seq)}
                >
                  <td className="num">{e.seq}</td>
                  <td className="mono">{e.timeUtc.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')}</td>
                  <td>{e.eventId.meaning}{e.eventTypeCode ? ` — ${e.eventTypeCode.meaning}` : ''}</td>
                  <td>{e.action}</td>
                  <td>{OUTCOME_LABEL[e.outcome] ?? e.outcome}</td>
                  <td>{e.userId} <span className="muted">({e.userRole})</span></td>
                  <td>{e.workstation}</td>
                  <td className="mono participants">{e.participants.map((p) => `${p.type}: ${p.id}`).join('\n')}</td>
                </tr>
                {expanded === e.seq && (
                  <tr className="audit-detail">
                    <td colSpan={8}>
                      <pre>{JSON.stringify({ details: e.details, prevHash: e.prevHash, entryHash: e.entryHash }, null, 2)}</pre>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
            {!loading && events.length === 0 && (
              <tr><td colSpan={8} className="muted">No audit events match.</td></tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function VerifyResult({ r }: { r: AuditVerifyResult }) {
  if (r.ok) {
    return <span className="verify ok" data-testid="audit-verify-result" data-ok="true" role="status">✔ Chain intact ({r.rows} rows)</span>;
  }
  return (
    <span className="verify broken" data-testid="audit-verify-result" data-ok="false" role="alert">
      ✘ Chain broken{r.firstBroken && r.firstBroken.seq >= 0 ? ` at row ${r.firstBroken.seq}` : ''}: {r.firstBroken?.reason ?? 'unknown reason'} ({r.rows} rows checked)
    </span>
  );
}
