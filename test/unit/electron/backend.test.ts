// The Electron main process's backend: the shared services + router, Application Start/Stop audited,
// security refusals audited as Security Alerts with a flood limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBackend } from '../../../electron/main/backend.js';
import type { AuditEvent } from '../../../electron/features/api.js';

test('serves the router with host "electron" and audits start, alerts and stop', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mfp-backend-'));
  let clock = 0;
  const backend = await openBackend({ dataDir, demoData: false, user: { id: 'dr.test', role: 'radiologist' }, maxAlertsPerMinute: 2, now: () => clock });
  let closed = false;
  try {
    const info = (await backend.dispatch('app.info', {})) as { host: string; user: { id: string } };
    assert.equal(info.host, 'electron');
    assert.equal(info.user.id, 'dr.test');
    await assert.rejects(backend.dispatch('studies.series', { studyInstanceUid: 42 }), (e: unknown) => (e as { code: string }).code === 'BAD_REQUEST');

    const appended: number[] = [];
    const off = backend.onEvent((event, payload) => {
      if (event === 'audit.appended') appended.push((payload as { seq: number }).seq);
    });
    for (let i = 0; i < 4; i++) {
      backend.auditSecurityAlert({ kind: 'ipc-sender-rejected', reason: 'not-main-frame', channel: 'medfedpure:invoke', webContentsId: 3, url: 'app://medfedpure/' });
    }
    clock += 60_000; // next minute: let through again, carrying the suppressed count
    backend.auditSecurityAlert({ kind: 'navigation-blocked', url: 'https://evil.example/', detail: 'x' });
    off();
    assert.equal(appended.length, 3);

    const { events } = (await backend.dispatch('audit.list', { limit: 50 })) as { events: AuditEvent[] };
    const codes = events.map((e) => `${e.eventId.code}/${e.eventTypeCode?.code ?? ''}`).reverse();
    assert.deepEqual(codes, ['110100/110120', '110113/110126', '110113/110126', '110113/110132']);
    const last = events[0]!;
    assert.equal(last.details.suppressedSinceLastAlert, 2);
    assert.equal(last.outcome, 'serious-failure');

    backend.close('test over');
    closed = true;
    const reopened = await openBackend({ dataDir, demoData: false });
    try {
      const { events: after } = (await reopened.dispatch('audit.list', { limit: 50 })) as { events: AuditEvent[] };
      assert.ok(after.some((e) => e.eventTypeCode?.code === '110121'), 'Application Stop audited');
      assert.equal(((await reopened.dispatch('audit.verify', {})) as { ok: boolean }).ok, true);
    } finally {
      reopened.close();
    }
  } finally {
    if (!closed) backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
