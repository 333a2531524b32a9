import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices } from '../../../../electron/features/node.js';
import { createRouter } from '../../../../electron/features/node.js';
import { ApiError } from '../../../../electron/common/api-error.js';
import { EngineCore } from '../../../../native-models/src/inference/engine/core.js';
import { imageFile } from '../../workstation/dicom-writer.js';
import { calibrationFor, tinyBundle } from './fixtures.js';

test('scan.run: frame → engine → stored, audited (inference + security alert when flagged), announced; no engine → clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-scan-'));
  const bundle = tinyBundle();
  const core = await EngineCore.create({ models: bundle, calibration: calibrationFor(bundle, 0), ep: 'cpu', threads: 1 });
  const services = createServices({ dataDir: dir, host: 'browser', auditLifecycle: false, user: { id: 'dr.scan', role: 'radiologist' }, engine: async () => ({ scan: (r) => core.scan(r), status: async () => core.status() }) });
  try {
    const raw = Array.from({ length: 20 * 24 }, (_, i) => (i * 37) % 200);
    await services.imports.importFiles([{ name: 'a.dcm', bytes: imageFile({ rows: 20, columns: 24, bitsAllocated: 16, raw, sopUid: '9.9.1', seriesUid: '9.9', studyUid: '9', windowCenter: 100, windowWidth: 200 }) }]);
    const router = createRouter(services);
    const events: unknown[] = [];
    services.events.onAny((e, p) => { if (e === 'scan.completed') events.push(p); });
    const status = await router.invoke('scan.status', {});
    assert.equal(status.ready, true);
    assert.equal(status.calibrated, true);
    const r = await router.invoke('scan.run', { sopInstanceUid: '9.9.1' });
    assert.equal(r.flagged, true); // threshold 0: every scan is flagged
    assert.equal(r.seriesInstanceUid, '9.9');
    assert.equal(r.studyInstanceUid, '9');
    assert.ok(r.purified instanceof Float32Array && r.errorMap instanceof Float32Array && r.input.length === 256);
    assert.ok(r.timings.preprocessMs >= 0);
    assert.deepEqual(events, [{ sopInstanceUid: '9.9.1', seriesInstanceUid: '9.9', studyInstanceUid: '9', label: r.label, flagged: true }]);
    const stored = await router.invoke('scan.results', { seriesInstanceUid: '9.9' });
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0].purified, r.purified);
    assert.deepEqual(stored[0].probabilities, r.probabilities);
    const codes = services.audit.list({ limit: 10 }).events.map((e) => `${e.eventId.code}/${e.eventTypeCode?.code}`);
    assert.ok(codes.includes('110100/MFP-INF') && codes.includes('110113/MFP-ADV'), codes.join(' '));
    await assert.rejects(router.invoke('scan.run', { sopInstanceUid: '1.2.404' }), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
  } finally {
    services.close();
    await core.close();
  }
  const bare = createServices({ dataDir: dir, host: 'browser', auditLifecycle: false });
  try {
    assert.equal((await bare.scan.status()).ready, false);
    assert.equal(bare.scan.results('9.9').length, 1, 'results survive a restart');
    await assert.rejects(bare.scan.run('9.9.1'), (e: unknown) => e instanceof ApiError && e.code === 'INTERNAL' && (e.details as { code: string }).code === 'E_ENGINE');
  } finally {
    bare.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
