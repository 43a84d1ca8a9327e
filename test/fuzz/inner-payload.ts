// The upper-layer message the IP-header and fragment generators carry: an ICMP echo request, a UDP
// datagram to the echo or discard service, a segment on a live connection, a SYN to a listener, or
// bytes of an unknown protocol. Its checksum is computed for the addresses it is finally sent with
// (reseal), since those generators may change the addresses.

import type { GenCtx } from './gen-context.js';
import type { HostName } from './live-targets.js';
import { connSegment } from './gen-tcp.js';
import { synOptions } from './gen-tcp-options.js';
import { tupleKey } from './packet-layout.js';
import { icmpMsg, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, setL4Checksum, tcpSeg, udpDgram } from './wire-build.js';
import type { Family } from './wire-build.js';

export interface Inner {
  readonly kind: string;
  readonly to: HostName;
  readonly family: Family;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly proto: number;
  /** The message, checksum field not yet filled (see reseal). */
  readonly l4: Uint8Array;
  /** The connection or flow it belongs to, if any. */
  readonly taint: string | null;
}

/** An upper-layer message of at most `maxLen` bytes (payload sizes drawn below it). */
export function innerPayload(g: GenCtx, maxLen: number, family?: Family): Inner {
  const r = g.rng;
  const conns = g.targets.conns.filter((c) => family === undefined || c.family === family);
  const listeners = g.targets.listeners.filter((l) => family === undefined || l.family === family);
  const kind = r.weighted<'echo' | 'udp' | 'tcp' | 'syn' | 'raw'>([
    [30, 'echo'], [25, 'udp'], [conns.length > 0 ? 25 : 0, 'tcp'], [listeners.length > 0 ? 10 : 0, 'syn'], [10, 'raw'],
  ]);
  const size = (): number => r.weighted<() => number>([[40, () => r.int(0, 64)], [40, () => r.int(65, maxLen)], [20, () => maxLen]])();
  if (kind === 'tcp') {
    const c = r.pick(conns);
    return {
      kind, to: c.host, family: c.family, src: c.remote, dst: c.local, proto: IPPROTO_TCP,
      l4: connSegment(g, c, Math.max(0, size() - 40)),
      taint: tupleKey(c.family, IPPROTO_TCP, c.local, c.lport, c.remote, c.rport),
    };
  }
  if (kind === 'syn') {
    const l = r.pick(listeners);
    const src = g.addr(g.other(l.host), l.family);
    const sport = r.int(1024, 65535);
    return {
      kind, to: l.host, family: l.family, src, dst: l.addr, proto: IPPROTO_TCP,
      l4: tcpSeg({ sport, dport: l.port, seq: r.u32(), ack: 0, flags: 0x02, win: 65535, opts: synOptions(r), payload: r.bytes(Math.max(0, size() - 40)) }),
      taint: tupleKey(l.family, IPPROTO_TCP, src, sport, l.addr, l.port),
    };
  }
  const to = g.pickHost();
  const fam: Family = family ?? (r.chance(0.5) ? 4 : 6);
  const src = g.spoofSource(to, fam), dst = g.addr(to, fam);
  if (kind === 'echo') {
    return {
      kind, to, family: fam, src, dst, proto: fam === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
      l4: icmpMsg(fam === 4 ? 8 : 128, 0, r.u32(), r.bytes(Math.max(0, size() - 8))), taint: null,
    };
  }
  if (kind === 'udp') {
    const sport = r.int(1024, 65535), dport = r.pick([7, 9, 9, r.int(1, 65535)]);
    return {
      kind, to, family: fam, src, dst, proto: IPPROTO_UDP, l4: udpDgram(sport, dport, r.bytes(Math.max(0, size() - 8))),
      taint: tupleKey(fam, IPPROTO_UDP, src, sport, dst, dport),
    };
  }
  return { kind, to, family: fam, src, dst, proto: r.pick([2, 4, 41, 47, 50, 51, 89, 103, 132, 137, 253, 255]), l4: r.bytes(size()), taint: null };
}

/** Fills in the checksum of `inner`'s message for the addresses it is sent with. */
export function reseal(inner: Inner, src: Uint8Array, dst: Uint8Array): Uint8Array {
  setL4Checksum(inner.family, src, dst, inner.proto, inner.l4);
  return inner.l4;
}
