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

test('the shipped classifier carries its model card\'s held-out figures; seeded models carry none', async () => {
  const manifest = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'manifest.json'), 'utf8'));
  const b = await loadModelBundle();
  const h = b.classifier.provenance?.heldOut;
  assert.ok(h);
  assert.equal(h.accuracy, manifest.models.classifier.metrics.test.accuracy);
  assert.equal(h.count, manifest.models.classifier.metrics.test.count);
  assert.equal(h.split, manifest.models.classifier.split);
  assert.equal(seededBundle(0).classifier.provenance, undefined);
});
