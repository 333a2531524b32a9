/**
 * A DICOMweb client (PS3.18) for one configured endpoint, on node:http/https so a site's own CA file can be trusted:
 *  - QIDO-RS: `qido(path, params)` → DICOM JSON objects (application/dicom+json), bounded to 64 MiB;
 *  - WADO-RS: `retrieve(path, onPart)` streams a multipart/related response part by part (transfer-syntax=*:
 *    the PACS sends what it holds, our decoders do the work), so a series is never held whole in memory;
 *  - STOW-RS: `stow(files)` posts a multipart/related body of DICOM files and reads the PACS's acknowledgement.
 *
 * Every failure is a PacsError naming the endpoint: UNREACHABLE (connect failed), TLS, TIMEOUT (no bytes for
 * `timeoutMs`), HTTP_STATUS (with the status and the first line of the PACS's message), BAD_RESPONSE, PARTIAL (the
 * body stopped before its end), CANCELLED (the caller's AbortSignal). Credentials go only into the Authorization
 * header; messages show the base URL and the resource path, never the query (it may carry patient names).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PacsEndpoint } from './endpoints.js';
import { PacsError } from './errors.js';
import { boundaryOf, multipartRelated, MultipartError, MultipartParser, type Part } from './multipart.js';

/** One DICOM JSON object (PS3.18 F.2): tag → { vr, Value? }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] } | undefined>;

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 4096;

/** The failure that ended a response early (timeout, cancel), so the body reader reports it instead of a bare reset. */
const endedBy = new WeakMap<IncomingMessage, PacsError>();

const TLS_CODES = /^(ERR_TLS|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(VERIFY|GET)|ERR_SSL|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/;

export interface StowOutcome {
  stored: string[];
  failed: Array<{ sopInstanceUid: string; reason: string }>;
}

export class DicomWebClient {
  private readonly base: URL;
  private readonly ca?: Buffer;

  constructor(readonly endpoint: PacsEndpoint) {
    this.base = new URL(`${endpoint.url}/`);
    if (endpoint.caFile) {
      try {
        this.ca = readFileSync(endpoint.caFile);
      } catch (err) {
        throw new PacsError('TLS', endpoint.url, `cannot read CA file ${endpoint.caFile}: ${(err as Error).message}`);
      }
    }
  }

  /** Names the endpoint and resource in messages: base URL + path, no query. */
  where(path: string): string {
    return `${this.endpoint.url}/${path.split('?')[0]}`;
  }

  private authHeader(): OutgoingHttpHeaders {
    const a = this.endpoint.auth;
    if (a.kind === 'basic') return { Authorization: `Basic ${Buffer.from(`${a.username ?? ''}:${a.secret ?? ''}`, 'utf8').toString('base64')}` };
    if (a.kind === 'bearer') return { Authorization: `Bearer ${a.secret ?? ''}` };
    return {};
  }

  /**
   * Sends one request and resolves with the response once its headers are in and its status is 2xx. The body is
   * the caller's to read; the idle timeout keeps running while it does.
   */
  private send(method: 'GET' | 'POST', path: string, headers: OutgoingHttpHeaders, body: Buffer[] | null, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const where = this.where(path);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new PacsError('CANCELLED', where, 'cancelled'));
      const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = requestFn(url, {
        method,
        headers: { ...headers, ...this.authHeader(), 'User-Agent': 'MedFedPure-Workstation' },
        ...(this.ca ? { ca: this.ca } : {}),
      });
      let settled = false;
      let response: IncomingMessage | undefined;
      const fail = (err: PacsError): void => {
        if (response && !endedBy.has(response)) endedBy.set(response, err);
        req.destroy(err);
        if (!settled) {
          settled = true;
          reject(err);
        }
      };
      const onAbort = (): void => fail(new PacsError('CANCELLED', where, 'cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(this.endpoint.timeoutMs, () => fail(new PacsError('TIMEOUT', where, `no response for ${Math.round(this.endpoint.timeoutMs / 1000)} s`)));
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof PacsError) return fail(err);
        const code = err.code ?? '';
        if (TLS_CODES.test(code)) return fail(new PacsError('TLS', where, `TLS: ${err.message}`));
        fail(new PacsError(settled ? 'PARTIAL' : 'UNREACHABLE', where, `${settled ? 'connection lost' : 'cannot connect'} (${code || err.message})`));
      });
      req.on('response', (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          settled = true;
          resolve(res);
          return;
        }
        readBounded(res, MAX_ERROR_BYTES)
          .catch(() => Buffer.alloc(0))
          .then((b) => {
            const text = b.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
            const err = new PacsError('HTTP_STATUS', where, `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${text ? `: ${text}` : ''}`);
            (err as PacsError & { status?: number; body?: Buffer }).status = status;
            (err as PacsError & { status?: number; body?: Buffer }).body = b;
            fail(err);
          });
      });
      if (body) for (const c of body) req.write(c);
      req.end();
    });
  }

  /** QIDO-RS: GET path?params → the DICOM JSON array (204 No Content → []). */
  async qido(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<DicomJson[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.append(k, String(v));
    const full = q.size > 0 ? `${path}?${q.toString()}` : path;
    const res = await this.send('GET', full, { Accept: 'application/dicom+json, application/json' }, null, signal);
    if (res.statusCode === 204) {
      res.resume();
      return [];
    }
    let bytes: Buffer;
    try {
      bytes = await readBounded(res, MAX_JSON_BYTES);
    } catch (err) {
      throw endedBy.get(res) ?? toTransferError(err, this.where(path));
    }
    if (bytes.length === 0) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new PacsError('BAD_RESPONSE', this.where(path), 'QIDO-RS answer is not JSON');
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
      throw new PacsError('BAD_RESPONSE', this.where(path), 'QIDO-RS answer is not an array of DICOM JSON objects');
    }
    return parsed as DicomJson[];
  }

  /**
   * WADO-RS: streams the multipart response of `path` (a study, series or instance) and calls `onPart` for each
   * DICOM part as it completes (awaiting it, so a slow store slows the download instead of buffering it).
   * Throws PARTIAL when the body ends early or the connection drops, naming how many parts arrived.
   */
  async retrieve(path: string, onPart: (part: Part) => void | Promise<void>, opts: { signal?: AbortSignal; onBytes?: (n: number) => void; maxPartBytes?: number } = {}): Promise<number> {
    const where = this.where(path);
    const res = await this.send('GET', path, { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' }, null, opts.signal);
    let parser: MultipartParser;
    try {
      parser = new MultipartParser(boundaryOf(res.headers['content-type']), opts.maxPartBytes);
    } catch (err) {
      res.destroy();
      throw new PacsError('BAD_RESPONSE', where, (err as Error).message);
    }
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        opts.onBytes?.(chunk.length);
        for (const part of parser.push(chunk)) {
          if (opts.signal?.aborted) throw new PacsError('CANCELLED', where, `cancelled after ${parser.count - 1} instance(s)`);
          await onPart(part);
        }
        if (parser.finished) break;
      }
      parser.end();
    } catch (err) {
      res.destroy();
      if (err instanceof PacsError) throw err;
      const ended = endedBy.get(res);
      if (ended) throw ended.code === 'CANCELLED' || ended.code === 'TIMEOUT' ? new PacsError(ended.code, where, `${ended.code === 'CANCELLED' ? 'cancelled' : 'timed out'} after ${parser.count} instance(s)`) : ended;
      if (opts.signal?.aborted) throw new PacsError('CANCELLED', where, `cancelled after ${parser.count} instance(s)`);
      if (err instanceof MultipartError && !/ended before/.test(err.message)) throw new PacsError('BAD_RESPONSE', where, err.message);
      throw new PacsError('PARTIAL', where, `transfer stopped after ${parser.count} instance(s): ${err instanceof Error ? err.message : String(err)}`);
    }
    return parser.count;
  }

  /**
   * STOW-RS: POST the files to `studies` (or `studies/{uid}`) as one multipart/related body. Reads the PACS's
   * acknowledgement (Referenced SOP Sequence, Failed SOP Sequence); HTTP 409 with a body is a refusal of every file.
   */
  async stow(files: readonly Uint8Array[], opts: { studyInstanceUid?: string; signal?: AbortSignal } = {}): Promise<StowOutcome> {
    const path = opts.studyInstanceUid ? `studies/${opts.studyInstanceUid}` : 'studies';
    const body = multipartRelated(files);
    let res: IncomingMessage;
    let bytes: Buffer;
    try {
      res = await this.send('POST', path, { 'Content-Type': body.contentType, 'Content-Length': body.length, Accept: 'application/dicom+json, application/json' }, body.chunks, opts.signal);
      bytes = await readBounded(res, MAX_JSON_BYTES);
    } catch (err) {
      const e = err as PacsError & { status?: number; body?: Buffer };
      if (e instanceof PacsError && e.status === 409 && e.body && e.body.length > 0) bytes = e.body;
      else throw err instanceof PacsError ? err : toTransferError(err, this.where(path));
    }
    return parseStowResponse(bytes, this.where(path));
  }
}

/** Reads the PACS's STOW-RS answer (PS3.18 10.5.3): what it stored and what it refused, with the reason code. */
export function parseStowResponse(bytes: Buffer, where: string): StowOutcome {
  if (bytes.length === 0) return { stored: [], failed: [] };
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PacsError('BAD_RESPONSE', where, 'STOW-RS answer is not JSON');
  }
  const obj = (Array.isArray(json) ? json[0] : json) as DicomJson | undefined;
  const items = (tag: string): DicomJson[] => ((obj?.[tag]?.Value ?? []) as DicomJson[]).filter((x) => typeof x === 'object' && x !== null);
  const uidOf = (x: DicomJson): string => String(x['00081155']?.Value?.[0] ?? '');
  return {
    stored: items('00081199').map(uidOf).filter(Boolean),
    failed: items('00081198').map((x) => ({ sopInstanceUid: uidOf(x), reason: `failure reason ${String(x['00081197']?.Value?.[0] ?? 'unknown')}` })),
  };
}

function toTransferError(err: unknown, where: string): PacsError {
  if (err instanceof PacsError) return err;
  if (err instanceof TooLarge) return new PacsError('BAD_RESPONSE', where, err.message);
  return new PacsError('PARTIAL', where, `transfer stopped: ${err instanceof Error ? err.message : String(err)}`);
}

class TooLarge extends Error {}

/** Reads a response body up to `max` bytes; more is an error (a PACS answer is never that large). */
async function readBounded(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new TooLarge(`answer larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  if (!res.complete) throw new Error('connection closed before the answer was complete');
  return Buffer.concat(chunks);
}
