// Header prediction (Van Jacobson's fast path, as in XNU's tcp_input): the two common segments
// of a one-way bulk transfer in ESTABLISHED are handled here without the general path's checks.
//  - A pure ACK for outstanding data (the sending side): no data, the ACK advances snd_una,
//    congestion avoidance (snd_cwnd >= snd_ssthresh), no recovery, no SACK information.
//  - Pure in-order data (the receiving side): the ACK does not move, nothing is queued out of
//    order, and the data fits the receive buffer.
// Both need: only ACK (PSH allowed) among the flags, no pending FIN, the segment at rcv_nxt, the
// timestamp not older than TS.Recent (RFC 7323 §5.3), a nonzero window equal to snd_wnd, and not
// retransmitting (snd_nxt == snd_max). Anything else falls through to tcp-input-sync.ts.
//
// tcp-input.ts → tcpInputSync → tcpHeaderPrediction (here) → tcp-output.ts

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import type { Instant } from '../time/instant.js';
import { seqAdd, seqGt, seqLe, seqLt, seqSub } from '../wire/seq.js';
import { TH_ACK, TH_PUSH } from '../wire/tcp.js';
import { sowwakeup } from '../socket/socket.js';
import { SS_CANTRCVMORE } from '../socket/constants.js';
import type { Tcp } from './tcp.js';
import { TCPS_ESTABLISHED } from './tcp-fsm.js';
import {
  TF_ACKNOW, TF_FASTRECOVERY, TF_NEEDFIN, TF_RCVD_TSTMP, TF_SACK_PERMIT, TF_SENT_TLPROBE, TT_PERSIST, TT_PTO,
  TT_REXMT, Tcpcb, tcpReassEmpty,
} from './tcp-var.js';
import { SACK_DUPTHRESH } from './tcp-sack.js';
import { tcpClearTimer, tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpSbdrop } from './tcp-sndbuf.js';
import { tcpResetRexmtState, tsRttUs } from './tcp-input-ack.js';
import { tcpDeliver } from './tcp-input-data.js';
import { tcpDelayAck } from './tcp-delack.js';
import { tcpRcvbufGrow } from './tcp-sbauto.js';
import { tsLt } from './tcp-input.js';
import { tcpPmtudAck } from './tcp-pmtud-blackhole.js';

/** Returns true when the segment was consumed by the fast path (`m` is then owned/freed). */
export function tcpHeaderPrediction(tcp: Tcp, tp: Tcpcb, m: Mbuf, now: Instant): boolean {
  const c = tcp.inp;
  const o = tcp.optScratch;
  const so = tp.so;
  if (tp.t_state !== TCPS_ESTABLISHED || so === null || (so.so_state & SS_CANTRCVMORE) !== 0 ||
      (c.flags & ~TH_PUSH) !== TH_ACK || (tp.t_flags & TF_NEEDFIN) !== 0 || c.badopt ||
      c.seq !== tp.rcv_nxt || c.tiwin === 0 || c.tiwin !== tp.snd_wnd || tp.snd_nxt !== tp.snd_max) {
    return false;
  }
  const ts = o.tsPresent && (tp.t_flags & TF_RCVD_TSTMP) !== 0;
  if (ts && tp.ts_recent !== 0 && tsLt(o.tsVal, tp.ts_recent)) return false;
  const st = tcp.stats;
  const sackOn = (tp.t_flags & TF_SACK_PERMIT) !== 0;

  if (c.tlen === 0) {
    // After an RTO (t_rxtshift > 0) or a tail loss probe the general path runs: it checks whether
    // the timeout was spurious or the probe recovered the last segment.
    if (!seqGt(c.ack, tp.snd_una) || !seqLe(c.ack, tp.snd_max) || tp.snd_cwnd < tp.snd_ssthresh ||
        (tp.t_flags & (TF_FASTRECOVERY | TF_SENT_TLPROBE)) !== 0 || tp.t_rxtshift !== 0 ||
        (sackOn ? o.sackCount !== 0 || (tp.scoreboard !== null && tp.scoreboard.rangeCount !== 0) : tp.t_dupacks >= tp.t_rexmtthresh)) {
      return false;
    }
    // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
    if (ts && seqLe(c.seq, tp.last_ack_sent)) {
      tp.ts_recent = o.tsVal;
      tp.ts_recent_age = now;
    }
    st.tcps_predack++;
    // XNU calls tcp_bad_rexmt_check here too: with t_rxtshift 0 it only resets the PMTU state.
    tcpPmtudAck(tcp, tp, now);
    // RTT: RFC 7323 §4.1 RTTM with TSecr, else the timed segment (Karn's rule via t_rtttime).
    let sampled = false;
    if (tp.t_rtttime >= 0 && seqGt(c.ack, tp.t_rtseq)) {
      tp.rtt.sample(now - tp.t_rtttime);
      tp.t_rtttime = -1;
      sampled = true;
    } else if (ts && o.tsEcr !== 0) {
      const r = tsRttUs(tp, o.tsEcr, now);
      if (r >= 0) {
        tp.rtt.sample(r);
        sampled = true;
      }
    }
    if (sampled) {
      // XNU tcp_xmit_timer: TCPT_RANGESET(t_rxtcur, TCP_REXMTVAL, max(t_rttmin, rtt + 2), ..., slop).
      st.tcps_rttupdated++;
      tp.t_rxtcur = tp.rtt.rtoUs();
    }
    const acked = seqSub(c.ack, tp.snd_una);
    // XNU TCP_RESET_REXMT_STATE, sample or not (here t_rxtshift is already 0; it also restarts a
    // persist backoff). Unlike process_ACK, XNU's header prediction does not recompute t_rxtcur.
    tcpResetRexmtState(tp);
    st.tcps_rcvackpack++;
    st.tcps_rcvackbyte += acked;
    // The congestion controller sees the ACK before snd_una moves (XNU congestion_avd).
    tp.cc.ackReceived(tp, acked, now);
    tcpSbdrop(tp, so.so_snd, acked);
    tp.snd_wnd -= acked;
    if (tp.snd_wnd < 0) tp.snd_wnd = 0;
    tp.snd_una = c.ack;
    // Pull snd_wl2 up to prevent sequence wrap relative to the ACK.
    tp.snd_wl2 = c.ack;
    if (seqLt(tp.snd_highrxt, tp.snd_una)) tp.snd_highrxt = tp.snd_una;
    if (seqLt(tp.snd_up, tp.snd_una)) tp.snd_up = tp.snd_una;
    if (sackOn && tp.scoreboard !== null) tp.scoreboard.ackedThrough(tp.snd_una);
    tp.t_dupacks = 0;
    tp.t_rexmtthresh = SACK_DUPTHRESH;
    // RFC 6298 §5.2/5.3 (and XNU's PTO with the retransmission timer).
    if (tp.snd_una === tp.snd_max) {
      tcpClearTimer(tp, TT_REXMT);
      tcpClearTimer(tp, TT_PTO);
    } else if (!tcpTimerArmed(tp, TT_PERSIST)) tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
    mFreem(m);
    sowwakeup(so);
    if (so.so_snd.sb_cc > 0 || (tp.t_flags & TF_ACKNOW) !== 0) tcpOutput(tcp, tp, now);
    return true;
  }

  if (c.ack !== tp.snd_una || !tcpReassEmpty(tp) || c.tlen > so.so_rcv.sbspace()) return false;
  if (ts && seqLe(c.seq, tp.last_ack_sent)) {
    tp.ts_recent = o.tsVal;
    tp.ts_recent_age = now;
  }
  st.tcps_preddat++;
  const tlen = c.tlen;
  tp.rcv_nxt = seqAdd(tp.rcv_nxt, tlen);
  // Pull snd_wl1 and rcv_up up to prevent sequence wrap relative to seq / rcv_nxt.
  tp.snd_wl1 = c.seq;
  tp.rcv_up = tp.rcv_nxt;
  // Nothing is out of order: any SACK report left is stale.
  if (tp.sackRcv !== null) tp.sackRcv.advance(tp.rcv_nxt);
  st.tcps_rcvpack++;
  st.tcps_rcvbyte += tlen;
  tcpRcvbufGrow(tcp, tp, tlen, now);
  tcpDeliver(tcp, tp, m, tlen);
  tcpDelayAck(tcp, tp, tlen, now);
  if ((tp.t_flags & TF_ACKNOW) !== 0) tcpOutput(tcp, tp, now);
  return true;
}
