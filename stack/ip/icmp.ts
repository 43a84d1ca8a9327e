// ICMPv4 (RFC 792, RFC 1122 §3.2.2; BSD ip_icmp.c): input validation and counting, echo reply
// (icmp_reflect), the echo client, error generation with its suppression rules and rate limit
// (icmp_error), and error input decoded into IpCtlInfo for the transports (pr_ctlinput), with
// fragmentation-needed feeding the path MTU cache (RFC 1191).
// ingress: ip-input.ts → icmpInput → echo reply out | echo listener | IpProtocol.ctlinput
// egress:  ip-input.ts / ip-reass.ts / IpLayer.sendIcmpError → icmpError → ip-output.ts

import type { Mbuf } from '../mbuf/index.js';
import { M_BCAST, M_LOOP, M_MCAST, mAdj, mCopydata, mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { EMSGSIZE, ENOBUFS } from '../errno.js';
import { IpAddr } from '../wire/ip-addr.js';
import {
  emitIcmpv4, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HEADER_LEN, ICMP_PARAMPROB, ICMP_TIMXCEED, ICMP_UNREACH, isIcmpv4Info,
} from '../wire/icmpv4.js';
import { IPPROTO_ICMP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN, IPV4_MAX_PACKET_LEN } from '../wire/ipv4.js';
import type { IpLayer } from './ip-layer.js';
import type { IpInputInfo, IpOutputParams } from './protocol.js';
import { ipOutput } from './ip-output.js';
import { buildIcmpMessage, ctlNotify, lowerPathMtu, plateauBelow, takeEchoReply, unreachKind4 } from './icmp-common.js';
import type { CtlKind } from './icmp-common.js';
import { pullup } from './chain-pullup.js';
import { chainChecksum } from './mbuf-checksum.js';

/** RFC 1812 §4.3.2.3: an error message is at most 576 bytes, IP header included. */
export const ICMP_ERROR_MAX = 576;
/** RFC 1191 §3: nothing smaller crosses every IPv4 link. */
export const IP_MIN_MTU = 68;
/** Our floor for a path MTU guessed from an implausible report (RFC 791: every host takes 576). */
export const IP_GUESS_FLOOR = 576;
/**
 * The smallest reported next-hop MTU we take as is. RFC 1191 only forbids going below 68, but an
 * unauthenticated needfrag can be forged (RFC 5927 §7): 4.4BSD and XNU (tcp_handle_msgsize) never
 * learn an MTU below max(296, tcp_minmss + 40) and Linux none below min_pmtu (552). A smaller
 * one would leave every DF datagram towards dst undeliverable (TCP does not make segments that
 * small), so it counts as implausible like a report of 0.
 */
export const IP_PMTU_MIN = 296;
/** RFC 792: a quote holds the original IP header plus at least 64 bits of its data (BSD ICMP_ADVLENMIN). */
const QUOTE_MIN_DATA = 8;

/** ICMP input for a datagram delivered by ip-input.ts (IP header at m.data, `info` describing it). Takes ownership. */
export function icmpInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmpstat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP_HEADER_LEN) {
    st.icps_tooshort++;
    mFreem(m);
    return;
  }
  // RFC 792: the checksum covers the whole ICMP message, which may span mbufs.
  if (chainChecksum(ip.csum, m, hlen, icmplen) !== 0) {
    st.icps_checksum++;
    mFreem(m);
    return;
  }
  // The header is contiguous (ip-input.ts pulled it up); the view covers only it.
  const v = ip.icmp4.wrap(m.buf, m.data + hlen, ICMP_HEADER_LEN);
  const type = v.type, code = v.code;
  st.icps_inhist[type]!++;
  let kind: CtlKind | null;
  switch (type) {
    case ICMP_ECHO:
      // RFC 1122 §3.2.2.6: replies to broadcast/multicast echo MAY be silently discarded (BSD default).
      if (info.dstIsBroadcastOrMulticast) {
        st.icps_bmcastecho++;
        mFreem(m);
        return;
      }
      icmpReflect(ip, m, info, now);
      return;
    case ICMP_ECHOREPLY: {
      const l = ip.echo;
      if (l === null) {
        st.icps_ignored++;
        mFreem(m);
        return;
      }
      const reply = takeEchoReply(m, info, v.ident, v.seq);
      st.icps_echoreplies++;
      l.onEchoReply(reply, now);
      return;
    }
    case ICMP_UNREACH:
      kind = unreachKind4(code);
      break;
    case ICMP_TIMXCEED:
      kind = code <= 1 ? 'time-exceeded' : null;
      break;
    case ICMP_PARAMPROB:
      kind = code <= 2 ? 'param-problem' : null;
      break;
    default:
      // Source quench (RFC 6633: ignore), redirect (a host on a point-to-point link ignores it),
      // timestamp, information, router discovery, mask: counted in inhist, dropped.
      st.icps_ignored++;
      mFreem(m);
      return;
  }
  if (kind === null) {
    st.icps_badcode++;
    mFreem(m);
    return;
  }
  icmpCtlInput(ip, m, info, type, code, kind, now);
}

/** Echo reply from the address the request was sent to, with the same identifier, sequence and data. */
function icmpReflect(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmpstat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  const src = IpAddr.fromBytes(m.buf, info.dstOff, 4);
  const dst = IpAddr.fromBytes(m.buf, info.srcOff, 4);
  const tos = info.tos;
  mAdj(m, hlen);
  const p = pullup(m, ICMP_HEADER_LEN, true);
  if (p === null) {
    st.icps_odropped++;
    return;
  }
  const v = ip.icmp4.wrap(p.buf, p.data, ICMP_HEADER_LEN);
  v.setType(ICMP_ECHOREPLY);
  v.setChecksum(0);
  v.setChecksum(chainChecksum(ip.csum, p, 0, icmplen));
  st.icps_reflect++;
  const err = ipOutput(ip, p, params(src, dst, tos), now);
  if (err === 0) st.icps_outhist[ICMP_ECHOREPLY]!++;
  else st.icps_odropped++;
}

/** RFC 1122 §3.2.2: hand an ICMP error about one of our datagrams to its transport. */
function icmpCtlInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, type: number, code: number, kind: CtlKind, now: Instant): void {
  const st = ip.icmpstat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP_HEADER_LEN + IPV4_HEADER_LEN + QUOTE_MIN_DATA) {
    st.icps_badlen++;
    mFreem(m);
    return;
  }
  const qOff = hlen + ICMP_HEADER_LEN;
  let p = pullup(m, qOff + IPV4_HEADER_LEN);
  if (p === null) { ip.ipstat.ips_nobufs++; return; }
  m = p;
  let q = ip.v4.wrap(m.buf, m.data + qOff, IPV4_HEADER_LEN);
  const qhlen = q.headerLen;
  if (q.version !== 4 || qhlen < IPV4_HEADER_LEN || icmplen < ICMP_HEADER_LEN + qhlen + QUOTE_MIN_DATA) {
    st.icps_badlen++;
    mFreem(m);
    return;
  }
  p = pullup(m, qOff + qhlen + QUOTE_MIN_DATA);
  if (p === null) { ip.ipstat.ips_nobufs++; return; }
  m = p;
  q = ip.v4.wrap(m.buf, m.data + qOff, qhlen);
  const qproto = q.protocol;
  const qsrc = IpAddr.fromBytes(m.buf, q.srcOffset, 4);
  const qdst = IpAddr.fromBytes(m.buf, q.dstOffset, 4);
  const firstFrag = q.fragOffset === 0;
  const qLen = q.totalLen;
  const reported = ip.icmp4.wrap(m.buf, m.data + hlen, ICMP_HEADER_LEN).nextHopMtu;
  const tlen = icmplen - ICMP_HEADER_LEN - qhlen;
  const quoted = new Uint8Array(tlen);
  mCopydata(m, qOff + qhlen, tlen, quoted, 0);
  mFreem(m);
  const t = qproto === IPPROTO_ICMP ? null : ip.protocol(qproto);
  let mtu = 0;
  if (kind === 'needfrag') {
    if (t !== null && t.validatesIcmpErrors === true) {
      // RFC 5927 §4.1: the transport checks the error first and lowers the PMTU only if it is
      // genuine (IpOutput.updatePathMtu); a blind needfrag must not shrink the path MTU here.
      mtu = pmtuCandidate4(reported, qLen);
    } else {
      updatePmtu4(ip, qsrc, qdst, reported, qLen, now);
      mtu = ip.pathMtu(qdst);
    }
  }
  // Without the first 8 bytes of the transport header there are no ports to find a PCB by.
  if (!firstFrag || t === null) {
    st.icps_ctlnoproto++;
    return;
  }
  st.icps_ctlinput++;
  ctlNotify(t, 4, kind, type, code, mtu, qsrc, qdst, quoted, now);
}

/**
 * RFC 1191: lowers the path MTU towards `dst` from a fragmentation-needed message quoting a
 * datagram of `qLen` bytes we sent from `src`. A report of at least IP_PMTU_MIN (296) and below
 * qLen is taken as is. Anything else (0 from a pre-RFC 1191 router, below 296, or not below the
 * quoted length) is implausible: we guess the next plateau below qLen (RFC 1191 §5), but not below
 * 576. The result never exceeds the route MTU and only ever lowers the estimate.
 */
function updatePmtu4(ip: IpLayer, src: IpAddr, dst: IpAddr, reported: number, qLen: number, now: Instant): void {
  if (lowerPathMtu(ip, src, dst, pmtuCandidate4(reported, qLen), now)) ip.icmpstat.icps_pmtuchanged++;
  else ip.icmpstat.icps_pmtuignored++;
}

/** The MTU a fragmentation-needed message asks for (see updatePmtu4), before capping at the route MTU. */
function pmtuCandidate4(reported: number, qLen: number): number {
  return reported >= IP_PMTU_MIN && reported < qLen ? reported : Math.max(IP_GUESS_FLOOR, plateauBelow(qLen));
}

/**
 * icmp_error: answers `m` (an IPv4 packet, header at m.data) with an ICMP error of `type`/`code`;
 * `word` fills bytes 4..7 (pointer << 24 for parameter problem, next-hop MTU for needfrag).
 * Applies RFC 1122 §3.2.2's "never" rules and the rate limit; quotes as much of `m` as fits in
 * 576 bytes (RFC 1812 §4.3.2.3). Takes ownership.
 */
export function icmpError(ip: IpLayer, m: Mbuf, type: number, code: number, word: number, now: Instant): void {
  const st = ip.icmpstat;
  st.icps_error++;
  const total = mLength(m);
  if (total < IPV4_HEADER_LEN) {
    st.icps_oldshort++;
    mFreem(m);
    return;
  }
  const p = pullup(m, IPV4_HEADER_LEN);
  if (p === null) {
    st.icps_odropped++;
    return;
  }
  m = p;
  const b = m.buf;
  const v = ip.v4.wrap(b, m.data, m.len);
  const hlen = v.headerLen;
  if (total < hlen) {
    st.icps_oldshort++;
    mFreem(m);
    return;
  }
  if (v.fragOffset !== 0) {
    st.icps_fragment++;
    mFreem(m);
    return;
  }
  if (v.protocol === IPPROTO_ICMP) {
    // "An ICMP error message MUST NOT be sent as the result of receiving an ICMP error message."
    if (total < hlen + ICMP_HEADER_LEN) {
      st.icps_oldshort++;
      mFreem(m);
      return;
    }
    const t = ip.scratch;
    mCopydata(m, hlen, 1, t, 0);
    if (!isIcmpv4Info(t[0]!)) {
      st.icps_oldicmp++;
      mFreem(m);
      return;
    }
  }
  const srcOff = v.srcOffset, dstOff = v.dstOffset;
  // "... a datagram destined to an IP broadcast or IP multicast address".
  if ((m.flags & (M_BCAST | M_MCAST)) !== 0 || b[dstOff]! >= 224 || ip.isBroadcastBytes(b, dstOff)) {
    st.icps_bcast++;
    mFreem(m);
    return;
  }
  // "... a datagram whose source address does not define a single host".
  const srcAddr = v.srcV4;
  const s0 = srcAddr >>> 24;
  if (s0 >= 224 || srcAddr === 0 || (s0 === 127 && (m.flags & M_LOOP) === 0) || ip.isBroadcastBytes(b, srcOff)) {
    st.icps_badsrc++;
    mFreem(m);
    return;
  }
  if (!ip.icmpLimiter.take(now)) {
    st.icps_ratelimited++;
    mFreem(m);
    return;
  }
  const dst = IpAddr.fromBytes(b, srcOff, 4);
  const src = ip.isLocalBytes(4, b, dstOff) ? IpAddr.fromBytes(b, dstOff, 4) : ip.selectSource(dst, 0);
  const quoteLen = Math.min(total, ICMP_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
  const n = src === null ? null : buildIcmpMessage(ip.pool, type, code, word, m, quoteLen, IPV4_HEADER_LEN + 16, 0);
  mFreem(m);
  if (n === null) {
    st.icps_odropped++;
    return;
  }
  const err = ipOutput(ip, n, params(src!, dst, 0), now);
  if (err === 0) st.icps_outhist[type]!++;
  else st.icps_odropped++;
}

/** Sends an echo request (the ping client). Returns 0 or an errno. */
export function icmpSendEcho(ip: IpLayer, dst: IpAddr, ident: number, seq: number, payload: Uint8Array, now: Instant): number {
  const len = ICMP_HEADER_LEN + payload.length;
  if (len + IPV4_HEADER_LEN > IPV4_MAX_PACKET_LEN) return EMSGSIZE;
  const m = ip.pool.getPacket(len + IPV4_HEADER_LEN + 16);
  if (m === null) return ENOBUFS;
  m.data = m.start + IPV4_HEADER_LEN + 16;
  emitIcmpv4({ kind: 'echo-request', code: 0, ident: ident & 0xffff, seq: seq & 0xffff, data: payload }, m.buf, m.data);
  m.len = len;
  m.pktLen = len;
  const err = ipOutput(ip, m, params(IpAddr.ANY4, dst, 0), now);
  if (err === 0) ip.icmpstat.icps_outhist[ICMP_ECHO]!++;
  return err;
}

function params(src: IpAddr, dst: IpAddr, tos: number): IpOutputParams {
  return { src, dst, protocol: IPPROTO_ICMP, ttl: 0, tos, dontFrag: false, allowBroadcast: false, ifscope: 0 };
}
