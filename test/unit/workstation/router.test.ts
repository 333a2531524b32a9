/** The router: request validation, error mapping, audited operations and events, over real services. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../electron/common/api-error.js';
import type { ApiEvent } from '../../../electron/features/api.js';
import { createRouter, createServices, type AppRouter, type Services } from '../../../electron/features/node.js';
import { imageFile } from './dicom-writer.js';

const SERIES = '1.2.826.0.1.3680043.10.9.200';
const STUDY = '1.2.826.0.1.3680043.10.9.100';

const slice = (n: number) =>
  imageFile({ rows: 2, columns: 3, bitsAllocated: 16, raw: [n, n, n, n, n, n + 1], sopUid: `5.5.${n}`, position: [0, 0, -n], orientation: [1, 0, 0, 0, 1, 0], windowCenter: 50, windowWidth: 100 });

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('router', () => {
  let services: Services;
  let router: AppRouter;
  const events: Array<[ApiEvent, unknown]> = [];

  before(() => {
    services = createServices({ dataDir: mkdtempSync(join(tmpdir(), 'mfp-router-')), host: 'electron', user: { id: 'dr.who', role: 'radiologist' }, workstation: 'ws' });
    router = createRouter(services, { logError: () => {} });
    router.events.onAny((e, p) => events.push([e, p]));
  });
  after(() => services.close());

  it('answers app.info', async () => {
    const info = await router.invoke('app.info', {});
    assert.equal(info.host, 'electron');
    assert.deepEqual(info.user, { id: 'dr.who', role: 'radiologist' });
  });

  it('refuses unknown methods, unknown fields, wrong types and missing fields', async () => {
    await rejects(router.dispatch('studies.drop', {}), 'UNKNOWN_METHOD');
    await rejects(router.dispatch('__proto__', {}), 'UNKNOWN_METHOD');
    await rejects(router.dispatch('studies.list', { query: 'x', extra: 1 }), 'BAD_REQUEST', /extra: unknown field/);
    await rejects(router.dispatch('studies.list', { query: 5 }), 'BAD_REQUEST', /query/);
    await rejects(router.dispatch('studies.series', {}), 'BAD_REQUEST', /studyInstanceUid: required/);
    await rejects(router.dispatch('app.info', []), 'BAD_REQUEST');
    await rejects(router.dispatch('app.info', null), 'BAD_REQUEST');
    await rejects(router.dispatch('audit.list', { limit: 0 }), 'BAD_REQUEST');
    await rejects(router.dispatch('audit.list', { limit: 1.5 }), 'BAD_REQUEST');
    await rejects(router.dispatch('import.files', { files: [{ name: 'a', bytes: [1, 2, 3] }] }), 'BAD_REQUEST', /files\[0\]\.bytes/);
  });

  it('imports uploaded bytes (audited, events) and serves the study', async () => {
    events.length = 0;
    const r = await router.invoke('import.files', { files: [3, 1, 2].map((n) => ({ name: `${n}.dcm`, bytes: slice(n) })) });
    assert.deepEqual([r.imported, r.errors.length, r.studies], [3, 0, [STUDY]]);
    assert.ok(events.some(([e]) => e === 'studies.changed'));
    assert.equal(events.filter(([e]) => e === 'import.progress').length, 3);
    const audit = await router.invoke('audit.list', { eventCode: '110107' });
    assert.equal(audit.total, 1);
    assert.deepEqual(audit.events[0].participants, [
      { type: 'StudyInstanceUID', id: STUDY },
      { type: 'PatientID', id: 'TEST-1' },
    ]);
    const [study] = await router.invoke('studies.list', {});
    assert.equal(study.instanceCount, 3);
    const series = await router.invoke('studies.series', { studyInstanceUid: STUDY });
    assert.equal(series[0].seriesInstanceUid, SERIES);
  });

  it('opens a series sorted along the stack and audits the access', async () => {
    const before = (await router.invoke('audit.list', { eventCode: '110103' })).total;
    const opened = await router.invoke('series.open', { seriesInstanceUid: SERIES });
    assert.deepEqual(opened.instances.map((i) => i.sopInstanceUid), ['5.5.3', '5.5.2', '5.5.1']);
    const audit = await router.invoke('audit.list', { eventCode: '110103' });
    assert.equal(audit.total, before + 1);
    assert.equal(audit.events[0].action, 'R');
    assert.equal(audit.events[0].userId, 'dr.who');
  });

  it('returns frames as Float32Array and NOT_FOUND for unknown UIDs', async () => {
    const f = await router.invoke('instances.frame', { sopInstanceUid: '5.5.2' });
    assert.ok(f.pixels instanceof Float32Array);
    assert.deepEqual(Array.from(f.pixels), [2, 2, 2, 2, 2, 3]);
    assert.deepEqual([f.rows, f.columns, f.windowCenter, f.windowWidth, f.minValue, f.maxValue], [2, 3, 50, 100, 2, 3]);
    assert.equal('info' in f, false, 'only contract fields cross the transport');
    await rejects(router.invoke('instances.frame', { sopInstanceUid: '0.0' }), 'NOT_FOUND');
    await rejects(router.invoke('series.open', { seriesInstanceUid: '0.0' }), 'NOT_FOUND');
    await rejects(router.invoke('studies.series', { studyInstanceUid: '0.0' }), 'NOT_FOUND');
  });

  it('verifies the audit chain', async () => {
    const v = await router.invoke('audit.verify', {});
    assert.equal(v.ok, true);
    assert.ok(v.rows >= 3);
  });

  it('maps unexpected service failures to INTERNAL without leaking the message', async () => {
    const broken = createRouter({ ...services, handlers: { ...services.handlers, 'studies.list': () => { throw new Error('secret path /etc/x'); } } }, { logError: () => {} });
    await rejects(broken.dispatch('studies.list', {}), 'INTERNAL', /^Internal error/);
  });
});
