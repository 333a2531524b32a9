// The scan service end to end with tiny seeded models: intended-use gate, OOD state and security alerts, stored and
// audited results, and the site calibration (stored, audited, then in force).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices } from '../../../../electron/features/node.js';
import { createRouter } from '../../../../electron/features/node.js';
import { ApiError } from '../../../../electron/common/api-error.js';
import { EngineCore } from '../../../../native-models/src/inference/engine/core.js';
import type { Calibration } from '../../../../native-models/src/inference/pipeline/calibrate.js';
import type { ModelBundle } from '../../../../native-models/src/inference/pipeline/models.js';
import { siteCalibrationPath } from '../../../../electron/features/scan/site-calibration.js';
import { ScanResultStore } from '../../../../electron/features/scan/results-store.js';
import { dicomFile, imageElements, TS } from '../../workstation/dicom-writer.js';
import { calibrationFor, tinyBundle } from './fixtures.js';

const AXIAL: [number, number, number, number, number, number] = [1, 0, 0, 0, 1, 0];
const SAGITTAL: [number, number, number, number, number, number] = [0, 1, 0, 0, 0, -1];

/** A 64×64 brain MR slice (the smallest matrix the intended-use gate accepts) in the given orientation. */
function slice(o: { sopUid: string; seriesUid: string; orientation: typeof AXIAL; seed?: number; bodyPart?: string }): Uint8Array {
  const seed = o.seed ?? 0;
  const raw = Array.from({ length: 64 * 64 }, (_, i) => (i * 37 + seed * 101 + ((i * seed) % 13)) % 200);
  const e = imageElements({ rows: 64, columns: 64, bitsAllocated: 16, raw, sopUid: o.sopUid, seriesUid: o.seriesUid, studyUid: '9', windowCenter: 100, windowWidth: 200, orientation: o.orientation }, TS.explicitLE);
  e['00180015'] = { vr: 'CS', value: o.bodyPart ?? 'BRAIN' };
  return dicomFile(e, { transferSyntax: TS.explicitLE });
}

/** The fixture calibration with an out-of-distribution cut at `oodCut`. */
function calibrationWithOod(bundle: ModelBundle, threshold: number, oodCut: number): Calibration {
  const c = calibrationFor(bundle, threshold);
  const ood = { fpr: 0.01, threshold: oodCut };
  return { ...c, scores: { mse: { ...c.scores.mse, ood }, laplacian: { ...c.scores.laplacian, ood } } };
}

async function withServices(calibration: (b: ModelBundle) => Calibration, body: (s: ReturnType<typeof createServices>, core: EngineCore, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-scan-'));
  const bundle = tinyBundle();
  const core = await EngineCore.create({ models: bundle, calibration: calibration(bundle), ep: 'cpu', threads: 1 });
  const services = createServices({ dataDir: dir, host: 'browser', auditLifecycle: false, engine: async () => ({ scan: (r) => core.scan(r), status: async () => core.status() }) });
  try {
    await body(services, core, dir);
  } finally {
    services.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('scan.run: frame → engine → stored, audited (inference + security alert when flagged), announced; no engine → clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-scan-'));
  const bundle = tinyBundle();
  const core = await EngineCore.create({ models: bundle, calibration: calibrationWithOod(bundle, 0, 1e6), ep: 'cpu', threads: 1 });
  const services = createServices({ dataDir: dir, host: 'browser', auditLifecycle: false, engine: async () => ({ scan: (r) => core.scan(r), status: async () => core.status() }) });
  try {
    await services.imports.importFiles([{ name: 'a.dcm', bytes: slice({ sopUid: '9.9.1', seriesUid: '9.9', orientation: AXIAL }) }]);
    const router = createRouter(services);
    const events: unknown[] = [];
    services.events.onAny((e, p) => { if (e === 'scan.completed') events.push(p); });
    const status = await router.invoke('scan.status', {});
    assert.equal(status.ready, true);
    assert.equal(status.calibrated, true);
    assert.equal(status.thresholds?.source, 'factory');
    assert.equal(status.thresholds?.ood.threshold, 1e6);
    assert.equal(status.detectorEvidence?.supportsAttackClaim, false);
    const r = await router.invoke('scan.run', { sopInstanceUid: '9.9.1' });
    assert.equal(r.state, 'answered');
    assert.equal(r.intendedUse.status, 'in-use');
    assert.equal(r.flagged, true); // threshold 0: every scan is flagged
    assert.equal(r.securityAlert, true); // ... and in distribution (cut 1e6), so it alerts
    assert.equal(r.ood?.out, false);
    assert.equal(r.thresholdsSource, 'factory');
    assert.equal(r.seriesInstanceUid, '9.9');
    assert.equal(r.studyInstanceUid, '9');
    assert.ok(r.purified instanceof Float32Array && r.errorMap instanceof Float32Array && r.input?.length === 256);
    assert.ok(r.timings!.preprocessMs >= 0);
    assert.deepEqual(events, [{ sopInstanceUid: '9.9.1', seriesInstanceUid: '9.9', studyInstanceUid: '9', label: r.label, flagged: true, state: 'answered' }]);
    // A result stored before the intended-use gate (no state) is not shown: it may label a slice the AI must not read.
    const legacy = { ...r, sopInstanceUid: '9.9.0', createdUtc: '2026-01-01T00:00:00Z' } as Partial<typeof r>;
    delete legacy.state;
    const legacyStore = new ScanResultStore(dir);
    legacyStore.put(legacy as typeof r);
    legacyStore.close();
    const stored = await router.invoke('scan.results', { seriesInstanceUid: '9.9' });
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0].purified, r.purified);
    assert.deepEqual(stored[0].probabilities, r.probabilities);
    assert.equal(stored[0].state, 'answered');
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

test('scan.run: outside intended use → no label, no probability, no model run, no alert; the reason is audited and stored', async () => {
  await withServices((b) => calibrationWithOod(b, 0, 1e6), async (services, core) => {
    await services.imports.importFiles([
      { name: 's.dcm', bytes: slice({ sopUid: '9.8.1', seriesUid: '9.8', orientation: SAGITTAL }) },
      { name: 'k.dcm', bytes: slice({ sopUid: '9.7.1', seriesUid: '9.7', orientation: AXIAL, bodyPart: 'KNEE' }) },
    ]);
    const router = createRouter(services);
    const before = core.status().queue!.scansRun;
    const r = await router.invoke('scan.run', { sopInstanceUid: '9.8.1' });
    assert.equal(r.state, 'outside-intended-use');
    assert.deepEqual(r.intendedUse, { status: 'outside', reasons: ['sagittal slice (90° from axial; axial within 30° only)'] });
    assert.equal(r.label, null);
    assert.equal(r.probabilities, null);
    assert.equal(r.flagged, false);
    assert.equal(r.securityAlert, false);
    assert.equal(r.input, null);
    assert.equal(core.status().queue!.scansRun, before, 'no model ran');
    const knee = await router.invoke('scan.run', { sopInstanceUid: '9.7.1' });
    assert.deepEqual(knee.intendedUse, { status: 'outside', reasons: ['body part KNEE, not brain'] });
    const events = services.audit.list({ limit: 10 }).events;
    assert.equal(events.filter((e) => e.eventId.code === '110113').length, 0, 'no security alert');
    const inference = events.find((e) => e.eventTypeCode?.code === 'MFP-INF' && (e.details as { reasons?: string[] }).reasons?.[0]?.startsWith('sagittal'));
    assert.ok(inference, 'the declined scan is audited with its reason');
    assert.equal((inference!.details as { state: string }).state, 'outside-intended-use');
    assert.match((inference!.details as { message: string }).message, /^outside intended use: sagittal slice/);
    const stored = await router.invoke('scan.results', { seriesInstanceUid: '9.8' });
    assert.equal(stored.length, 1);
    assert.equal(stored[0].state, 'outside-intended-use');
    assert.equal(stored[0].label, null);
    assert.equal(stored[0].input, null);
  });
});

test('scan.run: over the out-of-distribution cut → "unlike the training data", label kept, no security alert', async () => {
  await withServices((b) => calibrationWithOod(b, 0, 0), async (services) => {
    await services.imports.importFiles([{ name: 'a.dcm', bytes: slice({ sopUid: '9.6.1', seriesUid: '9.6', orientation: AXIAL }) }]);
    const r = await services.scan.run('9.6.1');
    assert.equal(r.state, 'unlike-training-data');
    assert.ok(r.label === 'tumour' || r.label === 'no-tumour');
    assert.equal(r.flagged, true);
    assert.equal(r.ood?.out, true);
    assert.equal(r.securityAlert, false);
    assert.equal(services.audit.list({ limit: 10 }).events.filter((e) => e.eventId.code === '110113').length, 0);
  });
});

test('calibrateSite: thresholds from the site\'s own axial slices (others left out), stored, audited, then in force', async () => {
  await withServices((b) => calibrationWithOod(b, 1e-9, 1e6), async (services, _core, dir) => {
    const files = [
      ...Array.from({ length: 21 }, (_, i) => ({ name: `a${i}.dcm`, bytes: slice({ sopUid: `9.5.${i + 1}`, seriesUid: '9.5', orientation: AXIAL, seed: i }) })),
      ...Array.from({ length: 3 }, (_, i) => ({ name: `s${i}.dcm`, bytes: slice({ sopUid: `9.4.${i + 1}`, seriesUid: '9.4', orientation: SAGITTAL, seed: i }) })),
    ];
    await services.imports.importFiles(files);
    await assert.rejects(services.scan.calibrateSite({ series: ['9.4'] }), (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST' && /0 clean axial slices/.test(e.message));
    await assert.rejects(services.scan.calibrateSite({ series: ['1.2.404'] }), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
    await assert.rejects(services.scan.calibrateSite({}), (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST');
    const dry = await services.scan.calibrateSite({ studies: ['9'], dryRun: true });
    assert.equal(dry.path, null);
    assert.equal(existsSync(siteCalibrationPath(dir)), false, 'a dry run stores nothing');

    const out = await services.scan.calibrateSite({ studies: ['9'] });
    const c = out.calibration;
    assert.deepEqual(c.flag, dry.calibration.flag, 'the same slices give the same thresholds and spread');
    assert.equal(c.n, 21);
    assert.equal(c.excluded, 3);
    assert.deepEqual(out.excludedReasons, { 'sagittal slice': 3 });
    assert.deepEqual(c.series, ['9.5']);
    assert.equal(out.previous?.source, 'factory');
    assert.ok(c.flag.threshold > 0 && c.ood.threshold >= c.flag.threshold);
    assert.equal(c.flag.rateOnTheseSlices, 1 / 21);
    assert.equal(out.path, siteCalibrationPath(dir));
    const audit = services.audit.list({ limit: 5 }).events.find((e) => e.eventTypeCode?.code === '110131');
    assert.ok(audit, 'the change is audited as a software configuration');
    assert.equal(audit!.userId, services.actor.userId);
    assert.equal((audit!.details as { flag: { to: number } }).flag.to, c.flag.threshold);

    const status = await services.scan.status();
    assert.equal(status.thresholds?.source, 'site');
    assert.equal(status.thresholds?.flag.threshold, c.flag.threshold);
    assert.equal(status.thresholds?.flag.expected?.by, 'slice');
    const r = await services.scan.run('9.5.1');
    assert.equal(r.thresholdsSource, 'site');
    assert.equal(r.threshold, c.flag.threshold, 'the engine flagged against the site threshold');
    assert.equal(r.ood?.threshold, c.ood.threshold);
  });
});
