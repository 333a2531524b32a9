/**
 * Decisions on AI results through the router with real services and a tiny engine: nothing is decided without the
 * radiologist; accept / override / dismiss rules; stale results refused; each decision audited naming the
 * radiologist; accepted and corrected labels (only those) become confirmed cases for the FL agent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../electron/common/api-error.js';
import type { ScanResult } from '../../../electron/features/api.js';
import { DecisionStore } from '../../../electron/features/decisions/decision-store.js';
import { createRouter, createServices, type AppRouter, type Services } from '../../../electron/features/node.js';
import type { Caller } from '../../../electron/node/router/call-context.js';
import { EngineCore } from '../../../native-models/src/inference/engine/core.js';
import { calibrationFor, tinyBundle } from '../native-models/pipeline/fixtures.js';
import { dicomFile, imageElements, TS } from './dicom-writer.js';
import type { ConfirmedCases } from '../../../fl-agent/site/data.js';

const FAST_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('decisions on AI results', () => {
  let dir: string;
  let services: Services;
  let router: AppRouter;
  let core: EngineCore;
  const rad: Caller = { transport: 'http', client: 'test' };
  const comp: Caller = { transport: 'http', client: 'test' };
  const scans: ScanResult[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mfp-decisions-'));
    const bundle = tinyBundle();
    // Flag every slice (threshold 0) and call none unlike the training data (OOD cut far above any score), so every
    // flag is an in-distribution Security Alert.
    const c = calibrationFor(bundle, 0);
    const ood = { fpr: 0.01, threshold: 1e6 };
    const calibration = { ...c, scores: { mse: { ...c.scores.mse, ood }, laplacian: { ...c.scores.laplacian, ood } } };
    core = await EngineCore.create({ models: bundle, calibration, ep: 'cpu', threads: 1 });
    services = createServices({ dataDir: dir, host: 'browser', auditLifecycle: false, users: { hash: FAST_HASH }, engine: async () => ({ scan: (r) => core.scan(r), status: async () => core.status() }) });
    router = createRouter(services, { logError: () => {} });
    await services.users.store.add({ username: 'rita', displayName: 'Dr Rita Rad', role: 'radiologist', password: 'radiologist pw 1' });
    await services.users.store.add({ username: 'colin', displayName: 'Colin', role: 'compliance', password: 'compliance pw 1' });
    rad.sessionToken = services.users.store.createSession('rita').token;
    comp.sessionToken = services.users.store.createSession('colin').token;
    // Axial brain MR slices of 64×64, the smallest the intended-use gate answers for (the AI gives them a label).
    const raw = (k: number) => Array.from({ length: 64 * 64 }, (_, i) => (i * (31 + k)) % 200);
    const slice = (k: number) => {
      const e = imageElements({ rows: 64, columns: 64, bitsAllocated: 16, raw: raw(k), sopUid: `9.9.${k}`, seriesUid: '9.9', studyUid: '9', patientId: 'PAT-9', windowCenter: 100, windowWidth: 200, orientation: [1, 0, 0, 0, 1, 0] }, TS.explicitLE);
      e['00180015'] = { vr: 'CS', value: 'BRAIN' };
      return dicomFile(e, { transferSyntax: TS.explicitLE });
    };
    await services.imports.importFiles([1, 2, 3].map((k) => ({ name: `${k}.dcm`, bytes: slice(k) })));
    for (const k of [1, 2, 3]) scans.push((await router.dispatch('scan.run', { sopInstanceUid: `9.9.${k}` }, rad)) as ScanResult);
  });
  after(async () => {
    services.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const other = (l: ScanResult['label']) => (l === 'tumour' ? 'no-tumour' : 'tumour');

  it('a scan alone decides nothing and confirms no case', async () => {
    assert.deepEqual(await router.dispatch('decisions.forSeries', { seriesInstanceUid: '9.9' }, rad), []);
    assert.deepEqual(services.decisions.store.listConfirmedCases(), []);
  });

  it('refuses the wrong role, unscanned slices, stale results and incomplete overrides or dismissals', async () => {
    const s = scans[0]!;
    const base = { sopInstanceUid: s.sopInstanceUid, scanCreatedUtc: s.createdUtc };
    await rejects(router.dispatch('decisions.record', { ...base, action: 'accept' }, comp), 'FORBIDDEN');
    await rejects(router.dispatch('decisions.record', { ...base, sopInstanceUid: '9.9.404', action: 'accept' }, rad), 'NOT_FOUND');
    await rejects(router.dispatch('decisions.record', { ...base, scanCreatedUtc: '2001-01-01T00:00:00.000Z', action: 'accept' }, rad), 'CONFLICT', /newer AI result/);
    await rejects(router.dispatch('decisions.record', { ...base, action: 'override', reason: 'looks different' }, rad), 'BAD_REQUEST', /corrected label/);
    await rejects(router.dispatch('decisions.record', { ...base, action: 'override', label: s.label, reason: 'same' }, rad), 'BAD_REQUEST', /use accept/);
    await rejects(router.dispatch('decisions.record', { ...base, action: 'override', label: other(s.label) }, rad), 'BAD_REQUEST', /reason/);
    await rejects(router.dispatch('decisions.record', { ...base, action: 'dismiss', reason: '  ' }, rad), 'BAD_REQUEST', /reason/);
    await rejects(router.dispatch('decisions.record', { ...base, action: 'maybe' }, rad), 'BAD_REQUEST', /action/);
  });

  it('accept, override and dismiss: audited with the radiologist; only accepted and corrected labels become confirmed cases', async () => {
    const [a, b, c] = scans as [ScanResult, ScanResult, ScanResult];
    const accepted = await router.dispatch('decisions.record', { sopInstanceUid: a.sopInstanceUid, scanCreatedUtc: a.createdUtc, action: 'accept' }, rad);
    const overridden = await router.dispatch('decisions.record', { sopInstanceUid: b.sopInstanceUid, scanCreatedUtc: b.createdUtc, action: 'override', label: other(b.label), reason: 'enhancing lesion missed' }, rad);
    await router.dispatch('decisions.record', { sopInstanceUid: c.sopInstanceUid, scanCreatedUtc: c.createdUtc, action: 'dismiss', reason: 'motion artefact' }, rad);
    assert.equal((accepted as { finalLabel: string }).finalLabel, a.label);
    assert.equal((overridden as { finalLabel: string; decidedByName: string }).decidedByName, 'Dr Rita Rad');

    const cases = services.decisions.store.listConfirmedCases();
    assert.deepEqual(cases.map((k) => [k.sopInstanceUid, k.label, k.source, k.decidedBy]), [
      ['9.9.1', a.label, 'accepted', 'rita'],
      ['9.9.2', other(b.label), 'corrected', 'rita'],
    ]);
    assert.deepEqual(cases[0]!.pixels, { kind: 'study-store-instance', sopInstanceUid: '9.9.1' });
    assert.deepEqual(services.decisions.store.listConfirmedCases({ afterId: cases[0]!.id }).map((k) => k.sopInstanceUid), ['9.9.2']);

    const rows = services.audit.list({ eventCode: '110100' }).events.filter((e) => e.eventTypeCode?.code === 'MFP-DEC');
    assert.equal(rows.length, 3);
    const override = rows.find((e) => e.details.decision === 'override')!;
    assert.deepEqual([override.userId, override.userRole, override.action], ['rita', 'radiologist', 'C']);
    assert.deepEqual(override.participants, [{ type: 'StudyInstanceUID', id: '9' }, { type: 'SOPInstanceUID', id: '9.9.2' }, { type: 'PatientID', id: 'PAT-9' }]);
    assert.equal(override.details.reason, 'enhancing lesion missed');
    assert.equal(override.details.aiLabel, b.label);
    assert.equal(override.details.finalLabel, other(b.label));
  });

  it('hands the FL agent its confirmed cases with the pixels the AI saw, in the agent\'s own shape', async () => {
    const agentSide: ConfirmedCases = { list: () => services.decisions.trainingCases() }; // type-checks against fl-agent
    const cases = await agentSide.list();
    assert.deepEqual(cases.map((c) => [c.caseId, c.confirmation, c.confirmedBy, c.groupKey]), [['9.9.1', 'accepted', 'rita', 'PAT-9'], ['9.9.2', 'corrected', 'rita', 'PAT-9']]);
    assert.equal(cases[1]!.label, scans[1]!.label === 'tumour' ? 0 : 1, 'the corrected label');
    assert.equal(cases[0]!.pixels.length, cases[0]!.side * cases[0]!.side);
    assert.deepEqual(Array.from(cases[0]!.pixels), Array.from(scans[0]!.input!));
  });

  it('a later decision replaces the slice\'s case; a dismissal withdraws it; history is kept', async () => {
    const a = scans[0]!;
    await router.dispatch('decisions.record', { sopInstanceUid: a.sopInstanceUid, scanCreatedUtc: a.createdUtc, action: 'dismiss', reason: 'wrong patient position' }, rad);
    assert.deepEqual(services.decisions.store.listConfirmedCases().map((k) => k.sopInstanceUid), ['9.9.2']);
    assert.deepEqual(services.decisions.store.history('9.9.1').map((d) => d.action), ['accept', 'dismiss']);
    const latest = (await router.dispatch('decisions.forSeries', { seriesInstanceUid: '9.9' }, rad)) as Array<{ sopInstanceUid: string; action: string }>;
    assert.deepEqual(latest.map((d) => `${d.sopInstanceUid}:${d.action}`).sort(), ['9.9.1:dismiss', '9.9.2:override', '9.9.3:dismiss']);
  });

  it('keeps the decision history append-only and readable by a second reader (the FL agent\'s side)', () => {
    const reader = DecisionStore.open(dir);
    try {
      assert.equal(reader.listConfirmedCases().length, 1);
      assert.throws(() => (reader as unknown as { db: { exec(s: string): void } }).db.exec('DELETE FROM decisions'), /append-only/);
    } finally {
      reader.close();
    }
  });

  it('links a rescan\'s Security Alert to the slice\'s first one, and refuses a decision on the replaced result', async () => {
    const old = scans[0]!;
    await router.dispatch('scan.run', { sopInstanceUid: '9.9.1' }, rad);
    await router.dispatch('scan.run', { sopInstanceUid: '9.9.1' }, rad);
    const alerts = [...services.audit.iterate({ eventTypeCode: 'MFP-ADV', participant: '9.9.1' })];
    assert.equal(alerts.length, 3);
    assert.equal(alerts[0]!.details.repeatOf, undefined);
    assert.deepEqual(alerts.slice(1).map((a) => [a.details.repeatOf, a.details.occurrence]), [[alerts[0]!.seq, 2], [alerts[0]!.seq, 3]]);
    assert.equal(alerts[0]!.userId, 'rita');
    await rejects(router.dispatch('decisions.record', { sopInstanceUid: '9.9.1', scanCreatedUtc: old.createdUtc, action: 'accept' }, rad), 'CONFLICT');
  });
});
