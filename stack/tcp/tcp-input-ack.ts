// ACK processing of tcp_input (RFC 9293 §3.10.7.4 "fifth"): SYN_RECEIVED completing the
// handshake, RFC 5961 §5.2 ACK acceptability, duplicate ACKs with fast retransmit / NewReno
// (RFC 5681 §3.2, RFC 6582) with XNU's early retransmit and tail-loss-probe checks (tcp-tlp.ts),
// SACK scoreboard and recovery (RFC 6675), limited transmit (RFC 3042), RTT measurement (RFC 7323 §4 RTTM from TSecr, else the timed segment; Karn),
// RTO management (RFC 6298 §5), congestion-window growth (CongestionControl), freeing
// acknowledged data from so_snd, and the FIN_WAIT_1 / CLOSING / LAST_ACK / TIME_WAIT transitions.

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import type { Instant } from '../time/instant.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from '../wire/seq.js';
import { TH_FIN } from '../wire/tcp.js';
import { sowwakeup, soisconnected, soisdisconnected } from '../socket/socket.js';
import { SS_CANTRCVMORE } from '../socket/constants.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK,
  TCPS_SYN_RECEIVED, TCPS_TIME_WAIT,
} from './tcp-fsm.js';
import {
  TF_CHILD, TF_CLOSED, TF_SENTFIN, TF_FASTRECOVERY, TF_NEEDFIN, TF_RCVD_TSTMP, TF_REQ_TSTMP, TF_SACK_PERMIT, TT_2MSL, TT_KEEP,
  TT_PERSIST, TT_PTO, TT_REXMT, Tcpcb, tcpScoreboard,
} from './tcp-var.js';
import { SACK_DUPTHRESH } from './tcp-sack.js';
import { tcpEarlyRexmtCheck, tcpSentTlpRetrans, tcpTlpAcked } from './tcp-tlp.js';
import { ipHdrLen, tcpChallengeAckAllowed, tcpClose, tcpTimeWait, tcpTsval } from './tcp-subr.js';
import { keepIdleUs, tcpClearTimer, tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpSbdrop } from './tcp-sndbuf.js';
import { tcpRcvbufMeasureStart } from './tcp-sbauto.js';
import { tcpReassPresent, tcpUpdateWindow } from './tcp-input-data.js';
import { SEG_CONTINUE, SEG_DONE, tcpDropWithReset } from './tcp-input.js';
import { tcpDropAfterAck } from './tcp-input-sync.js';
import { TH_ECE } from '../wire/tcp.js';
import { TE_INRECOVERY, TE_SENDCWR, tcpEcnEnabled, tcpEcnInputEce } from './tcp-ecn.js';
import { initialWindowBytes } from './tcp-cc-newreno.js';
import { tcpPmtudAck } from './tcp-pmtud-blackhole.js';
import { tcpTfoEstablished } from './tcp-fastopen.js';

/** TCPOLEN of the largest options a data segment may carry (for TSO sizing). */
const MAX_OPTLEN = 40;

/**
 * The connection is established (SYN-ACK received, or the ACK of our SYN-ACK): ESTABLISHED (or
 * FIN_WAIT_1 when a close was asked for meanwhile), the congestion window initialized
 * (RFC 6928 IW), the route's offloads looked up (TSO, checksum), the socket connected (a child
 * moves to its listener's completed queue), the keepalive timer started.
 */
export function tcpEstablished(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const st = tcp.stats;
  const p = tcp.profile;
  tp.t_state = (tp.t_flags & TF_NEEDFIN) !== 0 ? TCPS_FIN_WAIT_1 : TCPS_ESTABLISHED;
  tp.t_flags &= ~TF_NEEDFIN;
  st.tcps_connects++;
  if ((tp.t_flags & TF_CHILD) !== 0) st.tcps_accepts++;
  tp.cc.connInit(tp, p.initialWindowSegments, now);
  const pcb = tp.t_inpcb;
  const caps = tcp.ip.linkCaps(pcb.faddr, pcb.ifscope);
  if (caps !== null) {
    tp.t_txcsum = caps.txCsumOffload;
    if (p.tso && caps.tsoMaxBytes > 0) {
      const max = (caps.tsoMaxBytes < 65535 ? caps.tsoMaxBytes : 65535) - ipHdrLen(pcb.family) - 20 - MAX_OPTLEN;
      tp.t_tsomax = max > tp.t_maxopd ? max : 0;
    }
  }
  tp.t_sndtime = now;
  tcpRcvbufMeasureStart(tp, now);
  tcpSetTimer(tcp, tp, TT_KEEP, now + keepIdleUs(tcp, tp));
  // A TFO child was connected on its SYN (XNU: isconnected = FALSE for TFO_F_COOKIE_VALID).
  if (tcpTfoEstablished(tcp, tp) && tp.so !== null) soisconnected(tp.so);
}

/**
 * XNU TCP_RESET_REXMT_STATE (bsd/netinet/tcp_var.h): t_rxtshift = 0, t_rxtstart = 0 (and MPTCP's
 * subflow state, none here). XNU's t_rxtshift is also the persist backoff, kept apart here in
 * t_persistshift, so both restart. The macro leaves t_rxtcur alone: process_ACK recomputes it
 * after (RttEstimator.rexmtValUs), the header-prediction path keeps it.
 */
export function tcpResetRexmtState(tp: Tcpcb): void {
  tp.t_rxtshift = 0;
  tp.t_rxtstart = 0;
  tp.t_persistshift = 0;
}

/** RFC 7323 §4.1 RTTM: the RTT a TSecr echoes, in µs (ms resolution), or -1 when unusable. */
export function tsRttUs(tp: Tcpcb, tsecr: number, now: Instant): number {
  const d = (tcpTsval(tp, now) - tsecr) | 0;
  return d >= 0 && d < 0x7fffffff ? d * 1000 : -1;
}

/**
 * Processes the ACK field. Returns SEG_DONE when the segment was consumed (dropped, answered, or
 * the connection closed), SEG_CONTINUE to go on with step 6 (window, urgent, data, FIN).
 */
export function tcpInputAck(tcp: Tcp, tp: Tcpcb, m: Mbuf, now: Instant): number {
  const c = tcp.inp;
  const st = tcp.stats;
  const o = tcp.optScratch;
  const p = tcp.profile;

  if (tp.t_state === TCPS_SYN_RECEIVED) {
    // RFC 9293: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state".
    if (seqLe(c.ack, tp.snd_una) || seqGt(c.ack, tp.snd_max)) {
      st.tcps_badack_synstate++;
      tcpDropWithReset(tcp, m, now);
      return SEG_DONE;
    }
    tp.snd_wnd = c.tiwin;
    tp.snd_wl1 = seqAdd(c.seq, -1);
    // Our SYN is acknowledged: it occupies one sequence number but no buffer byte.
    tp.snd_una = seqAdd(tp.iss, 1);
    if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
    if (tp.t_rtttime >= 0 && tp.t_rxtshift === 0) {
      tp.rtt.sample(now - tp.t_rtttime);
      st.tcps_rttupdated++;
    }
    tp.t_rtttime = -1;
    // XNU reaches process_ACK with t_state already ESTABLISHED: the slop applies.
    tcpResetRexmtState(tp);
    tp.t_rxtcur = tp.rtt.rexmtValUs(true);
    if (tp.snd_una === tp.snd_max) tcpClearTimer(tp, TT_REXMT);
    tcpEstablished(tcp, tp, now);
    if ((tp.t_flags & TF_CLOSED) !== 0) {
      mFreem(m);
      return SEG_DONE;
    }
    // BSD tcp_reass(tp, NULL): text that came with the SYN goes to the socket now.
    tcpReassPresent(tcp, tp);
  }

  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.MAX]. XNU answers the others
  // (dropafterack) only within the connection's challenge-ACK budget: were it to answer every one,
  // two ends that disagree on the sequence space would ACK each other's ACKs forever.
  if (seqGt(c.ack, tp.snd_max)) {
    st.tcps_rcvacktoomuch++;
    if (tcpChallengeAckAllowed(tcp, tp, now)) tcpDropAfterAck(tcp, tp, m, now);
    else mFreem(m);
    return SEG_DONE;
  }
  if (seqLt(c.ack, seqAdd(tp.snd_una, -tp.max_sndwnd))) {
    st.tcps_rcvackoutofwindow++;
    if (tcpChallengeAckAllowed(tcp, tp, now)) tcpDropAfterAck(tcp, tp, m, now);
    else mFreem(m);
    return SEG_DONE;
  }
  const sackOn = (tp.t_flags & TF_SACK_PERMIT) !== 0;
  let sacked = 0;
  if (sackOn && o.sackCount > 0 && tp.t_state >= TCPS_ESTABLISHED) {
    // The scoreboard is judged against the snd_una this ACK establishes: a block below the new
    // cumulative ACK is a D-SACK (RFC 2883 §4) even when it lies above the old snd_una.
    const una = seqGt(c.ack, tp.snd_una) && seqLe(c.ack, tp.snd_max) ? c.ack : tp.snd_una;
    sacked = tcpScoreboard(tp).updateInterleaved(una, tp.snd_max, o.sackBlocks, o.sackCount);
  }

  if (seqLe(c.ack, tp.snd_una)) {
    // RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT": no data, no window change, outstanding data, ack ==
    // snd_una. RFC 6675 §2 and XNU also count an ACK with newly SACKed data whose window changed
    // (the receiver's out-of-order queue often moves it).
    if (c.tlen === 0 && (c.tiwin === tp.snd_wnd || sacked > 0) && c.ack === tp.snd_una && tp.snd_max !== tp.snd_una &&
        (c.flags & TH_FIN) === 0) {
      st.tcps_rcvdupack++;
      if (tcpDupAck(tcp, tp, now)) {
        mFreem(m);
        return SEG_DONE;
      }
    } else {
      tp.t_dupacks = 0;
      tp.t_rexmtthresh = SACK_DUPTHRESH;
    }
    return SEG_CONTINUE;
  }

  // ---- new data acknowledged ----
  const acked = seqSub(c.ack, tp.snd_una);
  // XNU tcp_bad_rexmt_check: an ACK for data sent before the first RTO of this episode means the
  // timeout was spurious; undo it (its RTT includes the delay that caused it: not sampled).
  const badRexmt = tp.t_rxtshift > 0 && tcpDetectBadRexmt(tcp, tp, tp.t_rxtstart, now);
  if (badRexmt) {
    st.tcps_sndrexmitbad++;
    tcpBadRexmtRestoreState(tcp, tp, acked, now);
  }
  // The rest of tcp_bad_rexmt_check: PMTU black-hole revert, while t_rxtshift still tells.
  tcpPmtudAck(tcp, tp, now);
  const inRecovery = (tp.t_flags & TF_FASTRECOVERY) !== 0;
  if (inRecovery) {
    if (seqGe(c.ack, tp.snd_recover)) {
      // RFC 6582 §3.2 step 3 / RFC 6675 §5 (full ACK): recovery ends (XNU EXIT_FASTRECOVERY).
      tp.t_flags &= ~TF_FASTRECOVERY;
      tp.ecn_flags &= ~TE_INRECOVERY;
      tp.t_dupacks = 0;
      tp.t_rexmtthresh = SACK_DUPTHRESH;
      tcpClearTimer(tp, TT_PTO);
      tp.cc.postRecovery(tp, now);
    } else if ((tp.ecn_flags & TE_INRECOVERY) !== 0) {
      // XNU: after an ECE reduction the ACKs up to the recovery point are not partial ACKs (no
      // retransmission: nothing was lost), just ACKs that do not grow cwnd.
    } else {
      st.tcps_partialack++;
      if (!sackOn) tcpNewRenoPartialAck(tcp, tp, acked, now);
      // SACK: the scoreboard was updated; output below retransmits NextSeg() (RFC 6675 §5 (C)).
    }
  } else {
    tp.t_dupacks = 0;
    tp.t_rexmtthresh = SACK_DUPTHRESH;
  }
  st.tcps_rcvackpack++;
  st.tcps_rcvackbyte += acked;
  // XNU tcp_bad_rexmt_check, TLP branch: did a probe recover the last segment?
  tcpTlpAcked(tcp, tp, c.ack, badRexmt, now);

  // RTT (RFC 7323 §4.1 RTTM with TSecr; otherwise the timed segment, Karn's rule via t_rtttime).
  let sampled = false;
  if (badRexmt) {
    // XNU sets TF_RECOMPUTE_RTT and t_rtttime = 0 instead of sampling.
    tp.t_rtttime = -1;
  } else if (tp.t_rtttime >= 0 && seqGt(c.ack, tp.t_rtseq)) {
    tp.rtt.sample(now - tp.t_rtttime);
    tp.t_rtttime = -1;
    sampled = true;
  } else if (o.tsPresent && o.tsEcr !== 0 && (tp.t_flags & TF_RCVD_TSTMP) !== 0) {
    const r = tsRttUs(tp, o.tsEcr, now);
    if (r >= 0) {
      tp.rtt.sample(r);
      sampled = true;
    }
  }
  if (sampled) st.tcps_rttupdated++;
  // XNU process_ACK: every ACK of new data ends the backoff, whether or not Karn's rule allowed a
  // sample, and recomputes the RTO from the (possibly unchanged) estimator. tcp_xmit_timer's own
  // RANGESET (floor max(t_rttmin, rtt + 2)) is overwritten by this one (floor t_rttmin).
  tcpResetRexmtState(tp);
  tp.t_rxtcur = tp.rtt.rexmtValUs(tp.t_state >= TCPS_ESTABLISHED);

  // RFC 6298 §5.2/5.3: everything acked → stop the timer (and XNU's PTO); else restart it.
  if (c.ack === tp.snd_max) {
    tcpClearTimer(tp, TT_REXMT);
    tcpClearTimer(tp, TT_PTO);
  } else if (!tcpTimerArmed(tp, TT_PERSIST)) tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);

  // ECN (RFC 3168 §6.1.2): an ECE reduces the window once per window of data (tcp-ecn.ts).
  const eceReduced = tcpEcnInputEce(tcp, tp, c.flags, c.ack, now);
  if ((tp.t_flags & TF_FASTRECOVERY) === 0 && tp.t_state >= TCPS_ESTABLISHED && !inRecovery && !eceReduced) {
    tp.cc.ackReceived(tp, acked, now);
  }

  // Free what was acknowledged; a FIN counts one beyond the buffer.
  const so = tp.so;
  const sbcc = so === null ? 0 : so.so_snd.sb_cc;
  let ourfinisacked = false;
  if (acked > sbcc) {
    if (so !== null && sbcc > 0) tcpSbdrop(tp, so.so_snd, sbcc);
    tp.snd_wnd -= sbcc;
    ourfinisacked = (tp.t_flags & TF_SENTFIN) !== 0;
  } else {
    if (so !== null) tcpSbdrop(tp, so.so_snd, acked);
    tp.snd_wnd -= acked;
  }
  if (tp.snd_wnd < 0) tp.snd_wnd = 0;
  if (so !== null) sowwakeup(so);
  tp.snd_una = c.ack;
  if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
  if (seqLt(tp.snd_highrxt, tp.snd_una)) tp.snd_highrxt = tp.snd_una;
  if (seqLt(tp.snd_up, tp.snd_una)) tp.snd_up = tp.snd_una;
  if (sackOn && tp.scoreboard !== null) tp.scoreboard.ackedThrough(tp.snd_una);

  switch (tp.t_state) {
    case TCPS_FIN_WAIT_1:
      if (ourfinisacked) {
        // XNU: if we cannot receive any more, the closing user can proceed; the FIN_WAIT_2 timer
        // guards against a peer that never sends its FIN.
        if (so !== null && (so.so_state & SS_CANTRCVMORE) !== 0) {
          soisdisconnected(so);
          tcpSetTimer(tcp, tp, TT_2MSL, now + p.finWait2TimeoutMs * 1000);
        }
        tp.t_state = TCPS_FIN_WAIT_2;
      }
      break;
    case TCPS_CLOSING:
      if (ourfinisacked) {
        tcpTimeWait(tcp, tp, now);
        mFreem(m);
        return SEG_DONE;
      }
      break;
    case TCPS_LAST_ACK:
      if (ourfinisacked) {
        tcpClose(tcp, tp);
        mFreem(m);
        return SEG_DONE;
      }
      break;
    case TCPS_TIME_WAIT:
      // Only a retransmitted FIN can arrive: acknowledge it and restart 2*MSL.
      st.tcps_tw_acked++;
      tcpSetTimer(tcp, tp, TT_2MSL, now + 2 * p.mslMs * 1000);
      tcpDropAfterAck(tcp, tp, m, now);
      return SEG_DONE;
  }
  return SEG_CONTINUE;
}

/**
 * A duplicate ACK (RFC 5681 §3.2, RFC 6582, RFC 6675, RFC 3042; the threshold is t_rexmtthresh,
 * which RFC 5827 early retransmit may lower). Returns true when it was used up (fast retransmit,
 * recovery inflation, limited transmit), false to continue with step 6.
 */
function tcpDupAck(tcp: Tcp, tp: Tcpcb, now: Instant): boolean {
  const st = tcp.stats;
  const p = tcp.profile;
  const c = tcp.inp;
  const sackOn = (tp.t_flags & TF_SACK_PERMIT) !== 0;
  // XNU counts the duplicate and runs tcp_early_rexmt_check (which also ends a probe episode)
  // before it asks whether the duplicate is one to act on. A duplicate during an ECE reduction
  // means a loss as well: from here on the recovery is a loss recovery (partial ACKs count).
  tp.ecn_flags &= ~TE_INRECOVERY;
  tp.t_dupacks++;
  if ((tp.t_flags & TF_FASTRECOVERY) === 0) tcpEarlyRexmtCheck(tcp, tp, now);
  if (!tcpTimerArmed(tp, TT_REXMT) || c.ack !== tp.snd_una) {
    tp.t_dupacks = 0;
    tp.t_rexmtthresh = SACK_DUPTHRESH;
    return false;
  }
  // XNU: a larger window this duplicate carries is taken before output (a smaller one waits).
  if (c.tiwin > tp.snd_wnd) tcpUpdateWindow(tcp, tp);
  if ((tp.t_flags & TF_FASTRECOVERY) !== 0) {
    if (!sackOn) tp.snd_cwnd += tp.t_maxseg; // RFC 6582 §3.2 step 4: inflate
    tcpOutput(tcp, tp, now);
    return true;
  }
  const lost = sackOn && tp.scoreboard !== null && tp.scoreboard.isLost(tp.snd_una, tp.t_maxseg);
  if (tp.t_dupacks >= tp.t_rexmtthresh || lost) {
    // RFC 6582 §3.2 step 2: no new recovery for losses from before the last one.
    if (!seqGt(c.ack, tp.snd_recover) && tp.snd_recover !== tp.iss) {
      tp.t_dupacks = 0;
      tp.t_rexmtthresh = SACK_DUPTHRESH;
      return false;
    }
    tp.snd_recover = tp.snd_max;
    tp.t_flags |= TF_FASTRECOVERY;
    tp.cc.congSignal(tp, 'dupack', now);
    // XNU: CWR goes on the next new data after a fast retransmit too (RFC 3168 §6.1.2).
    if (tcpEcnEnabled(tp)) tp.ecn_flags |= TE_SENDCWR;
    tcpClearTimer(tp, TT_REXMT);
    tcpClearTimer(tp, TT_PTO);
    tp.t_rtttime = -1;
    st.tcps_sndfastrexmit++;
    // RFC 6675 §5 (4.2) / RFC 6582 §3.2 step 2: retransmit the first unacknowledged segment now,
    // whatever pipe and cwnd say; SACK recovery then continues with NextSeg() (step C).
    const onxt = tp.snd_nxt;
    const ocwnd = tp.snd_cwnd;
    tp.snd_nxt = tp.snd_una;
    tp.snd_cwnd = tp.t_maxseg;
    tp.t_flags &= ~TF_FASTRECOVERY;
    tcpOutput(tcp, tp, now);
    tp.t_flags |= TF_FASTRECOVERY;
    if (sackOn) {
      st.tcps_sack_recovery_episode++;
      tp.snd_highrxt = tp.snd_nxt;
      // RFC 6675 §5 (4.3): "set both HighRxt and RescueRxt to the highest sequence number in the
      // retransmitted segment" (no rescue before the cumulative ACK passes it).
      tp.snd_rescuerxt = tp.snd_nxt;
      tp.snd_cwnd = ocwnd;
      if (seqGt(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
      tcpOutput(tcp, tp, now);
      return true;
    }
    // RFC 6582 §3.2 step 2: cwnd = ssthresh + 3*SMSS.
    tp.snd_cwnd = tp.snd_ssthresh + tp.t_dupacks * tp.t_maxseg;
    if (seqGt(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
    return true;
  }
  if (p.limitedTransmit && tp.snd_nxt === tp.snd_max) {
    // RFC 3042: each of the first two duplicate ACKs may send one new segment.
    const ocwnd = tp.snd_cwnd;
    const omax = tp.snd_max;
    tp.snd_cwnd = seqSub(tp.snd_nxt, tp.snd_una) + tp.t_dupacks * tp.t_maxseg;
    tcpOutput(tcp, tp, now);
    tp.snd_cwnd = ocwnd;
    if (tp.snd_max !== omax) st.tcps_limitedxmit++;
    return true;
  }
  return false;
}

/**
 * RFC 6582 §3.2 step 5 (BSD tcp_newreno_partial_ack): retransmit the first unacknowledged
 * segment, deflate cwnd by the amount acknowledged and add back one SMSS.
 */
function tcpNewRenoPartialAck(tcp: Tcp, tp: Tcpcb, acked: number, now: Instant): void {
  const c = tcp.inp;
  const onxt = tp.snd_nxt;
  const ocwnd = tp.snd_cwnd;
  tcpClearTimer(tp, TT_REXMT);
  tp.t_rtttime = -1;
  tp.snd_nxt = c.ack;
  tp.snd_cwnd = tp.t_maxseg + acked;
  // The output below runs against the old snd_una: off = acked, one segment from c.ack.
  tcpOutput(tcp, tp, now);
  tp.snd_cwnd = ocwnd;
  if (seqGt(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
  tp.snd_cwnd = tp.snd_cwnd > acked ? tp.snd_cwnd - acked : 0;
  tp.snd_cwnd += tp.t_maxseg;
}

/** TSTMP_SUPPORTED: both sides use timestamps. */
const tstmpSupported = (tp: Tcpcb): boolean =>
  (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP);

/**
 * XNU tcp_detect_bad_rexmt; `rxtime` is t_rxtstart (the first RTO) or t_tlpstart (a probe), on our
 * TSval clock. With timestamps, the ACK's TSecr predates it (TSTMP_LT(to_tsecr, rxtime)); without,
 * only one RTO happened or the probe resent data, and the ACK came within SRTT/2 of it
 * (bad_rexmt_win = t_srtt >> (TCP_RTT_SHIFT + 1)).
 */
export function tcpDetectBadRexmt(tcp: Tcp, tp: Tcpcb, rxtime: number, now: Instant): boolean {
  if (rxtime === 0) return false;
  // "If the ack has ECN CE bit, then cwnd has to be adjusted": an ECE never makes a timeout spurious.
  if (tcpEcnEnabled(tp) && (tcp.inp.flags & TH_ECE) !== 0) return false;
  if (tstmpSupported(tp)) {
    const o = tcp.optScratch;
    return o.tsPresent && o.tsEcr !== 0 && ((o.tsEcr - rxtime) | 0) < 0;
  }
  return (tp.t_rxtshift === 1 || tcpSentTlpRetrans(tp)) && ((tcpTsval(tp, now) - rxtime) | 0) < tp.rtt.srttUs / 2000;
}

/**
 * XNU tcp_bad_rexmt_restore_state. The congestion controller undoes the RTO ('rto-undo': cwnd,
 * ssthresh and its own state as before the timeout). With timestamps (RFC 4015 §3.2) cwnd is
 * then FlightSize + min(acked, IW); without, a recovery the RTO interrupted resumes. cwnd is at
 * least IW; snd_recover comes back and snd_nxt goes to snd_max (no go-back-N resend).
 */
function tcpBadRexmtRestoreState(tcp: Tcp, tp: Tcpcb, acked: number, now: Instant): void {
  tp.cc.congSignal(tp, 'rto-undo', now);
  const iw = initialWindowBytes(tp.t_maxseg, tcp.profile.initialWindowSegments);
  if (tstmpSupported(tp)) {
    const fsize = seqSub(tp.snd_max, tcp.inp.ack);
    tp.snd_cwnd = fsize + (acked < iw ? acked : iw);
  } else if (tp.t_wasfrecovery) {
    tp.t_flags |= TF_FASTRECOVERY;
  }
  if (tp.snd_cwnd < iw) tp.snd_cwnd = iw;
  tp.snd_recover = tp.snd_recover_prev;
  tp.snd_nxt = tp.snd_max;
}
