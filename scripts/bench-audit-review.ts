/**
 * Compliance review over a large audit log: builds a log of N rows (default 100,000; real hash chain, participant
 * index, written in one transaction for speed — the rows are what append() writes), then times what the review
 * screen and the exports do: a first page under each filter (with its total), paging deep into the log, the full
 * chain walk the host does at start, and an export. Prints a table; asserts nothing.
 *
 *   node --import tsx scripts/bench-audit-review.ts [--rows N]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditStore, computeEntryHash, GENESIS_HASH, headAnchorPath } from '../electron/features/audit/audit-store.js';
import { canonicalJson } from '../native-models/src/core/canonical-json.js';
import { exportChunks } from '../electron/features/audit/exporters.js';

const rowsArg = process.argv.indexOf('--rows');
const N = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 100_000;
const dir = mkdtempSync(join(tmpdir(), 'mfp-bench-audit-'));
const file = join(dir, 'audit.sqlite');
AuditStore.open(file).close(); // schema

const USERS = ['rita', 'raj', 'colin', 'ada', 'sam', 'lee', 'kim', 'joe'];
const db = new Database(file);
const insert = db.prepare(`INSERT INTO audit_events (seq, event_code, event_system, event_meaning, event_type_code, event_type_system, event_type_meaning,
  action, outcome, time_utc, user_id, user_role, workstation, participants, details, prev_hash, entry_hash)
  VALUES (@seq, @event_code, @event_system, @event_meaning, @event_type_code, @event_type_system, @event_type_meaning, @action, @outcome, @time_utc,
  @user_id, @user_role, @workstation, @participants, @details, @prev_hash, @entry_hash)`);
const part = db.prepare('INSERT INTO audit_participants (seq, type, id) VALUES (?, ?, ?)');
const t0 = Date.parse('2025-01-01T00:00:00Z');
let prev = GENESIS_HASH;
const tBuild = performance.now();
db.transaction(() => {
  for (let seq = 1; seq <= N; seq++) {
    const study = `1.2.826.0.1.3680043.10.${seq % 500}.${seq % 37}`;
    const participants = [{ type: 'StudyInstanceUID', id: study }, { type: 'PatientID', id: `PAT-${seq % 2000}` }];
    const alert = seq % 50 === 0;
    const base = {
      seq, event_code: alert ? '110113' : '110103', event_system: 'DCM', event_meaning: alert ? 'Security Alert' : 'DICOM Instances Accessed',
      event_type_code: alert ? 'MFP-ADV' : null, event_type_system: alert ? '99MFP' : null, event_type_meaning: alert ? 'Suspected Adversarial Input' : null,
      action: alert ? 'E' : 'R', outcome: alert ? 'minor-failure' : 'success', time_utc: new Date(t0 + seq * 60_000).toISOString(),
      user_id: USERS[seq % USERS.length]!, user_role: 'radiologist', workstation: 'ws1', participants: canonicalJson(participants),
      details: canonicalJson({ purpose: 'view', n: seq }), prev_hash: prev,
    };
    const entry_hash = computeEntryHash(base);
    insert.run({ ...base, entry_hash });
    for (const p of participants) part.run(seq, p.type, p.id);
    prev = entry_hash;
  }
})();
db.close();
writeFileSync(headAnchorPath(file), JSON.stringify({ seq: N, entryHash: prev }));
const buildMs = performance.now() - tBuild;

const store = AuditStore.open(file);
const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
};
const rows: Array<[string, string, string]> = [];
const page = (label: string, filter: Parameters<AuditStore['search']>[0]) => {
  store.search(filter, { limit: 50 }); // warm the statement cache
  const [r, ms] = time(() => store.search(filter, { limit: 50 }));
  rows.push([label, `${r.total}`, ms.toFixed(1)]);
};
page('no filter (first page + total)', {});
page('user = rita', { userId: 'rita' });
page('time range: one week', { fromUtc: '2025-02-01T00:00:00.000Z', toUtc: '2025-02-08T00:00:00.000Z' });
page('study UID prefix 1.2.826.0.1.3680043.10.42.', { participant: '1.2.826.0.1.3680043.10.42.' });
page('patient PAT-1234', { participant: 'PAT-1234' });
page('event 110113 + outcome minor-failure', { eventCode: '110113', outcome: 'minor-failure' });
page('user + week + event', { userId: 'raj', fromUtc: '2025-02-01T00:00:00.000Z', toUtc: '2025-03-01T00:00:00.000Z', eventCode: '110103' });
{
  let beforeSeq: number | undefined;
  const [, ms] = time(() => {
    for (let i = 0; i < 100; i++) beforeSeq = store.search({ userId: 'rita' }, { beforeSeq, limit: 50 }).events.at(-1)!.seq;
  });
  rows.push(['100 pages of 50, user = rita (per page)', '-', (ms / 100).toFixed(1)]);
}
const [v, verifyMs] = time(() => store.verify());
rows.push([`full chain walk (ok=${v.ok})`, `${v.rows}`, verifyMs.toFixed(0)]);
const [n, exportMs] = time(() => {
  let bytes = 0;
  for (const c of exportChunks(store.iterate({ fromUtc: '2025-01-01T00:00:00.000Z', toUtc: '2025-01-08T00:00:00.000Z' }), 'fhir', { generatedUtc: new Date().toISOString(), auditSourceId: 'ws1' })) bytes += c.length;
  return bytes;
});
rows.push([`FHIR export, one week (${(n / 1e6).toFixed(1)} MB)`, `${store.search({ fromUtc: '2025-01-01T00:00:00.000Z', toUtc: '2025-01-08T00:00:00.000Z' }).total}`, exportMs.toFixed(0)]);
store.close();

console.log(`audit log of ${N} rows built in ${(buildMs / 1000).toFixed(1)} s (${dir})\n`);
console.log('| query | matching rows | ms |');
console.log('|---|---:|---:|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
