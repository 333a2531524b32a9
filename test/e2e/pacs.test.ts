/**
 * End-to-end: the PACS tab against a real Orthanc (test/support/orthanc.ts) holding the demo study (already local in
 * `medfedpure serve`) and a 12-slice study that is only on the PACS, with an AI report (DICOM SR) beside it. Search shows both with their local state
 * ("Local" / "PACS only"); retrieving the PACS-only study shows progress and ends "Retrieved"; "Open" switches to the
 * local list, where the study carries the "PACS" marker, and the viewer draws it; the PACS tab shows the AI report
 * read back with the study; the open series can be sent back
 * (images by STOW-RS; the AI report asks for an analysis first). A PACS that cannot be reached shows
 * an error naming it. Screenshots go to test-results/screenshots/pacs-*.png.
 */
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient } from '../../electron/common/http-client.js';
import type { ApiEvents, ApiMethods, ScanResult } from '../../electron/features/api.js';
import { buildAnalysisReport } from '../../electron/features/pacs/sr.js';
import { imageFile } from '../unit/workstation/dicom-writer.js';
import { orthancAvailable, ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type Orthanc } from '../support/orthanc.js';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { useE2eSession } from './support/session.js';

const skip = CHROMIUM_SKIP_REASON || (orthancAvailable() ? false : 'Orthanc with the DICOMweb plugin is not installed');
const STUDY = '1.2.826.0.1.3680043.10.1137.77';
const SERIES = `${STUDY}.1`;

describe('PACS tab end-to-end', { skip }, () => {
  const session = useE2eSession();
  let orthanc: Orthanc;

  before(async () => {
    orthanc = await startOrthanc();
    const dir = mkdtempSync(join(tmpdir(), 'mfp-e2e-pacs-'));
    try {
      // A head-like phantom: a bright ring and a darker disc, varying along the stack.
      for (let k = 1; k <= 12; k++) {
        const raw: number[] = [];
        for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) {
          const r = Math.hypot(x - 64, y - 64);
          raw.push(r < 40 + k ? (r > 34 + k ? 900 : 300 + 20 * k) : 0);
        }
        writeFileSync(join(dir, `${k}.dcm`), imageFile({
          rows: 128, columns: 128, bitsAllocated: 16, raw, studyUid: STUDY, seriesUid: SERIES, sopUid: `${SERIES}.${k}`, instanceNumber: k,
          patientId: 'PACS-E2E-1', patientName: 'PACSONLY^ERIN', windowCenter: 500, windowWidth: 1000, position: [0, 0, k * 5], orientation: [1, 0, 0, 0, 1, 0],
        }));
      }
      // An earlier AI report on the PACS for three of its slices (one flagged), as another workstation would leave it.
      const result = (k: number): ScanResult => ({
        sopInstanceUid: `${SERIES}.${k}`, seriesInstanceUid: SERIES, studyInstanceUid: STUDY, createdUtc: '', state: 'answered',
        intendedUse: { status: 'in-use', summary: 'MR · axial' }, ood: null, securityAlert: k === 6, thresholdsSource: 'factory', thresholdsCreatedUtc: null,
        label: k === 6 ? 'tumour' : 'no-tumour',
        probabilities: k === 6 ? [0.2, 0.8] : [0.9, 0.1], mode: 'adaptive', flagged: k === 6, score: k === 6 ? 0.05 : 0.01, threshold: 0.03,
        scoreKind: 'mse', tStar: k === 6 ? 80 : 0, steps: 0, timesteps: [], seed: 1, size: 64, input: new Float32Array(0), errorMap: null, purified: null,
        difference: null, models: [{ name: 'classifier', version: '1.0.0', sha256: 'cd'.repeat(32), trained: true }], ep: 'cpu',
        timings: { preprocessMs: 0, detectMs: 0, purifyMs: 0, classifyMs: 0, totalMs: 0, batchSize: 1 },
      });
      const sr = buildAnalysisReport({
        patient: { id: 'PACS-E2E-1', name: 'PACSONLY^ERIN' }, study: { studyInstanceUid: STUDY }, sourceSeriesInstanceUid: SERIES,
        images: [5, 6, 7].map((k) => ({ sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: `${SERIES}.${k}`, result: result(k) })),
        software: { name: 'MedFedPure Workstation', version: '0.1.0', workstation: 'reading-room-2' }, now: new Date('2026-11-30T08:15:00Z'),
      });
      writeFileSync(join(dir, 'report.dcm'), sr.bytes);
      await orthanc.seed([dir, join(process.cwd(), 'build', 'demo-data')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const api = createHttpClient<ApiMethods, ApiEvents>(session.server.origin, session.server.token);
    await api.invoke('pacs.saveEndpoint', { id: 'orthanc', name: 'Radiology PACS (test Orthanc)', url: orthanc.dicomWeb, auth: { kind: 'basic', username: ORTHANC_USER, secret: ORTHANC_PASSWORD } });
    await api.invoke('pacs.saveEndpoint', { id: 'offline', name: 'Offline PACS', url: 'http://127.0.0.1:9/dicom-web', auth: { kind: 'none' } });
  });
  after(async () => {
    await orthanc?.stop();
  });

  test('search → retrieve with progress → open; the study list marks it as from PACS', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('study-row').first().waitFor();
    await page.getByTestId('tab-pacs').click();
    await page.getByTestId('pacs-endpoint').selectOption('orthanc');
    await page.getByTestId('pacs-search').click();
    const rows = page.getByTestId('pacs-row');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    const demo = rows.filter({ hasText: 'DEMO-COLIN27' });
    const remote = rows.filter({ hasText: 'PACS-E2E-1' });
    assert.equal(await demo.getByTestId('pacs-local').textContent(), 'Local');
    assert.equal(await remote.getByTestId('pacs-local').textContent(), 'PACS only');
    await remote.locator('[role=button]').click();
    await remote.getByTestId('pacs-series-row').first().waitFor();
    assert.match((await remote.getByTestId('pacs-series-row').first().textContent()) ?? '', /12 im/);
    assert.match((await remote.getByTestId('pacs-series-row').nth(1).textContent()) ?? '', /SR AI analysis \(MedFedPure\) · 1 im/);
    await screenshot(page, 'pacs-search');

    await remote.getByTestId('pacs-retrieve-study').click();
    const job = page.getByTestId('pacs-job').first();
    await page.locator('[data-testid=pacs-job][data-state=complete]').waitFor();
    assert.equal(await job.getByTestId('pacs-job-count').textContent(), '12/12');
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
      return doc.querySelector(`[data-testid=pacs-row][data-study-uid="1.2.826.0.1.3680043.10.1137.77"] [data-testid=pacs-local]`)?.textContent === 'Local';
    });
    await screenshot(page, 'pacs-retrieved');

    await job.getByTestId('pacs-open').click();
    const localRow = page.locator(`[data-testid=study-row][data-study-uid="${STUDY}"]`);
    await localRow.waitFor();
    assert.equal(await localRow.getAttribute('aria-selected'), 'true');
    assert.equal(await localRow.getByTestId('study-pacs-mark').textContent(), 'PACS');
    await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
    await screenshot(page, 'pacs-opened');

    // Back on the PACS tab: the AI report found on the PACS with the study is shown for the open series; the series
    // can be sent: its images, and (once analysed) its AI report.
    await page.getByTestId('tab-pacs').click();
    const report = page.getByTestId('pacs-report');
    await report.waitFor();
    assert.equal(await report.getByTestId('pacs-report-summary').textContent(), '3 image(s): tumour suspected in 1, flagged by the detector in 1');
    assert.match((await report.textContent()) ?? '', /2026-11-30 08:15:00 UTC · MedFedPure Workstation 0\.1\.0/);
    await page.getByTestId('pacs-send-series').click();
    const sendStatus = page.getByTestId('pacs-send-status');
    await sendStatus.waitFor();
    assert.equal(await sendStatus.textContent(), '12 image(s) stored');
    await page.getByTestId('pacs-send-report').click();
    await page.getByTestId('pacs-send-status').filter({ hasText: 'AI results' }).waitFor();
    assert.match((await sendStatus.textContent()) ?? '', /No AI results stored for series .*: analyse it first/);
    await screenshot(page, 'pacs-send');

    // An endpoint that is down: the error names it.
    await page.getByTestId('pacs-endpoint').selectOption('offline');
    await page.getByTestId('pacs-search').click();
    const err = page.getByTestId('pacs-error');
    await err.waitFor();
    assert.match((await err.textContent()) ?? '', /^UNREACHABLE: PACS http:\/\/127\.0\.0\.1:9\/dicom-web\/studies: cannot connect/);
    assert.equal(await page.getByTestId('pacs-row').count(), 0, 'no rows of the other PACS under this error');
    await screenshot(page, 'pacs-unreachable');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
    await page.close();
  });
});
