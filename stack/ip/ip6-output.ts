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
import { pseudoHeaderSum6 } from '../wire/checksum.js';
import { IPPROTO_FRAGMENT } from '../wire/ip-proto.js';
import { emitIpv6, emitIpv6FragHeader, IPV6_FRAG_HEADER_LEN, IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD_LEN } from '../wire/ipv6.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import type { IpOutputParams } from './protocol.js';
import { completeL4Checksum } from './mbuf-checksum.js';

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
  let mtu = IPV6_MAX_PAYLOAD_LEN;
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
  if (plen > IPV6_MAX_PAYLOAD_LEN) {
    // No jumbograms (RFC 2675).
    st.ip6s_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  const h = mPrepend(m, IPV6_HEADER_LEN);
  if (h === null) {
    st.ip6s_odropped++;
    return ENOBUFS;
  }
  m = h;
  // csumStart counts from the packet's first byte (Linux csum_start): the transport set it relative to its header.
  if ((m.csumFlags & CSUM_NEEDS) !== 0) m.csumStart += IPV6_HEADER_LEN;
  const total = IPV6_HEADER_LEN + plen;
  // A transport may hand a chain without a packet header: the IP packet has one.
  m.flags = (m.flags & ~(M_BCAST | M_MCAST | M_LOOP)) | M_PKTHDR;
  m.pktLen = total;
  if (db[0] === 0xff) m.flags |= M_MCAST;
  // RFC 8200 §3: version 6, traffic class, flow label 0 (RFC 6437 allows it), payload length,
  // next header, hop limit, addresses.
  const r = ip.out6;
  r.src = src;
  r.dst = dst;
  r.trafficClass = p.tos & 0xff;
  r.payloadLen = plen;
  r.nextHeader = p.protocol;
  r.hopLimit = p.ttl > 0 ? p.ttl & 0xff : ifp !== null && ifp.hopLimit > 0 ? ifp.hopLimit : ip.defaultTtl;
  emitIpv6(r, m.buf, m.data);

  if ((m.csumFlags & CSUM_NEEDS) !== 0
    && (ifp === null || !ifp.link.caps.txCsumOffload || (total > mtu && m.gsoType === 0))) {
    completeL4Checksum(m, IPV6_HEADER_LEN, p.protocol, plen,
      pseudoHeaderSum6(src.bytes, 0, db, 0, p.protocol, plen), ip.csum, ip.scratch);
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
  const payload = m.pktLen - IPV6_HEADER_LEN;
  const fragLen = (mtu - IPV6_HEADER_LEN - IPV6_FRAG_HEADER_LEN) & ~7;
  if (fragLen < 8) {
    st.ip6s_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  const id = ip.ip6Id;
  ip.ip6Id = (ip.ip6Id + 1) >>> 0;
  const nxt = ip.v6.wrap(b, o, m.len).nextHeader;
  const list = ip.fragScratch;
  let n = 0;
  const hl = IPV6_HEADER_LEN + IPV6_FRAG_HEADER_LEN;
  for (let off = 0; off < payload; off += fragLen) {
    const flen = Math.min(fragLen, payload - off);
    const h = ip.pool.getHdr(MT_DATA);
    const d = h === null ? null : mCopym(m, IPV6_HEADER_LEN + off, flen);
    if (h === null || d === null) {
      if (h !== null) ip.pool.free(h);
      for (let i = 0; i < n; i++) mFreem(list[i]!);
      mFreem(m);
      st.ip6s_odropped++;
      return ENOBUFS;
    }
    h.data = h.end - hl;
    const hb = h.buf, ho = h.data;
    hb.set(b.subarray(o, o + IPV6_HEADER_LEN), ho);
    const fv = ip.v6.wrap(hb, ho, hl);
    fv.setNextHeader(IPPROTO_FRAGMENT);
    fv.setPayloadLen(IPV6_FRAG_HEADER_LEN + flen);
    emitIpv6FragHeader(hb, ho + IPV6_HEADER_LEN, nxt, off, off + flen < payload, id);
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
