/**
 * A streaming multipart/related parser (RFC 2046 §5.1, RFC 2387) for WADO-RS responses, and the writer STOW-RS
 * requests use.
 *
 * WADO-RS sends a whole series as one multipart body; a series can be gigabytes, so the parser never holds more than
 * the part being read: `push(chunk)` returns the parts completed by that chunk, and only a few bytes (the length of
 * the delimiter) are carried between chunks. A part larger than `maxPartBytes` or headers longer than 16 KiB fail
 * closed with MultipartError; so does a body that ends before its closing delimiter (`end()`), which is how a PACS
 * that went away mid-transfer shows up.
 */
import { randomBytes } from 'node:crypto';

export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

export interface Part {
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary parameter of a multipart Content-Type, or throws MultipartError. */
export function boundaryOf(contentType: string | undefined): string {
  if (!contentType || !/^\s*multipart\/related\b/i.test(contentType)) throw new MultipartError(`expected a multipart/related response, got "${contentType ?? '(none)'}"`);
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new MultipartError('multipart/related response without a boundary');
  return boundary;
}

export class MultipartParser {
  private readonly delimiter: Buffer;
  private state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble';
  /** Unsearched bytes carried to the next chunk. Starts with CRLF so the first delimiter needs no special case. */
  private pending: Buffer = CRLF;
  private headers: Record<string, string> = {};
  private body: Buffer[] = [];
  private bodyBytes = 0;
  /** Parts completed so far. */
  count = 0;

  constructor(
    boundary: string,
    private readonly maxPartBytes = 1024 ** 3,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): Part[] {
    const out: Part[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = Buffer.alloc(0);
    for (;;) {
      if (this.state === 'done') return out; // the epilogue is ignored
      if (this.state === 'preamble' || this.state === 'body') {
        const at = data.indexOf(this.delimiter);
        if (at === -1) {
          // Keep the last delimiter-length − 1 bytes: the delimiter may straddle this chunk and the next.
          const safe = Math.max(0, data.length - (this.delimiter.length - 1));
          if (this.state === 'body') this.appendBody(data.subarray(0, safe));
          this.pending = Buffer.from(data.subarray(safe));
          return out;
        }
        if (this.state === 'body') {
          this.appendBody(data.subarray(0, at));
          out.push({ headers: this.headers, body: this.body.length === 1 ? this.body[0] : Buffer.concat(this.body) });
          this.count++;
          this.body = [];
          this.bodyBytes = 0;
          this.headers = {};
        }
        data = data.subarray(at + this.delimiter.length);
        this.state = 'after-delimiter';
      }
      if (this.state === 'after-delimiter') {
        // "--" closes the body; otherwise optional transport padding, then CRLF, then the part's headers.
        if (data.length < 2) return this.keep(data, out);
        if (data[0] === 0x2d && data[1] === 0x2d) {
          this.state = 'done';
          return out;
        }
        const eol = data.indexOf(CRLF);
        if (eol === -1) {
          if (data.length > 256) throw new MultipartError('malformed multipart delimiter line');
          return this.keep(data, out);
        }
        if (!/^[ \t]*$/.test(data.subarray(0, eol).toString('latin1'))) throw new MultipartError('malformed multipart delimiter line');
        // Point at the CRLF so a part with no headers ("CRLF CRLF") is found by the same search.
        data = data.subarray(eol);
        this.state = 'headers';
      }
      if (this.state === 'headers') {
        const end = data.indexOf(HEADER_END);
        if (end === -1) {
          if (data.length > MAX_HEADER_BYTES) throw new MultipartError('multipart part headers longer than 16 KiB');
          return this.keep(data, out);
        }
        this.headers = parseHeaders(data.subarray(2, end).toString('latin1'));
        const declared = Number(this.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.maxPartBytes) throw new MultipartError(`a part declares ${declared} bytes, over the ${this.maxPartBytes}-byte limit`);
        // The part's body starts right after the blank line; its end is found by searching for the delimiter,
        // which begins with the CRLF that ends the body.
        data = data.subarray(end + HEADER_END.length);
        this.state = 'body';
      }
    }
  }

  /** Call when the stream ended: throws unless the closing delimiter was seen. */
  end(): void {
    if (this.state !== 'done') throw new MultipartError(`multipart body ended before its closing delimiter (after ${this.count} complete part(s))`);
  }

  private keep(data: Buffer, out: Part[]): Part[] {
    this.pending = Buffer.from(data);
    return out;
  }

  private appendBody(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.bodyBytes += bytes.length;
    if (this.bodyBytes > this.maxPartBytes) throw new MultipartError(`a part is larger than the ${this.maxPartBytes}-byte limit`);
    this.body.push(Buffer.from(bytes)); // a copy: the chunk's memory is not ours to keep
  }
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A multipart/related body of DICOM files for STOW-RS: its Content-Type header and its chunks. */
export function multipartRelated(files: readonly Uint8Array[], type = 'application/dicom'): { contentType: string; chunks: Buffer[]; length: number } {
  const boundary = `mfp-${randomBytes(16).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const f of files) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${f.byteLength}\r\n\r\n`, 'latin1'));
    chunks.push(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    chunks.push(CRLF);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { contentType: `multipart/related; type="${type}"; boundary=${boundary}`, chunks, length: chunks.reduce((n, c) => n + c.length, 0) };
}
