/**
 * The PACS tab of the study list: pick a configured endpoint, search it (patient name / ID, date, modality, paging),
 * see each study's state in the local store (local / partial / PACS only), open a study's series, retrieve a series
 * or the whole study with live progress and cancel, and open what arrived in the viewer.
 *
 * Everything goes through the pacs.* API methods; the PACS itself, and its credentials, are only on the services
 * side. Retrievals are server-side jobs announced by `pacs.progress`, so a reload picks them up again (pacs.jobs).
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, LocalState, PacsEndpointInfo, PacsJob, PacsReport, PacsSearchResult, PacsSeries, PacsStudy } from '../../../electron/features/api.js';
import { errorMessage, formatDicomDate, formatPersonName } from '../util.js';

const PAGE = 25;

/** A PACS failure reads best by its own code (UNREACHABLE, HTTP_STATUS, TIMEOUT…), carried in the error's details. */
function pacsErrorText(e: unknown): string {
  const code = (e as { details?: { code?: unknown } } | null)?.details?.code;
  const message = (e as { message?: unknown } | null)?.message;
  return typeof code === 'string' && typeof message === 'string' ? `${code}: ${message}` : errorMessage(e);
}

const LOCAL_LABEL: Record<LocalState, string> = { none: 'PACS only', partial: 'Partial', complete: 'Local' };

export function LocalBadge({ state }: { state: LocalState }) {
  return (
    <span className={`badge pacs-${state}`} data-testid="pacs-local" title={state === 'complete' ? 'All images are in the local store' : state === 'partial' ? 'Some images are in the local store' : 'Not in the local store'}>
      {LOCAL_LABEL[state]}
    </span>
  );
}

interface Filters {
  patientName: string;
  patientId: string;
  studyDate: string;
  modality: string;
}

const EMPTY: Filters = { patientName: '', patientId: '', studyDate: '', modality: '' };

function JobRow({ job, study, onCancel, onOpen, onRetry }: { job: PacsJob; study?: PacsStudy; onCancel: () => void; onOpen: () => void; onRetry: () => void }) {
  const pct = job.expected > 0 ? Math.round((100 * job.done) / job.expected) : 0;
  return (
    <li className={`pacs-job ${job.state}`} data-testid="pacs-job" data-state={job.state}>
      <div className="pacs-job-head">
        <span className="pt-name" title={job.studyInstanceUid}>{formatPersonName(study?.patientName ?? job.patientName) || job.studyInstanceUid}</span>
        <span className="pacs-job-count" data-testid="pacs-job-count">{job.done}/{job.expected || '?'}</span>
      </div>
      <progress max={Math.max(job.expected, 1)} value={job.done} aria-label={`Retrieval ${pct} %`} />
      <div className="pacs-job-foot">
        <span className="pacs-job-state">
          {job.state === 'running' ? `Retrieving… ${(job.bytes / 1048576).toFixed(1)} MB` : job.state === 'complete' ? 'Retrieved' : job.state === 'cancelled' ? 'Cancelled' : 'Failed'}
        </span>
        {job.state === 'running' && <button type="button" data-testid="pacs-cancel" onClick={onCancel}>Cancel</button>}
        {job.state === 'complete' && <button type="button" data-testid="pacs-open" onClick={onOpen}>Open</button>}
        {(job.state === 'failed' || job.state === 'cancelled') && <button type="button" data-testid="pacs-retry" onClick={onRetry}>Retry</button>}
      </div>
      {job.error && <div className="error" role="alert" data-testid="pacs-job-error">{job.error.message}</div>}
    </li>
  );
}

/** An AI report read back from the PACS (DICOM SR written by this workstation): who wrote it, when, what it found. */
function ReportCard({ report }: { report: PacsReport }) {
  const tumour = report.images.filter((i) => i.label === 'tumour').length;
  const flagged = report.images.filter((i) => i.flagged).length;
  return (
    <div className="pacs-report" data-testid="pacs-report">
      <div className="pacs-report-head">
        <span>AI report on PACS</span>
        <span className="badge pacs-none" title="Verification Flag of the SR">{report.verified ? 'verified' : 'unverified'}</span>
      </div>
      <div className="pacs-report-meta">{report.createdUtc.replace('T', ' ').replace('Z', ' UTC')} · {report.software}</div>
      <div className="pacs-report-sum" data-testid="pacs-report-summary">
        {report.images.length} image(s): tumour suspected in {tumour}, flagged by the detector in {flagged}
      </div>
      {report.models.some((m) => !m.trained) && <div className="pacs-report-warn">Development weights: not for clinical reading.</div>}
    </div>
  );
}

/** Sends what is open in the viewer to the chosen PACS: the series' AI results as a DICOM SR, or the series itself. */
function SendOpenSeries({ client, endpointId, seriesInstanceUid }: { client: ApiClient; endpointId: string; seriesInstanceUid: string }) {
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [reports, setReports] = useState<PacsReport[]>([]);
  const loadReports = useCallback(() => {
    client.invoke('pacs.reports', { seriesInstanceUid }).then(setReports, () => setReports([]));
  }, [client, seriesInstanceUid]);
  useEffect(() => { setStatus(null); loadReports(); }, [seriesInstanceUid, endpointId, loadReports]);
  const send = async (what: 'report' | 'series') => {
    setBusy(true);
    setStatus(null);
    try {
      const r = what === 'report'
        ? await client.invoke('pacs.sendReport', { endpointId, seriesInstanceUid })
        : await client.invoke('pacs.storeSeries', { endpointId, seriesInstanceUid });
      setStatus({
        ok: r.failed.length === 0,
        text: what === 'report' ? `AI report stored on the PACS (${r.stored.length} SR)` : `${r.stored.length} image(s) stored${r.failed.length ? `, ${r.failed.length} refused` : ''}`,
      });
      loadReports();
    } catch (e) {
      setStatus({ ok: false, text: pacsErrorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="pacs-send" data-testid="pacs-send">
      <span className="pacs-send-label">Open series</span>
      <button type="button" data-testid="pacs-send-report" disabled={busy || !endpointId} title="Write this series' AI results as a DICOM Structured Report and store it on the PACS" onClick={() => void send('report')}>Send AI report</button>
      <button type="button" data-testid="pacs-send-series" disabled={busy || !endpointId} title="Store this series' images on the PACS" onClick={() => void send('series')}>Send images</button>
      {status && <div className={status.ok ? 'pacs-send-ok' : 'error'} role="status" data-testid="pacs-send-status">{status.text}</div>}
      {reports.slice(0, 1).map((r) => <ReportCard key={r.sopInstanceUid} report={r} />)}
    </div>
  );
}

export function PacsPanel({ client, onOpenStudy, openSeriesUid }: { client: ApiClient; onOpenStudy: (studyInstanceUid: string) => void; openSeriesUid?: string | null }) {
  const [endpoints, setEndpoints] = useState<PacsEndpointInfo[] | null>(null);
  const [endpointId, setEndpointId] = useState('');
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState<PacsSearchResult | null>(null);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<PacsStudy | null>(null);
  const [series, setSeries] = useState<PacsSeries[]>([]);
  const [jobs, setJobs] = useState<PacsJob[]>([]);

  useEffect(() => {
    client.invoke('pacs.endpoints', {}).then(
      (list) => {
        setEndpoints(list);
        setEndpointId((cur) => cur || list[0]?.id || '');
      },
      (e) => setError(pacsErrorText(e)),
    );
    client.invoke('pacs.jobs', {}).then(setJobs, () => { /* none yet */ });
  }, [client]);

  const search = useCallback(async (at: number, quiet = false) => {
    if (!endpointId) return;
    if (!quiet) setSearching(true);
    setError(undefined);
    try {
      const f = Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, v.trim()]).filter(([, v]) => v !== ''));
      const r = await client.invoke('pacs.search', { endpointId, ...f, offset: at, limit: PAGE });
      setResult(r);
      setOffset(at);
    } catch (e) {
      setError(pacsErrorText(e));
      setResult(null); // never leave another search's rows under this one's error
    } finally {
      setSearching(false);
    }
  }, [client, endpointId, filters]);

  const loadSeries = useCallback(async (study: PacsStudy) => {
    try {
      setSeries(await client.invoke('pacs.series', { endpointId, studyInstanceUid: study.studyInstanceUid }));
    } catch (e) {
      setError(pacsErrorText(e));
    }
  }, [client, endpointId]);

  // Live progress; when a job ends, refresh the local markers.
  useEffect(() => client.on('pacs.progress', (job) => {
    setJobs((cur) => [job, ...cur.filter((j) => j.jobId !== job.jobId)]);
    if (job.state !== 'running') {
      void search(offset, true);
      if (selected && selected.studyInstanceUid === job.studyInstanceUid) void loadSeries(selected);
    }
  }), [client, search, offset, selected, loadSeries]);

  const retrieve = useCallback(async (studyInstanceUid: string, seriesInstanceUid?: string) => {
    setError(undefined);
    try {
      await client.invoke('pacs.retrieve', { endpointId, studyInstanceUid, ...(seriesInstanceUid ? { seriesInstanceUid } : {}) });
    } catch (e) {
      setError(pacsErrorText(e));
    }
  }, [client, endpointId]);

  const select = (s: PacsStudy) => {
    if (selected?.studyInstanceUid === s.studyInstanceUid) {
      setSelected(null);
      return;
    }
    setSelected(s);
    setSeries([]);
    void loadSeries(s);
  };

  if (endpoints !== null && endpoints.length === 0) {
    return (
      <section className="pacs-panel" aria-label="PACS">
        <div className="pacs-empty" data-testid="pacs-none">
          No PACS is configured. An administrator adds one with <code>medfedpure pacs add-endpoint</code>.
        </div>
      </section>
    );
  }

  const field = (key: keyof Filters, label: string, placeholder: string) => (
    <label className="pacs-field">
      <span>{label}</span>
      <input value={filters[key]} placeholder={placeholder} data-testid={`pacs-${key}`} onChange={(e) => setFilters({ ...filters, [key]: e.target.value })} />
    </label>
  );
  const studyOf = (uid: string) => result?.studies.find((s) => s.studyInstanceUid === uid);

  return (
    <section className="pacs-panel" aria-label="PACS">
      <form className="pacs-search" onSubmit={(e) => { e.preventDefault(); void search(0); }}>
        <label className="pacs-field wide">
          <span>PACS</span>
          <select value={endpointId} onChange={(e) => { setEndpointId(e.target.value); setResult(null); setSelected(null); setError(undefined); }} data-testid="pacs-endpoint">
            {(endpoints ?? []).map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
          </select>
        </label>
        {field('patientName', 'Patient name', 'DOE* (wildcards)')}
        {field('patientId', 'Patient ID', '')}
        {field('studyDate', 'Date', 'YYYYMMDD[-YYYYMMDD]')}
        {field('modality', 'Modality', 'MR')}
        <div className="pacs-actions">
          <button type="submit" className="active" data-testid="pacs-search" disabled={!endpointId || searching}>{searching ? 'Searching…' : 'Search'}</button>
          <button type="button" onClick={() => setFilters(EMPTY)}>Clear</button>
        </div>
      </form>
      {openSeriesUid && <SendOpenSeries client={client} endpointId={endpointId} seriesInstanceUid={openSeriesUid} />}
      {error && <div className="error" role="alert" data-testid="pacs-error">{error}</div>}
      {jobs.length > 0 && (
        <ul className="pacs-jobs" aria-label="Retrievals">
          {jobs.slice(0, 3).map((j) => (
            <JobRow
              key={j.jobId}
              job={j}
              study={studyOf(j.studyInstanceUid)}
              onCancel={() => void client.invoke('pacs.cancel', { jobId: j.jobId })}
              onOpen={() => onOpenStudy(j.studyInstanceUid)}
              onRetry={() => void retrieve(j.studyInstanceUid, j.requestedSeriesInstanceUid)}
            />
          ))}
        </ul>
      )}
      {result && (
        <div className="study-count" data-testid="pacs-count">
          {result.studies.length === 0 ? 'No studies found' : `${offset + 1}–${offset + result.studies.length}${result.mayHaveMore ? '+' : ''} on the PACS`}
          <span className="pacs-pager">
            <button type="button" className="link" disabled={offset === 0} onClick={() => void search(Math.max(0, offset - PAGE))}>‹ Prev</button>
            <button type="button" className="link" disabled={!result.mayHaveMore} onClick={() => void search(offset + PAGE)}>Next ›</button>
          </span>
        </div>
      )}
      <ul className="studies" aria-label="PACS results">
        {(result?.studies ?? []).map((s) => (
          <li key={s.studyInstanceUid} className={selected?.studyInstanceUid === s.studyInstanceUid ? 'study selected' : 'study'} data-testid="pacs-row" data-study-uid={s.studyInstanceUid}>
            <div role="button" tabIndex={0} onClick={() => select(s)} onKeyDown={(e) => { if (e.key === 'Enter') select(s); }}>
              <div className="study-line1">
                <span className="pt-name">{formatPersonName(s.patientName) || '(no name)'}</span>
                <span className="study-date">{formatDicomDate(s.studyDate)}</span>
              </div>
              <div className="study-line2">
                <span className="pt-id">{s.patientId}</span>
                <span className="study-desc">{s.studyDescription ?? ''}</span>
              </div>
              <div className="study-line3 pacs-line3">
                <span>{s.modalities.join('/')} · {s.seriesCount ?? '?'} series · {s.instanceCount ?? '?'} images</span>
                <LocalBadge state={s.local} />
              </div>
            </div>
            {selected?.studyInstanceUid === s.studyInstanceUid && (
              <div className="pacs-series" data-testid="pacs-series">
                <button type="button" data-testid="pacs-retrieve-study" onClick={() => void retrieve(s.studyInstanceUid)}>Retrieve study</button>
                {series.map((se) => (
                  <div key={se.seriesInstanceUid} className="pacs-series-row" data-testid="pacs-series-row">
                    <span className="pacs-series-desc">#{se.seriesNumber ?? '–'} {se.modality ?? ''} {se.seriesDescription ?? ''} · {se.instanceCount ?? '?'} im</span>
                    <LocalBadge state={se.local} />
                    <button type="button" data-testid="pacs-retrieve-series" disabled={se.modality === 'SR'} title={se.modality === 'SR' ? 'Reports stay on the PACS' : 'Retrieve this series'} onClick={() => void retrieve(s.studyInstanceUid, se.seriesInstanceUid)}>
                      Retrieve
                    </button>
                  </div>
                ))}
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
