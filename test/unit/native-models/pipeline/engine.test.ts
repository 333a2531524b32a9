import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineCore } from '../../../../native-models/src/inference/engine/core.js';
import { startWorkerEngine } from '../../../../native-models/src/inference/engine/worker-host.js';
import { PipelineError } from '../../../../native-models/src/inference/pipeline/errors.js';
import { calibrationFor, images, tinyBundle } from './fixtures.js';

const bundle = tinyBundle();

test('engine core: bad requests get typed errors and the engine keeps serving', async () => {
  const core = await EngineCore.create({ models: bundle, calibration: calibrationFor(bundle, 1e9), ep: 'cpu', threads: 1 });
  const good = images(1)[0];
  const bad: Array<[unknown, string]> = [
    [{ image: { width: 3, height: 3, pixels: new Float32Array(9) } }, 'E_INPUT_SIZE'],
    [{ image: { ...good, pixels: new Float32Array(256).fill(NaN) } }, 'E_INPUT_NONFINITE'],
    [{ image: good, label: 1 }, 'E_INPUT_FIELDS'],
    [{ image: good, options: { expectVersions: { mae: 'nope' } } }, 'E_MODEL_VERSION'],
    [{ image: good, options: { mode: 'bogus' } }, 'E_OPTION'],
    [{ image: good, options: { threshold: -1 } }, 'E_OPTION'],
    [{ image: good, options: { threshold: Number.POSITIVE_INFINITY } }, 'E_OPTION'],
    [null, 'E_INPUT_FIELDS'],
  ];
  for (const [req, code] of bad) {
    await assert.rejects(core.scan(req as never), (e: unknown) => e instanceof PipelineError && e.code === code, code);
    const r = await core.scan({ image: good });
    assert.equal(r.label === 'tumour' || r.label === 'no-tumour', true);
  }
  // A site threshold replaces the calibration's for that scan (1e9 flags nothing; 1e-12 flags everything).
  const site = await core.scan({ image: good, options: { threshold: 1e-12 } });
  assert.equal(site.threshold, 1e-12);
  assert.equal(site.flagged, true);
  assert.equal((await core.scan({ image: good })).flagged, false);
  // A bad request among good concurrent ones fails alone.
  const results = await Promise.allSettled([core.scan({ image: good }), core.scan({ image: { ...good, width: 15 } } as never), core.scan({ image: good })]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(core.status().ready, true);
  await core.close();
  await assert.rejects(core.scan({ image: good }), (e: unknown) => (e as PipelineError).code === 'E_ENGINE');
});

test('engine queue: concurrent requests run as batches, results go back to their callers', async () => {
  const core = await EngineCore.create({ models: bundle, calibration: calibrationFor(bundle, 1e9), ep: 'cpu', threads: 1, batchWindowMs: 20, maxBatch: 16 });
  const before = core.batchSizes.length;
  const imgs = images(10, 4);
  const solo = [];
  for (const img of imgs.slice(0, 3)) solo.push(await core.scan({ image: img }));
  const together = await Promise.all(imgs.map((image) => core.scan({ image })));
  const sizes = core.batchSizes.slice(before + 3);
  assert.ok(sizes.length < 10 && Math.max(...sizes) > 1, `batches ${sizes.join(',')}`);
  assert.equal(together[0].timings.batchSize > 1, true);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(together[i].input, imgs[i].pixels, 'each caller gets its own image back');
    assert.ok(Math.abs(together[i].score! - solo[i].score!) < 1e-6);
  }
  // Requests with different options are not mixed in one batch.
  const [a, b] = await Promise.all([core.scan({ image: imgs[0], options: { mode: 'undefended' } }), core.scan({ image: imgs[0] })]);
  assert.equal(a.mode, 'undefended');
  assert.equal(b.mode, 'adaptive');
  await core.close();
});

test('engine in a worker_thread: status, a scan, and a typed error over the port', async () => {
  // An empty models folder with the explicit development opt-in: the seeded models stand in, whatever is committed.
  const modelsDir = mkdtempSync(join(tmpdir(), 'mfp-engine-models-'));
  const w = await startWorkerEngine({ ep: 'cpu', threads: 1, warmup: false, modelsDir, allowSeeded: true });
  try {
    const st = await w.ready();
    assert.equal(st.ready, true);
    assert.equal(st.ep, 'cpu');
    assert.equal(st.models?.length, 3);
    const S = st.size!;
    const r = await w.client.request('engine.scan', { image: { width: S, height: S, pixels: new Float32Array(S * S).fill(0.5) }, options: { mode: 'undefended' } });
    assert.equal(r.probabilities.length, 2);
    await assert.rejects(w.client.request('engine.scan', { image: { width: 2, height: 2, pixels: new Float32Array(4) } }), (e: unknown) => (e as { code: string }).code === 'E_INPUT_SIZE');
    assert.equal((await w.client.request('engine.status', {})).ready, true);
  } finally {
    await w.close();
  }
});
