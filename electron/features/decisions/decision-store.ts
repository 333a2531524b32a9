/**
 * Radiologists' decisions on AI results and the confirmed cases they produce, in their own SQLite file
 * (dataDir/decisions.sqlite).
 *
 *   decisions        every decision ever made, append-only (UPDATE/DELETE refused by triggers): the history
 *   confirmed_cases  one row per slice whose latest decision accepted or corrected a label; a later dismissal
 *                    removes it, a later decision replaces it (with a new id). This table is what the FL agent
 *                    reads (ConfirmedCasesReader): no other path gives it labels.
 * Both change in one transaction, so a confirmed case always has the decision it came from.
 */
import { join } from 'node:path';
import { openDatabase, type Db, type Migration } from '../../node/store/sqlite.js';
import type { CaseLabel, ConfirmedCase, ConfirmedCasesReader, Decision, DecisionAction } from './api.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'decisions (append-only) and confirmed cases',
    sql: `
CREATE TABLE decisions (
  id INTEGER PRIMARY KEY,
  sop_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  scan_created_utc TEXT NOT NULL,
  ai_label TEXT NOT NULL,
  ai_flagged INTEGER NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('accept', 'override', 'dismiss')),
  final_label TEXT CHECK (final_label IN ('no-tumour', 'tumour')),
  reason TEXT,
  decided_by TEXT NOT NULL,
  decided_by_name TEXT NOT NULL,
  decided_role TEXT NOT NULL,
  decided_utc TEXT NOT NULL,
  CHECK ((action = 'dismiss') = (final_label IS NULL))
);
CREATE INDEX decisions_series ON decisions (series_uid, sop_uid, id);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TABLE confirmed_cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sop_uid TEXT NOT NULL UNIQUE,
  series_uid TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  label TEXT NOT NULL CHECK (label IN ('no-tumour', 'tumour')),
  source TEXT NOT NULL CHECK (source IN ('accepted', 'corrected')),
  decision_id INTEGER NOT NULL REFERENCES decisions (id),
  decided_by TEXT NOT NULL,
  decided_utc TEXT NOT NULL
);`,
  },
];

interface DecisionRow {
  id: number;
  sop_uid: string;
  series_uid: string;
  study_uid: string;
  scan_created_utc: string;
  ai_label: CaseLabel;
  ai_flagged: number;
  action: DecisionAction;
  final_label: CaseLabel | null;
  reason: string | null;
  decided_by: string;
  decided_by_name: string;
  decided_role: string;
  decided_utc: string;
}

interface CaseRow {
  id: number;
  sop_uid: string;
  series_uid: string;
  study_uid: string;
  label: CaseLabel;
  source: 'accepted' | 'corrected';
  decision_id: number;
  decided_by: string;
  decided_utc: string;
}

const toDecision = (r: DecisionRow): Decision => ({
  id: r.id, sopInstanceUid: r.sop_uid, seriesInstanceUid: r.series_uid, studyInstanceUid: r.study_uid, scanCreatedUtc: r.scan_created_utc,
  aiLabel: r.ai_label, aiFlagged: r.ai_flagged !== 0, action: r.action, finalLabel: r.final_label, reason: r.reason,
  decidedBy: r.decided_by, decidedByName: r.decided_by_name, decidedRole: r.decided_role, decidedUtc: r.decided_utc,
});

const toCase = (r: CaseRow): ConfirmedCase => ({
  id: r.id, sopInstanceUid: r.sop_uid, seriesInstanceUid: r.series_uid, studyInstanceUid: r.study_uid, label: r.label, source: r.source,
  decisionId: r.decision_id, decidedBy: r.decided_by, decidedUtc: r.decided_utc, pixels: { kind: 'study-store-instance', sopInstanceUid: r.sop_uid },
});

export type NewDecision = Omit<Decision, 'id'>;

export class DecisionStore implements ConfirmedCasesReader {
  private constructor(private readonly db: Db) {}

  static open(dataDir: string): DecisionStore {
    return new DecisionStore(openDatabase(join(dataDir, 'decisions.sqlite'), MIGRATIONS));
  }

  /** Appends a decision and updates the slice's confirmed case, atomically. */
  record(d: NewDecision): Decision {
    return this.db.transaction((): Decision => {
      const { lastInsertRowid } = this.db
        .prepare(`INSERT INTO decisions (sop_uid, series_uid, study_uid, scan_created_utc, ai_label, ai_flagged, action, final_label, reason,
                    decided_by, decided_by_name, decided_role, decided_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(d.sopInstanceUid, d.seriesInstanceUid, d.studyInstanceUid, d.scanCreatedUtc, d.aiLabel, d.aiFlagged ? 1 : 0, d.action, d.finalLabel, d.reason,
          d.decidedBy, d.decidedByName, d.decidedRole, d.decidedUtc);
      const id = Number(lastInsertRowid);
      this.db.prepare('DELETE FROM confirmed_cases WHERE sop_uid = ?').run(d.sopInstanceUid);
      if (d.finalLabel !== null) {
        this.db
          .prepare('INSERT INTO confirmed_cases (sop_uid, series_uid, study_uid, label, source, decision_id, decided_by, decided_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(d.sopInstanceUid, d.seriesInstanceUid, d.studyInstanceUid, d.finalLabel, d.action === 'accept' ? 'accepted' : 'corrected', id, d.decidedBy, d.decidedUtc);
      }
      return { ...d, id };
    }).immediate();
  }

  /** The latest decision per slice of a series. */
  forSeries(seriesInstanceUid: string): Decision[] {
    return (this.db
      .prepare('SELECT * FROM decisions WHERE id IN (SELECT max(id) FROM decisions WHERE series_uid = ? GROUP BY sop_uid) ORDER BY id')
      .all(seriesInstanceUid) as DecisionRow[]).map(toDecision);
  }

  /** Every decision on one slice, oldest first. */
  history(sopInstanceUid: string): Decision[] {
    return (this.db.prepare('SELECT * FROM decisions WHERE sop_uid = ? ORDER BY id').all(sopInstanceUid) as DecisionRow[]).map(toDecision);
  }

  listConfirmedCases(query: { afterId?: number; limit?: number } = {}): ConfirmedCase[] {
    const limit = Math.max(1, Math.min(query.limit ?? 1000, 100_000));
    return (this.db.prepare('SELECT * FROM confirmed_cases WHERE id > ? ORDER BY id LIMIT ?').all(query.afterId ?? 0, limit) as CaseRow[]).map(toCase);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
