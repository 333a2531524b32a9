/**
 * The study store: a SQLite index of patient → study → series → instance (dataDir/studies.sqlite) over
 * content-addressed DICOM files (dataDir/objects, see object-store.ts), plus decoded-frame access with an LRU cache.
 *
 * Import of one file (`importBytes`) is all-or-nothing: the file is parsed and its pixel data validated first
 * (any problem → DicomError, nothing written); then the bytes are stored by hash and the rows inserted in one
 * transaction. Re-importing the same bytes is a no-op ('duplicate'); different bytes under a SOP Instance UID that
 * is already stored are refused (SOP_UID_CONFLICT), so nothing stored is ever replaced.
 */
import { join } from 'node:path';
import type { Frame, InstanceAnnotations, InstanceSummary, SeriesSummary, StoredAnnotation, StudySummary } from '../../api.js';
import { ApiError } from '../../../common/api-error.js';
import { decodeDicomFile, decodeDicomFileAsync, toContractFrame } from '../dicom/decode.js';
import { decodeFrameOffThread, readForImportOffThread } from '../dicom/decode-worker.js';
import { readForImport, readForImportSync, type ReadForImport } from '../dicom/read.js';
import { DicomError } from '../dicom/errors.js';
import type { InstanceHeader } from '../dicom/header.js';
import { readImageFacts, type ImageFacts } from '../dicom/facts.js';
import { parseDicomFile } from '../dicom/parse.js';
import { LruCache } from '../../../node/store/lru.js';
import { ObjectStore, sha256Hex } from './object-store.js';
import { openDatabase, type Db, type Migration } from '../../../node/store/sqlite.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'patients, studies, series, instances',
    sql: `
CREATE TABLE patients (
  id INTEGER PRIMARY KEY,
  patient_id TEXT NOT NULL,
  patient_name TEXT NOT NULL,
  birth_date TEXT,
  sex TEXT,
  UNIQUE (patient_id, patient_name)
);
CREATE TABLE studies (
  study_uid TEXT PRIMARY KEY,
  patient_ref INTEGER NOT NULL REFERENCES patients (id),
  study_date TEXT,
  study_time TEXT,
  description TEXT,
  accession_number TEXT,
  study_id TEXT,
  imported_utc TEXT NOT NULL
);
CREATE INDEX studies_patient ON studies (patient_ref);
CREATE TABLE series (
  series_uid TEXT PRIMARY KEY,
  study_uid TEXT NOT NULL REFERENCES studies (study_uid),
  modality TEXT,
  series_number INTEGER,
  description TEXT
);
CREATE INDEX series_study ON series (study_uid);
CREATE TABLE instances (
  sop_uid TEXT PRIMARY KEY,
  series_uid TEXT NOT NULL REFERENCES series (series_uid),
  sop_class_uid TEXT,
  transfer_syntax_uid TEXT NOT NULL,
  instance_number INTEGER,
  slice_position REAL,
  rows INTEGER NOT NULL,
  columns INTEGER NOT NULL,
  number_of_frames INTEGER NOT NULL,
  object_sha256 TEXT NOT NULL,
  byte_length INTEGER NOT NULL,
  source_name TEXT,
  imported_utc TEXT NOT NULL
);
CREATE INDEX instances_series ON instances (series_uid);
`,
  },
  {
    version: 2,
    description: 'measurements and annotations per instance',
    sql: `
CREATE TABLE annotations (
  sop_uid TEXT PRIMARY KEY REFERENCES instances (sop_uid),
  series_uid TEXT NOT NULL,
  json TEXT NOT NULL,
  updated_utc TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX annotations_series ON annotations (series_uid);
`,
  },
];

export type ImportOneResult =
  | { status: 'imported' | 'duplicate'; header: InstanceHeader }
  /** A DICOMDIR: nothing to store itself (its referenced files are imported by the importer). */
  | { status: 'directory' };

interface InstanceRow {
  sop_uid: string;
  series_uid: string;
  instance_number: number | null;
  slice_position: number | null;
  rows: number;
  columns: number;
  number_of_frames: number;
}

interface SeriesRow {
  series_uid: string;
  study_uid: string;
  modality: string | null;
  series_number: number | null;
  description: string | null;
  instance_count: number;
}

/** Instances along the stack: by position on the slice normal when every instance has one, else Instance Number. */
export function sortInstances<T extends { slice_position: number | null; instance_number: number | null; sop_uid: string }>(rows: T[]): T[] {
  const byPosition = rows.length > 0 && rows.every((r) => r.slice_position !== null);
  const key = (r: T): number => (byPosition ? (r.slice_position as number) : (r.instance_number ?? Number.POSITIVE_INFINITY));
  return [...rows].sort((a, b) => key(a) - key(b) || (a.instance_number ?? 0) - (b.instance_number ?? 0) || (a.sop_uid < b.sop_uid ? -1 : a.sop_uid > b.sop_uid ? 1 : 0));
}

export interface StudyStoreOptions {
  /** Upper bound of the decoded-frame cache in bytes (default 512 MiB). */
  frameCacheBytes?: number;
  /**
   * Parse and decode for `importBytesAsync` / `getFrameAsync` in the decode worker (default true), so the caller's
   * event loop never runs a decoder on untrusted bytes. The synchronous methods always decode in-process.
   */
  offThread?: boolean;
}

export class StudyStore {
  readonly objects: ObjectStore;
  private readonly db: Db;
  private readonly frames: LruCache<string, Frame>;
  /** Header facts for the AI's intended-use check, a few hundred bytes each. */
  private readonly facts = new LruCache<string, ImageFacts>(10_000, () => 1);
  private readonly offThread: boolean;

  private constructor(dataDir: string, opts: StudyStoreOptions) {
    this.offThread = opts.offThread ?? true;
    this.db = openDatabase(join(dataDir, 'studies.sqlite'), MIGRATIONS);
    this.objects = new ObjectStore(join(dataDir, 'objects'));
    this.frames = new LruCache(opts.frameCacheBytes ?? 512 * 1024 * 1024, (f) => f.pixels.byteLength);
  }

  static open(dataDir: string, opts: StudyStoreOptions = {}): StudyStore {
    return new StudyStore(dataDir, opts);
  }

  /**
   * Imports one DICOM file's bytes. Throws DicomError (nothing written) when the file cannot be imported. A compressed
   * file needs its codec loaded (`prepareCodec`; the importer does it).
   */
  importBytes(name: string, bytes: Uint8Array): ImportOneResult {
    return this.storeRead(name, bytes, readForImportSync(bytes, name));
  }

  /** Like `importBytes`, with parsing, validation and any decoding done in the decode worker (or in-process when off). */
  async importBytesAsync(name: string, bytes: Uint8Array): Promise<ImportOneResult> {
    return this.storeRead(name, bytes, this.offThread ? await readForImportOffThread(bytes, name) : await readForImport(bytes, name));
  }

  private storeRead(name: string, bytes: Uint8Array, read: ReadForImport): ImportOneResult {
    if (read === null) return { status: 'directory' };
    const { header, image } = read;
    const hash = sha256Hex(bytes);
    const existing = this.db.prepare('SELECT object_sha256 FROM instances WHERE sop_uid = ?').get(header.sopInstanceUid) as { object_sha256: string } | undefined;
    if (existing) {
      if (existing.object_sha256 === hash) return { status: 'duplicate', header };
      throw new DicomError('SOP_UID_CONFLICT', name, `SOP Instance UID ${header.sopInstanceUid} is already stored with different content; the stored instance was kept`);
    }
    this.objects.put(bytes, hash);
    const now = new Date().toISOString();
    this.db.transaction(() => {
      const p = header.patient;
      this.db.prepare('INSERT OR IGNORE INTO patients (patient_id, patient_name, birth_date, sex) VALUES (?, ?, ?, ?)').run(p.id, p.name, p.birthDate ?? null, p.sex ?? null);
      const patientRef = (this.db.prepare('SELECT id FROM patients WHERE patient_id = ? AND patient_name = ?').get(p.id, p.name) as { id: number }).id;
      const s = header.study;
      this.db
        .prepare('INSERT OR IGNORE INTO studies (study_uid, patient_ref, study_date, study_time, description, accession_number, study_id, imported_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(header.studyInstanceUid, patientRef, s.date ?? null, s.time ?? null, s.description ?? null, s.accessionNumber ?? null, s.studyId ?? null, now);
      const se = header.series;
      this.db
        .prepare('INSERT OR IGNORE INTO series (series_uid, study_uid, modality, series_number, description) VALUES (?, ?, ?, ?, ?)')
        .run(header.seriesInstanceUid, header.studyInstanceUid, se.modality ?? null, se.number ?? null, se.description ?? null);
      this.db
        .prepare(
          `INSERT INTO instances (sop_uid, series_uid, sop_class_uid, transfer_syntax_uid, instance_number, slice_position, rows, columns,
             number_of_frames, object_sha256, byte_length, source_name, imported_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          header.sopInstanceUid,
          header.seriesInstanceUid,
          header.sopClassUid ?? null,
          header.transferSyntaxUid,
          header.instanceNumber ?? null,
          header.slicePosition ?? null,
          image.rows,
          image.columns,
          image.numberOfFrames,
          hash,
          bytes.length,
          name,
          now,
        );
    })();
    return { status: 'imported', header };
  }

  countStudies(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM studies').get() as { n: number }).n;
  }

  listStudies(query?: string): StudySummary[] {
    const q = query?.trim();
    const filter = q
      ? `WHERE p.patient_name LIKE @q ESCAPE '\\' OR p.patient_id LIKE @q ESCAPE '\\' OR st.description LIKE @q ESCAPE '\\'
           OR st.accession_number LIKE @q ESCAPE '\\' OR st.study_uid = @exact`
      : '';
    const rows = this.db
      .prepare(
        `SELECT st.study_uid, st.study_date, st.description, st.accession_number,
                p.patient_id, p.patient_name, p.birth_date, p.sex,
                (SELECT count(*) FROM series se WHERE se.study_uid = st.study_uid) AS series_count,
                (SELECT count(*) FROM instances i JOIN series se ON i.series_uid = se.series_uid WHERE se.study_uid = st.study_uid) AS instance_count,
                (SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_uid = st.study_uid AND se.modality IS NOT NULL) AS modalities
         FROM studies st JOIN patients p ON p.id = st.patient_ref
         ${filter}
         ORDER BY st.study_date DESC, st.imported_utc DESC, st.study_uid`,
      )
      .all(q ? { q: `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, exact: q } : {}) as Array<Record<string, string | number | null>>;
    return rows.map((r) => {
      const s: StudySummary = {
        studyInstanceUid: r.study_uid as string,
        patientName: r.patient_name as string,
        patientId: r.patient_id as string,
        modalities: r.modalities ? String(r.modalities).split(',').sort() : [],
        seriesCount: r.series_count as number,
        instanceCount: r.instance_count as number,
      };
      if (r.birth_date) s.patientBirthDate = r.birth_date as string;
      if (r.sex) s.patientSex = r.sex as string;
      if (r.study_date) s.studyDate = r.study_date as string;
      if (r.description) s.studyDescription = r.description as string;
      if (r.accession_number) s.accessionNumber = r.accession_number as string;
      return s;
    });
  }

  private seriesRows(where: string, param: string): SeriesRow[] {
    return this.db
      .prepare(
        `SELECT se.*, (SELECT count(*) FROM instances i WHERE i.series_uid = se.series_uid) AS instance_count
         FROM series se WHERE ${where} ORDER BY se.series_number IS NULL, se.series_number, se.series_uid`,
      )
      .all(param) as SeriesRow[];
  }

  private toSeriesSummary(r: SeriesRow): SeriesSummary {
    const s: SeriesSummary = { seriesInstanceUid: r.series_uid, studyInstanceUid: r.study_uid, instanceCount: r.instance_count };
    if (r.series_number !== null) s.seriesNumber = r.series_number;
    if (r.description) s.seriesDescription = r.description;
    if (r.modality) s.modality = r.modality;
    const sorted = this.sortedInstanceRows(r.series_uid);
    if (sorted.length > 0) s.thumbnailSopInstanceUid = sorted[Math.floor(sorted.length / 2)].sop_uid;
    return s;
  }

  /** Series of a study; NOT_FOUND when the study is unknown. */
  listSeries(studyInstanceUid: string): SeriesSummary[] {
    if (!this.db.prepare('SELECT 1 FROM studies WHERE study_uid = ?').get(studyInstanceUid)) throw new ApiError('NOT_FOUND', `No study ${studyInstanceUid}`);
    return this.seriesRows('se.study_uid = ?', studyInstanceUid).map((r) => this.toSeriesSummary(r));
  }

  getSeries(seriesInstanceUid: string): SeriesSummary {
    const [row] = this.seriesRows('se.series_uid = ?', seriesInstanceUid);
    if (!row) throw new ApiError('NOT_FOUND', `No series ${seriesInstanceUid}`);
    return this.toSeriesSummary(row);
  }

  /** Patient ID of a study (for audit records). */
  patientOfStudy(studyInstanceUid: string): { patientId: string; patientName: string } | undefined {
    return this.db
      .prepare('SELECT p.patient_id AS patientId, p.patient_name AS patientName FROM studies st JOIN patients p ON p.id = st.patient_ref WHERE st.study_uid = ?')
      .get(studyInstanceUid) as { patientId: string; patientName: string } | undefined;
  }

  private sortedInstanceRows(seriesInstanceUid: string): InstanceRow[] {
    return sortInstances(
      this.db.prepare('SELECT sop_uid, series_uid, instance_number, slice_position, rows, columns, number_of_frames FROM instances WHERE series_uid = ?').all(seriesInstanceUid) as InstanceRow[],
    );
  }

  /** Instances of a series, sorted along the stack. */
  listInstances(seriesInstanceUid: string): InstanceSummary[] {
    return this.sortedInstanceRows(seriesInstanceUid).map((r) => {
      const s: InstanceSummary = { sopInstanceUid: r.sop_uid, seriesInstanceUid: r.series_uid, rows: r.rows, columns: r.columns };
      if (r.instance_number !== null) s.instanceNumber = r.instance_number;
      if (r.slice_position !== null) s.sliceLocation = r.slice_position;
      if (r.number_of_frames > 1) s.numberOfFrames = r.number_of_frames;
      return s;
    });
  }

  private frameRow(sopInstanceUid: string): { bytes: Buffer; name: string } {
    const row = this.db.prepare('SELECT object_sha256, source_name FROM instances WHERE sop_uid = ?').get(sopInstanceUid) as { object_sha256: string; source_name: string | null } | undefined;
    if (!row) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
    return { bytes: this.objects.get(row.object_sha256), name: row.source_name ?? sopInstanceUid };
  }

  /**
   * A decoded frame (default the first) of an instance, from the cache when possible. NOT_FOUND when unknown. A
   * compressed instance whose codec is not loaded yet throws DECODE_FAILED: use `getFrameAsync`.
   */
  getFrame(sopInstanceUid: string, frameIndex = 0): Frame {
    const key = `${sopInstanceUid}#${frameIndex}`;
    const cached = this.frames.get(key);
    if (cached) return cached;
    const { bytes, name } = this.frameRow(sopInstanceUid);
    const frame = toContractFrame(decodeDicomFile(bytes, name, frameIndex));
    this.frames.set(key, frame);
    return frame;
  }

  /** Like `getFrame`, decoded in the decode worker (or in-process, loading the codec first, when off). */
  async getFrameAsync(sopInstanceUid: string, frameIndex = 0): Promise<Frame> {
    const key = `${sopInstanceUid}#${frameIndex}`;
    const cached = this.frames.get(key);
    if (cached) return cached;
    const { bytes, name } = this.frameRow(sopInstanceUid);
    const frame = this.offThread ? await decodeFrameOffThread(bytes, name, frameIndex) : toContractFrame(await decodeDicomFileAsync(bytes, name, frameIndex));
    this.frames.set(key, frame);
    return frame;
  }

  /** Stored measurements/annotations of a series' instances. */
  listAnnotations(seriesInstanceUid: string): InstanceAnnotations[] {
    const rows = this.db.prepare('SELECT sop_uid, json, updated_utc, updated_by FROM annotations WHERE series_uid = ? ORDER BY sop_uid').all(seriesInstanceUid) as Array<{ sop_uid: string; json: string; updated_utc: string; updated_by: string }>;
    return rows.map((r) => ({ sopInstanceUid: r.sop_uid, annotations: JSON.parse(r.json) as StoredAnnotation[], updatedUtc: r.updated_utc, updatedBy: r.updated_by }));
  }

  /** Replace an instance's annotations (none: the row is removed). Returns the instance's series and study. */
  saveAnnotations(sopInstanceUid: string, annotations: readonly StoredAnnotation[], by: string, updatedUtc = new Date().toISOString()): { seriesInstanceUid: string; studyInstanceUid: string } {
    const row = this.db.prepare('SELECT i.series_uid, s.study_uid FROM instances i JOIN series s ON s.series_uid = i.series_uid WHERE i.sop_uid = ?').get(sopInstanceUid) as { series_uid: string; study_uid: string } | undefined;
    if (!row) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
    if (annotations.length === 0) this.db.prepare('DELETE FROM annotations WHERE sop_uid = ?').run(sopInstanceUid);
    else {
      this.db.prepare('INSERT INTO annotations (sop_uid, series_uid, json, updated_utc, updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sop_uid) DO UPDATE SET json = excluded.json, updated_utc = excluded.updated_utc, updated_by = excluded.updated_by')
        .run(sopInstanceUid, row.series_uid, JSON.stringify(annotations), updatedUtc, by);
    }
    return { seriesInstanceUid: row.series_uid, studyInstanceUid: row.study_uid };
  }

  /** What an intended-use check needs from an instance's header (modality, body part, orientation, image kind). */
  getImageFacts(sopInstanceUid: string): ImageFacts {
    const cached = this.facts.get(sopInstanceUid);
    if (cached) return cached;
    const row = this.db.prepare('SELECT object_sha256, source_name FROM instances WHERE sop_uid = ?').get(sopInstanceUid) as { object_sha256: string; source_name: string | null } | undefined;
    if (!row) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
    const facts = readImageFacts(parseDicomFile(this.objects.get(row.object_sha256), row.source_name ?? sopInstanceUid));
    this.facts.set(sopInstanceUid, facts);
    return facts;
  }

  /** The stored DICOM bytes of an instance. */
  getInstanceBytes(sopInstanceUid: string): Buffer {
    const row = this.db.prepare('SELECT object_sha256 FROM instances WHERE sop_uid = ?').get(sopInstanceUid) as { object_sha256: string } | undefined;
    if (!row) throw new ApiError('NOT_FOUND', `No instance ${sopInstanceUid}`);
    return this.objects.get(row.object_sha256);
  }

  get frameCache(): { entries: number; bytes: number } {
    return { entries: this.frames.size, bytes: this.frames.cost };
  }

  close(): void {
    this.frames.clear();
    this.facts.clear();
    if (this.db.open) this.db.close();
  }
}
