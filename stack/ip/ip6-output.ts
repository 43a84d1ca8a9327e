// IPv6 output (BSD ip6_output): route lookup, source selection, the fixed header, loopback to our
// own addresses, and source fragmentation above the path MTU (RFC 8200 §4.5): only the source
// fragments; the unfragmentable part is the 40-byte header (we emit no extension headers); each
// fragment carries a Fragment header with a 32-bit identification from a per-stack counter with a
// random start (RFC 7739 §5.1 allows it); payload is referenced with mCopym, not copied.
// egress: transport / icmp6.ts → IpLayer.output → ip6Output → [ip6Fragment] → Ifnet.enqueue
//         (or IpLayer.loopEnqueue for our own addresses).

import type { Mbuf } from '../mbuf/index.js';
import { CSUM_NEEDS, M_BCAST, M_LOOP, M_MCAST, M_PKTHDR, MT_DATA, mCopym, mFreem, mLength, mPrepend } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { EADDRNOTAVAIL, EAFNOSUPPORT, EHOSTUNREACH, EMSGSIZE, ENETDOWN, ENOBUFS } from '../errno.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import type { IpOutputParams } from './protocol.js';
import {
  completeL4Checksum, FRAG6, FRAG6_LEN, IP6, IP6_HLEN, IP6F_MORE, IP_MAXPACKET, pseudoSum6, set16, set32,
} from './hdr.js';

const IPPROTO_FRAGMENT = 44;

/**
 * Sends transport segment `m` as an IPv6 packet. Takes ownership whatever the result.
 * Returns 0 or a Darwin errno (see IpOutput.output).
 */
export function ip6Output(ip: IpLayer, m: Mbuf, p: IpOutputParams, now: Instant): number {
  const st = ip.ip6stat;
  st.ip6s_localout++;
  const dst = p.dst;
  const db = dst.bytes;
  if (p.src.family !== 6) {
    mFreem(m);
    return EAFNOSUPPORT;
  }
  const local = ip.isLocalBytes(6, db, 0);
  let ifp: Ifnet | null = null;
  let mtu = IP_MAXPACKET;
  if (!local) {
    const r = ip.routes.lookup(6, db, 0, p.ifscope);
    if (r !== null) {
      ifp = ip.ifnets[r.ifindex - 1]!;
      mtu = ip.mtuFor(r, ifp, 6, db, 0);
    } else {
      ifp = ip.outputIfnet(6, db, 0, p.ifscope);
      if (ifp !== null) mtu = ifp.mtu;
    }
    if (ifp === null) {
      st.ip6s_noroute++;
      mFreem(m);
      return EHOSTUNREACH;
    }
  }
  let src = p.src;
  if (src.isUnspecified) {
    const s = ip.selectSource(dst, p.ifscope);
    if (s === null) {
      st.ip6s_nosource++;
      mFreem(m);
      return EADDRNOTAVAIL;
    }
    src = s;
  }
  const plen = mLength(m);
  if (plen > IP_MAXPACKET) {
    // No jumbograms (RFC 2675).
    st.ip6s_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  const h = mPrepend(m, IP6_HLEN);
  if (h === null) {
    st.ip6s_odropped++;
    return ENOBUFS;
  }
  m = h;
  const total = IP6_HLEN + plen;
  // A transport may hand a chain without a packet header: the IP packet has one.
  m.flags = (m.flags & ~(M_BCAST | M_MCAST | M_LOOP)) | M_PKTHDR;
  m.pktLen = total;
  if (db[0] === 0xff) m.flags |= M_MCAST;
  const b = m.buf, o = m.data;
  // RFC 8200 §3: version 6, traffic class, flow label 0 (RFC 6437 allows it), payload length,
  // next header, hop limit, addresses.
  const tc = p.tos & 0xff;
  b[o] = 0x60 | (tc >>> 4);
  b[o + 1] = (tc & 0x0f) << 4;
  b[o + 2] = 0;
  b[o + 3] = 0;
  set16(b, o + IP6.plen, plen);
  b[o + IP6.nxt] = p.protocol;
  b[o + IP6.hlim] = p.ttl > 0 ? p.ttl & 0xff : ifp !== null && ifp.hopLimit > 0 ? ifp.hopLimit : ip.defaultTtl;
  b.set(src.bytes, o + IP6.src);
  b.set(db, o + IP6.dst);

  if ((m.csumFlags & CSUM_NEEDS) !== 0
    && (ifp === null || !ifp.link.caps.txCsumOffload || (total > mtu && m.gsoType === 0))) {
    completeL4Checksum(m, IP6_HLEN, p.protocol, plen,
      pseudoSum6(b, o + IP6.src, b, o + IP6.dst, p.protocol, plen), ip.scratch);
  }
  if (ifp === null) return ip.loopEnqueue(m, 6);
  if (m.gsoType !== 0) {
    if (ifp.link.caps.tsoMaxBytes < total) {
      st.ip6s_cantfrag++;
      mFreem(m);
      return EMSGSIZE;
    }
  } else if (total > mtu) {
    if (p.dontFrag) {
      // RFC 3542 §11.2 (IPV6_DONTFRAG): the application learns EMSGSIZE instead.
      st.ip6s_cantfrag++;
      mFreem(m);
      return EMSGSIZE;
    }
    return ip6Fragment(ip, m, mtu, ifp, now);
  }
  if (!ifp.enqueue(m, now)) {
    st.ip6s_ifdownout++;
    return ENETDOWN;
  }
  return 0;
}

/**
 * RFC 8200 §4.5: splits the packet (40-byte header + payload) into fragments of at most `mtu`
 * bytes: header copy (Next Header 44, Payload Length of the fragment) + Fragment header (original
 * Next Header, offset in 8-octet units, M on all but the last, identification) + a multiple of 8
 * payload bytes (the last may be shorter). Takes ownership.
 */
export function ip6Fragment(ip: IpLayer, m: Mbuf, mtu: number, ifp: Ifnet, now: Instant): number {
  const st = ip.ip6stat;
  const b = m.buf, o = m.data;
  const payload = m.pktLen - IP6_HLEN;
  const fragLen = (mtu - IP6_HLEN - FRAG6_LEN) & ~7;
  if (fragLen < 8) {
    st.ip6s_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  const id = ip.ip6Id;
  ip.ip6Id = (ip.ip6Id + 1) >>> 0;
  const nxt = b[o + IP6.nxt]!;
  const list = ip.fragScratch;
  let n = 0;
  const hl = IP6_HLEN + FRAG6_LEN;
  for (let off = 0; off < payload; off += fragLen) {
    const flen = Math.min(fragLen, payload - off);
    const h = ip.pool.getHdr(MT_DATA);
    const d = h === null ? null : mCopym(m, IP6_HLEN + off, flen);
    if (h === null || d === null) {
      if (h !== null) ip.pool.free(h);
      for (let i = 0; i < n; i++) mFreem(list[i]!);
      mFreem(m);
      st.ip6s_odropped++;
      return ENOBUFS;
    }
    h.data = h.end - hl;
    const hb = h.buf, ho = h.data;
    hb.set(b.subarray(o, o + IP6_HLEN), ho);
    hb[ho + IP6.nxt] = IPPROTO_FRAGMENT;
    set16(hb, ho + IP6.plen, FRAG6_LEN + flen);
    const f = ho + IP6_HLEN;
    hb[f + FRAG6.nxt] = nxt;
    hb[f + 1] = 0;
    set16(hb, f + FRAG6.offlg, off | (off + flen < payload ? IP6F_MORE : 0));
    set32(hb, f + FRAG6.ident, id);
    h.len = hl;
    h.next = d;
    h.pktLen = hl + flen;
    h.flags |= m.flags & M_MCAST;
    list[n++] = h;
  }
  mFreem(m);
  st.ip6s_fragmented++;
  st.ip6s_ofragments += n;
  let err = 0;
  for (let i = 0; i < n; i++) {
    if (!ifp.enqueue(list[i]!, now) && err === 0) {
      st.ip6s_ifdownout++;
      err = ENETDOWN;
    }
  }
  return err;
}
