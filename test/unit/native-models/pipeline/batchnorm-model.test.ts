/** A BatchNorm classifier written as an artifact (weights + manifest entry) loads through the bundle and scans. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as classifier from '../../../../native-models/src/inference/nets/classifier.js';
import * as mae from '../../../../native-models/src/inference/nets/mae.js';
import * as unet from '../../../../native-models/src/inference/nets/unet.js';
import { saveWeights } from '../../../../native-models/src/core/weights-io.js';
import { updateManifest } from '../../../../native-models/src/inference/models/manifest.js';
import { loadModelBundle } from '../../../../native-models/src/inference/pipeline/models.js';
import { DefencePipeline } from '../../../../native-models/src/inference/pipeline/pipeline.js';
import { ModelSession } from '../../../../native-models/src/core/runtime/session.js';
import { C_CFG, M_CFG, U_CFG, calibrationFor, images } from './fixtures.js';

test('a BatchNorm classifier loads from the manifest (norm and running statistics included) and the pipeline runs it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bn-models-'));
  try {
    const cfg: classifier.ClassifierConfig = { ...C_CFG, norm: 'batch', dropout: 0.2 };
    const cw = classifier.init(cfg, 4);
    // non-trivial running statistics, so a net that ignored them would give other logits
    for (const [k, t] of cw) if (k.endsWith('running_var')) t.data.fill(4); else if (k.endsWith('running_mean')) t.data.fill(0.25);
    const write = async (name: string, file: string, config: object, w: ReturnType<typeof classifier.init>) => {
      const { sha256, bytes } = await saveWeights(join(dir, file), w);
      await updateManifest(dir, name, { version: '1.0.0', file, sha256, bytes, config: { ...config }, trainedAt: '2026-12-06T00:00:00Z', split: 'fixture', metrics: {} });
    };
    await write('classifier', 'classifier.weights', cfg, cw);
    await write('mae', 'mae.weights', M_CFG, mae.init(M_CFG, 2));
    await write('diffusion', 'diffusion.weights', U_CFG, unet.init(U_CFG, 3));
    const b = await loadModelBundle({ modelsDir: dir, requireTrained: true });
    assert.equal(b.classifier.config.norm, 'batch');
    assert.deepEqual([...b.classifier.weights.get('body.stem.bn.running_var')!.data], [4, 4, 4, 4]);
    const p = await DefencePipeline.create({ models: b, calibration: calibrationFor(b, 1e9), ep: 'cpu', threads: 1 });
    const imgs = images(2);
    const res = await p.scan(imgs, { seed: 3 });
    // the pipeline's probabilities are the exported inference model's (running statistics baked in)
    const s = await ModelSession.create(classifier.buildInference(cfg, cw, 1), { threads: 1 });
    for (const [i, r] of res.entries()) {
      const probs = (await s.run({ x: { shape: [1, 1, 16, 16], data: imgs[i].pixels } })).get('probs')!.data;
      assert.ok(Math.abs(r.probabilities[1] - probs[1]) < 1e-5, `${r.probabilities[1]} vs ${probs[1]}`);
    }
    await s.release();
    await p.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
