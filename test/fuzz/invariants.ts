// What must hold of a stack between any two steps of a fuzz run, whatever it was fed:
//
// Conservation (every drop counted): each packet IP input counts in ips_total/ip6s_total (plus
// each reassembled datagram, which re-enters input) ends in exactly one terminal counter: a drop
// reason, "fragment" (handed to reassembly) or "delivered"; everything delivered is counted on
// arrival by ICMP, ICMPv6, UDP or TCP; every UDP datagram ends in one UDP terminal; every ICMP
// message counted by type ends in one ICMP terminal. A path that frees a packet without counting
// breaks one of these sums. (They assume the mbuf pool never ran dry: nobufs counters are shared
// between input and other paths. When it did, they are skipped.)
//
// Bounds (no unbounded memory): reassembly queues within their configured caps, the loopback
// queue, the PMTU cache, TCP's out-of-order queues and socket buffers within their limits, and the
// timer heap holding no more than one timer per owner that exists.

import type { Stack } from '../../stack/stack.js';
import type { Tcpcb } from '../../stack/tcp/index.js';

const sum = (xs: ArrayLike<number>): number => { let n = 0; for (let i = 0; i < xs.length; i++) n += xs[i]!; return n; };

/** Violated conservation laws of `s`, as messages (empty when all hold). */
export function conservationProblems(s: Stack): string[] {
  if (s.pool.stats.drops > 0) return [];
  const out: string[] = [];
  const check = (what: string, lhs: number, rhs: number, detail: () => string): void => {
    if (lhs !== rhs) out.push(`${s.name}: ${what}: ${lhs} in, ${rhs} accounted for (${detail()})`);
  };
  const ip = s.ip.ipstat;
  const ip4Terminal = ip.ips_toosmall + ip.ips_tooshort + ip.ips_badvers + ip.ips_badhlen + ip.ips_badlen + ip.ips_badsum
    + ip.ips_badaddr + ip.ips_notforus + ip.ips_notmember + ip.ips_noproto + ip.ips_delivered + ip.ips_fragments + ip.ips_nobufs;
  check('IPv4 input', ip.ips_total + ip.ips_reassembled, ip4Terminal, () => JSON.stringify(ip));

  const i6 = s.ip.ip6stat;
  const ip6Terminal = i6.ip6s_toosmall + i6.ip6s_tooshort + i6.ip6s_badvers + i6.ip6s_badscope + i6.ip6s_notforus
    + i6.ip6s_notmember + i6.ip6s_noproto + i6.ip6s_badoptions + i6.ip6s_toomanyhdr + i6.ip6s_nonext + i6.ip6s_delivered
    + i6.ip6s_fragments + i6.ip6s_nobufs;
  check('IPv6 input', i6.ip6s_total + i6.ip6s_reassembled, ip6Terminal, () => JSON.stringify(i6));

  const ic = s.ip.icmpstat, ic6 = s.ip.icmp6stat, u = s.udp.stats, t = s.tcp.stats;
  const icmpIn = ic.icps_tooshort + ic.icps_checksum + sum(ic.icps_inhist);
  const icmp6In = ic6.icp6s_tooshort + ic6.icp6s_checksum + sum(ic6.icp6s_inhist);
  check('IP delivered vs transport input', ip.ips_delivered + i6.ip6s_delivered, icmpIn + icmp6In + u.udps_ipackets + t.tcps_rcvtotal,
    () => `icmp ${icmpIn}, icmp6 ${icmp6In}, udp ${u.udps_ipackets}, tcp ${t.tcps_rcvtotal}`);

  const udpTerminal = u.udps_hdrops + u.udps_badlen + u.udps_nosum6 + u.udps_badsum + u.udps_noport + u.udps_noportbcast
    + u.udps_fullsock + u.udps_nombuf + u.udps_delivered;
  check('UDP input', u.udps_ipackets, udpTerminal, () => JSON.stringify(u));

  const icmpTerminal = ic.icps_bmcastecho + ic.icps_reflect + ic.icps_ignored + ic.icps_echoreplies + ic.icps_badcode
    + ic.icps_badlen + ic.icps_ctlnoproto + ic.icps_ctlinput;
  check('ICMP input by type', sum(ic.icps_inhist), icmpTerminal, () => JSON.stringify({ ...ic, icps_inhist: undefined, icps_outhist: undefined }));

  // ICMPv6 shares two counters between its input drops and other paths (icp6s_odropped with output
  // failures, icp6s_pmtuignored with PMTU updates that learned nothing), so only a lower bound holds.
  const icmp6Terminal = ic6.icp6s_reflect + ic6.icp6s_echoreplies + ic6.icp6s_ignored + ic6.icp6s_nd_ignored
    + ic6.icp6s_badcode + ic6.icp6s_badlen + ic6.icp6s_ctlnoproto + ic6.icp6s_ctlinput;
  const in6 = sum(ic6.icp6s_inhist);
  if (in6 < icmp6Terminal || in6 > icmp6Terminal + ic6.icp6s_odropped + ic6.icp6s_pmtuignored) {
    out.push(`${s.name}: ICMPv6 input by type: ${in6} in, ${icmp6Terminal} terminal (+ up to ${ic6.icp6s_odropped + ic6.icp6s_pmtuignored} shared)`);
  }
  return out;
}

/** Memory and queue bounds of `s` that do not hold, as messages. */
export function boundProblems(s: Stack): string[] {
  const out: string[] = [];
  for (const [name, r] of [['reass4', s.ip.reass4.engine], ['reass6', s.ip.reass6.engine]] as const) {
    if (r.bytesHeld > r.limits.maxBytes) out.push(`${s.name}: ${name} holds ${r.bytesHeld} bytes > cap ${r.limits.maxBytes}`);
    if (r.queueCount > r.limits.maxQueues) out.push(`${s.name}: ${name} has ${r.queueCount} queues > cap ${r.limits.maxQueues}`);
    if (r.bytesHeld < 0) out.push(`${s.name}: ${name} byte count went negative (${r.bytesHeld})`);
  }
  if (s.ip.loopPending > 1024) out.push(`${s.name}: loopback queue ${s.ip.loopPending} > 1024`);
  if (s.ip.pmtu.size > s.ip.pmtu.maxEntries) out.push(`${s.name}: PMTU cache ${s.ip.pmtu.size} > ${s.ip.pmtu.maxEntries}`);
  let pcbs = 0;
  for (const p of s.tcp.pcbs.pcbs()) {
    pcbs++;
    const tp = p.ppcb as Tcpcb | null;
    if (tp === null) continue;
    const q = tp.reass;
    // One in-order segment may be queued past the caps (it is delivered at once, tcp-reass.ts).
    if (q !== null && (q.bytes > tp.t_reassMaxBytes + 65535 || q.segments > tp.t_reassMaxSegments + 1)) {
      out.push(`${s.name}: TCP reassembly queue ${q.bytes} bytes / ${q.segments} segments past caps ${tp.t_reassMaxBytes} / ${tp.t_reassMaxSegments}`);
    }
    const so = tp.so;
    if (so !== null) {
      for (const [n, sb] of [['so_rcv', so.so_rcv], ['so_snd', so.so_snd]] as const) {
        if (sb.sb_mbcnt > Math.max(sb.sb_mbmax, 2 * sb.sb_hiwat) + 256 * 1024) {
          out.push(`${s.name}: ${n} storage ${sb.sb_mbcnt} far past sb_mbmax ${sb.sb_mbmax} (sb_cc ${sb.sb_cc}, hiwat ${sb.sb_hiwat})`);
        }
      }
    }
  }
  // One Timer per tcpcb (in the PCB table), per reassembly queue, plus the PMTU cache's.
  const timerOwners = pcbs + s.ip.reass4.engine.queueCount + s.ip.reass6.engine.queueCount + 1;
  if (s.timers.size > timerOwners) out.push(`${s.name}: ${s.timers.size} timers armed for ${timerOwners} possible owners`);
  return out;
}
