/**
 * Compliance review (compliance officers and admins): the tamper-evident audit log filtered by time range, user,
 * patient or study (ID / UID prefix), event type and outcome, paged backwards from the newest event; a row's
 * details as labelled fields; the chain's live status (re-checked as events arrive) with "Verify now"; and exports
 * of the filtered range as DICOM ATNA XML, FHIR R5 AuditEvent Bundle or CSV. The host audits the viewing (110101)
 * and every export (110106).
 */
import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient, AuditEvent, AuditFacets, ChainStatus, ExportFormat } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';
import { EventsPerDay, type DayCount } from './EventsPerDay.js';

const PAGE_SIZE = 50;

const OUTCOME_LABEL: Record<AuditEvent['outcome'], string> = {
  success: 'success',
  'minor-failure': 'minor failure',
  'serious-failure': 'serious failure',
  'major-failure': 'major failure',
};

interface Filter {
  from: string;
  to: string;
  userId: string;
  participant: string;
  eventCode: string;
  outcome: string;
}
const EMPTY: Filter = { from: '', to: '', userId: '', participant: '', eventCode: '', outcome: '' };

/** `<input type="datetime-local">` value (UTC, as the log is) → ISO 8601 with Z. */
const isoUtc = (local: string): string | undefined => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : undefined);

function request(f: Filter) {
  return {
    ...(f.from ? { fromUtc: isoUtc(f.from) } : {}),
    ...(f.to ? { toUtc: isoUtc(f.to) } : {}),
    ...(f.userId ? { userId: f.userId } : {}),
    ...(f.participant.trim() ? { participant: f.participant.trim() } : {}),
    ...(f.eventCode ? { eventCode: f.eventCode } : {}),
    ...(f.outcome ? { outcome: f.outcome as AuditEvent['outcome'] } : {}),
  };
}

export function AuditPage({ client }: { client: ApiClient }) {
  const [draft, setDraft] = useState<Filter>(EMPTY);
  const [applied, setApplied] = useState<Filter>(EMPTY);
  /** beforeSeq cursors of the pages above the current one; the current page's cursor is last. */
  const [cursors, setCursors] = useState<Array<number | undefined>>([undefined]);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [facets, setFacets] = useState<AuditFacets>({ events: [], users: [] });
  const [expanded, setExpanded] = useState<number | null>(null);
  const [chain, setChain] = useState<ChainStatus | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [exported, setExported] = useState<string | null>(null);
  const [perDay, setPerDay] = useState<DayCount[]>([]);

  const beforeSeq = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const res = await client.invoke('audit.search', { ...request(applied), limit: PAGE_SIZE, ...(beforeSeq !== undefined ? { beforeSeq } : {}) });
      setEvents(res.events);
      setTotal(res.total);
      if (beforeSeq === undefined) client.invoke('audit.perDay', request(applied)).then(setPerDay, () => undefined);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  }, [client, beforeSeq, applied]);

  const loadChain = useCallback(async () => {
    try {
      setChain(await client.invoke('audit.chainStatus', {}));
    } catch {
      /* shown as unknown */
    }
  }, [client]);

  useEffect(() => { void load(); }, [load]);
  const loadFacets = useCallback(() => { client.invoke('audit.facets', {}).then(setFacets, () => undefined); }, [client]);
  useEffect(() => { void loadChain(); loadFacets(); }, [loadChain, loadFacets]);

  // New events: the chain status follows at once; the table refreshes when showing the newest page (debounced).
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => client.on('audit.appended', () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void loadChain();
      loadFacets();
      if (cursors.length === 1) void load();
    }, 300);
  }), [client, cursors.length, load, loadChain, loadFacets]);
  useEffect(() => () => { if (timer.current) clearTimeout(timer.current); }, []);

  const apply = (f: Filter) => {
    setApplied(f);
    setCursors([undefined]);
  };
  const pageIndex = cursors.length - 1;
  const oldest = events[events.length - 1];

  async function verifyNow() {
    setVerifying(true);
    try {
      setChain(await client.invoke('audit.verifyNow', {}));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setVerifying(false);
    }
  }

  async function exportAs(format: ExportFormat) {
    setError(null);
    try {
      const x = await client.invoke('audit.export', { ...request(applied), format });
      const url = URL.createObjectURL(new Blob([x.text], { type: x.contentType }));
      const a = document.createElement('a');
      a.href = url;
      a.download = x.filename;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExported(`Exported ${x.count} event${x.count === 1 ? '' : 's'} as ${format.toUpperCase()} (${x.filename}, sha256 ${x.sha256.slice(0, 12)}…)`);
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  const set = (k: keyof Filter) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));

  return (
    <div className="audit-page">
      <div className="audit-head">
        <h2>Compliance review</h2>
        <ChainBadge chain={chain} />
        <button type="button" data-testid="audit-verify" onClick={() => void verifyNow()} disabled={verifying}>{verifying ? 'Verifying…' : 'Verify now'}</button>
        <span className="spacer" />
        <span className="muted">Export filtered events:</span>
        <button type="button" data-testid="audit-export-atna" onClick={() => void exportAs('atna')}>DICOM ATNA</button>
        <button type="button" data-testid="audit-export-fhir" onClick={() => void exportAs('fhir')}>FHIR R5</button>
        <button type="button" data-testid="audit-export-csv" onClick={() => void exportAs('csv')}>CSV</button>
      </div>
      <form className="audit-filters" onSubmit={(e) => { e.preventDefault(); apply(draft); }} data-testid="audit-filters">
        <label>From (UTC)<input type="datetime-local" data-testid="audit-filter-from" value={draft.from} onChange={set('from')} /></label>
        <label>To (UTC)<input type="datetime-local" data-testid="audit-filter-to" value={draft.to} onChange={set('to')} /></label>
        <label>User
          <select data-testid="audit-filter-user" value={draft.userId} onChange={set('userId')}>
            <option value="">Anyone</option>
            {facets.users.map((u) => <option key={u.userId} value={u.userId}>{`${u.userId} (${u.userRole})`}</option>)}
          </select>
        </label>
        <label>Patient ID / Study UID
          <input type="search" data-testid="audit-filter-study" value={draft.participant} placeholder="ID or UID prefix, e.g. 1.2.840…" onChange={set('participant')} />
        </label>
        <label>Event
          <select data-testid="audit-filter-event" value={draft.eventCode} onChange={(e) => { const f = { ...draft, eventCode: e.target.value }; setDraft(f); apply(f); }}>
            <option value="">All events</option>
            {facets.events.map((c) => <option key={c.code} value={c.code}>{`${c.code} ${c.meaning} (${c.count})`}</option>)}
          </select>
        </label>
        <label>Outcome
          <select data-testid="audit-filter-outcome" value={draft.outcome} onChange={set('outcome')}>
            <option value="">Any</option>
            {Object.entries(OUTCOME_LABEL).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
          </select>
        </label>
        <button type="submit" className="primary" data-testid="audit-apply">Apply</button>
        <button type="button" onClick={() => { setDraft(EMPTY); apply(EMPTY); }}>Clear</button>
      </form>
      <EventsPerDay data={perDay} />
      {error && <div className="error" role="alert" data-testid="audit-error">{error}</div>}
      {exported && <div className="muted" data-testid="audit-exported">{exported}</div>}
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
              <th>Seq</th><th>Time (UTC)</th><th>Event</th><th>Action</th><th>Outcome</th><th>User</th><th>Workstation</th><th>Patient / study / object</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <Fragment key={e.seq}>
                <tr
                  data-testid="audit-row"
                  data-seq={e.seq}
                  data-event-code={e.eventId.code}
                  data-event-type={e.eventTypeCode?.code ?? ''}
                  data-user={e.userId}
                  className={`${chain?.firstBroken?.seq === e.seq ? 'broken' : ''} outcome-${e.outcome}`}
                  onClick={() => setExpanded(expanded === e.seq ? null : e.seq)}
                >
                  <td className="num">{e.seq}</td>
                  <td className="mono">{e.timeUtc.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')}</td>
                  <td>{e.eventId.meaning}{e.eventTypeCode ? ` — ${e.eventTypeCode.meaning}` : ''}{typeof e.details.repeatOf === 'number' ? <span className="muted"> (repeat of #{e.details.repeatOf})</span> : null}</td>
                  <td>{e.action}</td>
                  <td>{OUTCOME_LABEL[e.outcome] ?? e.outcome}</td>
                  <td>{e.userId} <span className="muted">({e.userRole})</span></td>
                  <td>{e.workstation}</td>
                  <td className="mono participants">{e.participants.map((p) => `${p.type}: ${p.id}`).join('\n')}</td>
                </tr>
                {expanded === e.seq && (
                  <tr className="audit-detail" data-testid="audit-detail">
                    <td colSpan={8}><Details e={e} /></td>
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

/** The live chain badge: intact (rows, last check), or broken at a row. */
export function ChainBadge({ chain }: { chain: ChainStatus | null }) {
  if (!chain) return <span className="verify" data-testid="audit-verify-result">Chain: checking…</span>;
  const when = chain.checkedUtc.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (chain.ok && chain.checking) return <span className="verify" data-testid="audit-verify-result" data-ok="checking" role="status">Chain: checking… {chain.rows} rows so far</span>;
  if (chain.ok) {
    return <span className="verify ok" data-testid="audit-verify-result" data-ok="true" role="status" title={`last full check ${chain.fullCheckUtc}`}>✔ Chain intact · {chain.rows} rows · checked {when}</span>;
  }
  return (
    <span className="verify broken" data-testid="audit-verify-result" data-ok="false" role="alert">
      ✘ Chain broken at row {chain.firstBroken?.seq}: {chain.firstBroken?.reason}
    </span>
  );
}

/** A row's details as labelled fields (nested values as compact JSON), then its hashes. */
function Details({ e }: { e: AuditEvent }) {
  const fields = Object.entries(e.details).filter(([, v]) => v !== undefined && v !== null);
  const show = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  return (
    <dl className="audit-fields">
      <dt>Event</dt><dd>{e.eventId.code} {e.eventId.meaning} ({e.eventId.system}){e.eventTypeCode ? ` · ${e.eventTypeCode.code} ${e.eventTypeCode.meaning}` : ''}</dd>
      {fields.map(([k, v]) => (
        <Fragment key={k}><dt>{k}</dt><dd className="mono" data-field={k}>{show(v)}</dd></Fragment>
      ))}
      <dt>Previous hash</dt><dd className="mono">{e.prevHash}</dd>
      <dt>Entry hash</dt><dd className="mono">{e.entryHash}</dd>
    </dl>
  );
}
