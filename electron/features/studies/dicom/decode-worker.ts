/**
 * Decoding off the event loop: one worker_thread per process (started on first use, unref'd so it never keeps a
 * process alive) runs decode-worker-entry.ts. The study store sends it the bytes of every file it imports and every
 * frame it decodes for a transport, so a hostile or merely large file costs the worker's time, never the HTTP host's
 * or Electron main's: other requests keep being answered while it works.
 *
 * The worker runs under a V8 heap ceiling (WORKER_HEAP_MB; typed-array memory is outside it, and bounded by the
 * declared-size limits of limits.ts instead). If it dies (out of memory on a file that got past the
 * limits, a crash in a codec) or a request takes longer than REQUEST_TIMEOUT_MS, the request in hand fails with a
 * typed DicomError (TOO_LARGE or DECODE_FAILED, naming the file), the worker is replaced, and the requests queued
 * behind it are sent to the new one.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Frame } from '../api.js';
import { DicomError, type DicomErrorCode } from './errors.js';
import type { ImageInfo, InstanceHeader } from './header.js';

/** The worker's V8 old-generation ceiling: limits.ts caps a decode at ~128 MiB of Float32 plus its input. */
export const WORKER_HEAP_MB = 768;
/** Longest a single decode may take before the worker is replaced (a 33 MP JPEG 2000 frame takes a few seconds). */
export const REQUEST_TIMEOUT_MS = 60_000;
let timeoutMs = REQUEST_TIMEOUT_MS;

/** Tests: a shorter request timeout (undefined restores REQUEST_TIMEOUT_MS). */
export function setDecodeTimeoutForTests(ms: number | undefined): void {
  timeoutMs = ms ?? REQUEST_TIMEOUT_MS;
}

type Reply =
  | { id: number; ok: true; frame?: Frame; read?: { header: InstanceHeader; image: ImageInfo } | null }
  | { id: number; ok: false; error: { code: DicomErrorCode; file: string; reason: string } };

interface Pending {
  id: number;
  message: { op: 'frame' | 'read'; bytes: Uint8Array; name: string; frame?: number };
  resolve(r: Reply): void;
  reject(e: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();
/** One request at a time in the worker: a request that kills it can then be named exactly. */
const queue: Pending[] = [];
let inFlight: Pending | null = null;

function startWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './decode-worker-entry.ts' : './decode-worker-entry.js', import.meta.url);
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
  const w = fromSource
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`, { eval: true, resourceLimits })
    : new Worker(fileURLToPath(entry), { resourceLimits });
  w.unref();
  w.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    finish(p);
    p.resolve(reply);
  });
  const died = (why: string, code: DicomErrorCode): void => {
    if (worker !== w) return;
    worker = null;
    const p = inFlight;
    if (p) {
      finish(p);
      p.reject(new DicomError(code, p.message.name, why));
    } else pump();
  };
  w.on('error', (err) => died(`the decoder stopped: ${err.message}`, /memory|heap/i.test(err.message) ? 'TOO_LARGE' : 'DECODE_FAILED'));
  w.on('exit', (code) => died(`the decoder exited with code ${code}`, 'DECODE_FAILED'));
  return w;
}

function finish(p: Pending): void {
  if (p.timer) clearTimeout(p.timer);
  pending.delete(p.id);
  if (inFlight === p) inFlight = null;
  pump();
}

function pump(): void {
  if (inFlight || queue.length === 0) return;
  const p = queue.shift()!;
  inFlight = p;
  worker ??= startWorker();
  const w = worker;
  p.timer = setTimeout(() => {
    if (inFlight !== p) return;
    worker = null;
    finish(p);
    p.reject(new DicomError('DECODE_FAILED', p.message.name, `decoding took longer than ${timeoutMs} ms`));
    void w.terminate();
  }, timeoutMs);
  p.timer.unref?.();
  w.ref(); // keep the process alive while a request is in the worker
  w.postMessage({ id: p.id, ...p.message });
}

function request(message: Pending['message']): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const id = nextId++;
    const p: Pending = {
      id,
      message,
      resolve: (r) => { releaseRef(); resolve(r); },
      reject: (e) => { releaseRef(); reject(e); },
    };
    pending.set(id, p);
    queue.push(p);
    pump();
  });
}

function releaseRef(): void {
  if (worker && pending.size === 0) worker.unref();
}

function unwrap<T>(r: Reply, pick: (ok: Extract<Reply, { ok: true }>) => T): T {
  if (!r.ok) throw new DicomError(r.error.code, r.error.file, r.error.reason);
  return pick(r);
}

/** Decodes frame `frame` of a DICOM file in the worker. Throws DicomError. */
export async function decodeFrameOffThread(bytes: Uint8Array, name: string, frame = 0): Promise<Frame> {
  return unwrap(await request({ op: 'frame', bytes, name, frame }), (r) => r.frame!);
}

/** Reads a file for import in the worker (null: a DICOMDIR). Throws DicomError. */
export async function readForImportOffThread(bytes: Uint8Array, name: string): Promise<{ header: InstanceHeader; image: ImageInfo } | null> {
  return unwrap(await request({ op: 'read', bytes, name }), (r) => r.read ?? null);
}

/** Stops the worker (tests; the process exit does it otherwise). */
export async function stopDecodeWorker(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await w.terminate();
}
