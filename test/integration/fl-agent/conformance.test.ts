/**
 * The FL agent against the conformance SuperLink (test/fixtures/flower-conformance): two full FedAvg rounds with two
 * agents (train + evaluate, objects verified both ways), clipping, personalisation, persistence, audit; and surviving
 * a SuperLink restart in the middle of a round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConformanceSuperLink } from '../../fixtures/flower-conformance/superlink.js';
import { decodeNpyF32 } from '../../../fl-agent/protocol/npy.js';
import { initialArrays, startAgent, waitFor } from './support.js';

test('two agents, two FedAvg rounds (train + evaluate): replies conform, only shared layers travel, clipped, audited', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const a = await startAgent(link.address, { seed: 3 });
  const b = await startAgent(link.address, { seed: 4 });
  try {
    const arrays = initialArrays();
    const names = [...arrays.keys()];
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('body.') && !/(^|\.)(gn|bn)\d*\./.test(n)), 'FedPer + FedBN: body without norms');
    const results = await link.runFedAvg({ rounds: 2, nodes: 2, arrays, config: { lr: 0.01, clipping_norm: 0.05 }, timeoutMs: 60_000 });
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.train.length, 2);
      assert.equal(r.evaluate.length, 2);
      for (const t of r.train) {
        assert.ok(t.numExamples > 0n);
        assert.equal(typeof t.metrics.get('train_loss'), 'number');
      }
      for (const e of r.evaluate) {
        const acc = e.metrics.get('eval_acc') as number;
        assert.ok(acc >= 0 && acc <= 1);
      }
    }
    // every train reply carries exactly the shared layers that were sent, in the same order
    for (const [id, rep] of link.replies) {
      if (link.outgoing.get(id)!.metadata.message_type !== 'train') continue;
      const rec = [...rep.message.content!.values()].find((x) => x.kind === 'array')!;
      assert.deepEqual([...(rec.items as Map<string, unknown>).keys()], names);
    }
    // audit: 2 train + 2 evaluate rounds per agent, each with hashes of what came in (and went out for train)
    for (const ag of [a, b]) {
      await waitFor(() => ag.agent.getHistory().length === 4); // the reply reaches the server just before the audit
      const rounds = ag.audit.events.filter((e) => e.kind === 'fl.round');
      assert.equal(rounds.length, 4, JSON.stringify(ag.audit.events.map((e) => [e.kind, e.details.error])));
      for (const e of rounds) {
        assert.equal(e.eventId.code, '110106');
        assert.equal(e.outcome, 'success');
        assert.equal(e.eventTypeCode.code, 'MFP-FLR');
        assert.deepEqual(e.participants.map((x) => x.type), ['SuperLink', 'FlowerRun']);
        assert.match(String(e.details.receivedSha256), /^[0-9a-f]{64}$/);
        assert.equal(e.details.runId, link.runId.toString());
        if (e.details.messageType === 'train') {
          assert.match(String(e.details.sentSha256), /^[0-9a-f]{64}$/);
          assert.equal(e.details.clippingNorm, 0.05);
          assert.ok(Number(e.details.examples) > 0);
        }
      }
      assert.equal(ag.agent.getStatus().roundsDone, 4);
      assert.equal(ag.agent.getHistory().length, 4);
      assert.ok((await stat(join(ag.dir, 'local-model.mfpw'))).size > 0, 'local model persisted');
      assert.equal((await stat(join(ag.dir, 'node.key'))).mode & 0o777, 0o600);
    }
  } finally {
    await a.close();
    await b.close();
    link.stop();
  }
});

test('clipping: the sent update ‖new − received‖ is at most clipping_norm', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const a = await startAgent(link.address, { seed: 5 });
  try {
    const [node] = await link.waitForNodes(1);
    const arrays = initialArrays(2);
    const { arrayRecord, configRecord } = await import('../../../fl-agent/protocol/records.js');
    const id = link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(arrays)], ['config', configRecord({ lr: 0.05, clipping_norm: 0.01 })]]));
    const rep = await link.waitReply(id);
    assert.equal(rep.message.error, null);
    const out = [...rep.message.content!.values()].find((x) => x.kind === 'array')!.items as Map<string, { data: Uint8Array }>;
    let s = 0;
    for (const [k, a0] of arrays) {
      const x = decodeNpyF32(out.get(k)!.data).data, y = decodeNpyF32(a0.data).data;
      for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
    }
    assert.ok(Math.sqrt(s) <= 0.01 * (1 + 1e-4), `update norm ${Math.sqrt(s)}`);
    assert.ok(Math.sqrt(s) > 0.005, 'training moved the weights up to the norm');
    // reply metadata as Flower requires
    const m = rep.message.metadata;
    const ins = link.outgoing.get(id)!.metadata;
    assert.equal(m.reply_to_message_id, id);
    assert.equal(m.src_node_id, node.id);
    assert.equal(m.dst_node_id, 1n);
    assert.equal(m.run_id, ins.run_id);
    assert.equal(m.message_type, 'train');
    assert.ok(m.created_at + m.ttl <= ins.created_at + ins.ttl + 0.1);
  } finally {
    await a.close();
    link.stop();
  }
});

test('the agent survives a SuperLink restart in the middle of a round and completes the next one', async () => {
  const link = new ConformanceSuperLink();
  const port = await link.start();
  const a = await startAgent(link.address, { seed: 6 });
  try {
    const [node] = await link.waitForNodes(1);
    const { arrayRecord, configRecord } = await import('../../../fl-agent/protocol/records.js');
    const training = new Promise<void>((resolve) => a.agent.on('status', (s) => s.state === 'training' && resolve()));
    link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(initialArrays())], ['config', configRecord({})]]));
    await training;
    link.stop(); // crash while the agent trains: its push will fail
    const reconnecting = new Promise<void>((resolve) => a.agent.on('status', (s) => s.state === 'reconnecting' && resolve()));
    await reconnecting;
    const link2 = new ConformanceSuperLink({ runId: link.runId });
    await link2.start(port);
    try {
      const results = await link2.runFedAvg({ rounds: 1, nodes: 1, arrays: initialArrays(), timeoutMs: 60_000 });
      assert.equal(results[0].train.length, 1);
      assert.equal(results[0].evaluate.length, 1);
      const failed = a.audit.events.filter((e) => e.kind === 'fl.round' && e.outcome !== 'success');
      assert.ok(failed.length >= 1, 'the interrupted round is audited as failed');
      await waitFor(() => a.agent.getStatus().roundsDone === 2);
    } finally {
      await a.close();
      link2.stop();
    }
  } finally {
    link.stop();
  }
});

test('local noise: ε accounted and audited per round, persisted, and a round over the ε budget is refused', async () => {
  const link = new ConformanceSuperLink();
  await link.start();
  const z = 2, delta = 1e-5;
  const rho1 = 1 / (2 * z * z);
  const eps = (rho: number) => rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
  // budget: room for exactly two noisy rounds
  const a = await startAgent(link.address, { seed: 12, policy: { privacy: { noiseMultiplier: z, defaultClippingNorm: null, delta, maxEpsilon: (eps(2 * rho1) + eps(3 * rho1)) / 2 } } });
  try {
    const [node] = await link.waitForNodes(1);
    const { arrayRecord, configRecord } = await import('../../../fl-agent/protocol/records.js');
    const train = (cfg: Record<string, number>) => link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(initialArrays())], ['config', configRecord(cfg)]]));
    // no clipping norm from the server and none set locally: noise cannot be calibrated, refused
    const r0 = await link.waitReply(train({}));
    assert.match(r0.message.error!.reason, /needs a clipping norm/);
    for (const k of [1, 2]) {
      const r = await link.waitReply(train({ clipping_norm: 0.5 }));
      assert.equal(r.message.error, null);
      await waitFor(() => a.agent.getStatus().epsilon !== null && Math.abs(a.agent.getStatus().epsilon! - eps(k * rho1)) < 1e-9);
    }
    const ev = a.audit.events.filter((e) => e.kind === 'fl.round' && e.outcome === 'success').at(-1)!;
    assert.equal(ev.details.noiseMultiplier, z);
    assert.equal(ev.details.delta, delta);
    assert.ok(Math.abs(Number(ev.details.epsilon) - eps(2 * rho1)) < 1e-9);
    const ledger = JSON.parse(await (await import('node:fs/promises')).readFile(join(a.dir, 'privacy.json'), 'utf8'));
    assert.deepEqual(ledger, { rho: 2 * rho1, releases: 2 });
    const r3 = await link.waitReply(train({ clipping_norm: 0.5 }));
    assert.match(r3.message.error!.reason, /FL_POLICY_REFUSED: this round would spend ε/);
  } finally {
    await a.close();
    link.stop();
  }
});

test('heartbeats keep the node alive; when the SuperLink forgets the node, the agent re-activates', async () => {
  const link = new ConformanceSuperLink({ minHeartbeatS: 0.1 });
  await link.start();
  const a = await startAgent(link.address, { seed: 13, agent: { heartbeatIntervalS: 0.25 } });
  try {
    const [node] = await link.waitForNodes(1);
    await waitFor(() => link.calls.filter((c) => c === 'SendNodeHeartbeat').length >= 2);
    node.active = false; // e.g. the SuperLink marked it offline
    await waitFor(() => a.audit.events.filter((e) => e.kind === 'fl.connected').length === 2);
    assert.equal(link.calls.filter((c) => c === 'ActivateNode').length, 2);
    assert.equal(link.activeNodes().length, 1);
    assert.equal(a.agent.getStatus().nodeId, node.id.toString(), 'same key, same node');
  } finally {
    await a.close();
    link.stop();
  }
});
