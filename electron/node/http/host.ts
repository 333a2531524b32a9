/**
 * The HTTP transport of the API router (browser mode, `medfedpure serve`). node:http only.
 *
 *   GET  /?token=…        the renderer (dist/renderer); a valid token in the query sets the HttpOnly,
 *                         SameSite=Strict token cookie, so the page's own requests authenticate by cookie
 *   POST /api/<method>    request and response in the binary codec (electron/common/codec.ts); a client that
 *                         sends and accepts application/json gets JSON (for curl; typed arrays become arrays)
 *   GET  /api/events      server-sent events: `event: <ApiEvents key>` / `data: <JSON payload>`
 *
 * Every request passes the Host/Origin checks (403) and the token check (401) of security.ts first, and every
 * response carries the strict CSP and hardening headers. Errors are ApiErrorBody JSON with a matching status.
 *
 * Body limits are per method: DEFAULT_BODY_LIMIT_BYTES (1 MiB) for the JSON calls, more only for a method whose
 * feature declares it (`method(..., { maxBodyBytes })`, e.g. `import.files`), never more than MAX_BODY_LIMIT_BYTES.
 * A declared Content-Length over the limit is refused (413) before a byte is read; the body is then read into one
 * buffer of the declared size (no second copy), and a body that runs past its limit is cut off.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_ERROR_HTTP_STATUS, ApiError } from '../../common/api-error.js';
import { CodecError, decodeMessage, encodeMessage, MESSAGE_CONTENT_TYPE } from '../../common/codec.js';
import type { ApiErrorBody } from '../../common/api-error.js';
import type { TransportRouter } from '../router/router.js';
import { checkOrigin, checkToken, newToken, presentedToken, SECURITY_HEADERS, tokenCookie } from './security.js';
import { resolveStatic } from './static-files.js';

export interface HttpHostOptions {
  router: TransportRouter;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default) or ::1. */
  bindHost?: '127.0.0.1' | '::1';
  /** Defaults to a fresh random token. */
  token?: string;
  /** The built renderer, or null to serve a "UI not built" page. */
  staticDir: string | null;
  /** Request body limit of each method that needs more than `defaultBodyBytes` (from API_BODY_LIMITS). */
  bodyLimits?: Readonly<Record<string, number>>;
  /** Limit for every other method (default DEFAULT_BODY_LIMIT_BYTES). */
  defaultBodyBytes?: number;
  logError?: (message: string, err?: unknown) => void;
}

export interface HttpHost {
  /** The URL to open, token included. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  readonly server: Server;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** JSON calls (queries, settings, one scan request) are a few KiB; 1 MiB leaves room and bounds a flood. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** No method may accept more than this in one request, whatever it declares. */
export const MAX_BODY_LIMIT_BYTES = 512 * 1024 * 1024;
const SSE_HEARTBEAT_MS = 15_000;

function sendError(res: ServerResponse, body: ApiErrorBody, status = API_ERROR_HTTP_STATUS[body.code]): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendPlain(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${message}\n`);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const header = req.headers['content-length'];
    const declared = header === undefined ? undefined : Number(header);
    if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0 || declared > max)) {
      reject(new BodyTooLarge());
      return;
    }
    // With a Content-Length, one buffer of that size (no list of chunks and no concat copy); else collect chunks.
    const whole = declared !== undefined ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      if (size + c.length > (declared ?? max)) {
        failed = true;
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      if (whole) c.copy(whole, size);
      else chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      if (!failed) resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

/** JSON fallback for curl: typed arrays become plain arrays. */
function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));
}

export async function startHttpHost(opts: HttpHostOptions): Promise<HttpHost> {
  const token = opts.token ?? newToken();
  const bindHost = opts.bindHost ?? '127.0.0.1';
  const defaultBody = Math.min(opts.defaultBodyBytes ?? DEFAULT_BODY_LIMIT_BYTES, MAX_BODY_LIMIT_BYTES);
  const bodyLimit = (method: string): number =>
    Math.min(Object.prototype.hasOwnProperty.call(opts.bodyLimits ?? {}, method) ? opts.bodyLimits![method] : defaultBody, MAX_BODY_LIMIT_BYTES);
  const logError = opts.logError ?? ((m, e) => console.error(`medfedpure serve: ${m}`, e ?? ''));
  const streams = new Set<ServerResponse>();
  let port = 0;

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let method: string;
    try {
      method = decodeURIComponent(url.pathname.slice('/api/'.length));
    } catch {
      return sendError(res, { code: 'BAD_REQUEST', message: 'Malformed API path' });
    }
    if (method === 'events') return handleEvents(req, res, url);
    const auth = checkToken(presentedToken(req, url, port, false), token);
    if (!auth.ok) return sendError(res, { code: 'UNAUTHORIZED', message: auth.reason });
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendError(res, { code: 'BAD_REQUEST', message: 'API methods are called with POST' }, 405);
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const isJson = contentType === 'application/json';
    if (contentType !== MESSAGE_CONTENT_TYPE && !isJson) {
      return sendError(res, { code: 'BAD_REQUEST', message: `Content-Type must be ${MESSAGE_CONTENT_TYPE} or application/json` }, 415);
    }
    const maxBody = bodyLimit(method);
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close'); // do not keep reading what the client still sends
        return sendError(res, { code: 'BAD_REQUEST', message: `Request body larger than ${maxBody} bytes, the limit of ${method}` }, 413);
      }
      throw err;
    }
    let request: unknown;
    try {
      request = body.length === 0 ? {} : isJson ? JSON.parse(body.toString('utf8')) : decodeMessage(body);
    } catch (err) {
      return sendError(res, { code: 'BAD_REQUEST', message: err instanceof CodecError ? err.message : 'Request body is not valid JSON' });
    }
    let result: unknown;
    try {
      result = await opts.router.dispatch(method, request);
    } catch (err) {
      return sendError(res, err instanceof ApiError ? err.toBody() : { code: 'INTERNAL', message: 'Internal error (see the application log)' });
    }
    const accept = req.headers.accept ?? '';
    const wantsJson = isJson && !accept.includes(MESSAGE_CONTENT_TYPE);
    const payload = wantsJson ? Buffer.from(toJsonText(result)) : encodeMessage(result);
    res.writeHead(200, { 'Content-Type': wantsJson ? JSON_TYPE : MESSAGE_CONTENT_TYPE, 'Cache-Control': 'no-store', 'Content-Length': payload.byteLength });
    res.end(payload);
  }

  function handleEvents(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const auth = checkToken(presentedToken(req, url, port, true), token);
    if (!auth.ok) return sendError(res, { code: 'UNAUTHORIZED', message: auth.reason });
    if (req.method !== 'GET') return sendError(res, { code: 'BAD_REQUEST', message: 'Use GET for /api/events' }, 405);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n: connected\n\n');
    streams.add(res);
    const unsubscribe = opts.router.events.onAny((event, payload) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    heartbeat.unref();
    const done = (): void => {
      unsubscribe();
      clearInterval(heartbeat);
      streams.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  }

  async function handlePage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendPlain(res, 405, 'Method not allowed');
    }
    const presented = presentedToken(req, url, port, true);
    const auth = checkToken(presented, token);
    if (!auth.ok) return sendPlain(res, 401, `Unauthorized: ${auth.reason}.`);
    const file = await resolveStatic(opts.staticDir, url.pathname);
    if (!file) return sendPlain(res, 404, 'Not found');
    const headers: Record<string, string | number> = { 'Content-Type': file.contentType, 'Cache-Control': file.cacheControl, 'Content-Length': file.body.length };
    // Opened from the printed URL: remember the token in the HttpOnly cookie for the page's own requests.
    if (url.searchParams.get('token') === token) headers['Set-Cookie'] = tokenCookie(port, token);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const verdict = checkOrigin(req, port);
    if (!verdict.ok) {
      sendError(res, { code: 'FORBIDDEN', message: verdict.reason });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    } catch {
      sendError(res, { code: 'BAD_REQUEST', message: 'Bad request URL' });
      return;
    }
    const work = url.pathname.startsWith('/api/') ? handleApi(req, res, url) : handlePage(req, res, url);
    Promise.resolve(work).catch((err: unknown) => {
      logError(`${req.method} ${url.pathname} failed`, err);
      sendError(res, { code: 'INTERNAL', message: 'Internal error (see the application log)' });
    });
  });
  server.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${bindHost === '::1' ? '[::1]' : bindHost}:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
