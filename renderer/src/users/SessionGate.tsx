/**
 * The sign-in gate in front of the workstation: asks the host who is signed in on this client (`users.session`),
 * and shows the first-run "create the administrator" form, the sign-in form, or the app for the signed-in user.
 * The session itself never reaches this code: the host keeps it in an HttpOnly cookie (browser) or per window
 * (Electron). A call answered UNAUTHORIZED later (session expired, account disabled) brings the sign-in back.
 */
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { ApiClient, AppInfo, SessionInfo } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';

type State = { kind: 'loading' } | { kind: 'setup' } | { kind: 'sign-in'; notice?: string } | { kind: 'signed-in'; session: SessionInfo } | { kind: 'error'; message: string };

export interface SessionControls {
  session: SessionInfo;
  signOut(): void;
  /** Call when a request failed with UNAUTHORIZED: re-checks the session and shows the sign-in if it ended. */
  recheck(): void;
}

export function SessionGate({ client, children }: { client: ApiClient; children: (c: SessionControls) => ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [info, setInfo] = useState<AppInfo | null>(null);

  const check = useCallback(async (notice?: string) => {
    try {
      const s = await client.invoke('users.session', {});
      if (s.session) setState({ kind: 'signed-in', session: s.session });
      else if (s.setupRequired) setState({ kind: 'setup' });
      else setState({ kind: 'sign-in', notice });
    } catch (e) {
      setState({ kind: 'error', message: errorMessage(e) });
    }
  }, [client]);

  useEffect(() => { void check(); }, [check]);
  useEffect(() => { client.invoke('app.info', {}).then(setInfo, () => undefined); }, [client]);

  const signOut = useCallback(() => {
    // Unmount the app first, so nothing it shows asks the host for more after the session ends.
    setState({ kind: 'loading' });
    void client.invoke('users.signOut', {}).finally(() => setState({ kind: 'sign-in', notice: 'Signed out.' }));
  }, [client]);
  const recheck = useCallback(() => { void check('Your session has ended: sign in again.'); }, [check]);

  if (state.kind === 'signed-in') return <>{children({ session: state.session, signOut, recheck })}</>;
  return (
    <div className="sign-in-page">
      <div className="sign-in-card" data-testid="sign-in-card">
        <div className="brand">MedFedPure Workstation</div>
        {info && <div className="muted">{info.workstation} · {info.host} · v{info.version}</div>}
        {state.kind === 'loading' && <p className="muted">Connecting…</p>}
        {state.kind === 'error' && <p className="error" role="alert">{state.message}</p>}
        {state.kind === 'setup' && <SetupForm client={client} onDone={(session) => setState({ kind: 'signed-in', session })} />}
        {state.kind === 'sign-in' && <SignInForm client={client} notice={state.notice} onDone={(session) => setState({ kind: 'signed-in', session })} />}
      </div>
    </div>
  );
}

function SignInForm({ client, notice, onDone }: { client: ApiClient; notice?: string; onDone: (s: SessionInfo) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await client.invoke('users.signIn', { username: username.trim(), password }));
    } catch (err) {
      setError(errorMessage(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="sign-in-form" onSubmit={(e) => void submit(e)} data-testid="sign-in-form">
      <h2>Sign in</h2>
      {notice && <p className="muted" data-testid="sign-in-notice">{notice}</p>}
      <label>Username<input data-testid="sign-in-username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus required /></label>
      <label>Password<input data-testid="sign-in-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
      {error && <p className="error" role="alert" data-testid="sign-in-error">{error}</p>}
      <button type="submit" className="primary" data-testid="sign-in-submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      <p className="muted small">Sign-ins and failed attempts are recorded in the audit log.</p>
    </form>
  );
}

function SetupForm({ client, onDone }: { client: ApiClient; onDone: (s: SessionInfo) => void }) {
  const [username, setUsername] = useState('admin');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== repeat) return setError('The two passwords differ.');
    setError(null);
    try {
      onDone(await client.invoke('users.setupAdmin', { username: username.trim(), displayName: displayName.trim() || username.trim(), password }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <form className="sign-in-form" onSubmit={(e) => void submit(e)} data-testid="setup-form">
      <h2>Create the administrator</h2>
      <p className="muted">No accounts exist yet. The administrator adds the radiologists and compliance officers.</p>
      <label>Username<input data-testid="setup-username" value={username} onChange={(e) => setUsername(e.target.value)} required /></label>
      <label>Full name<input data-testid="setup-display-name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} /></label>
      <label>Password (10+ characters)<input data-testid="setup-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} minLength={10} required /></label>
      <label>Repeat password<input data-testid="setup-repeat" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required /></label>
      {error && <p className="error" role="alert">{error}</p>}
      <button type="submit" className="primary" data-testid="setup-submit">Create and sign in</button>
    </form>
  );
}
