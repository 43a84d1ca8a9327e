// What a generator produces: one raw IP packet for one host, what it is (for reports), the drop
// counter that must move when the stack sees it (for packets that are invalid on purpose), and the
// connections or flows it may legitimately disturb (so their outcome is judged leniently).

import type { Stack } from '../../stack/stack.js';
import type { HostName } from './live-targets.js';

/**
 * Counters an obviously invalid packet must move. Each is moved by exactly one drop reason that
 * legitimate traffic on the fuzzer's clean links never triggers.
 */
export const AUDIT_COUNTERS = {
  ips_badsum: (s: Stack) => s.ip.ipstat.ips_badsum,
  ips_badhlen: (s: Stack) => s.ip.ipstat.ips_badhlen,
  ips_badlen: (s: Stack) => s.ip.ipstat.ips_badlen,
  ips_tooshort: (s: Stack) => s.ip.ipstat.ips_tooshort,
  ips_badaddr: (s: Stack) => s.ip.ipstat.ips_badaddr,
  ips_notmember: (s: Stack) => s.ip.ipstat.ips_notmember,
  ips_noproto: (s: Stack) => s.ip.ipstat.ips_noproto,
  ips_toolong: (s: Stack) => s.ip.ipstat.ips_toolong,
  ip6s_tooshort: (s: Stack) => s.ip.ip6stat.ip6s_tooshort,
  ip6s_badscope: (s: Stack) => s.ip.ip6stat.ip6s_badscope,
  ip6s_nonext: (s: Stack) => s.ip.ip6stat.ip6s_nonext,
  ip6s_toomanyhdr: (s: Stack) => s.ip.ip6stat.ip6s_toomanyhdr,
  ip6s_noproto: (s: Stack) => s.ip.ip6stat.ip6s_noproto,
  ip6s_notmember: (s: Stack) => s.ip.ip6stat.ip6s_notmember,
  ip6s_toolong: (s: Stack) => s.ip.ip6stat.ip6s_toolong,
  tcps_rcvbadsum: (s: Stack) => s.tcp.stats.tcps_rcvbadsum,
  udps_badsum: (s: Stack) => s.udp.stats.udps_badsum,
  udps_badlen: (s: Stack) => s.udp.stats.udps_badlen,
  udps_nosum6: (s: Stack) => s.udp.stats.udps_nosum6,
  icps_checksum: (s: Stack) => s.ip.icmpstat.icps_checksum,
  icp6s_checksum: (s: Stack) => s.ip.icmp6stat.icp6s_checksum,
} as const;

export type AuditName = keyof typeof AUDIT_COUNTERS;

export interface FuzzPacket {
  /** The host whose address the packet is sent to (broadcasts reach both). */
  readonly to: HostName;
  readonly bytes: Uint8Array;
  /** Generator path, e.g. "tcp/conn/exact" or "frag4/overlap+mut:flip". */
  readonly kind: string;
  /** The counter that must move when the receiving stack processes this packet, if any. */
  readonly audit: AuditName | null;
  /** Keys (packet-layout.ts tupleKey) of the connections and flows this packet may disturb. */
  readonly taints: readonly string[];
  /** A TCP segment whose effect is judged when it arrives (delivery-tap.ts), on top of `taints`. */
  readonly judge?: boolean;
}
