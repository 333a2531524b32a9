/**
 * The audit store: hash chain, append-only triggers, and tamper detection (edited row, edited row with a
 * recomputed hash, deleted rows, rows cut from the end, dropped triggers), plus listing filters.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { AuditStore, computeEntryHash, GENESIS_HASH, headAnchorPath } from '../../../electron/features/audit/audit-store.js';
import { canonicalJson } from '../../../native-models/src/core/canonical-json.js';
import { EVENT_ID } from '../../../electron/features/audit/codes.js';
import { applicationActivity, instancesAccessed } from '../../../electron/features/audit/events.js';
import { createServices } from '../../../electron/features/node.js';

const actor = { userId: 'alice', userRole: 'radiologist', workstation: 'ws-1' };

function freshStore(rows = 5): { store: AuditStore; file: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'mfp-audit-')), 'audit.sqlite');
  const store = AuditStore.open(file);
  store.append(applicationActivity(actor, 'start'));
  for (let i = 1; i < rows; i++) store.append(instancesAccessed(actor, { studyInstanceUid: `1.2.3.${i}`, patientId: `P${i % 2}` }, { i }));
  return { store, file };
}

/** What an attacker with the file does: open it directly, drop the triggers, change things. */
function tamper(file: string, sql: string): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;');
  db.exec(sql);
  db.close();
}

describe('audit store', () => {
  it('chains rows from the genesis hash and verifies', () => {
    const { store } = freshStore(5);
    const { events, total } = store.list({ limit: 10 });
    assert.equal(total, 5);
    const asc = [...events].reverse();
    assert.equal(asc[0].prevHash, GENESIS_HASH);
    for (let i = 1; i < asc.length; i++) assert.equal(asc[i].prevHash, asc[i - 1].entryHash);
    assert.deepEqual(store.verify(), { ok: true, rows: 5 });
    assert.equal(asc[0].eventId.code, '110100');
    assert.equal(asc[0].eventTypeCode?.code, '110120');
    assert.equal(asc[1].eventId.code, '110103');
    assert.equal(asc[1].action, 'R');
    assert.deepEqual(asc[1].participants, [
      { type: 'StudyInstanceUID', id: '1.2.3.1' },
      { type: 'PatientID', id: 'P1' },
    ]);
    store.close();
  });

  it('refuses UPDATE and DELETE through SQL', () => {
    const { store, file } = freshStore(2);
    store.close();
    const db = new Database(file);
    assert.throws(() => db.prepare("UPDATE audit_events SET user_id = 'mallory' WHERE seq = 1").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit_events WHERE seq = 2').run(), /append-only/);
    db.close();
  });

  it('names an edited row', () => {
    const { store, file } = freshStore(5);
    store.close();
    tamper(file, `UPDATE audit_events SET details = '{"i":99}' WHERE seq = 3`);
    const reopened = AuditStore.open(file, { repairTriggers: false });
    const r = reopened.verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBroken?.seq, 3);
    assert.match(r.firstBroken!.reason, /modified/);
    assert.deepEqual(reopened.missingTriggers().sort(), ['audit_events_no_delete', 'audit_events_no_update']);
    reopened.close();
  });

  it('detects an edit whose entry_hash was recomputed, at the next row', () => {
    const { store, file } = freshStore(5);
    store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_events_no_update');
    const row = db.prepare('SELECT * FROM audit_events WHERE seq = 2').get() as Record<string, unknown>;
    const forged = { ...row, user_id: 'mallory' };
    delete (forged as { entry_hash?: unknown }).entry_hash;
    const hash = computeEntryHash(forged as Parameters<typeof computeEntryHash>[0]);
    db.prepare("UPDATE audit_events SET user_id = 'mallory', entry_hash = ? WHERE seq = 2").run(hash);
    db.close();
    const r = AuditStore.open(file).verify();
    assert.equal(r.firstBroken?.seq, 3);
    assert.match(r.firstBroken!.reason, /row 2/);
  });

  it('detects deleted rows (middle, first) and a reordered link', () => {
    const a = freshStore(5);
    a.store.close();
    tamper(a.file, 'DELETE FROM audit_events WHERE seq = 3');
    assert.equal(AuditStore.open(a.file).verify().firstBroken?.seq, 4);

    const b = freshStore(3);
    b.store.close();
    tamper(b.file, 'DELETE FROM audit_events WHERE seq = 1');
    assert.equal(AuditStore.open(b.file).verify().firstBroken?.seq, 2);
  });

  it('detects rows cut from the end of the log through the head anchor', () => {
    const a = freshStore(5);
    a.store.close();
    tamper(a.file, 'DELETE FROM audit_events WHERE seq >= 4');
    const cut = AuditStore.open(a.file, { repairTriggers: false }).verify();
    assert.equal(cut.ok, false);
    assert.equal(cut.firstBroken?.seq, 4);
    assert.match(cut.firstBroken!.reason, /rows 4\.\.5 are missing/);
  });

  it('refuses a missing or forged head anchor, and accepts a lagging one', () => {
    const a = freshStore(3);
    a.store.close();
    rmSync(headAnchorPath(a.file));
    const missing = AuditStore.open(a.file, { repairTriggers: false }).verify();
    assert.equal(missing.ok, false);
    assert.match(missing.firstBroken!.reason, /head anchor .* missing/);

    const b = freshStore(3);
    b.store.close();
    writeFileSync(headAnchorPath(b.file), JSON.stringify({ seq: 2, entryHash: 'f'.repeat(64) }));
    assert.equal(AuditStore.open(b.file, { repairTriggers: false }).verify().firstBroken?.seq, 2);

    // A second writer may leave the anchor one row behind: rows past the anchor are still chained, so that is fine.
    const c = freshStore(3);
    const second = c.store.list({ limit: 1, beforeSeq: 3 }).events[0];
    c.store.close();
    writeFileSync(headAnchorPath(c.file), JSON.stringify({ seq: second.seq, entryHash: second.entryHash }));
    assert.deepEqual(AuditStore.open(c.file, { repairTriggers: false }).verify(), { ok: true, rows: 3 });
  });

  it('re-creates dropped triggers on open, and the services record a Security Alert', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfp-audit-svc-'));
    createServices({ dataDir: dir, host: 'browser', user: { id: 'u', role: 'r' } }).close();
    tamper(join(dir, 'audit.sqlite'), 'SELECT 1');
    const services = createServices({ dataDir: dir, host: 'browser', user: { id: 'u', role: 'r' } });
    assert.deepEqual(services.audit.missingTriggers(), []);
    const alerts = services.audit.list({ eventCode: EVENT_ID.securityAlert.code }).events;
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].eventTypeCode?.code, '110129');
    assert.equal(alerts[0].outcome, 'serious-failure');
    assert.equal(services.audit.verify().ok, true);
    services.close();
  });

  it('lists newest first with filters and paging', () => {
    const { store } = freshStore(6);
    const page1 = store.list({ limit: 2 });
    assert.deepEqual(page1.events.map((e) => e.seq), [6, 5]);
    assert.equal(page1.total, 6);
    assert.deepEqual(store.list({ limit: 2, beforeSeq: 5 }).events.map((e) => e.seq), [4, 3]);
    const accessed = store.list({ eventCode: '110103' });
    assert.equal(accessed.total, 5);
    const byPatient = store.list({ participantId: 'P0' });
    // Rows 2..6 access studies i = 1..5 of patient P(i % 2): P0 at i = 2, 4, i.e. seq 3 and 5.
    assert.deepEqual(byPatient.events.map((e) => e.seq), [5, 3]);
    assert.ok(byPatient.events.every((e) => e.participants.some((p) => p.id === 'P0')));
    assert.equal(byPatient.total, 2);
    store.close();
  });

  it('removes head-anchor temp files of killed writers at open, and keeps a live writer\'s', () => {
    const { store, file } = freshStore(2);
    store.close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    const live = process.ppid;
    for (const pid of [dead, live]) writeFileSync(`${headAnchorPath(file)}.${pid}.tmp`, '{"seq":1');
    writeFileSync(`${headAnchorPath(file)}.notapid.tmp`, 'unrelated');
    const reopened = AuditStore.open(file);
    assert.equal(existsSync(`${headAnchorPath(file)}.${dead}.tmp`), false);
    assert.equal(existsSync(`${headAnchorPath(file)}.${live}.tmp`), true);
    assert.equal(existsSync(`${headAnchorPath(file)}.notapid.tmp`), true);
    assert.equal(reopened.verify().ok, true);
    reopened.close();
    assert.ok(readdirSync(join(file, '..')).includes('audit.sqlite.head'));
  });

  it('canonical JSON is independent of key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } }), '{"a":{"d":[1,{"e":3,"f":2}]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  });
});
