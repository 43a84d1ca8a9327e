// Stack: one userland network stack. Owns the environment (clock, RNG, log), the mbuf pool, the
// timer queue, the IP layer (interfaces, routes, ICMP, reassembly) and the registered Deferreds,
// and runs the end-of-entry work of every entry point.
// Entry points: Ifnet.receiveBatch (a link delivered packets), poll(now) (time advanced or work
// was requested), and API calls (which only queue work and call requestWork()).
// End of entry: loopback input, Deferreds (in registration order), due timers, repeated until
// quiet (bounded), then every interface's output batch goes to its link in one transmit call.
// Nothing here reads a clock or arms a real timer: drivers call poll() at pollAt().

import type { Deferred, StackContext } from './context.js';
import type { Env } from './env.js';
import { MbufPool } from './mbuf/index.js';
import type { MbufPoolLimits } from './mbuf/index.js';
import { TimerQueue } from './time/timers.js';
import type { Instant } from './time/instant.js';
import type { Link, Pollable } from './link/link.js';
import { IpAddr, IpCidr } from './wire/ip-addr.js';
import { EINVAL, ENETUNREACH, ENXIO } from './socket/errno.js';
import { IpLayer } from './ip/ip-layer.js';
import type { AddInterfaceOptions, IpLayerOptions, StackEntry } from './ip/ip-layer.js';
import type { Ifnet } from './ip/ifnet.js';
import { EEXIST, ESRCH } from './ip/route.js';
import { SocketLayer } from './socket/socket-layer.js';
import type { SocketLayerOptions } from './socket/socket-layer.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './socket/constants.js';
import { Udp } from './udp/udp.js';
import type { UdpOptions } from './udp/udp.js';
import { Tcp } from './tcp/tcp.js';
import type { TcpOptions } from './tcp/tcp.js';

export interface StackOptions {
  readonly env: Env;
  readonly name?: string;
  readonly poolLimits?: MbufPoolLimits;
  /** IP layer tuning (default TTL, ICMP rate limit, reassembly caps, loopback queue). */
  readonly ip?: IpLayerOptions;
  /** Socket layer limits (sb_max, somaxconn). */
  readonly sockets?: SocketLayerOptions;
  readonly udp?: UdpOptions;
  /** TCP: the kernel profile (default XNU_PROFILE) and the ephemeral port range. */
  readonly tcp?: TcpOptions;
}

export interface AddRouteOptions {
  /** Outgoing interface by index... */
  readonly ifindex?: number;
  /** ...or by name; else the interface whose connected route covers `gateway`. */
  readonly ifname?: string;
  readonly gateway?: IpAddr | string | null;
  /** Route MTU (0 or absent: the interface's). */
  readonly mtu?: number;
  /** Lower wins among equal prefixes (default 0). */
  readonly metric?: number;
}

/** Rounds of end-of-entry work per entry point before the rest is left to the next poll. */
const MAX_END_ROUNDS = 64;
/** Looped-back packets processed per round. */
const LOOP_BUDGET = 256;

export class Stack implements StackContext, Pollable, StackEntry {
  readonly env: Env;
  readonly name: string;
  readonly pool: MbufPool;
  readonly timers = new TimerQueue();
  readonly ip: IpLayer;
  /** The protocol-independent socket layer: socreate and the protocol switch. */
  readonly sockets: SocketLayer;
  readonly udp: Udp;
  readonly tcp: Tcp;
  private readonly deferreds: Deferred[] = [];
  private depth = 0;
  private workPending = false;
  private workCb: (() => void) | null = null;

  constructor(opts: StackOptions) {
    this.env = opts.env;
    this.name = opts.name ?? 'stack';
    this.pool = new MbufPool(opts.poolLimits);
    this.ip = new IpLayer(this, this, opts.ip);
    this.sockets = new SocketLayer(this, opts.sockets);
    this.udp = new Udp(this, this.sockets, this.ip, opts.udp);
    this.ip.registerProtocol(IPPROTO_UDP, this.udp);
    this.tcp = new Tcp(this, this.sockets, this.ip, opts.tcp);
    this.ip.registerProtocol(IPPROTO_TCP, this.tcp);
  }

  // ---- configuration ----

  /** Attaches `link` as a new interface with `addrs` (each adds its connected route). */
  addInterface(link: Link, opts: AddInterfaceOptions & { addrs: readonly IpCidr[] }): Ifnet {
    return this.ip.addInterface(link, opts);
  }

  /**
   * Adds a route to `dst` (e.g. '0.0.0.0/0', '::/0'). Returns 0, EINVAL (bad prefix or gateway),
   * ENXIO (no such interface), ENETUNREACH (no interface reaches the gateway) or EEXIST.
   */
  addRoute(dst: IpCidr | string, opts: AddRouteOptions = {}): number {
    const cidr = typeof dst === 'string' ? IpCidr.parse(dst) : dst;
    if (cidr === null) return EINVAL;
    const gw = typeof opts.gateway === 'string' ? IpAddr.parse(opts.gateway) : opts.gateway ?? null;
    if (typeof opts.gateway === 'string' && gw === null) return EINVAL;
    if (gw !== null && gw.family !== cidr.addr.family) return EINVAL;
    let ifindex = opts.ifindex ?? 0;
    if (opts.ifname !== undefined) {
      const ifp = this.ip.ifnetByName(opts.ifname);
      if (ifp === null) return ENXIO;
      ifindex = ifp.index;
    }
    if (ifindex !== 0 && this.ip.ifnet(ifindex) === null) return ENXIO;
    if (ifindex === 0) {
      if (gw === null) return EINVAL;
      // The gateway must be on-link: covered by a connected route.
      const r = this.ip.routes.lookupAddr(gw);
      if (r === null || !r.connected) return ENETUNREACH;
      ifindex = r.ifindex;
    }
    const mtu = opts.mtu ?? 0;
    if (!Number.isInteger(mtu) || mtu < 0 || (mtu !== 0 && mtu < 68)) return EINVAL;
    const r = this.ip.routes.add({ dst: cidr, ifindex, gateway: gw, mtu, metric: opts.metric ?? 0 });
    return r === EEXIST ? EEXIST : 0;
  }

  /** Removes the explicit routes to `dst` (on `ifindex` when given). 0, or ESRCH when none matched. */
  removeRoute(dst: IpCidr | string, ifindex = 0): number {
    const cidr = typeof dst === 'string' ? IpCidr.parse(dst) : dst;
    if (cidr === null) return EINVAL;
    return this.ip.routes.remove(cidr, ifindex) > 0 ? 0 : ESRCH;
  }

  // ---- StackContext ----

  addDeferred(d: Deferred): void {
    if (!this.deferreds.includes(d)) this.deferreds.push(d);
  }

  requestWork(): void {
    if (this.workPending) return;
    this.workPending = true;
    if (this.depth === 0 && this.workCb !== null) this.workCb();
  }

  /** The driver's hook: called when work is requested outside an entry point (the only callback). */
  onWork(cb: (() => void) | null): void { this.workCb = cb; }

  // ---- Pollable ----

  /** "Now" when work is pending, else the earliest timer deadline, else null. */
  pollAt(): Instant | null {
    if (this.workPending || this.ip.hasPendingWork() || this.anyDeferred()) return this.env.clock.now();
    return this.timers.nextDeadline();
  }

  /** Fires due timers and runs the end-of-entry work. */
  poll(now: Instant): void {
    this.enterStack(now);
    try {
      this.timers.fireDue(now);
    } finally {
      this.leaveStack(now);
    }
  }

  // ---- StackEntry ----

  enterStack(_now: Instant): void { this.depth++; }

  leaveStack(now: Instant): void {
    if (this.depth > 1) {
      this.depth--;
      return;
    }
    try {
      this.endOfEntry(now);
    } finally {
      this.depth = 0;
    }
  }

  /** Frees what the stack holds in queues (loopback, reassembly, unsent output): teardown and tests. */
  drain(): void {
    this.ip.drain();
    this.ip.pmtu.clear();
  }

  private anyDeferred(): boolean {
    const ds = this.deferreds;
    for (let i = 0; i < ds.length; i++) if (ds[i]!.hasDeferred()) return true;
    return false;
  }

  private endOfEntry(now: Instant): void {
    // m_drain: an allocation failed during this entry point: TCP frees its out-of-order queues.
    this.tcp.drainIfPoolShort();
    const ip = this.ip;
    const ds = this.deferreds;
    for (let round = 0; round < MAX_END_ROUNDS; round++) {
      this.workPending = false;
      let progress = false;
      if (ip.loopPending > 0) {
        ip.runLoopback(now, LOOP_BUDGET);
        progress = true;
      }
      for (let i = 0; i < ds.length; i++) {
        const d = ds[i]!;
        if (d.hasDeferred()) {
          d.runDeferred(now);
          progress = true;
        }
      }
      if (this.timers.fireDue(now) > 0) progress = true;
      if (!progress && !this.workPending) break;
    }
    ip.flushOutput(now);
    // Work left over (a bound was hit): pollAt() says "now" so the driver comes back at once.
    this.workPending = ip.loopPending > 0 || this.anyDeferred();
  }
}

