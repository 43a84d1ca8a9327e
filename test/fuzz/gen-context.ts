// The state every generator draws from: the random stream, the addresses on the wire (hosts a and
// b and the attacker), the live targets of the moment, and the common ways to put a transport
// message into an IP packet (checksum right, or deliberately wrong) and to pick spoofed sources.

import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { FuzzRng } from './fuzz-rng.js';
import type { HostName, Targets } from './live-targets.js';
import { ip4, ip6, l4Sum, checksumOffset, put16, wrongChecksum } from './wire-build.js';
import type { Family } from './wire-build.js';

export interface HostAddrs {
  readonly v4: Uint8Array;
  readonly v6: Uint8Array;
}

export interface Wire {
  readonly a: HostAddrs;
  readonly b: HostAddrs;
  /** The attacker's own addresses (its port on the simulated network). */
  readonly mallory: HostAddrs;
}

/** Addresses that are never ours and that no port owns (routed nowhere, or to a by prefix). */
const V4 = {
  bcastSubnet: IpAddr.of('198.18.0.255').bytes,
  bcastAll: IpAddr.of('255.255.255.255').bytes,
  allHosts: IpAddr.of('224.0.0.1').bytes,
  otherGroup: IpAddr.of('224.0.0.251').bytes,
  loopback: IpAddr.of('127.0.0.1').bytes,
  zero: IpAddr.of('0.0.0.0').bytes,
  router: IpAddr.of('198.18.0.254').bytes,
  stranger: IpAddr.of('203.0.113.9').bytes,
};
const V6 = {
  allNodes: IpAddr.of('ff02::1').bytes,
  allRouters: IpAddr.of('ff02::2').bytes,
  siteGroup: IpAddr.of('ff05::1').bytes,
  loopback: IpAddr.of('::1').bytes,
  unspec: IpAddr.of('::').bytes,
  linkLocal: IpAddr.of('fe80::1').bytes,
  router: IpAddr.of('2001:db8::fe').bytes,
  mapped: IpAddr.of('::ffff:198.18.0.1').bytes,
  stranger: IpAddr.of('2001:db8:1::9').bytes,
};
export const ODD_ADDRS = { V4, V6 } as const;

export class GenCtx {
  targets: Targets = { conns: [], listeners: [], udp: [] };
  /** Counts packets built, for IP IDs that differ from packet to packet. */
  private serial = 0;

  constructor(readonly rng: FuzzRng, readonly wire: Wire) {}

  addr(h: HostName | 'mallory', family: Family): Uint8Array {
    const x = h === 'a' ? this.wire.a : h === 'b' ? this.wire.b : this.wire.mallory;
    return family === 4 ? x.v4 : x.v6;
  }

  other(h: HostName): HostName { return h === 'a' ? 'b' : 'a'; }

  /** The host a packet goes to: mostly b (the server), sometimes a (the client). */
  pickHost(): HostName { return this.rng.chance(0.75) ? 'b' : 'a'; }

  /**
   * A source for a packet to `to`: usually the other host (spoofed), sometimes the attacker's own
   * address, a router-like neighbour, or an address no host has.
   */
  spoofSource(to: HostName, family: Family): Uint8Array {
    const r = this.rng;
    return r.weighted<() => Uint8Array>([
      [70, () => this.addr(this.other(to), family)],
      [15, () => this.addr('mallory', family)],
      [10, () => (family === 4 ? V4.router : V6.router)],
      [5, () => (family === 4 ? V4.stranger : V6.stranger)],
    ])();
  }

  nextId(): number { return (this.serial++ * 7919 + this.rng.below(7)) & 0xffff; }

  /**
   * Wraps transport message `l4` (protocol `proto`) from `src` to `dst` in a plain IP header,
   * with its checksum right, or wrong when `badSum` (never a value equivalent to the right one).
   */
  wrap(family: Family, src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array, badSum = false, hlim = 64): Uint8Array {
    const co = checksumOffset(proto);
    if (co >= 0 && co + 2 <= l4.length) {
      const right = l4Sum(family, src, dst, proto, l4);
      put16(l4, co, badSum ? wrongChecksum(right, this.rng.u32()) : right);
    }
    return family === 4
      ? ip4({ src, dst, proto, payload: l4, id: this.nextId(), df: this.rng.chance(0.5), ttl: hlim })
      : ip6({ src, dst, nxt: proto, payload: l4, hlim, flow: this.rng.below(0x100000) });
  }
}
