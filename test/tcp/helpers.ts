// Helpers for TCP scenario tests: a two-host simulated world whose stacks take a TCP profile,
// socket shorthands (socket, listen, connect, accept, send, receive) over the so* functions, and a
// bulk-transfer driver that moves a byte pattern from one socket to another through socket events.

import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { Simulation } from '../../stack/link/simulation.js';
import { SimNetwork } from '../../stack/link/sim-network.js';
import type { Impairments } from '../../stack/link/sim-network.js';
import type { LinkCaps } from '../../stack/link/link.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM, SS_NBIO } from '../../stack/socket/constants.js';
import { sobind, soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { solisten, soacceptdequeue } from '../../stack/socket/so-listen.js';
import { sosend } from '../../stack/socket/so-send.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';

export interface Host { stack: Stack; v4: IpAddr; v6: IpAddr }
export interface World { sim: Simulation; net: SimNetwork; a: Host; b: Host; seed: number }

export interface WorldOptions {
  seed: number;
  impairments?: Impairments;
  /** Impairments toward b only (a → b direction); `impairments` applies to both otherwise. */
  impairmentsToB?: Impairments;
  mtu?: number;
  caps?: Partial<LinkCaps>;
  profile?: TcpProfile;
  profileA?: TcpProfile;
  profileB?: TcpProfile;
}

export function buildWorld(o: WorldOptions): World {
  const sim = new Simulation({ seed: o.seed });
  const net = new SimNetwork({ rng: sim.rng.fork() });
  sim.add(net);
  const specs = [
    { name: 'a', v4: '198.18.0.1/24', v6: '2001:db8::1/64', prof: o.profileA ?? o.profile ?? XNU_PROFILE, imp: o.impairments },
    { name: 'b', v4: '198.18.0.2/24', v6: '2001:db8::2/64', prof: o.profileB ?? o.profile ?? XNU_PROFILE, imp: o.impairmentsToB ?? o.impairments },
  ];
  const hosts = specs.map((h) => {
    const v4 = IpCidr.of(h.v4), v6 = IpCidr.of(h.v6);
    const link = net.attach(h.name, [v4, v6], h.imp, { mtu: o.mtu ?? 1500, ...o.caps });
    const stack = new Stack({ env: simEnv(sim.rng.nextU32(), sim.clock), name: h.name, tcp: { profile: h.prof } });
    stack.addInterface(link, { name: `sim-${h.name}`, addrs: [v4, v6] });
    sim.add(stack);
    return { stack, v4: v4.addr, v6: v6.addr };
  });
  return { sim, net, a: hosts[0]!, b: hosts[1]!, seed: o.seed };
}

export function sa(addr: IpAddr, port: number): Uint8Array {
  return encodeSockaddr({ addr, port });
}

export function tcpSocket(stack: Stack, family: 4 | 6 = 4, nonblocking = true): Socket {
  const r = stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
  if (!r.ok) throw new Error(`socreate: ${r.error}`);
  if (nonblocking) r.value.so_state |= SS_NBIO;
  return r.value;
}

export function listenOn(stack: Stack, addr: IpAddr, port: number, backlog = 16): Socket {
  const so = tcpSocket(stack, addr.family);
  let e = sobind(so, sa(addr, port));
  if (e !== 0) throw new Error(`bind: ${e}`);
  e = solisten(so, backlog);
  if (e !== 0) throw new Error(`listen: ${e}`);
  return so;
}

export function connectTo(stack: Stack, addr: IpAddr, port: number, now: number): Socket {
  const so = tcpSocket(stack, addr.family);
  const e = soconnect(so, sa(addr, port), now);
  if (e !== 0) throw new Error(`connect: ${e}`);
  return so;
}

export function accept(head: Socket): Socket | null {
  const out = { value: null as Socket | null };
  const e = soacceptdequeue(head, true, out);
  return e === 0 ? out.value : null;
}

export function send(so: Socket, data: Uint8Array, now: number, flags = 0): { e: number; n: number } {
  const box = { value: 0 };
  const e = sosend(so, null, [data], null, null, flags, now, box);
  return { e, n: box.value };
}

export function recv(so: Socket, now: number, size = 65536, flags = 0): { e: number; data: Uint8Array; msg: SoRecvMsg } {
  const buf = new Uint8Array(size);
  const msg = new SoRecvMsg();
  const e = soreceive(so, [buf], flags, msg, now);
  return { e, data: buf.subarray(0, msg.len), msg };
}

export { soclose, soshutdown };

/** Byte i of the test pattern (a 251-periodic sequence mixed with the offset's high bits). */
export const patternByte = (i: number): number => ((i % 251) ^ ((i >>> 8) & 0xff)) & 0xff;

export function pattern(off: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = patternByte(off + i);
  return b;
}

/**
 * Moves `total` pattern bytes from `src` to `dst` (both connected), writing as space allows and
 * reading everything, driven by socket events. `done` once all bytes arrived in order (checked
 * byte by byte) and the sender shut its write side and the receiver saw EOF.
 */
export class BulkTransfer implements SocketListener {
  sent = 0;
  received = 0;
  mismatches = 0;
  eof = false;
  shutSent = false;
  errors: number[] = [];
  private readonly chunk: number;
  constructor(
    private readonly clock: { now(): number },
    readonly src: Socket,
    readonly dst: Socket,
    readonly total: number,
    chunk = 16384,
  ) {
    this.chunk = chunk;
    src.setListener(this);
    dst.setListener(this);
    this.pump();
  }
  get done(): boolean { return this.received === this.total && this.eof; }
  onSocketEvent(): void { this.pump(); }
  pump(): void {
    const now = this.clock.now();
    while (this.sent < this.total) {
      const n = Math.min(this.chunk, this.total - this.sent);
      const r = send(this.src, pattern(this.sent, n), now);
      if (r.e !== 0) {
        if (r.e !== 35) this.errors.push(r.e);
        break;
      }
      if (r.n === 0) break;
      this.sent += r.n;
    }
    if (this.sent === this.total && !this.shutSent) {
      this.shutSent = true;
      soshutdown(this.src, 1, now);
    }
    for (;;) {
      const r = recv(this.dst, now);
      if (r.e !== 0) {
        if (r.e !== 35) this.errors.push(r.e);
        break;
      }
      if (r.data.length === 0) {
        this.eof = true;
        break;
      }
      for (let i = 0; i < r.data.length; i++) if (r.data[i] !== patternByte(this.received + i)) this.mismatches++;
      this.received += r.data.length;
    }
  }
}
