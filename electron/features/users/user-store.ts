/**
 * Local user accounts and their sign-in sessions.
 *
 * Accounts live in their own SQLite file (dataDir/users.sqlite): username, display name, role, an argon2id hash
 * (the `argon2` package; OWASP's parameters: 19 MiB, 2 passes, 1 lane), disabled flag, and the failed-sign-in
 * counter with its lock. No password or hash ever leaves this module.
 *
 * Sessions are held in memory only (a restart signs everyone out): a random 256-bit token, kept under its
 * SHA-256, ends after `idleMs` without use or `absoluteMs` after sign-in, whichever comes first. Every
 * authentication re-reads the account, so disabling a user or changing their role (from the UI or from the CLI in
 * another process) ends their sessions at their next call.
 *
 * Failed sign-ins: after `lockout.threshold` consecutive failures an account is locked for base·2^k (capped at
 * `maxMs`); while locked, even the right password is refused without being checked. Unknown usernames get the same
 * treatment from a bounded in-memory table and the same answer, and their password is checked against a dummy hash
 * so the reply takes as long: a caller cannot tell which usernames exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import argon2 from 'argon2';
import { openDatabase, type Db, type Migration } from '../../node/store/sqlite.js';
import type { Principal } from '../../node/router/call-context.js';
import type { Role, SessionInfo, UserSummary } from './api.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users with argon2id hashes and sign-in lockout counters',
    sql: `
CREATE TABLE users (
  username TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('radiologist', 'admin', 'compliance')),
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_utc TEXT NOT NULL,
  updated_utc TEXT NOT NULL,
  last_sign_in_utc TEXT,
  failed_count INTEGER NOT NULL DEFAULT 0,
  locked_until_ms INTEGER NOT NULL DEFAULT 0
);`,
  },
];

interface UserRow {
  username: string;
  display_name: string;
  role: Role;
  password_hash: string;
  disabled: number;
  created_utc: string;
  updated_utc: string;
  last_sign_in_utc: string | null;
  failed_count: number;
  locked_until_ms: number;
}

export interface HashOptions {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id minimum: m = 19 MiB, t = 2, p = 1. */
export const DEFAULT_HASH_OPTIONS: HashOptions = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface UserStoreOptions {
  now?: () => number;
  hash?: HashOptions;
  session?: { idleMs: number; absoluteMs: number };
  lockout?: { threshold: number; baseMs: number; maxMs: number };
}

export const DEFAULT_SESSION = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };
export const DEFAULT_LOCKOUT = { threshold: 5, baseMs: 30_000, maxMs: 15 * 60_000 };

/** Why a sign-in was refused (the audit log gets the reason; the caller gets one answer for all but 'locked'). */
export type SignInRefusal = 'unknown-user' | 'wrong-password' | 'disabled' | 'locked';

export type SignInOutcome =
  | { ok: true; user: UserSummary }
  | { ok: false; reason: SignInRefusal; failedCount: number; retryAfterMs: number; role?: Role };

export class UserError extends Error {
  constructor(
    readonly code: 'E_USER_EXISTS' | 'E_NO_USER' | 'E_SETUP_DONE' | 'E_LAST_ADMIN',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

interface Session {
  id: string;
  username: string;
  createdMs: number;
  lastSeenMs: number;
}

const UNKNOWN_TABLE_MAX = 1000;

function toSummary(r: UserRow): UserSummary {
  return { username: r.username, displayName: r.display_name, role: r.role, disabled: r.disabled !== 0, createdUtc: r.created_utc, lastSignInUtc: r.last_sign_in_utc };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class UserStore {
  private readonly now: () => number;
  private readonly hashOptions: HashOptions;
  private readonly sessionPolicy: { idleMs: number; absoluteMs: number };
  private readonly lockout: { threshold: number; baseMs: number; maxMs: number };
  private readonly sessions = new Map<string, Session>();
  /** Failure counters of usernames that do not exist (bounded; oldest dropped first). */
  private readonly unknown = new Map<string, { count: number; lockedUntilMs: number }>();
  private dummyHash: Promise<string> | null = null;

  private constructor(
    private readonly db: Db,
    opts: UserStoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.hashOptions = opts.hash ?? DEFAULT_HASH_OPTIONS;
    this.sessionPolicy = opts.session ?? DEFAULT_SESSION;
    this.lockout = opts.lockout ?? DEFAULT_LOCKOUT;
  }

  static open(dataDir: string, opts: UserStoreOptions = {}): UserStore {
    return new UserStore(openDatabase(join(dataDir, 'users.sqlite'), MIGRATIONS), opts);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  list(): UserSummary[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toSummary);
  }

  get(username: string): UserSummary | undefined {
    const r = this.row(username);
    return r ? toSummary(r) : undefined;
  }

  private row(username: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
  }

  private hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, ...this.hashOptions });
  }

  /** Adds an account; `onlyIfEmpty` makes it the first-run administrator (refused once any account exists). */
  async add(u: { username: string; displayName: string; role: Role; password: string }, opts: { onlyIfEmpty?: boolean } = {}): Promise<UserSummary> {
    const hash = await this.hash(u.password);
    const iso = new Date(this.now()).toISOString();
    return this.db.transaction((): UserSummary => {
      if (opts.onlyIfEmpty && this.count() > 0) throw new UserError('E_SETUP_DONE', 'The administrator has already been created: sign in instead');
      if (this.row(u.username)) throw new UserError('E_USER_EXISTS', `User ${u.username} already exists`);
      this.db
        .prepare('INSERT INTO users (username, display_name, role, password_hash, created_utc, updated_utc) VALUES (?, ?, ?, ?, ?, ?)')
        .run(u.username, u.displayName, u.role, hash, iso, iso);
      return toSummary(this.row(u.username)!);
    }).immediate();
  }

  /** Disables or re-enables an account; disabling ends its sessions. The last enabled admin cannot be disabled. */
  setDisabled(username: string, disabled: boolean): UserSummary {
    const r = this.require(username);
    if (disabled && r.role === 'admin' && r.disabled === 0) {
      const admins = (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0").get() as { n: number }).n;
      if (admins <= 1) throw new UserError('E_LAST_ADMIN', 'This is the only enabled administrator: add another before disabling it');
    }
    this.db.prepare('UPDATE users SET disabled = ?, updated_utc = ? WHERE username = ?').run(disabled ? 1 : 0, new Date(this.now()).toISOString(), username);
    if (disabled) this.endSessionsOf(username);
    return toSummary(this.require(username));
  }

  /** Sets a new password, clears the lock and ends the account's sessions. */
  async setPassword(username: string, password: string): Promise<UserSummary> {
    this.require(username);
    const hash = await this.hash(password);
    this.db
      .prepare('UPDATE users SET password_hash = ?, failed_count = 0, locked_until_ms = 0, updated_utc = ? WHERE username = ?')
      .run(hash, new Date(this.now()).toISOString(), username);
    this.endSessionsOf(username);
    return toSummary(this.require(username));
  }

  private require(username: string): UserRow {
    const r = this.row(username);
    if (!r) throw new UserError('E_NO_USER', `No user ${username}`);
    return r;
  }

  private lockFor(count: number): number {
    if (count < this.lockout.threshold) return 0;
    return Math.min(this.lockout.maxMs, this.lockout.baseMs * 2 ** (count - this.lockout.threshold));
  }

  /** Checks a password, applying the lockout; counts failures and clears them on success. */
  async checkPassword(username: string, password: string): Promise<SignInOutcome> {
    const t = this.now();
    const r = this.row(username);
    if (!r) {
      const entry = this.unknown.get(username) ?? { count: 0, lockedUntilMs: 0 };
      if (entry.lockedUntilMs > t) return { ok: false, reason: 'locked', failedCount: entry.count, retryAfterMs: entry.lockedUntilMs - t };
      this.dummyHash ??= this.hash(randomBytes(16).toString('hex'));
      await argon2.verify(await this.dummyHash, password).catch(() => false);
      entry.count++;
      entry.lockedUntilMs = t + this.lockFor(entry.count);
      this.unknown.delete(username);
      this.unknown.set(username, entry);
      while (this.unknown.size > UNKNOWN_TABLE_MAX) this.unknown.delete(this.unknown.keys().next().value!);
      return { ok: false, reason: 'unknown-user', failedCount: entry.count, retryAfterMs: entry.lockedUntilMs - t };
    }
    if (r.locked_until_ms > t) return { ok: false, reason: 'locked', failedCount: r.failed_count, retryAfterMs: r.locked_until_ms - t, role: r.role };
    const good = await argon2.verify(r.password_hash, password).catch(() => false);
    if (good && r.disabled === 0) {
      this.db.prepare('UPDATE users SET failed_count = 0, locked_until_ms = 0, last_sign_in_utc = ? WHERE username = ?').run(new Date(t).toISOString(), username);
      return { ok: true, user: toSummary(this.require(username)) };
    }
    if (good) return { ok: false, reason: 'disabled', failedCount: r.failed_count, retryAfterMs: 0, role: r.role };
    const count = r.failed_count + 1;
    const lockedUntil = t + this.lockFor(count);
    this.db.prepare('UPDATE users SET failed_count = ?, locked_until_ms = ? WHERE username = ?').run(count, lockedUntil, username);
    return { ok: false, reason: 'wrong-password', failedCount: count, retryAfterMs: lockedUntil - t, role: r.role };
  }

  /** Starts a session for a user who just proved their password. Returns the token (for the transport only). */
  createSession(username: string): { token: string; info: SessionInfo; sessionId: string } {
    const token = randomBytes(32).toString('base64url');
    const key = sha256(token);
    const t = this.now();
    this.db.prepare('UPDATE users SET last_sign_in_utc = ? WHERE username = ?').run(new Date(t).toISOString(), username);
    const session: Session = { id: key.slice(0, 16), username, createdMs: t, lastSeenMs: t };
    this.sessions.set(key, session);
    return { token, info: this.info(session, this.require(username)), sessionId: session.id };
  }

  private info(s: Session, r: UserRow): SessionInfo {
    return {
      username: r.username,
      displayName: r.display_name,
      role: r.role,
      expiresUtc: new Date(s.createdMs + this.sessionPolicy.absoluteMs).toISOString(),
      idleExpiresUtc: new Date(s.lastSeenMs + this.sessionPolicy.idleMs).toISOString(),
    };
  }

  /** The session's user, or null when the token is unknown, expired, or its account disabled. Touches the session. */
  authenticate(token: string): Principal | null {
    const found = this.lookup(token);
    if (!found) return null;
    found.session.lastSeenMs = this.now();
    return { userId: found.row.username, role: found.row.role, displayName: found.row.display_name, sessionId: found.session.id };
  }

  /** The session's info without touching it (null when invalid). */
  sessionInfo(token: string): SessionInfo | null {
    const found = this.lookup(token);
    return found ? this.info(found.session, found.row) : null;
  }

  private lookup(token: string): { session: Session; row: UserRow } | null {
    const key = sha256(token);
    const s = this.sessions.get(key);
    if (!s) return null;
    const t = this.now();
    const row = this.row(s.username);
    if (!row || row.disabled !== 0 || t - s.lastSeenMs > this.sessionPolicy.idleMs || t - s.createdMs >= this.sessionPolicy.absoluteMs) {
      this.sessions.delete(key);
      return null;
    }
    return { session: s, row };
  }

  /** Ends one session; returns its user when it existed. */
  endSession(token: string): string | null {
    const key = sha256(token);
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    return s?.username ?? null;
  }

  endSessionsOf(username: string): void {
    for (const [k, s] of this.sessions) if (s.username === username) this.sessions.delete(k);
  }

  close(): void {
    this.sessions.clear();
    if (this.db.open) this.db.close();
  }
}
