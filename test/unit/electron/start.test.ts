// scripts/start.mjs (`npm start`): launches Electron when its binary exists, else says so plainly and starts
// browser mode (`medfedpure serve`), whose URL comes through. Run as a real process with a short timeout;
// ELECTRON_OVERRIDE_DIST_PATH points the binary lookup at a temp folder, builds are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const START = path.join(ROOT, 'scripts', 'start.mjs');
const SERVE_EXISTS = existsSync(path.join(ROOT, 'electron', 'node', 'cli', 'main.ts'));

/** True while any process of group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs start.mjs until `until(output)` holds, it exits, or `ms` pass; then stops its whole process group and waits
 * until the group is gone (SIGKILL after 5 s, give up after 7 s), so nothing still writes into the test's folders
 * when they are removed.
 */
function runStart(env: Record<string, string>, until: (out: string) => boolean, ms: number): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START], {
      cwd: ROOT,
      env: { ...process.env, MEDFEDPURE_START_SKIP_BUILD: '1', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let done = false;
    const finish = (code: number | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGTERM'); // the group this test started: start.mjs and its child
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 5_000;
      const waitGone = (): void => {
        // Give up after 7 s: an orphan nobody reaps (a container without an init) stays a zombie for ever.
        if (!groupAlive(child.pid!) || Date.now() > deadline + 2_000) return resolve({ out, code });
        if (Date.now() > deadline) {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone meanwhile */
          }
        }
        setTimeout(waitGone, 50);
      };
      waitGone();
    };
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (until(out)) finish(null);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => setImmediate(() => finish(code)));
    const timer = setTimeout(() => finish(null), ms);
  });
}

test('without the Electron binary: says so plainly and starts browser mode', async (t) => {
  const empty = mkdtempSync(path.join(tmpdir(), 'mfp-noelectron-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mfp-start-data-'));
  try {
    const url = /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\S*/;
    const { out } = await runStart(
      { ELECTRON_OVERRIDE_DIST_PATH: empty, MEDFEDPURE_DATA_DIR: dataDir },
      (o) => (SERVE_EXISTS ? url.test(o) : /Starting browser mode/.test(o)),
      SERVE_EXISTS ? 60_000 : 15_000,
    );
    assert.match(out, /Electron's binary is not installed on this machine/);
    assert.match(out, /Starting browser mode instead \(`medfedpure serve`\)/);
    if (!SERVE_EXISTS) {
      t.skip('TODO: `medfedpure serve` (electron/node/cli) is not written yet; the URL check runs once it is');
      return;
    }
    assert.match(out, url, out);
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
});

test('with an Electron binary: launches it on the app folder', { skip: process.platform === 'win32' && 'POSIX shell stand-in' }, async () => {
  const dist = mkdtempSync(path.join(tmpdir(), 'mfp-electron-'));
  try {
    // A stand-in executable where the binary would be; it only reports how it was called.
    const bin = path.join(dist, 'electron');
    writeFileSync(bin, '#!/bin/sh\necho "stand-in electron called with: $*"\n');
    chmodSync(bin, 0o755);
    const { out, code } = await runStart({ ELECTRON_OVERRIDE_DIST_PATH: dist }, () => false, 15_000);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`stand-in electron called with: ${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.doesNotMatch(out, /not installed/);
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});
