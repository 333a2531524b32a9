/**
 * The agent as the app runs it: in a worker_thread over port RPC (status/round/audit events, pause through the policy,
 * confirmed cases pushed by the parent), and headless through `flCommand(['join', …])` with a progress line per round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as classifier from '../../../native-models/src/inference/nets/classifier.js';
import { ConformanceSuperLink } from '../../fixtures/flower-conformance/superlink.js';
import { startFlWorker } from '../../../fl-agent/worker/worker-host.js';
import { MemoryAuditSink } from '../../../fl-agent/site/audit.js';
import { DEFAULT_POLICY } from '../../../fl-agent/site/policy.js';
import { flCommand } from '../../../fl-agent/cli.js';
import { sharedNames, toArrays } from '../../../fl-agent/model/shared-layers.js';
import { DEFAULT_LOCAL_TRAINING } from '../../../fl-agent/train/local-trainer.js';
import type { ConfirmedCase } from '../../../fl-agent/site/data.js';
import type { AgentStatus, RoundEntry } from '../../../fl-agent/agent.js';
import { TINY, initialArrays, waitFor } from './support.js';

test('worker: start, status and round events, audit events reach the parent sink, confirmed cases, pause, stop', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const dir = await mkdtemp(join(tmpdir(), 'fl-worker-'));
  const audit = new MemoryAuditSink();
  const states: string[] = [];
  const rounds: RoundEntry[] = [];
  const w = await startFlWorker({
    audit,
    onEvent: (name, p) => {
      if (name === 'fl.status') states.push((p as AgentStatus).state);
      if (name === 'fl.round') rounds.push(p as RoundEntry);
    },
  });
  try {
    const cases: ConfirmedCase[] = Array.from({ length: 8 }, (_, i) => ({
      caseId: `c${i}`, label: (i % 2) as 0 | 1, confirmation: i % 3 ? 'accepted' : 'corrected', confirmedBy: 'dr-a', confirmedAt: '2026-12-01T10:00:00Z',
      groupKey: `p${i}`, pixels: new Float32Array(16 * 16).fill(i % 2 ? 0.8 : 0.1), side: 16,
    }));
    const snap = await w.client.request('fl.start', {
      superlink: link.address, insecure: true, stateDir: dir, data: { kind: 'confirmed-cases' },
      policy: { ...DEFAULT_POLICY, allowedSuperlinks: [link.address], maxThreads: 1 },
      training: { net: TINY, threads: 1, batch: 4, augment: null }, pollIntervalMs: 50, callTimeoutMs: 5000,
    });
    assert.equal(snap.privacy.releases, 0);
    assert.deepEqual(await w.client.request('fl.setConfirmedCases', { cases: [...cases, { ...cases[0], caseId: 'x', confirmation: 'ai' as never }] }), { accepted: 8, skipped: 1 });
    const results = await link.runFedAvg({ rounds: 1, nodes: 1, arrays: initialArrays(), timeoutMs: 60_000 });
    assert.ok(results[0].train[0].numExamples > 0n);
    await waitFor(() => rounds.length === 2);
    assert.ok(states.includes('connected') && states.includes('training') && states.includes('evaluating'));
    assert.equal(audit.events.filter((e) => e.kind === 'fl.round').length, 2);
    const s = await w.client.request('fl.status', {});
    assert.equal(s.status.roundsDone, 2);
    assert.equal(s.history.length, 2);
    const paused = await w.client.request('fl.setPolicy', { ...s.policy!, paused: true });
    assert.equal(paused.policy!.paused, true);
    await waitFor(() => states.at(-1) === 'paused');
    const stopped = await w.client.request('fl.stop', {});
    assert.equal(stopped.status.state, 'stopped');
  } finally {
    await w.close();
    link.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('cli: fl join trains on a yes/no folder and prints one line per round; usage errors exit 2', async () => {
  assert.equal(await flCommand(['join', '--data', '/nowhere']), 2);
  assert.equal(await flCommand(['join', '--superlink', 'x:1', '--data', '/d', '--threads', '0']), 2);
  assert.equal(await flCommand(['frobnicate']), 2);

  const link = new ConformanceSuperLink();
  await link.start();
  const dir = await mkdtemp(join(tmpdir(), 'fl-cli-'));
  try {
    for (const [sub, v] of [['yes', 220], ['no', 30]] as const) {
      await mkdir(join(dir, 'data', sub), { recursive: true });
      for (let i = 0; i < 5; i++) {
        const p = new PNG({ width: 40, height: 40 });
        for (let k = 0; k < p.data.length; k += 4) { p.data[k] = p.data[k + 1] = p.data[k + 2] = (v + 7 * i + k) % 256; p.data[k + 3] = 255; }
        await writeFile(join(dir, 'data', sub, `${sub}${i}.png`), PNG.sync.write(p));
      }
    }
    // the CLI trains the default classifier: the server starts from its shared layers
    const w = classifier.init(DEFAULT_LOCAL_TRAINING.net, 0);
    const arrays = toArrays(w, sharedNames(w));
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; }) as typeof process.stdout.write;
    let code: number;
    try {
      const run = flCommand(['join', '--superlink', link.address, '--insecure', '--data', join(dir, 'data'), '--state-dir', join(dir, 'state'),
        '--threads', '1', '--max-messages', '2', '--json']);
      await link.runFedAvg({ rounds: 1, nodes: 1, arrays, timeoutMs: 120_000 });
      code = await run;
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0);
    const events = lines.join('').trim().split('\n').map((l) => JSON.parse(l));
    const roundEvents = events.filter((e) => e.event === 'round');
    assert.deepEqual(roundEvents.map((e) => [e.kind, e.outcome]), [['train', 'ok'], ['evaluate', 'ok']]);
    assert.equal(events.at(-1).event, 'end');
    const auditLines = (await readFile(join(dir, 'state', 'fl-audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(auditLines.filter((e) => e.kind === 'fl.round').length === 2);
  } finally {
    link.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
