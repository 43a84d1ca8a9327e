// IPv6 input (BSD ip6_input + the extension-header loop of RFC 8200 §4): header validation with
// one counter per drop reason, trimming to the payload length, the host's acceptance rules (our
// addresses, all-nodes and our solicited-node groups; no forwarding), hop-by-hop/destination
// options, routing headers, fragments (to reassembly), and delivery to ICMPv6 or a transport.
// ingress: Ifnet.receiveBatch / loopback → IpLayer.ifInput → ip6Input → [Ip6Reass.input] →
//          ip6Deliver → icmp6Input (icmp6.ts) | IpProtocol.input | parameter problem (code 1).

import type { Mbuf } from '../mbuf/index.js';
import { M_LOOP, M_MCAST, mAdj, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import { isV6Loopback } from './ip-layer.js';
import { icmp6Error, icmp6Input, ICMP6_PARAM_PROB } from './icmp6.js';
import {
  FRAG6, get16, ICMP_HLEN, IP6, IP6_HLEN, IP6F_MORE, IP6F_OFFMASK, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, pseudoSum6, pullup,
} from './hdr.js';

const IPPROTO_HOPOPTS = 0;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_NONE = 59;
const IPPROTO_DSTOPTS = 60;
/** Most extension headers walked before giving up (bounded loop on hostile input). */
const MAX_EXT_HEADERS = 16;

/**
 * Processes one IPv6 packet (header at m.data). Takes ownership. `reassembled` marks a packet
 * coming back from reassembly (already counted; may not carry another fragment header).
 */
export function ip6Input(ip: IpLayer, m: Mbuf, ifp: Ifnet | null, now: Instant, reassembled: boolean): void {
  const st = ip.ip6stat;
  if (!reassembled) st.ip6s_total++;
  const total = mLength(m);
  if (total < IP6_HLEN) {
    st.ip6s_toosmall++;
    mFreem(m);
    return;
  }
  let p = pullup(m, IP6_HLEN);
  if (p === null) { st.ip6s_nobufs++; return; }
  m = p;
  let b = m.buf, o = m.data;
  if (b[o]! >>> 4 !== 6) {
    st.ip6s_badvers++;
    mFreem(m);
    return;
  }
  const plen = get16(b, o + IP6.plen);
  const end = IP6_HLEN + plen;
  if (total < end) {
    st.ip6s_tooshort++;
    mFreem(m);
    return;
  }
  if (total > end) mAdj(m, end - total);
  const looped = (m.flags & M_LOOP) !== 0;
  // RFC 4291 §2.7: a multicast source is invalid; §2.5.2: the unspecified address is never a
  // destination; §2.5.3: ::1 never appears on a link.
  let dstUnspec = true;
  for (let i = 0; i < 16; i++) if (b[o + IP6.dst + i] !== 0) { dstUnspec = false; break; }
  if (b[o + IP6.src] === 0xff || dstUnspec
    || (!looped && (isV6Loopback(b, o + IP6.src) || isV6Loopback(b, o + IP6.dst)))) {
    st.ip6s_badscope++;
    mFreem(m);
    return;
  }
  let mcast = false;
  if (!ip.isLocalBytes(6, b, o + IP6.dst)) {
    if (b[o + IP6.dst] !== 0xff) {
      st.ip6s_notforus++;
      mFreem(m);
      return;
    }
    if (!joined(ip, ifp, b, o + IP6.dst)) {
      st.ip6s_notmember++;
      mFreem(m);
      return;
    }
    mcast = true;
    m.flags |= M_MCAST;
  }

  // RFC 8200 §4: walk the extension headers in order.
  let nxt = b[o + IP6.nxt]!;
  let off = IP6_HLEN;
  let nxtOff: number = IP6.nxt;
  for (let i = 0; ; i++) {
    if (i >= MAX_EXT_HEADERS) {
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
    if (nxt === IPPROTO_HOPOPTS && off !== IP6_HLEN) {
      // RFC 8200 §4.3: hop-by-hop options only immediately after the IPv6 header.
      st.ip6s_badoptions++;
      icmp6Error(ip, m, ICMP6_PARAM_PROB, 1, nxtOff, now);
      return;
    }
    let elen = 8;
    if (nxt !== IPPROTO_FRAGMENT) {
      if (off + 2 > end) {
        st.ip6s_tooshort++;
        mFreem(m);
        return;
      }
      p = pullup(m, off + 2);
      if (p === null) { st.ip6s_nobufs++; return; }
      m = p;
      elen = (m.buf[m.data + off + 1]! + 1) << 3;
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
      const offlg = get16(b, o + off + FRAG6.offlg);
      if ((offlg & (IP6F_OFFMASK | IP6F_MORE)) === 0) {
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
      // RFC 8200 §4.4: with Segments Left nonzero a host that does not recognise the routing
      // type (we forward nothing, so none) sends parameter problem code 0 at the type field.
      if (b[o + off + 3] !== 0) {
        st.ip6s_badoptions++;
        icmp6Error(ip, m, ICMP6_PARAM_PROB, 0, off + 2, now);
        return;
      }
    } else if (!ip6Options(ip, m, off, elen, mcast, now)) {
      return;
    }
    nxtOff = off;
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
        else icmp6Error(ip, m, ICMP6_PARAM_PROB, 2, i, now);
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
  let need = l4Off + Math.min(l4Len, nxt === PROTO_TCP ? 20 : nxt === PROTO_UDP || nxt === PROTO_ICMPV6 ? ICMP_HLEN : 0);
  let p = pullup(m, need);
  if (p === null) { st.ip6s_nobufs++; return; }
  m = p;
  if (nxt === PROTO_TCP && l4Len >= 20) {
    const thlen = (m.buf[m.data + l4Off + 12]! >>> 4) << 2;
    if (thlen > 20 && thlen <= l4Len) {
      need = l4Off + thlen;
      p = pullup(m, need);
      if (p === null) { st.ip6s_nobufs++; return; }
      m = p;
    }
  }
  const b = m.buf, o = m.data;
  const info = ip.inInfo;
  info.family = 6;
  info.srcOff = o + IP6.src;
  info.dstOff = o + IP6.dst;
  info.l4Off = l4Off;
  info.l4Len = l4Len;
  info.ifindex = ifp === null ? 0 : ifp.index;
  info.pseudoSum = pseudoSum6(b, o + IP6.src, b, o + IP6.dst, nxt, l4Len);
  info.dstIsBroadcastOrMulticast = mcast;
  info.ttlOrHopLimit = b[o + IP6.hlim]!;
  info.tos = ((get16(b, o) >>> 4) & 0xff);
  if (nxt === PROTO_ICMPV6) {
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
  icmp6Error(ip, m, ICMP6_PARAM_PROB, 1, nxtOff, now);
}
