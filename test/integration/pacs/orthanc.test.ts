/**
 * The PACS feature against a real Orthanc with its DICOMweb plugin (test/support/orthanc.ts), seeded with the demo
 * studies (build/demo-data):
 *   search (patient ID, modality, paging) → series → retrieve a series (WADO-RS multipart into the study store,
 *   audited) → analyse (scan service, engine in-process) → AI report as a Comprehensive SR by STOW-RS → the SR found
 *   again by QIDO-RS and retrieved back, and dsrdump reads it;
 *   Orthanc killed mid-retrieve: the job fails with PARTIAL naming the endpoint, the series stays 'incomplete' (never
 *   complete), every stored instance decodes; Orthanc back with the same storage: a retry fetches only the missing
 *   instances and completes; a stopped PACS is UNREACHABLE; wrong credentials are HTTP 401.
 * Retrieval is of uncompressed files; compressed transfer syntaxes are the decoders' tests (studies/dicom).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRouter, createServices, type Services } from '../../../electron/features/node.js';
import type { PacsJob } from '../../../electron/features/pacs/api.js';
import { DicomWebClient } from '../../../electron/features/pacs/dicomweb.js';
import { adHocEndpoint } from '../../../electron/features/pacs/service.js';
import { EngineCore } from '../../../native-models/src/inference/engine/core.js';
import { calibrationFor, tinyBundle } from '../../unit/native-models/pipeline/fixtures.js';
import { imageFile } from '../../unit/workstation/dicom-writer.js';
import { orthancAvailable, ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type Orthanc } from '../../support/orthanc.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const DEMO = join(ROOT, 'build', 'demo-data');
const DEMO_PATIENT = 'DEMO-COLIN27';
const skip = orthancAvailable() ? false : 'Orthanc with the DICOMweb plugin is not installed (apt: orthanc orthanc-dicomweb)';

async function saveEndpoint(services: Services, url: string): Promise<void> {
  await createRouter(services).invoke('pacs.saveEndpoint', { id: 'orthanc', name: 'Test Orthanc', url, auth: { kind: 'basic', username: ORTHANC_USER, secret: ORTHANC_PASSWORD } });
}

describe('PACS over DICOMweb against Orthanc', { skip }, () => {
  let orthanc: Orthanc;
  let dataDir: string;
  let services: Services;
  let core: EngineCore;
  /** Instances killed and replaced mid-test: their folders (holding the storage the replacement reuses) go last. */
  const retired: Orthanc[] = [];

  before(async () => {
    orthanc = await startOrthanc();
    const n = await orthanc.seed([DEMO]);
    assert.equal(n, 56, 'the demo study: 24 axial + 16 coronal + 16 sagittal');
    dataDir = mkdtempSync(join(tmpdir(), 'mfp-pacs-'));
    const bundle = tinyBundle();
    core = await EngineCore.create({ models: bundle, calibration: calibrationFor(bundle, 0), ep: 'cpu', threads: 1 });
    services = createServices({ dataDir, host: 'browser', auditLifecycle: false, engine: async () => ({ scan: (r) => core.scan(r), status: async () => core.status() }) });
    await saveEndpoint(services, orthanc.dicomWeb);
  });

  after(async () => {
    services?.close();
    await core?.close();
    await orthanc?.stop();
    for (const o of retired) await o.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('search → series → retrieve → analyse → SR by STOW-RS → SR found again by QIDO-RS', async () => {
    const router = createRouter(services);
    const endpoints = await router.invoke('pacs.endpoints', {});
    assert.deepEqual(endpoints.map((e) => [e.id, e.auth.kind, e.auth.hasSecret]), [['orthanc', 'basic', true]]);
    assert.ok(!JSON.stringify(endpoints).includes(ORTHANC_PASSWORD), 'the secret never leaves the services side');

    const found = await router.invoke('pacs.search', { endpointId: 'orthanc', patientId: DEMO_PATIENT });
    assert.equal(found.studies.length, 1);
    const study = found.studies[0];
    assert.equal(study.patientName, 'DEMO^COLIN27');
    assert.deepEqual(study.modalities, ['MR']);
    assert.equal(study.instanceCount, 56);
    assert.equal(study.local, 'none');
    assert.equal((await router.invoke('pacs.search', { endpointId: 'orthanc', patientId: 'NOBODY' })).studies.length, 0);
    assert.equal((await router.invoke('pacs.search', { endpointId: 'orthanc', modality: 'MR', patientName: 'DEMO*' })).studies.length, 1);
    const page = await router.invoke('pacs.search', { endpointId: 'orthanc', limit: 1 });
    assert.equal(page.studies.length, 1);
    assert.equal(page.mayHaveMore, true);

    const queries = services.audit.list({ limit: 20 }).events.filter((e) => e.eventId.code === '110112');
    assert.equal(queries.length, 4, 'every search is audited as a Query');
    assert.deepEqual((queries.at(-1)!.details as { query: unknown }).query, { patientId: DEMO_PATIENT });
    assert.ok(queries.every((e) => e.userId === services.actor.userId));

    const series = await router.invoke('pacs.series', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid });
    assert.equal(series.length, 3);
    const axial = series.find((s) => s.instanceCount === 24)!;
    assert.ok(axial, JSON.stringify(series));
    assert.ok(series.every((s) => s.local === 'none'));

    const progress: PacsJob[] = [];
    const job = await services.pacs.retrieve(services.pacs.endpoint('orthanc'), study.studyInstanceUid, axial.seriesInstanceUid, { onProgress: (j) => progress.push(j) });
    assert.equal(job.state, 'complete', JSON.stringify(job.error));
    assert.equal(job.expected, 24);
    assert.equal(job.done, 24);
    assert.ok(job.bytes > 24 * 100_000);
    assert.ok(progress.some((p) => p.state === 'running' && p.done > 0 && p.done < 24), 'progress was announced along the way');
    assert.equal(services.studies.listInstances(axial.seriesInstanceUid).length, 24);
    const after = await router.invoke('pacs.series', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid });
    assert.equal(after.find((s) => s.seriesInstanceUid === axial.seriesInstanceUid)!.local, 'complete');
    assert.equal((await router.invoke('pacs.search', { endpointId: 'orthanc', patientId: DEMO_PATIENT })).studies[0].local, 'partial', '1 of 3 series');
    const imports = services.audit.list({ limit: 20 }).events.filter((e) => e.eventId.code === '110107');
    assert.equal(imports.length, 1);
    const details = imports[0].details as Record<string, unknown>;
    assert.equal(details.source, 'pacs');
    assert.deepEqual(details.endpoint, { id: 'orthanc', url: orthanc.dicomWeb });
    assert.equal(details.imported, 24);
    assert.ok(imports[0].participants.some((p) => p.type === 'PatientID' && p.id === DEMO_PATIENT));
    assert.ok(!JSON.stringify(services.audit.list({ limit: 50 })).includes(ORTHANC_PASSWORD), 'no secret in the audit log');

    // Again: everything is local, nothing is fetched.
    const again = await services.pacs.retrieve(services.pacs.endpoint('orthanc'), study.studyInstanceUid, axial.seriesInstanceUid);
    assert.equal(again.state, 'complete');
    assert.equal(again.bytes, 0);

    // Analyse three slices, then send the AI report.
    const instances = services.studies.listInstances(axial.seriesInstanceUid);
    for (const i of [instances[8], instances[12], instances[16]]) await router.invoke('scan.run', { sopInstanceUid: i.sopInstanceUid });
    const sent = await router.invoke('pacs.sendReport', { endpointId: 'orthanc', seriesInstanceUid: axial.seriesInstanceUid });
    assert.ok(sent.report && sent.stored.includes(sent.report.sopInstanceUid), JSON.stringify(sent));
    assert.deepEqual(sent.failed, []);
    const exports = services.audit.list({ limit: 50 }).events.filter((e) => e.eventId.code === '110106');
    assert.equal(exports.length, 1);
    assert.equal((exports[0].details as { kind: string }).kind, 'report');

    // The SR is on the PACS: QIDO-RS finds it as an SR series of the study, and it reads back with dsrdump.
    const withSr = await router.invoke('pacs.series', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid });
    const srSeries = withSr.find((s) => s.modality === 'SR');
    assert.ok(srSeries && srSeries.seriesInstanceUid === sent.report.seriesInstanceUid, JSON.stringify(withSr));
    const client = new DicomWebClient(services.pacs.endpoint('orthanc'));
    const srInstances = await client.qido(`studies/${study.studyInstanceUid}/series/${srSeries.seriesInstanceUid}/instances`);
    assert.equal(srInstances.length, 1);
    const parts: Buffer[] = [];
    await client.retrieve(`studies/${study.studyInstanceUid}/series/${srSeries.seriesInstanceUid}`, (p) => void parts.push(p.body));
    assert.equal(parts.length, 1);
    const srFile = join(dataDir, 'report.dcm');
    writeFileSync(srFile, parts[0]);
    const dump = spawnSync('dsrdump', ['-Ee', srFile], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.doesNotMatch(dump.stderr, /^E:/m);
    assert.match(dump.stdout, /Comprehensive SR Document/);
    assert.match(dump.stdout, /Probability of tumour/);
    assert.match(dump.stdout, /Detector threshold/);
    assert.match(dump.stdout, /Model SHA-256/);
    assert.equal((dump.stdout.match(/Source of Measurement/g) ?? []).length, 3, 'one image reference per analysed slice');

    // The report is kept read back for the series; a second workstation that retrieves the whole study from the PACS
    // gets the images (the SR series stays on the PACS) and reads the report again.
    assert.equal((await router.invoke('pacs.reports', { seriesInstanceUid: axial.seriesInstanceUid })).length, 1);
    const otherDir = mkdtempSync(join(tmpdir(), 'mfp-pacs-2-'));
    const other = createServices({ dataDir: otherDir, host: 'browser', auditLifecycle: false });
    try {
      await saveEndpoint(other, orthanc.dicomWeb);
      const whole = await other.pacs.retrieve(other.pacs.endpoint('orthanc'), study.studyInstanceUid);
      assert.equal(whole.state, 'complete', JSON.stringify(whole.error));
      assert.equal(whole.expected, 56, 'the three image series, not the SR');
      const reports = await createRouter(other).invoke('pacs.reports', { seriesInstanceUid: axial.seriesInstanceUid });
      assert.equal(reports.length, 1);
      assert.equal(reports[0].sopInstanceUid, sent.report.sopInstanceUid);
      assert.deepEqual(reports[0].images.map((i) => i.sopInstanceUid).sort(), [instances[8], instances[12], instances[16]].map((i) => i.sopInstanceUid).sort());
      assert.ok(reports[0].images.every((i) => i.flagged), 'threshold 0: every slice was flagged');
    } finally {
      other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }

    // The study list's marker: this study came from (and went to) the PACS.
    const states = await router.invoke('pacs.localStates', {});
    assert.deepEqual(states, [{ studyInstanceUid: study.studyInstanceUid, endpointId: 'orthanc', local: 'complete', stored: true }]);
  });

  it('Orthanc killed mid-retrieve: PARTIAL naming the endpoint, series incomplete, store consistent; back up: retry resumes', async () => {
    // A series large enough (64 × 512 KiB) that it cannot all sit in socket buffers when Orthanc dies.
    const studyUid = '1.2.826.0.1.3680043.10.1137.1';
    const seriesUid = '1.2.826.0.1.3680043.10.1137.1.1';
    const dir = mkdtempSync(join(tmpdir(), 'mfp-big-'));
    const raw = Array.from({ length: 512 * 512 }, (_, i) => (i * 7) % 4096);
    for (let k = 1; k <= 64; k++) {
      writeFileSync(join(dir, `${k}.dcm`), imageFile({ rows: 512, columns: 512, bitsAllocated: 16, raw, studyUid, seriesUid, sopUid: `${seriesUid}.${k}`, instanceNumber: k, patientId: 'BIG-1', patientName: 'BIG^SERIES' }));
    }
    assert.equal(await orthanc.seed([dir]), 64);
    rmSync(dir, { recursive: true, force: true });

    const endpoint = services.pacs.endpoint('orthanc');
    let killed = false;
    const job = await services.pacs.retrieve(endpoint, studyUid, seriesUid, {
      onProgress: (j) => {
        if (!killed && j.done >= 1) {
          killed = true;
          void orthanc.kill();
        }
      },
    });
    assert.equal(killed, true);
    assert.equal(job.state, 'failed');
    assert.ok(job.error && ['PARTIAL', 'UNREACHABLE'].includes(job.error.code), JSON.stringify(job.error));
    assert.ok(job.error.message.includes(orthanc.dicomWeb), `the message names the endpoint: ${job.error.message}`);
    const local = services.studies.listInstances(seriesUid);
    assert.ok(local.length >= 1 && local.length < 64, `some but not all instances: ${local.length}`);
    for (const i of local) assert.equal(services.studies.getFrame(i.sopInstanceUid).rows, 512, 'every stored instance is whole');
    const states = await createRouter(services).invoke('pacs.localStates', {});
    assert.equal(states.find((s) => s.studyInstanceUid === studyUid)?.local, 'partial', 'never marked complete');
    const failedImport = services.audit.list({ limit: 5 }).events.find((e) => e.eventId.code === '110107');
    assert.equal(failedImport?.outcome, 'minor-failure');

    // While it is down: unreachable, named.
    await assert.rejects(services.pacs.search(endpoint, {}), (e: Error & { code?: string }) => e.code === 'UNREACHABLE' && e.message.includes(orthanc.dicomWeb));

    // Back with the same storage (a new port): the retry fetches only what is missing.
    retired.push(orthanc);
    orthanc = await startOrthanc({ storage: orthanc.storage });
    await saveEndpoint(services, orthanc.dicomWeb);
    const retry = await services.pacs.retrieve(services.pacs.endpoint('orthanc'), studyUid, seriesUid);
    assert.equal(retry.state, 'complete', JSON.stringify(retry.error));
    assert.equal(retry.done, 64);
    assert.equal(services.studies.listInstances(seriesUid).length, 64);
    const lastImport = services.audit.list({ limit: 5 }).events.find((e) => e.eventId.code === '110107');
    assert.equal((lastImport?.details as { imported: number }).imported, 64 - local.length, 'only the missing instances were fetched');
    assert.equal((await createRouter(services).invoke('pacs.localStates', {})).find((s) => s.studyInstanceUid === studyUid)?.local, 'complete');
  });

  it('a background retrieval (pacs.retrieve) cancelled mid-series: cancelled, audited, never complete; pacs.jobs lists it', async () => {
    const router = createRouter(services);
    const study = (await router.invoke('pacs.search', { endpointId: 'orthanc', patientId: DEMO_PATIENT })).studies[0];
    const coronal = (await router.invoke('pacs.series', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid })).find((s) => s.local === 'none' && s.instanceCount === 16)!;
    let jobId = '';
    const finished = new Promise<PacsJob>((res) => {
      const off = services.events.on('pacs.progress', (j) => {
        if (j.jobId !== jobId) return;
        if (j.state === 'running' && j.done >= 1) void router.invoke('pacs.cancel', { jobId });
        if (j.state !== 'running') {
          off();
          res(j);
        }
      });
    });
    jobId = (await router.invoke('pacs.retrieve', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: coronal.seriesInstanceUid })).jobId;
    const job = await finished;
    assert.equal(job.state, 'cancelled', JSON.stringify(job));
    assert.equal(job.error?.code, 'CANCELLED');
    const local = services.studies.listInstances(coronal.seriesInstanceUid).length;
    assert.ok(local >= 1 && local < 16, `${local}`);
    const listed = await router.invoke('pacs.series', { endpointId: 'orthanc', studyInstanceUid: study.studyInstanceUid });
    assert.equal(listed.find((s) => s.seriesInstanceUid === coronal.seriesInstanceUid)!.local, 'partial');
    assert.equal((await router.invoke('pacs.jobs', {}))[0].jobId, jobId);
    assert.equal((await router.invoke('pacs.cancel', { jobId })).cancelled, false, 'a finished job cannot be cancelled');
    const audited = services.audit.list({ limit: 5 }).events.find((e) => e.eventId.code === '110107');
    assert.equal((audited?.details as { state: string }).state, 'cancelled');
  });

  it('a JPEG-LS series comes in its original syntax; it is decoded, or refused with a typed error and left incomplete', { skip: spawnSync('dcmcjpls', ['--version']).error ? 'dcmtk is not installed' : false }, async () => {
    // Four demo slices compressed by dcmtk, under new UIDs so they form their own study.
    const dir = mkdtempSync(join(tmpdir(), 'mfp-jls-'));
    const studyUid = '1.2.826.0.1.3680043.10.1137.2';
    const seriesUid = `${studyUid}.1`;
    try {
      for (let k = 1; k <= 4; k++) {
        const out = join(dir, `${k}.dcm`);
        assert.equal(spawnSync('dcmcjpls', [join(DEMO, 'T1_SAG', `00${k}.dcm`), out]).status, 0);
        const sop = `${seriesUid}.${k}`;
        const mod = spawnSync('dcmodify', ['-nb', '-m', `(0020,000d)=${studyUid}`, '-m', `(0020,000e)=${seriesUid}`, '-m', `(0008,0018)=${sop}`, '-m', '(0010,0020)=JLS-1', out]);
        assert.equal(mod.status, 0, String(mod.stderr));
      }
      assert.equal(await orthanc.seed([dir]), 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const client = new DicomWebClient(services.pacs.endpoint('orthanc'));
    const syntaxes: string[] = [];
    await client.retrieve(`studies/${studyUid}/series/${seriesUid}`, (p) => {
      const text = p.body.subarray(0, 400).toString('latin1');
      syntaxes.push(/1\.2\.840\.10008\.1\.2\.4\.80/.test(text) ? 'jpeg-ls' : 'other');
    });
    assert.deepEqual(syntaxes, ['jpeg-ls', 'jpeg-ls', 'jpeg-ls', 'jpeg-ls'], 'the PACS sent the stored syntax, not a transcoded one');

    const job = await services.pacs.retrieve(services.pacs.endpoint('orthanc'), studyUid, seriesUid);
    const local = services.studies.listInstances(seriesUid).length;
    const state = (await createRouter(services).invoke('pacs.localStates', {})).find((s) => s.studyInstanceUid === studyUid)?.local;
    if (job.state === 'complete') {
      // The importer decodes JPEG-LS: the whole series is local and complete.
      assert.equal(local, 4);
      assert.equal(state, 'complete');
    } else {
      // The importer refuses JPEG-LS: every instance is named with a typed reason, and nothing reads as complete.
      assert.equal(job.state, 'failed');
      assert.equal(job.error?.code, 'PARTIAL');
      assert.equal(job.refused.length, 4 - local);
      assert.ok(job.refused.every((r) => r.code === 'UNSUPPORTED_TRANSFER_SYNTAX'), JSON.stringify(job.refused));
      assert.notEqual(state, 'complete');
    }
  });

  it('wrong credentials: HTTP 401 naming the endpoint; a closed port: UNREACHABLE', async () => {
    const wrong = adHocEndpoint(orthanc.dicomWeb, { kind: 'basic', username: ORTHANC_USER, secret: 'wrong' });
    await assert.rejects(services.pacs.search(wrong, {}), (e: Error & { code?: string }) => e.code === 'HTTP_STATUS' && /HTTP 401/.test(e.message) && e.message.includes(orthanc.dicomWeb) && !e.message.includes('wrong'));
    const closed = adHocEndpoint('http://127.0.0.1:9/dicom-web');
    await assert.rejects(services.pacs.search(closed, {}), (e: Error & { code?: string }) => e.code === 'UNREACHABLE' && e.message.includes('127.0.0.1:9'));
  });
});
