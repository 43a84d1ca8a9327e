// IPv4 input (BSD ip_input): header validation with one counter per drop reason, trimming to the
// total length, the host's acceptance rules (our addresses, limited and directed broadcast,
// all-hosts multicast; no forwarding), reassembly, and delivery to ICMP or a transport.
// ingress: Ifnet.receiveBatch / loopback → IpLayer.ifInput → ipInput → [Ip4Reass.input] →
//          ipDeliver → icmpInput (icmp.ts) | IpProtocol.input (udp/, tcp/) | protocol unreachable.

import type { Mbuf } from '../mbuf/index.js';
import { M_BCAST, M_LOOP, M_MCAST, mAdj, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { pseudoHeaderSum4 } from '../wire/checksum.js';
import { ICMP_UNREACH, ICMP_UNREACH_PROTOCOL } from '../wire/icmpv4.js';
import { IPPROTO_ICMP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN } from '../wire/ipv4.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import { icmpError, icmpInput } from './icmp.js';
import { pullup, pullupTransport } from './chain-pullup.js';

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
  if (total < IPV4_HEADER_LEN) {
    st.ips_toosmall++;
    mFreem(m);
    return;
  }
  let p = pullup(m, IPV4_HEADER_LEN);
  if (p === null) { st.ips_nobufs++; return; }
  m = p;
  // The view sees the head mbuf while the datagram is a chain of `total` bytes, so the lengths are
  // checked here against `total` (not by Ipv4View.check()), in BSD ip_input's order: the header
  // checksum before the total length.
  let v = ip.v4.wrap(m.buf, m.data, m.len);
  if (v.version !== 4) {
    st.ips_badvers++;
    mFreem(m);
    return;
  }
  const hlen = v.headerLen;
  if (hlen < IPV4_HEADER_LEN || hlen > total) {
    st.ips_badhlen++;
    mFreem(m);
    return;
  }
  if (hlen > m.len) {
    p = pullup(m, hlen);
    if (p === null) { st.ips_nobufs++; return; }
    m = p;
    v = ip.v4.wrap(m.buf, m.data, m.len);
  }
  // RFC 791 §3.1 / RFC 1122 §3.2.1.2: a host MUST verify the header checksum (never offloaded here).
  if (!v.verifyChecksum()) {
    st.ips_badsum++;
    mFreem(m);
    return;
  }
  const ipLen = v.totalLen;
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
  const b = m.buf;
  const srcAddr = v.srcV4, dstAddr = v.dstV4;
  const src0 = srcAddr >>> 24;
  // RFC 1122 §3.2.1.3: a host MUST silently discard a datagram whose source is multicast or
  // broadcast, and one with a 127/8 address that arrived from a link (not our loopback).
  if ((src0 & 0xf0) === 0xe0 || srcAddr === 0xffffffff || dstAddr === 0
    || (!looped && (src0 === 127 || dstAddr >>> 24 === 127))) {
    st.ips_badaddr++;
    mFreem(m);
    return;
  }
  let bcast = false;
  if (!ip.isLocalBytes(4, b, v.dstOffset)) {
    if (ip.isBroadcastBytes(b, v.dstOffset)) {
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
  if (!reassembled && v.isFragment) {
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
  const proto = ip.v4.wrap(m.buf, m.data, m.len).protocol;
  const l4Len = ipLen - hlen;
  const p = pullupTransport(m, hlen, l4Len, proto, IPPROTO_ICMP, ip.tcp);
  if (p === null) { st.ips_nobufs++; return; }
  m = p;
  const v = ip.v4.wrap(m.buf, m.data, m.len);
  const info = ip.inInfo;
  info.family = 4;
  info.srcOff = v.srcOffset;
  info.dstOff = v.dstOffset;
  info.l4Off = hlen;
  info.l4Len = l4Len;
  info.ifindex = ifp === null ? 0 : ifp.index;
  info.pseudoSum = pseudoHeaderSum4(m.buf, v.srcOffset, m.buf, v.dstOffset, proto, l4Len);
  info.dstIsBroadcastOrMulticast = bcast;
  info.ttlOrHopLimit = v.ttl;
  info.tos = v.tos;
  if (proto === IPPROTO_ICMP) {
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
  icmpError(ip, m, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0, now);
}
