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
import type { AuditEvent, AuditOutcome, AuditQuery, AuditVerifyResult } from '../api.js';
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
];

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
    return new AuditStore(openDatabase(file, MIGRATIONS), headAnchorPath(file), opts);
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

  /** Walks the whole chain in seq order; reports the first row whose contents or link do not match. */
  verify(): AuditVerifyResult {
    const anchor = readHeadAnchor(this.anchorFile);
    let expectedPrev = GENESIS_HASH;
    let previousSeq = 0;
    let rows = 0;
    for (const r of this.db.prepare('SELECT * FROM audit_events ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      rows++;
      if (r.seq !== previousSeq + 1) {
        return { ok: false, rows, firstBroken: { seq: r.seq, reason: `seq jumps from ${previousSeq} to ${r.seq}: row(s) removed before this one` } };
      }
      const { entry_hash, ...rest } = r;
      if (computeEntryHash(rest) !== entry_hash) {
        return { ok: false, rows, firstBroken: { seq: r.seq, reason: 'entry_hash does not match the row contents: this row was modified' } };
      }
      if (r.prev_hash !== expectedPrev) {
        return {
          ok: false,
          rows,
          firstBroken: {
            seq: r.seq,
            reason: previousSeq === 0 ? 'first row does not link to the genesis hash: rows removed before it' : `prev_hash does not match the entry_hash of row ${previousSeq}: that row or this one was altered, or rows were removed or reordered`,
          },
        };
      }
      if (anchor !== undefined && anchor !== 'unreadable' && r.seq === anchor.seq && entry_hash !== anchor.entryHash) {
        return { ok: false, rows, firstBroken: { seq: r.seq, reason: 'entry_hash differs from the head anchor: the log was rewritten from this row on' } };
      }
      expectedPrev = entry_hash;
      previousSeq = r.seq;
    }
    if (anchor === 'unreadable') {
      return { ok: false, rows, firstBroken: { seq: previousSeq + 1, reason: `head anchor ${this.anchorFile} is unreadable: the end of the log cannot be confirmed` } };
    }
    if (anchor === undefined && rows > 0) {
      return { ok: false, rows, firstBroken: { seq: previousSeq + 1, reason: `head anchor ${this.anchorFile} is missing: rows may have been removed from the end` } };
    }
    if (anchor !== undefined && previousSeq < anchor.seq) {
      return {
        ok: false,
        rows,
        firstBroken: { seq: previousSeq + 1, reason: `rows ${previousSeq + 1}..${anchor.seq} are missing: the log was cut after row ${previousSeq} (head anchor records row ${anchor.seq})` },
      };
    }
    return { ok: true, rows };
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
