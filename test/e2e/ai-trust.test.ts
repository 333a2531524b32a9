/**
 * End-to-end: what the AI panel says about the demo study (Colin27, `medfedpure serve` on a fresh data dir, the
 * committed models). Axial slice 1 is answered, and the detector's flag on it is worded "unusual", not "attack".
 * The sagittal series is outside the AI's intended use: every slice says so, with the reason, and none gets a label,
 * a probability or a security alert. An axial brain MR slice of random blocks, imported through the UI, is answered
 * with "unlike the training data". Then an administrator runs `medfedpure calibrate site --study` on the same data
 * folder: the panel's thresholds and expected false flags come from the site calibration from then on.
 * Screenshots: test-results/screenshots/e2e-trust-*.png.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { DEMO_PATIENT_ID, openDemoAxial, useE2eSession } from './support/session.js';
import { makeTestDicom } from './support/dicom.js';

const ENGINE_TIMEOUT_MS = 180_000;
const DEMO_STUDY_UID = '2.25.338065018337328011945768260122691961517';

async function openSeries(page: Page, description: RegExp): Promise<void> {
  const thumb = page.getByTestId('series-thumb').filter({ hasText: description });
  await thumb.waitFor();
  await thumb.click();
  await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
}

describe('AI trust end-to-end', { skip: CHROMIUM_SKIP_REASON }, () => {
  const session = useE2eSession();

  test('axial: answered, flag worded as unusual; sagittal: outside intended use; blocks: unlike the training data; site calibration', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await openDemoAxial(page, session.server.url);
    await page.waitForSelector('[data-testid=ai-engine][data-ready=true]', { timeout: ENGINE_TIMEOUT_MS });
    assert.match((await page.getByTestId('ai-disclaimer').textContent()) ?? '', /Intended use: single-frame axial brain MR slices/);
    assert.equal(await page.getByTestId('ai-thresholds').getAttribute('data-source'), 'factory');
    assert.match((await page.getByTestId('ai-thresholds').textContent()) ?? '', /^Shipped calibration of \d{4}-\d\d-\d\d: 713 clean Br35H images/);
    assert.match((await page.getByTestId('ai-expected-ood').textContent()) ?? '', /^Clean scans expected to read "unlike the training data": \d+\.\d % ±/);

    // Axial slice 1 (skull base, orbits): answered; flagged, and the flag is worded by the detector's evidence.
    await page.getByTestId('ai-scan-slice').click();
    const result = page.getByTestId('ai-result');
    await result.waitFor({ timeout: ENGINE_TIMEOUT_MS });
    assert.equal(await result.getAttribute('data-state'), 'answered');
    assert.equal(await page.getByTestId('ai-state-title').textContent(), 'Answered');
    assert.match((await page.getByTestId('ai-ood').textContent()) ?? '', /^error [\d.e-]+ ≤ cut [\d.e-]+$/);
    assert.equal(await result.getAttribute('data-flagged'), 'true');
    assert.match((await page.getByTestId('ai-flag').textContent()) ?? '', /^UNUSUALDetector score over the threshold: purified before classification\. Not evidence of an attack/);
    assert.equal(await page.getByTestId('ai-flag').getAttribute('data-alert'), 'true', 'in intended use and in distribution: the flag is audited as a security alert');
    assert.equal(await page.locator('[data-testid=slice-mark][data-index="0"]').getAttribute('data-state'), 'answered');
    await screenshot(page, 'e2e-trust-1-axial-flagged');

    // The sagittal series: every slice outside intended use, with the reason, and no reading.
    await openSeries(page, /SAG/);
    await page.getByTestId('ai-scan-series').click();
    await page.getByTestId('ai-note').filter({ hasText: '16 of 16 slices scanned' }).waitFor({ timeout: ENGINE_TIMEOUT_MS });
    assert.equal(await page.getByTestId('ai-note').textContent(), '16 of 16 slices scanned: 16 outside intended use.');
    assert.equal(await page.locator('[data-testid=slice-mark][data-state=outside-intended-use]').count(), 16);
    assert.equal(await page.locator('[data-testid=slice-mark][data-flagged=true]').count(), 0);
    await result.waitFor();
    assert.equal(await result.getAttribute('data-state'), 'outside-intended-use');
    assert.equal(await result.getAttribute('data-label'), 'none');
    assert.equal(await page.getByTestId('ai-state-title').textContent(), 'Outside intended use');
    assert.match((await page.getByTestId('ai-state-text').textContent()) ?? '', /^sagittal slice \(90° from axial; axial within 30° only\)\. The AI reads only axial brain MR slices/);
    assert.equal(await page.getByTestId('ai-label').count(), 0, 'no label');
    assert.equal(await page.getByTestId('ai-probability').count(), 0, 'no probability');
    assert.equal(await page.getByTestId('ai-flag').count(), 0, 'no flag');
    assert.match((await page.getByTestId('series-ai-badge').filter({ hasText: 'outside use' }).textContent()) ?? '', /^AI 16 · 16 outside use$/);
    assert.equal(await page.getByTestId('viewport-state').textContent(), 'AI: OUTSIDE INTENDED USE');
    await screenshot(page, 'e2e-trust-2-sagittal-outside');

    // The audit log names the reason for each declined slice and holds no security alert for them.
    const medfedpure = (...args: string[]) => spawnSync(process.execPath, [join(process.cwd(), 'bin', 'medfedpure.js'), ...args, '--data-dir', session.server.dataDir, '--json'], { encoding: 'utf8', timeout: ENGINE_TIMEOUT_MS });
    const audit = medfedpure('audit', 'list', '--limit', '200');
    assert.equal(audit.status, 0, audit.stderr);
    assert.equal((audit.stdout.match(/outside intended use: sagittal slice/g) ?? []).length, 16, 'sixteen declined scans audited with their reason');
    assert.equal((audit.stdout.match(/"MFP-ADV"/g) ?? []).length, 1, 'one security alert: axial slice 1, none for the sagittal slices');

    // An axial brain MR slice of random black and white blocks: in intended use by its header, but unlike anything
    // the AI learnt from. (Uniform pixel noise would not do: the MAE predicts its mean and its error stays under the
    // cut, docs/ROBUSTNESS.md.)
    const n = 128, block = 16;
    const blocks = new Uint16Array(n * n);
    for (let y = 0, h = 12345; y < n; y += block) {
      for (let x = 0; x < n; x += block) {
        h = (Math.imul(h, 1664525) + 1013904223) >>> 0;
        for (let dy = 0; dy < block; dy++) blocks.fill((h >>> 16) % 2 ? 1300 : 100, (y + dy) * n + x, (y + dy) * n + x + block);
      }
    }
    const dcm = makeTestDicom({
      patientName: 'E2E^BLOCKS', patientId: 'E2E-OOD', rows: n, columns: n, pixels: blocks,
      attributes: { BodyPartExamined: 'BRAIN', ImageOrientationPatient: [1, 0, 0, 0, 1, 0], ImagePositionPatient: [0, 0, 0], SeriesDescription: 'AX blocks' },
    });
    await page.getByTestId('import-files').setInputFiles([{ name: 'blocks.dcm', mimeType: 'application/dicom', buffer: Buffer.from(dcm.bytes) }]);
    await page.getByTestId('import-summary').filter({ hasText: /1 imported/ }).waitFor();
    await page.getByTestId('study-row').filter({ hasText: 'E2E-OOD' }).click();
    await openSeries(page, /AX blocks/);
    await page.getByTestId('ai-scan-slice').click();
    await result.waitFor({ timeout: ENGINE_TIMEOUT_MS });
    await page.waitForSelector('[data-testid=ai-result][data-state=unlike-training-data]', { timeout: ENGINE_TIMEOUT_MS });
    assert.equal(await page.getByTestId('ai-state-title').textContent(), 'Unlike the training data');
    assert.match((await page.getByTestId('ai-state-text').textContent()) ?? '', /^The AI may be wrong here/);
    assert.match((await page.getByTestId('ai-label').textContent()) ?? '', /^(Tumour|No tumour)$/, 'the label is kept, with the caution');
    assert.match((await page.getByTestId('ai-ood').textContent()) ?? '', /^error [\d.e-]+ > cut [\d.e-]+$/);
    if ((await result.getAttribute('data-flagged')) === 'true') assert.equal(await page.getByTestId('ai-flag').getAttribute('data-alert'), 'false', 'no security alert for an unusual image');
    assert.equal(await page.getByTestId('viewport-state').textContent(), 'AI: UNLIKE TRAINING DATA');
    await screenshot(page, 'e2e-trust-3-blocks-unlike');

    // An administrator recalibrates on the demo study's own clean axial slices; the panel shows the site calibration.
    const cli = medfedpure('calibrate', 'site', '--study', DEMO_STUDY_UID);
    assert.equal(cli.status, 0, cli.stderr);
    const out = JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as { calibration: { n: number; excluded: number; flag: { threshold: number; rateOnTheseSlices: number; expected: { mean: number; sd: number } } } };
    assert.equal(out.calibration.n, 24);
    assert.equal(out.calibration.excluded, 32);
    // Done-when check: the axial slices' flag rate under the site calibration is within its stated spread.
    const { mean, sd } = out.calibration.flag.expected;
    assert.ok(Math.abs(out.calibration.flag.rateOnTheseSlices - mean) <= 2 * sd, `flag rate ${out.calibration.flag.rateOnTheseSlices} vs ${mean} ± ${sd}`);

    await page.reload();
    const row = page.getByTestId('study-row').filter({ hasText: DEMO_PATIENT_ID });
    await row.waitFor();
    await row.click();
    await openSeries(page, /24 im/);
    await page.waitForSelector('[data-testid=ai-thresholds][data-source=site]', { timeout: ENGINE_TIMEOUT_MS });
    assert.match((await page.getByTestId('ai-thresholds').textContent()) ?? '', /^Site calibration of \d{4}-\d\d-\d\d: 24 clean axial slices of 1 series at this site$/);
    assert.match((await page.getByTestId('ai-expected-flags').textContent()) ?? '', /^False flags expected on new patients' clean scans: \d+\.\d % ± \d+\.\d %/);
    await page.getByTestId('ai-scan-series').click();
    await page.getByTestId('ai-note').filter({ hasText: /of \d+ slices scanned/ }).waitFor({ timeout: ENGINE_TIMEOUT_MS });
    // Slice 1 was scanned before the calibration: its card says so until it is scanned again.
    await page.getByTestId('ai-stale-thresholds').waitFor();
    assert.match((await page.getByTestId('ai-stale-thresholds').textContent()) ?? '', /^Judged with the shipped thresholds; the site calibration of .* is in force now: rescan to apply it\.$/);
    await page.getByTestId('ai-scan-slice').click();
    await page.waitForSelector('[data-testid=ai-stale-thresholds]', { state: 'detached', timeout: ENGINE_TIMEOUT_MS });
    const flagged = await page.locator('[data-testid=slice-mark][data-flagged=true]').count();
    assert.ok(flagged <= 2, `${flagged} axial slices flagged under the site calibration`);
    await screenshot(page, 'e2e-trust-4-site-calibrated');
    console.log(`# site calibration: flag threshold ${out.calibration.flag.threshold}; ${flagged} of 24 axial slices flagged`);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
