/**
 * The administrator's accounts screen: every account with its role and state, a form to add one, and per account
 * enable/disable and password reset. Each change is audited by the host (Security Alert 110136/110137 naming the
 * admin). The host refuses these calls to anyone but an admin; this screen is only shown to admins.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { ApiClient, Role, UserSummary } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';

const ROLE_LABEL: Record<Role, string> = { radiologist: 'Radiologist', admin: 'Administrator', compliance: 'Compliance officer' };

export function UsersPage({ client, self }: { client: ApiClient; self: string }) {
  const [users, setUsers] = useState<UserSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setUsers(await client.invoke('users.list', {}));
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [client]);
  useEffect(() => { void load(); }, [load]);
  useEffect(() => client.on('users.changed', () => void load()), [client, load]);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      setNotice(what);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const reset = (u: UserSummary) => {
    const pw = window.prompt(`New password for ${u.username} (10+ characters). Their sessions end now.`);
    if (pw) void act(`Password reset for ${u.username}.`, () => client.invoke('users.resetPassword', { username: u.username, newPassword: pw }));
  };

  return (
    <div className="users-page" data-testid="users-page">
      <h2>Accounts</h2>
      <table className="audit-table users-table" data-testid="users-table">
        <thead><tr><th>Username</th><th>Name</th><th>Role</th><th>State</th><th>Last sign-in</th><th /></tr></thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.username} data-testid="user-row" data-username={u.username} data-disabled={String(u.disabled)}>
              <td className="mono">{u.username}</td>
              <td>{u.displayName}</td>
              <td>{ROLE_LABEL[u.role]}</td>
              <td>{u.disabled ? <span className="badge bad">disabled</span> : 'enabled'}</td>
              <td className="mono">{u.lastSignInUtc?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '—'}</td>
              <td><div className="row-actions">
                {u.username !== self && (
                  <button type="button" data-testid="user-toggle" onClick={() => void act(`${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`, () => client.invoke('users.setDisabled', { username: u.username, disabled: !u.disabled }))}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                )}
                <button type="button" data-testid="user-reset" onClick={() => reset(u)}>Reset password</button>
              </div></td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && <p className="error" role="alert" data-testid="users-error">{error}</p>}
      {notice && !error && <p className="muted" data-testid="users-notice">{notice}</p>}
      <AddUserForm onAdd={(u) => act(`Added ${u.username} (${ROLE_LABEL[u.role]}).`, () => client.invoke('users.add', u))} />
    </div>
  );
}

function AddUserForm({ onAdd }: { onAdd: (u: { username: string; displayName: string; role: Role; password: string }) => Promise<void> }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('radiologist');
  const [password, setPassword] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await onAdd({ username: username.trim(), displayName: displayName.trim() || username.trim(), role, password });
    setUsername('');
    setDisplayName('');
    setPassword('');
  };
  return (
    <form className="add-user" onSubmit={(e) => void submit(e)} data-testid="add-user-form">
      <h3>Add an account</h3>
      <label>Username<input data-testid="add-username" value={username} onChange={(e) => setUsername(e.target.value)} placeholder="e.g. j.smith" required /></label>
      <label>Full name<input data-testid="add-display-name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} placeholder="Dr Jane Smith" /></label>
      <label>Role
        <select data-testid="add-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {(Object.keys(ROLE_LABEL) as Role[]).map((r) => <option key={r} value={r}>{ROLE_LABEL[r]}</option>)}
        </select>
      </label>
      <label>Initial password<input data-testid="add-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} minLength={10} required /></label>
      <button type="submit" className="primary" data-testid="add-submit">Add</button>
    </form>
  );
}
