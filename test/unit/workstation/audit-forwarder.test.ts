/**
 * Audit forwarding to a local syslog-over-TLS receiver started by the test (RFC 5425 octet-counted frames, a
 * self-signed certificate made with openssl): the receiver down, then up, then dropped mid-run and back; every
 * event arrives, in seq order (a batch may repeat after a drop, never reorder), each an RFC 5424 message carrying
 * the ATNA XML; a restarted forwarder resumes from its cursor file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { AuditStore } from '../../../electron/features/audit/audit-store.js';
import { AuditForwarder, frame } from '../../../electron/features/audit/forwarder.js';
import { createServices } from '../../../electron/features/node.js';

const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

/** A receiver that parses octet-counted frames and records each message. */
class Receiver {
  readonly messages: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly key: Buffer, private readonly cert: Buffer) {}

  listen(port: number): Promise<number> {
    const server = createServer({ key: this.key, cert: this.cert }, (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) return;
          const len = Number(buf.subarray(0, sp).toString('ascii'));
          if (buf.length < sp + 1 + len) return;
          this.messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
    this.server = server;
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }

  seqs(): number[] {
    return this.messages.map((m) => Number(/seq="(\d+)"/.exec(m)![1]));
  }
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('audit forwarding (RFC 5424 over TLS)', { skip: HAVE_OPENSSL ? false : 'openssl is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-fwd-'));
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  const key = HAVE_OPENSSL ? readFileSync(join(dir, 'key.pem')) : Buffer.alloc(0);
  const cert = HAVE_OPENSSL ? readFileSync(join(dir, 'cert.pem')) : Buffer.alloc(0);
  const store = AuditStore.open(join(dir, 'audit.sqlite'));
  const receiver = new Receiver(key, cert);
  let forwarder: AuditForwarder | null = null;
  let port = 0;
  after(async () => {
    forwarder?.stop();
    await receiver.down();
    store.close();
  });
  const add = (n: number, outcome: 'success' | 'serious-failure' = 'success') => {
    for (let i = 0; i < n; i++) {
      store.append({ eventId: { code: '110114', system: 'DCM', meaning: 'User Authentication' }, action: 'E', outcome, userId: 'rita', userRole: 'radiologist', workstation: 'ws1', details: { i } });
    }
    forwarder?.notify();
  };

  it('loses nothing and keeps the order while the repository is down, up, dropped and back', async () => {
    assert.equal(gen.status, 0, gen.stderr);
    port = await receiver.listen(0);
    await receiver.down(); // a free port with nobody listening: the repository is down
    const config = { host: 'localhost', port, ca: cert, hostname: 'ws1', retryInitialMs: 50 };
    forwarder = new AuditForwarder(store, join(dir, 'audit.sqlite.forwarded'), config);
    add(5);
    await until(() => forwarder!.status().lastError !== null, 'a refused connection');
    assert.equal(receiver.messages.length, 0);

    await receiver.listen(port);
    await until(() => receiver.seqs().includes(5), 'rows 1..5 after the repository came up');
    add(3, 'serious-failure');
    await until(() => receiver.seqs().includes(8), 'rows 6..8');

    await receiver.down();
    await until(() => !forwarder!.status().connected, 'the drop to be noticed');
    add(4);
    await new Promise((r) => setTimeout(r, 100));
    await receiver.listen(port);
    await until(() => receiver.seqs().includes(12), 'rows 9..12 after the repository came back');

    // Every row, first seen in seq order; a repeat (a batch resent after the drop) never jumps ahead of a gap.
    const seqs = receiver.seqs();
    assert.deepEqual([...new Set(seqs)], Array.from({ length: 12 }, (_, i) => i + 1), `every row, in order: ${seqs.join(',')}`);
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! > seqs[i - 1]!) assert.ok(seqs.slice(0, i).includes(seqs[i]! - 1), `no gap before ${seqs[i]}: ${seqs.join(',')}`);
    assert.equal(forwarder.status().forwardedSeq, 12);

    const first = receiver.messages[0]!;
    assert.match(first, /^<85>1 \d{4}-\d{2}-\d{2}T[\d:.]+Z ws1 medfedpure - IHE\+RFC-3881 \[mfp@32473 seq="1" hash="[0-9a-f]{64}" prev="0{64}"\] \uFEFF<AuditMessage>/);
    assert.match(receiver.messages.find((m) => m.includes('seq="6"'))!, /^<83>1 /, 'serious failure → severity error');
  });

  it('a restarted forwarder resumes after its cursor', async () => {
    forwarder!.stop();
    const before = receiver.messages.length;
    forwarder = new AuditForwarder(store, join(dir, 'audit.sqlite.forwarded'), { host: 'localhost', port, ca: cert, hostname: 'ws1', retryInitialMs: 50 });
    add(1);
    await until(() => receiver.seqs().includes(13), 'row 13');
    assert.deepEqual(receiver.seqs().slice(before), [13]);
  });

  it('the services forward when the data folder says so, and refuse to start on a wrong setting', async () => {
    const data = mkdtempSync(join(tmpdir(), 'mfp-fwd-svc-'));
    writeFileSync(join(data, 'ca.pem'), cert);
    writeFileSync(join(data, 'audit-forwarding.json'), JSON.stringify({ host: 'localhost', port, caFile: 'ca.pem', hostname: 'ws-svc' }));
    const before = receiver.messages.length;
    const services = createServices({ dataDir: data, host: 'browser' });
    try {
      await until(() => receiver.messages.slice(before).some((m) => m.includes(' ws-svc ') && m.includes('originalText="Application Start"')), 'Application Start forwarded');
    } finally {
      services.close();
    }
    writeFileSync(join(data, 'audit-forwarding.json'), JSON.stringify({ host: 'localhost', port: 'six' }));
    assert.throws(() => createServices({ dataDir: data, host: 'browser' }), /"port" must be an integer/);
  });

  it('frames by octet count in bytes, not characters', () => {
    assert.equal(frame('é').toString('utf8'), '2 é');
  });
});
