/**
 * The `fl` feature against the conformance SuperLink (test/fixtures/flower-conformance): the agent runs in a
 * worker_thread as in the browser host, driven through the app's router (validated requests). Saving the settings
 * starts it; `fl.status` events follow the connection; a FedAvg round (train + evaluate, clipping and local noise)
 * lands in `fl.history` with clip norm, noise and ε; every agent row in the audit log names the system actor, the
 * settings change names the user; pause keeps the connection but takes no rounds; settings and history survive a
 * restart; opt-out stops the agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ConformanceSuperLink } from '../../fixtures/flower-conformance/superlink.js';
import { arrayRecord, configRecord } from '../../../fl-agent/protocol/records.js';
import { DEFAULT_POLICY } from '../../../fl-agent/site/policy.js';
import { createRouter, createServices } from '../../../electron/features/node.js';
import { createFlService, workerFlLauncher } from '../../../electron/features/fl/service.js';
import { EventBus } from '../../../electron/node/services/event-bus.js';
import type { FlRound, FlSettings, FlStatus } from '../../../electron/features/api.js';
import { TINY, initialArrays, waitFor } from '../fl-agent/support.js';

async function yesNoFolder(dir: string): Promise<void> {
  for (const [sub, v] of [['yes', 220], ['no', 30]] as const) {
    await mkdir(join(dir, sub), { recursive: true });
    for (let i = 0; i < 5; i++) {
      const p = new PNG({ width: 24, height: 24 });
      for (let k = 0; k < p.data.length; k += 4) { p.data[k] = p.data[k + 1] = p.data[k + 2] = (v + 7 * i + k) % 256; p.data[k + 3] = 255; }
      await writeFile(join(dir, sub, `${sub}${i}.png`), PNG.sync.write(p));
    }
  }
}

test('fl feature: settings start the agent, a round reaches history and audit, pause takes no rounds, restart keeps settings', { timeout: 120_000 }, async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'fl-feature-'));
  await yesNoFolder(join(dataDir, 'cases'));
  const services = createServices({
    dataDir, host: 'browser', auditLifecycle: false, user: { id: 'dr-admin', role: 'admin' },
    flAgent: workerFlLauncher(),
    flOptions: { training: { net: TINY, threads: 1, batch: 4, augment: null }, agent: { pollIntervalMs: 50, callTimeoutMs: 5000 } },
  });
  const router = createRouter(services);
  const statuses: FlStatus[] = [];
  const rounds: FlRound[] = [];
  services.events.on('fl.status', (s) => statuses.push(s));
  services.events.on('fl.round', (r) => rounds.push(r));
  try {
    const idle = (await router.dispatch('fl.status', {})) as FlStatus;
    assert.equal(idle.running, false);
    assert.equal(idle.state, 'idle');
    // the contract refuses a malformed policy before anything runs
    await assert.rejects(router.dispatch('fl.saveSettings', { superlink: 'no-port', insecure: true, policy: DEFAULT_POLICY }), /HOST:PORT/);

    const settings: FlSettings = {
      superlink: link.address, insecure: true, dataFolder: join(dataDir, 'cases'),
      policy: { ...DEFAULT_POLICY, allowedSuperlinks: [link.address], maxThreads: 1, privacy: { ...DEFAULT_POLICY.privacy, noiseMultiplier: 0.5 } },
    };
    await router.dispatch('fl.saveSettings', settings);
    await link.waitForNodes(1, 30_000);
    await waitFor(() => statuses.some((s) => s.state === 'connected' && s.running && s.nodeId !== null), 30_000);

    const results = await link.runFedAvg({ rounds: 1, nodes: 1, arrays: initialArrays(), config: { clipping_norm: 1.0 }, timeoutMs: 60_000 });
    assert.ok(results[0].train[0].numExamples > 0n);
    await waitFor(() => rounds.length === 2, 30_000);
    const history = (await router.dispatch('fl.history', {})) as FlRound[];
    assert.deepEqual(history.map((r) => [r.kind, r.outcome, r.round]), [['train', 'ok', '1'], ['evaluate', 'ok', '1']]);
    const train = history[0];
    assert.ok(train.examples > 0 && train.loss !== null && train.accuracy !== null && train.durationS > 0);
    assert.equal(train.clippingNorm, 1);
    assert.equal(train.noiseMultiplier, 0.5);
    assert.ok(train.updateNorm !== null && train.epsilon !== null && train.epsilon > 0, JSON.stringify(train));
    assert.equal(history[0].runId, link.runId.toString());
    assert.ok(statuses.some((s) => s.state === 'training') && statuses.some((s) => s.state === 'evaluating'));
    await waitFor(() => ((services.fl.status().privacy.releases) ?? 0) > 0);
    const st = (await router.dispatch('fl.status', {})) as FlStatus;
    assert.equal(st.roundsDone, 2);
    assert.ok(st.privacy.epsilon !== null && st.privacy.epsilon > 0);

    // audit: agent rows name the system actor, the settings change names the user who made it
    const rows = services.audit.list({ limit: 500 }).events;
    const agentRows = rows.filter((e) => e.userId === 'fl-agent');
    assert.ok(agentRows.length >= 4);
    assert.ok(agentRows.every((e) => e.userRole === 'system' && e.workstation === services.actor.workstation));
    const roundRows = agentRows.filter((e) => e.details.kind === 'fl.round');
    assert.equal(roundRows.length, 2);
    assert.ok(roundRows.every((e) => e.eventId.code === '110106' && typeof e.details.receivedSha256 === 'string'));
    assert.equal(typeof roundRows.find((e) => e.details.messageType === 'train')!.details.sentSha256, 'string');
    const cfgRows = rows.filter((e) => e.eventTypeCode?.code === '110131' && e.details.feature === 'fl');
    assert.equal(cfgRows.length, 1);
    assert.equal(cfgRows[0].userId, 'dr-admin');
    assert.ok('superlink' in (cfgRows[0].details.changes as object));

    // pause: the connection stays, no round is taken
    const paused = (await router.dispatch('fl.pause', {})) as FlStatus;
    assert.equal(paused.paused, true);
    await waitFor(() => statuses.at(-1)?.state === 'paused', 10_000);
    const node = link.activeNodes()[0];
    const id = link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(initialArrays())], ['config', configRecord({ 'server-round': 2n })]]), { round: 2 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(link.replies.has(id), false);
    assert.equal(rounds.length, 2);
    assert.equal(link.activeNodes().length, 1, 'paused keeps the connection');
    assert.ok(services.audit.list({ limit: 500 }).events.some((e) => e.userId === 'dr-admin' && e.details.action === 'pause'));
    // resume: the waiting message is taken
    await router.dispatch('fl.resume', {});
    await link.waitReply(id, 60_000);
    await waitFor(() => rounds.length === 3, 30_000);

    // persisted owner-only; another service on the same folder (the next start) reads the settings and history
    const file = join(dataDir, 'fl', 'settings.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).superlink, link.address);
    const again = createFlService({ dataDir, audit: services.audit, actor: services.actor, events: new EventBus() });
    assert.deepEqual(again.settings(), { ...settings, policy: { ...settings.policy, paused: false } });
    assert.equal(again.history().length, 3);
    await again.close();

    // opt-out: the agent leaves and its process ends
    const out = (await router.dispatch('fl.optOut', {})) as FlStatus;
    assert.equal(out.optedOut, true);
    assert.equal(out.running, false);
    assert.equal(link.activeNodes().length, 0);
  } finally {
    await services.fl.close();
    services.close();
    link.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
