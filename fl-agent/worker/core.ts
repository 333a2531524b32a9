/**
 * The FL agent's request handlers, independent of the host (worker_thread or Electron utilityProcess): one agent at a
 * time, built from a serializable FlAgentConfig; its status, rounds and audit events forwarded through `emit`.
 */
import type { RpcHandlers } from '../../native-models/src/core/port-rpc.js';
import { FlAgent } from '../agent.js';
import { ClassifierClientApp } from '../client-app.js';
import { FlError } from '../protocol/errors.js';
import { fromConfirmedCases, fromYesNoFolder, type ConfirmedCase } from '../site/data.js';
import { DEFAULT_LOCAL_TRAINING } from '../train/local-trainer.js';
import type { FlMethods, FlSnapshot, FlEventName } from './protocol.js';

export function flHandlers(emit: (name: FlEventName, payload: unknown) => void): RpcHandlers<FlMethods> {
  let agent: FlAgent | null = null;
  let app: ClassifierClientApp | null = null;
  let cases: ConfirmedCase[] = [];
  let size = DEFAULT_LOCAL_TRAINING.net.size;

  const snapshot = (): FlSnapshot => ({
    status: agent?.getStatus() ?? { state: 'idle', superlink: '', nodeId: null, runId: null, round: null, roundsDone: 0, lastError: null, epsilon: null },
    history: agent?.getHistory() ?? [],
    policy: agent?.getPolicy() ?? null,
    privacy: {
      epsilon: agent?.getStatus().epsilon ?? null,
      delta: agent?.getPolicy().privacy.delta ?? null,
      rho: app?.accountant.rho ?? 0,
      releases: app?.accountant.releases ?? 0,
    },
  });

  return {
    'fl.start': async (cfg) => {
      if (agent && agent.getStatus().state !== 'stopped' && agent.getStatus().state !== 'refused') throw new FlError('FL_BAD_ARGUMENT', 'the agent is already running');
      await app?.close(); // a previous, stopped agent's sessions
      const training = { ...DEFAULT_LOCAL_TRAINING, ...cfg.training };
      size = training.net.size;
      app = new ClassifierClientApp({
        stateDir: cfg.stateDir,
        training,
        personalisation: cfg.personalisation,
        data: cfg.data.kind === 'folder' ? () => fromYesNoFolder((cfg.data as { dir: string }).dir, size) : () => fromConfirmedCases({ list: async () => cases }, size),
      });
      await app.model(); // load the local model and privacy ledger now, so the snapshot is complete
      agent = new FlAgent({
        superlink: cfg.superlink, rootCa: cfg.rootCaPem ? new TextEncoder().encode(cfg.rootCaPem) : undefined, insecure: cfg.insecure,
        stateDir: cfg.stateDir, policy: cfg.policy, app,
        audit: { append: (e) => emit('fl.audit', e) },
        heartbeatIntervalS: cfg.heartbeatIntervalS, pollIntervalMs: cfg.pollIntervalMs, callTimeoutMs: cfg.callTimeoutMs,
      });
      agent.on('status', (s) => emit('fl.status', s));
      agent.on('round', (r) => emit('fl.round', r));
      agent.on('warning', (w) => emit('fl.warning', w));
      void agent.start().catch((e) => emit('fl.warning', `agent stopped: ${(e as Error).message}`));
      return snapshot();
    },
    'fl.status': () => snapshot(),
    'fl.setPolicy': (p) => {
      if (!agent) throw new FlError('FL_BAD_ARGUMENT', 'the agent is not running');
      agent.setPolicy(p);
      return snapshot();
    },
    'fl.setConfirmedCases': async ({ cases: next }) => {
      if (!Array.isArray(next)) throw new FlError('FL_BAD_ARGUMENT', 'cases must be a list');
      cases = next;
      app?.invalidateData(); // the next round trains on the new snapshot
      const site = await fromConfirmedCases({ list: async () => next }, size);
      return { accepted: site.dataset.count, skipped: site.skipped.length };
    },
    'fl.stop': async () => {
      await agent?.stop();
      await app?.close();
      return snapshot();
    },
  };
}
