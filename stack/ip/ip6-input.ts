// IPv6 input (BSD ip6_input + the extension-header loop of RFC 8200 §4): header validation with
// one counter per drop reason, trimming to the payload length, the host's acceptance rules (our
// addresses, all-nodes and our solicited-node groups; no forwarding), hop-by-hop/destination
// options, routing headers, fragments (to reassembly), and delivery to ICMPv6 or a transport.
// ingress: Ifnet.receiveBatch / loopback → IpLayer.ifInput → ip6Input → [Ip6Reass.input] →
//          ip6Deliver → icmp6Input (icmp6.ts) | IpProtocol.input | parameter problem (code 1).

import type { Mbuf } from '../mbuf/index.js';
import { M_LOOP, M_MCAST, mAdj, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { pseudoHeaderSum6 } from '../wire/checksum.js';
import {
  ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, ICMP6_PARAMPROB_NEXTHEADER, ICMP6_PARAMPROB_OPTION,
} from '../wire/icmpv6.js';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_ROUTING,
} from '../wire/ip-proto.js';
import { IPV6_FRAG_HEADER_LEN, IPV6_HEADER_LEN, IPV6_MAX_EXT_HEADERS, ipv6ExtHeaderLen } from '../wire/ipv6.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import { isV6Loopback } from './ip-layer.js';
import { icmp6Error, icmp6Input } from './icmp6.js';
import { pullup, pullupTransport } from './chain-pullup.js';

/**
 * Processes one IPv6 packet (header at m.data). Takes ownership. `reassembled` marks a packet
 * coming back from reassembly (already counted; may not carry another fragment header).
 */
export function ip6Input(ip: IpLayer, m: Mbuf, ifp: Ifnet | null, now: Instant, reassembled: boolean): void {
  const st = ip.ip6stat;
  if (!reassembled) st.ip6s_total++;
  const total = mLength(m);
  if (total < IPV6_HEADER_LEN) {
    st.ip6s_toosmall++;
    mFreem(m);
    return;
  }
  let p = pullup(m, IPV6_HEADER_LEN);
  if (p === null) { st.ip6s_nobufs++; return; }
  m = p;
  // The view sees the head mbuf; the payload length is checked against the chain's length here.
  const v = ip.v6.wrap(m.buf, m.data, m.len);
  if (v.version !== 6) {
    st.ip6s_badvers++;
    mFreem(m);
    return;
  }
  const plen = v.payloadLen;
  const end = IPV6_HEADER_LEN + plen;
  if (total < end) {
    st.ip6s_tooshort++;
    mFreem(m);
    return;
  }
  if (total > end) mAdj(m, end - total);
  const looped = (m.flags & M_LOOP) !== 0;
  let b = m.buf, o = m.data;
  const srcOff = v.srcOffset, dstOff = v.dstOffset;
  // RFC 4291 §2.7: a multicast source is invalid; §2.5.2: the unspecified address is never a
  // destination; §2.5.3: ::1 never appears on a link.
  let dstUnspec = true;
  for (let i = 0; i < 16; i++) if (b[dstOff + i] !== 0) { dstUnspec = false; break; }
  if (b[srcOff] === 0xff || dstUnspec
    || (!looped && (isV6Loopback(b, srcOff) || isV6Loopback(b, dstOff)))) {
    st.ip6s_badscope++;
    mFreem(m);
    return;
  }
  let mcast = false;
  if (!ip.isLocalBytes(6, b, dstOff)) {
    if (b[dstOff] !== 0xff) {
      st.ip6s_notforus++;
      mFreem(m);
      return;
    }
    if (!joined(ip, ifp, b, dstOff)) {
      st.ip6s_notmember++;
      mFreem(m);
      return;
    }
    mcast = true;
    m.flags |= M_MCAST;
  }

  // RFC 8200 §4: process the extension headers in order (walkIpv6ExtHeaders only skips them, over
  // contiguous bytes; here each one is pulled up, acted on and counted as it comes).
  let nxt = v.nextHeader;
  let off = IPV6_HEADER_LEN;
  // Offsets below are from the packet start (m.data): ICMPv6 pointers and reassembly use them.
  let nxtOff = v.nextHeaderOffset - o;
  for (let i = 0; ; i++) {
    if (i >= IPV6_MAX_EXT_HEADERS) {
      st.ip6s_toomanyhdr++;
      mFreem(m);
      return;
    }
    if (nxt === IPPROTO_NONE) {
      // RFC 8200 §4.7: nothing follows.
      st.ip6s_nonext++;
      mFreem(m);
      return;
    }
    if (nxt !== IPPROTO_HOPOPTS && nxt !== IPPROTO_DSTOPTS && nxt !== IPPROTO_ROUTING && nxt !== IPPROTO_FRAGMENT) break;
    if (nxt === IPPROTO_HOPOPTS && off !== IPV6_HEADER_LEN) {
      // RFC 8200 §4.3: hop-by-hop options only immediately after the IPv6 header.
      st.ip6s_badoptions++;
      icmp6Error(ip, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, nxtOff, now);
      return;
    }
    let elen = IPV6_FRAG_HEADER_LEN;
    if (nxt !== IPPROTO_FRAGMENT) {
      if (off + 2 > end) {
        st.ip6s_tooshort++;
        mFreem(m);
        return;
      }
      p = pullup(m, off + 2);
      if (p === null) { st.ip6s_nobufs++; return; }
      m = p;
      elen = ipv6ExtHeaderLen(m.buf, m.data + off);
    }
    if (off + elen > end) {
      st.ip6s_tooshort++;
      mFreem(m);
      return;
    }
    p = pullup(m, off + elen);
    if (p === null) { st.ip6s_nobufs++; return; }
    m = p;
    b = m.buf; o = m.data;
    if (nxt === IPPROTO_FRAGMENT) {
      if (ip.frag6.wrap(b, o + off, IPV6_FRAG_HEADER_LEN).isAtomic) {
        // RFC 6946 §4: an atomic fragment is processed in isolation, as if unfragmented.
        st.ip6s_atomicfrags++;
      } else {
        if (reassembled) {
          // A fragment inside a reassembled datagram: refuse to recurse.
          st.ip6s_badoptions++;
          mFreem(m);
          return;
        }
        const r = ip.reass6.input(m, off, nxtOff, plen, now);
        if (r !== null) ip6Input(ip, r, ifp, now, true);
        return;
      }
    } else if (nxt === IPPROTO_ROUTING) {
      // RFC 8200 §4.4: with Segments Left (byte 3) nonzero a host that does not recognise the
      // routing type (we forward nothing, so none) sends parameter problem code 0 at the type (byte 2).
      if (b[o + off + 3] !== 0) {
        st.ip6s_badoptions++;
        icmp6Error(ip, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, off + 2, now);
        return;
      }
    } else if (!ip6Options(ip, m, off, elen, mcast, now)) {
      return;
    }
    nxtOff = off;
    // Every extension header starts with its Next Header byte.
    nxt = b[o + off]!;
    off += elen;
  }
  ip6Deliver(ip, m, off, end - off, nxt, nxtOff, mcast, ifp, now);
}

/** True when the multicast group at buf[off..] is one we are in, on `ifp` (or any interface for looped packets). */
function joined(ip: IpLayer, ifp: Ifnet | null, buf: Uint8Array, off: number): boolean {
  if (ifp !== null) return ifp.isJoinedGroup6(buf, off);
  for (const i of ip.ifnets) if (i.isJoinedGroup6(buf, off)) return true;
  return false;
}

/**
 * RFC 8200 §4.2 options of a hop-by-hop or destination options header at `off` (elen bytes,
 * contiguous). Returns false when the packet was dropped (and maybe answered).
 */
function ip6Options(ip: IpLayer, m: Mbuf, off: number, elen: number, mcast: boolean, now: Instant): boolean {
  const b = m.buf, o = m.data;
  const end = off + elen;
  let i = off + 2;
  while (i < end) {
    const t = b[o + i]!;
    if (t === 0) { i++; continue; } // Pad1
    if (i + 2 > end || i + 2 + b[o + i + 1]! > end) break;
    const optlen = b[o + i + 1]!;
    // PadN (1) and Router Alert (5, RFC 2711) need nothing from a host. Jumbo Payload (0xc2,
    // RFC 2675) is refused: no link here carries more than 64 KB.
    if (t !== 1 && t !== 5) {
      // The two high bits say what to do with an unrecognised option.
      const action = t === 0xc2 ? 2 : t >>> 6;
      if (action !== 0) {
        ip.ip6stat.ip6s_badoptions++;
        if (action === 1 || (action === 3 && mcast)) mFreem(m);
        else icmp6Error(ip, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_OPTION, i, now);
        return false;
      }
    }
    i += 2 + optlen;
  }
  if (i !== end) {
    ip.ip6stat.ip6s_badoptions++;
    mFreem(m);
    return false;
  }
  return true;
}

/** Hands the upper-layer packet at `l4Off` to ICMPv6 or its transport, headers contiguous. */
function ip6Deliver(
  ip: IpLayer, m: Mbuf, l4Off: number, l4Len: number, nxt: number, nxtOff: number, mcast: boolean, ifp: Ifnet | null, now: Instant,
): void {
  const st = ip.ip6stat;
  const p = pullupTransport(m, l4Off, l4Len, nxt, IPPROTO_ICMPV6, ip.tcp);
  if (p === null) { st.ip6s_nobufs++; return; }
  m = p;
  const v = ip.v6.wrap(m.buf, m.data, m.len);
  const info = ip.inInfo;
  info.family = 6;
  info.srcOff = v.srcOffset;
  info.dstOff = v.dstOffset;
  info.l4Off = l4Off;
  info.l4Len = l4Len;
  info.ifindex = ifp === null ? 0 : ifp.index;
  info.pseudoSum = pseudoHeaderSum6(m.buf, v.srcOffset, m.buf, v.dstOffset, nxt, l4Len);
  info.dstIsBroadcastOrMulticast = mcast;
  info.ttlOrHopLimit = v.hopLimit;
  info.tos = v.trafficClass;
  if (nxt === IPPROTO_ICMPV6) {
    st.ip6s_delivered++;
    icmp6Input(ip, m, info, now);
    return;
  }
  const t = ip.protocol(nxt);
  if (t !== null) {
    st.ip6s_delivered++;
    t.input(m, info, now);
    return;
  }
  // RFC 8200 §4: unrecognised Next Header: parameter problem code 1 pointing at that field.
  st.ip6s_noproto++;
  icmp6Error(ip, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, nxtOff, now);
}
