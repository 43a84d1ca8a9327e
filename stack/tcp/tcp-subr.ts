// TCP subroutines (bsd/netinet/tcp_subr.c): creating and freeing tcpcbs (tcp_newtcpcb,
// tcp_close), dropping connections with an error (tcp_drop), TIME_WAIT entry, MSS computation
// (tcp_mss, tcp_mssopt), segments sent without a queue (tcp_respond: RST, challenge ACK, keepalive
// probe), the per-connection challenge-ACK limiter (RFC 5961 §7), and ICMP errors (tcp_ctlinput,
// RFC 5927, RFC 1191/8201).

import type { Instant } from '../time/instant.js';
import type { IpCtlInfo } from '../ip/protocol.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';
import { get32, set16, set32 } from '../wire/bytes.js';
import { pseudoHeaderSum4, pseudoHeaderSum6 } from '../wire/checksum.js';
import { seqGe, seqLt } from '../wire/seq.js';
import { TCP_HEADER_LEN, TH_ACK, TH_RST } from '../wire/tcp.js';
import { MT_DATA } from '../mbuf/constants.js';
import { INP_TIMEWAIT } from '../inpcb/in-pcb.js';
import type { InPcb } from '../inpcb/in-pcb.js';
import { pcbOutputTos, pcbOutputTtl } from '../inpcb/ip-ctloutput.js';
import type { Socket } from '../socket/socket.js';
import { sofree, soisdisconnected } from '../socket/socket.js';
import { SS_NOFDREF } from '../socket/constants.js';
import { ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENOPROTOOPT, ETIMEDOUT } from '../socket/errno.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_SYN_SENT, TCPS_TIME_WAIT, haveRcvdSyn,
} from './tcp-fsm.js';
import {
  TF_CLOSED, TF_PMTUD, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP, TT_2MSL, TT_NTIMERS, Tcpcb,
  TCP_MAXWIN, TCP_MAX_WINSHIFT, intotcpcb,
} from './tcp-var.js';
import { ccByName } from './tcp-cc-registry.js';
import { RttEstimator } from './tcp-rtt.js';
import { tcpCancelTimers, tcpSetTimer } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpTfoClose } from './tcp-fastopen.js';
import { tcpEcnCloseStats } from './tcp-ecn.js';

/** Bytes of IP header TCP assumes for MSS computation (no options). */
export const ipHdrLen = (family: IpFamily): number => (family === 4 ? 20 : 40);
/** TCPOLEN_TSTAMP_APPA: NOP, NOP, timestamps. */
export const TCPOLEN_TSTAMP_APPA = 12;

/** tcp_newtcpcb: a fresh tcpcb for `pcb` (and its socket), options requested per the profile. */
export function tcpNewTcpcb(tcp: Tcp, pcb: InPcb, so: Socket | null): Tcpcb {
  const p = tcp.profile;
  const tp = new Tcpcb(
    tcp, pcb, so, ccByName(p.congestionControl), new RttEstimator(p), p.reassMaxBytes, p.reassMaxSegments,
    pcb.family === 4 ? p.mssDefault : p.v6MssDefault,
  );
  if (p.rfc1323) tp.t_flags |= TF_REQ_SCALE | TF_REQ_TSTMP;
  if (p.sack) tp.t_flags |= TF_REQ_SACK;
  // XNU tcp_rtlookup (from tcp_mssopt / tcp_mss): path MTU discovery is on while
  // net.inet.tcp.path_mtu_discovery is 1 and the route's MTU is not locked (routes never are here).
  tp.t_flags |= TF_PMTUD;
  tp.t_rxtcur = p.rtoInitialMs * 1000;
  // XNU tcp_newtcpcb: t_persist_timeout = tcp_max_persist_timeout.
  tp.t_persist_timeout = p.maxPersistTimeoutMs;
  pcb.ppcb = tp;
  return tp;
}

/** The TSval to send now: the ms clock plus the connection's random offset (RFC 7323 §5.4). */
export const tcpTsval = (tp: Tcpcb, now: Instant): number => (Math.floor(now / 1000) + tp.ts_offset) >>> 0;

/** tcp_mssopt: the MSS we announce: the path MTU towards the peer minus IP and TCP headers. */
export function tcpMssopt(tcp: Tcp, pcb: InPcb): number {
  const mtu = tcp.ip.pathMtu(pcb.faddr);
  const def = pcb.family === 4 ? tcp.profile.mssDefault : tcp.profile.v6MssDefault;
  if (mtu === 0) return def;
  const mss = mtu - ipHdrLen(pcb.family) - TCP_HEADER_LEN;
  return mss > 0 && mss <= 65535 ? mss : def;
}

/**
 * tcp_mss: sets t_maxopd/t_maxseg from the peer's MSS option `offer` (0 = absent: the default
 * 512 / 1024), clamped to at least minMss and at most our own MSS and any TCP_MAXSEG; timestamps
 * take 12 bytes of every segment (t_maxseg excludes them).
 */
export function tcpMss(tcp: Tcp, tp: Tcpcb, offer: number): void {
  const p = tcp.profile;
  const pcb = tp.t_inpcb;
  const ours = tcpMssopt(tcp, pcb);
  tp.t_ourmss = ours;
  if (offer === 0) offer = pcb.family === 4 ? p.mssDefault : p.v6MssDefault;
  else if (offer < p.minMss) offer = p.minMss;
  tp.t_peermss = offer;
  tcpMssUpdate(tcp, tp);
}

/** The t_maxopd the peer's MSS, our path MSS and TCP_MAXSEG allow together (at least 64). */
export function tcpMssMaxopd(tcp: Tcp, tp: Tcpcb): number {
  let mss = tp.t_peermss > 0 ? tp.t_peermss : (tp.t_inpcb.family === 4 ? tcp.profile.mssDefault : tcp.profile.v6MssDefault);
  if (tp.t_ourmss > 0 && tp.t_ourmss < mss) mss = tp.t_ourmss;
  if (tp.t_usermss > 0 && tp.t_usermss < mss) mss = tp.t_usermss;
  return mss < 64 ? 64 : mss;
}

/** Recomputes t_maxopd/t_maxseg from the peer's MSS, our path MSS and TCP_MAXSEG. */
export function tcpMssUpdate(tcp: Tcp, tp: Tcpcb): void {
  let mss = tcpMssMaxopd(tcp, tp);
  tp.t_maxopd = mss;
  if ((tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) mss -= TCPOLEN_TSTAMP_APPA;
  tp.t_maxseg = mss;
}

/** The window-scale shift we offer: the smallest that lets TCP_MAXWIN cover the largest receive buffer. */
export function tcpRequestScale(tcp: Tcp, so: Socket): number {
  let max = so.so_rcv.sb_hiwat;
  if (tcp.profile.autoSize && tcp.profile.autoRecvBufMax > max) max = tcp.profile.autoRecvBufMax;
  let s = 0;
  while (s < TCP_MAX_WINSHIFT && (TCP_MAXWIN << s) < max) s++;
  return s;
}

/**
 * tcp_drop: aborts the connection with `errno` posted on the socket. A synchronized connection
 * is told with a RST. ETIMEDOUT is replaced by a recorded soft error (ICMP unreachable...).
 */
export function tcpDrop(tcp: Tcp, tp: Tcpcb, errno: number, now: Instant): void {
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  const st = tcp.stats;
  if (haveRcvdSyn(tp.t_state)) {
    tp.t_state = TCPS_CLOSED;
    tcpRespondTp(tcp, tp, tp.snd_max, tp.rcv_nxt, TH_RST | TH_ACK, now);
    st.tcps_drops++;
  } else {
    st.tcps_conndrops++;
  }
  if (errno === ETIMEDOUT && tp.t_softerror !== 0) errno = tp.t_softerror;
  const so = tp.so;
  if (so !== null && errno !== 0) so.so_error = errno;
  tcpClose(tcp, tp);
}

/**
 * tcp_close: frees the connection: timers, reassembly queue, SACK state, the PCB (which leaves
 * the table) and, once the socket has no descriptor, the socket itself. The socket is marked
 * disconnected (both upcalls fire).
 */
export function tcpClose(tcp: Tcp, tp: Tcpcb): void {
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  tcpEcnCloseStats(tcp, tp);
  tp.t_flags |= TF_CLOSED;
  tp.t_state = TCPS_CLOSED;
  tcpCancelTimers(tcp, tp);
  tcpTfoClose(tcp, tp);
  if (tp.reass !== null) tp.reass.flush();
  tp.reass = null;
  tp.sackRcv = null;
  tp.scoreboard = null;
  tp.t_sndptr = null;
  const pcb = tp.t_inpcb;
  pcb.ppcb = null;
  tcp.pcbs.detach(pcb);
  tcp.stats.tcps_closed++;
  const so = tp.so;
  tp.so = null;
  if (so !== null) {
    so.so_pcb = null;
    soisdisconnected(so);
    sofree(so);
  }
}

/**
 * TIME_WAIT entry (tcp_twstart in spirit): 2*MSL timer, every other timer off, the PCB flagged
 * INP_TIMEWAIT. A socket that was already closed is released now; the tcpcb stays to answer
 * retransmitted FINs (RFC 9293 §3.10.7.4) and to guard the 4-tuple.
 */
export function tcpTimeWait(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  // TCP_NOTIMEWAIT (XNU TF_NOTIMEWAIT, tcp_input: TF_CLOSING instead of add_to_time_wait): the
  // connection closes at once; callers have already sent the last ACK.
  if (tp.t_notimewait) {
    tcpClose(tcp, tp);
    return;
  }
  tp.t_state = TCPS_TIME_WAIT;
  tcpCancelTimers(tcp, tp);
  tcpSetTimer(tcp, tp, TT_2MSL, now + 2 * tcp.profile.mslMs * 1000);
  tp.t_inpcb.flags |= INP_TIMEWAIT;
  if (tp.reass !== null) tp.reass.flush();
  tp.reass = null;
  tp.scoreboard = null;
  const so = tp.so;
  if (so !== null) {
    soisdisconnected(so);
    if ((so.so_state & SS_NOFDREF) !== 0) tcpDetachSocket(tp);
  }
}

/** Separates a closed socket from a tcpcb that lives on (TIME_WAIT, or finishing its close). */
export function tcpDetachSocket(tp: Tcpcb): void {
  const so = tp.so;
  if (so === null) return;
  tp.so = null;
  tp.t_inpcb.owner = null;
  so.so_pcb = null;
  sofree(so);
}

/**
 * RFC 5961 §7 ACK throttling for one connection: may an ACK answering an unacceptable segment (a
 * challenge ACK, or an ACK for an ACK outside [SND.UNA - MAX.SND.WND, SND.MAX]) go now? Without it
 * two ends that disagree on the sequence space ACK each other's ACKs forever. Counts
 * tcps_challengeacks or tcps_challengeack_limited.
 */
export function tcpChallengeAckAllowed(tcp: Tcp, tp: Tcpcb, now: Instant): boolean {
  const p = tcp.profile;
  const st = tcp.stats;
  const limit = p.challengeAckLimit;
  const winMs = p.challengeAckWindowMs;
  let ok: boolean;
  if (p.challengeAckPolicy === 'xnu') {
    // XNU tcp_is_ack_ratelimited, in tcp_now ms ticks: the first ACK once a window has run out
    // opens the next one and always goes; then up to the limit.
    const last = tp.t_challengeack_last;
    if (last < 0 || Math.floor(now / 1000) - Math.floor(last / 1000) >= winMs) {
      tp.t_challengeack_last = now;
      tp.t_challengeack_count = 0;
      ok = true;
    } else {
      ok = tp.t_challengeack_count < limit;
    }
    if (ok) tp.t_challengeack_count++;
  } else if (winMs <= 0 || limit <= 0) {
    // FreeBSD tcp_send_challenge_ack: "ACK war protection is disabled".
    ok = true;
  } else {
    // FreeBSD: a new epoch starts with the first ACK after the previous one ended.
    const last = tp.t_challengeack_last;
    if (last < 0 || last + winMs * 1000 < now) {
      tp.t_challengeack_last = now;
      tp.t_challengeack_count = 0;
    }
    ok = tp.t_challengeack_count < limit;
    if (ok) tp.t_challengeack_count++;
  }
  if (ok) st.tcps_challengeacks++;
  else st.tcps_challengeack_limited++;
  return ok;
}

/** Sends a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> when the connection's limit allows. */
export function tcpChallengeAck(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  if (tcpChallengeAckAllowed(tcp, tp, now)) tcpRespondTp(tcp, tp, tp.snd_nxt, tp.rcv_nxt, TH_ACK, now);
}

/**
 * tcp_respond for a connection: a header-only segment (ACK, RST|ACK, keepalive probe) with the
 * connection's addresses, window and timestamps, outside the normal output path.
 */
export function tcpRespondTp(tcp: Tcp, tp: Tcpcb, seq: number, ack: number, flags: number, now: Instant): void {
  const pcb = tp.t_inpcb;
  let win = 0;
  const so = tp.so;
  if ((flags & TH_RST) === 0 && so !== null) {
    win = so.so_rcv.sbspace() >>> tp.rcv_scale;
    if (win > TCP_MAXWIN) win = TCP_MAXWIN;
  }
  const ts = (flags & TH_RST) === 0 && (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP);
  tcpRespond(tcp, pcb.family, pcb.laddr, pcb.faddr, pcb.lport, pcb.fport, seq, ack, flags, win,
    ts ? tcpTsval(tp, now) : -1, tp.ts_recent, pcbOutputTtl(pcb), pcbOutputTos(pcb), pcb.ifscope, now);
  if ((flags & TH_RST) === 0) tp.last_ack_sent = ack;
}

/**
 * tcp_respond: sends one header-only segment from (laddr, lport) to (faddr, fport). `tsval` < 0
 * sends no timestamp option. Counted as sndtotal plus sndrst / sndacks / sndctrl.
 */
export function tcpRespond(
  tcp: Tcp, family: IpFamily, laddr: IpAddr, faddr: IpAddr, lport: number, fport: number,
  seq: number, ack: number, flags: number, win: number, tsval: number, tsecr: number,
  ttl: number, tos: number, ifscope: number, now: Instant,
): void {
  const st = tcp.stats;
  const m = tcp.ctx.pool.getHdr(MT_DATA);
  if (m === null) {
    st.tcps_nombuf++;
    return;
  }
  const optlen = tsval >= 0 ? 12 : 0;
  const hlen = TCP_HEADER_LEN + optlen;
  m.data = m.end - hlen;
  m.len = hlen;
  m.pktLen = hlen;
  const b = m.buf;
  const o = m.data;
  set16(b, o, lport);
  set16(b, o + 2, fport);
  set32(b, o + 4, seq);
  set32(b, o + 8, (flags & TH_ACK) !== 0 ? ack : 0);
  b[o + 12] = (hlen >>> 2) << 4;
  b[o + 13] = flags;
  set16(b, o + 14, win);
  set16(b, o + 16, 0);
  set16(b, o + 18, 0);
  if (optlen > 0) {
    b[o + 20] = 1; b[o + 21] = 1; b[o + 22] = 8; b[o + 23] = 10;
    set32(b, o + 24, tsval);
    set32(b, o + 28, tsecr);
  }
  const ps = family === 4
    ? pseudoHeaderSum4(laddr.bytes, 0, faddr.bytes, 0, 6, hlen)
    : pseudoHeaderSum6(laddr.bytes, 0, faddr.bytes, 0, 6, hlen);
  set16(b, o + 16, tcp.acc.reset(ps).add(b, o, hlen).finish());
  const p = tcp.oparams;
  p.src = laddr;
  p.dst = faddr;
  p.ttl = ttl;
  p.tos = tos;
  p.ifscope = ifscope;
  // Shared with tcp_output, which may have cleared it for a black-holed connection.
  p.dontFrag = true;
  st.tcps_sndtotal++;
  if ((flags & TH_RST) !== 0) st.tcps_sndrst++;
  else if ((flags & ~TH_ACK) === 0) st.tcps_sndacks++;
  else st.tcps_sndctrl++;
  if (tcp.ip.output(m, p, now) !== 0) st.tcps_output_errors++;
}

/** Maps a normalized ICMP error to the errno tcp_notify records (inetctlerrmap). */
function ctlErrno(kind: IpCtlInfo['kind']): number {
  switch (kind) {
    case 'unreach-port':
    case 'unreach-proto':
    case 'unreach-admin':
      return ECONNREFUSED;
    case 'unreach-host':
    case 'source-route-failed':
    case 'time-exceeded':
      return EHOSTUNREACH;
    case 'unreach-net':
      return ENETUNREACH;
    case 'param-problem':
      return ENOPROTOOPT;
    default:
      return 0;
  }
}

/**
 * tcp_ctlinput (RFC 5927): an ICMP error quoting a segment we sent. Ignored unless a connection
 * has exactly that 4-tuple and the quoted sequence number is in [snd_una, snd_max) (RFC 5927
 * §4.1: blind-attack protection). needfrag / packet-too-big lowers t_maxseg and retransmits
 * (RFC 1191 §6.3, RFC 8201 §5). Hard errors (port, protocol, administratively prohibited) abort a
 * connection in SYN_SENT when profile.icmpMayRst; everything else is a soft error, reported only
 * if the connection later times out (or, before ESTABLISHED, once several SYNs went unanswered).
 */
export function tcpCtlinput(tcp: Tcp, ctl: IpCtlInfo, now: Instant): void {
  const st = tcp.stats;
  if (ctl.src.family !== ctl.dst.family || ctl.quoted.length < 8) {
    st.tcps_icmp_ignored++;
    return;
  }
  const pcb = tcp.pcbs.lookup(ctl.dst, ctl.dstPort, ctl.src, ctl.srcPort, false, 0);
  const tp = intotcpcb(pcb);
  if (pcb === null || tp === null || (tp.t_flags & TF_CLOSED) !== 0 || tp.t_state === TCPS_TIME_WAIT) {
    st.tcps_icmp_ignored++;
    return;
  }
  const seq = get32(ctl.quoted, 4);
  if (seqLt(seq, tp.snd_una) || seqGe(seq, tp.snd_max)) {
    st.tcps_icmp_ignored++;
    return;
  }
  st.tcps_icmp_notified++;
  if (ctl.kind === 'needfrag') {
    // XNU tcp_ctlinput: only once the quoted sequence number is in [snd_una, snd_max) does
    // tcp_handle_msgsize put the MTU into the route (FreeBSD: tcp_hc_updatemtu), then tcp_mtudisc.
    // IP left its PMTU cache alone for us (validatesIcmpErrors): ctl.mtu is still a request.
    const mtu = tcp.ip.updatePathMtu !== undefined ? tcp.ip.updatePathMtu(ctl.dst, ctl.mtu, now) : ctl.mtu;
    tcpMtudisc(tcp, tp, mtu, now);
    return;
  }
  const errno = ctlErrno(ctl.kind);
  if (errno === 0) return;
  const hard = ctl.kind === 'unreach-port' || ctl.kind === 'unreach-proto' || ctl.kind === 'unreach-admin';
  if (hard && tp.t_state === TCPS_SYN_SENT && tcp.profile.icmpMayRst) {
    tcpDrop(tcp, tp, errno, now);
    return;
  }
  // tcp_notify: an established connection ignores host/net unreachables (routing may recover).
  if (tp.t_state === TCPS_ESTABLISHED && (errno === EHOSTUNREACH || errno === ENETUNREACH)) return;
  if (tp.t_state < TCPS_ESTABLISHED && tp.t_rxtshift > 3 && tp.t_softerror !== 0) {
    tcpDrop(tcp, tp, errno, now);
    return;
  }
  tp.t_softerror = errno;
}

/**
 * tcp_mtudisc: the path MTU fell to `mtu` (0: unknown, guess from the segment size). t_maxseg is
 * lowered to fit, never below 64 bytes of payload, and everything unacknowledged is resent.
 */
export function tcpMtudisc(tcp: Tcp, tp: Tcpcb, mtu: number, now: Instant): void {
  const pcb = tp.t_inpcb;
  // XNU tcp_mtudisc starts with tcp_rtlookup, which turns TF_PMTUD (DF) back on even when the MSS
  // then stays as it is; TF_BLACKHOLE and the saved MSS are left alone.
  tp.t_flags |= TF_PMTUD;
  const hdr = ipHdrLen(pcb.family) + TCP_HEADER_LEN;
  let mss = mtu > 0 ? mtu - hdr : tp.t_maxopd - 64;
  if (mss < tcp.profile.minMss - hdr + TCP_HEADER_LEN) mss = Math.max(64, tcp.profile.minMss - hdr + TCP_HEADER_LEN);
  if (mss >= tp.t_maxopd) return;
  if (mtu > 0) pcb.pmtu = mtu;
  tp.t_ourmss = mss;
  tcpMssUpdate(tcp, tp);
  if (tp.snd_cwnd > tp.t_maxseg * 10 && tp.snd_cwnd > tp.snd_ssthresh) tp.snd_cwnd = tp.snd_ssthresh;
  tcp.stats.tcps_mturesent++;
  // RFC 1191 §6.3: retransmit what is outstanding at the new size (not a congestion signal).
  tp.snd_nxt = tp.snd_una;
  tp.t_rtttime = -1;
  tcpOutput(tcp, tp, now);
}

/** Whether `t` is an armed timer index (bounds helper for tests). */
export const isTimerIndex = (t: number): boolean => t >= 0 && t < TT_NTIMERS;

/**
 * The IpAddr for `len` bytes at `off` of `b`: a recently used equal address when there is one
 * (IpAddr is immutable: connections to or from the same address share the object), else a copy,
 * remembered in place of the oldest.
 */
export function tcpInternAddrBytes(tcp: Tcp, b: Uint8Array, off: number, family: IpFamily): IpAddr {
  const len = family === 4 ? 4 : 16;
  const cache = tcp.addrCache;
  for (let i = 0; i < cache.length; i++) {
    const a = cache[i]!;
    if (a !== null && a.family === family && bytesEqualAt(a.bytes, b, off, len)) return a;
  }
  const a = IpAddr.fromBytes(b, off, len);
  tcpRememberAddr(tcp, a);
  return a;
}

/** As tcpInternAddrBytes for an address object: a recently used equal one, else `addr` itself (remembered). */
export function tcpInternAddr(tcp: Tcp, addr: IpAddr): IpAddr {
  const cache = tcp.addrCache;
  const len = addr.bytes.length;
  for (let i = 0; i < cache.length; i++) {
    const a = cache[i]!;
    if (a === addr) return a;
    if (a !== null && a.family === addr.family && bytesEqualAt(a.bytes, addr.bytes, 0, len)) return a;
  }
  tcpRememberAddr(tcp, addr);
  return addr;
}

function tcpRememberAddr(tcp: Tcp, a: IpAddr): void {
  const i = tcp.addrCacheNext;
  tcp.addrCache[i] = a;
  tcp.addrCacheNext = (i + 1) % tcp.addrCache.length;
}

function bytesEqualAt(x: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (x[i] !== b[off + i]) return false;
  return true;
}

/** Builds an IpAddr from packet bytes (cold paths: RST to a closed port, new child connections). */
export const addrFromBytes = (b: Uint8Array, off: number, family: IpFamily): IpAddr => IpAddr.fromBytes(b, off, family === 4 ? 4 : 16);
