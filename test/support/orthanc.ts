/**
 * A real PACS for tests: Debian's Orthanc (`/usr/sbin/Orthanc`) with its DICOMweb plugin, on 127.0.0.1 at a free
 * port, with its own storage folder, from the config in test/fixtures/orthanc/orthanc.json (HTTP basic auth on, DICOM
 * port off, no remote access). `startOrthanc()` resolves once /system answers; `stop()` ends the process (by its id)
 * and removes the folder; `kill()` stops it hard, as a PACS that goes away mid-transfer.
 *
 * Seeding goes through Orthanc's own REST API (POST /instances), not through our STOW-RS client, so the tests of the
 * client do not lean on the client. Tests skip themselves when Orthanc or the plugin is not installed
 * (`orthancAvailable()`); CI installs both (.ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const ORTHANC = '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const CONFIG = join(ROOT, 'test', 'fixtures', 'orthanc', 'orthanc.json');

export const ORTHANC_USER = 'mfp';
export const ORTHANC_PASSWORD = 'mfp-test-password';

export function orthancAvailable(): boolean {
  return existsSync(ORTHANC) && existsSync(DICOMWEB_PLUGIN);
}

export interface Orthanc {
  /** REST root, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Orthanc's storage folder (pass it to startOrthanc({ storage }) to restart with the same content). */
  storage: string;
  /** DICOMweb root, e.g. http://127.0.0.1:40123/dicom-web */
  dicomWeb: string;
  port: number;
  /** Authorization header value for the REST API. */
  authorization: string;
  /** Uploads DICOM files (or every file under folders) through the REST API; returns how many were stored. */
  seed(paths: readonly string[]): Promise<number>;
  /** GET on the REST API, parsed as JSON. */
  rest(path: string): Promise<unknown>;
  /** SIGKILL: the PACS disappears mid-whatever. */
  kill(): Promise<void>;
  /** SIGTERM, wait, remove the storage folder. Idempotent. */
  stop(): Promise<void>;
  /** Orthanc's log, for failure messages. */
  log(): string;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

function filesUnder(p: string): string[] {
  if (statSync(p).isDirectory()) return readdirSync(p).sort().flatMap((n) => (n.startsWith('.') ? [] : filesUnder(join(p, n))));
  return p.endsWith('.dcm') || !/\.(md|txt)$/i.test(p) ? [p] : [];
}

/**
 * Starts Orthanc. `storage`: an existing storage folder to reuse (a PACS that comes back after a crash, same
 * content); it is then the caller's to remove. Otherwise a fresh one inside the instance's own temp folder.
 */
export async function startOrthanc(opts: { storage?: string } = {}): Promise<Orthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'mfp-orthanc-'));
  const storage = opts.storage ?? join(dir, 'storage');
  const logs = join(dir, 'log');
  mkdirSync(storage, { recursive: true });
  mkdirSync(logs);
  const port = await freePort();
  const config = JSON.parse(readFileSync(CONFIG, 'utf8').replaceAll('${STORAGE}', storage)) as Record<string, unknown>;
  config.HttpPort = port;
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(ORTHANC, [`--logdir=${logs}`, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${ORTHANC_USER}:${ORTHANC_PASSWORD}`).toString('base64')}`;

  const rest = async (path: string): Promise<unknown> => {
    const r = await fetch(`${url}${path}`, { headers: { Authorization: authorization } });
    if (!r.ok) throw new Error(`Orthanc ${path}: HTTP ${r.status}`);
    return r.json();
  };
  const readLog = (): string => {
    try {
      return output + readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8')).join('\n');
    } catch {
      return output;
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Wait until the HTTP server answers (Orthanc starts in well under a second on a quiet machine).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Orthanc exited during start-up:\n${readLog()}`);
    }
    try {
      await rest('/system');
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Orthanc did not answer on ${url}:\n${readLog()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    url,
    storage,
    dicomWeb: `${url}/dicom-web`,
    port,
    authorization,
    rest,
    async seed(paths) {
      let n = 0;
      for (const file of paths.flatMap(filesUnder)) {
        const r = await fetch(`${url}/instances`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/dicom' }, body: readFileSync(file) });
        if (!r.ok) throw new Error(`Orthanc refused ${file}: HTTP ${r.status} ${await r.text()}`);
        n++;
      }
      return n;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    stop,
    log: readLog,
  };
}
