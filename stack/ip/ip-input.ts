// IPv4 input (BSD ip_input): header validation with one counter per drop reason, trimming to the
// total length, the host's acceptance rules (our addresses, limited and directed broadcast,
// all-hosts multicast; no forwarding), reassembly, and delivery to ICMP or a transport.
// ingress: Ifnet.receiveBatch / loopback → IpLayer.ifInput → ipInput → [Ip4Reass.input] →
//          ipDeliver → icmpInput (icmp.ts) | IpProtocol.input (udp/, tcp/) | protocol unreachable.

import type { Mbuf } from '../mbuf/index.js';
import { M_BCAST, M_LOOP, M_MCAST, mAdj, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import { icmpError, icmpInput } from './icmp.js';
import {
  fold, get16, ICMP_HLEN, IP4, IP4_HLEN, IP_MF, IP_OFFMASK, PROTO_ICMP, PROTO_TCP, PROTO_UDP, pseudoSum4, pullup, sumBytes,
} from './hdr.js';

/** 224.0.0.1, all systems on this subnet (RFC 1112 §4): the one group a host is always in. */
const ALL_HOSTS = 0xe0000001;

/**
 * Processes one IPv4 packet (IP header at m.data). Takes ownership. `ifp` is the receiving
 * interface (for looped-back packets: the one owning the destination, or null for 127/8).
 * `reassembled` marks a datagram coming back from reassembly (already counted and validated).
 */
export function ipInput(ip: IpLayer, m: Mbuf, ifp: Ifnet | null, now: Instant, reassembled: boolean): void {
  const st = ip.ipstat;
  if (!reassembled) st.ips_total++;
  const total = mLength(m);
  if (total < IP4_HLEN) {
    st.ips_toosmall++;
    mFreem(m);
    return;
  }
  let p = pullup(m, IP4_HLEN);
  if (p === null) { st.ips_nobufs++; return; }
  m = p;
  let b = m.buf, o = m.data;
  if (b[o]! >>> 4 !== 4) {
    st.ips_badvers++;
    mFreem(m);
    return;
  }
  const hlen = (b[o]! & 0x0f) << 2;
  if (hlen < IP4_HLEN || hlen > total) {
    st.ips_badhlen++;
    mFreem(m);
    return;
  }
  if (hlen > m.len) {
    p = pullup(m, hlen);
    if (p === null) { st.ips_nobufs++; return; }
    m = p;
    b = m.buf; o = m.data;
  }
  // RFC 791 §3.1 / RFC 1122 §3.2.1.2: a host MUST verify the header checksum (never offloaded here).
  if (fold(sumBytes(b, o, hlen)) !== 0xffff) {
    st.ips_badsum++;
    mFreem(m);
    return;
  }
  const ipLen = get16(b, o + IP4.len);
  if (ipLen < hlen) {
    st.ips_badlen++;
    mFreem(m);
    return;
  }
  if (total < ipLen) {
    st.ips_tooshort++;
    mFreem(m);
    return;
  }
  // Link padding (or a lying link) past the datagram: trim the chain to the total length.
  if (total > ipLen) mAdj(m, ipLen - total);

  const looped = (m.flags & M_LOOP) !== 0;
  const src0 = b[o + IP4.src]!;
  const srcAddr = ((src0 << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
  const dstAddr = ((b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!) >>> 0;
  // RFC 1122 §3.2.1.3: a host MUST silently discard a datagram whose source is multicast or
  // broadcast, and one with a 127/8 address that arrived from a link (not our loopback).
  if ((src0 & 0xf0) === 0xe0 || srcAddr === 0xffffffff || dstAddr === 0
    || (!looped && (src0 === 127 || b[o + 16] === 127))) {
    st.ips_badaddr++;
    mFreem(m);
    return;
  }
  let bcast = false;
  if (!ip.isLocalBytes(4, b, o + IP4.dst)) {
    if (ip.isBroadcastBytes(b, o + IP4.dst)) {
      bcast = true;
      m.flags |= M_BCAST;
    } else if ((dstAddr & 0xf0000000) >>> 0 === 0xe0000000) {
      if (dstAddr !== ALL_HOSTS) {
        st.ips_notmember++;
        mFreem(m);
        return;
      }
      bcast = true;
      m.flags |= M_MCAST;
    } else {
      // RFC 1122 §3.3.1.1: a host that is not a router drops datagrams not addressed to it.
      st.ips_notforus++;
      mFreem(m);
      return;
    }
  }

  // Fragments go to reassembly; a complete datagram comes back with its header in the head mbuf.
  if (!reassembled && (get16(b, o + IP4.off) & (IP_MF | IP_OFFMASK)) !== 0) {
    const r = ip.reass4.input(m, hlen, ipLen, now);
    if (r === null) return;
    ipInput(ip, r, ifp, now, true);
    return;
  }
  ipDeliver(ip, m, hlen, ipLen, bcast, ifp, now);
}

/**
 * Hands a validated datagram to ICMP or its transport, with IP header + transport header
 * contiguous in the head mbuf and the per-stack IpInputInfo filled in.
 */
function ipDeliver(ip: IpLayer, m: Mbuf, hlen: number, ipLen: number, bcast: boolean, ifp: Ifnet | null, now: Instant): void {
  const st = ip.ipstat;
  const proto = m.buf[m.data + IP4.proto]!;
  const l4Len = ipLen - hlen;
  // Make the transport header contiguous: TCP's length is in its data offset (RFC 9293 §3.1).
  let need = hlen + Math.min(l4Len, proto === PROTO_TCP ? 20 : proto === PROTO_UDP || proto === PROTO_ICMP ? ICMP_HLEN : 0);
  let p = pullup(m, need);
  if (p === null) { st.ips_nobufs++; return; }
  m = p;
  if (proto === PROTO_TCP && l4Len >= 20) {
    const thlen = (m.buf[m.data + hlen + 12]! >>> 4) << 2;
    if (thlen > 20 && thlen <= l4Len) {
      need = hlen + thlen;
      p = pullup(m, need);
      if (p === null) { st.ips_nobufs++; return; }
      m = p;
    }
  }
  const b = m.buf, o = m.data;
  const info = ip.inInfo;
  info.family = 4;
  info.srcOff = o + IP4.src;
  info.dstOff = o + IP4.dst;
  info.l4Off = hlen;
  info.l4Len = l4Len;
  info.ifindex = ifp === null ? 0 : ifp.index;
  info.pseudoSum = pseudoSum4(b, o + IP4.src, b, o + IP4.dst, proto, l4Len);
  info.dstIsBroadcastOrMulticast = bcast;
  info.ttlOrHopLimit = b[o + IP4.ttl]!;
  info.tos = b[o + IP4.tos]!;
  if (proto === PROTO_ICMP) {
    st.ips_delivered++;
    icmpInput(ip, m, info, now);
    return;
  }
  const t = ip.protocol(proto);
  if (t !== null) {
    st.ips_delivered++;
    t.input(m, info, now);
    return;
  }
  // RFC 1122 §3.2.2.1: a host SHOULD generate protocol unreachable (icmpError applies the
  // broadcast/fragment/rate-limit suppression rules).
  st.ips_noproto++;
  icmpError(ip, m, 3, 2, 0, now);
}
