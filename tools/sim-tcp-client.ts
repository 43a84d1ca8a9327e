// The client side of `tunstack sim`'s service checks: an event-driven TCP connection over the
// socket layer (socreate, soconnect, sosend, soreceive, soshutdown, soclose), in the style of
// sim-scenario.ts's UdpClient. The check queues bytes to send and says when to half-close; every
// received byte goes to its `onData`; it waits in virtual time for the flags below.
//
// socket event → onSocketEvent → note the connect result → send what is queued (as space allows)
//   → half-close once everything is queued, if asked → read everything there is (EOF, errors)

import type { SimHost } from './sim-world.js';
import type { Socket } from '../stack/socket/socket.js';
import type { SocketListener } from '../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../stack/socket/so-receive.js';
import { sosend } from '../stack/socket/so-send.js';
import { soclose, soconnect, soshutdown } from '../stack/socket/so-ops.js';
import { sosetopt } from '../stack/socket/so-options.js';
import { SockOpt, sooptLinger } from '../stack/socket/sockopt.js';
import { encodeSockaddr } from '../stack/socket/sockaddr.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, MSG_DONTWAIT, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_LINGER,
  SS_CANTRCVMORE, SS_ISCONNECTED, SS_ISCONNECTING,
} from '../stack/socket/constants.js';
import { errnoName, EWOULDBLOCK } from '../stack/errno.js';
import { setNoDelay } from './services/tcp-server.js';
import type { IpFamily } from '../stack/wire/ip-addr.js';
import type { Instant } from '../stack/time/instant.js';

/** Receives per wakeup; far more than a receive buffer holds (each drains up to 64 KiB). */
const MAX_READS = 4096;
/** Sends per wakeup; each moves as much as the send buffer takes, so a few suffice. */
const MAX_SENDS = 64;

export class TcpClient implements SocketListener {
  /** null while connecting; 0 once connected; else the errno the connect failed with. */
  connectErrno: number | null = null;
  /** The first errno of a send, receive or shutdown (0: none). */
  error = 0;
  /** A receive returned 0 bytes: the server closed its side. */
  eof = false;
  /** Bytes received (all went to onData). */
  received = 0;
  /** Bytes accepted by sosend. */
  sent = 0;
  /** soshutdown(SHUT_WR) was called: our FIN is queued. */
  shutDown = false;
  closed = false;
  private readonly outQ: Uint8Array[] = [];
  private outOff = 0;
  private shutWhenSent = false;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private readonly box = { value: 0 };

  private constructor(private readonly host: SimHost, readonly so: Socket, private readonly onData: (b: Uint8Array) => void) {}

  /**
   * Opens a TCP socket on `host` and starts connecting to `addr`:`port` (TCP_NODELAY on, as a
   * request/response client wants). Throws when the socket cannot be created; a failed connect
   * is reported in connectErrno.
   */
  static connect(host: SimHost, family: IpFamily, to: SimHost, port: number, onData: (b: Uint8Array) => void): TcpClient {
    const r = host.stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    if (!r.ok) throw new Error(`TCP socket on ${host.name}: errno ${r.error}`);
    const c = new TcpClient(host, r.value, onData);
    setNoDelay(r.value);
    r.value.setListener(c);
    const e = soconnect(r.value, encodeSockaddr({ addr: family === 4 ? to.v4 : to.v6, port }), c.now);
    if (e !== 0) c.connectErrno = e;
    return c;
  }

  private get now(): Instant { return this.host.stack.env.clock.now(); }

  /** Connected and no error so far. */
  get healthy(): boolean { return this.connectErrno === 0 && this.error === 0; }

  /** Connecting failed or a send/receive failed: nothing more will happen. */
  get failed(): boolean { return (this.connectErrno !== null && this.connectErrno !== 0) || this.error !== 0; }

  /** Bytes queued here and not yet accepted by the socket. */
  get unsent(): number {
    let n = -this.outOff;
    for (const b of this.outQ) n += b.length;
    return n;
  }

  /** Queues `b` (not copied: keep it unchanged until sent) and sends what fits now. */
  send(b: Uint8Array): void {
    if (b.length > 0) this.outQ.push(b);
    this.step();
  }

  /** Half-closes (FIN) once everything queued has been accepted by the socket. */
  shutdownWhenSent(): void {
    this.shutWhenSent = true;
    this.step();
  }

  /** Closes the socket: FIN after the queued data, or with `abort` an RST (SO_LINGER 0). */
  close(abort = false): void {
    if (this.closed) return;
    this.closed = true;
    if (abort) sosetopt(this.so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptLinger(1, 0)));
    soclose(this.so, this.now);
  }

  /** What went wrong, for a report ('' when nothing did). */
  describeFailure(): string {
    if (this.connectErrno === null) return 'still connecting';
    if (this.connectErrno === -1) return 'connect failed: the connection closed without an error';
    if (this.connectErrno !== 0) return `connect failed: ${errnoName(this.connectErrno)}`;
    if (this.error !== 0) return `socket error ${errnoName(this.error)}`;
    return '';
  }

  onSocketEvent(_so: Socket, _events: number): void { this.step(); }

  private step(): void {
    if (this.closed) return;
    this.noteConnect();
    if (this.connectErrno !== 0) return;
    this.pump();
    this.drain();
  }

  /** Records the connect result once known (so_error is consumed, as a blocking connect returns it). */
  private noteConnect(): void {
    if (this.connectErrno !== null) return;
    const st = this.so.so_state;
    if ((st & SS_ISCONNECTED) !== 0) { this.connectErrno = 0; return; }
    if ((st & SS_ISCONNECTING) !== 0) return;
    if (this.so.so_error !== 0) {
      this.connectErrno = this.so.so_error;
      this.so.so_error = 0;
      return;
    }
    if ((st & SS_CANTRCVMORE) !== 0) this.connectErrno = -1;
  }

  private pump(): void {
    if (this.error !== 0) return;
    const now = this.now;
    for (let i = 0; i < MAX_SENDS && this.outQ.length > 0; i++) {
      const head = this.outQ[0]!;
      const e = sosend(this.so, null, [this.outOff === 0 ? head : head.subarray(this.outOff)], null, null, 0, now, this.box);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.error = e; return; }
      this.sent += this.box.value;
      this.outOff += this.box.value;
      if (this.outOff < head.length) return; // the send buffer is full: a write event brings us back
      this.outQ.shift();
      this.outOff = 0;
    }
    if (this.outQ.length === 0 && this.shutWhenSent && !this.shutDown) {
      this.shutDown = true;
      const e = soshutdown(this.so, SHUT_WR, now);
      if (e !== 0) this.error = e;
    }
  }

  private drain(): void {
    if (this.eof) return;
    const now = this.now;
    for (let i = 0; i < MAX_READS; i++) {
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) {
        if (this.error === 0) this.error = e;
        return;
      }
      if (this.msg.len === 0) { this.eof = true; return; }
      this.received += this.msg.len;
      this.onData(this.buf.subarray(0, this.msg.len));
    }
  }
}
