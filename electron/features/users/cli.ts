/**
 * `medfedpure users add|list|disable|enable|reset-password`: account management for scripted installs and for an
 * administrator locked out of the UI. Works on the data folder directly (a running host sees the change at its
 * next request: sessions of a disabled account end then). Every change is audited like its UI twin, naming the OS
 * account that ran the command (role 'os-account') with details.via = 'cli'.
 *
 * Passwords are never taken as arguments (they would land in shell history and `ps`): `--password-stdin` reads the
 * first line of stdin; without it, on a terminal, the command asks twice with echo off.
 */
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ApiError } from '../../common/api-error.js';
import { parseArgs, UsageError } from '../../node/cli/args.js';
import type { CliCommand } from '../../node/cli/commands.js';
import { makeOut } from '../../node/cli/output.js';
import { defaultDataDir } from '../../node/services/paths.js';
import { AuditStore } from '../audit/audit-store.js';
import { EVENT_TYPE } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import { PASSWORD, ROLE, USERNAME, type UserSummary } from './api.js';
import { UserError, UserStore } from './user-store.js';

export const USERS_HELP = `Usage: medfedpure users add --username U --role radiologist|admin|compliance [--display-name N] [--password-stdin]
       medfedpure users list
       medfedpure users disable U | enable U
       medfedpure users reset-password U [--password-stdin]
Common options: --data-dir D, --json.

Passwords: at least 10 characters; read from the first line of stdin with --password-stdin, else asked for on the
terminal. On a fresh install the first account should be an administrator (or create it in the UI on first start).`;

function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const rl = createInterface({ input: process.stdin });
    const line = await new Promise<string>((res) => {
      let got = false;
      rl.once('line', (l) => {
        got = true;
        res(l);
        rl.close();
      });
      rl.once('close', () => {
        if (!got) res('');
      });
    });
    return line.replace(/\r$/, '');
  }
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on: pass --password-stdin and pipe it in');
  const ask = (prompt: string) =>
    new Promise<string>((res) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      // Echo off: replace what readline writes after the prompt.
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      rl.question(prompt, (answer) => {
        rl.close();
        process.stderr.write('\n');
        res(answer);
      });
      out._writeToOutput = () => undefined;
    });
  const a = await ask('New password: ');
  const b = await ask('Repeat it: ');
  if (a !== b) throw new UsageError('the two passwords differ');
  return a;
}

function checked<T>(check: (v: unknown, p: string) => T, value: unknown, what: string): T {
  try {
    return check(value, what);
  } catch (err) {
    if (err instanceof ApiError) throw new UsageError(err.message);
    throw err;
  }
}

export async function usersCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(`${USERS_HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (!['add', 'list', 'disable', 'enable', 'reset-password'].includes(sub)) throw new UsageError(`unknown users subcommand "${sub}" (add, list, disable, enable, reset-password)`);
  const { flags, positional } = parseArgs(rest, {
    'data-dir': 'string', json: 'boolean', help: 'boolean', username: 'string', role: 'string', 'display-name': 'string', 'password-stdin': 'boolean',
  });
  if (flags.help) {
    process.stdout.write(`${USERS_HELP}\n`);
    return 0;
  }
  const out = makeOut(flags.json === true);
  const dataDir = resolve((flags['data-dir'] as string | undefined) ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  // Validate everything before opening anything.
  let target: string | undefined;
  if (sub === 'add') {
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    target = checked(USERNAME, flags.username, '--username');
    checked(ROLE, flags.role, '--role');
  } else if (sub !== 'list') {
    if (positional.length !== 1) throw new UsageError(`users ${sub} needs exactly one username`);
    target = checked(USERNAME, positional[0], 'username');
  } else if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
  const password = sub === 'add' || sub === 'reset-password' ? checked(PASSWORD, await readPassword(flags['password-stdin'] === true), 'password') : undefined;

  const users = UserStore.open(dataDir);
  const audit = AuditStore.open(join(dataDir, 'audit.sqlite'));
  const actor: AuditActor = { userId: osUser(), userRole: 'os-account', workstation: hostname() };
  const audited = (type: 'securityRolesChanged' | 'userSecurityAttributesChanged', u: UserSummary, change: string) =>
    audit.append(securityAlert(actor, EVENT_TYPE[type], { change, username: u.username, role: u.role, via: 'cli' }, { outcome: 'success', participants: [{ type: 'User', id: u.username }] }));
  const show = (u: UserSummary) => `${u.username}\t${u.role}\t${u.disabled ? 'disabled' : 'enabled'}\t${u.displayName}`;
  try {
    switch (sub) {
      case 'list': {
        const list = users.list();
        out.result(list, () => (list.length ? list.map(show).join('\n') : 'No accounts yet.'));
        return 0;
      }
      case 'add': {
        const role = ROLE(flags.role, '--role');
        const u = await users.add({ username: target!, displayName: (flags['display-name'] as string | undefined) ?? target!, role, password: password! });
        audited('securityRolesChanged', u, `account added with role ${role}`);
        out.result(u, () => `Added ${show(u)}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const u = users.setDisabled(target!, sub === 'disable');
        audited('userSecurityAttributesChanged', u, sub === 'disable' ? 'account disabled' : 'account enabled');
        out.result(u, () => `${sub === 'disable' ? 'Disabled' : 'Enabled'} ${u.username}`);
        return 0;
      }
      case 'reset-password': {
        const u = await users.setPassword(target!, password!);
        audited('userSecurityAttributesChanged', u, 'password reset by an administrator');
        out.result(u, () => `Password reset for ${u.username}; their sessions have ended`);
        return 0;
      }
    }
    return 2;
  } catch (err) {
    if (err instanceof UserError) {
      out.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    users.close();
    audit.close();
  }
}

export const usersCommands: CliCommand[] = [
  {
    name: 'users',
    usage: [
      'users add --username U --role R [--password-stdin]  add an account (radiologist, admin, compliance)',
      'users list | disable U | enable U | reset-password U  manage accounts',
    ],
    run: (argv) => usersCommand(argv),
  },
];
