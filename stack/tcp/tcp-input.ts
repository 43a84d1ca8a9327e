// tcp_input, first half (bsd/netinet/tcp_input.c): validation of the segment (length, data
// offset, checksum unless the device vouched for it with CSUM_DATA_VALID, options), PCB lookup,
// RST for segments to closed ports (RFC 9293 §3.10.7.1, profile.blackhole), TIME_WAIT reuse by a
// new SYN (RFC 6191), LISTEN (a child socket per SYN through sonewconn, XNU style) and SYN_SENT
// (RFC 9293 §3.10.7.3, simultaneous open). Synchronized states continue in tcp-input-sync.ts.
// Segments larger than the MSS (GRO super-packets) are accepted like any other.
//
// ip input → Tcp.input → tcpInput → tcpInputListen | tcpInputSynSent | tcpInputSync

import { chainChecksum } from '../ip/mbuf-checksum.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mAdj } from '../mbuf/chain.js';
import { CSUM_DATA_VALID } from '../mbuf/constants.js';
import type { Instant } from '../time/instant.js';
import type { IpInputInfo } from '../ip/protocol.js';
import type { IpFamily } from '../wire/ip-addr.js';
import { get16, get32 } from '../wire/bytes.js';
import { scanTcpOptions } from '../wire/tcp-options.js';
import { seqAdd, seqGt, seqLe, seqLt } from '../wire/seq.js';
import { TCP_HEADER_LEN, TH_ACK, TH_CWR, TH_FIN, TH_RST, TH_SYN } from '../wire/tcp.js';
import { sonewconn, soabort } from '../socket/so-listen.js';
import type { Socket } from '../socket/socket.js';
import { soisconnected } from '../socket/socket.js';
import { ECONNREFUSED } from '../socket/errno.js';
import type { Tcp } from './tcp.js';
import { TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT } from './tcp-fsm.js';
import {
  TF_ACKNOW, TF_CHILD, TF_CLOSED, TF_NODELAY, TF_NOOPT, TF_NOPUSH, TF_RCVD_TSTMP, TT_KEEP, TT_REXMT,
  Tcpcb, intotcpcb, tcpReass,
} from './tcp-var.js';
import {
  addrFromBytes, tcpInternAddrBytes, tcpClose, tcpDrop, tcpMss, tcpRequestScale, tcpRespond,
} from './tcp-subr.js';
import { tcpApplyScale, tcpSynOptionsIn } from './tcp-opts.js';
import { keepIdleUs, keepInitUs, tcpClearTimer, tcpSetTimer } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpInputSync, tcpRcvWnd } from './tcp-input-sync.js';
import { IPTOS_ECN_CE, IPTOS_ECN_MASK, tcpEcnInputSegment, tcpEcnInputSyn, tcpEcnInputSynAck } from './tcp-ecn.js';
import { tcpEstablished, tcpResetRexmtState } from './tcp-input-ack.js';
import { tcpDeliver, tcpInputStep6 } from './tcp-input-data.js';
import { tcpTfoSyn } from './tcp-fastopen.js';

/**
 * What tcp_input knows about the segment being processed: one per Tcp, rewritten per segment
 * (BSD keeps these in tcp_input's locals). Sequence fields are updated as the segment is trimmed.
 */
export class TcpInputCtx {
  family: IpFamily = 4;
  /** Source address at [0, alen), destination at [16, 16 + alen): lookups read both from here. */
  readonly addrs = new Uint8Array(32);
  sport = 0;
  dport = 0;
  ifindex = 0;
  seq = 0;
  ack = 0;
  /** TH_* flags (FIN/PSH/URG cleared as trimming removes them). */
  flags = 0;
  /** The window field as received (unscaled). */
  win = 0;
  /** The peer's window in bytes (scaled unless this is a SYN). */
  tiwin = 0;
  urp = 0;
  /** Payload bytes (after trimming). */
  tlen = 0;
  /** TCP header length (options included). */
  hlen = 0;
  /** Options were malformed (parsing stopped at the bad one). */
  badopt = false;
  /** The ECN field of the IP header the segment came in (IPTOS_ECN_*; reassembled: RFC 3168 §5.3). */
  ipEcn = 0;
  /** Scratch for SACK NextSeg. */
  readonly segRange = { start: 0, end: 0 };
  /** Scratch for reassembly takeInOrder. */
  readonly reassOut: { m: Mbuf | null; len: number; fin: boolean } = { m: null, len: 0, fin: false };
}

/** Results of the synchronized-state phases. */
export const SEG_CONTINUE = 0;
export const SEG_DONE = 1;

export function tcpInput(tcp: Tcp, m: Mbuf, info: IpInputInfo, now: Instant): void {
  const st = tcp.stats;
  const c = tcp.inp;
  st.tcps_rcvtotal++;
  const l4Off = info.l4Off;
  const tl = info.l4Len;
  if (tl < TCP_HEADER_LEN || m.len < l4Off + TCP_HEADER_LEN) {
    st.tcps_rcvshort++;
    mFreem(m);
    return;
  }
  // XNU tcp_input verifies th_sum before it looks at th_off: line noise is a checksum drop.
  if ((m.csumFlags & CSUM_DATA_VALID) === 0 && chainChecksum(tcp.acc, m, l4Off, tl, info.pseudoSum) !== 0) {
    st.tcps_rcvbadsum++;
    mFreem(m);
    return;
  }
  const b = m.buf;
  const th = m.data + l4Off;
  const hlen = (b[th + 12]! >>> 4) << 2;
  if (hlen < TCP_HEADER_LEN || hlen > tl || m.len < l4Off + hlen) {
    st.tcps_rcvbadoff++;
    mFreem(m);
    return;
  }
  c.family = info.family;
  const alen = info.family === 4 ? 4 : 16;
  const a = c.addrs;
  for (let i = 0; i < alen; i++) {
    a[i] = b[info.srcOff + i]!;
    a[16 + i] = b[info.dstOff + i]!;
  }
  c.sport = get16(b, th);
  c.dport = get16(b, th + 2);
  c.seq = get32(b, th + 4);
  c.ack = get32(b, th + 8);
  c.flags = b[th + 13]!;
  c.win = get16(b, th + 14);
  c.urp = get16(b, th + 18);
  c.tlen = tl - hlen;
  c.hlen = hlen;
  c.ifindex = info.ifindex;
  c.ipEcn = info.tos & IPTOS_ECN_MASK;
  // A malformed option ends parsing there (BSD tcp_dooptions); what was parsed before is used.
  c.badopt = scanTcpOptions(b, th + TCP_HEADER_LEN, hlen - TCP_HEADER_LEN, tcp.optScratch) !== null;
  if (c.badopt) st.tcps_rcvbadopt++;
  if (info.dstIsBroadcastOrMulticast) {
    st.tcps_bcastdrop++;
    mFreem(m);
    return;
  }
  if (tcp.profile.dropSynFin && (c.flags & (TH_SYN | TH_FIN)) === (TH_SYN | TH_FIN)) {
    st.tcps_synfin++;
    mFreem(m);
    return;
  }
  // Headers off: `m` is the payload from here on (the addresses were copied above).
  mAdj(m, l4Off + hlen);

  let recycled = false;
  for (;;) {
    const pcb = tcp.pcbs.lookupPacket(c.family, a, 0, c.sport, 16, c.dport, true, c.ifindex);
    const tp = intotcpcb(pcb);
    if (pcb === null || tp === null || (tp.t_flags & TF_CLOSED) !== 0) {
      st.tcps_noport++;
      tcpDropWithReset(tcp, m, now);
      return;
    }
    if (tp.t_state === TCPS_LISTEN) {
      tcpInputListen(tcp, tp, m, now);
      return;
    }
    if (tp.t_state === TCPS_TIME_WAIT && !recycled && (c.flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN &&
        tcpTimeWaitAcceptsSyn(tcp, tp)) {
      // RFC 6191 / RFC 9293 Appendix B: a new incarnation may take over the 4-tuple.
      st.tcps_tw_recycled++;
      tcpClose(tcp, tp);
      recycled = true;
      continue;
    }
    // XNU tcp_input, before the state machine: CWR ends the ECE echo, CE on in-window data starts it.
    if ((c.flags & TH_CWR) !== 0 || c.ipEcn === IPTOS_ECN_CE) {
      tcpEcnInputSegment(tcp, tp, c.flags, c.ipEcn, c.seq, c.tlen, tcpRcvWnd(tp));
    }
    tp.t_rcvtime = now;
    tp.t_rxpackets++;
    tp.t_rxbytes += c.tlen;
    if (tp.t_keepprobes !== 0) {
      // The peer answered: back to a full idle period before the next probe.
      tp.t_keepprobes = 0;
      tcpSetTimer(tcp, tp, TT_KEEP, now + keepIdleUs(tcp, tp));
    }
    c.tiwin = (c.flags & TH_SYN) !== 0 ? c.win : c.win << tp.snd_scale;
    if (tp.t_state === TCPS_SYN_SENT) {
      tcpInputSynSent(tcp, tp, m, now);
      return;
    }
    tcpInputSync(tcp, tp, m, now);
    return;
  }
}

/** RFC 7323 §5.3 "TSval1 < TSval2" modulo 2^32. */
export const tsLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/**
 * May a SYN reopen a connection in TIME_WAIT? RFC 6191: with timestamps, when its TSval is above
 * TS.Recent; without, RFC 9293 Appendix B (RFC 1122 §4.2.2.13): when its sequence number is above
 * the last one received.
 */
function tcpTimeWaitAcceptsSyn(tcp: Tcp, tp: Tcpcb): boolean {
  const o = tcp.optScratch;
  if ((tp.t_flags & TF_RCVD_TSTMP) !== 0 && o.tsPresent) return tsLt(tp.ts_recent, o.tsVal);
  return seqGt(tcp.inp.seq, tp.rcv_nxt);
}

/**
 * dropwithreset: answers the current segment with a RST (never a RST, never when blackholed:
 * profile.blackhole 1 suppresses it for SYNs, 2 always). RFC 9293 §3.10.7.1: with ACK,
 * <SEQ=SEG.ACK><CTL=RST>; without, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Frees `m`.
 */
export function tcpDropWithReset(tcp: Tcp, m: Mbuf | null, now: Instant): void {
  mFreem(m);
  const c = tcp.inp;
  const st = tcp.stats;
  if ((c.flags & TH_RST) !== 0) {
    st.tcps_rstinclosed++;
    return;
  }
  const bh = tcp.profile.blackhole;
  if (bh === 2 || (bh === 1 && (c.flags & TH_SYN) !== 0)) return;
  // BSD badport_bandlim (XNU: net.inet.icmp.icmplim shared with ICMP): at most rstRateLimit
  // RSTs per second, so a port scan or a flood cannot turn the stack into a RST reflector.
  const lim = tcp.profile.rstRateLimit;
  if (lim > 0) {
    if (tcp.rstWindowStart < 0 || now - tcp.rstWindowStart >= 1_000_000) {
      tcp.rstWindowStart = now;
      tcp.rstCount = 0;
    }
    if (tcp.rstCount >= lim) {
      st.tcps_rstratelimited++;
      return;
    }
    tcp.rstCount++;
  }
  const laddr = addrFromBytes(c.addrs, 16, c.family);
  const faddr = addrFromBytes(c.addrs, 0, c.family);
  if ((c.flags & TH_ACK) !== 0) {
    tcpRespond(tcp, c.family, laddr, faddr, c.dport, c.sport, c.ack, 0, TH_RST, 0, -1, 0, 0, 0, 0, now);
  } else {
    let seglen = c.tlen;
    if ((c.flags & TH_SYN) !== 0) seglen++;
    if ((c.flags & TH_FIN) !== 0) seglen++;
    tcpRespond(tcp, c.family, laddr, faddr, c.dport, c.sport, 0, seqAdd(c.seq, seglen), TH_RST | TH_ACK, 0, -1, 0, 0, 0, 0, now);
  }
}

/**
 * LISTEN (RFC 9293 §3.10.7.2): a RST is ignored; an ACK is answered with <SEQ=SEG.ACK><CTL=RST>;
 * a SYN creates a child socket on the listener's incomplete queue (sonewconn; a full queue drops
 * the SYN, counted as tcps_listendrop) in SYN_RECEIVED, which answers with a SYN-ACK. Data on
 * the SYN is queued for delivery once the connection is ESTABLISHED (RFC 9293 §3.10.7.2: "any
 * other control or text should be queued for processing later"), cut to the receive window; the
 * SYN-ACK acknowledges only the SYN, as in BSD. A FIN on the SYN is not kept (it comes again).
 * A TCP_FASTOPEN listener's child whose SYN has a valid cookie takes the data at once instead
 * (RFC 7413, tcp-fastopen.ts).
 */
function tcpInputListen(tcp: Tcp, lt: Tcpcb, m: Mbuf, now: Instant): void {
  const c = tcp.inp;
  const st = tcp.stats;
  if ((c.flags & TH_RST) !== 0) {
    st.tcps_rstinclosed++;
    mFreem(m);
    return;
  }
  if ((c.flags & TH_ACK) !== 0) {
    st.tcps_badsyn++;
    tcpDropWithReset(tcp, m, now);
    return;
  }
  if ((c.flags & TH_SYN) === 0) {
    st.tcps_badsyn++;
    mFreem(m);
    return;
  }
  const alen = c.family === 4 ? 4 : 16;
  const a = c.addrs;
  let self = c.sport === c.dport;
  for (let i = 0; self && i < alen; i++) if (a[i] !== a[16 + i]) self = false;
  if (self) {
    // A SYN from our own listening socket to itself (the "land" attack) is never answered.
    st.tcps_badsyn++;
    mFreem(m);
    return;
  }
  const head = lt.so;
  if (head === null) {
    st.tcps_listendrop++;
    mFreem(m);
    return;
  }
  const so = sonewconn(head, 0);
  if (so === null) {
    st.tcps_listendrop++;
    mFreem(m);
    return;
  }
  const pcb = so.so_pcb as import('../inpcb/in-pcb.js').InPcb | null;
  const tp = intotcpcb(pcb);
  if (pcb === null || tp === null) {
    st.tcps_listendrop++;
    mFreem(m);
    soabort(so, now);
    return;
  }
  const lpcb = lt.t_inpcb;
  pcb.ttl = lpcb.ttl;
  pcb.tos = lpcb.tos;
  pcb.ifscope = lpcb.ifscope;
  // in_pcbinshash for the child: its local address/port are the segment's destination, its
  // foreign ones the source; it joins the port hash (no bind conflict check: it shares the
  // listener's port) and the connection hash.
  const e = tcp.pcbs.insertConnected(pcb, tcpInternAddrBytes(tcp, a, 16, c.family), c.dport, tcpInternAddrBytes(tcp, a, 0, c.family), c.sport);
  if (e !== 0) {
    st.tcps_listendrop++;
    mFreem(m);
    soabort(so, now);
    return;
  }
  tp.t_flags |= TF_CHILD | (lt.t_flags & (TF_NODELAY | TF_NOPUSH | TF_NOOPT));
  tp.t_keepidle = lt.t_keepidle;
  tp.t_keepintvl = lt.t_keepintvl;
  tp.t_keepcnt = lt.t_keepcnt;
  tp.t_keepinit = lt.t_keepinit;
  tp.t_notsent_lowat = lt.t_notsent_lowat;
  // XNU tcp_input: the child inherits TF_RXTFINDROP | TF_NOTIMEWAIT | TF_FASTOPEN from the listener.
  tp.t_notimewait = lt.t_notimewait;
  tp.t_fastopen = lt.t_fastopen;
  tp.iss = tcp.isn.isn(pcb.laddr.bytes, pcb.lport, pcb.faddr.bytes, pcb.fport, now);
  tp.ts_offset = tcp.isn.tsOffset(pcb.laddr.bytes, pcb.lport, pcb.faddr.bytes, pcb.fport);
  tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = tp.snd_recover = tp.snd_highrxt = tp.iss;
  tp.irs = c.seq;
  tp.rcv_nxt = seqAdd(c.seq, 1);
  tp.rcv_adv = tp.rcv_up = tp.last_ack_sent = tp.rcv_nxt;
  tp.request_r_scale = tcpRequestScale(tcp, so);
  tcpSynOptionsIn(tp, tcp.optScratch, now);
  tcpApplyScale(tp);
  tcpMss(tcp, tp, tcp.optScratch.mss >= 0 ? tcp.optScratch.mss : 0);
  tp.snd_wnd = c.win;
  tp.max_sndwnd = c.win;
  tp.snd_wl1 = c.seq;
  tp.snd_wl2 = tp.iss;
  tp.t_rcvtime = now;
  tp.t_connstart = now;
  // XNU tcp_input LISTEN: `if (tfo_enabled(tp) && tcp_tfo_syn(tp, &to)) isconnected = TRUE;`
  const tfo = tp.t_fastopen && tcpTfoSyn(tcp, tp);
  tp.t_state = TCPS_SYN_RECEIVED;
  tp.t_flags |= TF_ACKNOW;
  tcpEcnInputSyn(tp, c.flags);
  tcpSetTimer(tcp, tp, TT_KEEP, now + keepInitUs(tcp, tp));
  if (tfo) tcpTfoSynData(tcp, tp, so, m, c.tlen);
  else tcpSynDataQueue(tcp, tp, m, c.tlen);
  tcpOutput(tcp, tp, now);
}

/**
 * A SYN with a valid Fast Open cookie (XNU tcp_input `dodata` with TFO_F_COOKIE_VALID): the child
 * is connected now (to the listener's completed queue: accept returns it), then the SYN's `len`
 * bytes in `m`, cut to the receive window, go to its receive buffer, so the SYN-ACK (TF_ACKNOW)
 * acknowledges them. A FIN on the SYN is not taken (see tcp-fastopen.ts).
 */
function tcpTfoSynData(tcp: Tcp, tp: Tcpcb, so: Socket, m: Mbuf, len: number): void {
  soisconnected(so);
  const win = so.so_rcv.sbspace();
  if (len <= 0 || win <= 0) {
    mFreem(m);
    return;
  }
  const st = tcp.stats;
  if (len > win) {
    st.tcps_rcvpackafterwin++;
    st.tcps_rcvbyteafterwin += len - win;
    mAdj(m, win - len);
    len = win;
  }
  st.tcps_rcvpack++;
  st.tcps_rcvbyte += len;
  tcpDeliver(tcp, tp, m, len);
  tp.rcv_nxt = seqAdd(tp.rcv_nxt, len);
}

/**
 * Text on a SYN (RFC 9293 §3.10.7.2/§3.10.7.3): `len` payload bytes in `m` starting at irs + 1,
 * cut to the receive window, go to the reassembly queue; tcpReassPresent hands them to the socket
 * once the connection is established. Frees `m` when nothing is kept.
 */
export function tcpSynDataQueue(tcp: Tcp, tp: Tcpcb, m: Mbuf, len: number): void {
  const so = tp.so;
  const win = so === null ? 0 : so.so_rcv.sbspace();
  if (len <= 0 || win <= 0) {
    mFreem(m);
    return;
  }
  if (len > win) {
    tcp.stats.tcps_rcvpackafterwin++;
    tcp.stats.tcps_rcvbyteafterwin += len - win;
    mAdj(m, win - len);
    len = win;
  }
  if (m.hasPkthdr) m.pktLen = len;
  tcpReass(tp).insert(tp.rcv_nxt, m, len, false, tp.rcv_nxt);
  tcp.stats.tcps_rcvsyndata++;
}

/**
 * SYN_SENT (RFC 9293 §3.10.7.3): an ACK outside (ISS, SND.MAX] is answered with a RST (unless it
 * is one); an acceptable RST refuses the connection (ECONNREFUSED); a SYN-ACK establishes it; a
 * bare SYN is a simultaneous open (SYN_RECEIVED, our SYN resent with the ACK).
 */
function tcpInputSynSent(tcp: Tcp, tp: Tcpcb, m: Mbuf, now: Instant): void {
  const c = tcp.inp;
  const st = tcp.stats;
  const flags = c.flags;
  if ((flags & TH_ACK) !== 0 && (seqLe(c.ack, tp.iss) || seqGt(c.ack, tp.snd_max))) {
    if ((flags & TH_RST) !== 0) {
      st.tcps_rstinsynsent_badack++;
      mFreem(m);
      return;
    }
    st.tcps_badack_synstate++;
    tcpDropWithReset(tcp, m, now);
    return;
  }
  if ((flags & TH_RST) !== 0) {
    mFreem(m);
    if ((flags & TH_ACK) !== 0) {
      st.tcps_rstreset++;
      tcpDrop(tcp, tp, ECONNREFUSED, now);
    } else {
      st.tcps_rstinsynsent_badack++;
    }
    return;
  }
  if ((flags & TH_SYN) === 0) {
    st.tcps_synsent_nosyn++;
    mFreem(m);
    return;
  }
  const o = tcp.optScratch;
  tp.irs = c.seq;
  tp.rcv_nxt = seqAdd(c.seq, 1);
  tp.rcv_adv = tp.rcv_up = tp.rcv_nxt;
  tcpSynOptionsIn(tp, o, now);
  tcpMss(tcp, tp, o.mss >= 0 ? o.mss : 0);
  tcpApplyScale(tp);
  if ((flags & TH_ACK) === 0) {
    // Simultaneous open: SYN_RECEIVED; our SYN goes again, now with the ACK (a SYN-ACK).
    mFreem(m);
    tp.t_state = TCPS_SYN_RECEIVED;
    tp.snd_wnd = c.win;
    tp.snd_wl1 = seqAdd(c.seq, -1);
    tp.snd_nxt = tp.iss;
    tcpClearTimer(tp, TT_REXMT);
    tp.t_flags |= TF_ACKNOW;
    tcpOutput(tcp, tp, now);
    return;
  }
  // SYN-ACK: RFC 9293 "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED".
  tcpEcnInputSynAck(tcp, tp, flags);
  tp.snd_una = c.ack;
  if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
  tp.snd_wnd = c.win;
  tp.max_sndwnd = c.win;
  tp.snd_wl1 = c.seq;
  tp.snd_wl2 = c.ack;
  st.tcps_rcvackpack++;
  st.tcps_rcvackbyte++;
  // Karn: the SYN is timed only if it was not retransmitted (t_rtttime cleared on RTO).
  if (tp.t_rtttime >= 0) {
    tp.rtt.sample(now - tp.t_rtttime);
    st.tcps_rttupdated++;
    tp.t_rtttime = -1;
  }
  // XNU goes on to process_ACK with t_state ESTABLISHED (or FIN_WAIT_1): TCP_RESET_REXMT_STATE and
  // TCPT_RANGESET(t_rxtcur, TCP_REXMTVAL, t_rttmin, TCPTV_REXMTMAX, slop), sample or not.
  tcpResetRexmtState(tp);
  tp.t_rxtcur = tp.rtt.rexmtValUs(true);
  if (tp.snd_una === tp.snd_max) tcpClearTimer(tp, TT_REXMT);
  tcpEstablished(tcp, tp, now);
  tp.t_flags |= TF_ACKNOW;
  // Data or a FIN on the SYN-ACK continues at step 6 (window, urgent, data, FIN).
  c.seq = seqAdd(c.seq, 1);
  c.flags &= ~TH_SYN;
  // The window of a SYN-ACK is never scaled (RFC 7323 §2.2).
  c.tiwin = c.win;
  if ((tp.t_flags & TF_CLOSED) !== 0) {
    mFreem(m);
    return;
  }
  tcpInputStep6(tcp, tp, m, true, now);
}

