// ICMP and ICMPv6 for the fuzzer: echo requests (to us, to broadcast and multicast groups) and
// unsolicited replies; errors (unreachable with every code, fragmentation needed and packet too
// big with silly MTUs, time exceeded, parameter problem, source quench, redirects) quoting the
// headers of real connections and flows of the receiving host, with the quoted sequence number in
// and out of the window, truncated quotes, quotes with IP options or IPv6 extension headers,
// quoted non-first fragments and quoted ICMP; neighbour discovery and MLD messages; unknown types.

import type { GenCtx } from './gen-context.js';
import { ODD_ADDRS } from './gen-context.js';
import type { FuzzPacket } from './fuzz-packet.js';
import type { ConnTarget, HostName, PortTarget } from './live-targets.js';
import { tupleKey } from './packet-layout.js';
import {
  concat, extHeader, fragHeader6, icmpMsg, ip4, ip6, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMP,
  IPPROTO_ICMPV6, IPPROTO_ROUTING, IPPROTO_TCP, IPPROTO_UDP, optionsBody, tcpSeg, udpDgram,
} from './wire-build.js';
import type { Family } from './wire-build.js';

/** Legitimate pings use identifiers in [LEGIT_PING_IDENT, +0xff]; forged echo replies avoid them. */
export const LEGIT_PING_IDENT = 0x7f00;

export function genIcmp(g: GenCtx, family: Family): FuzzPacket[] {
  const r = g.rng;
  const to: HostName = g.pickHost();
  const kind = r.weighted<'echo' | 'reply' | 'error' | 'nd' | 'unknown'>([
    [22, 'echo'], [6, 'reply'], [52, 'error'], [family === 6 ? 8 : 4, 'nd'], [10, 'unknown'],
  ]);
  const src = g.spoofSource(to, family);
  let dst = g.addr(to, family);
  let type: number, code = 0, rest = 0;
  let body: Uint8Array;
  const taints: string[] = [];
  switch (kind) {
    case 'echo': {
      type = family === 4 ? 8 : 128;
      rest = r.u32();
      body = r.bytes(r.weighted<() => number>([[30, () => 0], [50, () => r.int(1, 100)], [20, () => r.int(101, 1400)]])());
      if (r.chance(0.08)) dst = family === 4 ? r.pick([ODD_ADDRS.V4.bcastSubnet, ODD_ADDRS.V4.allHosts]) : ODD_ADDRS.V6.allNodes;
      break;
    }
    case 'reply': {
      type = family === 4 ? 0 : 129;
      let ident = r.below(0x10000);
      if ((ident & 0xff00) === LEGIT_PING_IDENT) ident ^= 0x8000;
      rest = ((ident << 16) | r.below(0x10000)) >>> 0;
      body = r.bytes(r.int(0, 64));
      break;
    }
    case 'error': {
      const e = family === 4 ? errorType4(g) : errorType6(g);
      type = e.type; code = e.code; rest = e.rest;
      const q = quote(g, to, family);
      body = q.bytes;
      if (q.taint !== null) taints.push(q.taint);
      break;
    }
    case 'nd': {
      type = family === 4 ? r.pick([5, 9, 10, 13, 14, 15, 16, 17, 18]) : r.pick([130, 131, 132, 133, 134, 135, 136, 137, 143]);
      code = r.chance(0.8) ? 0 : r.below(256);
      rest = r.u32();
      body = r.bytes(r.pick([0, 4, 8, 16, 20, 24, 32, 40]));
      if (family === 6 && r.chance(0.3)) dst = ODD_ADDRS.V6.allNodes;
      break;
    }
    default: {
      type = r.below(256);
      code = r.below(256);
      rest = r.u32();
      body = r.bytes(r.int(0, 64));
    }
  }
  const msg = icmpMsg(type, code, rest, body);
  // ICMPv6 from a link-local source with hop limit 255 is what neighbour discovery looks like.
  const ndLike = family === 6 && kind === 'nd' && r.chance(0.5);
  const badSum = r.chance(0.08);
  const bytes = g.wrap(family, ndLike ? ODD_ADDRS.V6.linkLocal : src, dst, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, msg, badSum, ndLike ? 255 : 64);
  return [{
    to, bytes, kind: `icmp${family === 4 ? '' : '6'}/${kind}/${type}.${code}`,
    audit: badSum ? (family === 4 ? 'icps_checksum' : 'icp6s_checksum') : null, taints,
  }];
}

function errorType4(g: GenCtx): { type: number; code: number; rest: number } {
  const r = g.rng;
  return r.weighted<() => { type: number; code: number; rest: number }>([
    [35, () => ({ type: 3, code: r.chance(0.9) ? r.below(16) : r.below(256), rest: 0 })],
    [25, () => ({ type: 3, code: 4, rest: r.pick([0, 1, 8, 67, 68, 69, 296, 500, 576, 1000, 1280, 1499, 1500, 1501, 9000, 65535, r.below(65536)]) })],
    [12, () => ({ type: 11, code: r.pick([0, 1, 2, 255]), rest: 0 })],
    [10, () => ({ type: 12, code: r.pick([0, 1, 2, 3]), rest: (r.below(256) << 24) >>> 0 })],
    [8, () => ({ type: 4, code: 0, rest: 0 })],
    [10, () => ({ type: 5, code: r.below(4), rest: r.u32() })],
  ])();
}

function errorType6(g: GenCtx): { type: number; code: number; rest: number } {
  const r = g.rng;
  return r.weighted<() => { type: number; code: number; rest: number }>([
    [30, () => ({ type: 1, code: r.chance(0.9) ? r.below(9) : r.below(256), rest: 0 })],
    [35, () => ({ type: 2, code: r.below(2), rest: r.pick([0, 1, 68, 576, 1279, 1280, 1281, 1400, 1500, 9000, 65535, 0x10000, 0xffffffff, r.u32()]) >>> 0 })],
    [12, () => ({ type: 3, code: r.pick([0, 1, 2]), rest: 0 })],
    [15, () => ({ type: 4, code: r.pick([0, 1, 2, 3, 10, 11]), rest: r.pick([0, 6, 40, 41, 1000, r.u32()]) >>> 0 })],
    [8, () => ({ type: r.int(5, 127), code: r.below(256), rest: r.u32() })],
  ])();
}

interface Quote { readonly bytes: Uint8Array; readonly taint: string | null }

/**
 * What an error quotes: a packet `to` sent. Mostly a segment of one of its live connections (ports
 * and sequence number from the tcpcb) or a datagram of one of its UDP sockets, else something odd.
 */
function quote(g: GenCtx, to: HostName, family: Family): Quote {
  const r = g.rng;
  const conns = g.targets.conns.filter((c) => c.host === to && c.family === family);
  const udps = g.targets.udp.filter((u) => u.host === to && u.family === family);
  const pick = r.weighted<'tcp' | 'udp' | 'icmp' | 'junk'>([
    [conns.length > 0 ? 60 : 0, 'tcp'], [udps.length > 0 ? 20 : 0, 'udp'], [8, 'icmp'], [12, 'junk'],
  ]);
  let src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array, taint: string | null = null;
  if (pick === 'tcp') {
    const c: ConnTarget = r.pick(conns);
    src = c.local; dst = c.remote; proto = IPPROTO_TCP;
    const inflight = (c.sndMax - c.sndUna) >>> 0;
    const seq = r.weighted<() => number>([
      [40, () => c.sndUna + r.below(inflight + 1)], [15, () => c.sndUna], [15, () => c.sndUna - r.int(1, 100_000)],
      [10, () => c.sndMax + r.int(1, 100_000)], [20, () => r.u32()],
    ])() >>> 0;
    l4 = tcpSeg({ sport: c.lport, dport: c.rport, seq, ack: c.rcvNxt, flags: 0x18, win: 65535, payload: r.bytes(r.below(600)) });
    taint = tupleKey(family, IPPROTO_TCP, c.local, c.lport, c.remote, c.rport);
  } else if (pick === 'udp') {
    const u: PortTarget = r.pick(udps);
    src = u.addr; dst = g.addr(g.other(to), family); proto = IPPROTO_UDP;
    const dport = r.pick([7, 9, r.int(1024, 65535)]);
    l4 = udpDgram(u.port, dport, r.bytes(r.below(300)));
    taint = tupleKey(family, IPPROTO_UDP, src, u.port, dst, dport);
  } else if (pick === 'icmp') {
    src = g.addr(to, family); dst = g.addr(g.other(to), family); proto = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    l4 = icmpMsg(r.pick(family === 4 ? [0, 3, 8, 11] : [1, 2, 128, 129]), 0, r.u32(), r.bytes(r.below(40)));
  } else {
    src = r.chance(0.5) ? g.addr(to, family) : r.bytes(family === 4 ? 4 : 16);
    dst = r.bytes(family === 4 ? 4 : 16);
    proto = r.below(256);
    l4 = r.bytes(r.below(64));
  }
  let inner: Uint8Array;
  if (family === 4) {
    const opts = r.chance(0.1) ? r.bytes(r.pick([4, 8, 40])) : undefined;
    inner = ip4({
      src, dst, proto, payload: l4, id: r.below(65536), df: true, ttl: 64,
      ...(opts !== undefined ? { options: opts } : {}),
      ...(r.chance(0.08) ? { fragOff: r.int(1, 100) * 8 } : {}),
      ...(r.chance(0.04) ? { version: r.pick([0, 5, 6, 15]) } : {}),
      ...(r.chance(0.04) ? { ihlWords: r.pick([0, 4, 15]) } : {}),
      ...(r.chance(0.05) ? { totalLen: r.u16i() } : {}),
    });
  } else {
    const ext = r.weighted<() => { nxt: number; bytes: Uint8Array }>([
      [70, () => ({ nxt: proto, bytes: new Uint8Array(0) })],
      [10, () => ({ nxt: IPPROTO_HOPOPTS, bytes: extHeader(proto, optionsBody(new Uint8Array(0))) })],
      [8, () => ({ nxt: IPPROTO_DSTOPTS, bytes: extHeader(proto, optionsBody(r.bytes(r.below(12)))) })],
      [6, () => ({ nxt: IPPROTO_FRAGMENT, bytes: fragHeader6(proto, r.chance(0.5) ? 0 : r.int(1, 500) * 8, r.chance(0.5), r.u32()) })],
      [6, () => ({ nxt: IPPROTO_ROUTING, bytes: extHeader(proto, Uint8Array.of(r.pick([0, 2, 3, 4]), r.below(3), 0, 0, 0, 0)) })],
    ])();
    inner = ip6({ src, dst, nxt: ext.nxt, payload: concat([ext.bytes, l4]), hlim: 64, ...(r.chance(0.04) ? { version: r.pick([0, 4, 15]) } : {}) });
  }
  // How much of it the router quoted: RFC 792 says header + 8 bytes; RFC 1812 / 4443 as much as fits.
  const full = inner.length;
  const len = r.weighted<() => number>([
    [30, () => Math.min(full, (family === 4 ? 28 : 48) + (inner.length - l4.length - (family === 4 ? 20 : 40)))],
    [35, () => full],
    [15, () => r.below(full + 1)],
    [10, () => Math.min(full, r.pick([0, 1, 19, 20, 27, 39, 40, 47]))],
    [10, () => Math.min(full, family === 4 ? 548 : 1232)],
  ])();
  return { bytes: inner.slice(0, len), taint };
}
