/**
 * The tamper-evident audit log: an append-only SQLite table (its own file, dataDir/audit.sqlite) whose rows
 * form a SHA-256 hash chain.
 *
 *   entry_hash = sha256_hex(prev_hash || canonical_json(row fields except the two hashes))
 *   prev_hash  = the previous row's entry_hash; "0" × 64 for the first row (genesis)
 *
 * BEFORE UPDATE / BEFORE DELETE triggers refuse changes through SQL. They stop accidents, not attackers (anyone
 * with the file can drop them), so `verify()` walks the chain and names the first row whose contents or link
 * do not match. Appends run in an IMMEDIATE transaction (read the head, insert the next row), so several
 * processes (the host and a CLI import) can append safely.
 *
 * The chain alone cannot show rows cut from the END of the log. So after every append the store also writes a
 * head anchor beside the database (`<file>.head`, JSON { seq, entryHash }, replaced atomically): `verify()` then
 * requires the anchored row to exist with that hash. Concurrent writers may leave the anchor one row behind the
 * newest row; that is harmless, since only rows up to the anchor are vouched for. An anchor is a local witness, not
 * an external one: it raises the bar (both files must be forged consistently); forwarding the head hash to an
 * external audit repository (ATNA syslog) is what makes truncation provable to a third party.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AuditEvent, AuditOutcome, AuditQuery, AuditVerifyResult, ChainBreak } from '../api.js';
import { openDatabase, type Db, type Migration } from '../../node/store/sqlite.js';
import { canonicalJson } from '../../../native-models/src/core/canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

const TRIGGERS_SQL = `
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END;
`;
const TRIGGER_NAMES = ['audit_events_no_update', 'audit_events_no_delete'];

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit_events hash chain with append-only triggers',
    sql: `
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  event_code TEXT NOT NULL,
  event_system TEXT NOT NULL,
  event_meaning TEXT NOT NULL,
  event_type_code TEXT,
  event_type_system TEXT,
  event_type_meaning TEXT,
  action TEXT NOT NULL CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'minor-failure', 'serious-failure', 'major-failure')),
  time_utc TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_role TEXT NOT NULL,
  workstation TEXT NOT NULL,
  participants TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  entry_hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_events_event_code ON audit_events (event_code);
${TRIGGERS_SQL}`,
  },
  {
    version: 2,
    description: 'indexes for compliance review: time, user, outcome, event type; participant index table',
    // audit_participants is derived from audit_events.participants (which the hash covers) in the same transaction
    // as each append, so prefix search by patient or study does not scan JSON. It is an index, not evidence:
    // verify() checks the chain, and a row missing here only hides a match.
    sql: `
CREATE INDEX audit_events_time ON audit_events (time_utc);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
CREATE INDEX audit_events_type ON audit_events (event_type_code, seq);
CREATE TABLE audit_participants (
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL
);
CREATE INDEX audit_participants_id ON audit_participants (id, seq);
CREATE INDEX audit_participants_seq ON audit_participants (seq);
INSERT INTO audit_participants (seq, type, id)
  SELECT e.seq, json_extract(p.value, '$.type'), json_extract(p.value, '$.id') FROM audit_events e, json_each(e.participants) p;
CREATE TRIGGER audit_participants_no_update BEFORE UPDATE ON audit_participants
BEGIN SELECT RAISE(ABORT, 'audit_participants is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_participants_no_delete BEFORE DELETE ON audit_participants
BEGIN SELECT RAISE(ABORT, 'audit_participants is append-only: DELETE refused'); END;`,
  },
  {
    version: 3,
    description: 'chain breaks found by checks, and their acknowledgement by an admin',
    // Bookkeeping beside the chain, not part of it: finding a break and acknowledging it are each also audited rows.
    sql: `
CREATE TABLE chain_breaks (
  id INTEGER PRIMARY KEY,
  detected_utc TEXT NOT NULL,
  first_broken_seq INTEGER NOT NULL,
  reason TEXT NOT NULL,
  alert_seq INTEGER,
  ack_by TEXT,
  ack_utc TEXT,
  ack_note TEXT
);`,
  },
];

/**
 * A compliance filter over the log (every field optional, all combined with AND). Times are ISO 8601 UTC and
 * compared as stored (`toISOString()` form); `participant` and `userId` match as prefixes of a participant's id
 * (Patient ID, Study / SOP Instance UID, username) and exact user id respectively.
 */
export interface AuditFilter {
  fromUtc?: string;
  toUtc?: string;
  userId?: string;
  participant?: string;
  eventCode?: string;
  eventTypeCode?: string;
  outcome?: AuditOutcome;
}

/** What a caller supplies; seq, time (unless given) and hashes are filled in by the store. */
export interface AuditEventInput {
  eventId: AuditEvent['eventId'];
  eventTypeCode?: AuditEvent['eventTypeCode'];
  action: AuditEvent['action'];
  outcome: AuditOutcome;
  userId: string;
  userRole: string;
  workstation: string;
  participants?: AuditEvent['participants'];
  details?: Record<string, unknown>;
  timeUtc?: string;
}

/** One row exactly as stored. */
interface AuditRow {
  seq: number;
  event_code: string;
  event_system: string;
  event_meaning: string;
  event_type_code: string | null;
  event_type_system: string | null;
  event_type_meaning: string | null;
  action: string;
  outcome: string;
  time_utc: string;
  user_id: string;
  user_role: string;
  workstation: string;
  participants: string;
  details: string;
  prev_hash: string;
  entry_hash: string;
}

/** The hash of a row: covers every column except entry_hash, with prev_hash as the chain link. */
export function computeEntryHash(row: Omit<AuditRow, 'entry_hash'>): string {
  const { prev_hash, ...fields } = row;
  return createHash('sha256').update(prev_hash).update(canonicalJson(fields)).digest('hex');
}

function toEvent(r: AuditRow): AuditEvent {
  const e: AuditEvent = {
    seq: r.seq,
    eventId: { code: r.event_code, system: r.event_system, meaning: r.event_meaning },
    action: r.action as AuditEvent['action'],
    outcome: r.outcome as AuditOutcome,
    timeUtc: r.time_utc,
    userId: r.user_id,
    userRole: r.user_role,
    workstation: r.workstation,
    participants: safeParse(r.participants, []) as AuditEvent['participants'],
    details: safeParse(r.details, {}) as Record<string, unknown>,
    prevHash: r.prev_hash,
    entryHash: r.entry_hash,
  };
  if (r.event_type_code !== null) e.eventTypeCode = { code: r.event_type_code, system: r.event_type_system ?? '', meaning: r.event_type_meaning ?? '' };
  return e;
}

function safeParse(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

export interface AuditStoreOptions {
  /** Called after each committed append (the services forward it as the 'audit.appended' event). */
  onAppend?: (event: AuditEvent) => void;
  /** Re-create missing append-only triggers on open (default true; `audit verify` inspects without repairing). */
  repairTriggers?: boolean;
}

/** The head anchor written beside the audit database after each append (see the file comment). */
export interface AuditHeadAnchor {
  seq: number;
  entryHash: string;
}

export function headAnchorPath(dbFile: string): string {
  return `${dbFile}.head`;
}

function writeHeadAnchor(file: string, anchor: AuditHeadAnchor): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(anchor));
  renameSync(tmp, file);
}

/** True when a process with this id is running (signal 0 only checks; EPERM means it exists but is not ours). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<anchor>.<pid>.tmp` files left by writers killed between write and rename (their process is gone; a
 * live writer's temp file is left alone). Returns the names removed.
 */
export function removeStaleAnchorTemps(anchorFile: string): string[] {
  const dir = dirname(anchorFile);
  const prefix = `${basename(anchorFile)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const middle = name.startsWith(prefix) && name.endsWith('.tmp') ? name.slice(prefix.length, -'.tmp'.length) : '';
    if (!/^[0-9]{1,10}$/.test(middle)) continue;
    const pid = Number(middle);
    if (pid !== process.pid && processAlive(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      /* another opener removed it first */
    }
  }
  return removed;
}

/** Reads the anchor; `undefined` when absent, 'unreadable' when present but not a valid anchor. */
function readHeadAnchor(file: string): AuditHeadAnchor | 'unreadable' | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const a = JSON.parse(readFileSync(file, 'utf8')) as Partial<AuditHeadAnchor>;
    if (typeof a.seq === 'number' && Number.isInteger(a.seq) && a.seq > 0 && typeof a.entryHash === 'string' && /^[0-9a-f]{64}$/.test(a.entryHash)) {
      return { seq: a.seq, entryHash: a.entryHash };
    }
  } catch {
    /* fall through */
  }
  return 'unreadable';
}

export class AuditStore {
  private readonly db: Db;
  private readonly anchorFile: string;
  private readonly onAppend?: (event: AuditEvent) => void;
  /** Names of append-only triggers that were missing when the store was opened (then re-created). */
  readonly missingTriggersAtOpen: string[];

  private constructor(db: Db, anchorFile: string, opts: AuditStoreOptions) {
    this.db = db;
    this.anchorFile = anchorFile;
    this.onAppend = opts.onAppend;
    this.missingTriggersAtOpen = this.missingTriggers();
    if (this.missingTriggersAtOpen.length > 0 && opts.repairTriggers !== false) db.exec(TRIGGERS_SQL);
  }

  /** Opens (creating if needed) the audit database. Missing triggers are re-created; see `missingTriggersAtOpen`. */
  static open(file: string, opts: AuditStoreOptions = {}): AuditStore {
    removeStaleAnchorTemps(headAnchorPath(file));
    const db = openDatabase(file, MIGRATIONS);
    // Fresh planner statistics for the review's filters (SQLite's advice for long-lived connections: optimize at
    // open with 0x10002; it analyzes only tables whose statistics are missing or stale, so it is cheap when current).
    db.pragma('optimize = 0x10002');
    return new AuditStore(db, headAnchorPath(file), opts);
  }

  /** Trigger names that should exist but do not (someone dropped them). */
  missingTriggers(): string[] {
    const present = new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'").all() as Array<{ name: string }>).map((r) => r.name));
    return TRIGGER_NAMES.filter((n) => !present.has(n));
  }

  append(input: AuditEventInput): AuditEvent {
    const tx = this.db.transaction((): AuditRow => {
      const head = this.db.prepare('SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; entry_hash: string } | undefined;
      const base: Omit<AuditRow, 'entry_hash'> = {
        seq: (head?.seq ?? 0) + 1,
        event_code: input.eventId.code,
        event_system: input.eventId.system,
        event_meaning: input.eventId.meaning,
        event_type_code: input.eventTypeCode?.code ?? null,
        event_type_system: input.eventTypeCode?.system ?? null,
        event_type_meaning: input.eventTypeCode?.meaning ?? null,
        action: input.action,
        outcome: input.outcome,
        time_utc: input.timeUtc ?? new Date().toISOString(),
        user_id: input.userId,
        user_role: input.userRole,
        workstation: input.workstation,
        participants: canonicalJson(input.participants ?? []),
        details: canonicalJson(input.details ?? {}),
        prev_hash: head?.entry_hash ?? GENESIS_HASH,
      };
      const row: AuditRow = { ...base, entry_hash: computeEntryHash(base) };
      this.db
        .prepare(
          `INSERT INTO audit_events (seq, event_code, event_system, event_meaning, event_type_code, event_type_system,
             event_type_meaning, action, outcome, time_utc, user_id, user_role, workstation, participants, details,
             prev_hash, entry_hash)
           VALUES (@seq, @event_code, @event_system, @event_meaning, @event_type_code, @event_type_system,
             @event_type_meaning, @action, @outcome, @time_utc, @user_id, @user_role, @workstation, @participants,
             @details, @prev_hash, @entry_hash)`,
        )
        .run(row);
      const part = this.db.prepare('INSERT INTO audit_participants (seq, type, id) VALUES (?, ?, ?)');
      for (const p of input.participants ?? []) part.run(row.seq, p.type, p.id);
      return row;
    });
    const event = toEvent(tx.immediate());
    try {
      writeHeadAnchor(this.anchorFile, { seq: event.seq, entryHash: event.entryHash });
    } catch (err) {
      // The row is committed; a stale anchor only vouches for fewer rows. Say so loudly rather than fail the caller.
      console.error('medfedpure: could not update the audit head anchor', err);
    }
    try {
      this.onAppend?.(event);
    } catch (err) {
      console.error('medfedpure: audit onAppend listener failed', err);
    }
    return event;
  }

  list(query: AuditQuery = {}): { events: AuditEvent[]; total: number } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (query.eventCode !== undefined) {
      where.push('event_code = @eventCode');
      params.eventCode = query.eventCode;
    }
    if (query.participantId !== undefined) {
      where.push("EXISTS (SELECT 1 FROM json_each(audit_events.participants) p WHERE json_extract(p.value, '$.id') = @participantId)");
      params.participantId = query.participantId;
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM audit_events ${filter}`).get(params) as { n: number }).n;
    const page = [...where];
    if (query.beforeSeq !== undefined) {
      page.push('seq < @beforeSeq');
      params.beforeSeq = query.beforeSeq;
    }
    params.limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
    const rows = this.db
      .prepare(`SELECT * FROM audit_events ${page.length ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`)
      .all(params) as AuditRow[];
    return { events: rows.map(toEvent), total };
  }

  /** SQL WHERE parts and parameters for a filter (uses the indexes of migration 2). */
  private where(f: AuditFilter): { parts: string[]; params: Record<string, unknown> } {
    const parts: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.fromUtc !== undefined) (parts.push('time_utc >= @fromUtc'), (params.fromUtc = f.fromUtc));
    if (f.toUtc !== undefined) (parts.push('time_utc < @toUtc'), (params.toUtc = f.toUtc));
    if (f.userId !== undefined) (parts.push('user_id = @userId'), (params.userId = f.userId));
    if (f.eventCode !== undefined) (parts.push('event_code = @eventCode'), (params.eventCode = f.eventCode));
    if (f.eventTypeCode !== undefined) (parts.push('event_type_code = @eventTypeCode'), (params.eventTypeCode = f.eventTypeCode));
    if (f.outcome !== undefined) (parts.push('outcome = @outcome'), (params.outcome = f.outcome));
    if (f.participant !== undefined) {
      // Prefix match on the participant index: [p, p + U+FFFF) is a range scan of audit_participants_id.
      parts.push('seq IN (SELECT seq FROM audit_participants WHERE id >= @pFrom AND id < @pTo)');
      params.pFrom = f.participant;
      params.pTo = `${f.participant}\uffff`;
    }
    return { parts, params };
  }

  /** One page of events matching `filter`, newest first (keyset paging on seq), and how many match in all. */
  search(filter: AuditFilter, page: { beforeSeq?: number; limit?: number } = {}): { events: AuditEvent[]; total: number } {
    const { parts, params } = this.where(filter);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM audit_events ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''}`).get(params) as { n: number }).n;
    if (page.beforeSeq !== undefined) (parts.push('seq < @beforeSeq'), (params.beforeSeq = page.beforeSeq));
    params.limit = Math.max(1, Math.min(page.limit ?? 100, 1000));
    const rows = this.db.prepare(`SELECT * FROM audit_events ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`).all(params) as AuditRow[];
    return { events: rows.map(toEvent), total };
  }

  /** Every event matching `filter`, oldest first, without holding them all in memory (exports). */
  *iterate(filter: AuditFilter): Generator<AuditEvent> {
    const { parts, params } = this.where(filter);
    for (const r of this.db.prepare(`SELECT * FROM audit_events ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''} ORDER BY seq`).iterate(params) as IterableIterator<AuditRow>) {
      yield toEvent(r);
    }
  }

  /** Matching events per UTC day and event id, for the last `days` days that have any (oldest first). */
  perDay(filter: AuditFilter, days = 90): Array<{ day: string; code: string; meaning: string; count: number }> {
    const { parts, params } = this.where(filter);
    const rows = this.db
      .prepare(`SELECT substr(time_utc, 1, 10) AS day, event_code AS code, max(event_meaning) AS meaning, count(*) AS count FROM audit_events
                ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''} GROUP BY day, code ORDER BY day`)
      .all(params) as Array<{ day: string; code: string; meaning: string; count: number }>;
    const keep = new Set([...new Set(rows.map((r) => r.day))].slice(-days));
    return rows.filter((r) => keep.has(r.day));
  }

  /** Up to `limit` events after `seq`, oldest first (the forwarder's queue). */
  after(seq: number, limit: number): AuditEvent[] {
    return (this.db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as AuditRow[]).map(toEvent);
  }

  /** The distinct event ids and users in the log (compliance review's filter choices). */
  facets(): { events: Array<{ code: string; meaning: string; count: number }>; users: Array<{ userId: string; userRole: string; count: number }> } {
    const events = this.db.prepare('SELECT event_code AS code, event_meaning AS meaning, count(*) AS count FROM audit_events GROUP BY event_code, event_meaning ORDER BY event_code').all() as Array<{ code: string; meaning: string; count: number }>;
    const users = this.db.prepare('SELECT user_id AS userId, max(user_role) AS userRole, count(*) AS count FROM audit_events GROUP BY user_id ORDER BY user_id LIMIT 500').all() as Array<{ userId: string; userRole: string; count: number }>;
    return { events, users };
  }

  /** The newest row's seq and hash (genesis: 0 and the genesis hash). */
  head(): { seq: number; entryHash: string } {
    const h = this.db.prepare('SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; entry_hash: string } | undefined;
    return h ? { seq: h.seq, entryHash: h.entry_hash } : { seq: 0, entryHash: GENESIS_HASH };
  }

  /**
   * Checks only the rows after a verified point (seq, entry hash): each must follow the previous one with a matching
   * hash. The live chain status uses it after each append, so it stays current without re-reading the whole log.
   */
  verifyFrom(after: { seq: number; entryHash: string }): { ok: true; head: { seq: number; entryHash: string }; rows: number } | { ok: false; firstBroken: { seq: number; reason: string } } {
    let prevSeq = after.seq;
    let prevHash = after.entryHash;
    let rows = 0;
    for (const r of this.db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq').iterate(after.seq) as IterableIterator<AuditRow>) {
      rows++;
      if (r.seq !== prevSeq + 1) return { ok: false, firstBroken: { seq: r.seq, reason: `seq jumps from ${prevSeq} to ${r.seq}: row(s) removed before this one` } };
      const { entry_hash, ...rest } = r;
      if (computeEntryHash(rest) !== entry_hash) return { ok: false, firstBroken: { seq: r.seq, reason: 'entry_hash does not match the row contents: this row was modified' } };
      if (r.prev_hash !== prevHash) return { ok: false, firstBroken: { seq: r.seq, reason: `prev_hash does not match the entry_hash of row ${prevSeq}` } };
      prevSeq = r.seq;
      prevHash = entry_hash;
    }
    return { ok: true, head: { seq: prevSeq, entryHash: prevHash }, rows };
  }

  /** Walks the whole chain in seq order; reports the first row whose contents or link do not match. */
  verify(): AuditVerifyResult {
    const steps = this.verifySteps(Number.MAX_SAFE_INTEGER);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value.result;
    }
  }

  /**
   * The same walk as `verify`, `chunk` rows at a time: yields the rows checked so far after each chunk (a caller can
   * let other work run between chunks: the connection is free between them), and returns the result with the last
   * row it vouched for. Rows appended during the walk are walked too.
   */
  *verifySteps(chunk = 5000): Generator<number, { result: AuditVerifyResult; last: { seq: number; entryHash: string } }> {
    const anchor = readHeadAnchor(this.anchorFile);
    let expectedPrev = GENESIS_HASH;
    let previousSeq = 0;
    let rows = 0;
    const stop = (seq: number, reason: string) => ({ result: { ok: false, rows, firstBroken: { seq, reason } }, last: { seq: previousSeq, entryHash: expectedPrev } });
    const next = this.db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?');
    for (;;) {
      const batch = next.all(previousSeq, Math.min(chunk, 1_000_000)) as AuditRow[];
      for (const r of batch) {
        rows++;
        if (r.seq !== previousSeq + 1) return stop(r.seq, `seq jumps from ${previousSeq} to ${r.seq}: row(s) removed before this one`);
        const { entry_hash, ...rest } = r;
        if (computeEntryHash(rest) !== entry_hash) return stop(r.seq, 'entry_hash does not match the row contents: this row was modified');
        if (r.prev_hash !== expectedPrev) {
          return stop(r.seq, previousSeq === 0 ? 'first row does not link to the genesis hash: rows removed before it' : `prev_hash does not match the entry_hash of row ${previousSeq}: that row or this one was altered, or rows were removed or reordered`);
        }
        if (anchor !== undefined && anchor !== 'unreadable' && r.seq === anchor.seq && entry_hash !== anchor.entryHash) {
          return stop(r.seq, 'entry_hash differs from the head anchor: the log was rewritten from this row on');
        }
        expectedPrev = entry_hash;
        previousSeq = r.seq;
      }
      if (batch.length < Math.min(chunk, 1_000_000)) break;
      yield rows;
    }
    if (anchor === 'unreadable') return stop(previousSeq + 1, `head anchor ${this.anchorFile} is unreadable: the end of the log cannot be confirmed`);
    if (anchor === undefined && rows > 0) return stop(previousSeq + 1, `head anchor ${this.anchorFile} is missing: rows may have been removed from the end`);
    if (anchor !== undefined && previousSeq < anchor.seq) {
      return stop(previousSeq + 1, `rows ${previousSeq + 1}..${anchor.seq} are missing: the log was cut after row ${previousSeq} (head anchor records row ${anchor.seq})`);
    }
    return { result: { ok: true, rows }, last: { seq: previousSeq, entryHash: expectedPrev } };
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
  }

  /** Records a break found by a check, unless the same break (row and reason) is already recorded. Returns it. */
  recordBreak(b: { detectedUtc: string; firstBrokenSeq: number; reason: string }, alertSeq: () => number | null): { created: boolean; id: number } {
    const existing = this.db.prepare('SELECT id FROM chain_breaks WHERE first_broken_seq = ? AND reason = ?').get(b.firstBrokenSeq, b.reason) as { id: number } | undefined;
    if (existing) return { created: false, id: existing.id };
    const id = Number(this.db.prepare('INSERT INTO chain_breaks (detected_utc, first_broken_seq, reason) VALUES (?, ?, ?)').run(b.detectedUtc, b.firstBrokenSeq, b.reason).lastInsertRowid);
    this.db.prepare('UPDATE chain_breaks SET alert_seq = ? WHERE id = ?').run(alertSeq(), id);
    return { created: true, id };
  }

  breaks(limit = 20): ChainBreak[] {
    const rows = this.db.prepare('SELECT * FROM chain_breaks ORDER BY id DESC LIMIT ?').all(limit) as Array<{
      id: number; detected_utc: string; first_broken_seq: number; reason: string; alert_seq: number | null; ack_by: string | null; ack_utc: string | null; ack_note: string | null;
    }>;
    return rows.map((r) => ({
      id: r.id, detectedUtc: r.detected_utc, firstBrokenSeq: r.first_broken_seq, reason: r.reason, alertSeq: r.alert_seq,
      acknowledged: r.ack_by !== null ? { by: r.ack_by, utc: r.ack_utc ?? '', note: r.ack_note ?? '' } : null,
    }));
  }

  /** Marks a break acknowledged; false when there is no such unacknowledged break. */
  acknowledgeBreak(id: number, by: string, utc: string, note: string): boolean {
    return this.db.prepare('UPDATE chain_breaks SET ack_by = ?, ack_utc = ?, ack_note = ? WHERE id = ? AND ack_by IS NULL').run(by, utc, note, id).changes === 1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
