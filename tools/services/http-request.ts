// HTTP/1.1 request framing for the http service (RFC 9112): the request head (request line and
// header fields) and the body's framing (Content-Length, or chunked transfer coding). Pure
// functions over byte ranges, so they are tested without sockets. Lenient where RFC 9112 allows
// (bare LF line ends, leading empty lines), strict where framing is at stake (conflicting
// Content-Length values, unknown transfer codings).

/** Largest request head accepted (request line + header fields). */
export const HEAD_MAX = 16 * 1024;

export interface HttpRequestHead {
  readonly method: string;
  /** The request target as sent (origin-form: path and optional query). */
  readonly target: string;
  /** 1.0 or 1.1. */
  readonly minor: 0 | 1;
  /** Content-Length, or null when absent (or overridden by chunked). */
  readonly contentLength: number | null;
  readonly chunked: boolean;
  /** The connection persists after this exchange (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  /** Expect: 100-continue was sent. */
  readonly expectContinue: boolean;
}

export type HeadResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'ok'; readonly head: HttpRequestHead; readonly consumed: number }
  | { readonly kind: 'error'; readonly status: number; readonly reason: string };

const INCOMPLETE: HeadResult = { kind: 'incomplete' };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const latin1 = new TextDecoder('latin1');

/** Parses the request head at b[start, end). */
export function parseRequestHead(b: Uint8Array, start: number, end: number): HeadResult {
  // RFC 9112 §2.2: ignore at least one empty line before the request line.
  let s = start;
  while (s < end && (b[s] === 13 || b[s] === 10)) s++;
  let headEnd = -1;
  for (let i = s; i < end; i++) {
    if (b[i] !== 10) continue;
    if (i + 1 < end && b[i + 1] === 10) { headEnd = i + 2; break; }
    if (i + 2 < end && b[i + 1] === 13 && b[i + 2] === 10) { headEnd = i + 3; break; }
  }
  if (headEnd < 0) {
    if (end - start > HEAD_MAX) return { kind: 'error', status: 431, reason: 'request head too large' };
    return INCOMPLETE;
  }
  if (headEnd - start > HEAD_MAX) return { kind: 'error', status: 431, reason: 'request head too large' };
  const lines = latin1.decode(b.subarray(s, headEnd)).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const rl = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0] ?? '');
  if (rl === null) return { kind: 'error', status: 400, reason: 'malformed request line' };
  const minor = rl[3] === '1' ? 1 : 0;
  let contentLength: number | null = null;
  let te: string | null = null;
  let connection = '';
  let expectContinue = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return { kind: 'error', status: 400, reason: 'malformed header field' };
    const value = line.slice(colon + 1).trim();
    switch (name.toLowerCase()) {
      case 'content-length': {
        // RFC 9110 §8.6: a list of identical values may be accepted; anything else is an error.
        const parts = value.split(',').map((p) => p.trim());
        for (const p of parts) {
          if (!/^\d{1,15}$/.test(p)) return { kind: 'error', status: 400, reason: 'bad Content-Length' };
          const n = Number(p);
          if (contentLength !== null && contentLength !== n) return { kind: 'error', status: 400, reason: 'conflicting Content-Length' };
          contentLength = n;
        }
        break;
      }
      case 'transfer-encoding':
        te = te === null ? value.toLowerCase() : `${te}, ${value.toLowerCase()}`;
        break;
      case 'connection':
        connection += `,${value.toLowerCase()}`;
        break;
      case 'expect':
        if (value.toLowerCase() === '100-continue') expectContinue = true;
        break;
      default:
        break;
    }
  }
  let chunked = false;
  let keepAlive = minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
  if (te !== null) {
    const codings = te.split(',').map((c) => c.trim()).filter((c) => c !== '');
    // RFC 9112 §6.1: chunked must be the final coding; we implement no other coding.
    if (codings.length !== 1 || codings[0] !== 'chunked') return { kind: 'error', status: 501, reason: 'unsupported transfer coding' };
    chunked = true;
    // §6.3: Transfer-Encoding overrides Content-Length; such a message may be an attack, so close after it.
    if (contentLength !== null) keepAlive = false;
    contentLength = null;
  }
  return {
    kind: 'ok',
    consumed: headEnd - start,
    head: { method: rl[1]!, target: rl[2]!, minor, contentLength, chunked, keepAlive, expectContinue },
  };
}

/** Chunk-size lines longer than this are an error (hex size, extensions). */
const CHUNK_LINE_MAX = 1024;
/** Trailer section bytes accepted. */
const TRAILER_MAX = 8 * 1024;

const ST_SIZE = 0, ST_DATA = 1, ST_DATA_CR = 2, ST_TRAILER = 3, ST_DONE = 4;

/** Incremental decoder of the chunked transfer coding (RFC 9112 §7.1). */
export class ChunkedDecoder {
  private state = ST_SIZE;
  private left = 0;
  private line = '';
  private trailerBytes = 0;
  /** Why decoding failed, once it has. */
  error: string | null = null;

  get done(): boolean { return this.state === ST_DONE; }

  /**
   * Decodes b[off, off+len): body bytes go to `onData`. Returns the bytes consumed (less than
   * `len` only once the last chunk and trailers are complete), or -1 on a framing error.
   */
  feed(b: Uint8Array, off: number, len: number, onData: (b: Uint8Array, off: number, len: number) => void): number {
    let i = off;
    const end = off + len;
    while (i < end && this.state !== ST_DONE) {
      switch (this.state) {
        case ST_SIZE: case ST_TRAILER: {
          const c = b[i++]!;
          if (c !== 10) {
            if (c !== 13) this.line += String.fromCharCode(c);
            if (this.line.length > CHUNK_LINE_MAX) return this.fail('chunk line too long');
            if (this.state === ST_TRAILER && ++this.trailerBytes > TRAILER_MAX) return this.fail('trailer too large');
            break;
          }
          const line = this.line;
          this.line = '';
          if (this.state === ST_TRAILER) {
            if (line === '') this.state = ST_DONE;
            break;
          }
          const m = /^([0-9A-Fa-f]{1,12})\s*(;.*)?$/.exec(line);
          if (m === null) return this.fail('bad chunk size');
          this.left = parseInt(m[1]!, 16);
          this.state = this.left === 0 ? ST_TRAILER : ST_DATA;
          break;
        }
        case ST_DATA: {
          const n = Math.min(this.left, end - i);
          onData(b, i, n);
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = ST_DATA_CR;
          break;
        }
        case ST_DATA_CR: {
          const c = b[i++]!;
          if (c === 13) break;
          if (c !== 10) return this.fail('missing CRLF after chunk data');
          this.state = ST_SIZE;
          break;
        }
      }
    }
    return i - off;
  }

  private fail(why: string): number {
    this.error = why;
    return -1;
  }
}
