/**
 * Fuzz test of hostile input (#17), run in CI: a few hundred seeded mutations of the committed demo DICOM files
 * (build/demo-data, and RLE / JPEG-LS / JPEG lossless copies of a few made with dcmtk) plus bombs made here (a deflated 16384² image, a deflate stream that inflates past its declared
 * size, absurd Rows/Columns/frames, PNG and JPEG header bombs) are imported, decoded and scanned by a child process
 * (fuzz-child.ts) under a V8 heap ceiling. Asserts: the child exits cleanly, every error is typed (a known code,
 * never IO_ERROR or an untyped exception), peak RSS stays under a bound, the study store passes SQLite's integrity
 * check with every stored object matching its hash, and the audit chain verifies; and (when dcmtk is installed) every
 * file our decoder accepts is also accepted by dcmtk's dcmdump, the yardstick. Prints its figures.
 *
 * Deterministic: the mutations come from a seeded generator (SEED); a failure names the file, which can be rebuilt.
 * MFP_FUZZ_KEEP=1 keeps the corpus and data folder (the path is printed) for a closer look, e.g. with dcmdump.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { decodeDicomFileAsync } from '../../../electron/features/studies/dicom/decode.js';
import { dicomFile, imageElements, TS } from '../../unit/workstation/dicom-writer.js';
import { deflateBomb, jpegHeaderBomb, pngHeaderBomb } from '../../unit/workstation/hostile-files.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DEMO = join(ROOT, 'build', 'demo-data');
const SEED = 0x5eed17;
const MUTANTS = 480;
/** Heap ceiling of the child (V8 old space) and the RSS bounds asserted: import+decode, and with the engine loaded. */
const HEAP_MB = 384;
const IMPORT_RSS_BOUND_MIB = 300;
const TOTAL_RSS_BOUND_MIB = 900;

const TYPED_IMPORT_CODES = new Set(['NOT_DICOM', 'TRUNCATED', 'UNSUPPORTED_TRANSFER_SYNTAX', 'NO_PIXEL_DATA', 'MISSING_UID', 'UNSUPPORTED_PIXEL_FORMAT', 'SOP_UID_CONFLICT', 'TOO_LARGE', 'INVALID_DICOM', 'DECODE_FAILED']);

/** mulberry32: a small seeded PRNG, so every run builds the same corpus. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function demoFiles(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(DEMO)) {
    const p = join(DEMO, dir);
    if (!dir.startsWith('.') && existsSync(p) && !dir.endsWith('.md')) for (const f of readdirSync(p)) if (f.endsWith('.dcm')) out.push(join(p, f));
  }
  return out.sort();
}

/** Offsets of explicit-LE element headers (tag followed by two upper-case VR letters) in the first `limit` bytes. */
function elementOffsets(b: Uint8Array, limit: number): number[] {
  const out: number[] = [];
  for (let i = 132; i + 8 < Math.min(b.length, limit); i += 2) {
    const v0 = b[i + 4], v1 = b[i + 5];
    if (v0 >= 0x41 && v0 <= 0x5a && v1 >= 0x41 && v1 <= 0x5a && b[i + 1] <= 0x7f) out.push(i);
  }
  return out;
}

/** One mutation of a file, chosen and parameterised by the generator; returns the new bytes and its name. */
function mutate(src: Uint8Array, r: () => number): { bytes: Uint8Array; kind: string } {
  const b = Uint8Array.from(src);
  const headerEnd = Math.min(b.length, 2200); // where the data set's elements are (pixel data follows)
  const at = (): number => (r() < 0.85 ? Math.floor(r() * headerEnd) : Math.floor(r() * b.length));
  const dv = new DataView(b.buffer);
  const kind = Math.floor(r() * 9);
  switch (kind) {
    case 0: { // random byte flips
      const n = 1 + Math.floor(r() * 16);
      for (let i = 0; i < n; i++) b[at()] = Math.floor(r() * 256);
      return { bytes: b, kind: 'flip' };
    }
    case 1: // truncation
      return { bytes: b.subarray(0, Math.floor(r() * b.length)), kind: 'truncate' };
    case 2: { // an element length field set to something absurd
      const offs = elementOffsets(b, headerEnd);
      const o = offs[Math.floor(r() * offs.length)];
      const vr = String.fromCharCode(b[o + 4], b[o + 5]);
      const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'OF', 'OD', 'OL'].includes(vr);
      const values = long ? [0xffffffff, 0xfffffff0, 0x7fffffff, b.length, 1] : [0xffff, 0, 1, 0x8001];
      const v = values[Math.floor(r() * values.length)];
      if (long) dv.setUint32(o + 8, v, true);
      else dv.setUint16(o + 6, v, true);
      return { bytes: b, kind: `length-${vr}` };
    }
    case 3: { // an element's VR replaced
      const offs = elementOffsets(b, headerEnd);
      const o = offs[Math.floor(r() * offs.length)];
      const vrs = ['ZZ', 'SQ', 'OB', 'UN', 'US', 'FD', '\0\0'];
      const vr = vrs[Math.floor(r() * vrs.length)];
      b[o + 4] = vr.charCodeAt(0);
      b[o + 5] = vr.charCodeAt(1);
      return { bytes: b, kind: 'vr' };
    }
    case 4: { // Image Pixel module values: Rows, Columns, Bits Allocated/Stored, High Bit
      const tags = [[0x0010], [0x0011], [0x0100], [0x0101], [0x0102], [0x0103], [0x0002]];
      const el = tags[Math.floor(r() * tags.length)][0];
      for (let i = 132; i + 10 < headerEnd; i += 2) {
        if (dv.getUint16(i, true) === 0x0028 && dv.getUint16(i + 2, true) === el && b[i + 4] === 0x55 && b[i + 5] === 0x53) {
          const values = [0, 1, 7, 15, 16, 17, 32, 64, 4096, 0x7fff, 0xffff];
          dv.setUint16(i + 8, values[Math.floor(r() * values.length)], true);
          break;
        }
      }
      return { bytes: b, kind: 'pixel-module' };
    }
    case 5: { // text inside a UID or string value overwritten with non-UID characters
      const p = 300 + Math.floor(r() * Math.max(1, headerEnd - 300));
      const s = 'abc;\\^DROP TABLE';
      for (let i = 0; i < s.length && p + i < b.length; i++) b[p + i] = s.charCodeAt(i);
      return { bytes: b, kind: 'text' };
    }
    case 6: { // bytes inserted or deleted in the header (everything after shifts)
      const p = at();
      const n = 1 + Math.floor(r() * 8);
      if (r() < 0.5) return { bytes: Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + n))]), kind: 'delete' };
      return { bytes: Buffer.concat([b.subarray(0, p), Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))), b.subarray(p)]), kind: 'insert' };
    }
    case 7: { // the preamble/DICM or the meta group length broken
      const p = 128 + Math.floor(r() * 16);
      b[p] ^= 1 + Math.floor(r() * 254);
      return { bytes: b, kind: 'meta' };
    }
    default: { // rescale slope/intercept or window written as absurd numbers (same length, so offsets hold)
      for (let i = 132; i + 10 < headerEnd; i += 2) {
        if (dv.getUint16(i, true) === 0x0028 && [0x1050, 0x1051].includes(dv.getUint16(i + 2, true)) && b[i + 4] === 0x44 && b[i + 5] === 0x53) {
          const len = dv.getUint16(i + 6, true);
          const texts = ['1e308', 'NaN', 'inf', '-1e39', '9'.repeat(len)];
          const t = texts[Math.floor(r() * texts.length)].slice(0, len).padEnd(len, ' ');
          for (let k = 0; k < len; k++) b[i + 8 + k] = t.charCodeAt(k);
          break;
        }
      }
      return { bytes: b, kind: 'numbers' };
    }
  }
}

function hostileExtras(): Array<{ name: string; bytes: Uint8Array }> {
  const absurd = (rows: number, columns: number, frames?: string) => {
    const e = imageElements({ rows, columns, bitsAllocated: 16, raw: [1, 2, 3, 4], sopUid: `1.2.826.0.1.3680043.10.9.${rows}.${columns}.${frames ?? 1}` }, TS.explicitLE);
    if (frames) e['00280008'] = { vr: 'IS', value: frames };
    return dicomFile(e, { transferSyntax: TS.explicitLE });
  };
  const rescale = imageElements({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4], sopUid: '1.2.826.0.1.3680043.10.9.77', slope: 1e308 }, TS.explicitLE);
  return [
    { name: 'bomb-deflate-16384.dcm', bytes: deflateBomb({ rows: 16384, columns: 16384 }) },
    { name: 'bomb-deflate-liar.dcm', bytes: deflateBomb({ rows: 64, columns: 64, inflatedPixelBytes: 96 * 1024 * 1024, sopUid: '1.2.826.0.1.3680043.10.9.66602' }) },
    { name: 'absurd-rows-cols.dcm', bytes: absurd(65535, 65535) },
    { name: 'absurd-frames.dcm', bytes: absurd(2, 2, '2000000000') },
    { name: 'absurd-rescale.dcm', bytes: dicomFile(rescale, { transferSyntax: TS.explicitLE }) },
    { name: 'bomb-50000.png', bytes: pngHeaderBomb(50000, 50000) },
    { name: 'bomb-9000.png', bytes: pngHeaderBomb(9000, 9000) },
    { name: 'bomb-60000.jpg', bytes: jpegHeaderBomb(60000, 60000) },
  ];
}

test('fuzz: mutated demo files and bombs give typed errors only, bounded memory, an intact store and audit chain', { timeout: 180_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'mfp-fuzz-'));
  const corpus = join(work, 'corpus');
  const dataDir = join(work, 'data');
  mkdirSync(corpus);
  try {
    const sources = demoFiles();
    assert.ok(sources.length >= 50, `demo data: ${sources.length} files`);
    // Compressed copies of a few demo files (dcmtk), so mutations also hit the codecs' input.
    if (spawnSync('dcmcrle', ['--version']).status === 0) {
      const compressed = join(work, 'compressed');
      mkdirSync(compressed);
      for (const [i, src] of sources.slice(0, 4).entries()) {
        for (const [tool, flags, tag] of [['dcmcrle', [], 'rle'], ['dcmcjpls', [], 'jls'], ['dcmcjpeg', ['+e1'], 'sv1']] as const) {
          const out = join(compressed, `${i}.${tag}.dcm`);
          if (spawnSync(tool, [...flags, src, out]).status === 0) sources.push(out);
        }
      }
    }
    const r = rng(SEED);
    const kinds: Record<string, number> = {};
    for (let i = 0; i < MUTANTS; i++) {
      const src = sources[Math.floor(r() * sources.length)];
      const { bytes, kind } = mutate(readFileSync(src), r);
      kinds[kind.split('-')[0]] = (kinds[kind.split('-')[0]] ?? 0) + 1;
      writeFileSync(join(corpus, `m${String(i).padStart(3, '0')}-${kind}.dcm`), bytes);
    }
    for (const x of hostileExtras()) writeFileSync(join(corpus, x.name), x.bytes);
    const files = readdirSync(corpus).length;

    const child = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', join(ROOT, 'test/integration/workstation/fuzz-child.ts'), corpus, dataDir], {
      cwd: ROOT, encoding: 'utf8', timeout: 170_000, maxBuffer: 16 * 1024 * 1024,
    });
    assert.equal(child.signal, null, `child killed by ${child.signal}: ${child.stderr.slice(-2000)}`);
    assert.equal(child.status, 0, `child exited ${child.status}: ${child.stderr.slice(-2000)}`);
    const report = JSON.parse(child.stdout.trim().split('\n').pop()!);

    t.diagnostic(`fuzz corpus: ${files} files (${MUTANTS} mutants of ${sources.length} demo files incl. RLE/JPEG-LS/JPEG-lossless copies, seed 0x${SEED.toString(16)}: ${JSON.stringify(kinds)}; ${files - MUTANTS} bombs)`);
    t.diagnostic(`import: ${report.imported} imported, ${report.duplicates} duplicates, ${report.skipped} skipped; typed errors ${JSON.stringify(report.importErrors)}`);
    t.diagnostic(`decode: ${report.framesDecoded}/${report.instances} stored frames decoded; errors ${JSON.stringify(report.frameErrors)}`);
    t.diagnostic(`images: ${report.imagesScanned} preprocessed; errors ${JSON.stringify(report.imageErrors)}; scans: ${report.scanned} run, errors ${JSON.stringify(report.scanErrors)}`);
    t.diagnostic(`peak RSS: ${report.peakImportMiB} MiB after import + decode, ${report.peakMiB} MiB with the engine (heap ceiling ${HEAP_MB} MB)`);

    for (const code of Object.keys(report.importErrors)) assert.ok(TYPED_IMPORT_CODES.has(code), `untyped import error ${code}`);
    // Every file has an outcome (the image bombs too: the import calls them NOT_DICOM).
    assert.equal(report.imported + report.duplicates + report.skipped + Object.values(report.importErrors as Record<string, number>).reduce((a, b) => a + b, 0), files);
    for (const code of Object.keys(report.frameErrors)) assert.ok(!code.startsWith('UNTYPED'), code);
    for (const code of Object.keys(report.scanErrors)) assert.ok(!code.startsWith('UNTYPED'), code);
    assert.deepEqual(report.imageErrors, { E_TOO_LARGE: 3 });
    assert.ok((report.importErrors.TOO_LARGE ?? 0) >= 4, 'the DICOM bombs are refused as TOO_LARGE');
    assert.ok(report.imported > 20, 'untouched parts of the corpus still import');
    assert.ok(report.scanned > 0, 'stored frames are scanned');
    assert.ok(report.peakImportMiB < IMPORT_RSS_BOUND_MIB, `peak RSS ${report.peakImportMiB} MiB during import + decode`);
    assert.ok(report.peakMiB < TOTAL_RSS_BOUND_MIB, `peak RSS ${report.peakMiB} MiB`);
    assert.equal(report.auditOk, true, 'audit chain verifies');

    // The store afterwards: SQLite integrity, and every indexed instance's object present and matching its hash.
    const db = new Database(join(dataDir, 'studies.sqlite'), { readonly: true });
    try {
      assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
      const rows = db.prepare('SELECT object_sha256 AS h, source_name AS name FROM instances').all() as Array<{ h: string; name: string }>;
      assert.equal(rows.length, report.imported);
      for (const { h } of rows) {
        const path = join(dataDir, 'objects', h.slice(0, 2), h.slice(2));
        assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), h);
      }
    } finally {
      db.close();
    }
  } finally {
    // dcmtk as the yardstick: nothing our decoder accepts may be something dcmdump rejects.
    if (spawnSync('dcmdump', ['--version']).status === 0) {
      const accepted: string[] = [];
      for (const name of readdirSync(corpus).filter((n) => n.endsWith('.dcm'))) {
        try {
          await decodeDicomFileAsync(readFileSync(join(corpus, name)), name);
          accepted.push(name);
        } catch {
          /* refused: nothing to compare */
        }
      }
      // One dcmdump run over all of them (a run per file costs a dictionary load each); per file only on failure.
      const dumpFails = (names: string[]): boolean => {
        const d = spawnSync('dcmdump', ['-q', ...names.map((n) => join(corpus, n))], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
        return d.status !== 0 || /^E:/m.test(d.stderr);
      };
      const disagree = dumpFails(accepted) ? accepted.filter((n) => dumpFails([n])) : [];
      t.diagnostic(`dcmtk: dcmdump accepts ${accepted.length - disagree.length} of the ${accepted.length} corpus files our decoder accepts`);
      assert.deepEqual(disagree, [], 'files our decoder accepts but dcmdump rejects');
    }
    if (process.env.MFP_FUZZ_KEEP) t.diagnostic(`corpus and data kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
});
