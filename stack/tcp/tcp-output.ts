// tcp_output (bsd/netinet/tcp_output.c): decides whether a segment is due and what it holds:
// new data within min(snd_wnd, snd_cwnd), retransmissions from snd_nxt or the SACK scoreboard
// (RFC 6675 NextSeg), SYN/FIN/RST per state, window updates, ACKs, urgent pointer, persist
// probes. Sender silly-window avoidance and Nagle (RFC 9293 §3.8.6.2.1), receiver SWS avoidance
// (§3.8.6.2.2), congestion window restart after idle (RFC 7661). With a TSO-capable link one
// super-segment of up to min(64 KB, tsoMaxBytes) goes out per send opportunity; a tail loss probe
// (tcp-tlp.ts) is one segment.
// callers: tcp-input*.ts, tcp-usrreq.ts, tcp-timers.ts → here → tcp-output-seg.ts → IpOutput.

import type { Instant } from '../time/instant.js';
import { seqAdd, seqGt, seqLt, seqMax, seqSub } from '../wire/seq.js';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../wire/tcp.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2,
  TCPS_LAST_ACK, TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT,
} from './tcp-fsm.js';
import {
  TF_ACKNOW, TF_CLOSED, TF_FASTRECOVERY, TF_FORCEDATA, TF_MAXSEGSNT, TF_NODELAY, TF_NOPUSH,
  TF_SACK_PERMIT, TF_SENT_TLPROBE, TF_SENTFIN, TF_STRETCHACK, TT_PERSIST, TT_PTO, TT_REXMT, Tcpcb, TCP_MAXWIN,
} from './tcp-var.js';
import { EMPTY_SCOREBOARD } from './tcp-sack.js';
import { tcpClearTimer, tcpSetPersist, tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpDataOptions, tcpSynOptions } from './tcp-opts.js';
import { tcpSendSegment } from './tcp-output-seg.js';
import { tcpSndbufGrow } from './tcp-sbauto.js';
import { TE_INRECOVERY } from './tcp-ecn.js';

/** tcp_outflags: the flags a segment carries in each state (BSD netinet/tcp_fsm.h). */
export function tcpOutflags(state: number): number {
  switch (state) {
    case TCPS_CLOSED: return TH_RST | TH_ACK;
    case TCPS_LISTEN: return 0;
    case TCPS_SYN_SENT: return TH_SYN;
    case TCPS_SYN_RECEIVED: return TH_SYN | TH_ACK;
    case TCPS_ESTABLISHED: return TH_ACK;
    case TCPS_CLOSE_WAIT: return TH_ACK;
    case TCPS_FIN_WAIT_1: return TH_FIN | TH_ACK;
    case TCPS_CLOSING: return TH_FIN | TH_ACK;
    case TCPS_LAST_ACK: return TH_FIN | TH_ACK;
    case TCPS_FIN_WAIT_2: return TH_ACK;
    case TCPS_TIME_WAIT: return TH_ACK;
    default: return 0;
  }
}

/** Most segments one tcp_output call sends (the window bounds it anyway; this bounds the loop). */
const MAX_SEND_PER_CALL = 1024;

/** Scratch for SACK NextSeg (one per call chain is enough: tcpOutput is not re-entered). */
interface SegRange { start: number; end: number }

/**
 * The receive window to advertise now: sbspace(so_rcv), zero when below both a quarter of the
 * buffer and one MSS (receiver SWS avoidance), at most TCP_MAXWIN << rcv_scale, and never less
 * than what was already advertised (a window is never shrunk, RFC 9293 §3.8.6.2.2).
 */
export function tcpRecvWindow(tp: Tcpcb): number {
  const so = tp.so;
  let win = so === null ? 0 : so.so_rcv.sbspace();
  if (so !== null && win < (so.so_rcv.sb_hiwat >>> 2) && win < tp.t_maxseg) win = 0;
  const max = TCP_MAXWIN << tp.rcv_scale;
  if (win > max) win = max;
  const adv = seqSub(tp.rcv_adv, tp.rcv_nxt);
  if (win < adv) win = adv;
  return win;
}

export function tcpOutput(tcp: Tcp, tp: Tcpcb, now: Instant): number {
  if ((tp.t_flags & TF_CLOSED) !== 0) return 0;
  const p = tcp.profile;
  const so = tp.so;
  const rng: SegRange = tcp.inp.segRange;
  // XNU tcp_output computes `idle` once, before `again:`: the segments one call sends after the
  // first still count as sent from idle (the sub-MSS tail of a write is not held by Nagle).
  const idle = tp.snd_max === tp.snd_una;
  // RFC 7661 / RFC 2861: after an idle period longer than the RTO the window is restarted.
  if (p.cwndValidation && tp.snd_max === tp.snd_una && tp.t_state === TCPS_ESTABLISHED && so !== null &&
      so.so_snd.sb_cc > 0) {
    const last = tp.t_sndtime > tp.t_rcvtime ? tp.t_sndtime : tp.t_rcvtime;
    if (last !== 0 && now - last >= tp.t_rxtcur) {
      tp.cc.afterIdle(tp, now - last, now);
      tcp.stats.tcps_idle_restart++;
    }
  }
  for (let iter = 0; iter < MAX_SEND_PER_CALL; iter++) {
    if ((tp.t_flags & TF_CLOSED) !== 0) return 0;
    const sbcc = so === null ? 0 : so.so_snd.sb_cc;
    let off = seqSub(tp.snd_nxt, tp.snd_una);
    if (off < 0) {
      tp.snd_nxt = tp.snd_una;
      off = 0;
    }
    let sendwin = tp.snd_wnd < tp.snd_cwnd ? tp.snd_wnd : tp.snd_cwnd;
    if (iter === 0 && so !== null && tp.t_state === TCPS_ESTABLISHED) tcpSndbufGrow(tcp, tp, sendwin);
    let flags = tcpOutflags(tp.t_state);
    // The SYN goes out only at iss (first transmission or retransmission from snd_una).
    if ((flags & TH_SYN) !== 0 && tp.snd_nxt !== tp.iss) flags &= ~TH_SYN;
    let sendalot = false;
    let len = 0;
    let sackRxmit = false;
    let rescue = false;
    let pipeLimited = false;
    let segSeq = tp.snd_nxt;

    // RFC 6675 §5 (C): during SACK recovery retransmit NextSeg() while pipe < cwnd. A reduction
    // that ECE started (TE_INRECOVERY) lost nothing: the ordinary window rules apply (XNU sends from
    // the scoreboard only what tcp_sack_output finds, nothing without holes, and no rescue).
    if ((tp.t_flags & (TF_FASTRECOVERY | TF_SACK_PERMIT)) === (TF_FASTRECOVERY | TF_SACK_PERMIT) &&
        tp.t_state >= TCPS_ESTABLISHED && (tp.ecn_flags & TE_INRECOVERY) === 0) {
      const sb = tp.scoreboard ?? EMPTY_SCOREBOARD;
      const pipe = sb.pipe(tp.snd_una, tp.snd_max, tp.snd_highrxt, tp.t_maxseg);
      const cwin = tp.snd_cwnd - pipe;
      if (cwin < tp.t_maxseg) {
        // No room in the pipe for even a retransmission: only ACKs, window updates, FIN may go.
        pipeLimited = true;
      } else if (sb.nextSeg(tp.snd_una, tp.snd_max, tp.snd_highrxt, tp.t_maxseg, rng)) {
        sackRxmit = true;
        segSeq = rng.start;
        len = seqSub(rng.end, rng.start);
        off = seqSub(rng.start, tp.snd_una);
      } else {
        // Rule (2): new data, limited by what pipe leaves of cwnd.
        const room = cwin - 0;
        const wnd = seqSub(seqAdd(tp.snd_una, tp.snd_wnd), tp.snd_nxt);
        const sbcc0 = so === null ? 0 : so.so_snd.sb_cc;
        if (off < sbcc0 && wnd > 0) {
          sendwin = off + (room < wnd ? room : wnd);
          if (sendwin < off) sendwin = off;
        } else if (sb.nextSeg(tp.snd_una, tp.snd_max, tp.snd_highrxt, tp.t_maxseg, rng, true)) {
          // Rule (3): no new data can go: an unSACKed segment below the highest SACKed one,
          // even if not yet deemed lost.
          sackRxmit = true;
          segSeq = rng.start;
          len = seqSub(rng.end, rng.start);
          off = seqSub(rng.start, tp.snd_una);
          tcp.stats.tcps_sack_rule3++;
        } else if (seqGt(tp.snd_una, tp.snd_rescuerxt) &&
            sb.rescueSeg(tp.snd_una, seqAdd(tp.snd_una, Math.min(seqSub(tp.snd_max, tp.snd_una), sbcc0)), tp.t_maxseg, rng)) {
          // Rule (4), RFC 6675 §4: "If the conditions for rules (1), (2), and (3) fail, but
          // HighACK > RescueRxt (or RescueRxt is undefined), then one segment of upto SMSS octets
          // that MUST include the highest outstanding unSACKed sequence number SHOULD be returned,
          // and RescueRxt set to RecoveryPoint. HighRxt MUST NOT be updated."
          sackRxmit = true;
          rescue = true;
          segSeq = rng.start;
          len = seqSub(rng.end, rng.start);
          off = seqSub(rng.start, tp.snd_una);
          tp.snd_rescuerxt = tp.snd_recover;
          tcp.stats.tcps_sack_rescue++;
        } else {
          sendwin = off;
        }
      }
    }
    if ((tp.t_flags & TF_FORCEDATA) !== 0) {
      if (sendwin === 0) {
        // tcp_setpersist's probe: one byte into the zero window, if there is data.
        if (off < sbcc) sendwin = 1;
        else {
          tcpClearTimer(tp, TT_PERSIST);
          tp.t_persistshift = 0;
          tp.t_persist_stop = 0;
        }
      } else {
        // XNU tcp_output (TF_FORCE): the window is open, so persisting is over.
        tcpClearTimer(tp, TT_PERSIST);
        tp.t_persistshift = 0;
        tp.t_persist_stop = 0;
      }
    }
    if (!sackRxmit && !pipeLimited) {
      len = (sbcc < sendwin ? sbcc : sendwin) - off;
      if (len < 0) {
        // FIN sent and not yet acked, or the window shrank after we sent into it.
        len = 0;
        if (sendwin === 0) {
          tcpClearTimer(tp, TT_REXMT);
          tcpClearTimer(tp, TT_PTO);
          tp.t_rxtshift = 0;
          tp.snd_nxt = tp.snd_una;
          off = 0;
          segSeq = tp.snd_nxt;
          if (!tcpTimerArmed(tp, TT_PERSIST)) tcpSetPersist(tcp, tp, now);
        }
      }
    }
    // No data rides on a SYN, nor before the connection is synchronized: not even what a TFO
    // child accepted in SYN_RECEIVED was given to send (it waits for the ACK; tcp-fastopen.ts).
    if ((flags & TH_SYN) !== 0 || tp.t_state < TCPS_ESTABLISHED) len = 0;

    // Options now: their length limits the data of a segment.
    const optBuf = tcp.optBuf;
    const optlen = (flags & TH_SYN) !== 0
      ? tcpSynOptions(tcp, tp, tp.t_state === TCPS_SYN_RECEIVED, now, optBuf)
      : tcpDataOptions(tcp, tp, now, optBuf);
    let maxLen = tp.t_maxopd - optlen;
    if (maxLen < 1) maxLen = 1;
    let tso = false;
    if (len > maxLen) {
      const tsoMax = tp.t_tsomax;
      if (tsoMax > maxLen && !sackRxmit && p.tso) {
        let cap = tsoMax;
        if (len > cap) {
          len = cap - (cap % maxLen);
          sendalot = true;
        } else if (off + len < sbcc && len % maxLen !== 0) {
          // Leave the runt for later, where Nagle can decide about it.
          len -= len % maxLen;
          sendalot = true;
        }
        tso = len > maxLen;
      } else {
        len = maxLen;
        sendalot = !sackRxmit;
      }
    }
    // XNU: a tail loss probe is one segment at most.
    if ((tp.t_flags & TF_SENT_TLPROBE) !== 0) {
      if (len > maxLen) len = maxLen;
      sendalot = false;
      tso = false;
    }
    if (pipeLimited) flags &= ~TH_FIN;
    if (!sackRxmit && (flags & TH_FIN) !== 0 && seqAdd(tp.snd_nxt, len) !== seqAdd(tp.snd_una, sbcc)) flags &= ~TH_FIN;
    if (sackRxmit) flags &= ~TH_FIN;

    const recwin = tcpRecvWindow(tp);

    // ---- is a segment due? ----
    let send = false;
    if (len > 0) {
      // Nagle (RFC 9293 §3.7.4). XNU tcp_output also lets the last piece of the buffer go when the
      // previous data segment was full-sized: (idle || TF_NODELAY || TF_MAXSEGSNT || limited
      // transmit) && !TF_NOPUSH && len + off >= sb_cc.
      const nagleOff = idle || (tp.t_flags & TF_NODELAY) !== 0 ||
        (p.nagleAfterFullSegment && (tp.t_flags & TF_MAXSEGSNT) !== 0);
      if (len >= maxLen) send = true;
      else if (nagleOff && (tp.t_flags & TF_NOPUSH) === 0 && off + len >= sbcc) send = true;
      else if ((tp.t_flags & TF_FORCEDATA) !== 0) send = true;
      else if (tp.max_sndwnd > 0 && len >= tp.max_sndwnd >>> 1) send = true;
      else if (seqLt(tp.snd_nxt, tp.snd_max)) send = true;
      else if (sackRxmit) send = true;
    }
    let winupdate = false;
    if (!send && so !== null && recwin > 0 && tp.t_state >= TCPS_ESTABLISHED && tp.t_state !== TCPS_TIME_WAIT) {
      const max = TCP_MAXWIN << tp.rcv_scale;
      const adv = (recwin < max ? recwin : max) - seqSub(tp.rcv_adv, tp.rcv_nxt);
      // XNU: while stretching ACKs, window updates of two segments are left to the stretch ACK
      // or the delayed-ACK timer (otherwise every read would undo the stretching).
      if ((adv >= 2 * tp.t_maxseg && (tp.t_flags & TF_STRETCHACK) === 0) || 2 * adv >= so.so_rcv.sb_hiwat) {
        send = true;
        winupdate = true;
      }
    }
    if ((tp.t_flags & TF_ACKNOW) !== 0) send = true;
    if ((flags & (TH_SYN | TH_RST)) !== 0) send = true;
    if (seqGt(tp.snd_up, tp.snd_una) && tp.t_state >= TCPS_ESTABLISHED) send = true;
    if ((flags & TH_FIN) !== 0 && ((tp.t_flags & TF_SENTFIN) === 0 || tp.snd_nxt === tp.snd_una)) send = true;
    if (!send) {
      // Data waiting and no timer running: start probing the window (tcp_setpersist).
      if (tp.snd_max !== tp.snd_una && !tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST)) {
        // Data in flight must always be covered by the retransmission timer.
        tcpSetTimer(tcp, tp, TT_REXMT, now + tp.t_rxtcur);
      } else if (sbcc > 0 && !tcpTimerArmed(tp, TT_REXMT) && !tcpTimerArmed(tp, TT_PERSIST)) {
        tp.t_rxtshift = 0;
        tp.t_persistshift = 0;
        tcpSetPersist(tcp, tp, now);
      }
      return 0;
    }
    // Resending a FIN: back up over it.
    if ((flags & TH_FIN) !== 0 && (tp.t_flags & TF_SENTFIN) !== 0 && tp.snd_nxt === tp.snd_max && !sackRxmit) {
      tp.snd_nxt = seqAdd(tp.snd_nxt, -1);
      segSeq = tp.snd_nxt;
    }
    // XNU tcp_output `send:`: TF_MAXSEGSNT records whether this data segment is full-sized.
    if (len > 0) {
      if (len >= maxLen) tp.t_flags |= TF_MAXSEGSNT;
      else tp.t_flags &= ~TF_MAXSEGSNT;
    }
    const e = tcpSendSegment(tcp, tp, segSeq, off, len, flags, optlen, recwin, tso, sackRxmit, winupdate, now);
    if (e !== 0) return e;
    if (sackRxmit && !rescue) tp.snd_highrxt = seqMax(tp.snd_highrxt, seqAdd(segSeq, len));
    if (!sendalot && !sackRxmit) return 0;
  }
  return 0;
}
