/**
 * The banner every signed-in user sees while the audit chain has a break no admin has acknowledged: what broke and
 * when it was found. An admin can acknowledge it here with a note (audited); everyone else is told to call one.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, ChainStatus } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';

export function ChainBanner({ client, isAdmin }: { client: ApiClient; isAdmin: boolean }) {
  const [chain, setChain] = useState<ChainStatus | null>(null);
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => { client.invoke('audit.chainStatus', {}).then(setChain, () => undefined); }, [client]);
  useEffect(load, [load]);
  useEffect(() => client.on('audit.appended', load), [client, load]);
  const open = chain?.unacknowledged[0];
  if (!open) return null;
  const ack = async () => {
    try {
      setChain(await client.invoke('audit.acknowledgeBreak', { id: open.id, note: note.trim() }));
      setNote('');
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div className="chain-banner" role="alert" data-testid="chain-banner">
      <strong>Audit log tampering detected.</strong>
      <span>Row {open.firstBrokenSeq}: {open.reason} (found {open.detectedUtc.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}).</span>
      {isAdmin ? (
        <>
          <input data-testid="chain-ack-note" value={note} placeholder="What was done (required)" onChange={(e) => setNote(e.target.value)} />
          <button type="button" data-testid="chain-ack" disabled={note.trim().length < 3} onClick={() => void ack()}>Acknowledge</button>
        </>
      ) : (
        <span>Tell your administrator; this notice stays until they acknowledge it.</span>
      )}
      {error && <span className="error">{error}</span>}
    </div>
  );
}
