import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrationPart } from '../../../../native-models/src/lab/calibrate-cli.js';
import { groupSplit, trainHoldout } from '../../../../native-models/src/lab/data/split.js';
import { PipelineError } from '../../../../native-models/src/inference/pipeline/errors.js';

/** 300 files in 90 groups, two classes. */
function toy() {
  const labels: number[] = [], groups: number[] = [];
  for (let g = 0; g < 90; g++) for (let k = 0; k < 1 + (g % 5); k++) { labels.push(g % 3 === 0 ? 1 : 0); groups.push(g); }
  return { labels: Int32Array.from(labels), groups: Int32Array.from(groups) };
}

test('without a holdout in the MAE recipe, calibration uses group-val only', () => {
  const { labels, groups } = toy();
  const split = groupSplit(labels, groups);
  const p = calibrationPart(undefined, labels, groups, 'f', split);
  assert.deepEqual([...p.indices], [...split.val]);
  assert.equal(p.name, 'group-val');
});

test('with a holdout, calibration uses group-val plus the re-derived holdout, never test', () => {
  const { labels, groups } = toy();
  const split = groupSplit(labels, groups);
  const held = trainHoldout(split, labels, groups, { fraction: 0.25, seed: 42 });
  const provenance = { recipe: { calibrationHoldout: 0.25, calibrationHoldoutSeed: 42, calibrationHoldoutImages: held.holdout.length }, dataFingerprint: 'f', heldOut: null };
  const p = calibrationPart(provenance, labels, groups, 'f', split);
  assert.equal(p.indices.length, split.val.length + held.holdout.length);
  const test = new Set(split.test);
  assert.ok([...p.indices].every((i) => !test.has(i)));
  assert.match(p.name, /group-val \+ group-train-holdout \(25 %/);
  // another dataset (the MAE saw none of it): its validation part, no holdout
  const other = calibrationPart(provenance, labels, groups, 'other', split);
  assert.deepEqual([...other.indices], [...split.val]);
  assert.match(other.name, /not the MAE's training data/);
  // a record that does not match the re-derived holdout is refused
  const wrong = { ...provenance, recipe: { ...provenance.recipe, calibrationHoldoutImages: held.holdout.length + 1 } };
  assert.throws(() => calibrationPart(wrong, labels, groups, 'f', split), (e: unknown) => e instanceof PipelineError && e.code === 'E_CALIBRATION' && /holdout mismatch/.test(e.message));
});
