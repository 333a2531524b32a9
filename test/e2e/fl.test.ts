/**
 * End-to-end: the Federation tab against the conformance SuperLink (test/fixtures/flower-conformance; CI cannot run
 * Flower itself). The site types the SuperLink's address, a yes/no data folder, local noise and saves; the agent
 * (a worker_thread of `medfedpure serve`) connects; the SuperLink runs FedAvg rounds (train + evaluate, clipping);
 * the plot shows the rounds and ε is reported; Pause keeps the connection and takes no rounds.
 * Screenshots: test-results/screenshots/fl-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as classifier from '../../native-models/src/inference/nets/classifier.js';
import { createHttpClient } from '../../electron/common/http-client.js';
import type { ApiEvents, ApiMethods } from '../../electron/features/api.js';
import { sharedNames, toArrays } from '../../fl-agent/model/shared-layers.js';
import { DEFAULT_LOCAL_TRAINING } from '../../fl-agent/train/local-trainer.js';
import { arrayRecord, configRecord } from '../../fl-agent/protocol/records.js';
import { ConformanceSuperLink } from '../fixtures/flower-conformance/superlink.js';
import { CHROMIUM_SKIP_REASON, screenshot, watchPageErrors } from './support/chromium.js';
import { useE2eSession } from './support/session.js';

describe('Federation tab end-to-end', { skip: CHROMIUM_SKIP_REASON }, () => {
  const session = useE2eSession();
  const link = new ConformanceSuperLink();
  let dataDir = '';

  before(async () => {
    await link.start();
    dataDir = mkdtempSync(join(tmpdir(), 'mfp-e2e-fl-'));
    for (const [sub, v] of [['yes', 220], ['no', 30]] as const) {
      mkdirSync(join(dataDir, sub), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const p = new PNG({ width: 48, height: 48 });
        for (let k = 0; k < p.data.length; k += 4) { p.data[k] = p.data[k + 1] = p.data[k + 2] = (v + 7 * i + k) % 256; p.data[k + 3] = 255; }
        writeFileSync(join(dataDir, sub, `${sub}${i}.png`), PNG.sync.write(p));
      }
    }
  });
  after(() => {
    link.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('configure the SuperLink in the panel, see rounds complete in the plot, pause', { timeout: 300_000 }, async () => {
    const page = await session.context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(session.server.url);
    await page.getByTestId('nav-fl').click();
    await page.getByTestId('fl-plot-empty').waitFor();
    assert.equal(await page.getByTestId('fl-state').textContent(), 'Not connected');

    await page.getByTestId('fl-input-superlink').fill(link.address);
    await page.getByTestId('fl-input-insecure').check();
    await page.getByTestId('fl-input-data').fill(dataDir);
    await page.getByTestId('fl-input-threads').fill('1');
    await page.getByTestId('fl-input-noise').fill('0.5');
    await page.getByTestId('fl-save').click();
    await page.getByTestId('fl-saved').waitFor();
    await page.locator('[data-testid=fl-state]', { hasText: 'Connected' }).waitFor({ timeout: 60_000 });

    // the agent trains the shipped classifier's architecture: the SuperLink starts from its shared layers
    const w = classifier.init(DEFAULT_LOCAL_TRAINING.net, 0);
    const results = await link.runFedAvg({ rounds: 2, nodes: 1, arrays: toArrays(w, sharedNames(w)), config: { clipping_norm: 1.0 }, timeoutMs: 120_000 });
    assert.equal(results.length, 2);
    await page.locator('[data-testid=fl-plot][data-rounds="2"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('fl-point-accuracy').nth(1).waitFor();
    assert.equal(await page.getByTestId('fl-point-loss').count(), 2);
    assert.equal(await page.getByTestId('fl-bar-examples').count(), 2);
    assert.equal(await page.getByTestId('fl-history-row').count(), 4);
    await page.locator('[data-testid=fl-rounds-done]', { hasText: '4' }).waitFor();
    assert.match((await page.getByTestId('fl-epsilon').textContent()) ?? '', /^\d+\.\d\d/);
    assert.equal(await page.getByTestId('fl-run').textContent(), link.runId.toString());
    await screenshot(page, 'fl-rounds');

    await page.getByTestId('fl-pause').click();
    await page.locator('[data-testid=fl-state]', { hasText: 'Paused' }).waitFor({ timeout: 20_000 });
    await page.getByTestId('fl-resume').waitFor();
    const node = link.activeNodes()[0];
    const id = link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(toArrays(w, sharedNames(w)))], ['config', configRecord({ 'server-round': 3n })]]), { round: 3 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(link.replies.has(id), false, 'a paused site takes no rounds');
    assert.equal(await page.getByTestId('fl-history-row').count(), 4);
    await screenshot(page, 'fl-paused');

    const api = createHttpClient<ApiMethods, ApiEvents>(session.server.origin, session.server.token);
    const st = await api.invoke('fl.status', {});
    assert.equal(st.paused, true);
    assert.equal(st.state, 'paused');
    const audit = await api.invoke('audit.list', { limit: 200 });
    assert.ok(audit.events.some((e) => e.userId === 'fl-agent' && e.details.kind === 'fl.round'));
    assert.ok(audit.events.some((e) => e.details.feature === 'fl' && e.details.action === 'pause' && e.userId !== 'fl-agent'));
    assert.deepEqual(errors, []);
    await page.close();
  });
});
