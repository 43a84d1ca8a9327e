// tcp_input step 6 onwards (RFC 9293 §3.10.7.4 "sixth" to "eighth"): the send window update
// (SND.WL1/SND.WL2 rule), urgent data with BSD's out-of-band semantics (the urgent byte pulled
// into t_iobc unless SO_OOBINLINE; so_oobmark, SS_RCVATMARK), in-order data appended to so_rcv
// without copying (the segment's own mbufs), out-of-order data through TcpReassQueue with SACK
// blocks noted (RFC 2018), delayed ACKs (profile.delAckPolicy / delAckMs), the FIN and its state
// transitions, and finally tcp_output when something must go out.

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mCopym } from '../mbuf/chain.js';
import type { Instant } from '../time/instant.js';
import { seqAdd, seqGt, seqLt, seqSub } from '../wire/seq.js';
import { TH_ACK, TH_FIN, TH_URG } from '../wire/tcp.js';
import { socantrcvmore, sorwakeup } from '../socket/socket.js';
import { SB_DROP, SO_OOBINLINE, SS_RCVATMARK } from '../socket/constants.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2,
  TCPS_SYN_RECEIVED, TCPS_TIME_WAIT, haveRcvdFin,
} from './tcp-fsm.js';
import {
  TCPOOB_HADDATA, TCPOOB_HAVEDATA, TF_ACKNOW, TF_CLOSED, TF_DELACK, TT_2MSL, TT_DELACK, TF_SACK_PERMIT, Tcpcb,
  tcpReass, tcpReassEmpty, tcpSackRcv,
} from './tcp-var.js';
import { tcpTimeWait } from './tcp-subr.js';
import { tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpDelayAck, tcpResetStretchAck } from './tcp-delack.js';
import { tcpRcvbufGrow } from './tcp-sbauto.js';

/**
 * The send window update (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ or (= and SND.WL2 =< SEG.ACK);
 * XNU tcp_update_window). Returns true when the window was taken from this segment.
 */
export function tcpUpdateWindow(tcp: Tcp, tp: Tcpcb): boolean {
  const c = tcp.inp;
  if ((c.flags & TH_ACK) === 0 || !(seqLt(tp.snd_wl1, c.seq) || (tp.snd_wl1 === c.seq &&
      (seqLt(tp.snd_wl2, c.ack) || (tp.snd_wl2 === c.ack && c.tiwin > tp.snd_wnd))))) {
    return false;
  }
  if (c.tlen === 0 && tp.snd_wl2 === c.ack && c.tiwin > tp.snd_wnd) tcp.stats.tcps_rcvwinupd++;
  tp.snd_wnd = c.tiwin;
  tp.snd_wl1 = c.seq;
  tp.snd_wl2 = c.ack;
  if (tp.snd_wnd > tp.max_sndwnd) tp.max_sndwnd = tp.snd_wnd;
  return true;
}

export function tcpInputStep6(tcp: Tcp, tp: Tcpcb, m: Mbuf, needOutput: boolean, now: Instant): void {
  const c = tcp.inp;
  const st = tcp.stats;
  const so = tp.so;

  // ---- send window update ----
  if (tcpUpdateWindow(tcp, tp)) needOutput = true;

  // ---- urgent data (RFC 9293 §3.10.7.4 "sixth", RFC 6093; BSD out-of-band byte) ----
  if ((c.flags & TH_URG) !== 0 && c.urp > 0 && !haveRcvdFin(tp.t_state) && so !== null) {
    if (c.urp + so.so_rcv.sb_cc <= so.layer.sbMax) {
      const up = seqAdd(c.seq, c.urp);
      if (seqGt(up, tp.rcv_up)) {
        tp.rcv_up = up;
        so.so_oobmark = so.so_rcv.sb_cc + seqSub(up, tp.rcv_nxt) - 1;
        if (so.so_oobmark === 0) so.so_state |= SS_RCVATMARK;
        tp.t_oobflags &= ~(TCPOOB_HAVEDATA | TCPOOB_HADDATA);
        st.tcps_rcvoobmark++;
        sorwakeup(so);
      }
      // Pull the urgent byte out of the stream when it is in this (in-order) segment.
      if (c.urp <= c.tlen && (so.so_options & SO_OOBINLINE) === 0 && c.seq === tp.rcv_nxt) {
        tcpPullOutOfBand(tp, m, c.urp - 1);
      }
    }
  } else if (seqGt(tp.rcv_nxt, tp.rcv_up)) {
    tp.rcv_up = tp.rcv_nxt;
  }

  // ---- segment text ----
  let fin = (c.flags & TH_FIN) !== 0;
  if ((c.tlen > 0 || fin) && !haveRcvdFin(tp.t_state)) {
    if (c.seq === tp.rcv_nxt) {
      const hadQueue = !tcpReassEmpty(tp);
      if (c.tlen > 0) {
        st.tcps_rcvpack++;
        st.tcps_rcvbyte += c.tlen;
        tcpRcvbufGrow(tcp, tp, c.tlen, now);
        tcpDeliver(tcp, tp, m, c.tlen);
        tp.rcv_nxt = seqAdd(tp.rcv_nxt, c.tlen);
      } else {
        mFreem(m);
      }
      if (hadQueue) {
        // RFC 5681 §4.2: ACK at once when a segment fills (part of) a gap.
        const out = c.reassOut;
        if (tp.reass!.takeInOrder(tp.rcv_nxt, out)) {
          if (out.m !== null) tcpDeliver(tcp, tp, out.m, out.len);
          tp.rcv_nxt = seqAdd(tp.rcv_nxt, out.len);
          if (out.fin) fin = true;
          out.m = null;
        }
        tp.t_flags |= TF_ACKNOW;
      } else if (c.tlen > 0) {
        tcpDelayAck(tcp, tp, c.tlen, now);
      }
      if (tp.sackRcv !== null) tp.sackRcv.advance(tp.rcv_nxt);
    } else {
      // XNU tcp_reass: out-of-order data means loss or reordering: no stretch ACKs for a while.
      if (tcp.profile.delAckPolicy === 'xnu-stretch') tcpResetStretchAck(tcp, tp, now);
      const reass = tcpReass(tp);
      const r = reass.insert(c.seq, m, c.tlen, fin, tp.rcv_nxt);
      const sackOn = (tp.t_flags & TF_SACK_PERMIT) !== 0;
      if (r === 'dropped-full') st.tcps_reass_overflow++;
      else if (r === 'duplicate') {
        st.tcps_rcvduppack++;
        st.tcps_rcvdupbyte += c.tlen;
        if (sackOn) tcpSackRcv(tp).noteDuplicate(c.seq, seqAdd(c.seq, c.tlen));
      } else {
        st.tcps_rcvoopack++;
        st.tcps_rcvoobyte += c.tlen;
        tp.t_rxoutoforderbytes += c.tlen;
        if (sackOn && c.tlen > 0) tcpSackRcv(tp).noteArrival(c.seq, seqAdd(c.seq, c.tlen));
        // RFC 2883 §4 (4): the part that was already held is reported as the first (D-SACK) block.
        if (sackOn && r === 'partial-duplicate' && reass.dupStart !== reass.dupEnd) {
          tcpSackRcv(tp).noteDuplicate(reass.dupStart, reass.dupEnd);
        }
      }
      fin = false;
      // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK).
      tp.t_flags |= TF_ACKNOW;
    }
  } else {
    mFreem(m);
    fin = false;
  }

  // ---- FIN (RFC 9293 §3.10.7.4 "eighth") ----
  if (fin) {
    if (!haveRcvdFin(tp.t_state)) {
      if (so !== null) socantrcvmore(so);
      tp.t_flags |= TF_ACKNOW;
      tp.rcv_nxt = seqAdd(tp.rcv_nxt, 1);
    }
    switch (tp.t_state) {
      case TCPS_SYN_RECEIVED:
      case TCPS_ESTABLISHED:
        tp.t_state = TCPS_CLOSE_WAIT;
        break;
      case TCPS_FIN_WAIT_1:
        tp.t_state = TCPS_CLOSING;
        break;
      case TCPS_FIN_WAIT_2:
        // Acknowledge the FIN, then wait 2*MSL.
        tcpOutput(tcp, tp, now);
        tcpTimeWait(tcp, tp, now);
        return;
      case TCPS_TIME_WAIT:
        tcpSetTimer(tcp, tp, TT_2MSL, now + 2 * tcp.profile.mslMs * 1000);
        break;
      case TCPS_CLOSE_WAIT:
      case TCPS_CLOSING:
      default:
        break;
    }
  }
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  if (needOutput || (tp.t_flags & TF_ACKNOW) !== 0) tcpOutput(tcp, tp, now);
}

/**
 * Appends in-order data to so_rcv (the chain itself: no copy) and wakes the reader. After
 * shutdown(SHUT_RD) (SB_DROP) or without a socket the data is acknowledged but discarded.
 */
export function tcpDeliver(tcp: Tcp, tp: Tcpcb, m: Mbuf, len: number): void {
  const so = tp.so;
  if (so === null || (so.so_rcv.sb_flags & SB_DROP) !== 0) {
    tcp.stats.tcps_rcvdatadropped += len;
    mFreem(m);
    return;
  }
  if (m.hasPkthdr) m.pktLen = len;
  so.so_rcv.sbappendstream(m);
  so.counters.rxpackets++;
  so.counters.rxbytes += len;
  sorwakeup(so);
}

/**
 * Delivers what the reassembly queue holds at rcv_nxt (BSD tcp_reass with th == NULL, called once
 * the connection is established: data that arrived on the SYN) and schedules an ACK for it.
 */
export function tcpReassPresent(tcp: Tcp, tp: Tcpcb): void {
  const reass = tp.reass;
  if (reass === null || reass.isEmpty) return;
  const out = tcp.inp.reassOut;
  if (!reass.takeInOrder(tp.rcv_nxt, out)) return;
  if (out.m !== null) {
    tcp.stats.tcps_rcvpack++;
    tcp.stats.tcps_rcvbyte += out.len;
    tcpDeliver(tcp, tp, out.m, out.len);
  }
  tp.rcv_nxt = seqAdd(tp.rcv_nxt, out.len);
  out.m = null;
  tp.t_flags |= TF_ACKNOW;
}

/**
 * tcp_pulloutofband: removes the byte at payload offset `cnt` from the chain into t_iobc
 * (TCPOOB_HAVEDATA). The sequence space still counts it; only the stream loses it.
 */
function tcpPullOutOfBand(tp: Tcpcb, m: Mbuf, cnt: number): void {
  let x: Mbuf | null = m;
  let off = cnt;
  while (x !== null && off >= x.len) {
    off -= x.len;
    x = x.next;
  }
  if (x === null) return;
  tp.t_iobc = x.buf[x.data + off]!;
  tp.t_oobflags |= TCPOOB_HAVEDATA;
  if (off === 0) {
    x.data++;
    x.len--;
  } else if (off === x.len - 1) {
    x.len--;
  } else if (x.writable) {
    x.buf.copyWithin(x.data + off, x.data + off + 1, x.data + x.len);
    x.len--;
  } else {
    const tail = mCopym(x, off + 1, x.len - off - 1);
    if (tail === null) {
      // No mbuf for the split: leave the byte inline (it is still readable with MSG_OOB).
      return;
    }
    if (tail.hasPkthdr) tail.clearPkthdr();
    let last = tail;
    while (last.next !== null) last = last.next;
    last.next = x.next;
    x.next = tail;
    x.len = off;
  }
  if (m.hasPkthdr) m.pktLen--;
}
