// Event-driven test applications over the socket layer (stack/socket), for the TCP scenario
// suites: a bulk endpoint (sends N bytes of a seeded pseudo-random stream and/or reads and hashes
// everything, optionally slowly), an acceptor that hands each accepted child to an app, an echo
// server with a request/response client for it, and a connector that records how a connect ended. Everything is driven by socket events
// (SocketListener) or, for the slow reader, by the test loop between sim.runFor calls; every loop
// is bounded and no real timer is used. Apps never throw on socket errors: they record the errno.
//
// socket event → onSocketEvent → step(): note connect result → read side → write side → close policy

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { sobind, soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { soaccept, soacceptdequeue, solisten } from '../../stack/socket/so-listen.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import type { Box } from '../../stack/socket/protosw.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, MSG_DONTWAIT, SHUT_WR, SOCK_STREAM, SS_CANTRCVMORE,
  SS_CANTSENDMORE, SS_ISCONNECTED, SS_ISCONNECTING,
} from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';

/** Sends per wakeup before yielding (bounded work per event). */
const MAX_SENDS = 64;
/** Receives per wakeup before yielding. */
const MAX_READS = 256;
/** Accepts per listener wakeup. */
const MAX_ACCEPTS = 1024;

// ---- the byte stream ----

/** A seeded pseudo-random byte stream (xorshift32), identical however it is chunked. */
export class PatternStream {
  private s: number;
  private word = 0;
  private left = 0;
  /** Bytes produced so far. */
  pos = 0;
  constructor(readonly seed: number) {
    this.s = ((seed ^ 0x9e3779b9) >>> 0) || 1;
  }
  fill(buf: Uint8Array, off = 0, len = buf.length - off): void {
    let s = this.s, word = this.word, left = this.left;
    for (let i = off, end = off + len; i < end; i++) {
      if (left === 0) {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        word = s;
        left = 4;
      }
      buf[i] = word & 0xff;
      word >>>= 8;
      left--;
    }
    this.s = s; this.word = word; this.left = left;
    this.pos += len;
  }
}

/** sha256 (hex) of the first `len` bytes of the stream `seed`. */
export function streamDigest(seed: number, len: number): string {
  const g = new PatternStream(seed);
  const h = createHash('sha256');
  const buf = new Uint8Array(65536);
  for (let done = 0; done < len;) {
    const n = Math.min(buf.length, len - done);
    g.fill(buf, 0, n);
    h.update(buf.subarray(0, n));
    done += n;
  }
  return h.digest('hex');
}

// ---- endpoints ----

/** What every app records about its socket. */
export abstract class StreamEndpoint implements SocketListener {
  /** connect outcome: null while pending, 0 once connected, else the errno (so_error) it failed with. */
  connectErrno: number | null = null;
  connectedAtUs = -1;
  /** errnos returned by send/receive/shutdown (EWOULDBLOCK excluded), in order. */
  readonly errors: number[] = [];
  /** Virtual time (µs) of each entry of `errors`. */
  readonly errorAtUs: number[] = [];
  /** Socket events delivered. */
  events = 0;
  /** soclose was called. */
  closed = false;
  closedAtUs = -1;

  constructor(readonly stack: Stack, readonly so: Socket) {}

  /** Installs this app as the socket's listener and looks at the socket once (data may be queued). */
  attach(): this {
    this.so.setListener(this);
    this.step(Ev.In | Ev.Out);
    return this;
  }

  onSocketEvent(_so: Socket, events: number): void {
    this.events++;
    this.step(events);
  }

  /** Runs the app once, as if `events` had been delivered. */
  kick(): void { this.step(Ev.In | Ev.Out); }

  protected now() { return this.stack.env.clock.now(); }

  protected step(events: number): void {
    if (this.closed) return;
    this.noteConnect();
    if (this.connectErrno !== 0) return;
    this.onIo(events);
  }

  /** Records the connect result once it is known (as a blocking connect returns it, so_error is consumed). */
  private noteConnect(): void {
    if (this.connectErrno !== null) return;
    const st = this.so.so_state;
    if ((st & SS_ISCONNECTED) !== 0) {
      this.connectErrno = 0;
      this.connectedAtUs = this.now();
      return;
    }
    if ((st & SS_ISCONNECTING) !== 0) return;
    if (this.so.so_error !== 0) {
      this.connectErrno = this.so.so_error;
      this.so.so_error = 0;
      return;
    }
    // Disconnected without an error (e.g. RST in a state that reports none) or never connecting.
    if ((st & SS_CANTRCVMORE) !== 0) this.connectErrno = -1;
  }

  protected abstract onIo(events: number): void;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAtUs = this.now();
    soclose(this.so, this.now());
  }

  protected record(e: number): void {
    this.errors.push(e);
    this.errorAtUs.push(this.now());
  }
}

export interface BulkOptions {
  /** Bytes to send (0: send nothing). */
  readonly sendBytes?: number;
  /** Seed of the sent stream. */
  readonly sendSeed?: number;
  /** After every byte is queued: nothing, shutdown(SHUT_WR), or close. Default 'shutdown'. */
  readonly afterSend?: 'none' | 'shutdown' | 'close';
  /**
   * Reading: 'events' reads whenever a read event comes; 'manual' only when the test calls
   * read() (slow reader); 'never' never reads (to leave data unread). Default 'events'.
   */
  readonly read?: 'events' | 'manual' | 'never';
  /** Check received bytes against this stream (records the offset of the first difference). */
  readonly expectSeed?: number;
  /** Close once EOF was read and everything to send is queued (default true). */
  readonly closeOnEof?: boolean;
  /** Bytes per sosend call (default 64 KiB). */
  readonly chunk?: number;
}

/**
 * A bulk endpoint: sends `sendBytes` of the stream `sendSeed` as buffer space allows, reads
 * everything the peer sends (sha256 over it, optional byte-exact check), records EOF and errors.
 * The classic sender is { sendBytes, read: 'events' } and the classic receiver { sendBytes: 0 }.
 */
export class BulkEndpoint extends StreamEndpoint {
  readonly sendBytes: number;
  readonly afterSend: 'none' | 'shutdown' | 'close';
  readonly readMode: 'events' | 'manual' | 'never';
  readonly closeOnEof: boolean;
  /** Bytes accepted by sosend. */
  queued = 0;
  sendDoneAtUs = -1;
  /** Bytes received. */
  received = 0;
  /** A receive returned 0 bytes: end of stream. */
  eof = false;
  eofAtUs = -1;
  /** Offset of the first received byte that differs from expectSeed's stream (-1: none). */
  mismatchAt = -1;
  /** Receives that returned data. */
  reads = 0;

  private readonly gen: PatternStream;
  private readonly sendHash: Hash = createHash('sha256');
  private readonly recvHash: Hash = createHash('sha256');
  private readonly expect: PatternStream | null;
  private readonly pend: Uint8Array;
  private pendOff = 0;
  private pendLen = 0;
  private generated = 0;
  private readonly rbuf = new Uint8Array(65536);
  private readonly scratch = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private readonly box: Box<number> = { value: 0 };
  private sendFinished = false;
  private recvDigest: string | null = null;
  private sentDigest: string | null = null;

  constructor(stack: Stack, so: Socket, o: BulkOptions = {}) {
    super(stack, so);
    this.sendBytes = o.sendBytes ?? 0;
    this.gen = new PatternStream(o.sendSeed ?? 1);
    this.afterSend = o.afterSend ?? 'shutdown';
    this.readMode = o.read ?? 'events';
    this.closeOnEof = o.closeOnEof ?? true;
    this.expect = o.expectSeed !== undefined ? new PatternStream(o.expectSeed) : null;
    this.pend = new Uint8Array(o.chunk ?? 65536);
    if (this.sendBytes === 0) this.sendFinished = true;
  }

  /** Every byte to send was accepted by the socket. */
  get allQueued(): boolean { return this.queued === this.sendBytes; }

  /** sha256 of what was received (final once eof). */
  receivedDigest(): string {
    if (this.recvDigest === null) this.recvDigest = this.recvHash.copy().digest('hex');
    return this.recvDigest;
  }

  /** sha256 of what was queued for sending (final once allQueued). */
  sentDigestHex(): string {
    if (this.sentDigest === null) this.sentDigest = this.sendHash.copy().digest('hex');
    return this.sentDigest;
  }

  protected onIo(events: number): void {
    // Read on any event, not only Ev.In: cheap when empty, and catches data queued before accept.
    void events;
    if (this.readMode === 'events') this.drain(Infinity);
    if (!this.closed) this.pump();
    this.maybeClose();
  }

  /** Reads at most `limit` bytes now (the slow reader's tick). Returns the bytes read. */
  read(limit: number): number {
    if (this.closed) return 0;
    const n = this.drain(limit);
    this.maybeClose();
    if (!this.closed) this.pump();
    return n;
  }

  private drain(limit: number): number {
    if (this.eof || this.closed) return 0;
    const so = this.so;
    if ((so.so_state & (SS_ISCONNECTED | SS_CANTRCVMORE)) === 0 && so.so_error === 0) return 0;
    let got = 0;
    const now = this.now();
    for (let i = 0; i < MAX_READS; i++) {
      const want = Math.min(this.rbuf.length, limit - got);
      if (want <= 0) break;
      const e = soreceive(so, [this.rbuf.subarray(0, want)], MSG_DONTWAIT, this.msg, now);
      if (e === EWOULDBLOCK) break;
      if (e !== 0) {
        this.record(e);
        continue; // ECONNRESET is reported once; the next receive says EOF
      }
      const n = this.msg.len;
      if (n === 0) {
        this.eof = true;
        this.eofAtUs = now;
        break;
      }
      this.consume(this.rbuf.subarray(0, n));
      got += n;
    }
    return got;
  }

  private consume(b: Uint8Array): void {
    this.reads++;
    this.recvHash.update(b);
    if (this.expect !== null && this.mismatchAt < 0) {
      const x = this.scratch.subarray(0, b.length);
      this.expect.fill(x);
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== x[i]) {
          this.mismatchAt = this.received + i;
          break;
        }
      }
    }
    this.received += b.length;
  }

  private pump(): void {
    if (this.sendFinished || this.errors.length > 0) return;
    const so = this.so;
    if ((so.so_state & (SS_ISCONNECTED | SS_CANTSENDMORE)) === 0 && so.so_error === 0) return;
    const now = this.now();
    for (let i = 0; i < MAX_SENDS && this.queued < this.sendBytes; i++) {
      if (this.pendLen === 0) {
        const n = Math.min(this.pend.length, this.sendBytes - this.generated);
        this.gen.fill(this.pend, 0, n);
        this.sendHash.update(this.pend.subarray(0, n));
        this.generated += n;
        this.pendOff = 0;
        this.pendLen = n;
      }
      const e = sosend(so, null, [this.pend.subarray(this.pendOff, this.pendOff + this.pendLen)], null, null, 0, now, this.box);
      if (e === EWOULDBLOCK) break;
      if (e !== 0) {
        this.record(e);
        return;
      }
      const n = this.box.value;
      this.pendOff += n;
      this.pendLen -= n;
      this.queued += n;
      if (n === 0) break;
    }
    if (this.queued === this.sendBytes) {
      this.sendFinished = true;
      this.sendDoneAtUs = now;
      if (this.afterSend === 'shutdown') {
        const e = soshutdown(so, SHUT_WR, now);
        if (e !== 0) this.record(e);
      } else if (this.afterSend === 'close') {
        this.close();
      }
    }
  }

  private maybeClose(): void {
    if (this.closed || !this.closeOnEof || !this.eof || !this.sendFinished) return;
    this.close();
  }
}

/** A connector: records the connect result and nothing else (connectErrno, connectedAtUs). */
export class Connector extends StreamEndpoint {
  protected onIo(): void { /* nothing to do once connected */ }
}

/** Echoes every byte back; shuts its write side after the peer's EOF and closes. */
export class EchoConn extends StreamEndpoint {
  echoed = 0;
  eof = false;
  private readonly buf = new Uint8Array(16384);
  private readonly msg = new SoRecvMsg();
  private readonly box: Box<number> = { value: 0 };
  private pendOff = 0;
  private pendLen = 0;

  protected onIo(): void {
    const now = this.now();
    for (let i = 0; i < MAX_READS && !this.closed; i++) {
      if (this.pendLen > 0) {
        const e = sosend(this.so, null, [this.buf.subarray(this.pendOff, this.pendOff + this.pendLen)], null, null, 0, now, this.box);
        if (e === EWOULDBLOCK) return;
        if (e !== 0) {
          this.record(e);
          this.close();
          return;
        }
        this.pendOff += this.box.value;
        this.pendLen -= this.box.value;
        this.echoed += this.box.value;
        if (this.pendLen > 0) return;
      }
      if (this.eof) {
        this.close();
        return;
      }
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) {
        this.record(e);
        continue;
      }
      if (this.msg.len === 0) {
        this.eof = true;
        continue;
      }
      this.pendOff = 0;
      this.pendLen = this.msg.len;
    }
  }
}

export interface PingPongOptions {
  /** Request/response exchanges to run. */
  readonly exchanges: number;
  /** Bytes of each request; the peer (an EchoConn) answers with as many. */
  readonly bytes: number;
}

/**
 * A request/response client for an EchoConn: writes a request, waits until the whole answer is
 * back, records how long that took, and starts the next; closes after the last exchange.
 */
export class PingPongClient extends StreamEndpoint {
  /** Virtual µs each finished exchange took (request written to answer complete). */
  readonly latenciesUs: number[] = [];
  done = false;
  private readonly out: Uint8Array;
  private readonly buf = new Uint8Array(16384);
  private readonly msg = new SoRecvMsg();
  private readonly box: Box<number> = { value: 0 };
  private sent = 0;
  private got = 0;
  private startUs = -1;

  constructor(stack: Stack, so: Socket, private readonly o: PingPongOptions) {
    super(stack, so);
    this.out = new Uint8Array(o.bytes).fill(0x3c);
  }

  protected onIo(): void {
    const now = this.now();
    for (let i = 0; i < MAX_READS && !this.done && !this.closed; i++) {
      if (this.sent < this.o.bytes) {
        if (this.startUs < 0) this.startUs = now;
        const e = sosend(this.so, null, [this.out.subarray(this.sent)], null, null, 0, now, this.box);
        if (e === EWOULDBLOCK) return;
        if (e !== 0) {
          this.record(e);
          this.close();
          return;
        }
        this.sent += this.box.value;
        continue;
      }
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0 || this.msg.len === 0) {
        if (e !== 0) this.record(e);
        this.close();
        return;
      }
      this.got += this.msg.len;
      if (this.got < this.o.bytes) continue;
      this.latenciesUs.push(now - this.startUs);
      this.sent = this.got = 0;
      this.startUs = -1;
      if (this.latenciesUs.length === this.o.exchanges) {
        this.done = true;
        this.close();
      }
    }
  }
}

/** Accepts every completed connection of a listening socket and hands it to `makeApp`. */
export class Acceptor<A extends StreamEndpoint> implements SocketListener {
  readonly apps: A[] = [];
  readonly acceptErrors: number[] = [];
  closed = false;
  /** When false, connections are left on the completed queue (to test the backlog). */
  accepting = true;
  private readonly box: Box<Socket | null> = { value: null };
  private readonly nameBox: Box<Uint8Array | null> = { value: null };

  constructor(readonly stack: Stack, readonly so: Socket, private readonly makeApp: (stack: Stack, child: Socket) => A) {}

  onSocketEvent(): void { this.acceptAll(); }

  acceptAll(): number {
    if (this.closed || !this.accepting) return 0;
    let n = 0;
    for (let i = 0; i < MAX_ACCEPTS; i++) {
      const e = soacceptdequeue(this.so, true, this.box);
      if (e === EWOULDBLOCK) break;
      if (e !== 0) {
        this.acceptErrors.push(e);
        break;
      }
      const child = this.box.value!;
      soaccept(child, this.nameBox); // result ignored, as sock_accept does (§3.5)
      const app = this.makeApp(this.stack, child);
      app.connectErrno = 0;
      app.connectedAtUs = this.stack.env.clock.now();
      this.apps.push(app);
      app.attach(); // data may have arrived before accept with no upcall: look now
      n++;
    }
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    soclose(this.so, this.stack.env.clock.now());
  }
}

// ---- opening sockets ----

export interface ListenOptions {
  readonly family: IpFamily;
  readonly port: number;
  readonly backlog?: number;
  /** Called on the socket before listen (options that children inherit). */
  readonly before?: (so: Socket) => void;
}

/** A TCP listener on the wildcard address with an Acceptor giving each child to `makeApp`. */
export function listen<A extends StreamEndpoint>(
  stack: Stack, o: ListenOptions, makeApp: (stack: Stack, child: Socket) => A,
): Acceptor<A> {
  const r = stack.sockets.socreate(o.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
  if (!r.ok) throw new Error(`socreate(SOCK_STREAM) on ${stack.name}: errno ${r.error}`);
  const so = r.value;
  o.before?.(so);
  let e = sobind(so, encodeSockaddr({ addr: o.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6, port: o.port }));
  if (e !== 0) throw new Error(`bind port ${o.port} on ${stack.name}: errno ${e}`);
  e = solisten(so, o.backlog ?? 128);
  if (e !== 0) throw new Error(`listen on ${stack.name}: errno ${e}`);
  const acc = new Acceptor(stack, so, makeApp);
  so.setListener(acc);
  return acc;
}

export interface ConnectOptions {
  readonly family: IpFamily;
  /** Darwin sockaddr of the peer. */
  readonly to: Uint8Array;
  /** Local port to bind first (0/absent: ephemeral at connect). */
  readonly bindPort?: number;
  /** Local address to bind with bindPort (default the wildcard). */
  readonly bindAddr?: IpAddr;
  /** Called on the socket before connect (options). */
  readonly before?: (so: Socket) => void;
}

/**
 * Creates a TCP socket, optionally binds it, installs the app `makeApp` builds, and connects.
 * A synchronous connect error is recorded as the app's connectErrno.
 */
export function connect<A extends StreamEndpoint>(
  stack: Stack, o: ConnectOptions, makeApp: (stack: Stack, so: Socket) => A,
): A {
  const r = stack.sockets.socreate(o.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
  if (!r.ok) throw new Error(`socreate(SOCK_STREAM) on ${stack.name}: errno ${r.error}`);
  const so = r.value;
  o.before?.(so);
  const app = makeApp(stack, so);
  if (o.bindPort !== undefined) {
    const any = o.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6;
    const e = sobind(so, encodeSockaddr({ addr: o.bindAddr ?? any, port: o.bindPort }));
    if (e !== 0) {
      app.connectErrno = e;
      return app;
    }
  }
  so.setListener(app);
  const e = soconnect(so, o.to, stack.env.clock.now());
  if (e !== 0) app.connectErrno = e;
  stack.requestWork();
  return app;
}
