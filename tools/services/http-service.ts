// The http service (TCP port 80): HTTP/1.1 with persistent connections and pipelining.
//   GET|HEAD /           a small HTML page
//   GET|HEAD /bytes/N    N bytes, byte i = i mod 251, with Content-Length (streamed as the window allows)
//   PUT|POST /sha256     reads the whole body (Content-Length or chunked) and answers its
//                        lowercase hex SHA-256 followed by a newline
// Anything else: 404, or 405 with Allow. Malformed requests get 400/431/501 and the connection closes.
//
// socket events → HttpConnection.onEvents: flush queued output → parse head → route → read body
//   (into SHA-256 or nowhere) → queue the response → next request

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Socket } from '../../stack/socket/socket.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { MSG_DONTWAIT } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { TcpConnection } from './tcp-server.js';
import type { TcpServer } from './tcp-server.js';
import { ChunkedDecoder, HEAD_MAX, parseRequestHead } from './http-request.js';
import type { HttpRequestHead } from './http-request.js';

/** Largest N for /bytes/N (1 TB). */
export const BYTES_MAX = 1e12;
const PATTERN_MOD = 251;
/** Bytes offered per sosend of the /bytes pattern. */
const PATTERN_CHUNK = 64 * 1024;
/** Passes through the connection's loop per wakeup before yielding to the event loop. */
const MAX_ROUNDS = 128;
const IN_CAP = HEAD_MAX + 64 * 1024;

export const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>tunstack</title></head>
<body><h1>tunstack</h1>
<p>This page was served by a userland TCP/IP stack written in TypeScript, over a Linux TUN device.</p>
<ul>
<li><a href="/bytes/1000">/bytes/N</a>: N bytes, byte i is i mod 251</li>
<li>PUT or POST /sha256: the SHA-256 of the request body</li>
</ul></body></html>
`;

/** A buffer in which bytes [k, k + PATTERN_CHUNK) for any k < 251 hold (k + j) mod 251: shared by a server's connections. */
export function bytesPattern(): Uint8Array {
  const b = new Uint8Array(PATTERN_CHUNK + PATTERN_MOD);
  for (let i = 0; i < b.length; i++) b[i] = i % PATTERN_MOD;
  return b;
}

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Content Too Large', 431: 'Request Header Fields Too Large', 501: 'Not Implemented',
};

type Plan =
  | { readonly kind: 'static'; readonly status: number; readonly type: string; readonly body: string; readonly allow?: string }
  | { readonly kind: 'bytes'; readonly n: number }
  | { readonly kind: 'sha256' };

const PH_HEAD = 0, PH_BODY = 1, PH_RESPOND = 2;
const OUT_DONE = 0, OUT_BLOCKED = 1, OUT_YIELD = 2, OUT_DEAD = 3;

const enc = new TextEncoder();

export class HttpConnection extends TcpConnection {
  requests = 0;
  private readonly inb = new Uint8Array(IN_CAP);
  private inS = 0;
  private inE = 0;
  private eof = false;
  private phase = PH_HEAD;
  private head: HttpRequestHead | null = null;
  private plan: Plan | null = null;
  private bodyLeft = 0;
  private chunked: ChunkedDecoder | null = null;
  private hash: Hash | null = null;
  private closeAfter = false;
  private readonly outQ: Uint8Array[] = [];
  private outOff = 0;
  private patLeft = 0;
  private patPos = 0;
  private readonly msg = new SoRecvMsg();
  private readonly sent = { value: 0 };
  private readonly onBody = (b: Uint8Array, off: number, len: number): void => {
    if (this.hash !== null && len > 0) this.hash.update(b.subarray(off, off + len));
  };

  /** `pattern` comes from bytesPattern(), shared by every connection of a server. */
  constructor(server: TcpServer, so: Socket, private readonly pattern: Uint8Array) {
    super(server, so);
  }

  protected onEvents(_events: number): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const o = this.flushOut();
      if (o === OUT_DEAD || this.closed) return;
      if (o === OUT_BLOCKED) return; // a write wakeup brings us back
      if (o === OUT_YIELD) break;
      if (this.phase === PH_RESPOND) {
        if (this.closeAfter) { this.close(); return; }
        this.phase = PH_HEAD;
        this.head = null;
        this.plan = null;
      }
      if (this.inS < this.inE && this.process()) continue;
      if (this.closed) return;
      if (this.phase === PH_RESPOND) continue;
      if (this.eof) { this.close(); return; } // the peer is done (mid-request or between requests)
      if (!this.readMore()) return;
    }
    this.later();
  }

  /** Reads into the input buffer; false when there is nothing to read now (or the connection died). */
  private readMore(): boolean {
    if (this.inS > 0) {
      this.inb.copyWithin(0, this.inS, this.inE);
      this.inE -= this.inS;
      this.inS = 0;
    }
    if (this.inE === this.inb.length) {
      // Only a head can fill the buffer (bodies are consumed as they come): too large.
      this.fail(431, 'request head too large');
      return true;
    }
    const e = soreceive(this.so, [this.inb.subarray(this.inE)], MSG_DONTWAIT, this.msg, this.now);
    if (e === EWOULDBLOCK) return false;
    if (e !== 0) { this.abort(); return false; }
    if (this.msg.len === 0) this.eof = true;
    this.inE += this.msg.len;
    return true;
  }

  /** Consumes buffered input; true when it made progress. */
  private process(): boolean {
    if (this.phase === PH_HEAD) {
      const r = parseRequestHead(this.inb, this.inS, this.inE);
      if (r.kind === 'incomplete') return false;
      if (r.kind === 'error') { this.fail(r.status, r.reason); return true; }
      this.inS += r.consumed;
      this.requests++;
      this.startRequest(r.head);
      return true;
    }
    if (this.phase !== PH_BODY) return false;
    const avail = this.inE - this.inS;
    if (this.chunked !== null) {
      const n = this.chunked.feed(this.inb, this.inS, avail, this.onBody);
      if (n < 0) { this.fail(400, this.chunked.error ?? 'bad chunked body'); return true; }
      this.inS += n;
      if (this.chunked.done) this.endBody();
      return n > 0;
    }
    const n = Math.min(avail, this.bodyLeft);
    this.onBody(this.inb, this.inS, n);
    this.inS += n;
    this.bodyLeft -= n;
    if (this.bodyLeft === 0) this.endBody();
    return n > 0;
  }

  private startRequest(h: HttpRequestHead): void {
    this.head = h;
    this.closeAfter = !h.keepAlive;
    const plan = route(h);
    this.plan = plan;
    const hasBody = h.chunked || (h.contentLength !== null && h.contentLength > 0);
    if (!hasBody) {
      this.hash = plan.kind === 'sha256' ? createHash('sha256') : null;
      this.endBody();
      return;
    }
    if (plan.kind !== 'sha256' && h.expectContinue) {
      // RFC 9110 §10.1.1: answer at once; the client may not send the body, so do not keep the connection.
      this.closeAfter = true;
      this.respond(plan);
      return;
    }
    if (plan.kind === 'sha256') {
      this.hash = createHash('sha256');
      if (h.expectContinue && h.minor === 1) this.queue('HTTP/1.1 100 Continue\r\n\r\n');
    } else {
      this.hash = null; // read and discard the body, then answer
    }
    this.chunked = h.chunked ? new ChunkedDecoder() : null;
    this.bodyLeft = h.contentLength ?? 0;
    this.phase = PH_BODY;
  }

  private endBody(): void {
    this.chunked = null;
    const plan = this.plan!;
    this.respond(plan);
    this.hash = null;
  }

  private respond(plan: Plan): void {
    const h = this.head!;
    const head = h.method === 'HEAD';
    switch (plan.kind) {
      case 'static':
        this.queueHead(plan.status, plan.type, Buffer.byteLength(plan.body), plan.allow);
        if (!head) this.queue(plan.body);
        break;
      case 'bytes':
        this.queueHead(200, 'application/octet-stream', plan.n);
        if (!head) { this.patLeft = plan.n; this.patPos = 0; }
        break;
      case 'sha256': {
        const body = `${(this.hash ?? createHash('sha256')).digest('hex')}\n`;
        this.queueHead(200, 'text/plain', body.length);
        this.queue(body);
        break;
      }
    }
    this.phase = PH_RESPOND;
  }

  private queueHead(status: number, type: string, length: number, allow?: string): void {
    const h = this.head;
    const minor = h === null ? 1 : h.minor;
    let s = `HTTP/1.${minor} ${status} ${REASONS[status] ?? ''}\r\nServer: tunstack\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n`;
    if (allow !== undefined) s += `Allow: ${allow}\r\n`;
    if (this.closeAfter) s += 'Connection: close\r\n';
    else if (minor === 0) s += 'Connection: keep-alive\r\n';
    this.queue(`${s}\r\n`);
  }

  private queue(text: string): void { this.outQ.push(enc.encode(text)); }

  /** A request we cannot serve: answer `status` and close after it. */
  private fail(status: number, reason: string): void {
    this.closeAfter = true;
    this.inS = this.inE = 0;
    this.eof = true; // read no further
    this.chunked = null;
    this.hash = null;
    if (this.head === null) this.head = { method: 'GET', target: '/', minor: 1, contentLength: null, chunked: false, keepAlive: false, expectContinue: false };
    this.respond({ kind: 'static', status, type: 'text/plain', body: `${status} ${REASONS[status] ?? ''}: ${reason}\n` });
  }

  /** Sends queued output; OUT_DONE when all of it was accepted by the socket. */
  private flushOut(): number {
    const q = this.outQ;
    while (q.length > 0) {
      const chunk = q[0]!;
      const e = sosend(this.so, null, [this.outOff === 0 ? chunk : chunk.subarray(this.outOff)], null, null, 0, this.now, this.sent);
      if (e === EWOULDBLOCK) return OUT_BLOCKED;
      if (e !== 0) { this.abort(); return OUT_DEAD; }
      this.outOff += this.sent.value;
      if (this.outOff < chunk.length) return OUT_BLOCKED;
      q.shift();
      this.outOff = 0;
    }
    for (let i = 0; this.patLeft > 0; i++) {
      if (i === 64) return OUT_YIELD;
      const n = Math.min(this.patLeft, PATTERN_CHUNK);
      const start = this.patPos % PATTERN_MOD;
      const e = sosend(this.so, null, [this.pattern.subarray(start, start + n)], null, null, 0, this.now, this.sent);
      if (e === EWOULDBLOCK) return OUT_BLOCKED;
      if (e !== 0) { this.abort(); return OUT_DEAD; }
      this.patLeft -= this.sent.value;
      this.patPos += this.sent.value;
      if (this.sent.value < n) return OUT_BLOCKED;
    }
    return OUT_DONE;
  }
}

/** What to answer to a request head. */
function route(h: HttpRequestHead): Plan {
  const q = h.target.indexOf('?');
  const path = q < 0 ? h.target : h.target.slice(0, q);
  const m = h.method;
  const getLike = m === 'GET' || m === 'HEAD';
  if (path === '/' || path === '/index.html') {
    return getLike ? { kind: 'static', status: 200, type: 'text/html; charset=utf-8', body: INDEX_HTML }
      : notAllowed('GET, HEAD');
  }
  const bytes = /^\/bytes\/(\d{1,13})$/.exec(path);
  if (bytes !== null) {
    const n = Number(bytes[1]);
    if (n > BYTES_MAX) return { kind: 'static', status: 400, type: 'text/plain', body: `at most ${BYTES_MAX} bytes\n` };
    return getLike ? { kind: 'bytes', n } : notAllowed('GET, HEAD');
  }
  if (path === '/sha256') return m === 'PUT' || m === 'POST' ? { kind: 'sha256' } : notAllowed('PUT, POST');
  return { kind: 'static', status: 404, type: 'text/plain', body: 'not found\n' };
}

function notAllowed(allow: string): Plan {
  return { kind: 'static', status: 405, type: 'text/plain', body: `method not allowed (allowed: ${allow})\n`, allow };
}
