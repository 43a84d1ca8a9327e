// Delayed ACKs (RFC 5681 §4.2, RFC 9293 §3.8.6.3) with the profile's policy.
//
// 'every-second' (FreeBSD): ACK at once every second segment, else arm the delayed-ACK timer.
//
// 'xnu-stretch' is XNU's net.inet.tcp.delayed_ack = 3 (tcp_cc_delay_ack in tcp_cc.c, the
// TF_STRETCHACK bookkeeping in tcp_input.c and tcp_timer.c), which works like this:
//  - For every ESTABLISHED segment carrying data, tcp_input first decides whether the connection is
//    "streaming" (tcp_stretch_ack_enable): at least maxseg_unacked (8) full segments' worth of
//    bytes (header included) arrived inside the current TCPTV_UNACKWIN (100 ms) measuring window,
//    the connection was not idle for more than TCPTV_MAXRCVIDLE (200 ms) past that window, and
//    the segment has no flag besides ACK (PSH, FIN... stop streaming). TF_STRETCHACK is set only
//    when streaming and the receiver is not waiting out slow start: after the tcpcb is created and
//    after every reset (an out-of-order segment, the delayed-ACK timer firing while stretching)
//    TF_RCVUNACK_WAITSS holds stretching back until tcp_rcvsspktcnt (512) segments were seen.
//    Then the byte counters are updated: the window is two halves; a segment inside the first half
//    of the window adds to both counts, a later one starts a new 100 ms window whose count begins
//    with the previous second half.
//  - The ACK is delayed (DELAY_ACK) only when we did not advertise a zero window, the segment has
//    no PSH, and either it is the first unacknowledged segment (t_unacksegs == 1: ACK every
//    second segment) or TF_STRETCHACK is on and fewer than maxseg_unacked segments are unacked
//    (a stretch ACK every 8 segments). Otherwise the ACK goes out now.
//  - XNU additionally disables stretching for a while when the delayed-ACK timer keeps firing
//    during streaming (TF_DISABLE_STRETCHACK, rcv_nostrack_pkts); here the timer only resets it.
//
// tcp-input-sync.ts (tcpStretchAckUpdate) · tcp-input-data.ts / tcp-input-fast.ts (tcpDelayAck)
// · tcp-timers.ts (tcpResetStretchAck on the delayed-ACK timer) · tcp-input-data.ts (out of order)

import type { Instant } from '../time/instant.js';
import { TH_ACK, TH_PUSH } from '../wire/tcp.js';
import type { Tcp } from './tcp.js';
import {
  TF_ACKNOW, TF_DELACK, TF_RXWIN0SENT, TF_STREAMING_ON, TF_STRETCHACK, TT_DELACK, Tcpcb,
} from './tcp-var.js';
import { tcpSetTimer, tcpTimerArmed } from './tcp-timers.js';

/**
 * tcp_stretch_ack_enable plus the byte-rate bookkeeping that follows it in tcp_input, for a
 * segment of `tlen` data bytes and `hlen` header bytes with flags `thflags` in ESTABLISHED.
 */
export function tcpStretchAckUpdate(tcp: Tcp, tp: Tcpcb, tlen: number, hlen: number, thflags: number, now: Instant): void {
  const p = tcp.profile;
  const mss = tp.t_maxseg > 0 ? tp.t_maxseg : 1;
  if (tp.rcv_waitforss >= 0) tp.rcv_waitforss += tlen <= mss ? 1 : Math.ceil(tlen / mss);
  let streaming = tp.rcv_by_unackwin >= p.maxsegUnacked * mss && tp.rcv_unackwin >= now;
  if (now > tp.rcv_unackwin + p.maxRcvIdleMs * 1000) streaming = false;
  if ((thflags & ~TH_ACK) !== 0) streaming = false;
  if (streaming) tp.t_flags |= TF_STREAMING_ON;
  else tp.t_flags &= ~TF_STREAMING_ON;
  if (streaming && (tp.rcv_waitforss < 0 || tp.rcv_waitforss >= p.rcvSsPktCount)) {
    tp.t_flags |= TF_STRETCHACK;
    tp.rcv_waitforss = -1;
  } else {
    tp.t_flags &= ~TF_STRETCHACK;
  }
  const win = p.rcvUnackWinMs * 1000;
  const bytes = tlen + hlen;
  if (tp.rcv_unackwin - (win >>> 1) > now) {
    tp.rcv_by_unackhalfwin += bytes;
    tp.rcv_by_unackwin += bytes;
  } else {
    tp.rcv_unackwin = now + win;
    tp.rcv_by_unackwin = tp.rcv_by_unackhalfwin + bytes;
    tp.rcv_by_unackhalfwin = bytes;
  }
}

/**
 * tcp_reset_stretch_ack: back to an ACK every second segment, a fresh measuring window, and
 * no stretching until rcvSsPktCount segments were seen (the sender's cwnd must grow again).
 */
export function tcpResetStretchAck(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  tp.t_flags &= ~(TF_STRETCHACK | TF_STREAMING_ON);
  tp.rcv_by_unackwin = 0;
  tp.rcv_by_unackhalfwin = 0;
  tp.rcv_unackwin = now + tcp.profile.rcvUnackWinMs * 1000;
  tp.rcv_waitforss = 0;
}

/**
 * After in-order data of `tlen` bytes: ACK now (TF_ACKNOW) or delay it (TF_DELACK and the
 * delayed-ACK timer, profile.delAckMs). A GRO super-segment counts as the segments it holds.
 */
export function tcpDelayAck(tcp: Tcp, tp: Tcpcb, tlen: number, now: Instant): void {
  const p = tcp.profile;
  const mss = tp.t_maxseg > 0 ? tp.t_maxseg : 1;
  tp.t_unacksegs += tlen <= mss ? 1 : Math.ceil(tlen / mss);
  let delay: boolean;
  if (p.delAckMs <= 0) delay = false;
  else if (p.delAckPolicy === 'xnu-stretch') {
    delay = (tp.t_flags & TF_RXWIN0SENT) === 0 && (tcp.inp.flags & TH_PUSH) === 0 &&
      (tp.t_unacksegs === 1 || ((tp.t_flags & TF_STRETCHACK) !== 0 && tp.t_unacksegs < p.maxsegUnacked));
  } else {
    delay = tp.t_unacksegs < 2;
  }
  if (!delay) {
    tp.t_flags |= TF_ACKNOW;
    return;
  }
  tp.t_flags |= TF_DELACK;
  if (!tcpTimerArmed(tp, TT_DELACK)) tcpSetTimer(tcp, tp, TT_DELACK, now + p.delAckMs * 1000);
}
