import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train, TrainError, type TrainOptions } from '../../../../native-models/src/core/train/trainer.js';
import { datasetFactory, batchesPerEpoch } from '../../../../native-models/src/core/train/data.js';
import { AdamW, SGD, cosineWithWarmup } from '../../../../native-models/src/core/train/optim.js';
import { ProgressBar, formatProgress } from '../../../../native-models/src/core/train/progress.js';
import type { Batch, StepFn, EvalFn } from '../../../../native-models/src/core/train/types.js';
import { ImageDataset } from '../../../../native-models/src/core/train/dataset.js';
import { Rng } from '../../../../native-models/src/core/rng.js';
import { tensor, type NamedWeights } from '../../../../native-models/src/core/tensor.js';

const S = 4, D = S * S;

/** 48 tiny 4×4 "images": label 1 when the top half is brighter than the bottom half. */
function toyData(n = 48): ImageDataset {
  const r = new Rng(11);
  const images = new Float32Array(n * D), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < D; p++) {
      const top = p < D / 2;
      images[i * D + p] = Math.min(1, Math.max(0, 0.5 + (labels[i] === (top ? 1 : 0) ? 0.2 : -0.2) + 0.25 * r.normal()));
    }
  }
  return new ImageDataset('toy', S, images, labels, Int32Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => `t${i}`),
    { source: 'test', groupSource: 'file', fingerprint: '' });
}

const initWeights = (): NamedWeights => new Map([['w', tensor([D], new Float32Array(D))], ['b', tensor([1], [0])]]);

/** Logistic regression with input dropout (p = 0.1) seeded from batch.seed: mean BCE, analytic gradients. */
function logisticLoss(w: NamedWeights, batch: Batch, dropSeed?: number): { loss: number; gw: Float32Array; gb: number } {
  const x = batch.x.data, y = batch.y!, n = y.length;
  const wv = w.get('w')!.data, b = w.get('b')!.data[0];
  const rng = dropSeed === undefined ? null : new Rng(dropSeed);
  const gw = new Float32Array(D);
  let gb = 0, loss = 0;
  const xi = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let p = 0; p < D; p++) {
      xi[p] = rng && rng.next() < 0.1 ? 0 : x[i * D + p];
      z += wv[p] * xi[p];
    }
    const s = 1 / (1 + Math.exp(-z));
    loss += -(y[i] ? Math.log(s + 1e-12) : Math.log(1 - s + 1e-12));
    const d = (s - y[i]) / n;
    for (let p = 0; p < D; p++) gw[p] += d * xi[p];
    gb += d;
  }
  return { loss: loss / n, gw, gb };
}

const step: StepFn = async (w, batch) => {
  const { loss, gw, gb } = logisticLoss(w, batch, batch.seed);
  return { loss, grads: new Map([['w', tensor([D], gw)], ['b', tensor([1], [gb])]]) };
};

function evalOn(ds: ImageDataset, idx: number[]): EvalFn {
  return async (w) => {
    const [batch] = [...ds.batches(idx, idx.length)];
    const { loss } = logisticLoss(w, batch);
    const wv = w.get('w')!.data, b = w.get('b')!.data[0];
    let correct = 0;
    for (let i = 0; i < idx.length; i++) {
      let z = b;
      for (let p = 0; p < D; p++) z += wv[p] * batch.x.data[i * D + p];
      if ((z > 0 ? 1 : 0) === batch.y![i]) correct++;
    }
    return { loss, accuracy: correct / idx.length };
  };
}

const ds = toyData();
const trainIdx = Array.from({ length: 40 }, (_, i) => i);
const valIdx = Array.from({ length: 8 }, (_, i) => 40 + i);

function baseOptions(dir: string | undefined, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    weights: initWeights(), step, optimizer: new AdamW({ weightDecay: 0.01 }),
    data: datasetFactory(ds, trainIdx, 8, { augment: { rotateDeg: 5 } }),
    steps: 30, seed: 42, lr: cosineWithWarmup({ peak: 0.1, warmupSteps: 3, totalSteps: 30 }), clipGradNorm: 1,
    evalEvery: 5, evalFn: evalOn(ds, valIdx), select: { metric: 'loss', mode: 'min' },
    ...(dir ? { checkpointDir: dir, checkpointEvery: 4 } : {}), config: { model: 'logreg', batch: 8 }, ...extra,
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'mfp-train-'));

test('the logistic StepFn gradient matches finite differences', () => {
  const [batch] = [...ds.batches([0, 1, 2, 3, 4, 5], 6)];
  const w: NamedWeights = new Map([['w', tensor([D], Float32Array.from({ length: D }, (_, i) => 0.1 * Math.sin(i)))], ['b', tensor([1], [0.05])]]);
  const { gw, gb } = logisticLoss(w, batch, 7);
  const h = 1e-3;
  for (const [name, idx, g] of [['w', 3, gw[3]], ['w', 12, gw[12]], ['b', 0, gb]] as const) {
    const t = w.get(name)!.data;
    const v = t[idx];
    t[idx] = v + h; const lp = logisticLoss(w, batch, 7).loss;
    t[idx] = v - h; const lm = logisticLoss(w, batch, 7).loss;
    t[idx] = v;
    assert.ok(Math.abs((lp - lm) / (2 * h) - g) < 1e-3, `${name}[${idx}]: fd ${(lp - lm) / (2 * h)} vs ${g}`);
  }
});

test('smoke: loss falls and validation accuracy rises within 60 steps (SGD and AdamW)', async () => {
  for (const optimizer of [new SGD({ momentum: 0.9 }), new AdamW()]) {
    const r = await train({ ...baseOptions(undefined, { optimizer, steps: 60, lr: 0.2 }), evalEvery: 60 });
    assert.equal(r.stopped, 'done');
    assert.equal(r.step, 60);
    assert.ok(r.epochLoss.at(-1)! < 0.8 * r.epochLoss[0], `epoch losses ${r.epochLoss.map((x) => x.toFixed(3))}`);
    assert.ok(r.evals.at(-1)!.metrics.accuracy >= 0.75, `accuracy ${r.evals.at(-1)!.metrics.accuracy}`);
  }
});

test('resume after a crash gives bit-identical weights, evals and best', async (t) => {
  const dirA = tmp(), dirB = tmp();
  t.after(() => { rmSync(dirA, { recursive: true, force: true }); rmSync(dirB, { recursive: true, force: true }); });
  const a = await train(baseOptions(dirA));
  // Crash at step 11 (after the step-8 checkpoint, mid-epoch: 5 batches per epoch).
  await assert.rejects(train(baseOptions(dirB, { onProgress: (p) => { if (p.phase === 'train' && p.step === 11) throw new Error('killed'); } })), /killed/);
  assert.ok(readdirSync(dirB).includes('ckpt-000000008.mfpw'));
  const c = await train(baseOptions(dirB));
  assert.equal(c.resumedFrom, 8);
  assert.equal(c.step, 30);
  for (const k of ['w', 'b']) assert.deepEqual(c.weights.get(k)!.data, a.weights.get(k)!.data, `weight ${k} differs after resume`);
  assert.deepEqual(c.evals, a.evals);
  assert.equal(c.best!.step, a.best!.step);
  assert.deepEqual(c.best!.weights.get('w')!.data, a.best!.weights.get('w')!.data);
  assert.ok(existsSync(join(dirB, 'best.mfpw')));
  // Only the newest 2 checkpoints are kept.
  assert.equal(readdirSync(dirB).filter((n) => n.startsWith('ckpt-')).length, 2);
});

test('abort writes a checkpoint; a damaged newest checkpoint is skipped; resume is still exact', async (t) => {
  const dirA = tmp(), dirB = tmp();
  t.after(() => { rmSync(dirA, { recursive: true, force: true }); rmSync(dirB, { recursive: true, force: true }); });
  const a = await train(baseOptions(dirA, { optimizer: new SGD({ momentum: 0.9, nesterov: true }) }));
  const ac = new AbortController();
  const r = await train(baseOptions(dirB, { optimizer: new SGD({ momentum: 0.9, nesterov: true }), onProgress: (p) => { if (p.step === 13) ac.abort(); }, signal: ac.signal }));
  assert.equal(r.stopped, 'aborted');
  assert.equal(r.step, 13);
  const newest = join(dirB, 'ckpt-000000013.mfpw');
  const bytes = readFileSync(newest);
  writeFileSync(newest, bytes.subarray(0, bytes.length - 100)); // simulate a torn file
  const c = await train(baseOptions(dirB, { optimizer: new SGD({ momentum: 0.9, nesterov: true }) }));
  assert.equal(c.resumedFrom, 12);
  for (const k of ['w', 'b']) assert.deepEqual(c.weights.get(k)!.data, a.weights.get(k)!.data);
});

test('a checkpoint from a different config or optimiser is refused', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await train(baseOptions(dir, { steps: 4 }));
  await assert.rejects(train(baseOptions(dir, { config: { model: 'other' } })), (e: unknown) => e instanceof TrainError && e.code === 'TRAIN_CHECKPOINT_MISMATCH');
  await assert.rejects(train(baseOptions(dir, { optimizer: new SGD() })), (e: unknown) => e instanceof TrainError && e.code === 'TRAIN_CHECKPOINT_MISMATCH');
  const fresh = await train(baseOptions(dir, { config: { model: 'other' }, resume: false, steps: 2 }));
  assert.equal(fresh.resumedFrom, null);
});

test('epochs mode, ONNX export of the best weights, non-finite loss error', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let exported: NamedWeights | null = null;
  const r = await train({
    ...baseOptions(undefined, { steps: undefined, epochs: 3, batchesPerEpoch: batchesPerEpoch(40, 8) }),
    exportOnnx: { path: join(dir, 'model.onnx'), build: (w) => { exported = w; return new Uint8Array([1, 2, 3]); } },
  });
  assert.equal(r.step, 15);
  assert.equal(r.epoch, 3);
  assert.equal(r.epochLoss.length, 3);
  assert.equal(exported, r.best!.weights);
  assert.deepEqual([...readFileSync(join(dir, 'model.onnx'))], [1, 2, 3]);
  assert.match(r.onnx!.sha256, /^[0-9a-f]{64}$/);
  const bad: StepFn = async (w, b) => ({ ...(await step(w, b)), loss: NaN });
  await assert.rejects(train({ ...baseOptions(undefined), step: bad }), (e: unknown) => e instanceof TrainError && e.code === 'TRAIN_NONFINITE');
  await assert.rejects(train({ ...baseOptions(undefined), steps: undefined }), (e: unknown) => e instanceof TrainError && e.code === 'TRAIN_BAD_ARGUMENT');
});

test('progress bar: redraws in place on a TTY, plain throttled lines otherwise', () => {
  const p = { phase: 'train' as const, epoch: 0, epochs: 2, step: 5, totalSteps: 10, loss: 0.5, lossEma: 0.5, lr: 1e-3, stepsPerSec: 10, etaSec: 0.5 };
  assert.match(formatProgress(p), /epoch 1\/2 .* 50% step 5\/10 loss 0\.5000 lr 1\.0e-3 10\.0 step\/s ETA 1s/);
  const tty: string[] = [];
  let now = 0;
  const bar = new ProgressBar({ write: (s: string) => tty.push(s), isTTY: true, columns: 200 }, { now: () => now });
  bar.update(p); now = 50; bar.update(p); now = 200; bar.update(p); bar.end();
  assert.equal(tty.filter((s) => s.startsWith('\r')).length, 2);
  const plain: string[] = [];
  const bar2 = new ProgressBar({ write: (s: string) => plain.push(s), isTTY: false }, { now: () => now, plainEveryMs: 1000 });
  now = 0; bar2.update(p); now = 500; bar2.update(p); now = 1500; bar2.update(p); bar2.update({ ...p, phase: 'done' });
  assert.equal(plain.length, 2);
  assert.ok(plain.every((s) => !s.includes('\r') && s.endsWith('\n')));
});
