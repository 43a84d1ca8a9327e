// The TCP side of the service layer: a listener on one port (an AF_INET and an AF_INET6 socket)
// that accepts every completed connection and hands it to a TcpConnection subclass (echo,
// discard, chargen, http). Everything is driven by socket events (SocketListener), never by
// polling; each wakeup does bounded work and, when it had to stop early, continues on the next
// turn of the event loop.
//
// SYN → TCP → sonewconn → listener Ev.In → TcpServer.onSocketEvent → soacceptdequeue + soaccept
//   → factory(child) → TcpConnection.start → its onEvents on every later wakeup of the child

import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { sobind, soclose } from '../../stack/socket/so-ops.js';
import { SoRecvMsg } from '../../stack/socket/so-receive.js';
import type { Box } from '../../stack/socket/protosw.js';
import { soaccept, soacceptdequeue, solisten } from '../../stack/socket/so-listen.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt, sooptLinger } from '../../stack/socket/sockopt.js';
import { decodeSockaddr, encodeSockaddr } from '../../stack/socket/sockaddr.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM, SOL_SOCKET, SO_LINGER, SO_REUSEADDR,
} from '../../stack/socket/constants.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { Instant } from '../../stack/time/instant.js';
import { EWOULDBLOCK } from '../../stack/errno.js';

/** Darwin's TCP_NODELAY option name (netinet/tcp.h). */
export const TCP_NODELAY = 0x01;
/** Accepts per listener wakeup. */
const MAX_ACCEPTS = 1024;
/** Listen backlog (clamped to somaxconn by solisten). */
const BACKLOG = 1024;
/** Size of a server's scratch buffer (TcpServer.scratch). */
export const SCRATCH_BYTES = 65536;

/** Whether this build of the stack has TCP (socreate of a TCP socket succeeds). */
export function stackHasTcp(stack: Stack): boolean {
  const r = stack.sockets.socreate(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (!r.ok) return false;
  soclose(r.value, stack.env.clock.now());
  return true;
}

/** One accepted connection. Subclasses implement onEvents; close/abort end it exactly once. */
export abstract class TcpConnection implements SocketListener {
  closed = false;

  constructor(readonly server: TcpServer, readonly so: Socket) {}

  protected get now(): Instant { return this.server.stack.env.clock.now(); }

  /** Installs the listener and looks at the socket once (data may already be queued). */
  start(): void {
    this.so.setListener(this);
    this.onEvents(Ev.In | Ev.Out);
  }

  onSocketEvent(_so: Socket, events: number): void {
    if (!this.closed) this.onEvents(events);
  }

  /** Handles a wakeup; must do bounded work and call `later()` when it stopped with work left. */
  protected abstract onEvents(events: number): void;

  /**
   * Runs onEvents again at the end of the stack's current entry point (work left after a bounded
   * pass). The stack drives it, so it runs in virtual time under a Simulation as well.
   */
  protected later(): void {
    if (this.closed) return;
    this.server.continuations++;
    this.so.requestRecheck(Ev.In | Ev.Out);
  }

  /** Graceful close: queued data is still delivered, then FIN. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    soclose(this.so, this.now);
    this.server.forget(this);
  }

  /** Abortive close (SO_LINGER 0: RST), for protocol errors and shutdown. */
  abort(): void {
    if (this.closed) return;
    sosetopt(this.so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptLinger(1, 0)));
    this.close();
  }
}

export type ConnectionFactory = (server: TcpServer, so: Socket) => TcpConnection;

export class TcpServer implements SocketListener {
  readonly listeners: Socket[] = [];
  readonly conns = new Set<TcpConnection>();
  accepted = 0;
  acceptErrors = 0;
  /** Times a connection stopped after a bounded pass and asked to be called again. */
  continuations = 0;
  /**
   * Scratch state the server's connections share: valid only during one onEvents call, never
   * kept across calls. Listeners are never called re-entrantly (SocketLayer.runDeferred), so one
   * connection's pass cannot overlap another's; sharing saves a 64 KB buffer, a msghdr and a box
   * per connection.
   */
  readonly recvMsg = new SoRecvMsg();
  readonly count: Box<number> = { value: 0 };
  private scratchBuf: Uint8Array | null = null;
  private scratchIovec: readonly Uint8Array[] | null = null;
  private readonly child: Box<Socket | null> = { value: null };
  private readonly peer: Box<Uint8Array | null> = { value: null };

  private constructor(
    readonly stack: Stack,
    readonly name: string,
    readonly port: number,
    private readonly factory: ConnectionFactory,
    private readonly onAccept: ((line: string) => void) | null,
  ) {}

  /**
   * Listens on `port` of every IPv4 and IPv6 address. Returns the server, or the Darwin errno of
   * the first failure (nothing is left open then).
   */
  static open(stack: Stack, name: string, port: number, factory: ConnectionFactory, onAccept: ((line: string) => void) | null = null): TcpServer | number {
    const srv = new TcpServer(stack, name, port, factory, onAccept);
    for (const family of [4, 6] as const) {
      const r = stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
      if (!r.ok) {
        srv.close();
        return r.error;
      }
      const so = r.value;
      srv.listeners.push(so);
      sosetopt(so, SockOpt.set(SOL_SOCKET, SO_REUSEADDR, sooptInt(1)));
      let e = sobind(so, encodeSockaddr({ addr: family === 4 ? IpAddr.ANY4 : IpAddr.ANY6, port }));
      if (e === 0) e = solisten(so, BACKLOG);
      if (e !== 0) {
        srv.close();
        return e;
      }
      so.setListener(srv);
    }
    return srv;
  }

  /** A SCRATCH_BYTES buffer shared by the server's connections (see recvMsg), allocated on first use. */
  get scratch(): Uint8Array {
    if (this.scratchBuf === null) this.scratchBuf = new Uint8Array(SCRATCH_BYTES);
    return this.scratchBuf;
  }

  /** `[scratch]`: an iovec list for soreceive into the scratch buffer. */
  get scratchIov(): readonly Uint8Array[] {
    if (this.scratchIovec === null) this.scratchIovec = [this.scratch];
    return this.scratchIovec;
  }

  onSocketEvent(head: Socket, events: number): void {
    if ((events & Ev.In) === 0) return;
    const child = this.child;
    const peer = this.peer;
    for (let i = 0; i < MAX_ACCEPTS; i++) {
      const e = soacceptdequeue(head, true, child);
      if (e !== 0) {
        if (e !== EWOULDBLOCK) this.acceptErrors++;
        if (head.so_comp.length === 0) break;
        continue;
      }
      const so = child.value!;
      child.value = null;
      this.accepted++;
      // The peer's address is only needed for the log line (pru_accept only reports it). A child
      // reset before accept is handed over anyway (sock_accept).
      if (this.onAccept !== null) {
        soaccept(so, peer);
        this.onAccept(`${this.name}: connection from ${formatPeer(peer.value)}`);
        peer.value = null;
      }
      const c = this.factory(this, so);
      this.conns.add(c);
      c.start();
    }
  }

  /** @internal A connection ended. */
  forget(c: TcpConnection): void { this.conns.delete(c); }

  /** Closes the listeners and every connection (`abort`: with RST instead of FIN). */
  close(abort = false): void {
    for (const c of [...this.conns]) {
      if (abort) c.abort(); else c.close();
    }
    const now = this.stack.env.clock.now();
    for (const so of this.listeners) soclose(so, now);
    this.listeners.length = 0;
  }
}

function formatPeer(sa: Uint8Array | null): string {
  if (sa === null) return '?';
  const r = decodeSockaddr(sa);
  if (!r.ok) return '?';
  const a = r.value.addr;
  return a.family === 6 ? `[${a}]:${r.value.port}` : `${a}:${r.value.port}`;
}

/** Sets TCP_NODELAY (Nagle off) on `so`; returns the errno (0 when set). */
export function setNoDelay(so: Socket): number {
  return sosetopt(so, SockOpt.set(IPPROTO_TCP, TCP_NODELAY, sooptInt(1)));
}
