// IPv4 output (BSD ip_output): route lookup, source selection, header construction with a
// per-stack identification counter, loopback to our own addresses, and fragmentation above the
// path MTU (RFC 791 §2.3, §3.2) with fragments referencing the original clusters (mCopym).
// egress: transport / icmp.ts → IpLayer.output → ipOutput → [ipFragment] → Ifnet.enqueue
//         (or IpLayer.loopEnqueue for our own addresses).

import type { Mbuf } from '../mbuf/index.js';
import { CSUM_NEEDS, M_BCAST, M_LOOP, M_MCAST, M_PKTHDR, MT_DATA, mCopym, mFreem, mLength, mPrepend } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EHOSTUNREACH, EMSGSIZE, ENETDOWN, ENOBUFS } from '../errno.js';
import { pseudoHeaderSum4 } from '../wire/checksum.js';
import { emitIpv4, IPV4_HEADER_LEN, IPV4_MAX_PACKET_LEN } from '../wire/ipv4.js';
import type { Ifnet } from './ifnet.js';
import type { IpLayer } from './ip-layer.js';
import type { IpOutputParams } from './protocol.js';
import { completeL4Checksum } from './mbuf-checksum.js';

/**
 * Sends transport segment `m` as an IPv4 datagram. Takes ownership whatever the result.
 * Returns 0 or a Darwin errno (see IpOutput.output).
 */
export function ipOutput(ip: IpLayer, m: Mbuf, p: IpOutputParams, now: Instant): number {
  const st = ip.ipstat;
  st.ips_localout++;
  const dst = p.dst;
  const db = dst.bytes;
  if (p.src.family !== 4) {
    mFreem(m);
    return EAFNOSUPPORT;
  }
  const local = ip.isLocalBytes(4, db, 0);
  let ifp: Ifnet | null = null;
  let mtu = IPV4_MAX_PACKET_LEN;
  if (!local) {
    const r = ip.routes.lookup(4, db, 0, p.ifscope);
    if (r !== null) {
      ifp = ip.ifnets[r.ifindex - 1]!;
      mtu = ip.mtuFor(r, ifp, 4, db, 0);
    } else {
      ifp = ip.outputIfnet(4, db, 0, p.ifscope) ?? (dst.isLimitedBroadcast ? firstIfnet4(ip) : null);
      if (ifp !== null) mtu = ifp.mtu;
    }
    if (ifp === null) {
      st.ips_noroute++;
      mFreem(m);
      return EHOSTUNREACH;
    }
  }
  const bcast = !local && ip.isBroadcastBytes(db, 0);
  if (bcast && !p.allowBroadcast) {
    // BSD ip_output: broadcast needs SO_BROADCAST.
    st.ips_bcastdenied++;
    mFreem(m);
    return EACCES;
  }
  let src = p.src;
  if (src.isUnspecified) {
    const s = ip.selectSource(dst, p.ifscope);
    if (s === null) {
      st.ips_nosource++;
      mFreem(m);
      return EADDRNOTAVAIL;
    }
    src = s;
  }
  const total = mLength(m) + IPV4_HEADER_LEN;
  if (total > IPV4_MAX_PACKET_LEN) {
    st.ips_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  const h = mPrepend(m, IPV4_HEADER_LEN);
  if (h === null) {
    st.ips_odropped++;
    return ENOBUFS;
  }
  m = h;
  // csumStart counts from the packet's first byte (Linux csum_start): the transport set it relative to its header.
  if ((m.csumFlags & CSUM_NEEDS) !== 0) m.csumStart += IPV4_HEADER_LEN;
  // A transport may hand a chain without a packet header: the IP packet has one.
  m.flags = (m.flags & ~(M_BCAST | M_MCAST | M_LOOP)) | M_PKTHDR;
  m.pktLen = total;
  if (bcast) m.flags |= M_BCAST;
  else if (db[0]! >= 224 && db[0]! < 240) m.flags |= M_MCAST;
  // RFC 791 §3.1 header, no options, with its checksum (the fields do not change below).
  const r = ip.out4;
  r.src = src;
  r.dst = dst;
  r.protocol = p.protocol;
  r.ttl = p.ttl > 0 ? p.ttl & 0xff : ifp !== null && ifp.hopLimit > 0 ? ifp.hopLimit : ip.defaultTtl;
  r.tos = p.tos & 0xff;
  // RFC 6864 §4.2: any identification scheme is fine; a counter from a random start keeps
  // non-atomic datagrams unique per (src, dst, proto) for far longer than the 30 s reassembly life.
  r.ident = ip.ipId;
  ip.ipId = (ip.ipId + 1) & 0xffff;
  r.dontFrag = p.dontFrag;
  r.payloadLen = total - IPV4_HEADER_LEN;
  emitIpv4(r, m.buf, m.data);

  // in_delayed_cksum: a transport checksum left for the device is filled here unless this exact
  // packet goes to a link that will fill it.
  if ((m.csumFlags & CSUM_NEEDS) !== 0
    && (ifp === null || !ifp.link.caps.txCsumOffload || (total > mtu && m.gsoType === 0))) {
    completeL4Checksum(m, IPV4_HEADER_LEN, p.protocol, r.payloadLen,
      pseudoHeaderSum4(src.bytes, 0, db, 0, p.protocol, r.payloadLen), ip.csum, ip.scratch);
  }
  if (ifp === null) return ip.loopEnqueue(m, 4);
  if (m.gsoType !== 0) {
    // A TCP super-segment: the link segments it (TSO) and must accept its size.
    if (ifp.link.caps.tsoMaxBytes < total) {
      st.ips_cantfrag++;
      mFreem(m);
      return EMSGSIZE;
    }
  } else if (total > mtu) {
    if (p.dontFrag) {
      // RFC 1191 §3: DF set and too big: the sender learns through EMSGSIZE, not fragments.
      st.ips_cantfrag++;
      mFreem(m);
      return EMSGSIZE;
    }
    return ipFragment(ip, m, mtu, ifp, now);
  }
  if (!ifp.enqueue(m, now)) {
    st.ips_ifdownout++;
    return ENETDOWN;
  }
  return 0;
}

/**
 * RFC 791 §3.2 fragmentation: each fragment carries a copy of the header and up to
 * (mtu - hlen) rounded down to 8 bytes of payload, at an offset in 8-byte units, with MF on all but
 * the last. Payload is referenced with mCopym (shared clusters), not copied. Takes ownership of
 * `m`, whose DF bit is clear (its header's flags are copied into every fragment).
 */
export function ipFragment(ip: IpLayer, m: Mbuf, mtu: number, ifp: Ifnet, now: Instant): number {
  const st = ip.ipstat;
  const b = m.buf, o = m.data;
  const v = ip.v4.wrap(b, o, m.len);
  const hlen = v.headerLen;
  const total = v.totalLen;
  const fragLen = (mtu - hlen) & ~7;
  if (fragLen < 8) {
    st.ips_cantfrag++;
    mFreem(m);
    return EMSGSIZE;
  }
  // Offsets and MF are relative to the datagram being fragmented (itself maybe a fragment: keep its MF on the last piece).
  const baseOff = v.fragOffset;
  const lastMf = v.moreFrags;
  const list = ip.fragScratch;
  let n = 0;
  for (let off = hlen; off < total; off += fragLen) {
    const flen = Math.min(fragLen, total - off);
    const h = ip.pool.getHdr(MT_DATA);
    const d = h === null ? null : mCopym(m, off, flen);
    if (h === null || d === null) {
      if (h !== null) ip.pool.free(h);
      for (let i = 0; i < n; i++) mFreem(list[i]!);
      mFreem(m);
      st.ips_odropped++;
      return ENOBUFS;
    }
    h.data = h.end - hlen;
    h.buf.set(b.subarray(o, o + hlen), h.data);
    h.len = hlen;
    h.next = d;
    h.pktLen = hlen + flen;
    h.flags |= m.flags & (M_BCAST | M_MCAST);
    const fv = ip.v4.wrap(h.buf, h.data, hlen);
    fv.setTotalLen(hlen + flen);
    fv.setFragment(off + flen < total || lastMf, baseOff + (off - hlen));
    fv.fillChecksum();
    list[n++] = h;
  }
  mFreem(m);
  st.ips_fragmented++;
  st.ips_ofragments += n;
  let err = 0;
  for (let i = 0; i < n; i++) {
    if (!ifp.enqueue(list[i]!, now) && err === 0) {
      st.ips_ifdownout++;
      err = ENETDOWN;
    }
  }
  return err;
}

/** The first interface that is up and has an IPv4 address (limited broadcast without a route). */
function firstIfnet4(ip: IpLayer): Ifnet | null {
  for (const ifp of ip.ifnets) if (ifp.up && ifp.addrs4.length > 0) return ifp;
  return null;
}
