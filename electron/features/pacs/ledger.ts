/**
 * The PACS ledger (dataDir/pacs.sqlite): what was retrieved from which endpoint and whether it is complete, and
 * what was sent where. The study store knows instances only; completeness of a retrieved series lives here:
 *
 *  - a series retrieval is recorded 'in-progress' with the SOP Instance UIDs the PACS listed before any byte is
 *    fetched, and marked 'complete' only after every one of them is in the study store; a failure or cancel leaves
 *    it 'incomplete' with the error, so nothing half-retrieved ever reads as complete, and a retry fetches only the
 *    missing instances;
 *  - each STOW-RS send is recorded (series or AI report), for the study list's "in PACS" marker and so a study's
 *    instance count on the PACS can be compared with the local one;
 *  - AI reports (our DICOM SRs) found on a PACS when a study is retrieved, or sent there, are kept read back, so the
 *    study shows them again (the study store holds images only).
 */
import { join } from 'node:path';
import { openDatabase, type Db, type Migration } from '../../node/store/sqlite.js';
import type { PacsReport } from './api.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'series retrievals and sends',
    sql: `
CREATE TABLE retrievals (
  series_uid TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in-progress', 'complete', 'incomplete')),
  expected_json TEXT NOT NULL,
  expected INTEGER NOT NULL,
  received INTEGER NOT NULL,
  started_utc TEXT NOT NULL,
  finished_utc TEXT,
  error TEXT,
  PRIMARY KEY (series_uid, endpoint_id)
);
CREATE INDEX retrievals_study ON retrievals (study_uid);
CREATE TABLE sends (
  id INTEGER PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('series', 'report')),
  sop_uids_json TEXT NOT NULL,
  sent_utc TEXT NOT NULL
);
CREATE INDEX sends_study ON sends (study_uid);
`,
  },
  {
    version: 2,
    description: 'AI reports read back from PACS',
    sql: `
CREATE TABLE reports (
  sop_uid TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  source_series_uid TEXT NOT NULL,
  content_json TEXT NOT NULL,
  received_utc TEXT NOT NULL
);
CREATE INDEX reports_series ON reports (source_series_uid);
CREATE TABLE non_image_series (
  series_uid TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  instances INTEGER NOT NULL,
  PRIMARY KEY (series_uid, endpoint_id)
);
CREATE INDEX non_image_study ON non_image_series (study_uid);
`,
  },
];

export type RetrievalState = 'in-progress' | 'complete' | 'incomplete';

export interface RetrievalRow {
  seriesInstanceUid: string;
  endpointId: string;
  studyInstanceUid: string;
  state: RetrievalState;
  expected: string[];
  received: number;
  error?: string;
}

export class PacsLedger {
  private readonly db: Db;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, 'pacs.sqlite'), MIGRATIONS);
    // A process that died mid-retrieval left rows 'in-progress': they are not complete.
    this.db.prepare("UPDATE retrievals SET state = 'incomplete', error = coalesce(error, 'interrupted') WHERE state = 'in-progress'").run();
  }

  begin(endpointId: string, studyUid: string, seriesUid: string, expected: readonly string[]): void {
    this.db
      .prepare(
        `INSERT INTO retrievals (series_uid, endpoint_id, study_uid, state, expected_json, expected, received, started_utc)
         VALUES (?, ?, ?, 'in-progress', ?, ?, 0, ?)
         ON CONFLICT (series_uid, endpoint_id) DO UPDATE SET state = 'in-progress', expected_json = excluded.expected_json,
           expected = excluded.expected, started_utc = excluded.started_utc, finished_utc = NULL, error = NULL`,
      )
      .run(seriesUid, endpointId, studyUid, JSON.stringify(expected), expected.length, new Date().toISOString());
  }

  finish(endpointId: string, seriesUid: string, state: 'complete' | 'incomplete', received: number, error?: string): void {
    this.db
      .prepare('UPDATE retrievals SET state = ?, received = ?, finished_utc = ?, error = ? WHERE series_uid = ? AND endpoint_id = ?')
      .run(state, received, new Date().toISOString(), error ?? null, seriesUid, endpointId);
  }

  retrieval(endpointId: string, seriesUid: string): RetrievalRow | undefined {
    const r = this.db.prepare('SELECT * FROM retrievals WHERE series_uid = ? AND endpoint_id = ?').get(seriesUid, endpointId) as Record<string, unknown> | undefined;
    return r ? toRow(r) : undefined;
  }

  retrievalsOfStudy(studyUid: string): RetrievalRow[] {
    return (this.db.prepare('SELECT * FROM retrievals WHERE study_uid = ?').all(studyUid) as Array<Record<string, unknown>>).map(toRow);
  }

  allRetrievals(): RetrievalRow[] {
    return (this.db.prepare('SELECT * FROM retrievals ORDER BY started_utc DESC').all() as Array<Record<string, unknown>>).map(toRow);
  }

  recordSend(endpointId: string, studyUid: string, seriesUid: string, kind: 'series' | 'report', sopUids: readonly string[]): void {
    this.db
      .prepare('INSERT INTO sends (endpoint_id, study_uid, series_uid, kind, sop_uids_json, sent_utc) VALUES (?, ?, ?, ?, ?, ?)')
      .run(endpointId, studyUid, seriesUid, kind, JSON.stringify(sopUids), new Date().toISOString());
  }

  /**
   * A series of the PACS that holds no image (SR, KO, PR…): a study retrieval leaves it there, and a sent AI report is
   * one. Counted so a study whose images are all local reads as complete.
   */
  noteNonImageSeries(endpointId: string, studyUid: string, seriesUid: string, instances: number): void {
    this.db.prepare('INSERT OR REPLACE INTO non_image_series (series_uid, endpoint_id, study_uid, instances) VALUES (?, ?, ?, ?)').run(seriesUid, endpointId, studyUid, instances);
  }

  /** Instances of a study on the PACS known to be non-image (they are never in the study store). */
  nonImageInstances(studyUid: string, endpointId: string): number {
    return (this.db.prepare('SELECT coalesce(sum(instances), 0) AS n FROM non_image_series WHERE study_uid = ? AND endpoint_id = ?').get(studyUid, endpointId) as { n: number }).n;
  }

  sentStudies(): Array<{ studyInstanceUid: string; endpointId: string }> {
    return this.db.prepare('SELECT DISTINCT study_uid AS studyInstanceUid, endpoint_id AS endpointId FROM sends').all() as Array<{ studyInstanceUid: string; endpointId: string }>;
  }

  /** Keeps an AI report read back from (or sent to) a PACS; the same SR seen again replaces the row. */
  putReport(r: PacsReport): void {
    this.db
      .prepare('INSERT OR REPLACE INTO reports (sop_uid, endpoint_id, study_uid, source_series_uid, content_json, received_utc) VALUES (?, ?, ?, ?, ?, ?)')
      .run(r.sopInstanceUid, r.endpointId, r.studyInstanceUid, r.sourceSeriesInstanceUid, JSON.stringify(r), r.receivedUtc);
  }

  reportsOfSeries(seriesUid: string): PacsReport[] {
    const rows = this.db.prepare('SELECT content_json FROM reports WHERE source_series_uid = ? ORDER BY received_utc DESC').all(seriesUid) as Array<{ content_json: string }>;
    return rows.map((r) => JSON.parse(r.content_json) as PacsReport);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toRow(r: Record<string, unknown>): RetrievalRow {
  const row: RetrievalRow = {
    seriesInstanceUid: r.series_uid as string,
    endpointId: r.endpoint_id as string,
    studyInstanceUid: r.study_uid as string,
    state: r.state as RetrievalState,
    expected: JSON.parse(r.expected_json as string) as string[],
    received: r.received as number,
  };
  if (r.error) row.error = r.error as string;
  return row;
}
