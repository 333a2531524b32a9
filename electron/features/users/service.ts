/**
 * The users feature's service: sign-in, sign-out, first-run setup and the admin's account management, over the
 * user store (user-store.ts), with every step audited:
 *   sign-in / sign-out     DCM 110114 User Authentication, type 110122 Login / 110123 Logout; a refused sign-in
 *                          is outcome 'minor-failure' (a locked account: 'serious-failure') naming the username tried
 *   account added, enabled, disabled, password reset
 *                          DCM 110113 Security Alert, type 110136 Security Roles Changed (add) or 110137 User
 *                          Security Attributes Changed (the rest), naming the admin who did it and the account
 * The router calls `authenticate` for every request that presents a session token.
 */
import { ApiError } from '../../common/api-error.js';
import type { CallContext, FeatureHandlers, Principal } from '../../node/router/router.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { AuditStore } from '../audit/audit-store.js';
import { EVENT_ID, EVENT_TYPE } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import type { SessionInfo, UserSummary, usersApi } from './api.js';
import { UserError, UserStore, type UserStoreOptions } from './user-store.js';

export interface UsersService {
  readonly store: UserStore;
  readonly handlers: FeatureHandlers<typeof usersApi>;
  authenticate(sessionToken: string): Principal | null;
  close(): void;
}

export function userErrorToApiError(err: unknown): ApiError | undefined {
  if (!(err instanceof UserError)) return undefined;
  const code = err.code === 'E_NO_USER' ? 'NOT_FOUND' : 'CONFLICT';
  return new ApiError(code, err.message, { code: err.code });
}

export function createUsersService(deps: {
  dataDir: string;
  audit: AuditStore;
  workstation: string;
  events: EventSink<{ 'users.changed': { username: string } }>;
  store?: UserStoreOptions;
}): UsersService {
  const store = UserStore.open(deps.dataDir, deps.store);
  const { audit, workstation } = deps;

  const actorOf = (p: Principal): AuditActor => ({ userId: p.userId, userRole: p.role, workstation });
  const where = (ctx: CallContext) => ({ transport: ctx.transport, client: ctx.client });

  function auditAuth(actor: AuditActor, type: 'login' | 'logout', outcome: 'success' | 'minor-failure' | 'serious-failure', details: Record<string, unknown>): void {
    audit.append({ ...actor, eventId: EVENT_ID.userAuthentication, eventTypeCode: EVENT_TYPE[type], action: 'E', outcome, details });
  }

  function auditAccountChange(ctx: CallContext, type: 'securityRolesChanged' | 'userSecurityAttributesChanged', user: UserSummary, change: string): void {
    audit.append(
      securityAlert(actorOf(ctx.principal!), EVENT_TYPE[type], { change, username: user.username, role: user.role, ...where(ctx) }, {
        outcome: 'success',
        participants: [{ type: 'User', id: user.username }],
      }),
    );
    deps.events.emit('users.changed', { username: user.username });
  }

  function startSession(ctx: CallContext, user: UserSummary): SessionInfo {
    if (ctx.sessionToken) store.endSession(ctx.sessionToken);
    const s = store.createSession(user.username);
    ctx.setSession(s.token);
    auditAuth({ userId: user.username, userRole: user.role, workstation }, 'login', 'success', { sessionId: s.sessionId, ...where(ctx) });
    return s.info;
  }

  const handlers: FeatureHandlers<typeof usersApi> = {
    'users.session': (_req, ctx) => ({
      session: ctx.sessionToken ? store.sessionInfo(ctx.sessionToken) : null,
      setupRequired: store.count() === 0,
    }),

    'users.setupAdmin': async (req, ctx) => {
      const user = await store.add({ ...req, role: 'admin' }, { onlyIfEmpty: true });
      audit.append(
        securityAlert({ userId: user.username, userRole: 'admin', workstation }, EVENT_TYPE.securityRolesChanged, { change: 'first administrator created at setup', username: user.username, role: 'admin', ...where(ctx) }, {
          outcome: 'success',
          participants: [{ type: 'User', id: user.username }],
        }),
      );
      deps.events.emit('users.changed', { username: user.username });
      return startSession(ctx, user);
    },

    'users.signIn': async (req, ctx) => {
      const outcome = await store.checkPassword(req.username, req.password);
      if (outcome.ok) return startSession(ctx, outcome.user);
      // The username tried is recorded as given (bounded by the validator), so probing shows in the log.
      auditAuth({ userId: req.username, userRole: outcome.role ?? 'unknown', workstation }, 'login', outcome.reason === 'locked' ? 'serious-failure' : 'minor-failure', {
        reason: outcome.reason,
        failedCount: outcome.failedCount,
        lockedForS: Math.ceil(outcome.retryAfterMs / 1000),
        ...where(ctx),
      });
      if (outcome.reason === 'locked' || outcome.retryAfterMs > 0) {
        throw new ApiError('UNAUTHORIZED', `Too many failed sign-ins: try again in ${Math.ceil(outcome.retryAfterMs / 1000)} s`, { code: 'E_LOCKED', retryAfterS: Math.ceil(outcome.retryAfterMs / 1000) });
      }
      // One answer for unknown user, wrong password and disabled account: nothing to learn by probing.
      throw new ApiError('UNAUTHORIZED', 'Wrong username or password, or the account is disabled', { code: 'E_SIGN_IN' });
    },

    'users.signOut': (_req, ctx) => {
      if (!ctx.sessionToken) return { signedOut: false };
      const principal = store.authenticate(ctx.sessionToken);
      const username = store.endSession(ctx.sessionToken);
      ctx.setSession(null);
      if (username && principal) auditAuth(actorOf(principal), 'logout', 'success', { sessionId: principal.sessionId, ...where(ctx) });
      return { signedOut: username !== null };
    },

    'users.changePassword': async (req, ctx) => {
      const p = ctx.principal!;
      const check = await store.checkPassword(p.userId, req.currentPassword);
      if (!check.ok) {
        auditAuth(actorOf(p), 'login', 'minor-failure', { reason: `change password: ${check.reason}`, ...where(ctx) });
        throw new ApiError('UNAUTHORIZED', 'The current password is wrong', { code: 'E_SIGN_IN' });
      }
      const user = await store.setPassword(p.userId, req.newPassword);
      auditAccountChange(ctx, 'userSecurityAttributesChanged', user, 'password changed by the user');
      // setPassword ended every session of the account, this one included: start a fresh one.
      startSession({ ...ctx, sessionToken: undefined }, user);
      return { changed: true };
    },

    'users.list': () => store.list(),

    'users.add': async (req, ctx) => {
      const user = await store.add(req);
      auditAccountChange(ctx, 'securityRolesChanged', user, `account added with role ${user.role}`);
      return user;
    },

    'users.setDisabled': (req, ctx) => {
      if (req.disabled && req.username === ctx.principal!.userId) throw new ApiError('CONFLICT', 'You cannot disable your own account', { code: 'E_SELF' });
      const user = store.setDisabled(req.username, req.disabled);
      auditAccountChange(ctx, 'userSecurityAttributesChanged', user, req.disabled ? 'account disabled' : 'account enabled');
      return user;
    },

    'users.resetPassword': async (req, ctx) => {
      const user = await store.setPassword(req.username, req.newPassword);
      auditAccountChange(ctx, 'userSecurityAttributesChanged', user, 'password reset by an administrator');
      return user;
    },
  };

  return {
    store,
    handlers,
    authenticate: (token) => store.authenticate(token),
    close: () => store.close(),
  };
}
