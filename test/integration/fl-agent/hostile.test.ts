/**
 * Hostile or broken SuperLink input is refused and the agent keeps running: wrong shapes and dtypes, NaN/Inf, a
 * payload over the site's cap, an object whose bytes do not hash to its id, a "reply" to a message the node never
 * sent, an unsupported message type, a SuperLink that hangs mid-stream; and the site policy's refusals (run id,
 * pause, schedule, SuperLink address, opt-out). After each, a normal round still succeeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConformanceSuperLink, type Tamper } from '../../fixtures/flower-conformance/superlink.js';
import { arrayRecord, configRecord, type FlArray } from '../../../fl-agent/protocol/records.js';
import { encodeNpyF32 } from '../../../fl-agent/protocol/npy.js';
import { parseObject } from '../../../fl-agent/protocol/objects.js';
import { DEFAULT_POLICY } from '../../../fl-agent/site/policy.js';
import { initialArrays, startAgent, waitFor, type TestAgent } from './support.js';

function content(arrays: Map<string, FlArray>) {
  return new Map([['arrays', arrayRecord(arrays)], ['config', configRecord({ lr: 0.01 })]]);
}

async function expectErrorReply(link: ConformanceSuperLink, a: TestAgent, id: string, code: RegExp): Promise<void> {
  const r = await link.waitReply(id, 20_000);
  await waitFor(() => a.agent.getHistory().some((h) => h.messageId === id)); // audited right after the push
  assert.ok(r.message.error, 'an error reply');
  assert.equal(r.message.content, null);
  assert.match(r.message.error!.reason, code);
}

async function expectHealthy(link: ConformanceSuperLink, nodeId: bigint): Promise<void> {
  const id = link.enqueue(nodeId, 'train', content(initialArrays()));
  const r = await link.waitReply(id, 30_000);
  assert.equal(r.message.error, null, r.message.error?.reason);
}

function lastAudit(a: TestAgent) {
  return a.audit.events.filter((e) => e.kind === 'fl.round' || e.kind === 'fl.refused').at(-1)!;
}

test('hostile payloads are refused with an error reply, audited, and the agent keeps running', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const a = await startAgent(link.address, { seed: 9, policy: { maxPayloadBytes: 2_000_000 }, agent: { callTimeoutMs: 1500 } });
  try {
    const [node] = await link.waitForNodes(1);
    const good = initialArrays();
    const first = [...good.keys()][0];

    // wrong shape
    const wrongShape = new Map(good);
    wrongShape.set(first, { ...good.get(first)!, shape: [1, 2, 3], data: encodeNpyF32([1, 2, 3], new Float32Array(6)) });
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(wrongShape)), /FL_WEIGHTS_MISMATCH/);
    assert.equal(lastAudit(a).eventId.code, '110113'); // Security Alert

    // wrong dtype: float64 declared
    const f64 = new Map(good);
    f64.set(first, { ...good.get(first)!, dtype: 'float64' });
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(f64)), /FL_WEIGHTS_MISMATCH/);

    // a .npy that is not <f4 under a float32 label
    const npyF8 = new Map(good);
    const g = good.get(first)!;
    const bytes = new Uint8Array(g.data);
    bytes.set(new TextEncoder().encode("'<f8'"), Buffer.from(bytes).indexOf("'<f4'"));
    npyF8.set(first, { ...g, data: bytes });
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(npyF8)), /FL_NPY_UNSUPPORTED/);

    // NaN and Inf
    for (const bad of [NaN, Infinity]) {
      const nan = new Map(good);
      const shape = g.shape;
      const vals = new Float32Array(shape.reduce((p, q) => p * q, 1));
      vals[3] = bad;
      nan.set(first, { ...g, data: encodeNpyF32(shape, vals) });
      await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(nan)), /FL_NONFINITE/);
    }

    // over the site's payload cap (2 MB): an extra 3 MB array
    const big = new Map(good);
    big.set('body.extra', { dtype: 'float32', shape: [750_000], stype: 'numpy.ndarray', data: encodeNpyF32([750_000], new Float32Array(750_000)) });
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(big)), /FL_PAYLOAD_TOO_LARGE/);

    // an object whose bytes do not hash to its id
    const flip: Tamper = {
      objects: (objs) => {
        const [id, b] = [...objs].find(([, x]) => parseObject(x).type === 'ArrayChunk')!;
        const c = new Uint8Array(b);
        c[c.length - 1] ^= 0xff;
        objs.set(id, c);
      },
    };
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(good), { tamper: flip }), /FL_OBJECT_HASH_MISMATCH/);

    // a "reply" to a message this node never sent: refused without a reply
    const before = a.agent.getHistory().length;
    const rid = link.enqueue(node.id, 'train', content(good), { tamper: { listing: (md) => { md.reply_to_message_id = 'ab'.repeat(32); } } });
    await waitFor(() => a.agent.getHistory().length === before + 1);
    assert.equal(link.replies.has(rid), false);
    assert.match(String(lastAudit(a).details.error), /never sent/);

    // a listing whose message id is not its tree's root
    const before2 = a.agent.getHistory().length;
    link.enqueue(node.id, 'train', content(good), { tamper: { listing: (_md, tree) => { tree.object_id = 'cd'.repeat(32); } } });
    await waitFor(() => a.agent.getHistory().length === before2 + 1);
    assert.match(String(lastAudit(a).details.error), /root of its object tree/);

    // unsupported message type
    await expectErrorReply(link, a, link.enqueue(node.id, 'query', content(good)), /FL_UNSUPPORTED_MESSAGE_TYPE/);

    // a SuperLink that hangs mid-stream: PullObject never answers → the call's deadline → the round fails, audited
    link.hang.add('PullObject');
    const before3 = a.agent.getHistory().length;
    link.enqueue(node.id, 'train', content(good));
    await waitFor(() => a.agent.getHistory().length === before3 + 1, 20_000);
    assert.match(String(lastAudit(a).details.error), /FL_TIMEOUT/);
    link.hang.delete('PullObject');

    // … or hangs while the reply is uploaded: the trained round fails on the deadline, nothing half-sent is trusted
    link.hang.add('PushObject');
    const before4 = a.agent.getHistory().length;
    const stuck = link.enqueue(node.id, 'train', content(good));
    await waitFor(() => a.agent.getHistory().length === before4 + 1, 30_000);
    assert.match(String(lastAudit(a).details.error), /PushObject.*(FL_TIMEOUT|DEADLINE)|FL_TIMEOUT/);
    assert.equal(link.replies.has(stuck), false);
    link.hang.delete('PushObject');

    // … or never answers PullMessages: the agent reconnects and carries on
    link.hang.add('PullMessages');
    await waitFor(() => a.agent.getStatus().state === 'reconnecting', 20_000);
    link.hang.delete('PullMessages');
    await waitFor(() => a.agent.getStatus().state === 'connected', 20_000);

    await expectHealthy(link, node.id);
    assert.notEqual(a.agent.getStatus().state, 'stopped');
    // the wire-level refusals are Security Alerts, every one audited
    assert.ok(a.audit.events.filter((e) => e.eventId.code === '110113').length >= 8);
  } finally {
    await a.close();
    link.stop();
  }
});

test('site policy: runs not agreed to, pause and schedule are refused (error reply, audited); opt-out leaves', async () => {
  const link = new ConformanceSuperLink({ runId: 42n });
  await link.start();
  const a = await startAgent(link.address, { seed: 10, policy: { allowedRunIds: ['42'] } });
  try {
    const [node] = await link.waitForNodes(1);
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(initialArrays()), { runId: 43n }), /FL_POLICY_REFUSED: run 43/);
    assert.equal(lastAudit(a).kind, 'fl.refused');
    assert.equal(lastAudit(a).outcome, 'minor-failure');

    a.agent.setPolicy({ ...a.agent.getPolicy(), schedule: [{ start: '00:00', end: '00:00', days: [] }] });
    await expectErrorReply(link, a, link.enqueue(node.id, 'train', content(initialArrays())), /schedule/);

    a.agent.setPolicy({ ...a.agent.getPolicy(), schedule: [], paused: true });
    await waitFor(() => a.agent.getStatus().state === 'paused');
    // while paused the agent does not even pull: a message waits
    const waiting = link.enqueue(node.id, 'train', content(initialArrays()));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(link.outgoing.get(waiting)!.delivered, false);
    a.agent.setPolicy({ ...a.agent.getPolicy(), paused: false });
    const r = await link.waitReply(waiting, 30_000);
    assert.equal(r.message.error, null);

    a.agent.setPolicy({ ...a.agent.getPolicy(), optedOut: true });
    await a.done;
    assert.equal(a.agent.getStatus().state, 'stopped');
    assert.equal(link.activeNodes().length, 0, 'deactivated on opt-out');
    assert.ok(a.audit.events.some((e) => e.kind === 'fl.opted-out'));
  } finally {
    await a.close();
    link.stop();
  }
});

test('site policy: a SuperLink outside the allowed list is never contacted', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const a = await startAgent(link.address, { policy: { ...DEFAULT_POLICY, allowedSuperlinks: ['federation.example.org:9092'] } });
  try {
    await a.done;
    assert.equal(a.agent.getStatus().state, 'refused');
    assert.equal(link.calls.length, 0);
    const ev = a.audit.events.find((e) => e.kind === 'fl.refused')!;
    assert.equal(ev.outcome, 'minor-failure');
    assert.equal(ev.details.rule, 'superlink');
  } finally {
    await a.close();
    link.stop();
  }
});
