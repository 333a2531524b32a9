/**
 * End-to-end: Debian Chromium against `medfedpure serve` on a fresh data dir (which imports the demo MR series).
 * Covers: study list → open series → canvas drawn; stack scroll by wheel and keys; W/L drag and presets;
 * import of a DICOM file and of a non-DICOM file through the file input; the audit review with chain verification.
 * Screenshots go to test-results/screenshots/. Time-to-first-image is logged, not asserted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { makeTestDicom } from './support/dicom.js';
import { DEMO_PATIENT_ID, openDemoAxial, useE2eSession } from './support/session.js';

interface CanvasStats { width: number; height: number; nonBlack: number; hash: number; mean: number }

/** The bits of the DOM canvas used in the page function below (this file compiles without the DOM lib). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(type: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** Pixel statistics of the viewport canvas, computed in the page. */
async function canvasStats(page: Page): Promise<CanvasStats> {
  return page.getByTestId('viewport-canvas').evaluate((el) => {
    const c = el as unknown as CanvasLike;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let nonBlack = 0;
    let hash = 2166136261;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) {
      const g = data[i];
      if (g > 8) nonBlack++;
      sum += g;
      hash = Math.imul(hash ^ g, 16777619) >>> 0;
    }
    return { width: c.width, height: c.height, nonBlack, hash, mean: sum / (data.length / 4) };
  });
}

/** Wait until the viewport shows the current slice's own frame (not a neighbour standing in for it). */
async function waitCurrentDrawn(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
  await nextFrame(page);
}

/** Resolve after the page's next animation frame (the viewport draws in requestAnimationFrame). */
async function nextFrame(page: Page): Promise<void> {
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(null)))');
}

/** Wait until the slice readout says exactly `text`. */
async function waitSlice(page: Page, text: string): Promise<void> {
  await page.getByTestId('overlay-slice').filter({ hasText: new RegExp(`^${text.replace('/', '\\/')}$`) }).waitFor();
}

async function sliceText(page: Page): Promise<string> {
  return (await page.getByTestId('overlay-slice').textContent()) ?? '';
}

describe('viewer end-to-end', { skip: CHROMIUM_SKIP_REASON }, () => {
  const session = useE2eSession();

  /** Load the app and open the demo study's first series; returns the page and its error log. */
  async function openDemo(): Promise<{ page: Page; errors: string[] }> {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await openDemoAxial(page, session.server.url);
    await nextFrame(page);
    return { page, errors };
  }

  test('study list shows the demo study; opening a series draws the first image', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    assert.ok(!page.url().includes('token='), `token should be removed from the address bar: ${page.url()}`);
    const rows = page.getByTestId('study-row');
    await rows.first().waitFor();
    const demo = rows.filter({ hasText: DEMO_PATIENT_ID });
    assert.equal(await demo.count(), 1, 'the demo study is listed');
    await demo.click();
    const thumbs = page.getByTestId('series-thumb');
    await thumbs.first().waitFor();
    assert.ok((await thumbs.count()) >= 1);
    // Selecting a study opens its first series straight away: a cold open (nothing cached yet).
    await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
    const coldMs = await page.getByTestId('viewport').getAttribute('data-first-image-ms');
    console.log(`# time to first image, cold (study click → first series drawn): ${coldMs} ms`);
    await page.waitForSelector('[data-testid=series-thumb] canvas[data-drawn=true]');
    await screenshot(page, 'e2e-1-study-selected');

    // Re-open the 24-slice axial series from its thumbnail: this is the measured "series click".
    const axial = thumbs.filter({ hasText: '24 im' });
    assert.equal(await axial.count(), 1, 'one 24-slice series');
    await axial.click();
    await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
    await waitCurrentDrawn(page);
    const ms = await page.getByTestId('viewport').getAttribute('data-first-image-ms');
    console.log(`# time to first image, warm (thumbnail click → first draw, frames cached): ${ms} ms`);
    await waitSlice(page, 'Im: 1/24');
    const stats = await canvasStats(page);
    assert.ok(stats.nonBlack > 1000, `canvas should show the image, got ${stats.nonBlack} non-black pixels`);
    const overlay = (await page.getByTestId('viewport-overlay').textContent()) ?? '';
    assert.match(overlay, /W: [-\d.]+ L: [-\d.]+/);
    assert.match(overlay, /Zoom: \d+%/);
    await screenshot(page, 'e2e-1-series-open');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('stack scroll by wheel and keys changes the slice and the pixels', async () => {
    const { page, errors } = await openDemo();
    // Start from the middle of the head, where neighbouring slices differ visibly.
    await page.getByTestId('viewport-canvas').focus();
    for (let i = 0; i < 11; i++) await page.keyboard.press('ArrowDown');
    await waitSlice(page, 'Im: 12/24');
    await waitCurrentDrawn(page);
    const before = await canvasStats(page);

    const box = (await page.getByTestId('viewport-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 3; i++) await page.mouse.wheel(0, 100);
    await waitSlice(page, 'Im: 15/24');
    await waitCurrentDrawn(page);
    const afterWheel = await canvasStats(page);
    assert.notEqual(afterWheel.hash, before.hash, 'wheel scroll should change the canvas');
    await screenshot(page, 'e2e-2-scrolled-wheel');

    await page.mouse.wheel(0, -100);
    await waitSlice(page, 'Im: 14/24');
    await page.keyboard.press('ArrowUp');
    await waitSlice(page, 'Im: 13/24');
    await page.keyboard.press('PageDown');
    await waitSlice(page, 'Im: 14/24');
    await page.keyboard.press('PageUp');
    await waitSlice(page, 'Im: 13/24');
    await page.keyboard.press('End');
    await waitSlice(page, 'Im: 24/24');
    await page.keyboard.press('ArrowDown'); // clamps at the last slice
    await nextFrame(page);
    assert.equal(await sliceText(page), 'Im: 24/24');
    await waitCurrentDrawn(page);
    const atEnd = await canvasStats(page);
    assert.notEqual(atEnd.hash, afterWheel.hash, 'End should show another slice');
    await page.keyboard.press('Home');
    await waitSlice(page, 'Im: 1/24');
    await waitCurrentDrawn(page);
    await screenshot(page, 'e2e-2-scrolled-keys-home');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('W/L drag and presets change the readout and the pixels', async () => {
    const { page, errors } = await openDemo();
    await page.getByTestId('viewport-canvas').focus();
    for (let i = 0; i < 11; i++) await page.keyboard.press('ArrowDown');
    await waitCurrentDrawn(page);
    const wl = page.getByTestId('overlay-wl');
    const wl0 = await wl.textContent();
    const px0 = await canvasStats(page);

    const box = (await page.getByTestId('viewport-canvas').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx - 120, cy + 80, { steps: 8 });
    await page.mouse.up();
    await nextFrame(page);
    const wl1 = await wl.textContent();
    const px1 = await canvasStats(page);
    assert.notEqual(wl1, wl0, 'dragging should change W/L');
    assert.notEqual(px1.hash, px0.hash, 'dragging should change the pixels');
    assert.equal(await page.getByTestId('wl-preset').inputValue(), 'custom');
    await screenshot(page, 'e2e-3-wl-drag');

    // MR: the presets are the DICOM's own window and percentile windows; CT windows (brain 80/40 …) are not offered,
    // since on MR values they turn the slice solid white.
    const offered = await page.getByTestId('wl-preset').locator('option').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.ok(!offered.includes('brain') && !offered.includes('subdural'), `no CT windows for MR: ${offered.join(',')}`);
    assert.ok(offered.includes('auto') && offered.includes('robust'), `MR windows offered: ${offered.join(',')}`);
    await page.getByTestId('wl-preset').selectOption('robust');
    await page.getByTestId('overlay-wl').filter({ hasNotText: wl1 ?? '' }).waitFor();
    await nextFrame(page);
    const px2 = await canvasStats(page);
    assert.notEqual(px2.hash, px1.hash, 'the percentile preset should change the pixels');
    assert.ok(px2.mean > 10 && px2.mean < 200, `a percentile window shows the anatomy, not a white or black slice (mean grey ${px2.mean.toFixed(1)})`);
    const wl2 = await wl.textContent();
    await screenshot(page, 'e2e-3-wl-percentile-preset');

    await page.getByTestId('viewport-canvas').focus();
    await page.keyboard.press('2'); // Full range
    await nextFrame(page);
    const wl3 = await wl.textContent();
    assert.notEqual(wl3, wl2, 'Full range is another window than 1–99 %');
    await page.keyboard.press('i'); // invert
    await nextFrame(page);
    assert.match((await wl.textContent()) ?? '', /\(inv\)/);
    const inv = await canvasStats(page);
    await page.keyboard.press(' '); // reset
    await nextFrame(page);
    assert.equal(await wl.textContent(), wl0, 'reset returns to the opening window');
    assert.notEqual((await canvasStats(page)).hash, inv.hash);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('2×2 layout: a series dragged into a viewport; scroll and W/L follow across the study', async () => {
    const { page, errors } = await openDemo();
    await page.getByTestId('layout-2x2').click();
    const cell = (i: number) => page.getByTestId(i === 0 ? 'viewport' : `viewport-${i}`);
    const sliceOf = async (i: number) => (await cell(i).getByTestId('overlay-slice').textContent()) ?? '';
    // New cells show the study's next series: COR, SAG, then AX again.
    for (const i of [1, 2, 3]) await page.waitForSelector(`[data-testid=viewport-${i}][data-current-drawn=true]`);
    assert.match((await cell(1).getByTestId('overlay-series').textContent()) ?? '', /COR/);
    assert.match((await cell(2).getByTestId('overlay-series').textContent()) ?? '', /SAG/);
    assert.match((await cell(3).getByTestId('overlay-series').textContent()) ?? '', /AX/);

    // Drag the axial series from the strip onto the top-right viewport.
    await page.getByTestId('series-thumb').filter({ hasText: '24 im' }).dragTo(cell(1));
    await cell(1).getByTestId('overlay-series').filter({ hasText: /AX/ }).waitFor();
    await page.waitForSelector('[data-testid=viewport-1][data-current-drawn=true]');
    assert.equal(await cell(1).getAttribute('data-active'), 'true', 'the drop target becomes the active viewport');

    // Scroll the top-left viewport: both other axial viewports follow it; the sagittal one does not move.
    await cell(0).getByTestId('viewport-canvas').click();
    assert.equal(await cell(0).getAttribute('data-active'), 'true');
    const sagBefore = await sliceOf(2);
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
    for (const i of [0, 1, 3]) await cell(i).getByTestId('overlay-slice').filter({ hasText: /^Im: 6\/24$/ }).waitFor();
    assert.equal(await sliceOf(2), sagBefore, 'a sagittal series does not follow an axial scroll');
    // The wheel on the top-left viewport: the same.
    const box = (await cell(0).getByTestId('viewport-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 100);
    for (const i of [0, 1, 3]) await cell(i).getByTestId('overlay-slice').filter({ hasText: /^Im: 7\/24$/ }).waitFor();

    // W/L drag on the top-left viewport: the axial ones take its window (same modality).
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 60, box.y + box.height / 2 + 40, { steps: 6 });
    await page.mouse.up();
    const wl0 = (await cell(0).getByTestId('overlay-wl').textContent()) ?? '';
    assert.match(wl0, /^W: [-\d.]+ L: [-\d.]+$/);
    await cell(1).getByTestId('overlay-wl').filter({ hasText: wl0 }).waitFor();
    await cell(3).getByTestId('overlay-wl').filter({ hasText: wl0 }).waitFor();
    await nextFrame(page);
    await screenshot(page, 'e2e-6-layout-2x2-synced');

    // Back to one viewport.
    await page.getByTestId('layout-1x1').click();
    await page.getByTestId('viewport-1').waitFor({ state: 'detached' });
    await waitCurrentDrawn(page);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('import: a DICOM file adds its study; a non-DICOM file is rejected with a typed reason', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('study-row').first().waitFor();
    const before = await page.getByTestId('study-row').count();

    const dcm = makeTestDicom({ patientName: 'E2E^IMPORT', patientId: 'E2E-0001' });
    await page.getByTestId('import-files').setInputFiles([
      { name: 'e2e.dcm', mimeType: 'application/dicom', buffer: Buffer.from(dcm.bytes) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not a DICOM file\n') },
    ]);
    const summary = page.getByTestId('import-summary');
    await summary.waitFor();
    assert.match((await summary.textContent()) ?? '', /2 files: 1 imported, 0 duplicates, 1 rejected/);
    const err = page.getByTestId('import-error');
    assert.equal(await err.count(), 1);
    assert.equal(await err.getAttribute('data-code'), 'NOT_DICOM');
    assert.match((await err.textContent()) ?? '', /notes\.txt/);

    const newRow = page.locator(`[data-testid=study-row][data-study-uid="${dcm.studyInstanceUid}"]`);
    await newRow.waitFor();
    assert.equal(await page.getByTestId('study-row').count(), before + 1);
    assert.match((await newRow.textContent()) ?? '', /E2E-0001/);

    // Search narrows the list to the new patient.
    await page.getByTestId('study-search').fill('e2e-0001');
    assert.equal(await page.getByTestId('study-row').count(), 1);
    await newRow.click();
    await page.waitForSelector('[data-testid=viewport][data-first-image-ms]');
    await waitCurrentDrawn(page);
    await waitSlice(page, 'Im: 1/1');
    assert.ok((await canvasStats(page)).nonBlack > 500);
    await screenshot(page, 'e2e-4-import');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('audit page lists import and open events, and the chain verifies intact', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('nav-audit').click();
    const rows = page.getByTestId('audit-row');
    await rows.first().waitFor();
    const codes = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-event-code')));
    const text = (await page.getByTestId('audit-table').textContent()) ?? '';
    assert.ok(codes.length >= 2, `expected audit rows, got ${codes.length}`);
    assert.match(text, /import/i, 'an import event is listed');
    assert.match(text, /accessed|open|read/i, 'a study-access (open) event is listed');

    await page.getByTestId('audit-verify').click();
    const result = page.getByTestId('audit-verify-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'true', (await result.textContent()) ?? '');
    assert.match((await result.textContent()) ?? '', /intact/i);
    await screenshot(page, 'e2e-5-audit');

    // Filter by event type: every row shown has that code.
    const firstCode = codes[0]!;
    await page.getByTestId('audit-filter-event').selectOption(firstCode);
    await page.locator(`[data-testid=audit-row]:not([data-event-code="${firstCode}"])`).first().waitFor({ state: 'detached' });
    assert.ok((await rows.count()) > 0);
    const filtered = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-event-code')));
    assert.ok(filtered.every((c) => c === firstCode), `only ${firstCode} rows: ${filtered.join(',')}`);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
