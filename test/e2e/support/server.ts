/**
 * Starts `node bin/medfedpure.js serve --port 0 --data-dir <tmp> --json` for the end-to-end tests and reads
 * its first stdout line, `{"url":"http://127.0.0.1:PORT/?token=..."}`. Builds the renderer first when
 * dist/renderer is missing (the `test:e2e` script builds it anyway).
 *
 * Before serving, it creates the accounts the tests sign in with (E2E_USERS), as a scripted install would:
 * `medfedpure users add ... --password-stdin`. Pass `users: []` to start on a fresh install (first-run setup).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../../../', import.meta.url).pathname;

export interface E2eUser {
  username: string;
  displayName: string;
  role: 'radiologist' | 'admin' | 'compliance';
  password: string;
}

/** The default accounts, one per role. */
export const E2E_USERS: Readonly<Record<E2eUser['role'], E2eUser>> = {
  radiologist: { username: 'rad.e2e', displayName: 'Dr Rad E2E', role: 'radiologist', password: 'radiologist e2e password' },
  admin: { username: 'admin.e2e', displayName: 'Admin E2E', role: 'admin', password: 'admin e2e password' },
  compliance: { username: 'comp.e2e', displayName: 'Compliance E2E', role: 'compliance', password: 'compliance e2e password' },
};

/** `medfedpure users add` for each account (in parallel: SQLite's busy timeout serialises the writes). */
async function addUsers(dataDir: string, users: readonly E2eUser[]): Promise<void> {
  await Promise.all(users.map((u) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'medfedpure.js'), 'users', 'add', '--username', u.username, '--display-name', u.displayName, '--role', u.role, '--password-stdin', '--data-dir', dataDir], {
      cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`users add ${u.username} exited ${code}: ${err}`))));
    child.stdin!.end(`${u.password}\n`);
  })));
}
const START_TIMEOUT_MS = 120_000;

export interface RunningServer {
  /** The page URL including `?token=`. */
  url: string;
  origin: string;
  token: string;
  dataDir: string;
  /** Everything the server wrote to stderr so far (for failure messages). */
  stderr: () => string;
  stop: () => Promise<void>;
}

export function ensureRendererBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'renderer', 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts'], {
    cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`vite build of the renderer failed (exit ${r.status})`);
}

export async function startServer(opts: { users?: readonly E2eUser[] } = {}): Promise<RunningServer> {
  ensureRendererBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'medfedpure-e2e-'));
  await addUsers(dataDir, opts.users ?? Object.values(E2E_USERS));
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'medfedpure.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--json'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { stderr += d; });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`medfedpure serve did not print its URL within ${START_TIMEOUT_MS} ms\n${stderr}`)); }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(line) as { url?: unknown };
        if (typeof parsed.url !== 'string') throw new Error('no "url" field');
        resolve(parsed.url);
      } catch (e) {
        child.kill();
        reject(new Error(`unexpected first line from medfedpure serve: ${line} (${(e as Error).message})\n${stderr}`));
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`medfedpure serve exited with ${code} before printing its URL\n${stderr}`)); });
  });
  child.stdout!.resume(); // keep draining later output

  const parsed = new URL(url);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timeout);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, origin: parsed.origin, token: parsed.searchParams.get('token') ?? '', dataDir, stderr: () => stderr, stop };
}
