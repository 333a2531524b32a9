import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupSplit, randomSplit, leakage, trainHoldout, SplitError } from '../../../../native-models/src/lab/data/split.js';

/** 200 files in 60 groups; groups 0..19 are class 1, 20..59 class 0; group sizes vary. */
function toy(): { labels: Int32Array; groups: Int32Array } {
  const labels: number[] = [], groups: number[] = [];
  for (let g = 0; g < 60; g++) {
    const n = 1 + ((g * 7) % 6);
    for (let k = 0; k < n; k++) { labels.push(g < 20 ? 1 : 0); groups.push(1000 - g * 3); }
  }
  return { labels: Int32Array.from(labels), groups: Int32Array.from(groups) };
}

test('group split is deterministic and partitions all files', () => {
  const { labels, groups } = toy();
  const a = groupSplit(labels, groups), b = groupSplit(labels, groups);
  assert.deepEqual([...a.test], [...b.test]);
  assert.deepEqual([...a.val], [...b.val]);
  const all = [...a.train, ...a.val, ...a.test].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: labels.length }, (_, i) => i));
  assert.equal(a.leaky, false);
  assert.deepEqual(a.names, { train: 'group-train', val: 'group-val', test: 'group-test' });
  assert.notDeepEqual([...groupSplit(labels, groups, { seed: 7 }).test], [...a.test]);
});

test('no group crosses parts', () => {
  const { labels, groups } = toy();
  const s = groupSplit(labels, groups);
  const partOf = new Map<number, string>();
  for (const [name, idx] of [['train', s.train], ['val', s.val], ['test', s.test]] as const) {
    for (const i of idx) {
      const prev = partOf.get(groups[i]);
      assert.ok(prev === undefined || prev === name, `group ${groups[i]} in ${prev} and ${name}`);
      partOf.set(groups[i], name);
    }
  }
  assert.deepEqual(leakage(s, groups), { testFiles: s.test.length, testFilesWithTwinInTrain: 0 });
});

test('stratification: 20% of each class\'s groups in test, 15% of the rest in val', () => {
  const { labels, groups } = toy();
  const s = groupSplit(labels, groups);
  const groupsIn = (idx: Int32Array, cls: number) => new Set([...idx].filter((i) => labels[i] === cls).map((i) => groups[i])).size;
  assert.equal(groupsIn(s.test, 1), 4); // round(0.2·20)
  assert.equal(groupsIn(s.test, 0), 8); // round(0.2·40)
  assert.equal(groupsIn(s.val, 1), 2); // round(0.15·16)
  assert.equal(groupsIn(s.val, 0), 5); // round(0.15·32)
});

test('a group mixing classes is refused', () => {
  assert.throws(() => groupSplit([0, 1], [5, 5]), (e: unknown) => e instanceof SplitError && e.code === 'SPLIT_MIXED_GROUP');
});

test('the random 80/20 split is flagged leaky and shows its leakage', () => {
  const { labels, groups } = toy();
  const r = randomSplit(labels.length);
  assert.equal(r.leaky, true);
  assert.equal(r.scheme, 'random-80-20');
  assert.match(r.label, /LEAKY/);
  assert.equal(r.test.length, Math.round(0.2 * labels.length));
  assert.deepEqual([...randomSplit(labels.length).test], [...r.test]);
  assert.ok(leakage(r, groups).testFilesWithTwinInTrain > 0);
});

test('the calibration holdout takes whole train groups, stratified, deterministically', () => {
  const { labels, groups } = toy();
  const s = groupSplit(labels, groups);
  const h = trainHoldout(s, labels, groups, { fraction: 0.25 });
  assert.deepEqual([...h.holdout, ...h.rest].sort((a, b) => a - b), [...s.train]);
  const trainGroups = (cls: number) => new Set([...s.train].filter((i) => labels[i] === cls).map((i) => groups[i])).size;
  const heldGroups = (cls: number) => new Set([...h.holdout].filter((i) => labels[i] === cls).map((i) => groups[i]));
  assert.equal(heldGroups(1).size, Math.round(0.25 * trainGroups(1)));
  assert.equal(heldGroups(0).size, Math.round(0.25 * trainGroups(0)));
  assert.equal(h.groups, heldGroups(0).size + heldGroups(1).size);
  const restGroups = new Set([...h.rest].map((i) => groups[i]));
  for (const g of [...heldGroups(0), ...heldGroups(1)]) assert.ok(!restGroups.has(g), `group ${g} on both sides`);
  assert.deepEqual([...trainHoldout(s, labels, groups, { fraction: 0.25 }).holdout], [...h.holdout]);
  assert.equal(trainHoldout(s, labels, groups, { fraction: 0 }).holdout.length, 0);
  assert.throws(() => trainHoldout(s, labels, groups, { fraction: 1 }), SplitError);
  assert.throws(() => trainHoldout(randomSplit(labels.length), labels, groups, { fraction: 0.25 }), SplitError);
});
