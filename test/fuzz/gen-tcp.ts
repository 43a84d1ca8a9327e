// TCP segments aimed at the stacks' live connections and listeners: 4-tuples and sequence/ACK
// numbers are taken from the live tcpcbs (live-targets.ts), so segments land exactly at RCV.NXT,
// inside the window, just outside it or far away; every flag combination (SYN in ESTABLISHED,
// RST at and near RCV.NXT, SYN+FIN, no flags, all flags), ACKs of unsent or long-acknowledged
// data, data beyond the window, overlapping retransmissions, urgent pointers, every option kind
// (gen-tcp-options.ts), lying data offsets and reserved bits. Also SYN floods and strays to
// listeners and closed ports.
//
// Which connection a segment may legitimately disturb is decided when it arrives, against the
// connection's state at that moment (live-targets.ts tcpSegmentMayAct): the window may have moved
// and the application may have closed the socket while the segment was on the wire. A connection
// hit by nothing but far-away segments must still complete byte-exact.

import { TCPS_ESTABLISHED, TCPS_TIME_WAIT, tcpStateNames } from '../../stack/tcp/tcp-fsm.js';
import type { GenCtx } from './gen-context.js';
import type { FuzzPacket } from './fuzz-packet.js';
import type { ConnTarget, HostName } from './live-targets.js';
import { synOptions, tcpOptions } from './gen-tcp-options.js';
import { tupleKey } from './packet-layout.js';
import { IPPROTO_TCP, tcpSeg } from './wire-build.js';
import type { Family } from './wire-build.js';

const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;
const COMBOS = [
  ACK, ACK | PSH, FIN | ACK, FIN | PSH | ACK, RST, RST | ACK, SYN, SYN | ACK, SYN | FIN, SYN | RST, SYN | FIN | RST | ACK,
  URG | ACK, URG | PSH | ACK, 0, 0xff, FIN, FIN | PSH | URG, ACK | ECE | CWR, SYN | ECE | CWR, PSH,
] as const;
/** Largest payload that fits a 1280-byte MTU with a full TCP header over IPv6. */
const MAX_PAYLOAD = 1280 - 40 - 60;

export function genTcp(g: GenCtx): FuzzPacket[] {
  const r = g.rng;
  const { conns, listeners } = g.targets;
  const mode = r.weighted<'conn' | 'listener' | 'closed'>([
    [conns.length > 0 ? 70 : 0, 'conn'], [listeners.length > 0 ? 18 : 0, 'listener'], [12, 'closed'],
  ]);
  if (mode === 'conn') return [toConnection(g, pickConn(g, conns))];
  if (mode === 'listener') return [toListener(g)];
  return [toClosedPort(g)];
}

/** A live connection, favouring those moving data over TIME_WAIT leftovers. */
function pickConn(g: GenCtx, conns: readonly ConnTarget[]): ConnTarget {
  return g.rng.weighted(conns.map((c) => [c.state === TCPS_TIME_WAIT ? 1 : c.state === TCPS_ESTABLISHED ? 6 : 3, c] as const));
}

/** A segment on connection `c`, as if from its peer. */
export function toConnection(g: GenCtx, c: ConnTarget, forceKind?: 'exact' | 'in' | 'left' | 'right' | 'far'): FuzzPacket {
  const r = g.rng;
  const wnd = Math.max(c.rcvWnd, 1);
  const seqKind = forceKind ?? r.weighted<'exact' | 'in' | 'left' | 'right' | 'far'>([
    [30, 'exact'], [22, 'in'], [15, 'left'], [15, 'right'], [18, 'far'],
  ]);
  const seq = (seqKind === 'exact' ? c.rcvNxt
    : seqKind === 'in' ? c.rcvNxt + r.below(wnd)
      : seqKind === 'left' ? c.rcvNxt - r.int(1, 70_000)
        : seqKind === 'right' ? c.rcvNxt + wnd + r.int(0, 70_000)
          : c.rcvNxt + wnd + (1 << 24) + r.below(0x7fffffff - (1 << 25))) >>> 0;
  const inflight = (c.sndMax - c.sndUna) >>> 0;
  const ack = r.weighted<() => number>([
    [30, () => c.sndMax],
    [15, () => c.sndUna],
    [15, () => c.sndUna + r.below(inflight + 1)],
    [10, () => c.sndMax + r.int(1, 70_000)],
    [10, () => c.sndUna - r.int(1, 70_000)],
    [10, () => c.iss + r.int(0, 2)],
    [10, () => r.u32()],
  ])() >>> 0;
  const flags = r.weighted<() => number>([
    [45, () => r.pick(COMBOS)],
    [30, () => ACK | (r.below(256) & ~(SYN | RST))],
    [25, () => r.below(256)],
  ])();
  const payloadLen = r.weighted<() => number>([
    [45, () => 0],
    [20, () => r.int(1, 16)],
    [15, () => r.int(17, 536)],
    [10, () => r.int(537, MAX_PAYLOAD)],
    [10, () => Math.min(MAX_PAYLOAD, wnd + r.int(1, 200))],
  ])();
  const payload = r.chance(0.5) ? r.bytes(payloadLen) : new Uint8Array(payloadLen).fill(0x41 + r.below(26));
  const urp = (flags & URG) !== 0 || r.chance(0.05)
    ? r.pick([0, 1, payloadLen, payloadLen + 1, 0x7fff, 0xffff, r.below(65536)]) : 0;
  const seg = tcpSeg({
    sport: c.rport, dport: c.lport, seq, ack, flags, urp, payload,
    win: r.pick([0, 1, 512, 65535, c.sndWnd & 0xffff, r.below(65536)]),
    opts: c.timestamps && r.chance(0.6) ? timestampFirst(g, c) : tcpOptions(r, c),
    ...(r.chance(0.05) ? { doffWords: r.below(16) } : {}),
    ...(r.chance(0.05) ? { reserved: r.below(16) } : {}),
  });
  const badSum = r.chance(0.08);
  return {
    to: c.host,
    bytes: g.wrap(c.family, c.remote, c.local, IPPROTO_TCP, seg, badSum),
    kind: `tcp/conn/${tcpStateNames[c.state] ?? c.state}/${seqKind}`,
    audit: badSum ? 'tcps_rcvbadsum' : null,
    taints: [],
    judge: true,
  };
}

/** A well-formed timestamps option (what PAWS looks at) followed by random others. */
function timestampFirst(g: GenCtx, c: ConnTarget): Uint8Array {
  const r = g.rng;
  const rest = tcpOptions(r, c);
  const out = new Uint8Array(Math.min(40, 12 + rest.length));
  out.set([1, 1, 8, 10], 0);
  const val = (c.tsRecent + (r.chance(0.8) ? r.int(0, 2) : -r.int(1, 50))) >>> 0;
  out.set([val >>> 24, (val >>> 16) & 0xff, (val >>> 8) & 0xff, val & 0xff], 4);
  const ecr = (c.tsNow - r.below(100)) >>> 0;
  out.set([ecr >>> 24, (ecr >>> 16) & 0xff, (ecr >>> 8) & 0xff, ecr & 0xff], 8);
  out.set(rest.subarray(0, out.length - 12), 12);
  return out;
}

/** A segment to a listener: mostly SYNs (a flood from spoofed peers), sometimes strays. */
function toListener(g: GenCtx): FuzzPacket {
  const r = g.rng;
  const l = r.pick(g.targets.listeners);
  const family = l.family;
  // A spoofed peer that answers (host a sends RST to an unexpected SYN-ACK) most of the time, so
  // the SYN queue drains; sometimes the attacker itself, which never answers.
  const src = r.chance(0.85) ? g.addr(g.other(l.host), family) : g.spoofSource(l.host, family);
  const sport = r.int(1024, 65535);
  const flags = r.weighted<() => number>([[55, () => SYN], [25, () => r.pick(COMBOS)], [20, () => r.below(256)]])();
  const seg = tcpSeg({
    sport, dport: l.port, seq: r.u32(), ack: r.u32i(), flags, win: r.u16i(),
    opts: (flags & SYN) !== 0 && r.chance(0.7) ? synOptions(r) : tcpOptions(r, null),
    payload: r.chance(0.15) ? r.bytes(r.int(1, 200)) : new Uint8Array(0),
  });
  const badSum = r.chance(0.05);
  return {
    to: l.host, bytes: g.wrap(family, src, l.addr, IPPROTO_TCP, seg, badSum), kind: 'tcp/listener',
    audit: badSum ? 'tcps_rcvbadsum' : null, taints: [tupleKey(family, IPPROTO_TCP, src, sport, l.addr, l.port)],
  };
}

/** A segment to a port nobody listens on (RFC 9293 §3.10.7.1: answered with a RST unless it is one). */
function toClosedPort(g: GenCtx): FuzzPacket {
  const r = g.rng;
  const to: HostName = g.pickHost();
  const family: Family = r.chance(0.5) ? 4 : 6;
  const dst = g.addr(to, family), src = g.spoofSource(to, family);
  const dport = r.pick([1, 2, 21, 22, 443, 8080, 33434, r.int(1024, 65535)]);
  const sport = r.int(0, 65535);
  const seg = tcpSeg({
    sport, dport, seq: r.u32(), ack: r.u32(), flags: r.chance(0.5) ? r.pick(COMBOS) : r.below(256), win: r.u16i(),
    opts: tcpOptions(r, null), payload: r.chance(0.2) ? r.bytes(r.int(1, 100)) : new Uint8Array(0),
  });
  return {
    to, bytes: g.wrap(family, src, dst, IPPROTO_TCP, seg), kind: 'tcp/closed-port', audit: null,
    taints: [tupleKey(family, IPPROTO_TCP, src, sport, dst, dport)],
  };
}

/** The segment bytes of a segment on `c` (no IP header), for fragment and ICMP generators. */
export function connSegment(g: GenCtx, c: ConnTarget, payloadLen: number): Uint8Array {
  const r = g.rng;
  return tcpSeg({
    sport: c.rport, dport: c.lport, seq: (c.rcvNxt + (r.chance(0.5) ? 0 : r.below(Math.max(1, c.rcvWnd)))) >>> 0,
    ack: c.sndMax, flags: r.chance(0.8) ? ACK | PSH : r.pick(COMBOS), win: 65535, payload: r.bytes(payloadLen),
    opts: r.chance(0.3) ? tcpOptions(r, c) : new Uint8Array(0),
  });
}
