/**
 * End-to-end: the radiologist decides, the compliance officer reviews. On a fresh install (no accounts):
 *   1. the first visitor creates the administrator; the admin adds a radiologist and a compliance officer;
 *   2. the radiologist signs in, scans demo slice 1 (flagged by the committed detector: out of its training
 *      distribution), and overrides the AI label with a reason;
 *   3. the compliance officer signs in, filters the log to that study by a Study UID prefix, finds the inference,
 *      the Security Alert and the override with the radiologist's name, reads the override's fields, exports ATNA
 *      (each message validated against the DICOM PS3.15 schema with xmllint), FHIR R5 (the R5 structure check) and
 *      CSV, and sees the chain verified.
 * Screenshots of each screen: test-results/screenshots/e2e-clinical-*.png.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { checkFhirR5AuditBundle } from '../../electron/features/audit/exporters.js';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { DEMO_PATIENT_ID, signIn, useE2eSession } from './support/session.js';

const ENGINE_TIMEOUT_MS = 180_000;
const SCHEMA = resolve(import.meta.dirname, '../../electron/features/audit/schema/dicom-audit-message.rng');
const HAVE_XMLLINT = spawnSync('xmllint', ['--version']).status === 0;

const ADMIN = { username: 'ada', displayName: 'Ada Admin', password: 'admin password one' };
const RAD = { username: 'dr.rita', displayName: 'Dr Rita Rad', password: 'radiologist password one' };
const COMP = { username: 'colin', displayName: 'Colin Compliance', password: 'compliance password one' };

async function signOut(page: Page): Promise<void> {
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-in-form').waitFor();
}

async function download(page: Page, testId: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const file = join(mkdtempSync(join(tmpdir(), 'mfp-dl-')), d.suggestedFilename());
  await d.saveAs(file);
  return file;
}

describe('users → decision → compliance review, end to end', { skip: CHROMIUM_SKIP_REASON }, () => {
  const session = useE2eSession({ users: [] });
  let studyUid = '';

  test('first run: the administrator is created, then adds a radiologist and a compliance officer', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('setup-form').waitFor();
    await page.getByTestId('setup-username').fill(ADMIN.username);
    await page.getByTestId('setup-display-name').fill(ADMIN.displayName);
    await page.getByTestId('setup-password').fill(ADMIN.password);
    await page.getByTestId('setup-repeat').fill(ADMIN.password);
    await screenshot(page, 'e2e-clinical-1-setup');
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('users-page').waitFor();
    assert.equal(await page.getByTestId('who').getAttribute('data-role'), 'admin');
    assert.equal(await page.getByTestId('nav-viewer').count(), 0, 'an admin reads no images');

    for (const [u, role] of [[RAD, 'radiologist'], [COMP, 'compliance']] as const) {
      await page.getByTestId('add-username').fill(u.username);
      await page.getByTestId('add-display-name').fill(u.displayName);
      await page.getByTestId('add-role').selectOption(role);
      await page.getByTestId('add-password').fill(u.password);
      await page.getByTestId('add-submit').click();
      await page.locator(`[data-testid=user-row][data-username="${u.username}"]`).waitFor();
    }
    assert.equal(await page.getByTestId('user-row').count(), 3);
    await screenshot(page, 'e2e-clinical-2-accounts');
    await signOut(page);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the radiologist scans a flagged slice and overrides the AI label with a reason', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('sign-in-username').fill(RAD.username);
    await page.getByTestId('sign-in-password').fill('not the password');
    await page.getByTestId('sign-in-submit').click();
    assert.match((await page.getByTestId('sign-in-error').textContent()) ?? '', /Wrong username or password/);
    errors.splice(0); // the browser logs the refused sign-in's 401
    await signIn(page, RAD);

    const row = page.getByTestId('study-row').filter({ hasText: DEMO_PATIENT_ID });
    await row.waitFor();
    studyUid = (await row.getAttribute('data-study-uid'))!;
    await row.click();
    await page.getByTestId('series-thumb').filter({ hasText: '24 im' }).click();
    await page.waitForSelector('[data-testid=viewport][data-current-drawn=true]');
    await page.waitForSelector('[data-testid=ai-engine][data-ready=true]', { timeout: ENGINE_TIMEOUT_MS });
    await page.getByTestId('ai-scan-slice').click();
    const result = page.getByTestId('ai-result');
    await result.waitFor({ timeout: ENGINE_TIMEOUT_MS });
    assert.equal(await result.getAttribute('data-flagged'), 'true', 'demo slice 1 is flagged by the committed detector');
    const aiLabel = (await result.getAttribute('data-label'))!;
    assert.equal(await page.getByTestId('decision').getAttribute('data-state'), 'unreviewed', 'never auto-accepted');
    assert.match((await page.getByTestId('decision-status').textContent()) ?? '', /not accepted until you decide/);

    await page.getByTestId('decision-override').click();
    await page.getByTestId('decision-reason').fill('Flagged input; the purified image shows no mass: reading it myself');
    await page.getByTestId('decision-confirm').click();
    await page.locator('[data-testid=decision][data-state=override]').waitFor();
    const status = (await page.getByTestId('decision-status').textContent()) ?? '';
    assert.match(status, new RegExp(`Overridden: ${aiLabel === 'tumour' ? 'Tumour → No tumour' : 'No tumour → Tumour'}`));
    assert.match(status, /Dr Rita Rad/);
    await screenshot(page, 'e2e-clinical-3-override');
    await signOut(page);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the compliance officer filters to the study, sees scan, alert and override by name, exports three formats; the chain verifies', async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await signIn(page, COMP);
    await page.getByTestId('audit-table').waitFor();
    assert.equal(await page.getByTestId('nav-viewer').count(), 0);

    // A Study UID prefix, as a reviewer types the start of a long UID.
    const prefix = studyUid.slice(0, 24);
    await page.getByTestId('audit-filter-study').fill(prefix);
    await page.getByTestId('audit-apply').click();
    const dec = page.locator('[data-testid=audit-row][data-event-type=MFP-DEC]');
    await dec.waitFor();
    const types = await page.getByTestId('audit-row').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-event-code')}/${e.getAttribute('data-event-type')}/${e.getAttribute('data-user')}`));
    for (const t of ['110100/MFP-INF/dr.rita', '110113/MFP-ADV/dr.rita', '110100/MFP-DEC/dr.rita', '110103//dr.rita']) assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
    assert.equal(await page.getByTestId('audit-per-day').getAttribute('data-days'), '1', 'events per day, by type');
    await dec.click();
    const detail = page.getByTestId('audit-detail');
    assert.equal(await detail.locator('[data-field=decision]').textContent(), 'override');
    assert.match((await detail.locator('[data-field=reason]').textContent()) ?? '', /purified image shows no mass/);
    await screenshot(page, 'e2e-clinical-4-review');

    const atna = readFileSync(await download(page, 'audit-export-atna'), 'utf8');
    const fhir = JSON.parse(readFileSync(await download(page, 'audit-export-fhir'), 'utf8'));
    const csv = readFileSync(await download(page, 'audit-export-csv'), 'utf8');
    assert.deepEqual(checkFhirR5AuditBundle(fhir), []);
    const n = fhir.entry.length;
    assert.ok(n >= 4);
    const messages = atna.match(/<AuditMessage>[\s\S]*?<\/AuditMessage>/g) ?? [];
    assert.equal(messages.length, n);
    assert.equal(csv.trimEnd().split('\r\n').length, n + 1);
    assert.match(csv, /dr\.rita,radiologist/);
    if (HAVE_XMLLINT) {
      const dir = mkdtempSync(join(tmpdir(), 'mfp-atna-e2e-'));
      messages.forEach((m, i) => writeFileSync(join(dir, `${i}.xml`), m));
      const r = spawnSync('xmllint', ['--noout', '--relaxng', SCHEMA, ...messages.map((_, i) => join(dir, `${i}.xml`))], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    await page.getByTestId('audit-exported').waitFor();

    await page.getByTestId('audit-verify').click();
    await page.locator('[data-testid=audit-verify-result][data-ok=true]').waitFor();
    // Viewing and exporting were audited under the officer's name.
    await page.getByTestId('audit-filter-study').fill('');
    await page.getByTestId('audit-filter-event').selectOption('110106');
    await page.locator('[data-testid=audit-row][data-event-code="110106"]').nth(2).waitFor();
    assert.deepEqual(new Set(await page.getByTestId('audit-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-user')))), new Set(['colin']));
    await screenshot(page, 'e2e-clinical-5-exports');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
