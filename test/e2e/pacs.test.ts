/**
 * End-to-end: the PACS tab against a real Orthanc (test/support/orthanc.ts) holding the demo study (already local in
 * `medfedpure serve`) and a 12-slice study that is only on the PACS. Search shows both with their local state
 * ("Local" / "PACS only"); retrieving the PACS-only study shows progress and ends "Retrieved"; "Open" switches to the
 * local list, where the study carries the "PACS" marker, and the viewer draws it; the open series can be sent back
 * (images by STOW-RS; the AI report asks for an analysis first). A PACS that cannot be reached shows
 * an error naming it. Screenshots go to test-results/screenshots/pacs-*.png.
 */
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient } from '../../electron/common/http-client.js';
import type { ApiEvents, ApiMethods } from '../../electron/features/api.js';
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

    // Back on the PACS tab, the open series can be sent: its images, and (once analysed) its AI report.
    await page.getByTestId('tab-pacs').click();
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
