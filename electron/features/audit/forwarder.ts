/**
 * Audit forwarding: sends every audit event, in seq order, to an audit repository as RFC 5424 syslog messages over
 * TLS (RFC 5425, the IHE ATNA transport), so that cutting or rewriting the local log is provable to a third party.
 *
 * The queue on disk is the audit log itself (ordered, durable, append-only); the forwarder only keeps a cursor file
 * beside it (`<audit file>.forwarded`: the last seq handed to the repository's TLS connection, replaced atomically).
 * It sends rows after the cursor, oldest first, and moves the cursor only when the socket has taken a batch; when
 * the repository is down or the connection drops it retries with backoff (1 s doubling to 60 s) from the cursor.
 * So no event is lost or reordered; after a drop the last batch may arrive twice (at-least-once: the repository
 * can drop repeats by the seq each message carries).
 *
 * Each message: `<PRI>1 TIMESTAMP HOST APP - IHE+RFC-3881 [mfp@32473 seq=".." hash=".." prev=".."] BOM <ATNA XML>`,
 * framed by octet counting (RFC 5425 §4.3). Facility 10 (security/authorization); severity from the outcome
 * (success: notice, minor failure: warning, serious: error, major: critical). 32473 is the private enterprise number
 * RFC 5612 reserves for documentation: a site replaces it with its own.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import type { AuditEvent } from './api.js';
import type { AuditStore } from './audit-store.js';
import { atnaMessage } from './exporters.js';

export interface ForwarderConfig {
  host: string;
  port: number;
  /** PEM of the CA that signed the repository's certificate (the connection is refused otherwise). */
  ca: string | Buffer;
  /** Client certificate and key for mutual TLS (ATNA node authentication), optional. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name checked against the repository's certificate (default: host). */
  servername?: string;
  /** APP-NAME and HOSTNAME of the messages. */
  appName?: string;
  hostname?: string;
  /** First retry delay (default 1 s; doubles to 60 s). */
  retryInitialMs?: number;
}

const SEVERITY: Record<AuditEvent['outcome'], number> = { success: 5, 'minor-failure': 4, 'serious-failure': 3, 'major-failure': 2 };
const FACILITY = 10;
const BATCH = 200;

/** SD-PARAM value escaping (RFC 5424 §6.3.3): ", \ and ] are escaped. */
const sdValue = (s: string): string => s.replace(/["\\\]]/g, (c) => `\\${c}`);
/** HOSTNAME / APP-NAME: printable US-ASCII without spaces, bounded. */
const header = (s: string, max: number): string => (s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-');

/** One event as an RFC 5424 message (without framing). */
export function syslogMessage(e: AuditEvent, opts: { appName: string; hostname: string; auditSourceId: string }): string {
  const pri = FACILITY * 8 + SEVERITY[e.outcome];
  const sd = `[mfp@32473 seq="${e.seq}" hash="${sdValue(e.entryHash)}" prev="${sdValue(e.prevHash)}"]`;
  return `<${pri}>1 ${e.timeUtc} ${header(opts.hostname, 255)} ${header(opts.appName, 48)} - IHE+RFC-3881 ${sd} \uFEFF${atnaMessage(e, opts.auditSourceId)}`;
}

/** Octet-counting frame: `MSG-LEN SP SYSLOG-MSG`, the length in bytes of UTF-8. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export interface ForwarderStatus {
  connected: boolean;
  forwardedSeq: number;
  lastError: string | null;
}

export class AuditForwarder {
  private socket: TLSSocket | null = null;
  private connecting = false;
  private sending = false;
  private stopped = false;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | null = null;
  private cursor: number;
  private lastError: string | null = null;

  constructor(
    private readonly audit: AuditStore,
    private readonly cursorFile: string,
    private readonly config: ForwarderConfig,
  ) {
    this.cursor = readCursor(cursorFile);
    this.retryMs = config.retryInitialMs ?? 1000;
  }

  status(): ForwarderStatus {
    return { connected: this.socket !== null, forwardedSeq: this.cursor, lastError: this.lastError };
  }

  /** Starts forwarding (call once) and whenever rows were appended. */
  notify(): void {
    if (this.stopped) return;
    if (!this.socket) this.connect();
    else void this.pump();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): void {
    if (this.connecting || this.retryTimer || this.stopped) return;
    this.connecting = true;
    const s = connect({
      host: this.config.host, port: this.config.port, ca: this.config.ca, cert: this.config.cert, key: this.config.key,
      servername: this.config.servername ?? this.config.host, rejectUnauthorized: true,
    });
    const fail = (err: Error): void => {
      this.lastError = err.message;
      this.connecting = false;
      if (this.socket === s) this.socket = null;
      s.destroy();
      this.scheduleRetry();
    };
    s.once('secureConnect', () => {
      this.connecting = false;
      this.socket = s;
      this.retryMs = this.config.retryInitialMs ?? 1000;
      this.lastError = null;
      void this.pump();
    });
    s.on('error', fail);
    s.on('close', () => {
      if (this.socket === s) {
        this.socket = null;
        this.scheduleRetry();
      }
    });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 60_000);
  }

  /** Sends batches after the cursor until the log is drained or the connection goes. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        const s = this.socket;
        if (!s || this.stopped) return;
        const rows = this.audit.after(this.cursor, BATCH);
        if (rows.length === 0) return;
        const opts = { appName: this.config.appName ?? 'medfedpure', hostname: this.config.hostname ?? 'localhost', auditSourceId: this.config.hostname ?? 'medfedpure' };
        const data = Buffer.concat(rows.map((e) => frame(syslogMessage(e, opts))));
        const ok = await new Promise<boolean>((resolve) => s.write(data, (err) => resolve(!err)));
        if (!ok || this.socket !== s) return; // the close handler retries from the cursor
        this.cursor = rows[rows.length - 1]!.seq;
        writeCursor(this.cursorFile, this.cursor);
      }
    } finally {
      this.sending = false;
    }
  }
}

/**
 * The forwarding settings of a data folder: `audit-forwarding.json` beside the audit log, written by the site's
 * administrator: { "host": "...", "port": 6514, "caFile": "...", "certFile"?: "...", "keyFile"?: "...", "hostname"?: "..." }.
 * Absent: no forwarding. Present but wrong: an error, so a site that asked for forwarding never runs without it.
 */
export function loadForwardingConfig(dataDir: string, defaultHostname: string): ForwarderConfig | null {
  const file = join(dataDir, 'audit-forwarding.json');
  if (!existsSync(file)) return null;
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const str = (k: string, required: boolean): string | undefined => {
    const v = c[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096) throw new Error(`${file}: "${k}" must be a non-empty string`);
    return v;
  };
  const port = c.port ?? 6514;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${file}: "port" must be an integer in 1..65535`);
  const read = (k: string, required: boolean): Buffer | undefined => {
    const p = str(k, required);
    return p === undefined ? undefined : readFileSync(resolve(dataDir, p));
  };
  return { host: str('host', true)!, port, ca: read('caFile', true)!, cert: read('certFile', false), key: read('keyFile', false), hostname: str('hostname', false) ?? defaultHostname };
}

function readCursor(file: string): number {
  if (!existsSync(file)) return 0;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { seq?: unknown };
    return typeof c.seq === 'number' && Number.isInteger(c.seq) && c.seq >= 0 ? c.seq : 0;
  } catch {
    return 0; // unreadable: resend everything (at-least-once)
  }
}

function writeCursor(file: string, seq: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ seq }));
  renameSync(tmp, file);
}
