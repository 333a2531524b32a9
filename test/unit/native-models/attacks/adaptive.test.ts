/**
 * The adaptive attacks' gradients on a tiny pipeline (16×16 models, 2 DDIM steps): the purify→classify graph
 * reproduces the real purifier, its EOT gradient equals central finite differences, BPDA's differs from it, and
 * the detector score graph reproduces the detector's score with a gradient that matches finite differences.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DefencePipeline } from '../../../../native-models/src/inference/pipeline/pipeline.js';
import type { GradientOracle } from '../../../../native-models/src/lab/attacks/pgd.js';
import { AttackKit, type DefenceOracleOptions } from '../../../../native-models/src/lab/attacks/oracles.js';
import { PurifiedLoss } from '../../../../native-models/src/lab/attacks/purified-graph.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { ddimTimesteps } from '../../../../native-models/src/inference/pipeline/tstar.js';
import { tinyBundle, calibrationFor } from '../pipeline/fixtures.js';

const S = 16, SS = S * S;
let pipe: DefencePipeline;
let kit: AttackKit;

before(async () => {
  const models = tinyBundle();
  // threshold 0: every image flagged; t* then saturates at tMax = 150 (sHi tiny), a constant as in the test below
  pipe = await DefencePipeline.create({ models, calibration: calibrationFor(models, 0, { steps: 2 }), ep: 'cpu', threads: 1 });
  kit = new AttackKit(pipe, { threads: 1 });
});
after(async () => { await kit.release(); await pipe.release(); });

function img(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * SS }, () => 0.25 + 0.5 * rng.uniform());
}

test('the purify→classify graph reproduces the pipeline purifier (same noise seed)', async () => {
  const x = img(2, 1), ts = ddimTimesteps(120, 2);
  const pl = new PurifiedLoss(pipe.models.unet, pipe.models.classifier, { threads: 1 });
  const noise = new Float32Array(2 * SS);
  noise.set(new Rng(11).normals(SS), 0);
  noise.set(new Rng(12).normals(SS), SS);
  const r = await pl.run(x, noise, Float32Array.from([1, 0, 0, 1]), [ts, ts]);
  const ref = await pipe.purifier.purify([{ x: x.subarray(0, SS), timesteps: ts, seed: 11 }, { x: x.subarray(SS), timesteps: ts, seed: 12 }]);
  let worst = 0;
  for (let i = 0; i < SS; i++) worst = Math.max(worst, Math.abs(r.purified[i] - ref[0][i]), Math.abs(r.purified[SS + i] - ref[1][i]));
  assert.ok(worst < 1e-4, `purified images differ by ${worst}`);
  await pl.release();
});

/**
 * Central finite differences of the oracle's loss (deterministic for a fixed iter: same EOT noises) at random pixel
 * coordinates, perturbing the same pixel of both images at once (rows are independent). Per-coordinate steps cross
 * few ReLU kinks of the random-weight classifier; along a dense random direction they would cross many.
 */
async function fdCheck(oracle: GradientOracle, x: Float32Array, labels: Int32Array, ids: number[], seed: number) {
  const g = await oracle.lossGrad(x, labels, ids, 3);
  const h = 1e-3, rng = new Rng(seed);
  let checked = 0;
  for (let trial = 0; trial < 6; trial++) {
    const p = rng.int(SS);
    const at = (s: number) => Float32Array.from(x, (v, i) => (i % SS === p ? v + s * h : v));
    const lp = await oracle.lossGrad(at(1), labels, ids, 3);
    const lm = await oracle.lossGrad(at(-1), labels, ids, 3);
    for (let i = 0; i < labels.length; i++) {
      const analytic = g.grad[i * SS + p], numeric = (lp.loss[i] - lm.loss[i]) / (2 * h);
      const err = Math.abs(analytic - numeric);
      assert.ok(err <= 0.05 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 5e-3, `${oracle.name} image ${i} pixel ${p}: analytic ${analytic}, numeric ${numeric}`);
      checked++;
    }
  }
  return checked;
}

const defenceFd = (o: DefenceOracleOptions, seed: number) => fdCheck(kit.defenceOracle(o), img(2, seed), Int32Array.from([0, 1]), [4, 9], seed);

test('adaptive PGD-EOT gradient through detector → DDIM chain → classifier equals finite differences', async () => {
  // Image and coordinate seed: with seed 2 one of the 12 coordinates sits on a ReLU kink (FD averages the two slopes).
  assert.equal(await defenceFd({ defence: 'adaptive', backward: 'exact', eot: 2, seed: 1 }, 3), 12);
});

test('purify-all EOT gradient equals finite differences', async () => {
  assert.equal(await defenceFd({ defence: 'purify-all', backward: 'exact', eot: 2, seed: 3 }, 5), 12);
});

test('BPDA (identity backward) is a different gradient from the exact one', async () => {
  const x = img(2, 7), labels = Int32Array.from([1, 0]), ids = [0, 1];
  const exact = await kit.defenceOracle({ defence: 'adaptive', backward: 'exact', eot: 2, seed: 1 }).lossGrad(x, labels, ids, 0);
  const bpda = await kit.defenceOracle({ defence: 'adaptive', backward: 'bpda', eot: 2, seed: 1 }).lossGrad(x, labels, ids, 0);
  // same forward (same noise): same loss
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(exact.loss[i] - bpda.loss[i]) < 1e-4, `losses ${exact.loss[i]} vs ${bpda.loss[i]}`);
  let dot = 0, ne = 0, nb = 0;
  for (let p = 0; p < x.length; p++) { dot += exact.grad[p] * bpda.grad[p]; ne += exact.grad[p] ** 2; nb += bpda.grad[p] ** 2; }
  const cos = dot / Math.sqrt(ne * nb);
  assert.ok(cos < 0.99, `BPDA gradient is the exact one (cos ${cos})`);
});

test('detector score graph: same score as the detector; detector-aware gradient equals finite differences', async () => {
  const x = img(2, 9);
  const det = await pipe.detector.detect(x, 2);
  const sg = await kit.score().run(x, 2);
  const sum = det[0].scores.mse + det[1].scores.mse;
  assert.ok(Math.abs(sg.scoreSum - sum) <= 1e-4 * sum, `graph ${sg.scoreSum} vs detector ${sum}`);
  // mae-reject target + detector term (threshold 0 would make score/thr infinite: use a real threshold)
  const models = pipe.models;
  const p2 = await DefencePipeline.create({ models, calibration: calibrationFor(models, 0.5 * det[0].scores.mse, { steps: 2 }), ep: 'cpu', threads: 1 });
  const k2 = new AttackKit(p2, { threads: 1 });
  const oracle = k2.defenceOracle({ defence: 'mae-reject', backward: 'exact', eot: 1, seed: 0, detectorAware: { lambda: 3, margin: 0.05 } });
  assert.equal(await fdCheck(oracle, x, Int32Array.from([0, 1]), [0, 1], 8), 12);
  await k2.release();
  await p2.release();
});
