// The fuzzer's packet source: picks a generator (TCP at live connections and listeners, UDP,
// ICMP, ICMPv6, IP-header oddities, fragments, raw garbage behind a plausible version nibble),
// then byte-mutates some of what it made (mutate.ts). Each call returns the packets of one
// "attack" (a fragment train is several), all for the same moment.

import type { GenCtx } from './gen-context.js';
import type { FuzzPacket } from './fuzz-packet.js';
import { genTcp } from './gen-tcp.js';
import { genUdp } from './gen-udp.js';
import { genIcmp } from './gen-icmp.js';
import { genIp } from './gen-ip.js';
import { genFrag } from './gen-frag.js';
import { mutatePacket } from './mutate.js';
import { fixChecksums, layoutOf, quotedTupleKeyOf, tupleKey, tupleKeyOf } from './packet-layout.js';
import { get16, IPPROTO_TCP, IPPROTO_UDP } from './wire-build.js';

export type GeneratorName = 'tcp' | 'udp' | 'icmp' | 'icmp6' | 'ip' | 'frag' | 'garbage';

export const GENERATOR_WEIGHTS: readonly (readonly [number, GeneratorName])[] = [
  [40, 'tcp'], [10, 'udp'], [10, 'icmp'], [8, 'icmp6'], [14, 'ip'], [14, 'frag'], [4, 'garbage'],
];

export function generate(g: GenCtx, only?: GeneratorName): FuzzPacket[] {
  const r = g.rng;
  const name = only ?? r.weighted(GENERATOR_WEIGHTS);
  let pkts: FuzzPacket[];
  switch (name) {
    case 'tcp': pkts = genTcp(g); break;
    case 'udp': pkts = genUdp(g); break;
    case 'icmp': pkts = genIcmp(g, 4); break;
    case 'icmp6': pkts = genIcmp(g, 6); break;
    case 'ip': pkts = genIp(g); break;
    case 'frag': pkts = genFrag(g); break;
    case 'garbage': pkts = [garbage(g)]; break;
  }
  // Byte-level damage to about a fifth of the attacks (one packet of a fragment train).
  if (r.chance(0.2) && pkts.length > 0) {
    const i = r.below(pkts.length);
    pkts[i] = mutatePacket(r, pkts[i]!);
  }
  return pkts.map((p) => withGroupTaints(g, p));
}

/**
 * A datagram to a broadcast or multicast address reaches the sockets bound to its port on every
 * host, so it may disturb the flow of each host's unicast address with that port too.
 */
function withGroupTaints(g: GenCtx, p: FuzzPacket): FuzzPacket {
  const l = layoutOf(p.bytes);
  if (l === null || !l.hasL4Header || l.l4Len < 4 || (l.proto !== IPPROTO_UDP && l.proto !== IPPROTO_TCP)) return p;
  const d = l.dst;
  const group = l.family === 4 ? d[0]! >= 224 || d[3] === 255 : d[0] === 0xff;
  if (!group) return p;
  const sport = get16(p.bytes, l.l4Off), dport = get16(p.bytes, l.l4Off + 2);
  const taints = [...p.taints];
  for (const h of ['a', 'b'] as const) taints.push(tupleKey(l.family, l.proto, l.src, sport, g.addr(h, l.family), dport));
  return { ...p, taints };
}

/** Random bytes behind a version nibble of 4 or 6 (and, for IPv4, a plausible IHL and length). */
function garbage(g: GenCtx): FuzzPacket {
  const r = g.rng;
  const to = g.pickHost();
  const v6 = r.chance(0.5);
  const len = r.int(v6 ? 40 : 20, 600);
  const b = r.bytes(len);
  b[0] = v6 ? 0x60 | (b[0]! & 0xf) : 0x45;
  const dst = g.addr(to, v6 ? 6 : 4);
  b.set(dst, v6 ? 24 : 16);
  if (!v6) { b[2] = len >>> 8; b[3] = len & 0xff; b[6] = 0; b[7] = 0; }
  else { b[4] = (len - 40) >>> 8; b[5] = (len - 40) & 0xff; }
  if (r.chance(0.7)) fixChecksums(b);
  const taints: string[] = [];
  for (const k of [tupleKeyOf(b), quotedTupleKeyOf(b)]) if (k !== null) taints.push(k);
  return { to, bytes: b, kind: `garbage/v${v6 ? 6 : 4}/proto${v6 ? b[6] : b[9]}`, audit: null, taints };
}
