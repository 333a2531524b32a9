/** Model bundle facts the UI shows: the classifier's held-out figures come from its manifest entry, or are absent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR, heldOutPerformance, loadModelBundle, seededBundle } from '../../../../native-models/src/inference/pipeline/models.js';

const good = { split: 'br35h-group-v1 (seed 42)', metrics: { test: { count: 457, accuracy: 0.8884, accuracyCi95: [0.8189, 0.9466], recallYes: 0.9037, recallNo: 0.8663 } } };

test('heldOutPerformance reads metrics.test and refuses anything malformed (null, never a made-up figure)', () => {
  assert.deepEqual(heldOutPerformance(good), { split: 'br35h-group-v1 (seed 42)', count: 457, accuracy: 0.8884, accuracyCi95: [0.8189, 0.9466], sensitivity: 0.9037, specificity: 0.8663 });
  const t = good.metrics.test;
  for (const bad of [
    {}, { split: 'x' }, { split: 'x', metrics: { test: null } }, { metrics: good.metrics },
    { split: 'x', metrics: { test: { ...t, count: 0 } } }, { split: 'x', metrics: { test: { ...t, accuracy: 1.2 } } },
    { split: 'x', metrics: { test: { ...t, accuracy: '0.9' } } }, { split: 'x', metrics: { test: { ...t, recallYes: undefined } } },
    { split: 'x', metrics: { test: { ...t, accuracyCi95: [0.9, 0.8] } } }, { split: 'x', metrics: { test: { ...t, accuracyCi95: [0.8] } } },
    { split: 'x', metrics: { test: { ...t, accuracyCi95: null } } },
    { split: 'x', metrics: { test: { ...t, recallNo: Number.NaN } } },
  ]) assert.equal(heldOutPerformance(bad), null, JSON.stringify(bad));
  const { accuracyCi95: _ci, ...older } = t; // entries written before the interval was recorded
  assert.equal(heldOutPerformance({ split: 'x', metrics: { test: older } })?.accuracyCi95, null);
});

test('a model fitted on every group carries its recipe\'s split-run estimate (mean over seeds, per-seed figures), marked as such', () => {
  const bySeed = { 0: { accuracy: 0.95, accuracyCi95: [0.9, 0.98], recallYes: 0.96, recallNo: 0.93 }, 1: { accuracy: 0.91, accuracyCi95: [0.85, 0.96], recallYes: 0.9, recallNo: 0.92 } };
  const entry = { split: 'br35h-group-v1 (seed 42)', metrics: { test: null, groupTestEstimate: { count: 457, seeds: [0, 1], accuracy: 0.93, recallYes: 0.93, recallNo: 0.925, bySeed } } };
  assert.deepEqual(heldOutPerformance(entry), {
    split: 'br35h-group-v1 (seed 42)', count: 457, accuracy: 0.93, accuracyCi95: null, sensitivity: 0.93, specificity: 0.925,
    splitRuns: { accuracyBySeed: { 0: 0.95, 1: 0.91 }, accuracyCi95BySeed: { 0: [0.9, 0.98], 1: [0.85, 0.96] } },
  });
  const est = entry.metrics.groupTestEstimate;
  for (const bad of [{ ...est, bySeed: {} }, { ...est, accuracy: 2 }, { ...est, bySeed: { 0: { ...bySeed[0], accuracyCi95: [0.9] } } }, { ...est, count: 0 }]) {
    assert.equal(heldOutPerformance({ split: 'x', metrics: { groupTestEstimate: bad } }), null, JSON.stringify(bad));
  }
});

test('the shipped classifier carries its model card\'s held-out figures; seeded models carry none', async () => {
  const manifest = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'manifest.json'), 'utf8'));
  const b = await loadModelBundle();
  const h = b.classifier.provenance?.heldOut;
  assert.ok(h);
  const m = manifest.models.classifier.metrics;
  const figures = m.test ?? m.groupTestEstimate; // fitted on every group: the split runs' estimate
  assert.ok(figures);
  assert.equal(h.accuracy, figures.accuracy);
  assert.equal(h.count, figures.count);
  assert.equal(h.splitRuns !== undefined, !m.test);
  assert.equal(h.split, manifest.models.classifier.split);
  assert.equal(seededBundle(0).classifier.provenance, undefined);
});
