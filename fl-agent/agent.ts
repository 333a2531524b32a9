/**
 * The FL agent: a Flower SuperNode in TypeScript. It keeps one connection to the federation's SuperLink (Fleet API),
 * pulls the messages addressed to this node, verifies everything it receives, lets the ClientApp answer `train` and
 * `evaluate`, pushes the replies, and audits every round and every refusal.
 *
 * Lifecycle (`run()` until `stop()`):
 *   connect   site policy allows this SuperLink? → RegisterNode (already registered is fine) → ActivateNode → heartbeat
 *             every 0.8 × interval (as Flower's SuperNode does)
 *   loop      PullMessages; for each message: sanity (ids, addressee, not a reply, ttl) → site policy (paused, run id,
 *             schedule) → pull and verify every object of its tree (hash, caps, deadline) → inflate → confirm →
 *             ClientApp → reply (metadata mirrors the message: src/dst swapped, same run and type, reply_to set,
 *             ttl within the incoming one) → PushMessages → PushObject for what the SuperLink asks for
 *   failure   a transport failure (SuperLink restarted, network down, heartbeat refused) closes the connection and
 *             reconnects with exponential backoff and jitter; a bad message is refused (error reply where one can be
 *             addressed) and the loop goes on; nothing a SuperLink sends can stop the agent
 *   stop      stay online a few seconds after the last push (Flower's advice, so the SuperLink can collect the
 *             reply), then DeactivateNode
 *
 * Status goes out as events: `status` (connection state, node id, current run/round, last error) and `round` (one
 * entry per handled message, for the round-history plot).
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { FleetClient, type PulledMessage } from './protocol/fleet-client.js';
import { loadOrCreateNodeKey } from './protocol/auth.js';
import { FlError, isFlError, type FlErrorCode } from './protocol/errors.js';
import { deflateMessage, inflateMessage, isObjectId, treeIds, verifyObject, MAX_ARRAY_CHUNK_BYTES, type ObjectTree } from './protocol/objects.js';
import { ERROR_CLIENT_APP_RAISED_EXCEPTION, type FlMessage, type Metadata, type RecordDict } from './protocol/records.js';
import { checkPolicy, mayConnect, mayTakeMessage, type SitePolicy } from './site/policy.js';
import { AUDIT_EVENTS, FL_EVENT_TYPES, type AuditEvent, type AuditOutcome, type AuditSink, type RoundAudit } from './site/audit.js';

const OUTCOMES: Record<0 | 4 | 8 | 12, AuditOutcome> = { 0: 'success', 4: 'minor-failure', 8: 'serious-failure', 12: 'major-failure' };
import type { ClientApp, MessageKind } from './client-app.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'training' | 'evaluating' | 'paused' | 'reconnecting' | 'refused' | 'stopped';

export interface AgentStatus {
  state: ConnectionState;
  superlink: string;
  nodeId: string | null;
  runId: string | null;
  round: string | null;
  roundsDone: number;
  lastError: { code: string; message: string } | null;
  /** Privacy spent so far (from the last train round with noise). */
  epsilon: number | null;
}

export interface RoundEntry {
  at: string;
  messageId: string;
  runId: string;
  round: string;
  kind: string;
  outcome: RoundAudit['outcome'];
  loss: number | null;
  accuracy: number | null;
  examples: number;
  durationS: number;
  epsilon: number | null;
  error: string | null;
}

export interface AgentOptions {
  /** host:port of the SuperLink's Fleet API. */
  superlink: string;
  rootCa?: Uint8Array;
  insecure?: boolean;
  /** Folder for node.key (0600) and the app's local state. */
  stateDir: string;
  policy: SitePolicy;
  audit: AuditSink;
  app: ClientApp;
  /** Seconds; sent to the SuperLink on activation and with each heartbeat (Flower's default 30, bounds 10–1800). */
  heartbeatIntervalS?: number;
  /** Wait between empty PullMessages (default 2000 ms). */
  pollIntervalMs?: number;
  /** Deadline of one Fleet call (default 30 s). */
  callTimeoutMs?: number;
  /** Deadline for pulling all objects of one message (default 10 min). */
  pullTimeoutMs?: number;
  /** Reconnect backoff (default 1 s doubling to 60 s, ±20 % jitter). */
  backoff?: { initialMs: number; maxMs: number };
  /** Stay online this long after the last push before deactivating (default 3000 ms). */
  lingerMs?: number;
  /** Most objects accepted for one message (default 20,000). */
  maxObjects?: number;
}

/** Codes that mean the SuperLink (or what it sent) is hostile or broken, as opposed to local trouble. */
const SECURITY_CODES = new Set<FlErrorCode>(['FL_OBJECT_HASH_MISMATCH', 'FL_OBJECT_MALFORMED', 'FL_PAYLOAD_TOO_LARGE', 'FL_NPY_UNSUPPORTED', 'FL_WEIGHTS_MISMATCH', 'FL_NONFINITE', 'FL_BAD_MESSAGE']);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class FlAgent extends EventEmitter {
  private policy: SitePolicy;
  private readonly stopCtrl = new AbortController();
  private status: AgentStatus;
  private readonly history: RoundEntry[] = [];
  private lastPushAt = 0;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: AgentOptions) {
    super();
    this.policy = checkPolicy(structuredClone(opts.policy));
    this.status = { state: 'idle', superlink: opts.superlink, nodeId: null, runId: null, round: null, roundsDone: 0, lastError: null, epsilon: null };
  }

  getStatus(): AgentStatus {
    return { ...this.status };
  }

  getHistory(): RoundEntry[] {
    return [...this.history];
  }

  getPolicy(): SitePolicy {
    return structuredClone(this.policy);
  }

  /** Replace the site policy (pause, opt-out, schedule, privacy…); takes effect at the next message. */
  setPolicy(p: SitePolicy): void {
    this.policy = checkPolicy(structuredClone(p));
    void this.audit('fl.policy', AUDIT_EVENTS.applicationActivity, 'U', 0, { paused: p.paused, optedOut: p.optedOut, noiseMultiplier: p.privacy.noiseMultiplier });
  }

  /** Start the loop in the background (idempotent); resolves when it ends. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopCtrl.abort();
    await this.running?.catch(() => undefined);
  }

  private setStatus(patch: Partial<AgentStatus>): void {
    this.status = { ...this.status, ...patch };
    this.emit('status', this.getStatus());
  }

  private async audit(kind: string, eventId: AuditEvent['eventId'], action: AuditEvent['action'], outcome: 0 | 4 | 8 | 12, details: AuditEvent['details']): Promise<void> {
    const eventTypeCode = kind === 'fl.round' ? FL_EVENT_TYPES.round : kind === 'fl.refused' ? FL_EVENT_TYPES.refusal : FL_EVENT_TYPES.agent;
    const participants = [{ type: 'SuperLink', id: this.opts.superlink }];
    if (typeof details.runId === 'string') participants.push({ type: 'FlowerRun', id: details.runId });
    try {
      await this.opts.audit.append({
        eventId, eventTypeCode, action, outcome: OUTCOMES[outcome], timeUtc: new Date().toISOString(), kind, participants,
        details: { superlink: this.opts.superlink, ...details },
      });
    } catch (e) {
      this.emit('warning', `audit sink failed: ${(e as Error).message}`);
    }
  }

  private get stopping(): boolean {
    return this.stopCtrl.signal.aborted;
  }

  private async run(): Promise<void> {
    let key;
    try {
      key = await loadOrCreateNodeKey(join(this.opts.stateDir, 'node.key'));
    } catch (e) {
      // without its key the node cannot authenticate: nothing to retry
      const err = e instanceof FlError ? e : new FlError('FL_KEY', String(e));
      this.setStatus({ state: 'stopped', lastError: { code: err.code, message: err.message } });
      await this.audit('fl.agent-failed', AUDIT_EVENTS.applicationActivity, 'E', 12, { error: `${err.code}: ${err.message}` });
      throw err;
    }
    const backoff = this.opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    let attempt = 0;
    await this.audit('fl.agent-started', AUDIT_EVENTS.applicationActivity, 'E', 0, {});
    try {
      while (!this.stopping) {
        if (this.policy.optedOut) {
          // the site left the federation: not a refusal of the SuperLink, just nothing to do
          if (this.status.state === 'idle') await this.audit('fl.opted-out', AUDIT_EVENTS.applicationActivity, 'E', 0, {});
          break;
        }
        const d = mayConnect(this.policy, this.opts.superlink);
        if (!d.ok) {
          this.setStatus({ state: 'refused', lastError: { code: 'FL_POLICY_REFUSED', message: d.reason } });
          await this.audit('fl.refused', AUDIT_EVENTS.applicationActivity, 'E', 4, { rule: d.rule, reason: d.reason });
          return;
        }
        const client = new FleetClient({ address: this.opts.superlink, key, rootCa: this.opts.rootCa, insecure: this.opts.insecure, callTimeoutMs: this.opts.callTimeoutMs });
        try {
          await this.session(client);
          attempt = 0;
        } catch (e) {
          if (this.stopping) break;
          const err = e instanceof FlError ? e : new FlError('FL_TRANSPORT', (e as Error).message, { cause: e });
          const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 20)) * (0.8 + 0.4 * Math.random());
          attempt++;
          this.setStatus({ state: 'reconnecting', nodeId: null, lastError: { code: err.code, message: err.message } });
          this.emit('reconnecting', { attempt, delayMs: Math.round(delay), error: err.message });
          await sleep(delay, this.stopCtrl.signal);
        } finally {
          client.close();
        }
      }
    } finally {
      if (this.status.state !== 'refused') this.setStatus({ state: 'stopped' });
      await this.audit('fl.agent-stopped', AUDIT_EVENTS.applicationActivity, 'E', 0, { roundsDone: this.status.roundsDone });
    }
  }

  /** One connection: returns on stop / opt-out, throws on a transport failure (the caller reconnects). */
  private async session(client: FleetClient): Promise<void> {
    this.setStatus({ state: 'connecting' });
    const hb = this.opts.heartbeatIntervalS ?? 30;
    try {
      await client.registerNode();
    } catch (e) {
      // FAILED_PRECONDITION: this key is already registered (or the SuperLink registers nodes by CLI); activation decides
      if (!isFlError(e, 'FL_TRANSPORT') || (e as { grpcCode?: number }).grpcCode !== 9) throw e;
    }
    const nodeId = await client.activateNode(hb);
    this.setStatus({ state: 'connected', nodeId: nodeId.toString(), lastError: null });
    await this.audit('fl.connected', AUDIT_EVENTS.applicationActivity, 'E', 0, { nodeId: nodeId.toString() });

    let linkLost: FlError | null = null;
    const beat = setInterval(() => {
      client.heartbeat(nodeId, hb).then(
        (ok) => { if (!ok) linkLost ??= new FlError('FL_TRANSPORT', 'the SuperLink no longer knows this node (heartbeat refused)'); },
        (e) => { linkLost ??= e instanceof FlError ? e : new FlError('FL_TRANSPORT', String(e)); },
      );
    }, hb * 800);
    const poll = this.opts.pollIntervalMs ?? 2000;
    let leaving = false;
    try {
      while (!this.stopping) {
        if (linkLost) throw linkLost;
        if (this.policy.optedOut) {
          leaving = true;
          await this.audit('fl.opted-out', AUDIT_EVENTS.applicationActivity, 'E', 0, {});
          return;
        }
        if (this.policy.paused) {
          // paused: stay connected (heartbeats go on) but take nothing; queued messages wait or expire at the SuperLink
          if (this.status.state !== 'paused') this.setStatus({ state: 'paused' });
          await sleep(poll, this.stopCtrl.signal);
          continue;
        }
        if (this.status.state === 'paused') this.setStatus({ state: 'connected' });
        const msgs = await client.pullMessages(nodeId);
        if (msgs.length === 0) {
          await sleep(poll, this.stopCtrl.signal);
          continue;
        }
        for (const m of msgs) await this.handleMessage(client, nodeId, m);
      }
      leaving = true;
    } finally {
      clearInterval(beat);
      if (leaving) {
        const wait = (this.opts.lingerMs ?? 3000) - (Date.now() - this.lastPushAt);
        if (wait > 0) await sleep(wait);
        await client.deactivateNode(nodeId).catch(() => undefined);
        this.setStatus({ nodeId: null });
      }
    }
  }

  private async pullObjects(client: FleetClient, nodeId: bigint, runId: bigint, tree: ObjectTree): Promise<Map<string, Uint8Array>> {
    const ids = treeIds(tree);
    const maxObjects = this.opts.maxObjects ?? 20_000;
    if (ids.length > maxObjects) throw new FlError('FL_PAYLOAD_TOO_LARGE', `message has ${ids.length} objects (max ${maxObjects})`);
    const deadline = Date.now() + (this.opts.pullTimeoutMs ?? 600_000);
    const out = new Map<string, Uint8Array>();
    let total = 0;
    for (const id of ids) {
      let wait = 100;
      for (;;) {
        if (this.stopping) throw new FlError('FL_TIMEOUT', 'stopping');
        const r = await client.pullObject(nodeId, runId, id);
        if (!r.found) throw new FlError('FL_OBJECT_MISSING', `the SuperLink has no object ${id.slice(0, 12)}…`);
        if (r.available) {
          if (r.content.length > MAX_ARRAY_CHUNK_BYTES + 65_536) throw new FlError('FL_PAYLOAD_TOO_LARGE', `object of ${r.content.length} bytes`);
          verifyObject(id, r.content);
          total += r.content.length;
          if (total > this.policy.maxPayloadBytes) throw new FlError('FL_PAYLOAD_TOO_LARGE', `message exceeds the site's cap of ${this.policy.maxPayloadBytes} bytes`);
          out.set(id, r.content);
          break;
        }
        if (Date.now() + wait > deadline) throw new FlError('FL_TIMEOUT', `object ${id.slice(0, 12)}… not available in time`);
        await sleep(wait, this.stopCtrl.signal);
        wait = Math.min(wait * 2, 1000);
      }
    }
    return out;
  }

  private async handleMessage(client: FleetClient, nodeId: bigint, pm: PulledMessage): Promise<void> {
    const t0 = performance.now();
    const md = pm.metadata;
    const rec: RoundAudit = {
      superlink: this.opts.superlink, runId: md.run_id.toString(), round: md.group_id, messageId: md.message_id, messageType: md.message_type.slice(0, 64),
      receivedSha256: null, sentSha256: null, examples: 0, clippingNorm: null, updateNorm: null, noiseMultiplier: 0, epsilon: null, delta: null,
      durationS: 0, outcome: 'ok', error: null,
    };
    const finish = async (outcome: RoundAudit['outcome'], err: FlError | null, extra: { loss?: number | null; accuracy?: number | null } = {}) => {
      rec.outcome = outcome;
      rec.error = err ? `${err.code}: ${err.message}`.slice(0, 500) : null;
      rec.durationS = Math.round((performance.now() - t0)) / 1000;
      const security = err !== null && SECURITY_CODES.has(err.code);
      const eventId = outcome === 'ok' ? AUDIT_EVENTS.export : security ? AUDIT_EVENTS.securityAlert : AUDIT_EVENTS.applicationActivity;
      await this.audit(outcome === 'refused' ? 'fl.refused' : 'fl.round', eventId, 'E', outcome === 'ok' ? 0 : outcome === 'refused' ? 4 : 8, { ...rec });
      const entry: RoundEntry = {
        at: new Date().toISOString(), messageId: rec.messageId, runId: rec.runId, round: rec.round, kind: rec.messageType, outcome, loss: extra.loss ?? null, accuracy: extra.accuracy ?? null,
        examples: rec.examples, durationS: rec.durationS, epsilon: rec.epsilon, error: rec.error,
      };
      this.history.push(entry);
      if (this.history.length > 1000) this.history.shift();
      if (outcome === 'ok') this.status.roundsDone++;
      this.setStatus({ state: this.policy.paused ? 'paused' : 'connected', lastError: err ? { code: err.code, message: err.message } : this.status.lastError, ...(rec.epsilon !== null ? { epsilon: rec.epsilon } : {}) });
      this.emit('round', entry);
    };

    // 1. what the listing says must hang together before anything is pulled
    if (!isObjectId(md.message_id) || md.message_id !== pm.tree.object_id) {
      return finish('refused', new FlError('FL_BAD_MESSAGE', 'message id is not the root of its object tree'));
    }
    if (md.dst_node_id !== nodeId) return finish('refused', new FlError('FL_BAD_MESSAGE', `message addressed to node ${md.dst_node_id}, not this node`));
    if (md.reply_to_message_id !== '') {
      return finish('refused', new FlError('FL_BAD_MESSAGE', `message replies to ${md.reply_to_message_id.slice(0, 12)}…, which this node never sent`));
    }
    if (!(md.created_at + md.ttl > Date.now() / 1000)) return finish('refused', new FlError('FL_BAD_MESSAGE', 'message expired before it arrived'));

    // 2. site policy
    const d = mayTakeMessage(this.policy, md.run_id, new Date());
    if (!d.ok) {
      const err = new FlError('FL_POLICY_REFUSED', d.reason);
      await this.reply(client, nodeId, md, null, err).catch(() => undefined);
      return finish('refused', err);
    }

    this.setStatus({ runId: rec.runId, round: rec.round });
    // 3. pull, verify, inflate
    let msg: FlMessage;
    try {
      const objects = await this.pullObjects(client, nodeId, md.run_id, pm.tree);
      msg = inflateMessage(pm.tree, objects, { maxTotalBytes: this.policy.maxPayloadBytes, maxObjects: this.opts.maxObjects ?? 20_000 });
      const m = msg.metadata;
      if (m.run_id !== md.run_id || m.message_type !== md.message_type || m.dst_node_id !== nodeId || m.src_node_id !== md.src_node_id || m.group_id !== md.group_id) {
        throw new FlError('FL_BAD_MESSAGE', 'the message object disagrees with its listing (run, type, addressee or round)');
      }
      await client.confirmMessageReceived(nodeId, md.run_id, md.message_id);
    } catch (e) {
      const err = e instanceof FlError ? e : new FlError('FL_BAD_MESSAGE', String(e));
      if (err.code === 'FL_TRANSPORT') {
        await finish('failed', err);
        throw err; // the SuperLink went away: reconnect
      }
      await this.reply(client, nodeId, md, null, err).catch(() => undefined);
      return finish(err.code === 'FL_TIMEOUT' ? 'failed' : 'refused', err);
    }

    // 4. the app
    const category = md.message_type.split('.')[0];
    if (category !== 'train' && category !== 'evaluate') {
      const err = new FlError('FL_UNSUPPORTED_MESSAGE_TYPE', `message type "${md.message_type.slice(0, 64)}" is not supported (train and evaluate are)`);
      await this.reply(client, nodeId, md, null, err).catch(() => undefined);
      return finish('refused', err);
    }
    this.setStatus({ state: category === 'train' ? 'training' : 'evaluating' });
    let content: RecordDict;
    let summary: { loss: number | null; accuracy: number | null };
    try {
      const p = this.policy;
      const r = await this.opts.app.handle(category as MessageKind, msg, {
        runId: md.run_id, round: md.group_id, privacy: p.privacy, maxThreads: p.maxThreads, maxRoundSeconds: p.maxRoundSeconds, signal: this.stopCtrl.signal,
      });
      Object.assign(rec, r.figures);
      content = r.content;
      summary = { loss: r.loss, accuracy: r.accuracy };
    } catch (e) {
      const err = e instanceof FlError ? e : new FlError('FL_BAD_MESSAGE', (e as Error)?.message ?? String(e));
      await this.reply(client, nodeId, md, null, err).catch(() => undefined);
      return finish(err.code === 'FL_POLICY_REFUSED' || SECURITY_CODES.has(err.code) ? 'refused' : 'failed', err);
    }

    // 5. reply
    try {
      const sent = await this.reply(client, nodeId, md, content, null, (performance.now() - t0) / 1000);
      if (!sent) return finish('failed', new FlError('FL_TIMEOUT', 'the message expired before the reply was ready'), summary);
    } catch (e) {
      const err = e instanceof FlError ? e : new FlError('FL_TRANSPORT', String(e));
      await finish('failed', err, summary);
      if (err.code === 'FL_TRANSPORT') throw err;
      return;
    }
    return finish('ok', null, summary);
  }

  /** Build, push and upload a reply (content or error). False when the incoming message's ttl has run out. */
  private async reply(client: FleetClient, nodeId: bigint, inMd: Metadata, content: RecordDict | null, err: FlError | null, runtimeS = 0): Promise<boolean> {
    const now = Date.now() / 1000;
    const maxTtl = inMd.created_at + inMd.ttl - now;
    if (!(maxTtl > 0)) return false;
    const reply: FlMessage = {
      metadata: {
        run_id: inMd.run_id, message_id: '', src_node_id: nodeId, dst_node_id: inMd.src_node_id, reply_to_message_id: inMd.message_id,
        group_id: inMd.group_id, ttl: maxTtl, message_type: inMd.message_type, created_at: now,
      },
      content: err ? null : content,
      error: err ? { code: ERROR_CLIENT_APP_RAISED_EXCEPTION, reason: `${err.code}: ${err.message}`.slice(0, 1000) } : null,
    };
    const d = deflateMessage(reply);
    reply.metadata.message_id = d.id;
    const want = new Set(await client.pushMessage(nodeId, reply.metadata, reply.error, d.tree, runtimeS));
    for (const id of treeIds(d.tree)) {
      if (!want.has(id)) continue;
      await client.pushObject(nodeId, inMd.run_id, id, d.objects.get(id)!);
    }
    this.lastPushAt = Date.now();
    return true;
  }
}
