/**
 * The FL feature's service: runs the FL agent (fl-agent/, a Flower Fleet API client) as a background process of the
 * app, keeps the site's settings, the round history and the status the UI shows.
 *
 * Process. The agent never runs in this process: a launcher starts it — in the browser host a worker_thread
 * (fl-agent/worker/worker-host.ts, `workerFlLauncher`), in Electron a utilityProcess (electron/main/fl-agent-host.ts,
 * fl-agent/worker/utility-entry.ts) — and both speak the port-RPC table of fl-agent/worker/protocol.ts. Without a
 * launcher (one-shot CLI commands, most tests) settings can be read and saved but the agent does not run.
 * The agent runs while a SuperLink is configured and the site has not opted out; a change of address, TLS or data
 * source restarts it, a change of policy (pause, schedule, privacy…) is handed to the running agent.
 *
 * Audit (one writer: the app's audit store). The agent's own events (connected, every round with the hashes of what
 * was received and sent, refusals, security alerts) arrive as `fl.audit` and are appended with the system actor
 * (user "fl-agent", role "system", this workstation): the agent acts for the site, not for whoever is signed in.
 * Changes of the settings, pause, resume and opt-out are audited with the actor who made them (DCM 110113 Security
 * Alert / 110131 Software Configuration), naming what changed.
 *
 * Files (dataDir/fl/, owner-only): settings.json (written atomically), history.jsonl (one round per line, the last
 * 1000 kept in memory), and the agent's own state (node.key, local model, privacy ledger).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../common/api-error.js';
import type { FeatureHandlers } from '../../node/router/router.js';
import type { EventSink } from '../../node/services/event-bus.js';
import type { AuditStore } from '../audit/audit-store.js';
import { EVENT_TYPE } from '../audit/codes.js';
import { securityAlert, type AuditActor } from '../audit/events.js';
import type { AgentStatus, RoundEntry } from '../../../fl-agent/agent.js';
import type { AuditEvent as FlAuditEvent } from '../../../fl-agent/site/audit.js';
import { checkPolicy, DEFAULT_POLICY, type SitePolicy } from '../../../fl-agent/site/policy.js';
import type { FlAgentConfig, FlMethods, FlSnapshot } from '../../../fl-agent/worker/protocol.js';
import type { LocalTrainingOptions } from '../../../fl-agent/train/local-trainer.js';
import type { PortRpcClient } from '../../../native-models/src/core/port-rpc.js';
import { FL_SETTINGS, type flApi, type FlRound, type FlSettings, type FlSitePolicy, type FlStatus } from './api.js';

// The contract's copies of fl-agent's types must stay assignable both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _policySame: Same<FlSitePolicy, SitePolicy> = true;
const _stateSame: Same<FlStatus['state'], AgentStatus['state']> = true;
void _policySame;
void _stateSame;

/** The agent process as the service sees it: a port-RPC client over fl-agent/worker/protocol.ts, and a way to end it. */
export interface FlAgentProcess {
  client: Pick<PortRpcClient<FlMethods>, 'request'>;
  /** Stops the agent (it stays online a few seconds after its last reply, then deactivates) and ends the process. */
  close(): Promise<void>;
}

/** Starts the agent's process; `onEvent` receives its events (fl.status, fl.round, fl.audit, fl.warning). */
export type FlAgentLauncher = (onEvent: (name: string, payload: unknown) => void) => Promise<FlAgentProcess>;

/** The browser host's (and the tests') launcher: the agent in a worker_thread, loaded on first use. */
export function workerFlLauncher(): FlAgentLauncher {
  return async (onEvent) => {
    const { startFlWorker } = await import('../../../fl-agent/worker/worker-host.js');
    // fl.audit is appended by the service (onEvent), not by the worker host's sink
    const w = await startFlWorker({ audit: { append: () => undefined }, onEvent });
    return { client: w.client, close: () => w.close() };
  };
}

type FlEvents = { 'fl.status': FlStatus; 'fl.round': FlRound };

export interface FlServiceDeps {
  dataDir: string;
  audit: AuditStore;
  actor: AuditActor;
  events: EventSink<FlEvents>;
  /** How the agent process is started; absent: the agent does not run in this host. */
  launcher?: FlAgentLauncher;
  /** Local training options handed to the agent (tests: a tiny network). */
  training?: Partial<LocalTrainingOptions>;
  /** Agent timing (tests: fast polling). */
  agent?: Pick<FlAgentConfig, 'pollIntervalMs' | 'callTimeoutMs' | 'heartbeatIntervalS'>;
}

export interface FlService {
  readonly handlers: FeatureHandlers<typeof flApi>;
  status(): FlStatus;
  history(limit?: number): FlRound[];
  settings(): FlSettings;
  saveSettings(next: FlSettings, actor?: AuditActor): Promise<FlSettings>;
  /** Starts the agent if the stored settings ask for it (the app's start; a no-op without a launcher). */
  start(): Promise<void>;
  /** Stops the agent and ends its process; waits for its last audit events. Idempotent. */
  close(): Promise<void>;
}

const MAX_HISTORY = 1000;
export const FL_SYSTEM_USER = { userId: 'fl-agent', userRole: 'system' } as const;

export function defaultFlSettings(): FlSettings {
  return { superlink: '', insecure: false, policy: structuredClone(DEFAULT_POLICY) };
}

const IDLE_STATUS: AgentStatus = { state: 'idle', superlink: '', nodeId: null, runId: null, round: null, roundsDone: 0, lastError: null, epsilon: null };

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof RangeError) return new ApiError('BAD_REQUEST', e.message);
  const code = (e as { code?: unknown }).code;
  return new ApiError('INTERNAL', `FL agent: ${(e as Error)?.message ?? String(e)}`, typeof code === 'string' ? { code } : undefined);
}

/** What differs between two settings, for the audit record (paths and addresses, never file contents). */
function changes(a: FlSettings, b: FlSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['superlink', 'rootCaPath', 'insecure', 'dataFolder'] as const) if (a[k] !== b[k]) out[k] = { from: a[k] ?? null, to: b[k] ?? null };
  for (const k of Object.keys(b.policy) as (keyof FlSitePolicy)[]) {
    if (JSON.stringify(a.policy[k]) !== JSON.stringify(b.policy[k])) out[`policy.${k}`] = { from: a.policy[k], to: b.policy[k] };
  }
  return out;
}

export function createFlService(deps: FlServiceDeps): FlService {
  const { audit, actor, events } = deps;
  const dir = join(deps.dataDir, 'fl');
  const settingsFile = join(dir, 'settings.json');
  const historyFile = join(dir, 'history.jsonl');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const system: AuditActor = { ...FL_SYSTEM_USER, workstation: actor.workstation };

  let settings = loadSettings();
  const rounds: FlRound[] = loadHistory();
  let agentStatus: AgentStatus = { ...IDLE_STATUS, superlink: settings.superlink };
  let snapshot: FlSnapshot | null = null;
  let proc: FlAgentProcess | null = null;
  /** The connection settings the running agent was started with. */
  let runningWith: string | null = null;
  /** Round audit details by message id, to add clipping and noise to the round entry that follows. */
  const roundAudit = new Map<string, Record<string, unknown>>();
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  function loadSettings(): FlSettings {
    if (!existsSync(settingsFile)) return defaultFlSettings();
    try {
      const raw = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
      const base = defaultFlSettings();
      const merged = { ...base, ...raw, policy: { ...base.policy, ...(raw.policy as object), privacy: { ...base.policy.privacy, ...((raw.policy as { privacy?: object })?.privacy ?? {}) } } };
      const s = FL_SETTINGS(merged, 'settings');
      checkPolicy(s.policy);
      return s;
    } catch (e) {
      // a damaged settings file must not take the app down; the agent stays off until the site saves again
      audit.append(securityAlert(system, EVENT_TYPE.softwareConfiguration, { feature: 'fl', message: `FL settings unreadable, agent not started: ${(e as Error).message}` }, { outcome: 'serious-failure' }));
      return defaultFlSettings();
    }
  }

  function loadHistory(): FlRound[] {
    if (!existsSync(historyFile)) return [];
    const out: FlRound[] = [];
    for (const line of readFileSync(historyFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as FlRound);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out.slice(-MAX_HISTORY);
  }

  function writeSettings(s: FlSettings): void {
    const tmp = `${settingsFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(s, null, 1)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, settingsFile);
  }

  function status(): FlStatus {
    const p = settings.policy;
    return {
      running: proc !== null,
      state: proc ? agentStatus.state : p.optedOut ? 'stopped' : 'idle',
      superlink: settings.superlink,
      nodeId: agentStatus.nodeId,
      runId: agentStatus.runId,
      round: agentStatus.round,
      roundsDone: agentStatus.roundsDone,
      lastError: agentStatus.lastError,
      paused: p.paused,
      optedOut: p.optedOut,
      privacy: {
        epsilon: snapshot?.privacy.epsilon ?? agentStatus.epsilon,
        delta: p.privacy.delta,
        noiseMultiplier: p.privacy.noiseMultiplier,
        defaultClippingNorm: p.privacy.defaultClippingNorm,
        maxEpsilon: p.privacy.maxEpsilon,
        releases: snapshot?.privacy.releases ?? 0,
      },
    };
  }

  const announce = () => events.emit('fl.status', status());

  function appendAgentAudit(e: FlAuditEvent): void {
    if (e.kind === 'fl.round' || e.kind === 'fl.refused') {
      const id = e.details.messageId;
      if (typeof id === 'string') {
        roundAudit.set(id, e.details);
        if (roundAudit.size > 100) roundAudit.delete(roundAudit.keys().next().value!);
      }
    }
    try {
      audit.append({
        ...system, eventId: e.eventId, eventTypeCode: e.eventTypeCode, action: e.action, outcome: e.outcome, timeUtc: e.timeUtc,
        participants: e.participants, details: { kind: e.kind, ...e.details },
      });
    } catch {
      /* the audit store is closed (the app is stopping) */
    }
  }

  function onRound(r: RoundEntry): void {
    const a = roundAudit.get(r.messageId);
    roundAudit.delete(r.messageId);
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const entry: FlRound = {
      at: r.at, messageId: r.messageId, runId: r.runId, round: r.round, kind: r.kind, outcome: r.outcome, loss: r.loss, accuracy: r.accuracy,
      examples: r.examples, durationS: r.durationS, clippingNorm: n(a?.clippingNorm), updateNorm: n(a?.updateNorm), noiseMultiplier: n(a?.noiseMultiplier),
      epsilon: r.epsilon, error: r.error,
    };
    rounds.push(entry);
    if (rounds.length > MAX_HISTORY) rounds.shift();
    try {
      appendFileSync(historyFile, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    } catch {
      /* history on disk is a convenience; the audit log has the record */
    }
    events.emit('fl.round', entry);
    // the privacy ledger moved: refresh the snapshot
    proc?.client.request('fl.status', {}).then((s) => { snapshot = s; announce(); }, () => undefined);
  }

  function onEvent(name: string, payload: unknown): void {
    if (name === 'fl.audit') appendAgentAudit(payload as FlAuditEvent);
    else if (name === 'fl.status') {
      agentStatus = payload as AgentStatus;
      announce();
    } else if (name === 'fl.round') onRound(payload as RoundEntry);
    else if (name === 'fl.warning') console.warn(`medfedpure: FL agent: ${String(payload)}`);
  }

  const connectionKey = (s: FlSettings) => JSON.stringify([s.superlink, s.rootCaPath ?? null, s.insecure, s.dataFolder ?? null]);
  const wantsToRun = (s: FlSettings) => s.superlink !== '' && !s.policy.optedOut;
  const agentRunning = () => proc !== null && runningWith !== null && agentStatus.state !== 'stopped' && agentStatus.state !== 'refused';

  async function stopAgent(): Promise<void> {
    if (!proc) return;
    const p = proc;
    try {
      snapshot = await p.client.request('fl.stop', {}, { timeoutMs: 60_000 });
      agentStatus = snapshot.status;
    } catch {
      /* the process is gone already */
    }
    runningWith = null;
    await p.close().catch(() => undefined);
    if (proc === p) proc = null;
    announce();
  }

  async function startAgent(s: FlSettings): Promise<void> {
    if (!deps.launcher) return;
    let rootCaPem: string | undefined;
    if (s.rootCaPath) {
      try {
        rootCaPem = await readFile(s.rootCaPath, 'utf8');
      } catch (e) {
        throw new ApiError('BAD_REQUEST', `cannot read the root CA file ${s.rootCaPath}: ${(e as Error).message}`);
      }
    }
    proc ??= await deps.launcher(onEvent);
    const cfg: FlAgentConfig = {
      superlink: s.superlink, rootCaPem, insecure: s.insecure, stateDir: dir, policy: structuredClone(s.policy),
      data: s.dataFolder ? { kind: 'folder', dir: s.dataFolder } : { kind: 'confirmed-cases' },
      ...(deps.training ? { training: deps.training } : {}), ...deps.agent,
    };
    snapshot = await proc.client.request('fl.start', cfg, { timeoutMs: 120_000 });
    agentStatus = snapshot.status;
    runningWith = connectionKey(s);
    announce();
  }

  /** Brings the agent in line with the settings (serialised: one change at a time). */
  function apply(s: FlSettings): Promise<void> {
    const run = queue.then(async () => {
      if (closed) return;
      if (!wantsToRun(s)) {
        if (proc && agentRunning()) await proc.client.request('fl.setPolicy', s.policy).catch(() => undefined); // the agent leaves and audits it
        await stopAgent();
        return;
      }
      if (!deps.launcher) return;
      if (agentRunning() && runningWith === connectionKey(s)) {
        snapshot = await proc!.client.request('fl.setPolicy', s.policy);
        agentStatus = snapshot.status;
        announce();
        return;
      }
      if (agentRunning()) await proc!.client.request('fl.stop', {}, { timeoutMs: 60_000 }).catch(() => undefined);
      await startAgent(s);
    });
    queue = run.catch(() => undefined);
    return run;
  }

  async function saveSettings(next: FlSettings, who: AuditActor = actor, what = 'settings'): Promise<FlSettings> {
    const s = FL_SETTINGS(structuredClone(next), '');
    try {
      checkPolicy(s.policy);
    } catch (e) {
      throw toApiError(e);
    }
    const before = settings;
    const diff = changes(before, s);
    settings = s;
    writeSettings(s);
    audit.append(securityAlert(who, EVENT_TYPE.softwareConfiguration, { feature: 'fl', action: what, changes: diff }, {
      outcome: 'success', participants: s.superlink ? [{ type: 'SuperLink', id: s.superlink }] : [],
    }));
    announce();
    try {
      await apply(s);
    } catch (e) {
      throw toApiError(e);
    }
    return structuredClone(settings);
  }

  const policyChange = (what: string, patch: Partial<FlSitePolicy>) => async (): Promise<FlStatus> => {
    await saveSettings({ ...settings, policy: { ...settings.policy, ...patch } }, actor, what);
    return status();
  };

  const handlers: FeatureHandlers<typeof flApi> = {
    'fl.status': () => status(),
    'fl.history': ({ limit }) => rounds.slice(-(limit ?? MAX_HISTORY)),
    'fl.settings': () => structuredClone(settings),
    'fl.saveSettings': (s) => saveSettings(s),
    'fl.pause': policyChange('pause', { paused: true }),
    'fl.resume': policyChange('resume', { paused: false }),
    'fl.optOut': policyChange('opt-out', { optedOut: true }),
  };

  return {
    handlers,
    status,
    history: (limit) => rounds.slice(-(limit ?? MAX_HISTORY)),
    settings: () => structuredClone(settings),
    saveSettings: (s, who) => saveSettings(s, who),
    async start() {
      if (wantsToRun(settings)) await apply(settings).catch((e) => console.warn(`medfedpure: FL agent not started: ${(e as Error).message}`));
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await stopAgent();
    },
  };
}
