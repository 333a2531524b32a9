/** Shared set-up for the FL agent's integration tests: a tiny classifier, synthetic site data, an agent factory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as classifier from '../../../native-models/src/inference/nets/classifier.js';
import { ImageDataset } from '../../../native-models/src/core/train/dataset.js';
import { Rng } from '../../../native-models/src/core/rng.js';
import { FlAgent, type AgentOptions } from '../../../fl-agent/agent.js';
import { ClassifierClientApp } from '../../../fl-agent/client-app.js';
import { DEFAULT_POLICY, type SitePolicy } from '../../../fl-agent/site/policy.js';
import { MemoryAuditSink } from '../../../fl-agent/site/audit.js';
import { splitByGroup, type SiteData } from '../../../fl-agent/site/data.js';
import { sharedNames, toArrays } from '../../../fl-agent/model/shared-layers.js';

export const TINY: classifier.ClassifierConfig = { size: 16, width: 4, groups: 2, classes: 2 };

/** n synthetic 16-px images: class 1 has a bright blob. */
export function siteData(n: number, seed: number): SiteData {
  const rng = new Rng(seed);
  const ss = TINY.size * TINY.size;
  const images = new Float32Array(n * ss);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < ss; p++) images[i * ss + p] = 0.2 * rng.next();
    if (labels[i]) for (let y = 5; y < 10; y++) for (let x = 5; x < 10; x++) images[i * ss + y * TINY.size + x] = 0.9;
  }
  const keys = Array.from({ length: n }, (_, i) => `g${seed}-${i}`);
  const dataset = new ImageDataset('synthetic', TINY.size, images, labels, Int32Array.from(keys, (_, i) => i), keys, { source: 'synthetic', groupSource: 'one per image', fingerprint: '' });
  return { dataset, ...splitByGroup(keys), skipped: [], description: `${n} synthetic images` };
}

/** The shared arrays a server would start from. */
export function initialArrays(seed = 1) {
  const w = classifier.init(TINY, seed);
  return toArrays(w, sharedNames(w));
}

export interface TestAgent {
  agent: FlAgent;
  app: ClassifierClientApp;
  audit: MemoryAuditSink;
  dir: string;
  done: Promise<void>;
  close(): Promise<void>;
}

export async function startAgent(address: string, opts: { policy?: Partial<SitePolicy>; seed?: number; agent?: Partial<AgentOptions>; dir?: string } = {}): Promise<TestAgent> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'fl-agent-')));
  const audit = new MemoryAuditSink();
  const data = siteData(10, opts.seed ?? 7);
  const app = new ClassifierClientApp({
    stateDir: dir, data: async () => data,
    training: { net: TINY, threads: 1, batch: 4, epochs: 1, augment: null, maxSeconds: 60 },
    initSeed: opts.seed ?? 7,
  });
  const policy: SitePolicy = { ...DEFAULT_POLICY, allowedSuperlinks: [address], maxThreads: 1, ...opts.policy };
  const agent = new FlAgent({
    superlink: address, insecure: true, stateDir: dir, policy, audit, app,
    pollIntervalMs: 50, callTimeoutMs: 2000, backoff: { initialMs: 100, maxMs: 500 }, lingerMs: 0, ...opts.agent,
  });
  const done = agent.start();
  return {
    agent, app, audit, dir, done,
    async close() {
      await agent.stop();
      await app.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
