import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ddimTimesteps, tStarOf, checkTStarMap } from '../../../../native-models/src/inference/pipeline/tstar.js';
import { quantileThreshold, auroc, groupTransfer, checkCalibration } from '../../../../native-models/src/inference/pipeline/calibrate.js';
import { readFileSync } from 'node:fs';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { detectorMaskOrders, maskFeeds } from '../../../../native-models/src/inference/pipeline/detector.js';
import { sampleMask, MAE_DEFAULT, keptOf } from '../../../../native-models/src/inference/nets/mae.js';
import { PipelineError } from '../../../../native-models/src/inference/pipeline/errors.js';
import { M_CFG } from './fixtures.js';

const MAP = { threshold: 0.01, sHi: 0.03, tMin: 50, tMax: 150 };

test('t* map: 0 at or below the threshold, monotone, bounded to [tMin, tMax] above it', () => {
  assert.equal(tStarOf(0.005, MAP), 0);
  assert.equal(tStarOf(0.01, MAP), 0);
  assert.equal(tStarOf(0.0100001, MAP), 50);
  assert.equal(tStarOf(0.02, MAP), 100);
  assert.equal(tStarOf(0.03, MAP), 150);
  assert.equal(tStarOf(1e9, MAP), 150);
  let prev = -1;
  for (let s = 0; s < 0.05; s += 0.0001) {
    const t = tStarOf(s, MAP);
    assert.ok(t >= prev, `monotone at ${s}`);
    assert.ok(t === 0 || (t >= 50 && t <= 150), `bounded at ${s}`);
    prev = t;
  }
  assert.throws(() => checkTStarMap({ ...MAP, sHi: 0.005 }), (e: PipelineError) => e.code === 'E_CALIBRATION');
});

test('DDIM timesteps: strictly descending from t*, N of them, none for t* = 0', () => {
  assert.deepEqual(ddimTimesteps(100, 4), [100, 75, 50, 25]);
  assert.deepEqual(ddimTimesteps(0, 4), []);
  assert.deepEqual(ddimTimesteps(2, 4), [2, 1]);
  assert.throws(() => ddimTimesteps(10, 0), (e: PipelineError) => e.code === 'E_OPTION');
});

test('calibration picks the (1 − FPR) quantile: at most FPR of clean scores lie above it', () => {
  const scores = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(quantileThreshold(scores, 0.05), 95);
  assert.equal(quantileThreshold(scores.slice().reverse(), 0.05), 95);
  assert.equal(quantileThreshold(scores, 0.1), 90);
  assert.equal(quantileThreshold([3, 1, 2], 0.5), 2);
  for (const n of [7, 20, 301]) {
    const s = Array.from({ length: n }, (_, i) => Math.sin(i) * 10);
    const thr = quantileThreshold(s, 0.05);
    assert.ok(s.filter((v) => v > thr).length / n <= 0.05);
  }
  assert.throws(() => quantileThreshold([1, NaN], 0.05), (e: PipelineError) => e.code === 'E_OPTION');
  assert.equal(auroc([1, 2, 3], [4, 5, 6]), 1);
  assert.equal(auroc([1, 2], [1, 2]), 0.5);
});

test('detector masks: stratified (each patch masked in 3 of every 4 masks), same layout as nets/mae sampleMask', () => {
  const orders = detectorMaskOrders(MAE_DEFAULT, 8, 3);
  const masked = new Array(64).fill(0);
  for (const o of orders) for (let pos = keptOf(MAE_DEFAULT); pos < 64; pos++) masked[o[pos]]++;
  assert.ok(masked.every((c) => c === 6));
  assert.deepEqual(detectorMaskOrders(MAE_DEFAULT, 8, 3), orders, 'seeded');
  // Feeds follow sampleMask's convention: keep = kept patch ids offset by sample, restore = position of each patch.
  const f = maskFeeds(M_CFG, detectorMaskOrders(M_CFG, 4, 1), 2);
  const ref = sampleMask(M_CFG, 8, 1);
  assert.equal(f.keep.data.length, ref.keep.data.length);
  assert.equal(f.restore.data.length, ref.restore.data.length);
  for (let s = 0; s < 8; s++) {
    const kept = [...f.keep.data.slice(s * 4, s * 4 + 4)].map((v) => Number(v) - s * 16);
    for (const p of kept) assert.equal(f.mask.data[s * 16 + p], 0);
    for (let p = 0; p < 16; p++) {
      const pos = Number(f.restore.data[s * 16 + p]) - s * 16;
      if (pos < 4) assert.equal(kept[pos], p);
      else assert.equal(f.mask.data[s * 16 + p], 1);
    }
  }
});

test('groupTransfer: the FPR on unseen groups centres on the target, spreads more when groups differ, is seeded', () => {
  const rng = new Rng(3);
  const G = 200, per = 4;
  const groups = Int32Array.from({ length: G * per }, (_, i) => Math.floor(i / per));
  const iid = Float64Array.from(groups, () => rng.normal());
  const offsets = Float64Array.from({ length: G }, () => 2 * rng.normal());
  const shifted = Float64Array.from(groups, (g, i) => offsets[g] + 0.3 * iid[i]);
  const a = groupTransfer(iid, groups, 0.05)!, b = groupTransfer(shifted, groups, 0.05)!;
  assert.equal(a.draws, 500);
  assert.ok(Math.abs(a.mean - 0.05) < 0.01, `iid mean ${a.mean}`);
  assert.ok(b.sd > a.sd, `group-shifted sd ${b.sd} vs iid ${a.sd}`);
  assert.ok(a.p95 >= a.mean && b.p95 >= b.mean);
  assert.deepEqual(groupTransfer(iid, groups, 0.05), a);
  assert.equal(groupTransfer([1, 2, 3], [0, 1, 2], 0.05), null);
  assert.throws(() => groupTransfer([1, 2], [0], 0.05), (e: PipelineError) => e.code === 'E_OPTION');
});

test('checkCalibration: the shipped calibration passes, with or without groupTransfer; a tampered one is E_CALIBRATION', () => {
  const shipped = JSON.parse(readFileSync(new URL('../../../../native-models/models/calibration.json', import.meta.url), 'utf8'));
  checkCalibration(shipped);
  assert.ok((shipped.scores.mse.groupTransfer?.draws ?? 0) > 0);
  const copy = () => JSON.parse(JSON.stringify(shipped));
  const old = copy();
  delete old.scores.mse.groupTransfer;
  checkCalibration(old);
  for (const bad of [{ mean: 'x' }, { p95: 1.5 }, { draws: 0 }]) {
    const c = copy();
    Object.assign(c.scores.mse.groupTransfer, bad);
    assert.throws(() => checkCalibration(c), (e: PipelineError) => e.code === 'E_CALIBRATION' && /groupTransfer/.test(e.message));
  }
});
