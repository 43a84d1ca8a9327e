// A TCP client on the stack's socket layer for the kernel tests: connects, sends `send` bytes
// (byte i = i mod 251), half-closes, reads everything until EOF, and records the outcome. Driven
// by socket events, as an application on the stack would be; every loop is bounded.

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, MSG_DONTWAIT, SHUT_WR, SOCK_STREAM, SS_ISCONNECTED, SS_ISCONNECTING,
} from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';

export class StackTcpClient implements SocketListener {
  /** null while connecting; 0 once connected; else the errno the connection failed with. */
  connectErrno: number | null = null;
  /** errno that ended the transfer (0: clean EOF), null while running. */
  endErrno: number | null = null;
  received = 0;
  sent = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly pattern = new Uint8Array(65536 + 251);
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private readonly count = { value: 0 };
  private shut = false;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => { this.resolveDone = r; });
  private readonly so: Socket;

  constructor(private readonly stack: Stack, addr: string, port: number, private readonly send: number) {
    for (let i = 0; i < this.pattern.length; i++) this.pattern[i] = i % 251;
    const a = IpAddr.of(addr);
    const r = stack.sockets.socreate(a.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    if (!r.ok) throw new Error(`socreate: errno ${r.error}`);
    this.so = r.value;
    this.so.setListener(this);
    const e = soconnect(this.so, encodeSockaddr({ addr: a, port }), this.now());
    if (e !== 0) this.finish(e);
  }

  get digest(): string { return this.hash.copy().digest('hex'); }

  private now() { return this.stack.env.clock.now(); }

  onSocketEvent(): void {
    if (this.endErrno !== null) return;
    const so = this.so;
    if (this.connectErrno === null) {
      if ((so.so_state & SS_ISCONNECTED) !== 0) this.connectErrno = 0;
      else if ((so.so_state & SS_ISCONNECTING) !== 0) return;
      else { this.finish(so.so_error !== 0 ? so.so_error : -1); return; }
    }
    for (let i = 0; i < 64 && this.sent < this.send; i++) {
      const n = Math.min(65536, this.send - this.sent);
      const off = this.sent % 251;
      const e = sosend(so, null, [this.pattern.subarray(off, off + n)], null, null, 0, this.now(), this.count);
      if (e === EWOULDBLOCK) break;
      if (e !== 0) { this.finish(e); return; }
      this.sent += this.count.value;
      if (this.count.value < n) break;
    }
    if (this.sent === this.send && !this.shut) {
      this.shut = true;
      soshutdown(so, SHUT_WR, this.now());
    }
    for (let i = 0; i < 256; i++) {
      const e = soreceive(so, [this.buf], MSG_DONTWAIT, this.msg, this.now());
      if (e === EWOULDBLOCK) return;
      if (e !== 0) { this.finish(e); return; }
      if (this.msg.len === 0) { this.finish(0); return; }
      this.received += this.msg.len;
      this.hash.update(this.buf.subarray(0, this.msg.len));
    }
    setImmediate(() => this.onSocketEvent()); // bounded pass done with data left: continue next turn
  }

  private finish(e: number): void {
    if (this.connectErrno === null) this.connectErrno = e;
    this.endErrno = e;
    soclose(this.so, this.now());
    this.resolveDone();
  }
}
