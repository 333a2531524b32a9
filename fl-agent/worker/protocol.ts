/**
 * The FL agent's typed method table over port RPC (native-models/src/core/port-rpc.ts), shared by its hosts — a
 * worker_thread (browser host, CLI, tests: worker-entry.ts) and an Electron utilityProcess (utility-entry.ts) — and by
 * the app's main process. Types only.
 *
 * Direction of data. Requests go parent → agent. The agent's outputs are events: `fl.status` (AgentStatus),
 * `fl.round` (RoundEntry, one per message handled) and `fl.audit` (AuditEvent: the parent appends them to its
 * AuditSink, so the audit store keeps a single writer). Confirmed cases live in the parent's study store, so the
 * parent pushes a snapshot with `fl.setConfirmedCases` whenever the table changes; the agent never reads the store.
 */
import type { AgentStatus, RoundEntry } from '../agent.js';
import type { SitePolicy } from '../site/policy.js';
import type { ConfirmedCase } from '../site/data.js';
import type { LocalTrainingOptions } from '../train/local-trainer.js';
import type { Personalisation } from '../model/shared-layers.js';

export interface FlAgentConfig {
  /** host:port of the federation's SuperLink. */
  superlink: string;
  /** PEM text of the root CA for TLS; absent: system roots. */
  rootCaPem?: string;
  insecure?: boolean;
  /** Folder for node.key, the local model and the privacy ledger. */
  stateDir: string;
  policy: SitePolicy;
  /** Where cases come from: a yes/no folder, or the confirmed cases the parent pushes. */
  data: { kind: 'folder'; dir: string } | { kind: 'confirmed-cases' };
  training?: Partial<LocalTrainingOptions>;
  personalisation?: Personalisation;
  heartbeatIntervalS?: number;
  pollIntervalMs?: number;
  callTimeoutMs?: number;
}

export interface FlSnapshot {
  status: AgentStatus;
  history: RoundEntry[];
  policy: SitePolicy | null;
  privacy: { epsilon: number | null; delta: number | null; rho: number; releases: number };
}

export type FlMethods = {
  'fl.start': { req: FlAgentConfig; res: FlSnapshot };
  'fl.status': { req: Record<string, never>; res: FlSnapshot };
  'fl.setPolicy': { req: SitePolicy; res: FlSnapshot };
  'fl.setConfirmedCases': { req: { cases: ConfirmedCase[] }; res: { accepted: number; skipped: number } };
  'fl.stop': { req: Record<string, never>; res: FlSnapshot };
};

export type FlEventName = 'fl.status' | 'fl.round' | 'fl.audit' | 'fl.warning';
