/** Measurements and annotations per instance: validated, stored in the study store, listed per series, audited. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../electron/common/api-error.js';
import { createRouter, createServices, type AppRouter, type Services } from '../../../electron/features/node.js';
import { imageFile } from './dicom-writer.js';

const slice = (n: number) =>
  imageFile({ rows: 2, columns: 3, bitsAllocated: 16, raw: [n, n, n, n, n, n + 1], sopUid: `7.7.${n}`, position: [0, 0, -n], orientation: [1, 0, 0, 0, 1, 0] });

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('annotations', () => {
  let services: Services;
  let router: AppRouter;
  let series: string;

  before(async () => {
    services = createServices({ dataDir: mkdtempSync(join(tmpdir(), 'mfp-annot-')), host: 'browser', user: { id: 'dr.ann', role: 'radiologist' }, workstation: 'ws' });
    router = createRouter(services, { logError: () => {} });
    const r = await router.invoke('import.files', { files: [1, 2].map((n) => ({ name: `${n}.dcm`, bytes: slice(n) })) });
    assert.equal(r.imported, 2);
    const [study] = await router.invoke('studies.list', {});
    [{ seriesInstanceUid: series }] = await router.invoke('studies.series', { studyInstanceUid: study.studyInstanceUid });
  });
  after(() => services.close());

  it('saves per instance, lists per series, replaces on save and removes with an empty list', async () => {
    assert.deepEqual(await router.invoke('annotations.list', { seriesInstanceUid: series }), []);
    const length = { uid: 'a1', tool: 'Length' as const, points: [[0, 0, -1], [10, 0, -1]] as Array<[number, number, number]>, summary: '10.00 mm' };
    const arrow = { uid: 'a2', tool: 'ArrowAnnotate' as const, points: [[1, 1, -1], [2, 2, -1]] as Array<[number, number, number]>, text: 'lesion?' };
    const saved = await router.invoke('annotations.save', { sopInstanceUid: '7.7.1', annotations: [length, arrow] });
    assert.equal(saved.saved, 2);
    let list = await router.invoke('annotations.list', { seriesInstanceUid: series });
    assert.equal(list.length, 1);
    assert.equal(list[0].sopInstanceUid, '7.7.1');
    assert.equal(list[0].updatedBy, 'dr.ann');
    assert.deepEqual(list[0].annotations, [length, arrow]);

    await router.invoke('annotations.save', { sopInstanceUid: '7.7.1', annotations: [arrow] });
    list = await router.invoke('annotations.list', { seriesInstanceUid: series });
    assert.deepEqual(list[0].annotations, [arrow]);

    await router.invoke('annotations.save', { sopInstanceUid: '7.7.1', annotations: [] });
    assert.deepEqual(await router.invoke('annotations.list', { seriesInstanceUid: series }), []);
  });

  it('audits each save as Instances Accessed / Update with the study, patient, instance and tools', async () => {
    await router.invoke('annotations.save', { sopInstanceUid: '7.7.2', annotations: [{ uid: 'p', tool: 'Probe', points: [[0, 0, -2]] }] });
    const page = await router.invoke('audit.list', { limit: 5 });
    const last = page.events[0];
    assert.equal(last.eventId.code, '110103');
    assert.equal(last.action, 'U');
    assert.equal(last.userId, 'dr.ann');
    assert.deepEqual((last.details as { tools: unknown }).tools, { Probe: 1 });
    assert.equal((last.details as { sopInstanceUid: unknown }).sopInstanceUid, '7.7.2');
    assert.ok(last.participants.some((p) => p.type === 'StudyInstanceUID'), 'names the study');
  });

  it('refuses unknown instances, tools, non-finite points and oversized lists', async () => {
    await rejects(router.invoke('annotations.save', { sopInstanceUid: '9.9.9', annotations: [] }), 'NOT_FOUND');
    await rejects(router.dispatch('annotations.save', { sopInstanceUid: '7.7.1', annotations: [{ uid: 'x', tool: 'Brush', points: [[0, 0, 0]] }] }), 'BAD_REQUEST', /tool/);
    await rejects(router.dispatch('annotations.save', { sopInstanceUid: '7.7.1', annotations: [{ uid: 'x', tool: 'Probe', points: [[0, 0, 'a']] }] }), 'BAD_REQUEST', /points\[0\]\[2\]/);
    await rejects(router.dispatch('annotations.save', { sopInstanceUid: '7.7.1', annotations: [{ uid: 'x', tool: 'Probe', points: [[0, 0]] }] }), 'BAD_REQUEST', /points\[0\]/);
    const many = Array.from({ length: 201 }, (_, i) => ({ uid: `u${i}`, tool: 'Probe', points: [[0, 0, 0]] }));
    await rejects(router.dispatch('annotations.save', { sopInstanceUid: '7.7.1', annotations: many }), 'BAD_REQUEST', /annotations/);
  });
});
