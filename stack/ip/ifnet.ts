// Network interfaces (BSD struct ifnet + its in_ifaddr/in6_ifaddr lists): one per attached Link.
// An Ifnet owns its addresses (adding one adds the connected route, removing it removes the route),
// its MTU, its up/down state, its counters and its output batch.
// ingress: Link → Ifnet.receiveBatch → IfnetHost.ifInput (ip-layer.ts → ip-input.ts / ip6-input.ts)
//          → end-of-entry work (loopback, deferreds, flush) at IfnetHost.leaveStack.
// egress:  ip-output.ts / ip6-output.ts → Ifnet.enqueue → (end of entry) Ifnet.flush → Link.transmit.

import type { Mbuf, MbufPool } from '../mbuf/index.js';
import { mFreem, mLength } from '../mbuf/index.js';
import type { Link, LinkReceiver } from '../link/link.js';
import type { Instant } from '../time/instant.js';
import type { IpAddr, IpCidr, IpFamily } from '../wire/ip-addr.js';
import { EADDRNOTAVAIL, EINVAL } from '../errno.js';
import { EEXIST, networkOf } from './route.js';
import type { RouteTable } from './route.js';

/** What an interface needs from the IP layer that owns it. */
export interface IfnetHost {
  readonly pool: MbufPool;
  readonly routes: RouteTable;
  /** IP input for one packet received on `ifp` (takes ownership). */
  ifInput(ifp: Ifnet, m: Mbuf, now: Instant): void;
  /** Output was queued: outside an entry point (an API call) the stack must be polled to flush it. */
  requestWork(): void;
  /** Brackets an entry point: the stack runs its end-of-entry work at the outermost leave. */
  enterStack(now: Instant): void;
  leaveStack(now: Instant): void;
}

/** Per-interface counters (struct if_data). */
export class IfStats {
  /** Packets received from the link. */
  ipackets = 0;
  /** Bytes of those packets. */
  ibytes = 0;
  /** Received packets dropped because the interface was down. */
  iqdrops = 0;
  /** Packets handed to the link. */
  opackets = 0;
  /** Bytes of those packets. */
  obytes = 0;
  /** Output packets dropped because the interface was down. */
  oqdrops = 0;
  /** Times the output batch filled up and was flushed before the end of the entry point. */
  oflushfull = 0;
}

/** Default number of packets batched before an early flush. */
export const IF_BATCH_MAX = 256;

export class Ifnet implements LinkReceiver {
  /** IPv4 addresses with their prefixes, in the order added (the first is the primary). */
  readonly addrs4: IpCidr[] = [];
  /** IPv6 addresses with their prefixes, in the order added. */
  readonly addrs6: IpCidr[] = [];
  readonly stats = new IfStats();
  /** IFF_UP: when false, input and output are dropped and routes through it are skipped. */
  up = true;
  /** Default hop limit for packets sent through this interface (0 = the stack default, 64). */
  hopLimit = 0;
  private mtuValue: number;
  /** Reused output batch: outq[0..outCount) waits for flush(); entries past outCount are stale. */
  private readonly outq: Mbuf[] = [];
  private outCount = 0;

  constructor(
    /** if_index, 1-based. */
    readonly index: number,
    readonly name: string,
    readonly link: Link,
    private readonly host: IfnetHost,
    mtu?: number,
    private readonly batchMax = IF_BATCH_MAX,
  ) {
    this.mtuValue = mtu ?? link.caps.mtu;
  }

  get pool(): MbufPool { return this.host.pool; }

  /** if_mtu: the largest IP packet sent through this interface (never above the link's). */
  get mtu(): number { return this.mtuValue; }

  /** Sets the MTU; returns EINVAL outside [68, link MTU]. */
  setMtu(mtu: number): number {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > this.link.caps.mtu) return EINVAL;
    this.mtuValue = mtu;
    return 0;
  }

  /** Packets waiting in the output batch. */
  get pendingOutput(): number { return this.outCount; }

  // ---- addresses ----

  /** Adds `cidr` and its connected route. EEXIST when the address is already configured here. */
  addAddress(cidr: IpCidr): number {
    const list = cidr.addr.family === 4 ? this.addrs4 : this.addrs6;
    const max = cidr.addr.family === 4 ? 32 : 128;
    if (!Number.isInteger(cidr.prefixLen) || cidr.prefixLen < 0 || cidr.prefixLen > max) return EINVAL;
    if (cidr.addr.isMulticast || cidr.addr.isUnspecified) return EINVAL;
    for (const c of list) if (c.addr.equals(cidr.addr)) return EEXIST;
    list.push(cidr);
    // A second address in the same prefix shares the route (add returns EEXIST, ignored).
    this.host.routes.add({ dst: cidr, ifindex: this.index }, true);
    return 0;
  }

  /** Removes address `a` and, when no other address here shares its prefix, the connected route. */
  removeAddress(a: IpAddr): number {
    const list = a.family === 4 ? this.addrs4 : this.addrs6;
    const i = list.findIndex((c) => c.addr.equals(a));
    if (i < 0) return EADDRNOTAVAIL;
    const [gone] = list.splice(i, 1);
    const net = networkOf(gone!);
    const shared = list.some((c) => c.prefixLen === net.prefixLen && networkOf(c).addr.equals(net.addr));
    if (!shared) this.host.routes.removeConnected(net, this.index);
    return 0;
  }

  /** True when the address of `family` at buf[off..] is configured on this interface. Allocates nothing. */
  hasAddress(family: IpFamily, buf: Uint8Array, off: number): boolean {
    const list = family === 4 ? this.addrs4 : this.addrs6;
    for (let i = 0; i < list.length; i++) if (list[i]!.addr.equalsBytes(buf, off)) return true;
    return false;
  }

  /** True when the IPv4 address at buf[off..] is the directed broadcast of one of our prefixes. */
  isSubnetBroadcast(buf: Uint8Array, off: number): boolean {
    const list = this.addrs4;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.prefixLen >= 31 || !c.containsBytes(buf, off)) continue;
      // Host part all ones.
      let bits = c.prefixLen;
      let all = true;
      for (let j = 0; j < 4; j++, bits -= 8) {
        const hostMask = bits >= 8 ? 0 : bits <= 0 ? 0xff : 0xff >> bits;
        if ((buf[off + j]! & hostMask) !== hostMask) { all = false; break; }
      }
      if (all) return true;
    }
    return false;
  }

  /**
   * True when the IPv6 multicast address at buf[off..] is one we listen to: all-nodes (ff01::1,
   * ff02::1, RFC 4291 §2.7.1) or the solicited-node group ff02::1:ffXX:XXXX of one of our addresses.
   */
  isJoinedGroup6(buf: Uint8Array, off: number): boolean {
    if (buf[off] !== 0xff) return false;
    const scope = buf[off + 1]!;
    let zeros = true;
    for (let i = 2; i < 15; i++) if (buf[off + i] !== 0) { zeros = false; break; }
    if (zeros && buf[off + 15] === 1 && (scope === 0x01 || scope === 0x02)) return true;
    if (scope !== 0x02) return false;
    for (let i = 2; i < 11; i++) if (buf[off + i] !== 0) return false;
    if (buf[off + 11] !== 1 || buf[off + 12] !== 0xff) return false;
    const list = this.addrs6;
    for (let i = 0; i < list.length; i++) {
      const b = list[i]!.addr.bytes;
      if (b[13] === buf[off + 13] && b[14] === buf[off + 14] && b[15] === buf[off + 15]) return true;
    }
    return false;
  }

  // ---- input ----

  /** LinkReceiver: one IP input per packet, then the stack's end-of-entry work. Takes ownership. */
  receiveBatch(batch: Mbuf[], count: number, now: Instant): void {
    const host = this.host;
    host.enterStack(now);
    try {
      for (let i = 0; i < count; i++) {
        const m = batch[i]!;
        if (!this.up) {
          this.stats.iqdrops++;
          mFreem(m);
          continue;
        }
        this.stats.ipackets++;
        this.stats.ibytes += m.hasPkthdr ? m.pktLen : mLength(m);
        m.rcvif = this.index;
        host.ifInput(this, m, now);
      }
    } finally {
      host.leaveStack(now);
    }
  }

  // ---- output ----

  /**
   * Queues one packet (packet-header chain holding an IP packet) for the link; flushes early when
   * the batch is full. Takes ownership. Returns false (packet freed, counted) when the interface is down.
   */
  enqueue(m: Mbuf, now: Instant): boolean {
    if (!this.up) {
      this.stats.oqdrops++;
      mFreem(m);
      return false;
    }
    this.outq[this.outCount++] = m;
    if (this.outCount === 1) this.host.requestWork();
    if (this.outCount >= this.batchMax) {
      this.stats.oflushfull++;
      this.flush(now);
    }
    return true;
  }

  /** Hands the output batch to the link (which takes ownership of the packets). */
  flush(now: Instant): void {
    const n = this.outCount;
    if (n === 0) return;
    this.outCount = 0;
    const q = this.outq;
    for (let i = 0; i < n; i++) {
      const m = q[i]!;
      this.stats.opackets++;
      this.stats.obytes += m.pktLen;
    }
    this.link.transmit(q, n, now);
  }

  /** Frees the output batch without sending it (interface detach). */
  discardOutput(): void {
    for (let i = 0; i < this.outCount; i++) mFreem(this.outq[i]!);
    this.outCount = 0;
  }
}
