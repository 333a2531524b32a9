/**
 * TLS: the agent verifies the SuperLink's certificate against the site's root CA file, and refuses (keeps retrying)
 * a SuperLink whose certificate that CA did not sign. Needs the openssl command to make throwaway certificates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConformanceSuperLink } from '../../fixtures/flower-conformance/superlink.js';
import { arrayRecord, configRecord } from '../../../fl-agent/protocol/records.js';
import { initialArrays, startAgent, waitFor } from './support.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

async function selfSigned(dir: string, name: string): Promise<{ cert: Buffer; key: Buffer }> {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert: await readFile(join(dir, `${name}.pem`)), key: await readFile(join(dir, `${name}.key`)) };
}

test('TLS with the site\'s root CA: a round completes; a certificate from another CA is refused', { skip: hasOpenssl ? false : 'openssl not available' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-tls-'));
  const link = new ConformanceSuperLink();
  try {
    const good = await selfSigned(dir, 'federation');
    const other = await selfSigned(dir, 'other');
    await link.start(0, { certChain: good.cert, privateKey: good.key });
    const a = await startAgent(link.address, { seed: 21, agent: { insecure: false, rootCa: new Uint8Array(good.cert) } });
    try {
      const [node] = await link.waitForNodes(1);
      const id = link.enqueue(node.id, 'train', new Map([['arrays', arrayRecord(initialArrays())], ['config', configRecord({})]]));
      assert.equal((await link.waitReply(id)).message.error, null);
    } finally {
      await a.close();
    }
    const b = await startAgent(link.address, { seed: 22, agent: { insecure: false, rootCa: new Uint8Array(other.cert) } });
    try {
      await waitFor(() => b.agent.getStatus().state === 'reconnecting');
      assert.equal(b.agent.getStatus().lastError?.code, 'FL_TRANSPORT');
      assert.equal(link.calls.filter((c) => c === 'RegisterNode').length, 1, 'only the first agent got through');
    } finally {
      await b.close();
    }
  } finally {
    link.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
