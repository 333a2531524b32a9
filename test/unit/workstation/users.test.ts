/**
 * Users and roles through the real router: first-run setup, sign-in sessions (idle and absolute expiry on a fake
 * clock), the method access declared in the features' api.ts (UNAUTHORIZED / FORBIDDEN), failed sign-ins audited
 * and locked out, disabling ending sessions, and every audit row naming the signed-in user and role.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import argon2 from 'argon2';
import { ApiError } from '../../../electron/common/api-error.js';
import { API_ACCESS, API_METHODS } from '../../../electron/features/api.js';
import { createRouter, createServices, type AppRouter, type Services } from '../../../electron/features/node.js';
import type { Caller } from '../../../electron/node/router/call-context.js';

const FAST_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const MIN = 60_000;

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A transport's view of one client: holds the session token the router hands it, as the HTTP host does. */
function client(label: string): Caller & { token?: string } {
  const c: Caller & { token?: string } = {
    transport: 'http',
    client: label,
    setSession: (t) => {
      c.token = t ?? undefined;
      c.sessionToken = t ?? undefined;
    },
  };
  return c;
}

describe('users, sessions and roles', () => {
  let services: Services;
  let router: AppRouter;
  let clock = Date.parse('2026-01-05T08:00:00Z');
  const admin = client('admin browser');
  const rad = client('radiologist browser');

  before(() => {
    services = createServices({
      dataDir: mkdtempSync(join(tmpdir(), 'mfp-users-')),
      host: 'browser',
      workstation: 'ws1',
      users: { hash: FAST_HASH, now: () => clock, session: { idleMs: 30 * MIN, absoluteMs: 12 * 60 * MIN }, lockout: { threshold: 3, baseMs: MIN, maxMs: 10 * MIN } },
    });
    router = createRouter(services, { logError: () => {} });
  });
  after(() => services.close());

  it('declares access for every method: only sign-in, the session probe, first-run setup and app.info are public', () => {
    const open = API_METHODS.filter((m) => API_ACCESS[m].public);
    assert.deepEqual(open.sort(), ['app.info', 'users.session', 'users.setupAdmin', 'users.signIn', 'users.signOut']);
    assert.deepEqual(API_ACCESS['users.add'].roles, ['admin']);
    assert.deepEqual(API_ACCESS['instances.frame'].roles, ['radiologist']);
  });

  it('on first run asks for the administrator, creates them once, and signs them in', async () => {
    assert.deepEqual(await router.dispatch('users.session', {}, client('x')), { session: null, setupRequired: true });
    await rejects(router.dispatch('studies.list', {}, client('x')), 'UNAUTHORIZED');
    const s = (await router.dispatch('users.setupAdmin', { username: 'ada', displayName: 'Ada Admin', password: 'admin password 1' }, admin)) as { role: string };
    assert.equal(s.role, 'admin');
    assert.ok(admin.token && admin.token.length >= 43);
    await rejects(router.dispatch('users.setupAdmin', { username: 'eve', displayName: 'Eve', password: 'evil password 1' }, client('late')), 'CONFLICT', /already/);
    const state = (await router.dispatch('users.session', {}, admin)) as { session: { username: string }; setupRequired: boolean };
    assert.equal(state.session.username, 'ada');
    assert.equal(state.setupRequired, false);
  });

  it('stores argon2id hashes, never the password', async () => {
    const row = (services.users.store as unknown as { row(u: string): { password_hash: string } }).row('ada');
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=1024,(t=1,p=1|p=1,t=1)\$/);
    assert.equal(await argon2.verify(row.password_hash, 'admin password 1'), true);
  });

  it('lets the admin add users; refuses short passwords, bad roles and duplicates', async () => {
    await router.dispatch('users.add', { username: 'rita', displayName: 'Dr Rita Rad', role: 'radiologist', password: 'radiologist pw 1' }, admin);
    await router.dispatch('users.add', { username: 'colin', displayName: 'Colin Compliance', role: 'compliance', password: 'compliance pw 1' }, admin);
    await rejects(router.dispatch('users.add', { username: 'rita', displayName: 'x', role: 'radiologist', password: 'radiologist pw 1' }, admin), 'CONFLICT');
    await rejects(router.dispatch('users.add', { username: 'shorty', displayName: 'x', role: 'radiologist', password: 'short' }, admin), 'BAD_REQUEST', /password/);
    await rejects(router.dispatch('users.add', { username: 'root', displayName: 'x', role: 'superuser', password: 'long enough pw 1' }, admin), 'BAD_REQUEST', /role/);
    await rejects(router.dispatch('users.add', { username: 'Bad Name', displayName: 'x', role: 'admin', password: 'long enough pw 1' }, admin), 'BAD_REQUEST', /username/);
    const list = (await router.dispatch('users.list', {}, admin)) as Array<{ username: string; role: string }>;
    assert.deepEqual(list.map((u) => `${u.username}:${u.role}`), ['ada:admin', 'colin:compliance', 'rita:radiologist']);
    assert.ok(!JSON.stringify(list).includes('argon2'), 'no hash leaves the store');
  });

  it('enforces each method\'s roles: FORBIDDEN for the wrong role, UNAUTHORIZED without a session', async () => {
    await router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, rad);
    assert.deepEqual(await router.dispatch('studies.list', {}, rad), []);
    await rejects(router.dispatch('users.list', {}, rad), 'FORBIDDEN', /needs the role admin/);
    await rejects(router.dispatch('audit.list', {}, rad), 'FORBIDDEN');
    await rejects(router.dispatch('studies.list', {}, admin), 'FORBIDDEN', /radiologist/);
    await rejects(router.dispatch('studies.list', {}, { transport: 'http', sessionToken: 'forged-token' }), 'UNAUTHORIZED');
    // Access is checked before the request is validated: an anonymous caller learns nothing about the schema.
    await rejects(router.dispatch('users.add', { nonsense: true }, client('anon')), 'UNAUTHORIZED');
  });

  it('names the signed-in user and role in every audit row their calls cause', async () => {
    await router.dispatch('series.open', { seriesInstanceUid: '1.2.3' }, rad).catch(() => undefined); // NOT_FOUND: not audited
    const added = services.audit.list({ eventCode: '110113' }).events.find((e) => e.details.username === 'rita')!;
    assert.equal(added.userId, 'ada');
    assert.equal(added.userRole, 'admin');
    assert.equal(added.eventTypeCode?.code, '110136');
    const login = services.audit.list({ eventCode: '110114' }).events[0]!;
    assert.deepEqual([login.userId, login.userRole, login.outcome, login.eventTypeCode?.code, login.workstation], ['rita', 'radiologist', 'success', '110122', 'ws1']);
    assert.equal(login.details.client, 'radiologist browser');
    assert.ok(!JSON.stringify(services.audit.list({ limit: 1000 }).events).includes(rad.token!), 'no session token in the log');
  });

  it('audits failed sign-ins, locks the account after 3, refuses even the right password while locked', async () => {
    const who = client('guesser');
    for (let i = 0; i < 2; i++) await rejects(router.dispatch('users.signIn', { username: 'colin', password: `guess ${i}` }, who), 'UNAUTHORIZED', /Wrong username or password/);
    await rejects(router.dispatch('users.signIn', { username: 'colin', password: 'guess 3' }, who), 'UNAUTHORIZED', /try again in 60 s/);
    await rejects(router.dispatch('users.signIn', { username: 'colin', password: 'compliance pw 1' }, who), 'UNAUTHORIZED', /Too many failed/);
    assert.equal(who.token, undefined);
    const failures = services.audit.list({ eventCode: '110114' }).events.filter((e) => e.userId === 'colin');
    assert.deepEqual(failures.map((e) => [e.outcome, e.details.reason]).reverse(), [
      ['minor-failure', 'wrong-password'], ['minor-failure', 'wrong-password'], ['minor-failure', 'wrong-password'], ['serious-failure', 'locked'],
    ]);
    assert.equal(failures[0]!.userRole, 'compliance');
    clock += MIN + 1;
    await router.dispatch('users.signIn', { username: 'colin', password: 'compliance pw 1' }, who);
    assert.ok(who.token);
  });

  it('gives unknown usernames the same answer, audited under the name tried, and locks them too', async () => {
    const who = client('prober');
    for (let i = 0; i < 2; i++) await rejects(router.dispatch('users.signIn', { username: 'nobody', password: 'x' }, who), 'UNAUTHORIZED', /Wrong username or password/);
    await rejects(router.dispatch('users.signIn', { username: 'nobody', password: 'x' }, who), 'UNAUTHORIZED', /try again/);
    const rows = services.audit.list({ eventCode: '110114' }).events.filter((e) => e.userId === 'nobody');
    assert.equal(rows.length, 3);
    assert.equal(rows[0]!.userRole, 'unknown');
    assert.equal(rows[0]!.details.reason, 'unknown-user');
  });

  it('ends sessions after 30 idle minutes and after 12 hours however busy', async () => {
    const s = client('short');
    await router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, s);
    clock += 29 * MIN;
    await router.dispatch('studies.list', {}, s);
    clock += 29 * MIN;
    await router.dispatch('studies.list', {}, s); // used within the idle limit: still valid
    clock += 31 * MIN;
    await rejects(router.dispatch('studies.list', {}, s), 'UNAUTHORIZED', /expired/);

    const busy = client('busy');
    await router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, busy);
    for (let t = 0; t < 12 * 60; t += 20) {
      clock += 20 * MIN;
      if (t + 20 < 12 * 60) await router.dispatch('studies.list', {}, busy);
    }
    await rejects(router.dispatch('studies.list', {}, busy), 'UNAUTHORIZED');
  });

  it('disabling a user ends their sessions at once; the last admin cannot be disabled', async () => {
    await router.dispatch('users.signIn', { username: 'ada', password: 'admin password 1' }, admin);
    await router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, rad);
    await router.dispatch('users.setDisabled', { username: 'rita', disabled: true }, admin);
    await rejects(router.dispatch('studies.list', {}, rad), 'UNAUTHORIZED');
    await rejects(router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, rad), 'UNAUTHORIZED');
    await rejects(router.dispatch('users.setDisabled', { username: 'ada', disabled: true }, admin), 'CONFLICT', /yourself|own account/);
    assert.throws(() => services.users.store.setDisabled('ada', true), /only enabled administrator/);
    await router.dispatch('users.setDisabled', { username: 'rita', disabled: false }, admin);
    await router.dispatch('users.resetPassword', { username: 'rita', newPassword: 'a brand new password' }, admin);
    await rejects(router.dispatch('users.signIn', { username: 'rita', password: 'radiologist pw 1' }, rad), 'UNAUTHORIZED');
    await router.dispatch('users.signIn', { username: 'rita', password: 'a brand new password' }, rad);
  });

  it('signs out (audited as Logout) and the token stops working', async () => {
    const token = rad.token!;
    assert.deepEqual(await router.dispatch('users.signOut', {}, rad), { signedOut: true });
    assert.equal(rad.token, undefined);
    await rejects(router.dispatch('studies.list', {}, { transport: 'http', sessionToken: token }), 'UNAUTHORIZED');
    const logout = services.audit.list({ eventCode: '110114' }).events[0]!;
    assert.deepEqual([logout.userId, logout.eventTypeCode?.code], ['rita', '110123']);
    assert.equal(services.audit.verify().ok, true);
  });
});
