/**
 * The users feature's part of the contract: local accounts (radiologist, admin, compliance officer), sign-in and
 * sign-out, first-run setup of the administrator, and the admin's user management. Runs anywhere.
 *
 * The session token never appears in a response body: the transport keeps it (HTTP: an HttpOnly cookie plus a
 * response header for scripts; Electron: per window in the main process) and presents it with each call.
 */
import { defineFeatureApi, event, method, returns, ROLES, type Role } from '../../common/feature-api.js';
import { ApiError } from '../../common/api-error.js';
import { boolean, object, oneOf, string, type Check } from '../../common/validate.js';

export type { Role } from '../../common/feature-api.js';

/** A user as everyone may see them (no hash, no counters). */
export interface UserSummary {
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdUtc: string;
  /** Last successful sign-in, if any. */
  lastSignInUtc: string | null;
}

/** The caller's own session. */
export interface SessionInfo {
  username: string;
  displayName: string;
  role: Role;
  /** When the session ends even if used (absolute), and when it ends if left idle. */
  expiresUtc: string;
  idleExpiresUtc: string;
}

export interface SessionState {
  /** The signed-in user, or null. */
  session: SessionInfo | null;
  /** No account exists yet: the first user to be created is the administrator (users.setupAdmin). */
  setupRequired: boolean;
}

/** Lower-case letters, digits, '.', '_' and '-', 2..64 characters, starting with a letter. */
export const USERNAME: Check<string> = (v, path) => {
  if (typeof v === 'string' && /^[a-z][a-z0-9._-]{1,63}$/.test(v)) return v;
  throw new ApiError('BAD_REQUEST', `${path || 'username'}: expected 2..64 lower-case letters, digits, '.', '_' or '-', starting with a letter`);
};

/** NIST SP 800-63B: at least 10 characters here (no composition rules), at most 256. */
export const PASSWORD_MIN = 10;
export const PASSWORD: Check<string> = string({ min: PASSWORD_MIN, max: 256 });

export const ROLE: Check<Role> = oneOf(ROLES);

const DISPLAY_NAME = string({ min: 1, max: 128 });
const ADMIN = { roles: ['admin'] } as const;

export const usersApi = defineFeatureApi({
  methods: {
    /** Who is signed in on this client, and whether the first administrator must still be created. */
    'users.session': method(object({}), returns<SessionState>(), { public: true }),
    /** First run only (no account exists): creates the administrator and signs them in. Audited. */
    'users.setupAdmin': method(object({ username: USERNAME, displayName: DISPLAY_NAME, password: PASSWORD }), returns<SessionInfo>(), { public: true }),
    /** Audited (success and failure); repeated failures lock the account for a growing while. */
    'users.signIn': method(object({ username: string({ min: 1, max: 64 }), password: string({ min: 1, max: 256 }) }), returns<SessionInfo>(), { public: true }),
    'users.signOut': method(object({}), returns<{ signedOut: boolean }>(), { public: true }),
    'users.changePassword': method(object({ currentPassword: string({ min: 1, max: 256 }), newPassword: PASSWORD }), returns<{ changed: true }>()),
    'users.list': method(object({}), returns<UserSummary[]>(), ADMIN),
    'users.add': method(object({ username: USERNAME, displayName: DISPLAY_NAME, role: ROLE, password: PASSWORD }), returns<UserSummary>(), ADMIN),
    'users.setDisabled': method(object({ username: USERNAME, disabled: boolean() }), returns<UserSummary>(), ADMIN),
    'users.resetPassword': method(object({ username: USERNAME, newPassword: PASSWORD }), returns<UserSummary>(), ADMIN),
  },
  events: {
    'users.changed': event<{ username: string }>(),
  },
});
