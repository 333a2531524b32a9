/**
 * Who is calling: the per-request context the router builds before any handler runs, and the async-local slot
 * that makes it visible to everything the handler awaits (so an audit row written three calls deep still names
 * the signed-in user, without threading a parameter through every service).
 *
 * A transport (HTTP host, Electron IPC) hands the router a `Caller`: the session token it holds for this client
 * (cookie/header, or the window's session) and a callback to replace it (sign-in, sign-out). The router resolves
 * the token to a `Principal` through the users feature and checks the method's declared access. Calls made
 * in-process without a Caller (CLI commands, tests) run as the router's configured local principal, if any.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Role } from '../../common/feature-api.js';

/** A signed-in user, as the router and the audit log see them. */
export interface Principal {
  userId: string;
  role: Role;
  displayName: string;
  /** Absent for the in-process local principal. */
  sessionId?: string;
}

/** What a transport passes with each call. */
export interface Caller {
  /** The session token this client presented, if any. */
  sessionToken?: string;
  /** Replaces the client's session token (a string after sign-in, null after sign-out). */
  setSession?: (token: string | null) => void;
  /** Which transport, and a label for the client (e.g. 'http 127.0.0.1', 'ipc window 3'), for the audit log. */
  transport?: 'http' | 'ipc' | 'in-process';
  client?: string;
}

/** What a handler receives as its second argument. */
export interface CallContext {
  readonly method: string;
  /** The signed-in user, or null (only possible for public methods). */
  readonly principal: Principal | null;
  readonly sessionToken?: string;
  readonly transport: 'http' | 'ipc' | 'in-process';
  readonly client: string;
  setSession(token: string | null): void;
}

const slot = new AsyncLocalStorage<CallContext>();

/** Runs `fn` with `ctx` as the current call (router only). */
export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return slot.run(ctx, fn);
}

/** The call being served on this async path, if any. */
export function currentCall(): CallContext | undefined {
  return slot.getStore();
}
