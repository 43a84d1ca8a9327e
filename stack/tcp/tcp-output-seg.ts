// Building and sending one segment for tcp_output (the "send:" half of bsd/netinet/tcp_output.c):
// header and options in a fresh packet-header mbuf with room in front for IP, the data shared
// from so_snd by reference (mCopym: no copy of the payload), checksum in software or left to the
// link (CSUM_NEEDS), TSO marking (gsoType/gsoSize), then the sequence-space bookkeeping:
// snd_nxt/snd_max, RTT timing (Karn: only new data is timed), the retransmission and probe timers,
// rcv_adv/last_ack_sent, delayed-ACK state, and the counters.

import type { Instant } from '../time/instant.js';
import { mFreem } from '../mbuf/index.js';
import { tcpSndCopy } from './tcp-sndbuf.js';
import { CSUM_NEEDS, GSO_TCPV4, GSO_TCPV6, MT_DATA } from '../mbuf/constants.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { set16, set32 } from '../wire/bytes.js';
import { pseudoHeaderSum4, pseudoHeaderSum6 } from '../wire/checksum.js';
import { seqAdd, seqGt, seqLt, seqSub } from '../wire/seq.js';
import { TCP_HEADER_LEN, TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN, TH_URG } from '../wire/tcp.js';
import { pcbOutputTos, pcbOutputTtl } from '../inpcb/ip-ctloutput.js';
import { EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETDOWN, ENETUNREACH, ENOBUFS } from '../socket/errno.js';
import type { Tcp } from './tcp.js';
import { haveRcvdSyn } from './tcp-fsm.js';
import {
  TF_ACKNOW, TF_DELACK, TF_FORCEDATA, TF_RXWIN0SENT, TF_SENTFIN, TT_DELACK, TT_PERSIST, TT_REXMT,
  Tcpcb, TCP_MAXWIN,
} from './tcp-var.js';
import { tcpClearTimer, tcpSetPersist, tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpMtudisc } from './tcp-subr.js';
import { tcpDontFrag, tcpPmtudNoteSend } from './tcp-pmtud-blackhole.js';
import { tcpTlpArm } from './tcp-tlp.js';
import { IPTOS_ECN_ECT0, IPTOS_ECN_MASK, tcpEcnOutputFlags, tcpEcnSendEct } from './tcp-ecn.js';

/**
 * Sends one segment: `len` data bytes from so_snd offset `off` (snd_una-relative) at sequence
 * `seq`, `flags` (ACK/SYN/FIN/RST per state; PSH and URG added here), the `optlen` option bytes
 * already in tcp.optBuf, advertising `recwin`. Returns 0 or the errno IP output gave.
 */
export function tcpSendSegment(
  tcp: Tcp, tp: Tcpcb, seq: number, off: number, len: number, flags: number, optlen: number,
  recwin: number, tso: boolean, sackRxmit: boolean, winupdate: boolean, now: Instant,
): number {
  const st = tcp.stats;
  const p = tcp.profile;
  const so = tp.so;
  const pcb = tp.t_inpcb;
  const sbcc = so === null ? 0 : so.so_snd.sb_cc;
  const forced = (tp.t_flags & TF_FORCEDATA) !== 0;

  // PSH (profile.pshPolicy): on the segment that empties what the send buffer held (BSD), or on all.
  if (len > 0 && (p.pshPolicy === 'every-segment' || off + len === sbcc)) flags |= TH_PUSH;
  // Pure ACKs carry snd_max (BSD); data, SYN, FIN and probes carry their own sequence number.
  if (len === 0 && (flags & (TH_SYN | TH_FIN)) === 0 && !forced) seq = tp.snd_max;
  // ECN (tcp-ecn.ts): ECE/CWR on SYN and SYN-ACK, CWR on new data, ECE on pure ACKs; ECT(0) on new data.
  const rexmit = sackRxmit || seqLt(tp.snd_nxt, tp.snd_max);
  if (tp.ecn_flags !== 0 || (flags & TH_SYN) !== 0) flags = tcpEcnOutputFlags(tcp, tp, flags, len, rexmit);
  const ect = tcpEcnSendEct(tp, flags, len, rexmit);

  // Urgent pointer (BSD convention: snd_up is the sequence number after the urgent byte).
  let urp = 0;
  if (seqGt(tp.snd_up, seq)) {
    const u = seqSub(tp.snd_up, seq);
    urp = u > 0xffff ? 0xffff : u;
    flags |= TH_URG;
  } else {
    // Pull the pointer to the left edge so it does not drift into the window on wraparound.
    tp.snd_up = tp.snd_una;
  }

  // Window: unscaled in a SYN (RFC 7323 §2.2), scaled afterwards.
  let win: number;
  if ((flags & TH_SYN) !== 0) win = recwin > TCP_MAXWIN ? TCP_MAXWIN : recwin;
  else {
    win = recwin >>> tp.rcv_scale;
    if (win > TCP_MAXWIN) win = TCP_MAXWIN;
  }
  if (win === 0) tp.t_flags |= TF_RXWIN0SENT;
  else tp.t_flags &= ~TF_RXWIN0SENT;

  // ---- the segment ----
  const hlen = TCP_HEADER_LEN + optlen;
  const m = tcp.ctx.pool.getHdr(MT_DATA);
  if (m === null) {
    st.tcps_nombuf++;
    return tcpOutputError(tcp, tp, ENOBUFS, now);
  }
  m.data = m.end - hlen;
  m.len = hlen;
  let data: Mbuf | null = null;
  if (len > 0) {
    data = so === null ? null : tcpSndCopy(tp, so.so_snd, off, len);
    if (data === null) {
      m.pool.free(m);
      st.tcps_nombuf++;
      return tcpOutputError(tcp, tp, ENOBUFS, now);
    }
    if (data.hasPkthdr) data.clearPkthdr();
    m.next = data;
  }
  m.pktLen = hlen + len;
  const b = m.buf;
  const o = m.data;
  const ack = (flags & TH_ACK) !== 0 ? tp.rcv_nxt : 0;
  set16(b, o, pcb.lport);
  set16(b, o + 2, pcb.fport);
  set32(b, o + 4, seq);
  set32(b, o + 8, ack);
  b[o + 12] = (hlen >>> 2) << 4;
  b[o + 13] = flags;
  set16(b, o + 14, win);
  set16(b, o + 16, 0);
  set16(b, o + 18, urp);
  if (optlen > 0) b.set(tcp.optBuf.subarray(0, optlen), o + TCP_HEADER_LEN);
  const tlen = hlen + len;
  if (tp.t_txcsum) {
    m.csumFlags |= CSUM_NEEDS;
    m.csumStart = 0;
    m.csumOffset = 16;
  } else {
    const ps = pcb.family === 4
      ? pseudoHeaderSum4(pcb.laddr.bytes, 0, pcb.faddr.bytes, 0, 6, tlen)
      : pseudoHeaderSum6(pcb.laddr.bytes, 0, pcb.faddr.bytes, 0, 6, tlen);
    const acc = tcp.acc.reset(ps).add(b, o, hlen);
    for (let d = data; d !== null; d = d.next) acc.add(d.buf, d.data, d.len);
    set16(b, o + 16, acc.finish());
  }
  const segPayload = tp.t_maxopd - optlen;
  let nseg = 1;
  if (tso) {
    m.gsoType = pcb.family === 4 ? GSO_TCPV4 : GSO_TCPV6;
    m.gsoSize = segPayload;
    nseg = Math.ceil(len / segPayload);
    st.tcps_tso_segs++;
  }

  // ---- counters ----
  st.tcps_sndtotal++;
  tp.t_txpackets += nseg;
  tp.t_txbytes += len;
  if (len > 0) {
    tcpPmtudNoteSend(tp, len, optlen);
    if (forced && len === 1 && tp.snd_wnd === 0) st.tcps_sndprobe++;
    else if (sackRxmit || seqLt(seq, tp.snd_max)) {
      st.tcps_sndrexmitpack += nseg;
      st.tcps_sndrexmitbyte += len;
      tp.t_txretransmitpackets += nseg;
      tp.t_txretransmitbytes += len;
      if (sackRxmit) {
        st.tcps_sack_rexmits++;
        st.tcps_sack_rexmit_bytes += len;
      }
    } else {
      st.tcps_sndpack += nseg;
      st.tcps_sndbyte += len;
    }
    if (so !== null) {
      so.counters.txpackets += nseg;
      so.counters.txbytes += len;
    }
  } else if ((tp.t_flags & TF_ACKNOW) !== 0 && (flags & (TH_SYN | TH_FIN | TH_RST)) === 0) st.tcps_sndacks++;
  else if ((flags & (TH_SYN | TH_FIN | TH_RST)) !== 0) st.tcps_sndctrl++;
  else if (seqGt(tp.snd_up, tp.snd_una)) st.tcps_sndurg++;
  else if (winupdate) st.tcps_sndwinup++;
  else st.tcps_sndacks++;
  if ((flags & TH_URG) !== 0 && len > 0) st.tcps_sndurg++;

  // ---- sequence space ----
  // XNU: in transmit state (not a persist probe) time the segment and arrange for a retransmission.
  const transmit = !forced || !tcpTimerArmed(tp, TT_PERSIST);
  if (!sackRxmit) {
    if (transmit) {
      const startseq = tp.snd_nxt;
      if ((flags & TH_SYN) !== 0) tp.snd_nxt = seqAdd(tp.snd_nxt, 1);
      if ((flags & TH_FIN) !== 0) {
        tp.snd_nxt = seqAdd(tp.snd_nxt, 1);
        tp.t_flags |= TF_SENTFIN;
      }
      tp.snd_nxt = seqAdd(tp.snd_nxt, len);
      if (seqGt(tp.snd_nxt, tp.snd_max)) {
        if (tp.snd_max === tp.snd_una) tp.t_sndtime = now;
        tp.snd_max = tp.snd_nxt;
        // Time this transmission unless a segment is already being timed (Karn: never a retransmission).
        if (tp.t_rtttime < 0) {
          tp.t_rtttime = now;
          tp.t_rtseq = startseq;
        }
      }
    } else if (seqGt(seqAdd(tp.snd_nxt, len), tp.snd_max)) {
      tp.snd_max = seqAdd(tp.snd_nxt, len);
    }
  }
  if (!tcpTimerArmed(tp, TT_REXMT) && (tp.snd_nxt !== tp.snd_una || sackRxmit) &&
      (len > 0 || (flags & (TH_SYN | TH_FIN)) !== 0)) {
    if (tcpTimerArmed(tp, TT_PERSIST)) {
      // XNU tcp_output `timer:`: leaving persist also ends its max_persist_timeout deadline.
      tcpClearTimer(tp, TT_PERSIST);
      tp.t_persistshift = 0;
      tp.t_persist_stop = 0;
      tp.t_rxtshift = 0;
    }
    tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
  } else if (len === 0 && so !== null && so.so_snd.sb_cc > 0 &&
      !tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST)) {
    // FreeBSD tcp_output: a 0-length segment (e.g. the ACK for data that closed the peer's window)
    // sent while data waits and no timer runs would leave the zero window unprobed forever.
    tp.t_rxtshift = 0;
    tcpSetPersist(tcp, tp, now);
  }
  if (transmit) tcpTlpArm(tcp, tp, len, now);
  const advwin = (flags & TH_SYN) !== 0 ? win : win << tp.rcv_scale;
  if (advwin > 0 && seqGt(seqAdd(tp.rcv_nxt, advwin), tp.rcv_adv)) tp.rcv_adv = seqAdd(tp.rcv_nxt, advwin);
  if ((flags & TH_ACK) !== 0) tp.last_ack_sent = tp.rcv_nxt;
  tp.t_flags &= ~(TF_ACKNOW | TF_DELACK);
  tcpClearTimer(tp, TT_DELACK);
  tp.t_unacksegs = 0;

  const params = tcp.oparams;
  params.src = pcb.laddr;
  params.dst = pcb.faddr;
  params.ttl = pcbOutputTtl(pcb);
  // XNU: the application's IP_TOS / IPV6_TCLASS never sets the ECN field of a TCP segment; TCP does.
  params.tos = (pcbOutputTos(pcb) & ~IPTOS_ECN_MASK) | (ect ? IPTOS_ECN_ECT0 : 0);
  params.ifscope = pcb.ifscope;
  // XNU: IP_DF while TF_PMTUD (black-hole detection clears it).
  params.dontFrag = tcpDontFrag(tp);
  const e = tcp.ip.output(m, params, now);
  if (e !== 0) return tcpOutputError(tcp, tp, e, now);
  return 0;
}

/**
 * What tcp_output does with an output error: ENOBUFS makes sure a timer will retry; EMSGSIZE
 * lowers the MSS to the path MTU (tcp_mtudisc); unreachable errors on a synchronized connection
 * become the soft error (reported if it times out) and are not returned.
 */
function tcpOutputError(tcp: Tcp, tp: Tcpcb, e: number, now: Instant): number {
  tcp.stats.tcps_output_errors++;
  if (e === ENOBUFS) {
    if (!tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST) && tp.snd_max !== tp.snd_una) {
      tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
    }
    return 0;
  }
  if (e === EMSGSIZE) {
    const mtu = tcp.ip.pathMtu(tp.t_inpcb.faddr);
    if (mtu > 0 && mtu - 40 < tp.t_maxopd) {
      tcpMtudisc(tcp, tp, mtu, now);
      return 0;
    }
    return e;
  }
  if ((e === EHOSTUNREACH || e === ENETUNREACH || e === EHOSTDOWN || e === ENETDOWN) && haveRcvdSyn(tp.t_state)) {
    tp.t_softerror = e;
    return 0;
  }
  if (tp.snd_max !== tp.snd_una && !tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST)) {
    tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
  }
  return e;
}

/** Frees an mbuf chain (re-exported for callers that build segments by hand). */
export const freeChain = (m: Mbuf | null): void => mFreem(m);
