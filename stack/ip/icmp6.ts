// ICMPv6 (RFC 4443; BSD icmp6.c): input validation with the pseudo-header checksum, echo reply,
// the echo client, error generation with RFC 4443 §2.4's suppression rules and rate limit, and
// error input decoded into IpCtlInfo for the transports, with packet-too-big feeding the path
// MTU cache (RFC 8201). Neighbor discovery and MLD (types 130-137, 143) are counted and ignored:
// a TUN is a point-to-point layer-3 link with no link-layer addresses to resolve.
// ingress: ip6-input.ts → icmp6Input → echo reply out | echo listener | IpProtocol.ctlinput
// egress:  ip6-input.ts / ip6-reass.ts / IpLayer.sendIcmpError → icmp6Error → ip6-output.ts

import type { Mbuf } from '../mbuf/index.js';
import { M_MCAST, mAdj, mCopydata, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { EADDRNOTAVAIL, EMSGSIZE, ENOBUFS } from '../errno.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { IpLayer } from './ip-layer.js';
import type { IpCtlInfo, IpInputInfo, IpOutputParams } from './protocol.js';
import { ip6Output } from './ip6-output.js';
import { buildIcmpMessage, unreachKind6 } from './icmp-errors.js';
import type { CtlKind } from './icmp-errors.js';
import {
  cksum, FRAG6, fold, get16, get32, ICMP, ICMP_HLEN, IP6, IP6_HLEN, IP6F_OFFMASK, IP_MAXPACKET, IPV6_MMTU, PROTO_ICMPV6,
  pseudoSum6, pullup, set16, sumBytes, sumChain,
} from './hdr.js';

export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_REDIRECT = 137;
/** RFC 4443 §2.4(c): an error message must not exceed the minimum IPv6 MTU. */
export const ICMP6_ERROR_MAX = IPV6_MMTU;

/** Where an IPv6 header chain leads (filled by walk6). */
export class Walk6 {
  /** Upper-layer protocol (or the header where the walk stopped). */
  nxt = 0;
  /** Offset of the upper-layer header from the packet start. */
  off = 0;
  /** Offset of the byte holding `nxt`. */
  nxtOff: number = IP6.nxt;
  /** A fragment header with a nonzero offset was met: no upper-layer header follows. */
  laterFrag = false;
}

/**
 * Walks the extension headers of the IPv6 packet at chain offset `base` (`avail` bytes present)
 * up to the upper-layer header (RFC 8200 §4). Stops early at a non-first fragment, at a header that
 * runs past `avail`, or after 16 headers. Reads through `scratch` (no allocation).
 */
export function walk6(m: Mbuf, base: number, avail: number, scratch: Uint8Array, w: Walk6, stopAt = Infinity): Walk6 {
  mCopydata(m, base + IP6.nxt, 1, scratch, 0);
  w.nxt = scratch[0]!;
  w.nxtOff = IP6.nxt;
  w.off = IP6_HLEN;
  w.laterFrag = false;
  for (let i = 0; i < 16 && w.off < stopAt; i++) {
    const nxt = w.nxt;
    if (nxt !== 0 && nxt !== 43 && nxt !== 60 && nxt !== 44 && nxt !== 51) break;
    if (w.off + 4 > avail || !mCopydata(m, base + w.off, 4, scratch, 0)) break;
    let len: number;
    if (nxt === 44) {
      if ((get16(scratch, FRAG6.offlg) & IP6F_OFFMASK) !== 0) { w.laterFrag = true; break; }
      len = 8;
    } else if (nxt === 51) {
      len = (scratch[1]! + 2) << 2; // RFC 4302 §2.2: AH length in 4-octet units, minus 2
    } else {
      len = (scratch[1]! + 1) << 3;
    }
    w.nxtOff = w.off;
    w.nxt = scratch[0]!;
    w.off += len;
  }
  return w;
}

/** Offset (from the packet start) of the next-header byte naming the header at `l4Off`: the parameter-problem pointer. */
export function nextHeaderFieldOffset(m: Mbuf, l4Off: number, scratch: Uint8Array): number {
  return walk6(m, 0, l4Off, scratch, new Walk6(), l4Off).nxtOff;
}

/** ICMPv6 input for a packet delivered by ip6-input.ts. Takes ownership. */
export function icmp6Input(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmp6stat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP_HLEN) {
    st.icp6s_tooshort++;
    mFreem(m);
    return;
  }
  // RFC 4443 §2.3: the checksum covers the message and the RFC 8200 §8.1 pseudo-header.
  if (fold(sumChain(m, hlen, icmplen, info.pseudoSum)) !== 0xffff) {
    st.icp6s_checksum++;
    mFreem(m);
    return;
  }
  const b = m.buf, o = m.data + hlen;
  const type = b[o]!, code = b[o + 1]!;
  st.icp6s_inhist[type]!++;
  let kind: CtlKind | null;
  switch (type) {
    case ICMP6_ECHO_REQUEST:
      icmp6Reflect(ip, m, info, now);
      return;
    case ICMP6_ECHO_REPLY: {
      const l = ip.echo;
      if (l === null) {
        st.icp6s_ignored++;
        mFreem(m);
        return;
      }
      const payload = new Uint8Array(icmplen - ICMP_HLEN);
      mCopydata(m, hlen + ICMP_HLEN, payload.length, payload, 0);
      const reply = {
        family: 6 as const, src: IpAddr.fromBytes(b, info.srcOff, 16), ident: get16(b, o + ICMP.id),
        seq: get16(b, o + ICMP.seq), payload, hopLimit: info.ttlOrHopLimit,
      };
      mFreem(m);
      st.icp6s_echoreplies++;
      l.onEchoReply(reply, now);
      return;
    }
    case ICMP6_DST_UNREACH:
      kind = unreachKind6(code);
      break;
    case ICMP6_PACKET_TOO_BIG:
      // RFC 4443 §3.2: the code is set to 0 by the sender and ignored by the receiver.
      kind = 'needfrag';
      break;
    case ICMP6_TIME_EXCEEDED:
      kind = code <= 1 ? 'time-exceeded' : null;
      break;
    case ICMP6_PARAM_PROB:
      // Code 1: unrecognized next header, i.e. the protocol is unreachable (BSD PRC_UNREACH_PROTOCOL).
      kind = code === 1 ? 'unreach-proto' : code <= 10 ? 'param-problem' : null;
      break;
    default:
      if ((type >= 130 && type <= 137) || type === 143) st.icp6s_nd_ignored++;
      else st.icp6s_ignored++;
      mFreem(m);
      return;
  }
  if (kind === null) {
    st.icp6s_badcode++;
    mFreem(m);
    return;
  }
  icmp6CtlInput(ip, m, info, type, code, kind, now);
}

/**
 * RFC 4443 §4.2: the reply carries the request's identifier, sequence and data; its source is the
 * request's destination, or for a multicast request a unicast address of the receiving interface.
 */
function icmp6Reflect(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmp6stat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  const dst = IpAddr.fromBytes(m.buf, info.srcOff, 16);
  const src = info.dstIsBroadcastOrMulticast ? ip.selectSource(dst, info.ifindex) : IpAddr.fromBytes(m.buf, info.dstOff, 16);
  const tclass = info.tos;
  if (src === null || dst.isUnspecified) {
    st.icp6s_odropped++;
    mFreem(m);
    return;
  }
  mAdj(m, hlen);
  const p = pullup(m, ICMP_HLEN, true);
  if (p === null) {
    st.icp6s_odropped++;
    return;
  }
  const b = p.buf, o = p.data;
  b[o] = ICMP6_ECHO_REPLY;
  set16(b, o + ICMP.sum, 0);
  set16(b, o + ICMP.sum, cksum(sumChain(p, 0, icmplen, pseudoSum6(src.bytes, 0, dst.bytes, 0, PROTO_ICMPV6, icmplen))));
  st.icp6s_reflect++;
  const err = ip6Output(ip, p, params6(src, dst, tclass, dst.isLinkLocal ? info.ifindex : 0), now);
  if (err === 0) st.icp6s_outhist[ICMP6_ECHO_REPLY]!++;
  else st.icp6s_odropped++;
}

/** RFC 4443 §2.4(d): hand an error about one of our packets to the upper-layer protocol that sent it. */
function icmp6CtlInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, type: number, code: number, kind: CtlKind, now: Instant): void {
  const st = ip.icmp6stat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP_HLEN + IP6_HLEN) {
    st.icp6s_badlen++;
    mFreem(m);
    return;
  }
  const p = pullup(m, hlen + ICMP_HLEN + IP6_HLEN);
  if (p === null) { ip.ip6stat.ip6s_nobufs++; return; }
  m = p;
  const b = m.buf;
  const q = m.data + hlen + ICMP_HLEN;
  if (b[q]! >>> 4 !== 6) {
    st.icp6s_badlen++;
    mFreem(m);
    return;
  }
  const qsrc = IpAddr.fromBytes(b, q + IP6.src, 16);
  const qdst = IpAddr.fromBytes(b, q + IP6.dst, 16);
  const reported = get32(b, m.data + hlen + 4);
  const qavail = icmplen - ICMP_HLEN;
  const w = walk6(m, hlen + ICMP_HLEN, qavail, ip.scratch, new Walk6());
  let mtu = 0;
  if (kind === 'needfrag') {
    // RFC 8201 §4: "If a node receives a Packet Too Big message reporting a next-hop MTU that is
    // less than the IPv6 minimum link MTU, it must discard it."
    if (reported < IPV6_MMTU) {
      st.icp6s_pmtuignored++;
      mFreem(m);
      return;
    }
    updatePmtu6(ip, qsrc, qdst, reported, now);
    mtu = ip.pathMtu(qdst);
  }
  const tlen = qavail - w.off;
  if (w.laterFrag || tlen < 8) {
    mFreem(m);
    if (w.laterFrag) st.icp6s_ctlnoproto++; else st.icp6s_badlen++;
    return;
  }
  const quoted = new Uint8Array(tlen);
  mCopydata(m, hlen + ICMP_HLEN + w.off, tlen, quoted, 0);
  mFreem(m);
  const t = w.nxt === PROTO_ICMPV6 ? null : ip.protocol(w.nxt);
  if (t === null) {
    st.icp6s_ctlnoproto++;
    return;
  }
  const ctl: IpCtlInfo = {
    family: 6, kind, icmpType: type, icmpCode: code, mtu, src: qsrc, dst: qdst,
    srcPort: get16(quoted, 0), dstPort: get16(quoted, 2), quoted,
  };
  st.icp6s_ctlinput++;
  t.ctlinput(ctl, now);
}

/** RFC 8201 §4: lower the path MTU towards `dst` (never below 1280, never above the route MTU). */
function updatePmtu6(ip: IpLayer, src: IpAddr, dst: IpAddr, reported: number, now: Instant): void {
  const st = ip.icmp6stat;
  const r = ip.isLocalAddress(src) ? ip.routes.lookupAddr(dst) : null;
  if (r === null) {
    st.icp6s_pmtuignored++;
    return;
  }
  const ifp = ip.ifnets[r.ifindex - 1]!;
  const routeMtu = r.mtu !== 0 && r.mtu < ifp.mtu ? r.mtu : ifp.mtu;
  const cur = ip.mtuFor(r, ifp, 6, dst.bytes, 0);
  const mtu = reported > routeMtu ? routeMtu : reported;
  if (mtu >= cur) {
    st.icp6s_pmtuignored++;
    return;
  }
  ip.pmtu.set(dst, mtu, now);
  st.icp6s_pmtuchanged++;
}

/**
 * Answers the IPv6 packet `m` (header at m.data) with an ICMPv6 error. RFC 4443 §2.4(e): never
 * about an ICMPv6 error or redirect, about a packet to a multicast address (except packet too big
 * and parameter problem code 2), or from a source that is not a single unicast node; rate
 * limited (§2.4(f)); quotes as much as fits in 1280 bytes (§2.4(c)). Takes ownership.
 */
export function icmp6Error(ip: IpLayer, m: Mbuf, type: number, code: number, word: number, now: Instant): void {
  const st = ip.icmp6stat;
  st.icp6s_error++;
  const total = mLength(m);
  if (total < IP6_HLEN) {
    st.icp6s_canterror++;
    mFreem(m);
    return;
  }
  const p = pullup(m, IP6_HLEN);
  if (p === null) {
    st.icp6s_odropped++;
    return;
  }
  m = p;
  const b = m.buf, o = m.data;
  const w = walk6(m, 0, total, ip.scratch, new Walk6());
  // A non-first fragment has no upper-layer header to quote; RFC 8200 §4.5's parameter problems
  // about fragments are the exception (they point into the fragment itself).
  if (w.laterFrag && type !== ICMP6_PARAM_PROB) {
    st.icp6s_fragment++;
    mFreem(m);
    return;
  }
  if (w.nxt === PROTO_ICMPV6) {
    const sc = ip.scratch;
    if (w.off + 1 > total || !mCopydata(m, w.off, 1, sc, 0) || sc[0]! < 128 || sc[0] === ND_REDIRECT) {
      st.icp6s_canterror++;
      mFreem(m);
      return;
    }
  }
  if ((b[o + IP6.dst] === 0xff || (m.flags & M_MCAST) !== 0)
    && !(type === ICMP6_PACKET_TOO_BIG || (type === ICMP6_PARAM_PROB && code === 2))) {
    st.icp6s_mcast++;
    mFreem(m);
    return;
  }
  let unspec = true;
  for (let i = 0; i < 16; i++) if (b[o + IP6.src + i] !== 0) { unspec = false; break; }
  if (unspec || b[o + IP6.src] === 0xff) {
    st.icp6s_badsrc++;
    mFreem(m);
    return;
  }
  if (!ip.icmpLimiter.take(now)) {
    st.icp6s_ratelimited++;
    mFreem(m);
    return;
  }
  const dst = IpAddr.fromBytes(b, o + IP6.src, 16);
  const src = b[o + IP6.dst] !== 0xff && ip.isLocalBytes(6, b, o + IP6.dst)
    ? IpAddr.fromBytes(b, o + IP6.dst, 16) : ip.selectSource(dst, dst.isLinkLocal ? m.rcvif : 0);
  const scope = dst.isLinkLocal ? m.rcvif : 0;
  const quoteLen = Math.min(total, ICMP6_ERROR_MAX - IP6_HLEN - ICMP_HLEN);
  const n = src === null ? null : buildIcmpMessage(ip.pool, type, code, word, m, quoteLen, IP6_HLEN + 16);
  mFreem(m);
  if (n === null) {
    st.icp6s_odropped++;
    return;
  }
  set16(n.buf, n.data + ICMP.sum, cksum(sumBytes(n.buf, n.data, n.len, pseudoSum6(src!.bytes, 0, dst.bytes, 0, PROTO_ICMPV6, n.len))));
  const err = ip6Output(ip, n, params6(src!, dst, 0, scope), now);
  if (err === 0) st.icp6s_outhist[type]!++;
  else st.icp6s_odropped++;
}

/** Sends an ICMPv6 echo request. Returns 0 or an errno. */
export function icmp6SendEcho(ip: IpLayer, dst: IpAddr, ident: number, seq: number, payload: Uint8Array, now: Instant): number {
  const len = ICMP_HLEN + payload.length;
  if (len > IP_MAXPACKET) return EMSGSIZE;
  // The checksum covers the source address, so pick it now (RFC 6724 lite).
  const src = ip.selectSource(dst, 0);
  if (src === null) {
    ip.ip6stat.ip6s_nosource++;
    return EADDRNOTAVAIL;
  }
  const m = ip.pool.getPacket(len + IP6_HLEN + 16);
  if (m === null) return ENOBUFS;
  m.data = m.start + IP6_HLEN + 16;
  const b = m.buf, o = m.data;
  b[o] = ICMP6_ECHO_REQUEST;
  b[o + 1] = 0;
  set16(b, o + ICMP.sum, 0);
  set16(b, o + ICMP.id, ident & 0xffff);
  set16(b, o + ICMP.seq, seq & 0xffff);
  b.set(payload, o + ICMP_HLEN);
  set16(b, o + ICMP.sum, cksum(sumBytes(b, o, len, pseudoSum6(src.bytes, 0, dst.bytes, 0, PROTO_ICMPV6, len))));
  m.len = len;
  m.pktLen = len;
  const err = ip6Output(ip, m, params6(src, dst, 0, 0), now);
  if (err === 0) ip.icmp6stat.icp6s_outhist[ICMP6_ECHO_REQUEST]!++;
  return err;
}

function params6(src: IpAddr, dst: IpAddr, tclass: number, ifscope: number): IpOutputParams {
  return { src, dst, protocol: PROTO_ICMPV6, ttl: 0, tos: tclass, dontFrag: false, allowBroadcast: false, ifscope };
}
