// IpLayer: the IP layer of one stack. Owns the interfaces, the routing table, the path MTU cache,
// both reassemblers, the ICMP rate limiter, the protocol switch (BSD inetsw/inet6sw) and the
// counters, and implements the IpOutput contract of protocol.ts for the transports.
// ingress: Link → Ifnet.receiveBatch → IpLayer.ifInput → ip-input.ts / ip6-input.ts → IpProtocol.input
// egress:  transport → IpLayer.output → ip-output.ts / ip6-output.ts → Ifnet.enqueue (or the loopback queue)
// loopback: output to our own addresses is queued here and fed back to input at the end of the
//          entry point (Stack.leave → runLoopback), like BSD's lo0 without a Link.

import type { LinkCaps } from '../link/link.js';
import type { Mbuf, MbufPool } from '../mbuf/index.js';
import { mFreem, M_LOOP } from '../mbuf/index.js';
import type { Link } from '../link/link.js';
import type { StackContext } from '../context.js';
import type { Instant } from '../time/instant.js';
import { US_PER_SEC } from '../time/instant.js';
import { ENOBUFS } from '../errno.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { IpCidr, IpFamily } from '../wire/ip-addr.js';
import { ChecksumAccumulator } from '../wire/checksum.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../wire/ip-proto.js';
import { Ipv4View, type Ipv4Repr } from '../wire/ipv4.js';
import { Ipv6FragView, Ipv6View, type Ipv6Repr } from '../wire/ipv6.js';
import { Icmpv4View, ICMP_UNREACH, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTOCOL } from '../wire/icmpv4.js';
import {
  Icmpv6View, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER,
} from '../wire/icmpv6.js';
import { TcpView } from '../wire/tcp.js';
import type { IpInputInfo, IpOutput, IpOutputParams, IpProtocol } from './protocol.js';
import { Ifnet } from './ifnet.js';
import type { IfnetHost } from './ifnet.js';
import { RouteTable } from './route.js';
import type { Route, RouteIfnets } from './route.js';
import { PmtuCache } from './pmtu.js';
import type { ReassLimits } from './reass.js';
import { Ip4Reass } from './ip-reass.js';
import { Ip6Reass } from './ip6-reass.js';
import { IpStats, Ip6Stats, IcmpStats, Icmp6Stats } from './ip-stats.js';
import { lowerPathMtu, TokenBucket } from './icmp-common.js';
import { ipInput } from './ip-input.js';
import { ipOutput } from './ip-output.js';
import { ip6Input } from './ip6-input.js';
import { ip6Output } from './ip6-output.js';
import { icmpError, icmpSendEcho } from './icmp.js';
import { icmp6Error, icmp6SendEcho, nextHeaderFieldOffset, Walk6 } from './icmp6.js';

/** lo0's MTU in BSD: what pathMtu reports for our own addresses. */
export const LOMTU = 16384;
/** RFC 1122 §3.2.1.7 / RFC 8200 §3: default TTL and hop limit (BSD ip_defttl, ip6_defhlim). */
export const IP_DEFTTL = 64;
/** BSD icmplim: ICMP errors per second. */
export const ICMP_DEFAULT_RATE = 250;

export const DEFAULT_REASS4_LIMITS: ReassLimits = {
  maxQueues: 64, maxFragsPerDatagram: 64, maxBytes: 4 * 1024 * 1024,
  // BSD IPFRAGTTL: 60 slow-timeout ticks of 500 ms = 30 s.
  ttlUs: 30 * US_PER_SEC,
};
export const DEFAULT_REASS6_LIMITS: ReassLimits = {
  maxQueues: 64, maxFragsPerDatagram: 64, maxBytes: 4 * 1024 * 1024,
  // RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving fragment".
  ttlUs: 60 * US_PER_SEC,
};

export interface IpLayerOptions {
  /** Default TTL / hop limit (64). */
  readonly defaultTtl?: number;
  /** ICMP/ICMPv6 errors per second, one bucket for both families (250; <= 0 disables the limit). */
  readonly icmpRatePerSec?: number;
  /** Bucket depth (default: one second's worth). */
  readonly icmpBurst?: number;
  readonly reass4?: Partial<ReassLimits>;
  readonly reass6?: Partial<ReassLimits>;
  /** Most packets waiting on the loopback queue (default 1024; beyond, ENOBUFS). */
  readonly loopQueueMax?: number;
  /** Most path MTU entries (default 4096). */
  readonly pmtuMaxEntries?: number;
}

/** How a Stack brackets entry points; IpLayer passes it to its interfaces. */
export interface StackEntry {
  enterStack(now: Instant): void;
  leaveStack(now: Instant): void;
}

export interface EchoReply {
  readonly family: IpFamily;
  /** Who answered. */
  readonly src: IpAddr;
  readonly ident: number;
  readonly seq: number;
  /** A copy of the reply's data. */
  readonly payload: Uint8Array;
  /** TTL / hop limit of the reply as received. */
  readonly hopLimit: number;
}

export interface EchoListener {
  onEchoReply(reply: EchoReply, now: Instant): void;
}

export interface AddInterfaceOptions {
  readonly name?: string;
  readonly addrs?: readonly IpCidr[];
  readonly mtu?: number;
}

export class IpLayer implements IpOutput, IfnetHost, RouteIfnets {
  readonly ipstat = new IpStats();
  readonly ip6stat = new Ip6Stats();
  readonly icmpstat = new IcmpStats();
  readonly icmp6stat = new Icmp6Stats();
  /** Interfaces by if_index - 1. */
  readonly ifnets: Ifnet[] = [];
  readonly routes: RouteTable;
  readonly pmtu: PmtuCache;
  readonly reass4: Ip4Reass;
  readonly reass6: Ip6Reass;
  /** The ICMP error rate limiter (both families). */
  readonly icmpLimiter: TokenBucket;
  /** Default TTL / hop limit. */
  defaultTtl: number;
  /** @internal The per-stack scratch handed to transports (rewritten per packet). */
  readonly inInfo: IpInputInfo = {
    family: 4, srcOff: 0, dstOff: 0, l4Off: 0, l4Len: 0, ifindex: 0, pseudoSum: 0,
    dstIsBroadcastOrMulticast: false, ttlOrHopLimit: 0, tos: 0,
  };
  /** @internal Next IPv4 identification (RFC 6864: a counter from a random start). */
  ipId: number;
  /** @internal Next IPv6 fragment identification (RFC 8200 §4.5, RFC 7739: random start). */
  ip6Id: number;
  /** @internal Reused list of fragments being built by output. */
  readonly fragScratch: Mbuf[] = [];
  /** @internal Small reused byte scratch (checksum writes, extension-header walks). */
  readonly scratch = new Uint8Array(64);
  /**
   * @internal This and the fields below: stack/wire header views and scratch, reused for every
   * packet. A function wraps a view right before reading it and reads nothing from it after a call
   * that may send, deliver or walk headers (those re-wrap the same view).
   */
  readonly v4 = new Ipv4View();
  readonly v6 = new Ipv6View();
  readonly frag6 = new Ipv6FragView();
  readonly icmp4 = new Icmpv4View();
  readonly icmp6 = new Icmpv6View();
  readonly tcp = new TcpView();
  readonly csum = new ChecksumAccumulator();
  readonly walk6 = new Walk6();
  /** @internal The headers ip-output.ts / ip6-output.ts emit (rewritten per packet). */
  readonly out4: Mutable<Ipv4Repr> = {
    src: IpAddr.ANY4, dst: IpAddr.ANY4, protocol: 0, ttl: 0, tos: 0, ident: 0,
    dontFrag: false, moreFrags: false, fragOffset: 0, payloadLen: 0,
  };
  readonly out6: Mutable<Ipv6Repr> = {
    src: IpAddr.ANY6, dst: IpAddr.ANY6, nextHeader: 0, hopLimit: 0, trafficClass: 0, flowLabel: 0, payloadLen: 0,
  };
  private readonly protocols: (IpProtocol | null)[] = new Array<IpProtocol | null>(256).fill(null);
  private echoListener: EchoListener | null = null;
  private loopHead: Mbuf | null = null;
  private loopTail: Mbuf | null = null;
  private loopCount = 0;
  private readonly loopMax: number;

  constructor(readonly ctx: StackContext, private readonly entry: StackEntry, opts: IpLayerOptions = {}) {
    this.defaultTtl = opts.defaultTtl ?? IP_DEFTTL;
    this.routes = new RouteTable(this);
    this.pmtu = new PmtuCache(ctx.timers, opts.pmtuMaxEntries);
    this.reass4 = new Ip4Reass(this, { ...DEFAULT_REASS4_LIMITS, ...opts.reass4 });
    this.reass6 = new Ip6Reass(this, { ...DEFAULT_REASS6_LIMITS, ...opts.reass6 });
    const rate = opts.icmpRatePerSec ?? ICMP_DEFAULT_RATE;
    this.icmpLimiter = new TokenBucket(rate, opts.icmpBurst ?? rate);
    this.loopMax = opts.loopQueueMax ?? 1024;
    this.ipId = ctx.env.rng.nextU32() & 0xffff;
    this.ip6Id = ctx.env.rng.nextU32();
  }

  get pool(): MbufPool { return this.ctx.pool; }

  // ---- configuration ----

  /** Attaches `link` as a new interface (if_attach) and configures its addresses (with connected routes). */
  addInterface(link: Link, opts: AddInterfaceOptions = {}): Ifnet {
    const index = this.ifnets.length + 1;
    const ifp = new Ifnet(index, opts.name ?? link.name ?? `if${index}`, link, this);
    if (opts.mtu !== undefined) {
      const e = ifp.setMtu(opts.mtu);
      if (e !== 0) throw new Error(`interface mtu must be an integer in [68, ${link.caps.mtu}], got ${opts.mtu}`);
    }
    this.ifnets.push(ifp);
    for (const a of opts.addrs ?? []) {
      const e = ifp.addAddress(a);
      if (e !== 0) throw new Error(`cannot add address ${a} to ${ifp.name}: errno ${e}`);
    }
    link.setReceiver(ifp);
    return ifp;
  }

  /** The interface with if_index `index`, or null. */
  ifnet(index: number): Ifnet | null { return this.ifnets[index - 1] ?? null; }

  /** The interface called `name`, or null. */
  ifnetByName(name: string): Ifnet | null { return this.ifnets.find((i) => i.name === name) ?? null; }

  /**
   * Registers a transport for IP protocol number `proto` in both families (BSD protosw). ICMP (1)
   * and ICMPv6 (58) are the IP layer's own. Throws on a bad number or a second registration.
   */
  registerProtocol(proto: number, p: IpProtocol): void {
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new Error(`bad protocol number ${proto}`);
    if (this.protocols[proto] !== null) throw new Error(`protocol ${proto} already registered`);
    this.protocols[proto] = p;
  }

  unregisterProtocol(proto: number): void {
    if (proto >= 0 && proto <= 255) this.protocols[proto] = null;
  }

  /** @internal The transport for `proto`, or null. */
  protocol(proto: number): IpProtocol | null { return this.protocols[proto] ?? null; }

  setEchoListener(l: EchoListener | null): void { this.echoListener = l; }

  /** @internal */
  get echo(): EchoListener | null { return this.echoListener; }

  // ---- IfnetHost / RouteIfnets ----

  ifInput(ifp: Ifnet, m: Mbuf, now: Instant): void {
    // The version nibble leads both headers (RFC 791 §3.1, RFC 8200 §3).
    const v = m.len > 0 ? m.buf[m.data]! >>> 4 : 0;
    if (v === 6) ip6Input(this, m, ifp, now, false);
    else if (v === 4 || m.len === 0) ipInput(this, m, ifp, now, false);
    else {
      // Neither version: counted as an IPv4 packet with a bad version.
      this.ipstat.ips_total++;
      this.ipstat.ips_badvers++;
      mFreem(m);
    }
  }

  requestWork(): void { this.ctx.requestWork(); }
  enterStack(now: Instant): void { this.entry.enterStack(now); }
  leaveStack(now: Instant): void { this.entry.leaveStack(now); }

  ifUsable(ifindex: number): boolean {
    const ifp = this.ifnets[ifindex - 1];
    return ifp !== undefined && ifp.up;
  }

  // ---- addresses ----

  /**
   * True when the address of `family` at buf[off..] is ours: assigned to any interface (the weak
   * host model, RFC 1122 §3.3.4.2, as BSD) or in 127/8 / ::1 (the implicit loopback). Allocates nothing.
   */
  isLocalBytes(family: IpFamily, buf: Uint8Array, off: number): boolean {
    if (family === 4 ? buf[off] === 127 : isV6Loopback(buf, off)) return true;
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.hasAddress(family, buf, off)) return true;
    return false;
  }

  /** The interface an address of ours is assigned to (null for loopback addresses or none). */
  ifnetOwning(family: IpFamily, buf: Uint8Array, off: number): Ifnet | null {
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.hasAddress(family, buf, off)) return ifs[i]!;
    return null;
  }

  /** True when the IPv4 address at buf[off..] is 255.255.255.255 or a directed broadcast of one of our prefixes. */
  isBroadcastBytes(buf: Uint8Array, off: number): boolean {
    if (buf[off] === 255 && buf[off + 1] === 255 && buf[off + 2] === 255 && buf[off + 3] === 255) return true;
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.isSubnetBroadcast(buf, off)) return true;
    return false;
  }

  // ---- IpOutput ----

  output(m: Mbuf, p: IpOutputParams, now: Instant): number {
    return p.dst.family === 4 ? ipOutput(this, m, p, now) : ip6Output(this, m, p, now);
  }

  selectSource(dst: IpAddr, ifscope: number): IpAddr | null {
    const b = dst.bytes;
    if (dst.family === 4) {
      if (b[0] === 127) return IpAddr.of('127.0.0.1');
    } else if (isV6Loopback(b, 0)) {
      return IpAddr.of('::1');
    }
    if (this.isLocalBytes(dst.family, b, 0)) return dst;
    const ifp = this.outputIfnet(dst.family, b, 0, ifscope);
    // No route: null, which connect reports as ENETUNREACH at once (XNU in_pcbladdr), instead of
    // a connection attempt that could only time out.
    if (ifp === null) return null;
    const a = bestSource(ifp, dst);
    if (a !== null) return a;
    if (ifscope !== 0) return null;
    // A route whose interface has no address of this family: any interface's (BSD falls back the same way).
    for (const i of this.ifnets) {
      if (!i.up) continue;
      const a = bestSource(i, dst);
      if (a !== null) return a;
    }
    return null;
  }

  isLocalAddress(a: IpAddr): boolean { return this.isLocalBytes(a.family, a.bytes, 0); }

  isBroadcast(a: IpAddr): boolean { return a.family === 4 && this.isBroadcastBytes(a.bytes, 0); }

  linkCaps(dst: IpAddr, ifscope: number): LinkCaps | null {
    if (this.isLocalBytes(dst.family, dst.bytes, 0)) return null;
    const ifp = this.outputIfnet(dst.family, dst.bytes, 0, ifscope);
    return ifp === null ? null : ifp.link.caps;
  }

  pathMtu(dst: IpAddr): number {
    if (this.isLocalBytes(dst.family, dst.bytes, 0)) return LOMTU;
    const r = this.routes.lookup(dst.family, dst.bytes, 0);
    if (r === null) return 0;
    return this.mtuFor(r, this.ifnets[r.ifindex - 1]!, dst.family, dst.bytes, 0);
  }

  updatePathMtu(dst: IpAddr, mtu: number, now: Instant): number {
    const changed = lowerPathMtu(this, null, dst, mtu, now);
    if (dst.family === 4) {
      if (changed) this.icmpstat.icps_pmtuchanged++;
      else this.icmpstat.icps_pmtuignored++;
    } else if (changed) this.icmp6stat.icp6s_pmtuchanged++;
    else this.icmp6stat.icp6s_pmtuignored++;
    return this.pathMtu(dst);
  }

  sendIcmpError(m: Mbuf, info: IpInputInfo, kind: 'port-unreach' | 'proto-unreach', now: Instant): void {
    if (info.family === 4) {
      // RFC 792: destination unreachable, code 3 (port) or 2 (protocol).
      icmpError(this, m, ICMP_UNREACH, kind === 'port-unreach' ? ICMP_UNREACH_PORT : ICMP_UNREACH_PROTOCOL, 0, now);
    } else if (kind === 'port-unreach') {
      // RFC 4443 §3.1: destination unreachable, code 4 (port unreachable).
      icmp6Error(this, m, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, now);
    } else {
      // RFC 8200 §4: parameter problem, code 1, pointing at the offending next-header field.
      icmp6Error(this, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, nextHeaderFieldOffset(this, m, info.l4Off), now);
    }
  }

  // ---- echo client ----

  /**
   * Sends an ICMP/ICMPv6 echo request to `dst` (payload copied). Returns 0 or an errno from output
   * (EHOSTUNREACH, EADDRNOTAVAIL, EMSGSIZE, ENOBUFS, ...). Replies go to the echo listener.
   */
  sendEcho(dst: IpAddr, ident: number, seq: number, payload: Uint8Array, now: Instant): number {
    return dst.family === 4 ? icmpSendEcho(this, dst, ident, seq, payload, now) : icmp6SendEcho(this, dst, ident, seq, payload, now);
  }

  // ---- routes and MTU (internal helpers for output) ----

  /** The route MTU (rmx_mtu or the interface's) lowered by any learned path MTU. */
  mtuFor(r: Route, ifp: Ifnet, family: IpFamily, buf: Uint8Array, off: number): number {
    let mtu = r.mtu !== 0 && r.mtu < ifp.mtu ? r.mtu : ifp.mtu;
    const p = this.pmtu.lookup(family, buf, off);
    if (p !== 0 && p < mtu) mtu = p;
    return mtu;
  }

  /** The interface output to buf[off..] would use, or null (multicast/limited broadcast honour ifscope without a route). */
  outputIfnet(family: IpFamily, buf: Uint8Array, off: number, ifscope: number): Ifnet | null {
    const r = this.routes.lookup(family, buf, off, ifscope);
    if (r !== null) return this.ifnets[r.ifindex - 1] ?? null;
    if (ifscope !== 0) {
      const ifp = this.ifnets[ifscope - 1];
      const scoped = family === 4 ? buf[off]! >= 224 : buf[off] === 0xff || (buf[off] === 0xfe && (buf[off + 1]! & 0xc0) === 0x80);
      if (ifp !== undefined && ifp.up && scoped) return ifp;
    }
    return null;
  }

  // ---- loopback (lo0) ----

  /**
   * Queues a complete IP packet addressed to us for input at the end of the entry point. Takes
   * ownership. Returns 0, or ENOBUFS when the queue is full.
   */
  loopEnqueue(m: Mbuf, family: IpFamily): number {
    if (this.loopCount >= this.loopMax) {
      if (family === 4) this.ipstat.ips_loopdrop++; else this.ip6stat.ip6s_loopdrop++;
      mFreem(m);
      return ENOBUFS;
    }
    if (family === 4) this.ipstat.ips_looped++; else this.ip6stat.ip6s_looped++;
    m.flags |= M_LOOP;
    // Nothing segments or checksums for us on the way back in (checksums were completed by output).
    m.gsoType = 0;
    m.gsoSize = 0;
    const dstOff = family === 4 ? this.v4.wrap(m.buf, m.data, m.len).dstOffset : this.v6.wrap(m.buf, m.data, m.len).dstOffset;
    const owner = this.ifnetOwning(family, m.buf, dstOff);
    m.rcvif = owner === null ? 0 : owner.index;
    m.nextpkt = null;
    if (this.loopTail === null) this.loopHead = m; else this.loopTail.nextpkt = m;
    this.loopTail = m;
    this.loopCount++;
    this.ctx.requestWork();
    return 0;
  }

  /** Feeds up to `budget` looped packets to input. Returns whether more remain. */
  runLoopback(now: Instant, budget: number): boolean {
    for (let n = 0; n < budget && this.loopHead !== null; n++) {
      const m = this.loopHead;
      this.loopHead = m.nextpkt;
      if (this.loopHead === null) this.loopTail = null;
      m.nextpkt = null;
      this.loopCount--;
      const ifp = m.rcvif > 0 ? this.ifnets[m.rcvif - 1] ?? null : null;
      if ((m.buf[m.data]! >>> 4) === 6) ip6Input(this, m, ifp, now, false);
      else ipInput(this, m, ifp, now, false);
    }
    return this.loopHead !== null;
  }

  /** Packets on the loopback queue. */
  get loopPending(): number { return this.loopCount; }

  /** True when the loopback queue or an interface's output batch holds packets. */
  hasPendingWork(): boolean {
    if (this.loopCount > 0) return true;
    for (const ifp of this.ifnets) if (ifp.pendingOutput > 0) return true;
    return false;
  }

  /** Hands every interface's output batch to its link. */
  flushOutput(now: Instant): void {
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) ifs[i]!.flush(now);
  }

  /** Frees queued loopback packets and reassembly queues (teardown, tests). */
  drain(): void {
    while (this.loopHead !== null) {
      const m = this.loopHead;
      this.loopHead = m.nextpkt;
      m.nextpkt = null;
      mFreem(m);
    }
    this.loopTail = null;
    this.loopCount = 0;
    this.reass4.engine.drain();
    this.reass6.engine.drain();
    for (const ifp of this.ifnets) ifp.discardOutput();
  }

  /** ICMP protocol numbers are the layer's own. */
  static isIcmp(family: IpFamily, proto: number): boolean {
    return family === 4 ? proto === IPPROTO_ICMP : proto === IPPROTO_ICMPV6;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function isV6Loopback(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 15; i++) if (b[off + i] !== 0) return false;
  return b[off + 15] === 1;
}

/**
 * RFC 6724 lite: among `ifp`'s addresses of dst's family, prefer the same scope (link-local for a
 * link-local destination, else not link-local), then the longest common prefix with dst, then the
 * first configured.
 */
function bestSource(ifp: Ifnet, dst: IpAddr): IpAddr | null {
  const list = dst.family === 4 ? ifp.addrs4 : ifp.addrs6;
  let best: IpAddr | null = null;
  let bestScore = -1;
  const dstLL = dst.family === 6 && dst.isLinkLocal;
  for (const c of list) {
    const a = c.addr;
    let score = commonPrefix(a.bytes, dst.bytes);
    if (dst.family === 6 && a.isLinkLocal === dstLL) score += 1000;
    if (dst.family === 4 && c.contains(dst)) score += 1000;
    if (score > bestScore) { best = a; bestScore = score; }
  }
  return best;
}

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) { n += 8; continue; }
    return n + Math.clz32(x) - 24;
  }
  return n;
}
