/**
 * Killing the writer mid-burst loses no committed audit event and leaves a chain that verifies.
 *
 * A child process appends a burst of 10,000 events, printing each seq once append() has returned (committed); the
 * test SIGKILLs it after 300 acknowledgements, with the burst still running, then reopens the log: every
 * acknowledged seq is there, seqs are contiguous, and verify() passes (the head anchor may trail the last row by the
 * one being written when the process died: it only vouches for fewer rows, see audit-store.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { AuditStore } from '../../../electron/features/audit/audit-store.js';

const STORE_MODULE = resolve(import.meta.dirname, '../../../electron/features/audit/audit-store.ts');

const WRITER = `
const { AuditStore } = await import(process.argv[2]);
const store = AuditStore.open(process.argv[3]);
for (let i = 0; i < 10000; i++) {
  const e = store.append({ eventId: { code: '110100', system: 'DCM', meaning: 'Application Activity' }, action: 'E', outcome: 'success',
    userId: 'burst', userRole: 'radiologist', workstation: 'ws', participants: [{ type: 'PatientID', id: 'P' + (i % 7) }], details: { i } });
  process.stdout.write(e.seq + '\\n');
}
`;

test('SIGKILL during a burst of 10,000 audited events: every committed event survives and the chain verifies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-crash-'));
  const file = join(dir, 'audit.sqlite');
  const script = join(dir, 'writer.mjs');
  writeFileSync(script, WRITER);
  const child = spawn(process.execPath, ['--import', 'tsx', script, STORE_MODULE, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: number[] = [];
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  await new Promise<void>((done) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      acknowledged.push(Number(line));
      if (acknowledged.length === 300) {
        child.kill('SIGKILL');
        done();
      }
    });
  });
  assert.equal(await exited, 'SIGKILL');

  const store = AuditStore.open(file);
  try {
    const count = store.count();
    assert.ok(count >= acknowledged.length, `${count} rows, ${acknowledged.length} acknowledged`);
    assert.ok(count < 10_000, 'killed during the burst');
    const seqs = new Set([...store.iterate({})].map((e) => e.seq));
    assert.deepEqual(acknowledged.filter((s) => !seqs.has(s)), [], 'no acknowledged event lost');
    assert.equal(Math.max(...seqs), count, 'contiguous seqs');
    const v = store.verify();
    assert.equal(v.ok, true, JSON.stringify(v.firstBroken));
    // The participant index was written in the same transactions.
    assert.equal(store.search({ participant: 'P3' }).total, [...store.iterate({})].filter((e) => e.participants[0]!.id === 'P3').length);
  } finally {
    store.close();
  }
});
