/**
 * Checks on the real Br35H folder. Skipped (with a message) where /work/shared/datasets/br35h is absent.
 * Only the split (from NEAR_DUPLICATES.tsv) and the PNG-named-.jpg files are checked here: decoding all 2,594
 * labelled files takes about a minute and is done by `native-models/src/lab/data/check-decode.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGroupTable } from '../../../../native-models/src/lab/data/folder.js';
import { groupSplit, leakage, randomSplit } from '../../../../native-models/src/lab/data/split.js';
import { decodeImage } from '../../../../native-models/src/inference/image/decode.js';

const DIR = process.env.BR35H_DIR ?? '/work/shared/datasets/br35h';
const skip = existsSync(join(DIR, 'NEAR_DUPLICATES.tsv')) ? false : `Br35H not found at ${DIR} (set BR35H_DIR); skipping real-data checks`;

test('Br35H group split: no group crosses, both classes in every part; the random split leaks', { skip }, () => {
  const table = parseGroupTable(readFileSync(join(DIR, 'NEAR_DUPLICATES.tsv'), 'utf8'), DIR);
  const paths = [...table.keys()].filter((p) => p.startsWith('yes/') || p.startsWith('no/')).sort();
  const labels = Int32Array.from(paths, (p) => (p.startsWith('yes/') ? 1 : 0));
  const groups = Int32Array.from(paths, (p) => table.get(p)!);
  const s = groupSplit(labels, groups);
  assert.equal(leakage(s, groups).testFilesWithTwinInTrain, 0);
  for (const part of [s.train, s.val, s.test]) {
    const yes = [...part].filter((i) => labels[i] === 1).length;
    assert.ok(yes > 0 && yes < part.length);
  }
  const r = randomSplit(labels.length);
  const leak = leakage(r, groups);
  assert.ok(leak.testFilesWithTwinInTrain > leak.testFiles / 2, `random split: ${leak.testFilesWithTwinInTrain}/${leak.testFiles} test files have a twin in train`);
});

test('Br35H PNG files named .jpg decode by content', { skip }, () => {
  for (const rel of ['no/no396.jpg', 'yes/y355.jpg', 'yes/y1163.jpg']) {
    const img = decodeImage(readFileSync(join(DIR, rel)), rel);
    assert.equal(img.format, 'png');
    assert.ok(img.width > 0 && img.height > 0);
  }
});
