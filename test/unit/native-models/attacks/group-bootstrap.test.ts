/** Group bootstrap intervals: whole near-duplicate groups are resampled, so copies do not shrink the interval. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupBootstrapCI } from '../../../../native-models/src/lab/bench/group-bootstrap.js';
import { summarise, markdown, type CleanRecord, type Defence, type DefenceEval } from '../../../../native-models/src/lab/bench/robustness-report.js';

test('the interval brackets the mean, is seeded, and is wider when copies are grouped', () => {
  // 40 distinct slices, 10 copies each; 8 slices (80 images) wrong
  const values: number[] = [], grouped: number[] = [], single: number[] = [];
  for (let g = 0; g < 40; g++) for (let k = 0; k < 10; k++) { values.push(g < 8 ? 0 : 1); grouped.push(g); single.push(g * 10 + k); }
  const a = groupBootstrapCI(values, grouped), b = groupBootstrapCI(values, grouped);
  assert.deepEqual(a, b);
  assert.ok(a.lo < 0.8 && a.hi > 0.8, `${a.lo}–${a.hi}`);
  assert.equal(a.groups, 40);
  const naive = groupBootstrapCI(values, single);
  assert.ok(a.hi - a.lo > 2 * (naive.hi - naive.lo), `grouped ${a.hi - a.lo} vs one-per-image ${naive.hi - naive.lo}`);
  assert.deepEqual(groupBootstrapCI([1, 1, 1], [0, 1, 2]), { lo: 1, hi: 1, level: 0.95, groups: 3, resamples: 2000 });
  assert.throws(() => groupBootstrapCI([1], [0, 1]), RangeError);
});

test('the robustness report gives clean accuracy and flag rate intervals when records name their groups', () => {
  const ev = (pred: number, flagged: boolean): Record<Defence, DefenceEval> => ({ undefended: { pred }, 'mae-reject': { pred, flagged }, 'purify-all': { pred }, adaptive: { pred, flagged } });
  const rec = (image: number, group: number | undefined, ok: boolean, flagged: boolean): CleanRecord => ({
    kind: 'clean', image, ...(group === undefined ? {} : { group }), path: `p${image}`, label: 1, score: 0, evals: ev(ok ? 1 : 0, flagged),
    latencyMs: { undefended: 1, 'mae-reject': 1, 'purify-all': 1, adaptive: 1 },
  });
  const withGroups = Array.from({ length: 30 }, (_, i) => rec(i, i % 10, i % 10 !== 0, i % 10 === 1));
  const s = summarise(withGroups, {}, 0.5);
  assert.ok(s.clean.ci95);
  assert.equal(s.clean.ci95.flagRate.groups, 10);
  assert.ok(s.clean.ci95.accuracy.undefended.lo <= 0.9 && s.clean.ci95.accuracy.undefended.hi >= 0.9);
  assert.match(markdown(s), /Detector flag rate on clean images: 10\.0 % \(95 % CI [\d.]+–[\d.]+, resampling the 10 near-duplicate groups\)/);
  // an older report without groups: no intervals, no error
  assert.equal(summarise(withGroups.map((r) => ({ ...r, group: undefined })), {}, 0.5).clean.ci95, undefined);
});
