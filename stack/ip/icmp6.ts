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
import { pseudoHeaderSum6 } from '../wire/checksum.js';
import { IpAddr } from '../wire/ip-addr.js';
import {
  emitIcmpv6, ICMP6_DST_UNREACH, ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ICMP6_HEADER_LEN, ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAM_PROB, ICMP6_PARAMPROB_OPTION, ICMP6_TIME_EXCEEDED, isIcmpv6Error, isMldType, isNdpType, ND_REDIRECT,
} from '../wire/icmpv6.js';
import {
  IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_ROUTING,
} from '../wire/ip-proto.js';
import {
  IPV6_FRAG_HEADER_LEN, IPV6_HEADER_LEN, IPV6_MAX_EXT_HEADERS, IPV6_MAX_PAYLOAD_LEN, IPV6_MIN_MTU, ipv6ExtHeaderLen,
} from '../wire/ipv6.js';
import type { IpLayer } from './ip-layer.js';
import type { IpInputInfo, IpOutputParams } from './protocol.js';
import { ip6Output } from './ip6-output.js';
import { buildIcmpMessage, ctlNotify, lowerPathMtu, takeEchoReply, unreachKind6 } from './icmp-common.js';
import type { CtlKind } from './icmp-common.js';
import { pullup } from './chain-pullup.js';
import { chainChecksum } from './mbuf-checksum.js';

/** RFC 4443 §2.4(c): an error message must not exceed the minimum IPv6 MTU. */
export const ICMP6_ERROR_MAX = IPV6_MIN_MTU;

/** Where an IPv6 header chain leads (filled by walk6). */
export class Walk6 {
  /** Upper-layer protocol (or the header where the walk stopped). */
  nxt = 0;
  /** Offset of the upper-layer header from the packet start. */
  off = 0;
  /** Offset of the byte holding `nxt`. */
  nxtOff = 0;
  /** A fragment header with a nonzero offset was met: no upper-layer header follows. */
  laterFrag = false;
}

/**
 * Walks the extension headers of the IPv6 packet at chain offset `base` (`avail` bytes present)
 * up to the upper-layer header (RFC 8200 §4), into `ip.walk6`. Unlike walkIpv6ExtHeaders it reads
 * a chain (through `ip.scratch`, no allocation), knows AH and tolerates a truncated quote: it stops
 * early at a non-first fragment, at a header that runs past `avail`, or after 16 headers.
 */
export function walk6(ip: IpLayer, m: Mbuf, base: number, avail: number, stopAt = Infinity): Walk6 {
  const w = ip.walk6, sc = ip.scratch;
  // The callers have at least the fixed header at `base`; the copy starts at 0, so offsets are relative.
  mCopydata(m, base, IPV6_HEADER_LEN, sc, 0);
  const fixed = ip.v6.wrap(sc, 0, IPV6_HEADER_LEN);
  w.nxt = fixed.nextHeader;
  w.nxtOff = fixed.nextHeaderOffset;
  w.off = IPV6_HEADER_LEN;
  w.laterFrag = false;
  for (let i = 0; i < IPV6_MAX_EXT_HEADERS && w.off < stopAt; i++) {
    const nxt = w.nxt;
    if (nxt !== IPPROTO_HOPOPTS && nxt !== IPPROTO_ROUTING && nxt !== IPPROTO_DSTOPTS && nxt !== IPPROTO_FRAGMENT
      && nxt !== IPPROTO_AH) break;
    if (w.off + 4 > avail || !mCopydata(m, base + w.off, 4, sc, 0)) break;
    let len: number;
    if (nxt === IPPROTO_FRAGMENT) {
      if (ip.frag6.wrap(sc, 0, 4).fragOffset !== 0) { w.laterFrag = true; break; }
      len = IPV6_FRAG_HEADER_LEN;
    } else if (nxt === IPPROTO_AH) {
      len = (sc[1]! + 2) << 2; // RFC 4302 §2.2: AH length in 4-octet units, minus 2
    } else {
      len = ipv6ExtHeaderLen(sc, 0);
    }
    w.nxtOff = w.off;
    // Every extension header starts with its Next Header byte.
    w.nxt = sc[0]!;
    w.off += len;
  }
  return w;
}

/** Offset (from the packet start) of the next-header byte naming the header at `l4Off`: the parameter-problem pointer. */
export function nextHeaderFieldOffset(ip: IpLayer, m: Mbuf, l4Off: number): number {
  return walk6(ip, m, 0, l4Off, l4Off).nxtOff;
}

/** ICMPv6 input for a packet delivered by ip6-input.ts. Takes ownership. */
export function icmp6Input(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmp6stat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP6_HEADER_LEN) {
    st.icp6s_tooshort++;
    mFreem(m);
    return;
  }
  // RFC 4443 §2.3: the checksum covers the message and the RFC 8200 §8.1 pseudo-header.
  if (chainChecksum(ip.csum, m, hlen, icmplen, info.pseudoSum) !== 0) {
    st.icp6s_checksum++;
    mFreem(m);
    return;
  }
  // The header is contiguous (ip6-input.ts pulled it up); the view covers only it.
  const v = ip.icmp6.wrap(m.buf, m.data + hlen, ICMP6_HEADER_LEN);
  const type = v.type, code = v.code;
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
      const reply = takeEchoReply(m, info, v.ident, v.seq);
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
      if (isNdpType(type) || isMldType(type)) st.icp6s_nd_ignored++;
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
  const p = pullup(m, ICMP6_HEADER_LEN, true);
  if (p === null) {
    st.icp6s_odropped++;
    return;
  }
  const v = ip.icmp6.wrap(p.buf, p.data, ICMP6_HEADER_LEN);
  v.setType(ICMP6_ECHO_REPLY);
  v.setChecksum(0);
  v.setChecksum(chainChecksum(ip.csum, p, 0, icmplen, pseudoHeaderSum6(src.bytes, 0, dst.bytes, 0, IPPROTO_ICMPV6, icmplen)));
  st.icp6s_reflect++;
  const err = ip6Output(ip, p, params6(src, dst, tclass, dst.isLinkLocal ? info.ifindex : 0), now);
  if (err === 0) st.icp6s_outhist[ICMP6_ECHO_REPLY]!++;
  else st.icp6s_odropped++;
}

/** RFC 4443 §2.4(d): hand an error about one of our packets to the upper-layer protocol that sent it. */
function icmp6CtlInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, type: number, code: number, kind: CtlKind, now: Instant): void {
  const st = ip.icmp6stat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP6_HEADER_LEN + IPV6_HEADER_LEN) {
    st.icp6s_badlen++;
    mFreem(m);
    return;
  }
  const qOff = hlen + ICMP6_HEADER_LEN;
  const p = pullup(m, qOff + IPV6_HEADER_LEN);
  if (p === null) { ip.ip6stat.ip6s_nobufs++; return; }
  m = p;
  const q = ip.v6.wrap(m.buf, m.data + qOff, IPV6_HEADER_LEN);
  if (q.version !== 6) {
    st.icp6s_badlen++;
    mFreem(m);
    return;
  }
  const qsrc = IpAddr.fromBytes(m.buf, q.srcOffset, 16);
  const qdst = IpAddr.fromBytes(m.buf, q.dstOffset, 16);
  const reported = ip.icmp6.wrap(m.buf, m.data + hlen, ICMP6_HEADER_LEN).mtu;
  const qavail = icmplen - ICMP6_HEADER_LEN;
  const w = walk6(ip, m, qOff, qavail);
  const t = w.nxt === IPPROTO_ICMPV6 ? null : ip.protocol(w.nxt);
  let mtu = 0;
  if (kind === 'needfrag') {
    // RFC 8201 §4: "If a node receives a Packet Too Big message reporting a next-hop MTU that is
    // less than the IPv6 minimum link MTU, it must discard it."
    if (reported < IPV6_MIN_MTU) {
      st.icp6s_pmtuignored++;
      mFreem(m);
      return;
    }
    if (t !== null && t.validatesIcmpErrors === true) {
      // RFC 5927 §4.1 / RFC 8201 §5.2: the transport validates the quoted packet first and then
      // lowers the PMTU itself (IpOutput.updatePathMtu).
      mtu = reported;
    } else {
      updatePmtu6(ip, qsrc, qdst, reported, now);
      mtu = ip.pathMtu(qdst);
    }
  }
  const tlen = qavail - w.off;
  if (w.laterFrag || tlen < 8) {
    mFreem(m);
    if (w.laterFrag) st.icp6s_ctlnoproto++; else st.icp6s_badlen++;
    return;
  }
  const quoted = new Uint8Array(tlen);
  mCopydata(m, qOff + w.off, tlen, quoted, 0);
  mFreem(m);
  if (t === null) {
    st.icp6s_ctlnoproto++;
    return;
  }
  st.icp6s_ctlinput++;
  ctlNotify(t, 6, kind, type, code, mtu, qsrc, qdst, quoted, now);
}

/** RFC 8201 §4: lower the path MTU towards `dst` (never below 1280, never above the route MTU). */
function updatePmtu6(ip: IpLayer, src: IpAddr, dst: IpAddr, reported: number, now: Instant): void {
  if (lowerPathMtu(ip, src, dst, reported, now)) ip.icmp6stat.icp6s_pmtuchanged++;
  else ip.icmp6stat.icp6s_pmtuignored++;
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
  if (total < IPV6_HEADER_LEN) {
    st.icp6s_canterror++;
    mFreem(m);
    return;
  }
  const p = pullup(m, IPV6_HEADER_LEN);
  if (p === null) {
    st.icp6s_odropped++;
    return;
  }
  m = p;
  const w = walk6(ip, m, 0, total);
  // A non-first fragment has no upper-layer header to quote; RFC 8200 §4.5's parameter problems
  // about fragments are the exception (they point into the fragment itself).
  if (w.laterFrag && type !== ICMP6_PARAM_PROB) {
    st.icp6s_fragment++;
    mFreem(m);
    return;
  }
  if (w.nxt === IPPROTO_ICMPV6) {
    const sc = ip.scratch;
    if (w.off + 1 > total || !mCopydata(m, w.off, 1, sc, 0) || isIcmpv6Error(sc[0]!) || sc[0] === ND_REDIRECT) {
      st.icp6s_canterror++;
      mFreem(m);
      return;
    }
  }
  const b = m.buf;
  const v = ip.v6.wrap(b, m.data, IPV6_HEADER_LEN);
  const srcOff = v.srcOffset, dstOff = v.dstOffset;
  if ((b[dstOff] === 0xff || (m.flags & M_MCAST) !== 0)
    && !(type === ICMP6_PACKET_TOO_BIG || (type === ICMP6_PARAM_PROB && code === ICMP6_PARAMPROB_OPTION))) {
    st.icp6s_mcast++;
    mFreem(m);
    return;
  }
  let unspec = true;
  for (let i = 0; i < 16; i++) if (b[srcOff + i] !== 0) { unspec = false; break; }
  if (unspec || b[srcOff] === 0xff) {
    st.icp6s_badsrc++;
    mFreem(m);
    return;
  }
  if (!ip.icmpLimiter.take(now)) {
    st.icp6s_ratelimited++;
    mFreem(m);
    return;
  }
  const dst = IpAddr.fromBytes(b, srcOff, 16);
  const src = b[dstOff] !== 0xff && ip.isLocalBytes(6, b, dstOff)
    ? IpAddr.fromBytes(b, dstOff, 16) : ip.selectSource(dst, dst.isLinkLocal ? m.rcvif : 0);
  const scope = dst.isLinkLocal ? m.rcvif : 0;
  const quoteLen = Math.min(total, ICMP6_ERROR_MAX - IPV6_HEADER_LEN - ICMP6_HEADER_LEN);
  const n = src === null ? null : buildIcmpMessage(ip.pool, type, code, word, m, quoteLen, IPV6_HEADER_LEN + 16,
    pseudoHeaderSum6(src.bytes, 0, dst.bytes, 0, IPPROTO_ICMPV6, ICMP6_HEADER_LEN + quoteLen));
  mFreem(m);
  if (n === null) {
    st.icp6s_odropped++;
    return;
  }
  const err = ip6Output(ip, n, params6(src!, dst, 0, scope), now);
  if (err === 0) st.icp6s_outhist[type]!++;
  else st.icp6s_odropped++;
}

/** Sends an ICMPv6 echo request. Returns 0 or an errno. */
export function icmp6SendEcho(ip: IpLayer, dst: IpAddr, ident: number, seq: number, payload: Uint8Array, now: Instant): number {
  const len = ICMP6_HEADER_LEN + payload.length;
  if (len > IPV6_MAX_PAYLOAD_LEN) return EMSGSIZE;
  // The checksum covers the source address, so pick it now (RFC 6724 lite).
  const src = ip.selectSource(dst, 0);
  if (src === null) {
    ip.ip6stat.ip6s_nosource++;
    return EADDRNOTAVAIL;
  }
  const m = ip.pool.getPacket(len + IPV6_HEADER_LEN + 16);
  if (m === null) return ENOBUFS;
  m.data = m.start + IPV6_HEADER_LEN + 16;
  emitIcmpv6({ kind: 'echo-request', code: 0, ident: ident & 0xffff, seq: seq & 0xffff, data: payload }, m.buf, m.data,
    pseudoHeaderSum6(src.bytes, 0, dst.bytes, 0, IPPROTO_ICMPV6, len));
  m.len = len;
  m.pktLen = len;
  const err = ip6Output(ip, m, params6(src, dst, 0, 0), now);
  if (err === 0) ip.icmp6stat.icp6s_outhist[ICMP6_ECHO_REQUEST]!++;
  return err;
}

function params6(src: IpAddr, dst: IpAddr, tclass: number, ifscope: number): IpOutputParams {
  return { src, dst, protocol: IPPROTO_ICMPV6, ttl: 0, tos: tclass, dontFrag: false, allowBroadcast: false, ifscope };
}
