/**
 * Opens a better-sqlite3 database the way every store here wants it: WAL journal, foreign keys on,
 * a busy timeout (another process, e.g. `medfedpure import` beside a running host, may hold the write lock),
 * and numbered migrations recorded in `schema_migrations` and applied in one transaction each.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export function openDatabase(file: string, migrations: readonly Migration[], opts: { readonly?: boolean } = {}): Db {
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db, migrations);
  return db;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_utc TEXT NOT NULL
  )`);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const insert = db.prepare('INSERT INTO schema_migrations (version, description, applied_utc) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (isApplied.get(m.version)) continue;
    // Checked again under the write lock: two processes opening a fresh database at once (a host and a CLI
    // command) must not both apply the same migration.
    db.transaction(() => {
      if (isApplied.get(m.version)) return;
      db.exec(m.sql);
      insert.run(m.version, m.description, new Date().toISOString());
    }).immediate();
  }
}
