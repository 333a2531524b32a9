import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefencePipeline } from '../../../../native-models/src/inference/pipeline/pipeline.js';
import { Purifier } from '../../../../native-models/src/inference/pipeline/ddim.js';
import { PipelineError } from '../../../../native-models/src/inference/pipeline/errors.js';
import { tStarMapOf } from '../../../../native-models/src/inference/pipeline/calibrate.js';
import { ddimTimesteps, tStarOf } from '../../../../native-models/src/inference/pipeline/tstar.js';
import { GraphBuilder } from '../../../../native-models/src/core/graph/builder.js';
import { ddimChain } from '../../../../native-models/src/inference/nets/unet.js';
import { ModelSession } from '../../../../native-models/src/core/runtime/session.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { calibrationFor, images, tinyBundle, U_CFG } from './fixtures.js';

const bundle = tinyBundle();
const mk = (threshold: number | null) => DefencePipeline.create({ models: bundle, calibration: threshold === null ? null : calibrationFor(bundle, threshold), ep: 'cpu', threads: 1 });
const isCode = (code: string) => (e: unknown) => e instanceof PipelineError && e.code === code;

test('unflagged scans skip purification; identical seeds give identical results', async () => {
  const p = await mk(1e9);
  let purifyCalls = 0;
  const orig = p.purifier.purify.bind(p.purifier);
  p.purifier.purify = (jobs) => { purifyCalls++; return orig(jobs); };
  const imgs = images(3);
  const a = await p.scan(imgs, { seed: 7 });
  const b = await p.scan(imgs, { seed: 7 });
  assert.equal(purifyCalls, 0);
  for (const [i, r] of a.entries()) {
    assert.equal(r.flagged, false);
    assert.equal(r.tStar, 0);
    assert.equal(r.steps, 0);
    assert.equal(r.purified, null);
    assert.equal(r.difference, null);
    assert.ok(r.score! > 0 && r.score! <= 1e9);
    assert.equal(r.errorMap!.length, 256);
    assert.deepEqual(r.probabilities, b[i].probabilities);
    assert.equal(r.score, b[i].score);
    assert.deepEqual(r.input, imgs[i].pixels);
    assert.equal(r.models.length, 3);
    assert.equal(r.ep, 'cpu');
  }
  // The same image alone or in a batch: same score and probabilities (batch-independent).
  const [solo] = await p.scan([imgs[1]], { seed: 7 });
  assert.ok(Math.abs(solo.score! - a[1].score!) < 1e-6);
  assert.ok(Math.abs(solo.probabilities[1] - a[1].probabilities[1]) < 1e-5);
  await p.release();
});

test('flagged scans are purified from the t* the map gives for their score, then classified', async () => {
  const p = await mk(0);
  const cal = p.calibration!;
  const imgs = images(2, 3);
  const r = await p.scan(imgs, { seed: 1 });
  const again = await p.scan(imgs, { seed: 1 });
  const other = await p.scan(imgs, { seed: 2 });
  for (const [i, x] of r.entries()) {
    assert.equal(x.flagged, true);
    assert.equal(x.tStar, tStarOf(x.score!, tStarMapOf(cal)));
    assert.ok(x.tStar >= cal.purification.tMin && x.tStar <= cal.purification.tMax);
    assert.deepEqual(x.timesteps, ddimTimesteps(x.tStar, cal.purification.steps));
    assert.ok(x.purified && x.difference);
    for (let j = 0; j < 256; j++) assert.ok(Math.abs(x.difference[j] - (x.purified[j] - x.input[j])) < 1e-6);
    assert.ok(x.purified.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(x.purified, again[i].purified, 'same seed, same purification');
    assert.notDeepEqual(x.purified, other[i].purified, 'another seed, other noise');
  }
  await p.release();
});

test('modes: purify-all purifies every image at the fixed t* without a detector; undefended only classifies', async () => {
  const p = await mk(null);
  await assert.rejects(p.scan(images(1)), isCode('E_NOT_CALIBRATED'));
  const [all] = await p.scan(images(1), { mode: 'purify-all', fixedTStar: 80, steps: 2 });
  assert.equal(all.tStar, 80);
  assert.deepEqual(all.timesteps, [80, 40]);
  assert.equal(all.score, null);
  assert.ok(all.purified);
  const [und] = await p.scan(images(1), { mode: 'undefended' });
  assert.equal(und.purified, null);
  assert.equal(und.errorMap, null);
  assert.equal(und.flagged, false);
  await p.release();
});

test('bad input is refused with typed errors, and never a label', async () => {
  const p = await mk(1e9);
  const good = images(1)[0];
  await assert.rejects(p.scan([{ width: 8, height: 8, pixels: new Float32Array(64) }]), isCode('E_INPUT_SIZE'));
  await assert.rejects(p.scan([{ ...good, pixels: new Float32Array(100) }]), isCode('E_INPUT_SIZE'));
  const nan = new Float32Array(good.pixels); nan[5] = NaN;
  await assert.rejects(p.scan([{ ...good, pixels: nan }]), isCode('E_INPUT_NONFINITE'));
  const big = new Float32Array(good.pixels); big[5] = 1.5;
  await assert.rejects(p.scan([{ ...good, pixels: big }]), isCode('E_INPUT_RANGE'));
  await assert.rejects(p.scan([{ ...good, label: 1 } as never]), (e: unknown) => isCode('E_INPUT_FIELDS')(e) && /never takes a label/.test((e as Error).message));
  await assert.rejects(p.scan([good], { expectVersions: { classifier: 'v999' } }), isCode('E_MODEL_VERSION'));
  await assert.rejects(p.scan([{ ...good, pixels: Array.from(good.pixels) } as never]), isCode('E_INPUT_FIELDS'));
  const [ok] = await p.scan([good], { expectVersions: { classifier: 'test-1' } });
  assert.equal(ok.flagged, false);
  await p.release();
});

test('DDIM: t* = 0 returns the input; the sampler matches nets/unet.ts ddimChain', async () => {
  const purifier = new Purifier(U_CFG, bundle.unet.weights, { ep: 'cpu', threads: 1 });
  const x = images(1, 9)[0].pixels;
  const [same] = await purifier.purify([{ x, timesteps: [], seed: 1 }]);
  assert.deepEqual(same, x);
  const steps = [120, 80, 40];
  const [mine] = await purifier.purify([{ x, timesteps: steps, seed: 42 }]);
  const b = new GraphBuilder('ref');
  const xi = b.input('x', [1, 1, 16, 16]);
  b.output(ddimChain(b, U_CFG, xi, b.input('noise', [1, 1, 16, 16]), steps), 'out');
  const s = await ModelSession.create(b.serialize({ paramsAs: 'initializers', weights: bundle.unet.weights }), { threads: 1 });
  const ref = (await s.run({ x: { shape: [1, 1, 16, 16], data: x }, noise: { shape: [1, 1, 16, 16], data: new Rng(42).normals(256) } })).get('out')!.data;
  let maxErr = 0;
  for (let i = 0; i < 256; i++) maxErr = Math.max(maxErr, Math.abs(mine[i] - Math.min(1, Math.max(0, ref[i]))));
  assert.ok(maxErr < 1e-4, `max |Δ| ${maxErr}`);
  await s.release();
  await purifier.release();
});
