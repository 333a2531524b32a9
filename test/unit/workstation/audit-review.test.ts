/**
 * Compliance review of the audit log: filters (time, user, participant prefix, event, outcome) with keyset paging;
 * each exporter checked against its format's rules — CSV read back (RFC 4180, formula cells neutralised), FHIR R5
 * Bundle through the R5 structure check, every ATNA message validated by xmllint against the DICOM PS3.15 A.5.1
 * schema; the live chain status, a broken chain at start shown until an admin acknowledges it; viewing (110101)
 * and exporting (110106) audited; `medfedpure audit export` end to end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ApiError } from '../../../electron/common/api-error.js';
import type { AuditEvent, ChainStatus, ExportResult } from '../../../electron/features/api.js';
import { AuditStore, type AuditEventInput } from '../../../electron/features/audit/audit-store.js';
import { ChainMonitor } from '../../../electron/features/audit/chain-monitor.js';
import { checkFhirR5AuditBundle, csvCell, exportChunks } from '../../../electron/features/audit/exporters.js';
import { createRouter, createServices, type AppRouter, type Services } from '../../../electron/features/node.js';
import type { Caller } from '../../../electron/node/router/call-context.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SCHEMA = join(ROOT, 'electron/features/audit/schema/dicom-audit-message.rng');
const HAVE_XMLLINT = spawnSync('xmllint', ['--version']).status === 0;
const FAST_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** A small RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  return rows;
}

function xmllint(xml: string): { ok: boolean; out: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'mfp-atna-')), 'm.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--relaxng', SCHEMA, file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stderr };
}

const STUDY_A = '1.2.826.0.1.3680043.10.1.100';
const STUDY_B = '1.2.826.0.1.3680043.10.2.200';

function seed(store: AuditStore): void {
  const base = Date.parse('2026-01-05T08:00:00Z');
  const inputs: AuditEventInput[] = [];
  for (let i = 0; i < 60; i++) {
    const study = i % 3 === 0 ? STUDY_B : STUDY_A;
    inputs.push({
      eventId: i % 5 === 0 ? { code: '110113', system: 'DCM', meaning: 'Security Alert' } : { code: '110103', system: 'DCM', meaning: 'DICOM Instances Accessed' },
      eventTypeCode: i % 5 === 0 ? { code: 'MFP-ADV', system: '99MFP', meaning: 'Suspected Adversarial Input' } : undefined,
      action: i % 5 === 0 ? 'E' : 'R',
      outcome: i % 5 === 0 ? 'minor-failure' : 'success',
      userId: i % 2 === 0 ? 'rita' : 'raj',
      userRole: 'radiologist',
      workstation: 'ws1',
      participants: [{ type: 'StudyInstanceUID', id: study }, { type: 'PatientID', id: `PAT-${i % 4}` }],
      details: { i, note: i === 7 ? '=HYPERLINK("http://evil","x"), "quoted"\nnext line' : `row ${i}`, reason: i % 5 === 0 ? 'detector score over threshold' : undefined },
      timeUtc: new Date(base + i * 3600_000).toISOString(),
    });
  }
  for (const x of inputs) store.append(x);
}

describe('audit review: search and exports', () => {
  let store: AuditStore;
  let all: AuditEvent[];
  before(() => {
    store = AuditStore.open(join(mkdtempSync(join(tmpdir(), 'mfp-review-')), 'audit.sqlite'));
    seed(store);
    all = [...store.iterate({})];
  });
  after(() => store.close());

  const expect = (pred: (e: AuditEvent) => boolean) => all.filter(pred).map((e) => e.seq).reverse();
  const seqs = (f: Parameters<AuditStore['search']>[0]) => {
    const out: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = store.search(f, { beforeSeq, limit: 7 });
      out.push(...page.events.map((e) => e.seq));
      if (page.events.length < 7) return { seqs: out, total: page.total };
      beforeSeq = page.events.at(-1)!.seq;
    }
  };

  it('filters by time range, user, study prefix, event, outcome, and pages through every match once', () => {
    const cases: Array<[Parameters<AuditStore['search']>[0], (e: AuditEvent) => boolean]> = [
      [{}, () => true],
      [{ fromUtc: '2026-01-05T12:00:00.000Z', toUtc: '2026-01-06T00:00:00.000Z' }, (e) => e.timeUtc >= '2026-01-05T12:00:00.000Z' && e.timeUtc < '2026-01-06T00:00:00.000Z'],
      [{ userId: 'raj' }, (e) => e.userId === 'raj'],
      [{ participant: '1.2.826.0.1.3680043.10.2' }, (e) => e.participants.some((p) => p.id === STUDY_B)],
      [{ participant: '1.2.826.0.1.3680043.10.' }, () => true],
      [{ participant: 'PAT-3' }, (e) => e.participants.some((p) => p.id === 'PAT-3')],
      [{ eventCode: '110113', outcome: 'minor-failure', userId: 'rita' }, (e) => e.eventId.code === '110113' && e.userId === 'rita'],
      [{ eventTypeCode: 'MFP-ADV', participant: STUDY_A }, (e) => e.eventTypeCode?.code === 'MFP-ADV' && e.participants.some((p) => p.id === STUDY_A)],
    ];
    for (const [f, pred] of cases) {
      const got = seqs(f);
      assert.deepEqual(got.seqs, expect(pred), JSON.stringify(f));
      assert.equal(got.total, got.seqs.length);
    }
    assert.equal(store.search({ participant: '1.2.826.0.1.3680043.10.3' }).total, 0);
    // % and _ are not wildcards: the prefix is taken literally.
    assert.equal(store.search({ participant: '1.2.826.0.1.3680043.10._' }).total, 0);
  });

  it('walks a long chain in chunks at start without blocking, then checks each new row', async () => {
    const monitor = new ChainMonitor(store, { userId: 'sys', userRole: 'os-account', workstation: 'ws1' });
    monitor.start(10); // 60 rows > 10: in the background (chunks of 5,000 here means one chunk, then the end)
    assert.equal(monitor.status().checking, true);
    while (monitor.status().checking) await new Promise((r) => setImmediate(r));
    assert.deepEqual([monitor.status().ok, monitor.status().rows], [true, all.length]);
    const e = store.append({ eventId: { code: '110100', system: 'DCM', meaning: 'Application Activity' }, action: 'E', outcome: 'success', userId: 'u', userRole: 'r', workstation: 'w' });
    monitor.onAppended();
    assert.equal(monitor.status().rows, e.seq);
    all.push(e);
  });

  it('counts matching events per day and event id (the review\'s plot)', () => {
    const got = store.perDay({ userId: 'raj' });
    const want = new Map<string, number>();
    for (const e of all.filter((x) => x.userId === 'raj')) want.set(`${e.timeUtc.slice(0, 10)} ${e.eventId.code}`, (want.get(`${e.timeUtc.slice(0, 10)} ${e.eventId.code}`) ?? 0) + 1);
    assert.deepEqual(new Map(got.map((r) => [`${r.day} ${r.code}`, r.count])), want);
    assert.deepEqual(store.perDay({}, 2).map((r) => r.day).filter((d, i, a) => a.indexOf(d) === i).length, 2, 'the last N days only');
  });

  it('CSV: RFC 4180, one row per event, formula-looking cells neutralised', () => {
    const text = [...exportChunks(store.iterate({ userId: 'raj' }), 'csv', { generatedUtc: '2026-01-10T00:00:00.000Z', auditSourceId: 'ws1' })].join('');
    const rows = parseCsv(text);
    assert.equal(rows[0]![0], 'seq');
    assert.equal(rows.length, 1 + all.filter((e) => e.userId === 'raj').length);
    assert.ok(rows.every((r) => r.length === rows[0]!.length));
    const seven = rows.find((r) => r[0] === '8')!; // details.i = 7 is seq 8
    assert.deepEqual(JSON.parse(seven[12]!), all[7]!.details);
    assert.equal(csvCell('=1+1'), "'=1+1");
    assert.equal(csvCell('-2'), "'-2");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('a,"b"'), '"a,""b"""');
  });

  it('FHIR: an R5 AuditEvent Bundle that passes the R5 structure check; broken ones do not', () => {
    const text = [...exportChunks(store.iterate({}), 'fhir', { generatedUtc: '2026-01-10T00:00:00.000Z', auditSourceId: 'ws1' })].join('');
    const bundle = JSON.parse(text) as { entry: Array<{ fullUrl: string; resource: Record<string, any> }> };
    assert.deepEqual(checkFhirR5AuditBundle(bundle), []);
    assert.equal(bundle.entry.length, all.length);
    assert.equal(new Set(bundle.entry.map((e) => e.fullUrl)).size, all.length);
    const alert = bundle.entry.find((e) => e.resource.category[0].coding[0].code === '110113')!.resource;
    assert.equal(alert.code.coding[0].code, 'MFP-ADV');
    assert.equal(alert.outcome.code.code, '4');
    assert.equal(alert.agent[0].who.identifier.value, 'rita');
    assert.ok(alert.entity.some((x: any) => x.what.identifier?.value === STUDY_B || x.what.identifier?.value === STUDY_A));

    const broken = structuredClone(bundle);
    delete broken.entry[0]!.resource.recorded;
    broken.entry[1]!.resource.action = 'X';
    broken.entry[2]!.resource.agent = [];
    broken.entry[3]!.resource.type = { code: 'rest' }; // an R4 element, not in R5
    const problems = checkFhirR5AuditBundle(broken);
    for (const p of ['entry[0].resource.recorded', 'entry[1].resource.action', 'entry[2].resource.agent', 'entry[3].resource.type']) assert.ok(problems.some((x) => x.includes(p)), `${p}: ${problems.join('; ')}`);
  });

  it('ATNA: every message validates against the DICOM PS3.15 A.5.1 audit message schema', { skip: HAVE_XMLLINT ? false : 'xmllint (libxml2-utils) is not installed' }, () => {
    const text = [...exportChunks(store.iterate({}), 'atna', { generatedUtc: '2026-01-10T00:00:00.000Z', auditSourceId: 'ws1' })].join('');
    const messages = text.match(/<AuditMessage>[\s\S]*?<\/AuditMessage>/g)!;
    assert.equal(messages.length, all.length);
    // Validate in one xmllint run per message kind seen (accessed, alert with outcome description, the row with awkward text).
    for (const i of [0, 1, 7]) {
      const r = xmllint(`<?xml version="1.0" encoding="UTF-8"?>\n${messages[i]}`);
      assert.ok(r.ok, r.out);
    }
    assert.match(messages[0]!, /<EventID csd-code="110113" codeSystemName="DCM" originalText="Security Alert"\/>/);
    assert.match(messages[0]!, /EventOutcomeIndicator="4"/);
    assert.match(messages[0]!, /<EventOutcomeDescription>detector score over threshold<\/EventOutcomeDescription>/);
    // And the schema is not a rubber stamp.
    const bad = xmllint(messages[1]!.replace('EventOutcomeIndicator="0"', 'EventOutcomeIndicator="5"'));
    assert.equal(bad.ok, false);
  });
});

describe('audit review through the router: audited viewing and export, live chain status, a broken chain at start', () => {
  let dir: string;
  let services: Services;
  let router: AppRouter;
  const comp: Caller = { transport: 'http', client: 'comp' };
  const admin: Caller = { transport: 'http', client: 'admin' };
  const rad: Caller = { transport: 'http', client: 'rad' };

  async function open(): Promise<void> {
    services = createServices({ dataDir: dir, host: 'browser', workstation: 'ws1', users: { hash: FAST_HASH } });
    router = createRouter(services, { logError: () => {} });
    if (services.users.store.count() === 0) {
      await services.users.store.add({ username: 'colin', displayName: 'Colin', role: 'compliance', password: 'compliance pw 1' });
      await services.users.store.add({ username: 'ada', displayName: 'Ada', role: 'admin', password: 'admin password 1' });
      await services.users.store.add({ username: 'rita', displayName: 'Rita', role: 'radiologist', password: 'radiologist pw 1' });
    }
    comp.sessionToken = services.users.store.createSession('colin').token;
    admin.sessionToken = services.users.store.createSession('ada').token;
    rad.sessionToken = services.users.store.createSession('rita').token;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mfp-review-router-'));
    await open();
  });
  after(() => services.close());

  it('audits a search once per filter per session (110101), and each export (110106) with its sha256', async () => {
    const before = services.audit.search({ eventCode: '110101' }).total;
    await router.dispatch('audit.search', { userId: 'colin' }, comp);
    await router.dispatch('audit.search', { userId: 'colin', beforeSeq: 2 }, comp); // next page: same filter
    await router.dispatch('audit.search', { userId: 'colin' }, comp); // live refresh
    await router.dispatch('audit.search', { outcome: 'success' }, comp);
    const used = services.audit.search({ eventCode: '110101' }).events;
    assert.equal(used.length - before, 2);
    assert.deepEqual([used[0]!.userId, used[0]!.userRole, used[0]!.action], ['colin', 'compliance', 'R']);
    assert.deepEqual(used[0]!.details.filter, { outcome: 'success' });

    const x = (await router.dispatch('audit.export', { format: 'csv', userId: 'colin' }, comp)) as ExportResult;
    assert.match(x.filename, /^medfedpure-audit-.*\.csv$/);
    const exp = services.audit.search({ eventCode: '110106' }).events[0]!;
    assert.deepEqual([exp.userId, exp.details.format, exp.details.count, exp.details.sha256], ['colin', 'csv', x.count, x.sha256]);
    await assert.rejects(router.dispatch('audit.export', { format: 'csv' }, rad), (e: unknown) => e instanceof ApiError && e.code === 'FORBIDDEN');
    await assert.rejects(router.dispatch('audit.search', { fromUtc: 'yesterday' }, comp), (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST');
  });

  it('keeps the chain status live as rows arrive, for every role', async () => {
    const s1 = (await router.dispatch('audit.chainStatus', {}, rad)) as ChainStatus;
    await router.dispatch('audit.search', { userId: 'ada' }, comp);
    const s2 = (await router.dispatch('audit.chainStatus', {}, rad)) as ChainStatus;
    assert.equal(s2.ok, true);
    assert.equal(s2.rows, s1.rows + 1);
    assert.equal(s2.rows, services.audit.count());
  });

  it('a chain found broken at start is recorded once, shown to everyone until an admin acknowledges it', async () => {
    services.close();
    const db = new Database(join(dir, 'audit.sqlite'));
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare("UPDATE audit_events SET user_id = 'mallory' WHERE seq = 3").run();
    db.close();
    await open();
    const s = (await router.dispatch('audit.chainStatus', {}, rad)) as ChainStatus;
    assert.equal(s.ok, false);
    assert.equal(s.firstBroken!.seq, 3);
    assert.equal(s.unacknowledged.length, 1);
    const alert = services.audit.search({ eventTypeCode: 'MFP-CHN' }).events;
    assert.equal(alert.length, 1);
    assert.equal(s.unacknowledged[0]!.alertSeq, alert[0]!.seq);

    // A restart does not record the same break twice.
    services.close();
    await open();
    assert.equal(services.audit.search({ eventTypeCode: 'MFP-CHN' }).total, 1);
    const id = ((await router.dispatch('audit.chainStatus', {}, comp)) as ChainStatus).unacknowledged[0]!.id;
    await assert.rejects(router.dispatch('audit.acknowledgeBreak', { id, note: 'seen' }, comp), (e: unknown) => e instanceof ApiError && e.code === 'FORBIDDEN');
    const after = (await router.dispatch('audit.acknowledgeBreak', { id, note: 'restored from backup; incident 42' }, admin)) as ChainStatus;
    assert.equal(after.unacknowledged.length, 0);
    assert.equal(after.ok, false, 'acknowledging does not mend the chain');
    assert.deepEqual([after.breaks[0]!.acknowledged!.by, after.breaks[0]!.acknowledged!.note], ['ada', 'restored from backup; incident 42']);
    assert.equal(services.audit.search({ eventTypeCode: 'MFP-ACK' }).events[0]!.userId, 'ada');
  });

  it('medfedpure audit export streams ATNA to stdout and FHIR to a file, and audits itself', { skip: HAVE_XMLLINT ? false : 'xmllint not installed' }, () => {
    services.close();
    const bin = join(ROOT, 'bin', 'medfedpure.js');
    const atna = spawnSync(process.execPath, [bin, 'audit', 'export', '--format', 'atna', '--data-dir', dir, '--event', '110114'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(atna.status, 0, atna.stderr);
    assert.ok(atna.stdout.startsWith('<?xml'));
    const out = join(dir, 'export.fhir.json');
    const fhir = spawnSync(process.execPath, [bin, 'audit', 'export', '--format', 'fhir', '--data-dir', dir, '--from', '2020-01-01', '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(fhir.status, 0, fhir.stderr);
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(checkFhirR5AuditBundle(bundle), []);
    assert.equal(JSON.parse(fhir.stdout).count, bundle.entry.length);
    const bad = spawnSync(process.execPath, [bin, 'audit', 'export', '--format', 'pdf', '--data-dir', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    const store = AuditStore.open(join(dir, 'audit.sqlite'));
    try {
      const rows = store.search({ eventCode: '110106' }).events.filter((e) => e.details.via === 'cli');
      assert.deepEqual(rows.map((e) => e.details.format), ['fhir', 'atna']);
      assert.equal(rows[0]!.userRole, 'os-account');
    } finally {
      store.close();
    }
  });
});
