// UDP datagrams for the fuzzer: to open ports (the echo and discard services, the clients' own
// sockets, with spoofed sources the echo answers to) and closed ones (ICMP port unreachable),
// with UDP length fields below 8, below and above the IP payload, zero checksums over IPv4
// (allowed) and IPv6 (RFC 8200 §8.1: dropped), wrong checksums, and to broadcast addresses.

import type { GenCtx } from './gen-context.js';
import { ODD_ADDRS } from './gen-context.js';
import type { AuditName, FuzzPacket } from './fuzz-packet.js';
import type { HostName } from './live-targets.js';
import { tupleKey } from './packet-layout.js';
import { IPPROTO_UDP, put16, udpDgram } from './wire-build.js';
import type { Family } from './wire-build.js';

export function genUdp(g: GenCtx): FuzzPacket[] {
  const r = g.rng;
  const open = g.targets.udp;
  const target = open.length > 0 && r.chance(0.75) ? r.pick(open) : null;
  const to: HostName = target?.host ?? g.pickHost();
  const family: Family = target?.family ?? (r.chance(0.5) ? 4 : 6);
  let dst = target?.addr ?? g.addr(to, family);
  const dport = target?.port ?? r.pick([0, 1, 53, 123, 7777, r.int(1024, 65535)]);
  const unicast = !(family === 4 && r.chance(0.04));
  if (!unicast) dst = r.pick([ODD_ADDRS.V4.bcastSubnet, ODD_ADDRS.V4.bcastAll, ODD_ADDRS.V4.allHosts]);
  const src = g.spoofSource(to, family);
  const sport = r.chance(0.1) ? 0 : r.pick([7, 9, 53, r.int(1024, 65535)]);
  const payload = r.bytes(r.weighted<() => number>([[30, () => 0], [40, () => r.int(1, 64)], [30, () => r.int(65, 1200)]])());
  const lenKind = r.weighted<'right' | 'short' | 'long' | 'tiny' | 'zero'>([
    [75, 'right'], [8, 'short'], [7, 'long'], [5, 'tiny'], [5, 'zero'],
  ]);
  const lenField = lenKind === 'right' ? undefined
    : lenKind === 'short' ? 8 + r.below(payload.length + 1)
      : lenKind === 'long' ? 8 + payload.length + r.int(1, 2000)
        : lenKind === 'tiny' ? r.int(1, 7) : 0;
  const u = udpDgram(sport, dport, payload, lenField);
  const sumKind = r.weighted<'right' | 'bad' | 'zero'>([[82, 'right'], [10, 'bad'], [8, 'zero']]);
  let bytes: Uint8Array;
  if (sumKind === 'zero') {
    bytes = g.wrap(family, src, dst, IPPROTO_UDP, u);
    put16(bytes, (family === 4 ? 20 : 40) + 6, 0);
  } else {
    bytes = g.wrap(family, src, dst, IPPROTO_UDP, u, sumKind === 'bad');
  }
  // The counters these must move, when the datagram reaches UDP unchanged (unicast to us).
  let audit: AuditName | null = null;
  if (unicast && (lenKind === 'long' || lenKind === 'tiny' || lenKind === 'zero')) audit = 'udps_badlen';
  else if (unicast && lenKind === 'right' && sumKind === 'bad') audit = 'udps_badsum';
  else if (unicast && family === 6 && sumKind === 'zero' && (lenKind === 'right' || lenKind === 'short')) audit = 'udps_nosum6';
  return [{
    to, bytes, kind: `udp/${lenKind}/${sumKind}`, audit,
    taints: [tupleKey(family, IPPROTO_UDP, src, sport, dst, dport)],
  }];
}
