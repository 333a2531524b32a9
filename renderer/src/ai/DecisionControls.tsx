/**
 * The radiologist's decision on the AI result of the slice on screen: Accept, Override (corrected label + reason)
 * or Dismiss (reason). Until one is recorded the card says the result is unreviewed: nothing is accepted for the
 * radiologist. A decision made on an earlier scan of the slice is shown as such and asks for a new one. Each decision
 * is audited by the host; accepted and corrected labels become confirmed cases for federated training.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, CaseLabel, Decision, ScanResult } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';
import { labelText } from './format.js';

type Mode = 'idle' | 'override' | 'dismiss';

export function DecisionControls({ client, result }: { client: ApiClient; result: ScanResult }) {
  const [decision, setDecision] = useState<Decision | null>(null);
  const [mode, setMode] = useState<Mode>('idle');
  const [label, setLabel] = useState<CaseLabel>(result.label === 'tumour' ? 'no-tumour' : 'tumour');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const list = await client.invoke('decisions.forSeries', { seriesInstanceUid: result.seriesInstanceUid });
      setDecision(list.find((d) => d.sopInstanceUid === result.sopInstanceUid) ?? null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [client, result.seriesInstanceUid, result.sopInstanceUid]);

  useEffect(() => {
    setMode('idle');
    setReason('');
    setError(null);
    setLabel(result.label === 'tumour' ? 'no-tumour' : 'tumour');
    void load();
  }, [load, result.createdUtc, result.label]);
  useEffect(() => client.on('decisions.changed', (e) => { if (e.sopInstanceUid === result.sopInstanceUid) void load(); }), [client, load, result.sopInstanceUid]);

  const record = async (action: Decision['action']) => {
    setBusy(true);
    setError(null);
    try {
      const d = await client.invoke('decisions.record', {
        sopInstanceUid: result.sopInstanceUid,
        scanCreatedUtc: result.createdUtc,
        action,
        ...(action === 'override' ? { label } : {}),
        ...(action !== 'accept' ? { reason: reason.trim() } : {}),
      });
      setDecision(d);
      setMode('idle');
      setReason('');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const current = decision && decision.scanCreatedUtc === result.createdUtc ? decision : null;
  const earlier = decision && !current ? decision : null;

  return (
    <div className="decision" data-testid="decision" data-state={current ? current.action : 'unreviewed'}>
      <h4>Your decision</h4>
      {current ? (
        <div className={`decision-status ${current.action}`} data-testid="decision-status">
          <strong>{summary(current)}</strong>
          <span className="muted"> · {current.decidedByName} · {current.decidedUtc.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</span>
          {current.reason && <div className="decision-reason">Reason: {current.reason}</div>}
        </div>
      ) : (
        <div className="decision-status unreviewed" data-testid="decision-status">
          <strong>Not reviewed.</strong> The AI result is not accepted until you decide.
          {earlier && <div className="muted">An earlier scan of this slice was {earlier.action === 'dismiss' ? 'dismissed' : earlier.action === 'accept' ? 'accepted' : 'overridden'} by {earlier.decidedByName}.</div>}
        </div>
      )}
      {mode === 'idle' && (
        <div className="decision-actions">
          <button type="button" data-testid="decision-accept" disabled={busy} onClick={() => void record('accept')} title="Confirm the AI label: it becomes a confirmed case for training">Accept</button>
          <button type="button" data-testid="decision-override" disabled={busy} onClick={() => setMode('override')} title="Record the correct label and why">Override…</button>
          <button type="button" data-testid="decision-dismiss" disabled={busy} onClick={() => setMode('dismiss')} title="Set the result aside (no label), with a reason">Dismiss…</button>
        </div>
      )}
      {mode !== 'idle' && (
        <form className="decision-form" onSubmit={(e) => { e.preventDefault(); void record(mode); }} data-testid="decision-form">
          {mode === 'override' && (
            <label>Correct label
              <select data-testid="decision-label" value={label} onChange={(e) => setLabel(e.target.value as CaseLabel)}>
                {(['tumour', 'no-tumour'] as const).filter((l) => l !== result.label).map((l) => <option key={l} value={l}>{labelText(l)}</option>)}
              </select>
            </label>
          )}
          <label>Reason
            <textarea data-testid="decision-reason" rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3}
              placeholder={mode === 'override' ? 'What the AI missed or saw wrongly' : 'Why this result is set aside'} />
          </label>
          <div className="decision-actions">
            <button type="submit" className="primary" data-testid="decision-confirm" disabled={busy || reason.trim().length < 3}>{mode === 'override' ? 'Record override' : 'Dismiss result'}</button>
            <button type="button" onClick={() => setMode('idle')}>Cancel</button>
          </div>
        </form>
      )}
      {error && <p className="error" role="alert" data-testid="decision-error">{error}</p>}
    </div>
  );
}

function summary(d: Decision): string {
  switch (d.action) {
    case 'accept': return `Accepted: ${labelText(d.finalLabel!)}`;
    case 'override': return `Overridden: ${labelText(d.aiLabel)} → ${labelText(d.finalLabel!)}`;
    case 'dismiss': return 'Dismissed';
  }
}
