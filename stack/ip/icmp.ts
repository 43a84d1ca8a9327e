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
import type { IpLayer } from './ip-layer.js';
import type { IpCtlInfo, IpInputInfo, IpOutputParams } from './protocol.js';
import { ipOutput } from './ip-output.js';
import { buildIcmpMessage, plateauBelow, unreachKind4 } from './icmp-errors.js';
import type { CtlKind } from './icmp-errors.js';
import {
  cksum, fold, get16, ICMP, ICMP_HLEN, IP4, IP4_HLEN, IP_MAXPACKET, IP_OFFMASK, PROTO_ICMP, pullup, set16, sumBytes, sumChain,
} from './hdr.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIMXCEED = 11;
export const ICMP_PARAMPROB = 12;
/** RFC 1812 §4.3.2.3: an error message is at most 576 bytes, IP header included. */
export const ICMP_ERROR_MAX = 576;
/** RFC 1191 §3: nothing smaller crosses every IPv4 link. */
export const IP_MIN_MTU = 68;
/** Our floor for a path MTU guessed from an implausible report (RFC 791: every host takes 576). */
export const IP_GUESS_FLOOR = 576;

/** BSD ICMP_INFOTYPE: query/informational types, about which an error may be sent. */
function isInfoType(t: number): boolean {
  return t === 0 || t === 8 || t === 9 || t === 10 || (t >= 13 && t <= 18);
}

/** ICMP input for a datagram delivered by ip-input.ts (IP header at m.data, `info` describing it). Takes ownership. */
export function icmpInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = ip.icmpstat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  if (icmplen < ICMP_HLEN) {
    st.icps_tooshort++;
    mFreem(m);
    return;
  }
  // RFC 792: the checksum covers the whole ICMP message.
  if (fold(sumChain(m, hlen, icmplen)) !== 0xffff) {
    st.icps_checksum++;
    mFreem(m);
    return;
  }
  const b = m.buf, o = m.data + hlen;
  const type = b[o]!, code = b[o + 1]!;
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
      const payload = new Uint8Array(icmplen - ICMP_HLEN);
      mCopydata(m, hlen + ICMP_HLEN, payload.length, payload, 0);
      const reply = {
        family: 4 as const, src: IpAddr.fromBytes(b, info.srcOff, 4), ident: get16(b, o + ICMP.id),
        seq: get16(b, o + ICMP.seq), payload, hopLimit: info.ttlOrHopLimit,
      };
      mFreem(m);
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
  const p = pullup(m, ICMP_HLEN, true);
  if (p === null) {
    st.icps_odropped++;
    return;
  }
  const b = p.buf, o = p.data;
  b[o] = ICMP_ECHOREPLY;
  set16(b, o + ICMP.sum, 0);
  set16(b, o + ICMP.sum, cksum(sumChain(p, 0, icmplen)));
  st.icps_reflect++;
  const err = ipOutput(ip, p, params(src, dst, tos), now);
  if (err === 0) st.icps_outhist[ICMP_ECHOREPLY]!++;
  else st.icps_odropped++;
}

/** RFC 1122 §3.2.2: hand an ICMP error about one of our datagrams to its transport. */
function icmpCtlInput(ip: IpLayer, m: Mbuf, info: IpInputInfo, type: number, code: number, kind: CtlKind, now: Instant): void {
  const st = ip.icmpstat;
  const hlen = info.l4Off, icmplen = info.l4Len;
  // RFC 792: the quote is the original IP header plus at least 64 bits of its data (BSD ICMP_ADVLENMIN).
  if (icmplen < ICMP_HLEN + IP4_HLEN + 8) {
    st.icps_badlen++;
    mFreem(m);
    return;
  }
  let p = pullup(m, hlen + ICMP_HLEN + IP4_HLEN);
  if (p === null) { ip.ipstat.ips_nobufs++; return; }
  m = p;
  let q = m.data + hlen + ICMP_HLEN;
  const qhlen = (m.buf[q]! & 0x0f) << 2;
  if (m.buf[q]! >>> 4 !== 4 || qhlen < IP4_HLEN || icmplen < ICMP_HLEN + qhlen + 8) {
    st.icps_badlen++;
    mFreem(m);
    return;
  }
  p = pullup(m, hlen + ICMP_HLEN + qhlen + 8);
  if (p === null) { ip.ipstat.ips_nobufs++; return; }
  m = p;
  const b = m.buf;
  q = m.data + hlen + ICMP_HLEN;
  const qproto = b[q + IP4.proto]!;
  const qsrc = IpAddr.fromBytes(b, q + IP4.src, 4);
  const qdst = IpAddr.fromBytes(b, q + IP4.dst, 4);
  const firstFrag = (get16(b, q + IP4.off) & IP_OFFMASK) === 0;
  const qLen = get16(b, q + IP4.len);
  const reported = get16(b, m.data + hlen + ICMP.mtu);
  const tlen = icmplen - ICMP_HLEN - qhlen;
  const quoted = new Uint8Array(tlen);
  mCopydata(m, hlen + ICMP_HLEN + qhlen, tlen, quoted, 0);
  mFreem(m);
  let mtu = 0;
  if (kind === 'needfrag') {
    updatePmtu4(ip, qsrc, qdst, reported, qLen, now);
    mtu = ip.pathMtu(qdst);
  }
  // Without the first 8 bytes of the transport header there are no ports to find a PCB by.
  if (!firstFrag || qproto === PROTO_ICMP) {
    st.icps_ctlnoproto++;
    return;
  }
  const t = ip.protocol(qproto);
  if (t === null) {
    st.icps_ctlnoproto++;
    return;
  }
  const ctl: IpCtlInfo = {
    family: 4, kind, icmpType: type, icmpCode: code, mtu, src: qsrc, dst: qdst,
    srcPort: get16(quoted, 0), dstPort: get16(quoted, 2), quoted,
  };
  st.icps_ctlinput++;
  t.ctlinput(ctl, now);
}

/**
 * RFC 1191: lowers the path MTU towards `dst` from a fragmentation-needed message quoting a
 * datagram of `qLen` bytes we sent from `src`. A report of at least 68 and below qLen is taken
 * as is. Anything else (0 from a pre-RFC 1191 router, < 68, or not below the quoted length) is
 * implausible: we guess the next plateau below qLen (RFC 1191 §5), but not below 576. The result
 * never exceeds the route MTU and only ever lowers the estimate.
 */
function updatePmtu4(ip: IpLayer, src: IpAddr, dst: IpAddr, reported: number, qLen: number, now: Instant): void {
  const st = ip.icmpstat;
  const r = ip.isLocalAddress(src) ? ip.routes.lookupAddr(dst) : null;
  if (r === null) {
    st.icps_pmtuignored++;
    return;
  }
  const ifp = ip.ifnets[r.ifindex - 1]!;
  const routeMtu = r.mtu !== 0 && r.mtu < ifp.mtu ? r.mtu : ifp.mtu;
  const cur = ip.mtuFor(r, ifp, 4, dst.bytes, 0);
  let mtu = reported >= IP_MIN_MTU && reported < qLen ? reported : Math.max(IP_GUESS_FLOOR, plateauBelow(qLen));
  if (mtu > routeMtu) mtu = routeMtu;
  if (mtu >= cur) {
    st.icps_pmtuignored++;
    return;
  }
  ip.pmtu.set(dst, mtu, now);
  st.icps_pmtuchanged++;
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
  if (total < IP4_HLEN) {
    st.icps_oldshort++;
    mFreem(m);
    return;
  }
  const p = pullup(m, IP4_HLEN);
  if (p === null) {
    st.icps_odropped++;
    return;
  }
  m = p;
  const b = m.buf, o = m.data;
  const hlen = (b[o]! & 0x0f) << 2;
  if (total < hlen) {
    st.icps_oldshort++;
    mFreem(m);
    return;
  }
  if ((get16(b, o + IP4.off) & IP_OFFMASK) !== 0) {
    st.icps_fragment++;
    mFreem(m);
    return;
  }
  if (b[o + IP4.proto] === PROTO_ICMP) {
    // "An ICMP error message MUST NOT be sent as the result of receiving an ICMP error message."
    if (total < hlen + ICMP_HLEN) {
      st.icps_oldshort++;
      mFreem(m);
      return;
    }
    const t = ip.scratch;
    mCopydata(m, hlen, 1, t, 0);
    if (!isInfoType(t[0]!)) {
      st.icps_oldicmp++;
      mFreem(m);
      return;
    }
  }
  // "... a datagram destined to an IP broadcast or IP multicast address".
  if ((m.flags & (M_BCAST | M_MCAST)) !== 0 || b[o + IP4.dst]! >= 224 || ip.isBroadcastBytes(b, o + IP4.dst)) {
    st.icps_bcast++;
    mFreem(m);
    return;
  }
  // "... a datagram whose source address does not define a single host".
  const s0 = b[o + IP4.src]!;
  if (s0 >= 224 || (s0 === 0 && b[o + 13] === 0 && b[o + 14] === 0 && b[o + 15] === 0)
    || (s0 === 127 && (m.flags & M_LOOP) === 0) || ip.isBroadcastBytes(b, o + IP4.src)) {
    st.icps_badsrc++;
    mFreem(m);
    return;
  }
  if (!ip.icmpLimiter.take(now)) {
    st.icps_ratelimited++;
    mFreem(m);
    return;
  }
  const dst = IpAddr.fromBytes(b, o + IP4.src, 4);
  const src = ip.isLocalBytes(4, b, o + IP4.dst) ? IpAddr.fromBytes(b, o + IP4.dst, 4) : ip.selectSource(dst, 0);
  const quoteLen = Math.min(total, ICMP_ERROR_MAX - IP4_HLEN - ICMP_HLEN);
  const n = src === null ? null : buildIcmpMessage(ip.pool, type, code, word, m, quoteLen, IP4_HLEN + 16);
  mFreem(m);
  if (n === null) {
    st.icps_odropped++;
    return;
  }
  set16(n.buf, n.data + ICMP.sum, cksum(sumBytes(n.buf, n.data, n.len)));
  const err = ipOutput(ip, n, params(src!, dst, 0), now);
  if (err === 0) st.icps_outhist[type]!++;
  else st.icps_odropped++;
}

/** Sends an echo request (the ping client). Returns 0 or an errno. */
export function icmpSendEcho(ip: IpLayer, dst: IpAddr, ident: number, seq: number, payload: Uint8Array, now: Instant): number {
  const len = ICMP_HLEN + payload.length;
  if (len + IP4_HLEN > IP_MAXPACKET) return EMSGSIZE;
  const m = ip.pool.getPacket(len + IP4_HLEN + 16);
  if (m === null) return ENOBUFS;
  m.data = m.start + IP4_HLEN + 16;
  const b = m.buf, o = m.data;
  b[o] = ICMP_ECHO;
  b[o + 1] = 0;
  set16(b, o + ICMP.sum, 0);
  set16(b, o + ICMP.id, ident & 0xffff);
  set16(b, o + ICMP.seq, seq & 0xffff);
  b.set(payload, o + ICMP_HLEN);
  set16(b, o + ICMP.sum, cksum(sumBytes(b, o, len)));
  m.len = len;
  m.pktLen = len;
  const err = ipOutput(ip, m, params(IpAddr.ANY4, dst, 0), now);
  if (err === 0) ip.icmpstat.icps_outhist[ICMP_ECHO]!++;
  return err;
}

function params(src: IpAddr, dst: IpAddr, tos: number): IpOutputParams {
  return { src, dst, protocol: PROTO_ICMP, ttl: 0, tos, dontFrag: false, allowBroadcast: false, ifscope: 0 };
}
