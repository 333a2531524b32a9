/**
 * Study store import: per-file typed errors without losing anything, idempotent duplicates, SOP UID conflicts,
 * folders and DICOMDIR, content-addressed objects, and stack sorting.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { collectPaths, importSources } from '../../../electron/features/studies/store/importer.js';
import { sha256Hex } from '../../../electron/features/studies/store/object-store.js';
import { StudyStore } from '../../../electron/features/studies/store/study-store.js';
import { dicomDirFile, imageFile, TS } from './dicom-writer.js';

const STUDY = '1.2.826.0.1.3680043.10.9.100';
const SERIES = '1.2.826.0.1.3680043.10.9.200';

function slice(n: number, opts: { z?: number; instance?: number; value?: number } = {}): Uint8Array {
  return imageFile({
    rows: 4,
    columns: 4,
    bitsAllocated: 16,
    raw: new Array(16).fill(opts.value ?? n),
    sopUid: `1.2.826.0.1.3680043.10.9.300.${n}`,
    instanceNumber: opts.instance ?? n,
    position: [0, 0, opts.z ?? n * 5],
    orientation: [1, 0, 0, 0, 1, 0],
  });
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mfp-import-'));

function countObjects(dataDir: string): number {
  const root = join(dataDir, 'objects');
  return readdirSync(root)
    .filter((d) => d !== 'tmp')
    .reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

describe('study store import', () => {
  it('imports good files, names each bad one with its reason, and loses nothing already stored', async () => {
    const dataDir = tmp();
    const store = StudyStore.open(dataDir);
    const first = await importSources(store, [{ name: 'a.dcm', read: () => slice(1) }]);
    assert.equal(first.imported, 1);

    const good = slice(2);
    const jpeg = imageFile({ rows: 4, columns: 4, bitsAllocated: 8, raw: new Array(16).fill(1), sopUid: '9.9.1' }, TS.mpeg2);
    const noPixels = imageFile({ rows: 4, columns: 4, bitsAllocated: 16, raw: [], sopUid: '9.9.2', omit: ['7fe00010'] });
    const noUid = imageFile({ rows: 4, columns: 4, bitsAllocated: 16, raw: new Array(16).fill(0), omit: ['0020000e'] });
    const result = await importSources(store, [
      { name: 'truncated.dcm', read: () => good.subarray(0, good.length - 10) },
      { name: 'notes.bin', read: () => new TextEncoder().encode('not dicom at all') },
      { name: 'jpeg.dcm', read: () => jpeg },
      { name: 'nopixels.dcm', read: () => noPixels },
      { name: 'nouid.dcm', read: () => noUid },
      { name: 'unreadable.dcm', read: () => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }); } },
      { name: 'good.dcm', read: () => good },
    ]);
    assert.equal(result.imported, 1, 'the good file after the bad ones is imported');
    assert.deepEqual(
      result.errors.map((e) => [e.file, e.code]),
      [
        ['truncated.dcm', 'TRUNCATED'],
        ['notes.bin', 'NOT_DICOM'],
        ['jpeg.dcm', 'UNSUPPORTED_TRANSFER_SYNTAX'],
        ['nopixels.dcm', 'NO_PIXEL_DATA'],
        ['nouid.dcm', 'MISSING_UID'],
        ['unreadable.dcm', 'IO_ERROR'],
      ],
    );
    for (const e of result.errors) assert.ok(e.message.length > 0);
    assert.match(result.errors[2].message, /1\.2\.840\.10008\.1\.2\.4\.100.*MPEG2/);
    assert.equal(store.listInstances(SERIES).length, 2, 'the earlier instance is still there');
    assert.equal(countObjects(dataDir), 2, 'nothing stored for the failed files');
    store.close();
  });

  it('is idempotent for duplicates and refuses different bytes under a stored SOP Instance UID', async () => {
    const dataDir = tmp();
    const store = StudyStore.open(dataDir);
    const files = [1, 2, 3].map((n) => ({ name: `${n}.dcm`, read: () => slice(n) }));
    assert.equal((await importSources(store, files)).imported, 3);
    const again = await importSources(store, files);
    assert.deepEqual([again.imported, again.duplicates, again.errors.length], [0, 3, 0]);
    assert.deepEqual(again.studies, [STUDY]);
    assert.equal(countObjects(dataDir), 3);

    const conflicting = slice(2, { value: 999 });
    const r = await importSources(store, [{ name: 'changed.dcm', read: () => conflicting }]);
    assert.equal(r.errors[0].code, 'SOP_UID_CONFLICT');
    assert.deepEqual(Array.from(store.getFrame('1.2.826.0.1.3680043.10.9.300.2').pixels.slice(0, 2)), [2, 2], 'the stored instance is kept');
    store.close();
  });

  it('stores each object under its SHA-256', async () => {
    const dataDir = tmp();
    const store = StudyStore.open(dataDir);
    const bytes = slice(1);
    await importSources(store, [{ name: 'x.dcm', read: () => bytes }]);
    const h = sha256Hex(bytes);
    assert.ok(existsSync(join(dataDir, 'objects', h.slice(0, 2), h.slice(2))));
    assert.deepEqual(new Uint8Array(store.getInstanceBytes('1.2.826.0.1.3680043.10.9.300.1')), bytes);
    store.close();
  });

  it('sorts along the stack by position on the normal, falling back to Instance Number', async () => {
    const store = StudyStore.open(tmp());
    // Instance numbers deliberately disagree with positions.
    const files = [
      { name: 'a', read: () => slice(1, { z: 20, instance: 1 }) },
      { name: 'b', read: () => slice(2, { z: -10, instance: 2 }) },
      { name: 'c', read: () => slice(3, { z: 5, instance: 3 }) },
    ];
    await importSources(store, files);
    assert.deepEqual(store.listInstances(SERIES).map((i) => i.sliceLocation), [-10, 5, 20]);
    assert.equal(store.getSeries(SERIES).thumbnailSopInstanceUid, '1.2.826.0.1.3680043.10.9.300.3');

    const noGeometry = (n: number, instance: number) =>
      imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [n, n, n, n], sopUid: `7.7.${n}`, seriesUid: '7.7', instanceNumber: instance });
    await importSources(store, [3, 1, 2].map((n) => ({ name: `${n}`, read: () => noGeometry(n, n * 10) })));
    assert.deepEqual(store.listInstances('7.7').map((i) => i.instanceNumber), [10, 20, 30]);
    store.close();
  });

  it('lists and searches studies', async () => {
    const store = StudyStore.open(tmp());
    await importSources(store, [{ name: 'a', read: () => slice(1) }]);
    const [s] = store.listStudies();
    assert.equal(s.studyInstanceUid, STUDY);
    assert.equal(s.patientName, 'TEST^PATIENT');
    assert.deepEqual([s.seriesCount, s.instanceCount, s.modalities], [1, 1, ['MR']]);
    assert.equal(store.listStudies('test^pat').length, 1);
    assert.equal(store.listStudies('nobody').length, 0);
    assert.equal(store.listStudies('%').length, 0, 'LIKE wildcards in the query are literal');
    store.close();
  });
});

describe('import from disk', () => {
  it('walks folders, skips hidden and README files, and expands a DICOMDIR', async () => {
    const root = tmp();
    mkdirSync(join(root, 'media', 'DIR1'), { recursive: true });
    writeFileSync(join(root, 'media', 'DIR1', 'IM1'), slice(1));
    writeFileSync(join(root, 'media', 'DIR1', 'IM2'), slice(2));
    writeFileSync(join(root, 'media', 'DICOMDIR'), dicomDirFile(['DIR1/IM1', 'DIR1/IM2', 'DIR1/MISSING']));
    writeFileSync(join(root, 'media', 'README.md'), '# notes');
    writeFileSync(join(root, 'media', '.DS_Store'), 'junk');

    const viaDicomDir = collectPaths([join(root, 'media', 'DICOMDIR')]);
    assert.deepEqual(viaDicomDir.sources.map((s) => s.name.split('/').slice(-2).join('/')), ['DIR1/IM1', 'DIR1/IM2']);
    assert.equal(viaDicomDir.errors.length, 1);
    assert.match(viaDicomDir.errors[0].message, /not found/);

    const viaFolder = collectPaths([join(root, 'media')]);
    assert.equal(viaFolder.sources.length, 2);
    assert.equal(viaFolder.skipped.length, 3, 'DICOMDIR, README.md and .DS_Store are skipped');

    const store = StudyStore.open(tmp());
    const r = await importSources(store, viaDicomDir.sources, { initialErrors: viaDicomDir.errors });
    assert.equal(r.imported, 2);
    assert.equal(r.errors.length, 1);
    // A DICOMDIR among uploaded files is recognised and skipped, not an error.
    const up = await importSources(store, [{ name: 'DICOMDIR', read: () => dicomDirFile(['A']) }]);
    assert.deepEqual([up.skipped, up.errors.length], [1, 0]);
    assert.deepEqual(collectPaths([join(root, 'nope')]).errors.map((e) => e.code), ['IO_ERROR']);
    store.close();
  });
});
