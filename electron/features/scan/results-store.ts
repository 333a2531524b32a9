/**
 * Stored scan results: a `scan_results` table in the study database (dataDir/studies.sqlite), so reopening a study
 * shows its results. Uses its own connection (WAL allows it next to the study store's) and creates the table if
 * missing; the study store's numbered migrations are not touched. Images are stored as little-endian float32 BLOBs.
 * Rows are appended (a re-scan adds a row); `forSeries` returns the latest per instance. Results stored before the
 * intended-use gate existed (no `state`) are not returned: they may carry labels for slices the AI must not answer
 * (sagittal, coronal, …); scanning again replaces them. A declined scan stores its state in the label column.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { ScanResult } from '../api.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scan_results (
  id INTEGER PRIMARY KEY,
  sop_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  created_utc TEXT NOT NULL,
  label TEXT NOT NULL,
  flagged INTEGER NOT NULL,
  score REAL,
  threshold REAL,
  t_star INTEGER NOT NULL,
  meta_json TEXT NOT NULL,
  input BLOB NOT NULL,
  error_map BLOB,
  purified BLOB,
  difference BLOB
);
CREATE INDEX IF NOT EXISTS scan_results_series ON scan_results (series_uid, sop_uid, id);
`;

const IMAGE_KEYS = ['input', 'errorMap', 'purified', 'difference'] as const;

function blob(a: Float32Array | null): Buffer | null {
  return a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : null;
}
function floats(b: Buffer | null): Float32Array | null {
  if (!b || b.byteLength === 0) return null;
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

interface Row {
  meta_json: string;
  input: Buffer;
  error_map: Buffer | null;
  purified: Buffer | null;
  difference: Buffer | null;
}

export class ScanResultStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = new Database(join(dataDir, 'studies.sqlite'));
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  /** Series and study of a stored instance, or undefined. */
  locate(sopInstanceUid: string): { seriesInstanceUid: string; studyInstanceUid: string } | undefined {
    const r = this.db
      .prepare('SELECT i.series_uid AS se, s.study_uid AS st FROM instances i JOIN series s ON s.series_uid = i.series_uid WHERE i.sop_uid = ?')
      .get(sopInstanceUid) as { se: string; st: string } | undefined;
    return r && { seriesInstanceUid: r.se, studyInstanceUid: r.st };
  }

  put(r: ScanResult): void {
    const meta: Record<string, unknown> = { ...r };
    for (const k of IMAGE_KEYS) delete meta[k];
    this.db
      .prepare(`INSERT INTO scan_results (sop_uid, series_uid, study_uid, created_utc, label, flagged, score, threshold, t_star, meta_json, input, error_map, purified, difference)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.sopInstanceUid, r.seriesInstanceUid, r.studyInstanceUid, r.createdUtc, r.label ?? r.state, r.flagged ? 1 : 0, r.score, r.threshold, r.tStar,
        JSON.stringify(meta), blob(r.input) ?? Buffer.alloc(0), blob(r.errorMap), blob(r.purified), blob(r.difference));
  }

  /** Latest result per instance of a series. */
  forSeries(seriesInstanceUid: string): ScanResult[] {
    const rows = this.db
      .prepare(`SELECT meta_json, input, error_map, purified, difference FROM scan_results
                WHERE id IN (SELECT max(id) FROM scan_results WHERE series_uid = ? GROUP BY sop_uid) ORDER BY id`)
      .all(seriesInstanceUid) as Row[];
    return rows.flatMap((row) => {
      const meta = JSON.parse(row.meta_json) as Omit<ScanResult, (typeof IMAGE_KEYS)[number]>;
      return meta.state === undefined ? [] : [{
        ...meta,
        input: floats(row.input),
      errorMap: floats(row.error_map),
      purified: floats(row.purified),
        difference: floats(row.difference),
      }];
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
