/**
 * Federated learning page: what this workstation's FL agent is doing (connection, node, current run and round), the
 * round history as a plot and a table, the privacy figures (clipping, local noise, ε/δ spent), the site's controls
 * (pause / resume, opt out / rejoin) and the site policy form (SuperLink, TLS, data source, allowed runs, schedule,
 * thread cap, privacy). Everything goes through the fl.* methods; status and rounds arrive as events.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, FlRound, FlSettings, FlStatus } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';
import { RoundPlot } from './RoundPlot.js';
import './fl.css';

const STATE_LABEL: Record<FlStatus['state'], string> = {
  idle: 'Not connected', connecting: 'Connecting…', connected: 'Connected', training: 'Training', evaluating: 'Evaluating',
  paused: 'Paused', reconnecting: 'Reconnecting…', refused: 'Refused by site policy', stopped: 'Stopped',
};

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** The policy form's text fields. */
interface Form {
  superlink: string;
  rootCaPath: string;
  insecure: boolean;
  dataFolder: string;
  allowedSuperlinks: string;
  allowedRunIds: string;
  schedule: string;
  maxThreads: string;
  maxRoundSeconds: string;
  noiseMultiplier: string;
  defaultClippingNorm: string;
  delta: string;
  maxEpsilon: string;
}

function toForm(s: FlSettings): Form {
  const p = s.policy;
  return {
    superlink: s.superlink, rootCaPath: s.rootCaPath ?? '', insecure: s.insecure, dataFolder: s.dataFolder ?? '',
    allowedSuperlinks: p.allowedSuperlinks.join(', '), allowedRunIds: p.allowedRunIds?.join(', ') ?? '',
    schedule: p.schedule.map((w) => `${w.start}-${w.end}${w.days ? ` days=${w.days.join(',')}` : ''}`).join('\n'),
    maxThreads: String(p.maxThreads), maxRoundSeconds: String(p.maxRoundSeconds),
    noiseMultiplier: String(p.privacy.noiseMultiplier), defaultClippingNorm: p.privacy.defaultClippingNorm === null ? '' : String(p.privacy.defaultClippingNorm),
    delta: String(p.privacy.delta), maxEpsilon: p.privacy.maxEpsilon === null ? '' : String(p.privacy.maxEpsilon),
  };
}

const list = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

/** The form back into settings; throws a message naming the field. */
function fromForm(f: Form, base: FlSettings): FlSettings {
  const number = (v: string, name: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${name} must be a number`);
    return n;
  };
  const schedule = f.schedule.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = /^(\d\d:\d\d)\s*-\s*(\d\d:\d\d)(?:\s+days=([0-6](?:,[0-6])*))?$/.exec(l);
    if (!m) throw new Error(`schedule window "${l}": write HH:MM-HH:MM, optionally days=1,2,3 (0 = Sunday)`);
    return { start: m[1], end: m[2], ...(m[3] ? { days: m[3].split(',').map(Number) } : {}) };
  });
  const superlink = f.superlink.trim();
  const allowed = list(f.allowedSuperlinks);
  const runIds = list(f.allowedRunIds);
  return {
    superlink,
    insecure: f.insecure,
    ...(f.rootCaPath.trim() ? { rootCaPath: f.rootCaPath.trim() } : {}),
    ...(f.dataFolder.trim() ? { dataFolder: f.dataFolder.trim() } : {}),
    policy: {
      ...base.policy,
      // naming a SuperLink with an empty allowed list is the site's consent to that one address
      allowedSuperlinks: allowed.length === 0 && superlink ? [superlink] : allowed,
      allowedRunIds: runIds.length ? runIds : null,
      schedule,
      maxThreads: number(f.maxThreads, 'Thread cap'),
      maxRoundSeconds: number(f.maxRoundSeconds, 'Seconds per round'),
      privacy: {
        noiseMultiplier: number(f.noiseMultiplier, 'Noise multiplier'),
        defaultClippingNorm: f.defaultClippingNorm.trim() ? number(f.defaultClippingNorm, 'Clipping norm') : null,
        delta: number(f.delta, 'δ'),
        maxEpsilon: f.maxEpsilon.trim() ? number(f.maxEpsilon, 'ε budget') : null,
      },
    },
  };
}

export function FlPage({ client }: { client: ApiClient }) {
  const [status, setStatus] = useState<FlStatus | null>(null);
  const [rounds, setRounds] = useState<FlRound[]>([]);
  const [settings, setSettings] = useState<FlSettings | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    client.invoke('fl.status', {}).then(setStatus, (e) => setError(errorMessage(e)));
    client.invoke('fl.history', { limit: 500 }).then(setRounds, (e) => setError(errorMessage(e)));
    client.invoke('fl.settings', {}).then((s) => { setSettings(s); setForm(toForm(s)); }, (e) => setError(errorMessage(e)));
  }, [client]);
  useEffect(() => client.on('fl.status', setStatus), [client]);
  useEffect(() => client.on('fl.round', (r) => setRounds((cur) => [...cur.filter((x) => x.messageId !== r.messageId), r].slice(-500))), [client]);

  const act = useCallback(async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }, []);

  const save = (f: Form, patch: Partial<FlSettings['policy']> = {}) => act(async () => {
    if (!settings) return;
    const next = fromForm(f, settings);
    const s = await client.invoke('fl.saveSettings', { ...next, policy: { ...next.policy, ...patch } });
    setSettings(s);
    setForm(toForm(s));
    setSaved(`Saved ${new Date().toLocaleTimeString()}`);
    setStatus(await client.invoke('fl.status', {}));
  });

  const control = (m: 'fl.pause' | 'fl.resume' | 'fl.optOut') => act(async () => {
    setStatus(await client.invoke(m, {}));
    const s = await client.invoke('fl.settings', {});
    setSettings(s);
    setForm(toForm(s));
  });

  const set = (k: keyof Form) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    setForm((f) => (f ? { ...f, [k]: e.target.type === 'checkbox' ? (e.target as HTMLInputElement).checked : e.target.value } : f));

  const lastTrain = [...rounds].reverse().find((r) => r.kind.startsWith('train') && r.outcome === 'ok');
  const st = status;

  return (
    <div className="fl-page" data-testid="fl-page">
      <section className="fl-card fl-status">
        <h2>Federated learning</h2>
        <div className="fl-state-line">
          <span className={`fl-badge state-${st?.state ?? 'idle'}`} data-testid="fl-state">{st ? STATE_LABEL[st.state] : '…'}</span>
          <span className="mono" data-testid="fl-superlink">{st?.superlink || 'no SuperLink configured'}</span>
        </div>
        <dl className="fl-facts">
          <dt>Node</dt><dd className="mono">{st?.nodeId ?? '—'}</dd>
          <dt>Run</dt><dd className="mono" data-testid="fl-run">{st?.runId ?? '—'}</dd>
          <dt>Round</dt><dd className="mono" data-testid="fl-round">{st?.round ?? '—'}</dd>
          <dt>Rounds done</dt><dd className="mono" data-testid="fl-rounds-done">{st?.roundsDone ?? 0}</dd>
        </dl>
        {st?.lastError && <div className="error" data-testid="fl-last-error">{st.lastError.code}: {st.lastError.message}</div>}
        <div className="fl-controls">
          {st && !st.paused && <button type="button" data-testid="fl-pause" disabled={busy || st.optedOut} onClick={() => void control('fl.pause')}>Pause</button>}
          {st?.paused && <button type="button" data-testid="fl-resume" disabled={busy || st.optedOut} onClick={() => void control('fl.resume')}>Resume</button>}
          {st && !st.optedOut && (
            <button type="button" data-testid="fl-opt-out" disabled={busy}
              onClick={() => { if (window.confirm('Leave the federation? The agent disconnects and takes no more rounds until you rejoin.')) void control('fl.optOut'); }}>
              Opt out
            </button>
          )}
          {st?.optedOut && form && <button type="button" data-testid="fl-rejoin" disabled={busy} onClick={() => void save(form, { optedOut: false })}>Rejoin</button>}
        </div>
        <h3>Privacy</h3>
        <dl className="fl-facts" data-testid="fl-privacy">
          <dt>Clipping norm</dt><dd className="mono">{fmt(lastTrain?.clippingNorm ?? st?.privacy.defaultClippingNorm ?? null)}{lastTrain?.clippingNorm != null ? ' (server)' : st?.privacy.defaultClippingNorm != null ? ' (site default)' : ''}</dd>
          <dt>Last update norm</dt><dd className="mono">{fmt(lastTrain?.updateNorm)}</dd>
          <dt>Local noise σ/C</dt><dd className="mono">{fmt(st?.privacy.noiseMultiplier ?? null, 2)}</dd>
          <dt>ε spent</dt><dd className="mono" data-testid="fl-epsilon">{fmt(st?.privacy.epsilon ?? null, 2)}{st?.privacy.maxEpsilon != null ? ` of ${st.privacy.maxEpsilon}` : ''}</dd>
          <dt>δ</dt><dd className="mono">{st ? st.privacy.delta?.toExponential(0) ?? '—' : '—'}</dd>
          <dt>Noisy releases</dt><dd className="mono">{st?.privacy.releases ?? 0}</dd>
        </dl>
      </section>

      <section className="fl-card fl-history">
        <h3>Round history</h3>
        <RoundPlot rounds={rounds} />
        <div className="fl-table-wrap">
          <table className="fl-table" data-testid="fl-history">
            <thead><tr><th>Time</th><th>Run</th><th>Round</th><th>Kind</th><th>Loss</th><th>Acc.</th><th>n</th><th>Clip</th><th>Noise</th><th>ε</th><th>s</th><th>Outcome</th></tr></thead>
            <tbody>
              {[...rounds].reverse().slice(0, 50).map((r) => (
                <tr key={r.messageId} className={`outcome-${r.outcome}`} data-testid="fl-history-row" title={r.error ?? ''}>
                  <td>{new Date(r.at).toLocaleTimeString()}</td><td className="mono">{r.runId}</td><td className="mono">{r.round}</td><td>{r.kind}</td>
                  <td className="num">{fmt(r.loss)}</td><td className="num">{fmt(r.accuracy)}</td><td className="num">{r.examples}</td>
                  <td className="num">{fmt(r.clippingNorm, 2)}</td><td className="num">{r.kind.startsWith('train') ? fmt(r.noiseMultiplier, 2) : '—'}</td><td className="num">{fmt(r.epsilon, 2)}</td>
                  <td className="num">{r.durationS.toFixed(1)}</td><td>{r.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="fl-card fl-settings">
        <h3>Site policy</h3>
        {form ? (
          <form data-testid="fl-settings" onSubmit={(e) => { e.preventDefault(); void save(form); }}>
            <label>SuperLink (host:port)<input data-testid="fl-input-superlink" value={form.superlink} onChange={set('superlink')} placeholder="federation.example.org:9092" /></label>
            <label>Root CA file (PEM)<input data-testid="fl-input-rootca" value={form.rootCaPath} onChange={set('rootCaPath')} placeholder="system roots" /></label>
            <label className="check"><input type="checkbox" data-testid="fl-input-insecure" checked={form.insecure} onChange={set('insecure')} /> Plain text (local trials only, no TLS)</label>
            <label>Data folder (yes/ no/)<input data-testid="fl-input-data" value={form.dataFolder} onChange={set('dataFolder')} placeholder="confirmed cases of the study store" /></label>
            <label>Allowed SuperLinks<input data-testid="fl-input-allowed" value={form.allowedSuperlinks} onChange={set('allowedSuperlinks')} placeholder="the SuperLink above" /></label>
            <label>Allowed run ids<input data-testid="fl-input-runs" value={form.allowedRunIds} onChange={set('allowedRunIds')} placeholder="any run" /></label>
            <label>Schedule windows<textarea data-testid="fl-input-schedule" rows={2} value={form.schedule} onChange={set('schedule')} placeholder={'any time, or e.g.\n20:00-06:00 days=1,2,3,4,5'} /></label>
            <div className="fl-row">
              <label>Thread cap<input data-testid="fl-input-threads" value={form.maxThreads} onChange={set('maxThreads')} inputMode="numeric" /></label>
              <label>Seconds per round<input value={form.maxRoundSeconds} onChange={set('maxRoundSeconds')} inputMode="decimal" /></label>
            </div>
            <div className="fl-row">
              <label>Noise multiplier<input data-testid="fl-input-noise" value={form.noiseMultiplier} onChange={set('noiseMultiplier')} inputMode="decimal" /></label>
              <label>Clipping norm<input data-testid="fl-input-clip" value={form.defaultClippingNorm} onChange={set('defaultClippingNorm')} placeholder="server's" inputMode="decimal" /></label>
            </div>
            <div className="fl-row">
              <label>δ<input value={form.delta} onChange={set('delta')} inputMode="decimal" /></label>
              <label>ε budget<input value={form.maxEpsilon} onChange={set('maxEpsilon')} placeholder="none" inputMode="decimal" /></label>
            </div>
            <div className="fl-controls">
              <button type="submit" data-testid="fl-save" disabled={busy}>Save and apply</button>
              {saved && <span className="muted" data-testid="fl-saved">{saved}</span>}
            </div>
          </form>
        ) : <div className="muted">Loading…</div>}
        {error && <div className="error" role="alert" data-testid="fl-error">{error}</div>}
      </section>
    </div>
  );
}
