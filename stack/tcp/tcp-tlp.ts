// Tail loss recovery as XNU does it with net.inet.tcp.rack=0: tail loss probes (the TCPT_PTO timer
// of bsd/netinet/tcp_timer.c, armed by tcp_output, answered in tcp_input's tcp_bad_rexmt_check) and
// RFC 5827 early retransmit (tcp_input.c tcp_early_rexmt_check), which turns the SACK a probe draws
// into a fast retransmit when only a few segments are outstanding.
//
//   tcp-output-seg.ts (new data sent) → tcpTlpArm;  tcp-timers.ts (TT_PTO due) → tcpTimerPto
//   tcp-input-ack.ts: ACK of new data → tcpTlpAcked;  duplicate ACK → tcpEarlyRexmtCheck
//
// Current XNU turns RACK on by default (net.inet.tcp.rack=1, tcp_newtcpcb sets TF_RACK_ENABLED), but
// arming, the PTO value and the probe are the same code with or without it; RACK only changes how
// the probe's SACK is judged (time-based marking instead of the lowered duplicate-ACK threshold).
// This stack has no RACK, so it follows XNU's RACK-off path, which XNU still supports and keeps.

import type { Instant } from '../time/instant.js';
import { seqAdd, seqGe, seqGt, seqSub } from '../wire/seq.js';
import type { Tcp } from './tcp.js';
import { TCPS_ESTABLISHED } from './tcp-fsm.js';
import {
  TF_CLOSED, TF_FASTRECOVERY, TF_SACK_PERMIT, TF_SENT_TLPROBE, TF_TLP_IS_RETRANS, TT_PERSIST, TT_PTO, TT_REXMT,
  Tcpcb,
} from './tcp-var.js';
import { SACK_DUPTHRESH } from './tcp-sack.js';
import { tcpClearTimer, tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpTsval } from './tcp-subr.js';
import { tcpDetectBadRexmt } from './tcp-input-ack.js';

/** XNU tcp_sent_tlp_retrans: the outstanding probe resent the last segment. */
export const tcpSentTlpRetrans = (tp: Tcpcb): boolean =>
  (tp.t_flags & (TF_SENT_TLPROBE | TF_TLP_IS_RETRANS)) === (TF_SENT_TLPROBE | TF_TLP_IS_RETRANS);

/** The probe episode is over (XNU clears TF_SENT_TLPROBE, t_tlphighrxt and t_tlpstart together). */
export function tcpTlpClear(tp: Tcpcb): void {
  tp.t_flags &= ~TF_SENT_TLPROBE;
  tp.t_tlphighrxt = 0;
  tp.t_tlpstart = 0;
}

/**
 * The probe timeout in µs, XNU tcp_output: 2 * SRTT (whole ms, t_srtt >> TCP_RTT_SHIFT), plus the
 * peer's delayed-ACK time (tcp_delack) when at most one segment is outstanding, whose ACK the peer
 * may hold, else plus 2 ms; never later than the RTO.
 */
export function tcpPtoUs(tcp: Tcp, tp: Tcpcb): number {
  const p = tcp.profile;
  let pto = 2 * Math.floor(tp.rtt.srttUs / 1000) * 1000;
  pto += seqSub(tp.snd_max, tp.snd_una) <= tp.t_maxseg ? p.delAckMs * 1000 : p.ptoSlopMs * 1000;
  return tp.t_rxtcur < pto ? tp.t_rxtcur : pto;
}

/**
 * tcp_output after a segment with `len` data bytes went out in transmit state: every segment of new
 * data that reaches snd_max re-arms the PTO, on an established SACK connection outside recovery,
 * with no retransmission timeout and no probe pending (XNU also skips connections that saw
 * reordering, TF_PKTS_REORDERED, which this stack does not detect).
 */
export function tcpTlpArm(tcp: Tcp, tp: Tcpcb, len: number, now: Instant): void {
  if (!tcp.profile.tailLossProbe || len === 0 || tp.t_state !== TCPS_ESTABLISHED ||
      (tp.t_flags & (TF_SACK_PERMIT | TF_FASTRECOVERY | TF_SENT_TLPROBE)) !== TF_SACK_PERMIT ||
      tp.snd_nxt !== tp.snd_max || !seqGt(tp.snd_nxt, tp.snd_una) || tp.t_rxtshift !== 0) {
    return;
  }
  tcpSetTimer(tcp, tp, TT_PTO, now + tcpPtoUs(tcp, tp));
}

/**
 * XNU tcp_timers TCPT_PTO. In ESTABLISHED with data outstanding, SACK, no RTO and no recovery, one
 * probe goes out: new data when the peer's window has room for some (min(sb_cc, snd_wnd) beyond
 * what is outstanding), else the last segment (at most one MSS) again. cwnd grows by one MSS for
 * that output only; the RTT timing stops (Karn); the retransmission timer restarts from the probe.
 */
export function tcpTimerPto(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  tp.t_flags &= ~TF_SENT_TLPROBE;
  if (tp.t_state !== TCPS_ESTABLISHED || tp.t_rxtshift > 0 || tp.snd_max === tp.snd_una ||
      (tp.t_flags & (TF_SACK_PERMIT | TF_FASTRECOVERY)) !== TF_SACK_PERMIT) {
    return;
  }
  const so = tp.so;
  const sbcc = so === null ? 0 : so.so_snd.sb_cc;
  const out = seqSub(tp.snd_max, tp.snd_una);
  const room = (sbcc < tp.snd_wnd ? sbcc : tp.snd_wnd) - out;
  if (room > 0) {
    tp.snd_nxt = tp.snd_max;
    tp.t_flags &= ~TF_TLP_IS_RETRANS;
  } else {
    tp.snd_nxt = seqAdd(tp.snd_max, -(out < tp.t_maxseg ? out : tp.t_maxseg));
    tp.t_flags |= TF_TLP_IS_RETRANS;
  }
  tcp.stats.tcps_pto++;
  tp.t_rtttime = -1;
  tp.t_flags |= TF_SENT_TLPROBE;
  tp.t_tlpstart = tcpTsval(tp, now) || 1;
  tp.snd_cwnd += tp.t_maxseg;
  // XNU: "a probe just got sent, so we are good to push out the timer": tcp_output re-arms it.
  tcpClearTimer(tp, TT_REXMT);
  tcpOutput(tcp, tp, now);
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  if (!tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST) && so !== null && so.so_snd.sb_cc > 0) {
    tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
  }
  tp.snd_cwnd -= tp.t_maxseg;
  tp.t_tlphighrxt = tp.snd_nxt;
}

/**
 * The TLP part of XNU tcp_bad_rexmt_check, for an ACK of new data (`rtoUndone`: the spurious-RTO
 * branch took it). When a probe that resent the last segment is acknowledged and the ACK does not
 * show the original arrived first (tcp_detect_bad_rexmt against t_tlpstart), the tail really was
 * lost: tcps_tlp_recoverlastpkt, and outside recovery the window comes down as for a fast
 * retransmit (tcp_enter_fast_recovery, then EXIT_FASTRECOVERY at once). The probe episode ends.
 */
export function tcpTlpAcked(tcp: Tcp, tp: Tcpcb, ack: number, rtoUndone: boolean, now: Instant): void {
  if (!rtoUndone && tcpSentTlpRetrans(tp) && tp.t_tlpstart !== 0 && seqGe(ack, tp.t_tlphighrxt) &&
      !tcpDetectBadRexmt(tcp, tp, tp.t_tlpstart, now)) {
    tcp.stats.tcps_tlp_recoverlastpkt++;
    if ((tp.t_flags & TF_FASTRECOVERY) === 0) {
      // XNU tcp_enter_fast_recovery: pre_fr, cwnd = ssthresh, timers and RTT timing off. It also
      // moves snd_recover, which XNU's SACK path never reads to enter recovery; tcpDupAck applies
      // RFC 6582's recover test with SACK too, so moving it here would block the next fast retransmit.
      tp.cc.congSignal(tp, 'dupack', now);
      tp.snd_cwnd = tp.snd_ssthresh;
      tcpClearTimer(tp, TT_REXMT);
      tcpClearTimer(tp, TT_PTO);
      tp.t_rtttime = -1;
      tp.t_dupacks = 0;
      tp.t_rexmtthresh = SACK_DUPTHRESH;
    }
  }
  tcpTlpClear(tp);
}

/**
 * XNU tcp_early_rexmt_check (RFC 5827), on a duplicate ACK outside recovery after t_dupacks counted
 * it. With SACK holes or on the first duplicate ACK, fewer than 4 segments outstanding (SACKed bytes
 * left out) and nothing new the peer's window would take, the threshold becomes segments - 1, at
 * least 1, at most tcprexmtthresh and never below the duplicates already seen. After a probe this is
 * TLP recovery (tcps_tlp_recovery); otherwise an early retransmit, which without SACK is limited to
 * earlyRexmtLimit per earlyRexmtWinMs. Either way the probe episode ends here.
 */
export function tcpEarlyRexmtCheck(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const p = tcp.profile;
  if (p.earlyRetransmit) {
    const sackOn = (tp.t_flags & TF_SACK_PERMIT) !== 0;
    const sb = tp.scoreboard;
    const holes = sackOn && sb !== null && sb.holeCount > 0;
    if (tp.t_early_rexmt_count > 0 && now >= tp.t_early_rexmt_win + p.earlyRexmtWinMs * 1000) tp.t_early_rexmt_count = 0;
    if ((sackOn || tp.t_early_rexmt_count < p.earlyRexmtLimit) && seqGt(tp.snd_max, tp.snd_una) &&
        (tp.t_dupacks === 1 || holes)) {
      const out = seqSub(tp.snd_max, tp.snd_una);
      // XNU tcp_flight_size with holes: snd_nxt - snd_una less the SACKed bytes.
      let obytes = out;
      if (holes) {
        obytes = seqSub(tp.snd_nxt, tp.snd_una) - sb.sackedBytes;
        if (obytes < 0) obytes = 0;
      }
      const so = tp.so;
      const sbcc = so === null ? 0 : so.so_snd.sb_cc;
      const sndLen = (sbcc < tp.snd_wnd ? sbcc : tp.snd_wnd) - out;
      const mss = tp.t_maxseg;
      if (obytes < 4 * mss && sndLen <= 0) {
        const osegs = Math.ceil(obytes / mss);
        if (osegs < 4) {
          let thresh = osegs - 1 > 1 ? osegs - 1 : 1;
          if (thresh > SACK_DUPTHRESH) thresh = SACK_DUPTHRESH;
          if (thresh < tp.t_dupacks) thresh = tp.t_dupacks;
          tp.t_rexmtthresh = thresh;
          if (tp.t_early_rexmt_count === 0) tp.t_early_rexmt_win = now;
          if ((tp.t_flags & TF_SENT_TLPROBE) !== 0) {
            tcp.stats.tcps_tlp_recovery++;
          } else {
            tcp.stats.tcps_early_rexmt++;
            tp.t_early_rexmt_count++;
          }
        }
      }
    }
  }
  // XNU: the ACK of a probe reaches early retransmit with snd_fack near snd_max; the episode ends.
  tcpTlpClear(tp);
}
