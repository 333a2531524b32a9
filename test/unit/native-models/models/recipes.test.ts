/** Training recipes' building blocks: CLI arguments, run folders, EMA state, noise augmentation, timestep sampling, DDIM steps, cards. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { parseTrainArgs } from '../../../../native-models/src/lab/recipes/cli.js';
import { RecipeError, applyOverrides, augmentedFactory, configHash, prepareRunDir, type TrainingData } from '../../../../native-models/src/lab/recipes/common.js';
import { EmaOptimizer } from '../../../../native-models/src/lab/recipes/ema.js';
import { TailAverageOptimizer } from '../../../../native-models/src/lab/recipes/swa.js';
import { sampleTimestep } from '../../../../native-models/src/lab/recipes/diffusion.js';
import { EpsModel } from '../../../../native-models/src/lab/recipes/ddim.js';
import { Purifier, ddimSample } from '../../../../native-models/src/inference/pipeline/ddim.js';
import { ddimTimesteps } from '../../../../native-models/src/inference/pipeline/tstar.js';
import { linearSchedule } from '../../../../native-models/src/inference/nets/diffusion-schedule.js';
import * as unetNet from '../../../../native-models/src/inference/nets/unet.js';
import { Rng as NetsRng } from '../../../../native-models/src/core/rng.js';
import { gridPng } from '../../../../native-models/src/lab/recipes/png.js';
import { betaSample, estimateKey, estimateMarkdown, estimateMetrics, selectionScore, runClassifierRecipe, CLASSIFIER_RECIPE } from '../../../../native-models/src/lab/recipes/classifier.js';
import { renderModelCard, writeArtifact, DATA_LICENCE_NOTE } from '../../../../native-models/src/lab/recipes/card.js';
import { loadModel } from '../../../../native-models/src/inference/models/manifest.js';
import type { RecipeOutcome } from '../../../../native-models/src/lab/recipes/types.js';
import { AdamW } from '../../../../native-models/src/core/train/optim.js';
import { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';
import { groupSplit, randomSplit, trainHoldout } from '../../../../native-models/src/lab/data/split.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { tensor, type NamedWeights } from '../../../../native-models/src/core/tensor.js';

test('parseTrainArgs: defaults, options and usage errors', () => {
  const a = parseTrainArgs(['classifier', '--data', '/d', '--epochs', '5', '--seed', '3', '--threads', '1', '--json']);
  assert.deepEqual({ ...a }, { model: 'classifier', data: '/d', size: 64, epochs: 5, seed: 3, resume: false, fresh: false, threads: 1, json: true, progress: true, overrides: {} });
  assert.deepEqual(parseTrainArgs(['classifier', '--data', 'd', '--set', 'mixupAlpha=0.4']).overrides, { mixupAlpha: '0.4' });
  assert.equal(parseTrainArgs(['diffusion', '--data', 'synthetic', '--steps', '10', '--resume']).steps, 10);
  assert.equal(parseTrainArgs(['diffusion', '--data', 'd', '--resume', '--time-budget', '20']).timeBudgetMinutes, 20);
  const bad = (argv: string[], re: RegExp) => assert.throws(() => parseTrainArgs(argv), (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT' && re.test(e.message));
  bad(['gan', '--data', 'x'], /unknown model/);
  bad(['mae'], /--data/);
  bad(['mae', '--data'], /needs a value/);
  bad(['mae', '--data', 'x', '--size', 'big'], /--size/);
  bad(['mae', '--data', 'x', '--resume', '--fresh'], /exclude/);
  bad(['mae', '--data', 'x', '--wat'], /unknown option/);
  bad(['classifier', '--data', 'd', '--set', 'oops'], /KEY=VALUE/);
  bad(['diffusion', '--data', 'd', '--time-budget', '0'], /--time-budget/);
  bad(['classifier', '--data', 'd', '--set', 'studyHoldout=0.25'], /--out/);
  bad(['classifier', '--data', 'd', '--set', 'leakySplit=true'], /--out/);
  assert.equal(parseTrainArgs(['classifier', '--data', 'd', '--set', 'studyHoldout=0.25', '--out', '/tmp/x']).out, '/tmp/x');
});

test('configHash ignores key order; run folders refuse to overwrite checkpoints unless --resume or --fresh', async () => {
  assert.equal(configHash({ a: 1, b: { c: 2, d: 3 } }), configHash({ b: { d: 3, c: 2 }, a: 1 }));
  assert.notEqual(configHash({ a: 1 }), configHash({ a: 2 }));
  const runs = mkdtempSync(join(tmpdir(), 'mfp-runs-'));
  try {
    const dir = await prepareRunDir('m', { x: 1 }, { resume: false, fresh: false, runsDir: runs });
    writeFileSync(join(dir, 'ckpt-000000010.mfpw'), 'x');
    await assert.rejects(prepareRunDir('m', { x: 1 }, { resume: false, fresh: false, runsDir: runs }), (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_RUN_EXISTS');
    assert.equal(await prepareRunDir('m', { x: 1 }, { resume: true, fresh: false, runsDir: runs }), dir);
    assert.ok(existsSync(join(dir, 'ckpt-000000010.mfpw')));
    await prepareRunDir('m', { x: 1 }, { resume: false, fresh: true, runsDir: runs });
    assert.ok(!existsSync(join(dir, 'ckpt-000000010.mfpw')));
  } finally {
    rmSync(runs, { recursive: true, force: true });
  }
});

const grads = (k: number): NamedWeights => new Map([['w', tensor([3], [Math.sin(k), Math.cos(k), 0.5])]]);

test('EmaOptimizer: averages with warm-up, and its state round-trips exactly through save/load', () => {
  const run = (n: number, opt: EmaOptimizer, w: NamedWeights, from = 0) => { for (let k = from; k < n; k++) opt.step(w, grads(k), 0.1); };
  const wA: NamedWeights = new Map([['w', tensor([3], [1, 2, 3])]]);
  const a = new EmaOptimizer(new AdamW({ weightDecay: 0 }), 0.9);
  assert.equal(a.averaged, null);
  a.step(wA, grads(0), 0.1);
  assert.deepEqual([...a.averaged!.get('w')!.data], [...wA.get('w')!.data]); // starts as a copy
  const before = Float32Array.from(a.averaged!.get('w')!.data);
  a.step(wA, grads(1), 0.1);
  const d = Math.min(0.9, (1 + 2) / (10 + 2));
  a.averaged!.get('w')!.data.forEach((v, i) => assert.ok(Math.abs(v - (d * before[i] + (1 - d) * wA.get('w')!.data[i])) < 1e-6));
  run(10, a, wA, 2);

  // Interrupted at 5, state saved and loaded into a fresh wrapper, continued to 10: identical.
  const wB: NamedWeights = new Map([['w', tensor([3], [1, 2, 3])]]);
  const b1 = new EmaOptimizer(new AdamW({ weightDecay: 0 }), 0.9);
  run(5, b1, wB);
  const s = b1.state();
  assert.ok(s.tensors.has('ema/w'));
  const b2 = new EmaOptimizer(new AdamW({ weightDecay: 0 }), 0.9);
  b2.load(s);
  run(10, b2, wB, 5);
  assert.deepEqual([...wB.get('w')!.data], [...wA.get('w')!.data]);
  assert.deepEqual([...b2.averaged!.get('w')!.data], [...a.averaged!.get('w')!.data]);
  assert.equal(b2.kind, 'adamw');
  assert.throws(() => new EmaOptimizer(new AdamW(), 1));
});

test('TailAverageOptimizer: the exact mean of the weights after updates start..end, and exact resume', () => {
  const w: NamedWeights = new Map([['w', tensor([3], [1, 2, 3])]]);
  const a = new TailAverageOptimizer(new AdamW({ weightDecay: 0 }), 4);
  const seen: number[][] = [];
  for (let k = 0; k < 9; k++) {
    a.step(w, grads(k), 0.1);
    if (k + 1 < 4) assert.equal(a.averaged, null);
    else seen.push([...w.get('w')!.data]);
  }
  assert.equal(a.averagedCount, 6);
  const mean = [0, 1, 2].map((i) => seen.reduce((s, v) => s + v[i], 0) / seen.length);
  a.averaged!.get('w')!.data.forEach((v, i) => assert.ok(Math.abs(v - mean[i]) < 1e-6, `mean[${i}] ${v} vs ${mean[i]}`));

  // Saved mid-average (after 6 updates), loaded into a fresh wrapper, continued: identical weights and mean.
  const w2: NamedWeights = new Map([['w', tensor([3], [1, 2, 3])]]);
  const b1 = new TailAverageOptimizer(new AdamW({ weightDecay: 0 }), 4);
  for (let k = 0; k < 6; k++) b1.step(w2, grads(k), 0.1);
  const st = b1.state();
  assert.ok(st.tensors.has('swa/w'));
  const b2 = new TailAverageOptimizer(new AdamW({ weightDecay: 0 }), 4);
  b2.load(st);
  for (let k = 6; k < 9; k++) b2.step(w2, grads(k), 0.1);
  assert.deepEqual([...w2.get('w')!.data], [...w.get('w')!.data]);
  assert.deepEqual([...b2.averaged!.get('w')!.data], [...a.averaged!.get('w')!.data]);
  assert.equal(b2.averagedCount, 6);
  assert.throws(() => new TailAverageOptimizer(new AdamW(), 0), RangeError);
});

function toyDataset(n = 24, size = 8): ImageDataset {
  const r = new Rng(5);
  const images = Float32Array.from({ length: n * size * size }, () => r.next());
  return new ImageDataset('toy', size, images, Int32Array.from({ length: n }, (_, i) => Math.floor(i / 2) % 2), Int32Array.from({ length: n }, (_, i) => Math.floor(i / 2)),
    Array.from({ length: n }, (_, i) => `f${i}`), { source: 'test', groupSource: 'pairs', fingerprint: 'f' });
}

test('augmentedFactory: noise is seeded per (epoch, batch), clamped, and resume from startBatch replays the same batches', () => {
  const ds = toyDataset();
  const idx = Int32Array.from({ length: ds.count }, (_, i) => i);
  const f = augmentedFactory(ds, idx, 4, { rotateDeg: 5 }, { p: 1, sigmaMax: 0.2 }, 7);
  const collect = (start: number) => [...(f({ epoch: 2, rng: new Rng(99), startBatch: start }) as Iterable<{ x: { data: Float32Array } }>)].map((b) => Float32Array.from(b.x.data));
  const full = collect(0), resumed = collect(3);
  assert.equal(full.length, 6);
  assert.deepEqual(resumed, full.slice(3));
  for (const b of full) for (const v of b) assert.ok(v >= 0 && v <= 1);
  const clean = [...(augmentedFactory(ds, idx, 4, { rotateDeg: 5 }, null, 7)({ epoch: 2, rng: new Rng(99), startBatch: 0 }) as Iterable<{ x: { data: Float32Array } }>)].map((b) => Float32Array.from(b.x.data));
  assert.notDeepEqual(clean[0], full[0]); // noise was added
});

test('diffusion timestep sampling puts ≈86 % of the mass below 300 and covers the whole range', () => {
  const rng = new Rng(1);
  let below = 0, max = 0;
  const N = 20000;
  for (let i = 0; i < N; i++) {
    const t = sampleTimestep(rng, 1000, { focusP: 0.8, focusBelow: 300 });
    assert.ok(Number.isInteger(t) && t >= 0 && t < 1000);
    if (t < 300) below++;
    max = Math.max(max, t);
  }
  assert.ok(Math.abs(below / N - (0.8 + 0.2 * 0.3)) < 0.01, `fraction below 300: ${below / N}`);
  assert.ok(max > 990);
});

test('the recipe validates with the shipped sampler: same weights, noise and schedule give the Purifier\'s image', async () => {
  const cfg: unetNet.UnetConfig = { size: 8, width: 4, mults: [1, 2], groups: 2, heads: 2, T: 1000 };
  const weights = unetNet.init(cfg, 1);
  const ss = cfg.size * cfg.size;
  const x = Float32Array.from({ length: ss }, (_, i) => (i % 7) / 7);
  const steps = ddimTimesteps(60, 3);
  const purifier = new Purifier(cfg, weights, { ep: 'cpu', threads: 1 }, 1);
  const model = await EpsModel.create(cfg, 1, 1);
  try {
    const [shipped] = await purifier.purify([{ x, timesteps: steps, seed: 7 }]);
    const eps = (xt: Float32Array, t: Float32Array) => model.eps(weights, { shape: [1, 1, cfg.size, cfg.size], data: xt }, t);
    const { purified } = await ddimSample(eps, x, new NetsRng(7).normals(ss), [steps], linearSchedule(cfg.T).alphaBar, ss);
    let maxDiff = 0;
    for (let i = 0; i < ss; i++) maxDiff = Math.max(maxDiff, Math.abs(purified[i] - shipped[i]));
    assert.ok(maxDiff < 1e-5, `recipe sampler differs from the Purifier by ${maxDiff}`);
  } finally {
    await purifier.release();
    await model.release();
  }
});

test('gridPng writes a decodable grey PNG of the right size', () => {
  const tile = Float32Array.from({ length: 16 }, (_, i) => i / 15);
  const png = PNG.sync.read(Buffer.from(gridPng([[tile, tile, tile], [tile, tile, tile]], 4, 2, 1)));
  assert.equal(png.width, 3 * 8 + 4);
  assert.equal(png.height, 2 * 8 + 3);
  assert.throws(() => gridPng([[tile], [tile, tile]], 4), RangeError);
});

test('selectionScore ranks by accuracy first, loss only breaks ties', () => {
  assert.ok(selectionScore({ accuracy: 0.9, loss: 3 }, 300) > selectionScore({ accuracy: 0.9 - 1 / 300, loss: 0 }, 300));
  assert.ok(selectionScore({ accuracy: 0.9, loss: 0.1 }, 300) > selectionScore({ accuracy: 0.9, loss: 0.2 }, 300));
});

test('writeArtifact writes weights, card and manifest entry that loadModel accepts', async () => {
  const ds = toyDataset();
  const split = groupSplit(ds.labels, ds.groups, { seed: 42 });
  const data: TrainingData = { ds, split, synthetic: false, dir: '/data', description: 'toy data\nsecond line', splitName: 'br35h-group-v1 (seed 42)', caveat: null };
  const outcome: RecipeOutcome = {
    model: 'classifier', weights: new Map([['head.fc.w', tensor([2, 2], [1, 2, 3, 4])]]), netConfig: { width: 1 }, recipe: { batch: 2 },
    metrics: { test: { accuracy: 0.5 }, valCurve: [[1, 0.5, 0.7]] }, metricNotes: ['a note'],
    training: { steps: 10, plannedSteps: 10, epochs: 1, seconds: 75, resumedFrom: null, runDir: '/x/.cache/runs/classifier-abc', selected: 'best' },
    notes: ['recipe note'], limitations: ['a limitation'], previews: [{ file: 'classifier.preview.png', png: gridPng([[new Float32Array(4)]], 2), caption: 'cap' }],
  };
  const out = mkdtempSync(join(tmpdir(), 'mfp-art-'));
  try {
    const w = await writeArtifact(out, outcome, data, 'medfedpure train classifier --data /data', 2);
    const card = readFileSync(w.cardPath, 'utf8');
    assert.match(card, new RegExp(w.entry.sha256));
    assert.ok(card.includes(DATA_LICENCE_NOTE));
    assert.ok(card.includes('medfedpure train classifier --data /data'));
    assert.ok(card.includes('group-test is evaluated once'));
    assert.ok(card.includes('1 min 15 s'));
    // Current figures first, the training log last.
    assert.deepEqual([...card.matchAll(/^## (.+)$/gm)].map((m) => m[1]), ['Metrics', 'Previews', 'Data', 'Split', 'Recipe', 'Limitations', 'Training']);
    assert.ok(existsSync(join(out, 'classifier.preview.png')));
    assert.equal(w.entry.training?.runDir, '.cache/runs/classifier-abc');
    assert.equal((w.entry.metrics as Record<string, unknown>).valCurve, undefined);
    const m = await loadModel('classifier', { dir: out });
    assert.deepEqual([...m.weights.get('head.fc.w')!.data], [1, 2, 3, 4]);
    assert.equal(m.meta.split, 'br35h-group-v1 (seed 42)');
    // The synthetic caveat is printed on the card.
    const syn = renderModelCard({ outcome, data: { ...data, synthetic: true, caveat: 'synthetic lesions, one anatomy' }, file: 'f', sha256: 'a'.repeat(64), bytes: 1, trainedAt: 't', command: 'c', hardware: 'h' });
    assert.ok(syn.includes('**synthetic lesions, one anatomy**'));
    assert.ok(!syn.includes(DATA_LICENCE_NOTE));
    // An MAE that kept a calibration holdout says so in its Split section.
    const held = renderModelCard({ outcome: { ...outcome, model: 'mae', recipe: { calibrationHoldout: 0.25, calibrationHoldoutGroups: 78, calibrationHoldoutImages: 411 } }, data, file: 'f', sha256: 'a'.repeat(64), bytes: 1, trainedAt: 't', command: 'c', hardware: 'h' });
    assert.ok(held.includes('Fitting uses group-train minus its calibration holdout (78 whole groups, 411 images'), held);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('applyOverrides sets numeric and boolean recipe fields and refuses unknown keys or bad values', () => {
  const r = { epochs: 10, usePred: true, net: { width: 2 } };
  assert.deepEqual(applyOverrides(r, { epochs: '20', usePred: 'false' }), { epochs: 20, usePred: false, net: { width: 2 } });
  assert.equal(r.epochs, 10);
  for (const o of [{ epochz: '1' }, { epochs: 'x' }, { usePred: 'yes' }, { net: '{}' }] as Record<string, string>[]) {
    assert.throws(() => applyOverrides(r, o), (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT');
  }
});

test('applyOverrides reaches one level into object fields (net.width=16, net.norm=group) without mutating the recipe', () => {
  const r = { epochs: 10, net: { width: 24, norm: 'batch', dropout: 0.2 } };
  assert.deepEqual(applyOverrides(r, { 'net.width': '16', 'net.norm': 'group', 'net.dropout': '0' }), { epochs: 10, net: { width: 16, norm: 'group', dropout: 0 } });
  assert.deepEqual(r.net, { width: 24, norm: 'batch', dropout: 0.2 });
  for (const o of [{ 'net.widht': '1' }, { 'net.width': 'x' }, { 'epochs.x': '1' }] as Record<string, string>[]) {
    assert.throws(() => applyOverrides(r, o), (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT');
  }
});

test('the split-run estimate: per-seed figures and their mean in the manifest metrics and the card; its key ignores only what is fitted', () => {
  const est = {
    key: 'k', count: 457, command: 'medfedpure train classifier …', machine: '2-core VM', date: '2026-12-06',
    bySeed: { 0: { accuracy: 0.95, accuracyCi95: [0.9, 0.98] as [number, number], recallYes: 0.96, recallNo: 0.93 }, 1: { accuracy: 0.9, accuracyCi95: [0.85, 0.95] as [number, number], recallYes: 0.9, recallNo: 0.9 } },
  };
  const m = estimateMetrics(est);
  assert.deepEqual(m.groupTestAccuracyBySeed, { 0: 0.95, 1: 0.9 });
  assert.equal(m.groupTestEstimate.accuracy, 0.925);
  assert.deepEqual(m.groupTestEstimate.seeds, [0, 1]);
  assert.match(estimateMarkdown(est), /\| 0 \| 95\.0 \| 90\.0–98\.0 \|[\s\S]*\*\*92\.5\*\*/);
  const r = CLASSIFIER_RECIPE;
  assert.equal(estimateKey({ ...r, includeVal: true }), estimateKey({ ...r, fitAllGroups: true }));
  assert.notEqual(estimateKey(r), estimateKey({ ...r, epochs: r.epochs + 1 }));
});

test('betaSample: λ in (0, 1) with mean 1/2 for Beta(α, α)', () => {
  const rng = new Rng(3);
  let s = 0;
  for (let i = 0; i < 4000; i++) {
    const l = betaSample(rng, 0.4);
    assert.ok(l > 0 && l < 1);
    s += l;
  }
  assert.ok(Math.abs(s / 4000 - 0.5) < 0.03);
});

test('MAE and UNet train steps draw masks / timesteps / noise from batch.seed when the trainer sets it', async () => {
  const M = await import('../../../../native-models/src/inference/nets/mae.js');
  const U = await import('../../../../native-models/src/inference/nets/unet.js');
  const maeCfg = { size: 16, patch: 4, maskRatio: 0.75, dim: 16, depth: 1, heads: 2, decoderDim: 8, decoderDepth: 1, decoderHeads: 2, mlpRatio: 2 };
  const unetCfg = { size: 8, width: 4, mults: [1, 2], groups: 2, heads: 2, T: 1000 };
  const cases = [
    { step: M.makeTrainStep(maeCfg, { threads: 1 }), w: M.init(maeCfg, 0), x: { shape: [2, 1, 16, 16], data: Float32Array.from({ length: 512 }, (_, i) => (i % 7) / 7) } },
    { step: U.makeTrainStep(unetCfg, { threads: 1 }), w: U.init(unetCfg, 0), x: { shape: [2, 1, 8, 8], data: Float32Array.from({ length: 128 }, (_, i) => (i % 5) / 5) } },
  ];
  for (const { step, w, x } of cases) {
    const a = (await step(w, { x, seed: 11 })).loss;
    await step(w, { x, seed: 12 }); // a private counter / generator must not leak into seeded steps
    assert.equal((await step(w, { x, seed: 11 })).loss, a);
    assert.notEqual((await step(w, { x, seed: 13 })).loss, a);
    await step.release();
  }
});

test('classifier recipe: train+val fit ships the tail average, adversarial training on, test touched once; no-selection misuse refused', async () => {
  const ds = toyDataset(64, 16);
  const split = groupSplit(ds.labels, ds.groups, { seed: 42 });
  const data: TrainingData = { ds, split, synthetic: false, dir: '/data', description: 'toy', splitName: 'toy-group', caveat: null };
  const runs = mkdtempSync(join(tmpdir(), 'mfp-clsrecipe-'));
  const base = { data, size: 16, seed: 1, threads: 1, resume: false, fresh: false, progressBar: false, log: () => {}, runsDir: runs };
  try {
    const out = await runClassifierRecipe({ ...base, steps: 3, overrides: { includeVal: 'true', batch: '8', swaEpochs: '1' } });
    const fit = split.train.length + split.val.length;
    assert.equal(out.training.steps, 3);
    assert.match(out.training.selected, /^mean of the weights after each of the last 3 updates/);
    assert.equal((out.metrics.test as { count: number }).count, split.test.length);
    const t = out.metrics.test as { accuracy: number; accuracyCi95: [number, number] };
    assert.ok(t.accuracyCi95[0] <= t.accuracy && t.accuracy <= t.accuracyCi95[1], `CI ${t.accuracyCi95} around ${t.accuracy}`);
    assert.ok(out.notes.some((n) => n.includes(`Fit on group-train + group-val (${fit} images)`)));
    assert.ok(out.notes.some((n) => n.startsWith('Adversarial training: in every batch 50 %')));
    assert.ok(out.metricNotes[0].includes('IN the training data'));
    for (const [, w] of out.weights) assert.ok(w.data.every(Number.isFinite));
    await assert.rejects(runClassifierRecipe({ ...base, steps: 2, overrides: { includeVal: 'true', swaEpochs: '0' } }),
      (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT' && /swaEpochs/.test(e.message));

    // The shipped model: fit on every labelled group, no test figure, a card that says where its estimate comes from.
    const all = await runClassifierRecipe({ ...base, steps: 2, overrides: { fitAllGroups: 'true', batch: '8', swaEpochs: '1' } });
    assert.equal(all.metrics.test, null);
    assert.ok(all.notes.some((n) => n.includes(`(${split.train.length + split.val.length + split.test.length} images)`)));
    assert.match(all.metricNotes[0], /^SHIPPED MODEL fitted on every labelled group/);
    assert.match(renderModelCard({ outcome: all, data, file: 'f', sha256: 'a'.repeat(64), bytes: 1, trainedAt: 't', command: 'c', hardware: 'h' }), /Shipped model: fitting uses every labelled group/);
    await assert.rejects(runClassifierRecipe({ ...base, steps: 2, overrides: { fitAllGroups: 'true', includeVal: 'true' } }),
      (e: unknown) => e instanceof RecipeError && /fitAllGroups/.test(e.message));

    // Recipe study: fit on group-train minus the holdout, score on group-val + holdout, never read group-test.
    const study = await runClassifierRecipe({ ...base, steps: 2, overrides: { studyHoldout: '0.25', batch: '8', swaEpochs: '0', advEps255: '0' } });
    const held = trainHoldout(split, ds.labels, ds.groups, { fraction: 0.25, seed: 42 });
    assert.ok(held.holdout.length > 0);
    assert.equal(study.metrics.test, null);
    assert.equal((study.metrics.val as { count: number }).count, split.val.length + held.holdout.length);
    assert.ok(study.notes.some((n) => n.includes(`Fit on group-train − holdout (${held.rest.length} images)`)));
    assert.match(study.metricNotes[0], /^RECIPE STUDY/);
    assert.match(renderModelCard({ outcome: study, data, file: 'f', sha256: 'a'.repeat(64), bytes: 1, trainedAt: 't', command: 'c', hardware: 'h' }), /Recipe study, not a product model/);
    await assert.rejects(runClassifierRecipe({ ...base, steps: 2, overrides: { studyHoldout: '0.25', includeVal: 'true', swaEpochs: '1' } }),
      (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT' && /exclude/.test(e.message));

    // The paper's leaky random 80/20 split, for comparison only: random parts, test split by near-duplicate leakage.
    const leaky = await runClassifierRecipe({ ...base, steps: 2, overrides: { leakySplit: 'true', batch: '8', swaEpochs: '0', advEps255: '0' } });
    const rs = randomSplit(ds.count, { seed: 42 });
    assert.equal((leaky.metrics.val as { count: number }).count, rs.val.length);
    assert.equal((leaky.metrics.test as { count: number }).count, rs.test.length);
    const byTwin = leaky.metrics.testByTwin as { withTwin: { count: number; accuracy: number | null }; withoutTwin: { count: number; accuracy: number | null } };
    const fittedGroups = new Set([...rs.train].map((i) => ds.groups[i]));
    assert.equal(byTwin.withTwin.count, [...rs.test].filter((i) => fittedGroups.has(ds.groups[i])).length);
    assert.equal(byTwin.withTwin.count + byTwin.withoutTwin.count, rs.test.length);
    // The two parts re-weight to the whole test figure (each part's accuracy is rounded to 4 decimals).
    const partAcc = (p: { count: number; accuracy?: number | null }) => (p.count ? (p.accuracy as number) * p.count : 0);
    assert.ok(Math.abs((partAcc(byTwin.withTwin) + partAcc(byTwin.withoutTwin)) / rs.test.length - (leaky.metrics.test as { accuracy: number }).accuracy) < 1e-3);
    assert.match(leaky.leakySplitName ?? '', /^random-80-20 \(seed 42, LEAKY\)$/);
    assert.match(leaky.metricNotes[0], /^LEAKY SPLIT, not a product model/);
    const leakyCard = renderModelCard({ outcome: leaky, data, file: 'f', sha256: 'a'.repeat(64), bytes: 1, trainedAt: 't', command: 'c', hardware: 'h' });
    assert.match(leakyCard, /LEAKY, not a product model/);
    assert.match(leakyCard, /does not use the group split above/);
    assert.equal(study.leakySplitName, undefined);
    await assert.rejects(runClassifierRecipe({ ...base, steps: 2, overrides: { leakySplit: 'true', studyHoldout: '0.25' } }),
      (e: unknown) => e instanceof RecipeError && e.code === 'RECIPE_BAD_ARGUMENT' && /exclude/.test(e.message));
  } finally {
    rmSync(runs, { recursive: true, force: true });
  }
});
