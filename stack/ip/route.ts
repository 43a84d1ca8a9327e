// The routing table of a host stack: longest-prefix match for IPv4 and IPv6 (BSD's rtalloc, minus
// the radix tree). Connected routes follow interface addresses (ifnet.ts adds and removes them);
// explicit routes (incl. the defaults 0.0.0.0/0 and ::/0) come from Stack.addRoute.
// Used by: ip-output.ts / ip6-output.ts (next interface), ip-layer.ts (selectSource, pathMtu).
//
// Each family keeps one array sorted by (prefix length desc, metric asc, insertion order asc), so
// the first matching usable entry is the answer and ties break deterministically. A lookup scans
// the array comparing prefixes against the address bytes in place: it allocates nothing.

import { IpAddr, IpCidr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';

import { EEXIST } from '../errno.js';

export { EEXIST, ESRCH } from '../errno.js';

export class Route {
  constructor(
    /** Destination prefix, host bits cleared. */
    readonly dst: IpCidr,
    /** Outgoing interface (1-based). */
    readonly ifindex: number,
    /** Next hop; informational on a point-to-point L3 link (no neighbor resolution). */
    readonly gateway: IpAddr | null,
    /** Route MTU (rmx_mtu); 0 means the interface MTU. */
    readonly mtu: number,
    /** Lower wins among equal prefixes. */
    readonly metric: number,
    /** Created for an interface address (RTF_CLONING/connected); removed with it. */
    readonly connected: boolean,
    /** Insertion order: the last tie-breaker. */
    readonly seq: number,
  ) {}

  toString(): string {
    return `${this.dst} dev #${this.ifindex}${this.gateway ? ` via ${this.gateway}` : ''}${this.mtu ? ` mtu ${this.mtu}` : ''}`
      + `${this.metric ? ` metric ${this.metric}` : ''}${this.connected ? ' connected' : ''}`;
  }
}

/** What a lookup needs to know about interfaces: whether one is usable. */
export interface RouteIfnets {
  ifUsable(ifindex: number): boolean;
}

/** The prefix `c` with its host bits cleared (10.1.2.3/24 → 10.1.2.0/24). */
export function networkOf(c: IpCidr): IpCidr {
  const src = c.addr.bytes;
  const b = new Uint8Array(src.length);
  let bits = c.prefixLen;
  for (let i = 0; i < b.length; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    b[i] = src[i]! & mask;
  }
  return new IpCidr(IpAddr.fromBytes(b, 0, b.length === 4 ? 4 : 16), c.prefixLen);
}

export interface RouteSpec {
  dst: IpCidr;
  ifindex: number;
  gateway?: IpAddr | null;
  mtu?: number;
  metric?: number;
}

export class RouteTable {
  private readonly v4: Route[] = [];
  private readonly v6: Route[] = [];
  private nextSeq = 0;

  constructor(private readonly ifnets: RouteIfnets) {}

  /** Every route of `family` (or both), in lookup order. A copy, for display and tests. */
  list(family?: IpFamily): Route[] {
    if (family === 4) return this.v4.slice();
    if (family === 6) return this.v6.slice();
    return [...this.v4, ...this.v6];
  }

  /**
   * Adds a route. Returns it, or EEXIST when a route with the same prefix, interface and gateway is
   * present. Host bits of `dst` are cleared.
   */
  add(spec: RouteSpec, connected = false): Route | typeof EEXIST {
    const dst = networkOf(spec.dst);
    const table = dst.addr.family === 4 ? this.v4 : this.v6;
    const gw = spec.gateway ?? null;
    for (const r of table) {
      if (r.dst.prefixLen === dst.prefixLen && r.dst.addr.equals(dst.addr) && r.ifindex === spec.ifindex
        && (r.gateway === null ? gw === null : gw !== null && r.gateway.equals(gw)) && r.connected === connected) {
        return EEXIST;
      }
    }
    const r = new Route(dst, spec.ifindex, gw, spec.mtu ?? 0, spec.metric ?? 0, connected, this.nextSeq++);
    // Insert before the first entry that sorts after r (stable: equal keys keep insertion order).
    let i = 0;
    while (i < table.length && !sortsAfter(table[i]!, r)) i++;
    table.splice(i, 0, r);
    return r;
  }

  /** Removes `r` (by identity). Returns whether it was present. */
  removeRoute(r: Route): boolean {
    const table = r.dst.addr.family === 4 ? this.v4 : this.v6;
    const i = table.indexOf(r);
    if (i < 0) return false;
    table.splice(i, 1);
    return true;
  }

  /**
   * Removes explicit (non-connected) routes for `dst` (host bits ignored), on `ifindex` when
   * nonzero. Returns how many were removed.
   */
  remove(dst: IpCidr, ifindex = 0): number {
    return this.removeWhere(networkOf(dst), ifindex, false);
  }

  /** Removes the connected route for prefix `dst` on `ifindex` (interface address removal). */
  removeConnected(dst: IpCidr, ifindex: number): number {
    return this.removeWhere(networkOf(dst), ifindex, true);
  }

  /** Removes every route through `ifindex` (interface detach). */
  removeInterface(ifindex: number): void {
    for (const t of [this.v4, this.v6]) {
      for (let i = t.length - 1; i >= 0; i--) if (t[i]!.ifindex === ifindex) t.splice(i, 1);
    }
  }

  /**
   * Longest-prefix match for the address of `family` stored at buf[off..]. Skips routes whose
   * interface is unusable (down or gone) and, when ifscope != 0, routes through other interfaces.
   * Allocates nothing.
   */
  lookup(family: IpFamily, buf: Uint8Array, off: number, ifscope = 0): Route | null {
    const table = family === 4 ? this.v4 : this.v6;
    for (let i = 0; i < table.length; i++) {
      const r = table[i]!;
      if (ifscope !== 0 && r.ifindex !== ifscope) continue;
      if (!r.dst.containsBytes(buf, off)) continue;
      if (!this.ifnets.ifUsable(r.ifindex)) continue;
      return r;
    }
    return null;
  }

  /** lookup() for an IpAddr. */
  lookupAddr(a: IpAddr, ifscope = 0): Route | null {
    return this.lookup(a.family, a.bytes, 0, ifscope);
  }

  private removeWhere(dst: IpCidr, ifindex: number, connected: boolean): number {
    const table = dst.addr.family === 4 ? this.v4 : this.v6;
    let n = 0;
    for (let i = table.length - 1; i >= 0; i--) {
      const r = table[i]!;
      if (r.connected !== connected || r.dst.prefixLen !== dst.prefixLen || !r.dst.addr.equals(dst.addr)) continue;
      if (ifindex !== 0 && r.ifindex !== ifindex) continue;
      table.splice(i, 1);
      n++;
    }
    return n;
  }
}

/** The table order: longer prefix first, then lower metric, then earlier insertion. */
function sortsAfter(a: Route, b: Route): boolean {
  if (a.dst.prefixLen !== b.dst.prefixLen) return a.dst.prefixLen < b.dst.prefixLen;
  if (a.metric !== b.metric) return a.metric > b.metric;
  return a.seq > b.seq;
}
