// tcp_input for SYN_RECEIVED and the synchronized states (RFC 9293 §3.10.7.4), in BSD order:
// PAWS (RFC 7323 §5.3), RST (RFC 5961 §3: exact match resets, in-window → challenge ACK; RFC 1337:
// ignored in TIME_WAIT), SYN (RFC 5961 §4: challenge ACK), trimming to the receive window (the
// four acceptability cases of §3.10.7.4, done BSD's way by trimming duplicate and out-of-window
// parts), TS.Recent (RFC 7323 §4.3), then ACK processing (tcp-input-ack.ts) and data
// (tcp-input-data.ts).

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mAdj } from '../mbuf/chain.js';
import type { Instant } from '../time/instant.js';
import { seqAdd, seqInRange, seqLe, seqSub } from '../wire/seq.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN, TH_URG } from '../wire/tcp.js';
import { SS_NOFDREF } from '../socket/constants.js';
import { ECONNREFUSED, ECONNRESET } from '../socket/errno.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK,
  TCPS_SYN_RECEIVED, TCPS_TIME_WAIT,
} from './tcp-fsm.js';
import { TF_ACKNOW, TF_RCVD_TSTMP, TF_SACK_PERMIT, TT_REXMT, Tcpcb, tcpSackRcv } from './tcp-var.js';
import { tcpChallengeAck, tcpChallengeAckAllowed, tcpClose, tcpDrop } from './tcp-subr.js';
import { tcpClearTimer } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { SEG_DONE, tcpDropWithReset, tsLt } from './tcp-input.js';
import { tcpInputAck } from './tcp-input-ack.js';
import { tcpInputStep6 } from './tcp-input-data.js';
import { tcpHeaderPrediction } from './tcp-input-fast.js';
import { tcpStretchAckUpdate } from './tcp-delack.js';

/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid (PAWS would wrongly reject). */
const PAWS_IDLE_US = 24 * 24 * 3600 * 1_000_000;

/** The receive window for acceptability tests: max(sbspace, what we already advertised). */
export function tcpRcvWnd(tp: Tcpcb): number {
  const so = tp.so;
  let win = so === null ? 0 : so.so_rcv.sbspace();
  const adv = seqSub(tp.rcv_adv, tp.rcv_nxt);
  if (adv > win) win = adv;
  return win;
}

/** dropafterack: answer with an ACK (never to a RST) and drop. */
export function tcpDropAfterAck(tcp: Tcp, tp: Tcpcb, m: Mbuf | null, now: Instant): void {
  mFreem(m);
  if ((tcp.inp.flags & TH_RST) !== 0) return;
  tp.t_flags |= TF_ACKNOW;
  tcpOutput(tcp, tp, now);
}

export function tcpInputSync(tcp: Tcp, tp: Tcpcb, m: Mbuf, now: Instant): void {
  const c = tcp.inp;
  const st = tcp.stats;
  const o = tcp.optScratch;
  const p = tcp.profile;

  if (tp.t_state === TCPS_ESTABLISHED && c.tlen > 0 && p.delAckPolicy === 'xnu-stretch') {
    tcpStretchAckUpdate(tcp, tp, c.tlen, c.hlen, c.flags, now);
  }
  // Header prediction: pure ACKs and pure in-order data in ESTABLISHED (tcp-input-fast.ts).
  if (tcpHeaderPrediction(tcp, tp, m, now)) return;

  // XNU tcp_input meets a SYN without data in ESTABLISHED before PAWS: it gets a challenge ACK
  // (tcpInputSyn) whatever its timestamp.
  const establishedSyn = tp.t_state === TCPS_ESTABLISHED && (c.flags & (TH_SYN | TH_RST)) === TH_SYN && c.tlen === 0;
  // RFC 7323 §5.3 R1 (PAWS): an older TSval than TS.Recent marks an old duplicate. XNU (and
  // FreeBSD) ACK it only when it carries data: a pure ACK failing PAWS is dropped without answer.
  if (o.tsPresent && (tp.t_flags & TF_RCVD_TSTMP) !== 0 && (c.flags & TH_RST) === 0 && tp.ts_recent !== 0 &&
      !establishedSyn && tsLt(o.tsVal, tp.ts_recent)) {
    if (now - tp.ts_recent_age > PAWS_IDLE_US) {
      tp.ts_recent = 0;
    } else {
      st.tcps_pawsdrop++;
      if (c.tlen > 0) {
        st.tcps_rcvduppack++;
        st.tcps_rcvdupbyte += c.tlen;
        tcpDropAfterAck(tcp, tp, m, now);
      } else {
        mFreem(m);
      }
      return;
    }
  }

  const rcvWnd = tcpRcvWnd(tp);
  tp.rcv_wnd = rcvWnd;

  // ---- RST (RFC 9293 §3.10.7.4 "second", RFC 5961 §3.2, RFC 1337) ----
  if ((c.flags & TH_RST) !== 0) {
    mFreem(m);
    if (tp.t_state === TCPS_TIME_WAIT) {
      st.tcps_rstintimewait++;
      return;
    }
    const exact = c.seq === tp.rcv_nxt || c.seq === tp.last_ack_sent;
    const inWin = seqInRange(c.seq, tp.rcv_nxt, seqAdd(tp.rcv_nxt, rcvWnd > 0 ? rcvWnd : 1));
    if (exact || (p.insecureRst && inWin)) {
      st.tcps_rstreset++;
      tcpResetConnection(tcp, tp, now);
    } else if (inWin) {
      st.tcps_rstchallenge++;
      tcpChallengeAck(tcp, tp, now);
    } else {
      st.tcps_badrst++;
    }
    return;
  }

  // ---- SYN (RFC 5961 §4, RFC 9293 §3.10.7.4 "fourth") ----
  if ((c.flags & TH_SYN) !== 0 && tcpInputSyn(tcp, tp, m, rcvWnd, now)) return;
  tcpInputSyncRest(tcp, tp, m, rcvWnd, now);
}

/**
 * A SYN in a synchronized state (or SYN_RECEIVED). Returns true when the segment was consumed;
 * false for the peer's SYN-ACK completing a simultaneous open, which goes on with TH_SYN set.
 */
function tcpInputSyn(tcp: Tcp, tp: Tcpcb, m: Mbuf, rcvWnd: number, now: Instant): boolean {
  const c = tcp.inp;
  const st = tcp.stats;
  const p = tcp.profile;
  {
    if (tp.t_state === TCPS_SYN_RECEIVED && c.seq === tp.irs && (c.flags & TH_ACK) !== 0) {
      // Simultaneous open (RFC 9293 §3.5 figure 8): the peer's SYN-ACK repeats the SYN we have.
      // Its SYN is a duplicate, trimmed below with old data (which also owes the peer our ACK),
      // and its ACK completes the handshake.
      c.tiwin = c.win << tp.snd_scale;
      return false;
    } else if (tp.t_state === TCPS_SYN_RECEIVED && c.seq === tp.irs) {
      // The peer did not get our SYN-ACK: send it again.
      mFreem(m);
      st.tcps_rcvduppack++;
      tp.snd_nxt = tp.iss;
      tcpClearTimer(tp, TT_REXMT);
      tcpOutput(tcp, tp, now);
      return true;
    }
    if (p.insecureSyn && seqInRange(c.seq, tp.rcv_nxt, seqAdd(tp.rcv_nxt, rcvWnd > 0 ? rcvWnd : 1))) {
      mFreem(m);
      tcpDrop(tcp, tp, ECONNRESET, now);
      return true;
    }
    mFreem(m);
    st.tcps_synchallenge++;
    tcpChallengeAck(tcp, tp, now);
    return true;
  }
}

/** From trimming on (the segment has no SYN). */
function tcpInputSyncRest(tcp: Tcp, tp: Tcpcb, m: Mbuf, rcvWnd: number, now: Instant): void {
  const c = tcp.inp;
  const st = tcp.stats;
  const o = tcp.optScratch;

  // ---- trim data before rcv_nxt (duplicates) ----
  let todrop = seqSub(tp.rcv_nxt, c.seq);
  if (todrop > 0) {
    // XNU tcp_input: a duplicate SYN (only the simultaneous-open SYN-ACK gets here) is trimmed
    // first, as one unit of old sequence space; what is left is judged like any old data, so a
    // bare SYN-ACK ends entirely old (todrop 0 == tlen) and gets TF_ACKNOW (rate limited for a SYN).
    let synDup = false;
    if ((c.flags & TH_SYN) !== 0) {
      synDup = true;
      c.flags &= ~TH_SYN;
      c.seq = seqAdd(c.seq, 1);
      if (c.urp > 1) c.urp--;
      else {
        c.flags &= ~TH_URG;
        c.urp = 0;
      }
      todrop--;
    }
    if (todrop > c.tlen || (todrop === c.tlen && (c.flags & TH_FIN) === 0)) {
      // Entirely old: ACK to resynchronize, but keep going for the ACK field.
      c.flags &= ~TH_FIN;
      if (!synDup) tp.t_flags |= TF_ACKNOW;
      else if (tcpChallengeAckAllowed(tcp, tp, now)) {
        st.tcps_synchallenge++;
        tp.t_flags |= TF_ACKNOW;
      }
      if (c.tlen > 0) {
        st.tcps_rcvduppack++;
        st.tcps_rcvdupbyte += c.tlen;
        if ((tp.t_flags & TF_SACK_PERMIT) !== 0) tcpSackRcv(tp).noteDuplicate(c.seq, seqAdd(c.seq, c.tlen));
      }
      todrop = c.tlen;
    } else if (todrop > 0) {
      st.tcps_rcvpartduppack++;
      st.tcps_rcvpartdupbyte += todrop;
      if ((tp.t_flags & TF_SACK_PERMIT) !== 0) tcpSackRcv(tp).noteDuplicate(c.seq, tp.rcv_nxt);
    }
    if (todrop > 0) {
      mAdj(m, todrop);
      c.seq = seqAdd(c.seq, todrop);
      c.tlen -= todrop;
      if (c.urp > todrop) c.urp -= todrop;
      else {
        c.flags &= ~TH_URG;
        c.urp = 0;
      }
    }
  }

  // Data for a closed socket that can take no more: the peer must learn (RST).
  const so = tp.so;
  if (c.tlen > 0 && tp.t_state > TCPS_CLOSE_WAIT && (so === null || (so.so_state & SS_NOFDREF) !== 0)) {
    st.tcps_rcvafterclose++;
    tcpClose(tcp, tp);
    tcpDropWithReset(tcp, m, now);
    return;
  }

  // ---- trim data beyond the window ----
  todrop = seqSub(seqAdd(c.seq, c.tlen), seqAdd(tp.rcv_nxt, rcvWnd));
  if (todrop > 0) {
    st.tcps_rcvpackafterwin++;
    if (todrop >= c.tlen) {
      st.tcps_rcvbyteafterwin += c.tlen;
      if (rcvWnd === 0 && c.seq === tp.rcv_nxt) {
        // A zero-window probe: acknowledge it (the byte is not taken).
        tp.t_flags |= TF_ACKNOW;
        st.tcps_rcvwinprobe++;
      } else {
        st.tcps_rcvoutofwindow++;
        tcpDropAfterAck(tcp, tp, m, now);
        return;
      }
    } else {
      st.tcps_rcvbyteafterwin += todrop;
    }
    mAdj(m, -todrop);
    c.tlen -= todrop;
    c.flags &= ~(TH_PUSH | TH_FIN);
  }

  // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
  if (o.tsPresent && (tp.t_flags & TF_RCVD_TSTMP) !== 0 && seqLe(c.seq, tp.last_ack_sent) && !tsLt(o.tsVal, tp.ts_recent)) {
    tp.ts_recent = o.tsVal;
    tp.ts_recent_age = now;
  }

  if ((c.flags & TH_ACK) === 0) {
    st.tcps_noack++;
    mFreem(m);
    return;
  }
  if (tcpInputAck(tcp, tp, m, now) === SEG_DONE) return;
  tcpInputStep6(tcp, tp, m, false, now);
}

/**
 * An acceptable RST (RFC 9293 §3.10.7.4, §7.2 of xnu-sockets.md): SYN_RECEIVED → ECONNREFUSED
 * (the embryonic child goes away unseen); ESTABLISHED, FIN_WAIT_1/2, CLOSE_WAIT → ECONNRESET;
 * CLOSING, LAST_ACK → closed silently. No RST is sent back.
 */
function tcpResetConnection(tcp: Tcp, tp: Tcpcb, _now: Instant): void {
  const so = tp.so;
  const st = tcp.stats;
  switch (tp.t_state) {
    case TCPS_SYN_RECEIVED:
      st.tcps_rstinsynrcvd++;
      st.tcps_conndrops++;
      if (so !== null) so.so_error = ECONNREFUSED;
      break;
    case TCPS_ESTABLISHED:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSE_WAIT:
      st.tcps_drops++;
      if (so !== null) so.so_error = ECONNRESET;
      break;
    case TCPS_CLOSING:
    case TCPS_LAST_ACK:
    default:
      break;
  }
  tcpClose(tcp, tp);
}
