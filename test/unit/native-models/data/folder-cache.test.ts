import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadYesNoFolder } from '../../../../native-models/src/lab/data/folder.js';
import { DatasetError } from '../../../../native-models/src/core/train/dataset.js';
import { cachePaths } from '../../../../native-models/src/lab/data/cache.js';
import { groupSplit } from '../../../../native-models/src/lab/data/split.js';
import { datasetCommand } from '../../../../native-models/src/lab/data/cli.js';
import { jpegBytes, writeYesNoFolder } from './fixtures.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'mfp-data-'));
}

test('loads a yes/no folder with groups; PNG-named-jpg included; values in [0,1]', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeYesNoFolder(join(dir, 'ds'));
  const ds = await loadYesNoFolder(join(dir, 'ds'), { size: 16, cacheDir: join(dir, 'cache') });
  assert.equal(ds.count, 16);
  assert.deepEqual(ds.classCounts(), [8, 8]);
  assert.equal(ds.images.length, 16 * 16 * 16);
  assert.ok(ds.paths.includes('yes/y1.jpg'));
  assert.equal(ds.meta.fromCache, false);
  assert.match(ds.meta.groupSource, /NEAR_DUPLICATES/);
  for (const v of ds.images) assert.ok(v >= 0 && v <= 1);
  // 'yes' images have a bright blob: their max exceeds every 'no' image's max.
  const maxOf = (i: number) => Math.max(...ds.image(i));
  const yesMin = Math.min(...ds.paths.map((p, i) => (p.startsWith('yes') ? maxOf(i) : Infinity)));
  const noMax = Math.max(...ds.paths.map((p, i) => (p.startsWith('no') ? maxOf(i) : -Infinity)));
  assert.ok(yesMin > noMax);
  const s = groupSplit(ds.labels, ds.groups);
  assert.equal(s.train.length + s.val.length + s.test.length, 16);
});

test('cache: second load hits it with identical pixels; a changed file invalidates it', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'ds');
  const cacheDir = join(dir, 'cache');
  writeYesNoFolder(data);
  const a = await loadYesNoFolder(data, { size: 16, cacheDir });
  assert.ok(existsSync(cachePaths(cacheDir, 'ds', 16).bin));
  const b = await loadYesNoFolder(data, { size: 16, cacheDir });
  assert.equal(b.meta.fromCache, true);
  assert.deepEqual(b.images, a.images);
  assert.deepEqual(b.groups, a.groups);

  // Change one image (and its SHA256SUMS line, as a data update would): the cache is stale and rebuilt.
  const newBytes = jpegBytes(20, 20, (x) => x * 10);
  writeFileSync(join(data, 'no/no0.jpg'), newBytes);
  const { createHash } = await import('node:crypto');
  const sums = readFileSync(join(data, 'SHA256SUMS'), 'utf8').replace(/^[0-9a-f]{64}  no\/no0\.jpg$/m, `${createHash('sha256').update(newBytes).digest('hex')}  no/no0.jpg`);
  writeFileSync(join(data, 'SHA256SUMS'), sums);
  const c = await loadYesNoFolder(data, { size: 16, cacheDir });
  assert.equal(c.meta.fromCache, false);
  assert.notDeepEqual(c.image(0), a.image(0));
  // Editing the group table also invalidates it.
  const tsv = readFileSync(join(data, 'NEAR_DUPLICATES.tsv'), 'utf8').replace('no/no0.jpg\t101', 'no/no0.jpg\t999');
  writeFileSync(join(data, 'NEAR_DUPLICATES.tsv'), tsv);
  const d = await loadYesNoFolder(data, { size: 16, cacheDir });
  assert.equal(d.meta.fromCache, false);
  assert.equal(d.groups[d.paths.indexOf('no/no0.jpg')], 999);
  // A damaged cache .bin is detected and rebuilt.
  const bin = cachePaths(cacheDir, 'ds', 16).bin;
  const raw = readFileSync(bin);
  raw[5] ^= 0xff;
  writeFileSync(bin, raw);
  const e = await loadYesNoFolder(data, { size: 16, cacheDir });
  assert.equal(e.meta.fromCache, false);
  assert.deepEqual(e.images, d.images);
});

test('a file that differs from SHA256SUMS, a file missing from the group table, a corrupt file: typed errors', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'ds');
  writeYesNoFolder(data);
  writeFileSync(join(data, 'yes/y0.jpg'), jpegBytes(8, 8, () => 5));
  await assert.rejects(loadYesNoFolder(data, { cacheDir: null }), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_CHECKSUM_MISMATCH');
  rmSync(join(data, 'SHA256SUMS'));
  writeFileSync(join(data, 'yes/extra.jpg'), jpegBytes(8, 8, () => 5));
  await assert.rejects(loadYesNoFolder(data, { cacheDir: null }), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_GROUP_MISSING');
  rmSync(join(data, 'NEAR_DUPLICATES.tsv'));
  writeFileSync(join(data, 'yes/bad.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2]));
  await assert.rejects(loadYesNoFolder(data, { cacheDir: null }), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_DECODE_FAILED');
  const ds = await loadYesNoFolder(data, { cacheDir: null, onBadFile: 'skip', size: 8 });
  assert.equal(ds.meta.skipped?.[0].path, 'yes/bad.jpg');
  assert.match(ds.meta.groupSource, /one group per file/);
  await assert.rejects(loadYesNoFolder(join(dir, 'nope'), { cacheDir: null }), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_NOT_FOUND');
});

test('dataset CLI: info and split with --json', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeYesNoFolder(join(dir, 'ds'));
  const out: string[] = [];
  const log = console.log;
  console.log = (s: string) => out.push(s);
  try {
    assert.equal(await datasetCommand(['split', '--data', join(dir, 'ds'), '--size', '16', '--json', '--cache-dir', join(dir, 'c')]), 0);
  } finally {
    console.log = log;
  }
  const r = JSON.parse(out.join('\n'));
  assert.equal(r.count, 16);
  const names = r.splits.map((s: { name: string }) => s.name);
  assert.deepEqual(names, ['group', 'random-80-20']);
  assert.equal(r.splits[1].leaky, true);
  assert.equal(r.splits[0].parts['group-test'].files + r.splits[0].parts['group-val'].files + r.splits[0].parts['group-train'].files, 16);
  await assert.rejects(datasetCommand(['bogus']), /unknown subcommand bogus/);
});
