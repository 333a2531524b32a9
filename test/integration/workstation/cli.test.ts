/**
 * The `medfedpure` CLI end to end, as separate processes:
 *   serve --json prints {"url"} first; the host refuses requests without the token (401) or with a foreign
 *   Host/Origin (403), sends a CSP, answers app.info, lists the demo study imported on first run, and audits
 *   Application Start/Stop around a SIGTERM;
 *   import + audit verify pass (exit 0); editing one audit row with the sqlite3 CLI makes audit verify exit 1
 *   naming that row.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'medfedpure.js');
const DEMO = join(ROOT, 'build', 'demo-data');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function post(url: URL, method: string, headers: Record<string, string>, body = '{}'): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: `/api/${method}`, method: 'POST', headers: { Host: url.host, 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const haveSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

describe('medfedpure CLI', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('serve: first stdout line is {"url"}, the host is locked down, and the demo study is there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mfp-serve-'));
    const added = spawnSync(process.execPath, [BIN, 'users', 'add', '--username', 'dr.cli', '--role', 'radiologist', '--password-stdin', '--data-dir', dataDir, '--json'], {
      cwd: ROOT, encoding: 'utf8', input: 'a long enough password\n', timeout: 120_000,
    });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(JSON.parse(added.stdout).role, 'radiologist');
    assert.ok(!added.stdout.includes('a long enough password'));
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const firstLine = await new Promise<string>((resolveLine, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', (line) => {
        rl.close();
        resolveLine(line);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const { url } = JSON.parse(firstLine) as { url: string };
    const u = new URL(url);
    assert.equal(u.hostname, '127.0.0.1');
    const token = u.searchParams.get('token')!;
    assert.ok(token.length >= 43);
    const bearer = { Authorization: `Bearer ${token}` };

    assert.equal((await post(u, 'app.info', {})).status, 401);
    assert.equal((await post(u, 'app.info', { ...bearer, Host: `attacker.example:${u.port}` })).status, 403);
    assert.equal((await post(u, 'app.info', { ...bearer, Origin: 'https://attacker.example' })).status, 403);
    const info = await post(u, 'app.info', bearer);
    assert.equal(info.status, 200);
    assert.match(String(info.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
    assert.equal(JSON.parse(info.text).dataDir, dataDir);

    assert.equal((await post(u, 'studies.list', bearer)).status, 401, 'patient data needs a signed-in user');
    const signIn = await post(u, 'users.signIn', bearer, JSON.stringify({ username: 'dr.cli', password: 'a long enough password' }));
    assert.equal(signIn.status, 200, signIn.text);
    const session = { ...bearer, 'X-MedFedPure-Session': String(signIn.headers['x-medfedpure-session']) };
    const studies = JSON.parse((await post(u, 'studies.list', session)).text) as Array<{ patientName: string; seriesCount: number; instanceCount: number }>;
    assert.equal(studies.length, 1);
    assert.equal(studies[0].patientName, 'DEMO^COLIN27');
    assert.equal(studies[0].seriesCount, 3);
    assert.equal(studies[0].instanceCount, 56);

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);

    const list = cli(['audit', 'list', '--data-dir', dataDir, '--json']);
    assert.equal(list.status, 0, list.stderr);
    const codes = (JSON.parse(list.stdout) as { events: Array<{ eventId: { code: string }; eventTypeCode?: { code: string } }> }).events
      .map((e) => `${e.eventId.code}${e.eventTypeCode ? `/${e.eventTypeCode.code}` : ''}`)
      .reverse();
    assert.deepEqual(codes, ['110113/110136', '110100/110120', '110107', '110114/110122', '110100/110121'], 'account added, start, demo import, sign-in, stop');
  });

  it('import + audit verify pass; a row edited with the sqlite3 CLI makes verify fail naming it', { skip: haveSqlite3 ? false : 'the sqlite3 CLI is not installed (apt-get install sqlite3)' }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mfp-cli-'));
    const imp = cli(['import', DEMO, '--data-dir', dataDir, '--json']);
    assert.equal(imp.status, 0, imp.stderr);
    const result = JSON.parse(imp.stdout) as { imported: number; errors: unknown[] };
    assert.equal(result.imported, 56);
    assert.deepEqual(result.errors, []);
    const again = JSON.parse(cli(['import', DEMO, '--data-dir', dataDir, '--json']).stdout) as { imported: number; duplicates: number };
    assert.deepEqual([again.imported, again.duplicates], [0, 56]);

    const ok = cli(['audit', 'verify', '--data-dir', dataDir, '--json']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { ok: true, rows: 2, warnings: [] });

    const db = join(dataDir, 'audit.sqlite');
    const refused = spawnSync('sqlite3', [db, "UPDATE audit_events SET user_id = 'mallory' WHERE seq = 1;"], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0, 'the trigger refuses a plain UPDATE');
    const edit = spawnSync('sqlite3', [db, "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET outcome = 'minor-failure' WHERE seq = 1;"], { encoding: 'utf8' });
    assert.equal(edit.status, 0, edit.stderr);

    const bad = cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /BROKEN at seq 1\b/);
    assert.match(bad.stdout, /triggers missing: audit_events_no_update/);
    const badJson = JSON.parse(cli(['audit', 'verify', '--data-dir', dataDir, '--json']).stdout) as { ok: boolean; firstBroken: { seq: number } };
    assert.deepEqual([badJson.ok, badJson.firstBroken.seq], [false, 1]);
  });

  it('reports usage errors and missing data with exit 2, and bad files with exit 1', () => {
    assert.equal(cli(['frobnicate']).status, 2);
    assert.equal(cli(['serve', '--port', 'x']).status, 2);
    assert.equal(cli(['serve', '--host', '0.0.0.0']).status, 2);
    assert.equal(cli(['import']).status, 2);
    const empty = mkdtempSync(join(tmpdir(), 'mfp-empty-'));
    assert.equal(cli(['audit', 'verify', '--data-dir', join(empty, 'none')]).status, 2);
    const bad = cli(['import', join(ROOT, 'package.json'), '--data-dir', empty, '--json']);
    assert.equal(bad.status, 1);
    assert.equal((JSON.parse(bad.stdout) as { errors: Array<{ code: string }> }).errors[0].code, 'NOT_DICOM');
    for (const sub of [['serve'], ['import'], ['audit', 'verify'], ['audit', 'list']]) {
      const h = cli([...sub, '--help']);
      assert.equal(h.status, 0);
      assert.match(h.stdout, /^Usage: medfedpure/);
    }
  });

  it('scan of an image file is audited in the data folder (inference, and a Security Alert when flagged)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mfp-scan-cli-'));
    const file = join(DEMO, 'T1_SAG', '001.dcm');
    const r = cli(['scan', file, '--data-dir', dataDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const row = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { flagged: boolean };
    const list = JSON.parse(cli(['audit', 'list', '--data-dir', dataDir, '--json']).stdout) as { events: Array<{ eventTypeCode?: { code: string }; userRole: string; participants: Array<{ id: string }>; details: { via: string; sha256: string } }> };
    const types = list.events.map((e) => e.eventTypeCode?.code).reverse();
    assert.deepEqual(types, row.flagged ? ['MFP-INF', 'MFP-ADV'] : ['MFP-INF']);
    assert.equal(list.events.at(-1)!.participants[0]!.id, file);
    assert.equal(list.events.at(-1)!.details.via, 'cli');
    assert.match(list.events.at(-1)!.details.sha256, /^[0-9a-f]{64}$/);
    assert.equal(list.events.at(-1)!.userRole, 'os-account');
  });
});
