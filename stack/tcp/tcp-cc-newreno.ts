// NewReno congestion control (RFC 5681, RFC 6582, RFC 3465 ABC), shaped after XNU's
// bsd/netinet/tcp_newreno.c. The core calls it through the CongestionControl hooks (tcp-cc.ts):
//   tcp_input (ACK processing) → ackReceived / congSignal / postRecovery;  tcp_output → afterIdle
// Also exports the window helpers CUBIC shares (initial window, limits, the loss ssthresh).
//
// What the TCP core does around these hooks (they only set cwnd/ssthresh):
//  - Entering fast recovery on the third duplicate ACK (RFC 5681 §3.2 / RFC 6582 §3.2 step 2):
//    record `recover = snd_max`, call congSignal('dupack') (which sets ssthresh and cwnd = ssthresh),
//    retransmit the first unacknowledged segment. Without SACK, the core then inflates cwnd itself:
//    cwnd = ssthresh + 3*SMSS, + SMSS per further duplicate ACK (step 4), and on a partial ACK
//    deflates by the bytes acknowledged, adds back SMSS when >= SMSS was acknowledged, and
//    retransmits the next hole (step 5). With SACK it uses the RFC 6675 pipe instead of inflation.
//  - When an ACK covers `recover` (step 6 / §3.2 step 3): call postRecovery().
//  - Call ackReceived() only for ACKs of new data outside recovery, and only while the connection
//    is cwnd-limited (RFC 7661 / XNU tcp_cc_is_cwnd_nonvalidated), so cwnd does not grow on an
//    application-limited connection.
//  - 'ecn' at most once per RTT (RFC 3168 §6.1.2, CWR).

import type { Instant } from '../time/instant.js';
import type { CcConn, CcSignal, CongestionControl } from './tcp-cc.js';

/** TCP_MAXWIN << TCP_MAX_WINSHIFT: the largest window TCP can express; initial ssthresh and cwnd cap. */
export const TCP_MAXCWND = 65535 * (1 << 14);

/**
 * The initial window in bytes for `iw` segments of `smss` bytes:
 *   iw >= 5 (RFC 6928 §2 for IW10): min(iw*SMSS, max(2*SMSS, iw*1460)) — for iw = 10 exactly
 *           RFC 6928's min(10*MSS, max(2*MSS, 14600));
 *   2..4    (RFC 3390 §1): min(iw*SMSS, max(2*SMSS, 4380));
 *   <= 1:   one SMSS.
 */
export function initialWindowBytes(smss: number, iw: number): number {
  if (iw <= 1) return smss;
  const lim = iw <= 4 ? 4380 : iw * 1460;
  const cap = 2 * smss > lim ? 2 * smss : lim;
  return iw * smss < cap ? iw * smss : cap;
}

/**
 * RFC 5681 §3.1 eq. (4) ssthresh = max(FlightSize / 2, 2*SMSS), rounded down to whole segments as
 * BSD does (win = flight / 2 / t_maxseg; if (win < 2) win = 2; ssthresh = win * t_maxseg).
 */
export function halfFlightSsthresh(flight: number, smss: number): number {
  const segs = Math.floor(flight / 2 / smss);
  return (segs < 2 ? 2 : segs) * smss;
}

/**
 * RFC 6582 §3.2 step 3 option 1 (full acknowledgment): cwnd = min(ssthresh, max(FlightSize, SMSS)
 * + SMSS), which avoids a burst when little is in flight at the end of recovery.
 */
export function postRecoveryCwnd(tp: CcConn): number {
  const smss = tp.t_maxseg;
  const f = (tp.flight > smss ? tp.flight : smss) + smss;
  return f < tp.snd_ssthresh ? f : tp.snd_ssthresh;
}

/**
 * RFC 5681 §4.1 restart window: RW = min(IW, cwnd) after an idle period longer than an RTO.
 */
export function restartWindow(tp: CcConn, iwSegments: number): number {
  const iw = initialWindowBytes(tp.t_maxseg, iwSegments);
  return iw < tp.snd_cwnd ? iw : tp.snd_cwnd;
}

/**
 * RFC 3465 slow start: cwnd += min(acked, L*SMSS) with L = 2 (§2.2), or L = 1 during the slow start
 * that follows a retransmission timeout (§2.3: ACKs then cover segments sent long ago). Capped at
 * TCP_MAXCWND.
 */
export function slowStartIncrease(tp: CcConn, acked: number, afterRto: boolean): void {
  const lim = (afterRto ? 1 : 2) * tp.t_maxseg;
  const cw = tp.snd_cwnd + (acked < lim ? acked : lim);
  tp.snd_cwnd = cw < TCP_MAXCWND ? cw : TCP_MAXCWND;
}

/** Per-connection NewReno state (XNU keeps these in the tcpcb: t_bytes_acked, snd_cwnd_prev, ...). */
export class NewRenoState {
  /** RFC 3465 §2.1 bytes_acked: bytes acknowledged in congestion avoidance since the last +SMSS. */
  bytesAcked = 0;
  /** Initial window in segments, kept for the restart window. */
  iwSegments = 10;
  /** cwnd/ssthresh before the first RTO of a series, for 'rto-undo' (XNU snd_cwnd_prev / snd_ssthresh_prev). */
  savedCwnd = 0;
  savedSsthresh = 0;
  hasSaved = false;
  /** An RTO happened and no new data has been acknowledged since: later RTOs keep ssthresh. */
  inRtoLoss = false;
  /** Slow start after an RTO: ABC limit L = 1*SMSS until cwnd reaches ssthresh. */
  rtoSlowStart = false;
}

function stateOf(tp: CcConn): NewRenoState {
  const s = tp.ccState;
  if (s instanceof NewRenoState) return s;
  const n = new NewRenoState();
  tp.ccState = n;
  return n;
}

export const NewReno: CongestionControl = {
  name: 'newreno',

  newState(): unknown {
    return new NewRenoState();
  },

  /** cwnd = initialWindowBytes(SMSS, IW) (RFC 6928 / RFC 3390), ssthresh = TCP_MAXCWND ("arbitrarily high", RFC 5681 §3.1). */
  connInit(tp: CcConn, initialWindowSegments: number, _now: Instant): void {
    const s = stateOf(tp);
    s.iwSegments = initialWindowSegments;
    s.bytesAcked = 0;
    s.hasSaved = false;
    s.inRtoLoss = false;
    s.rtoSlowStart = false;
    tp.snd_cwnd = initialWindowBytes(tp.t_maxseg, initialWindowSegments);
    tp.snd_ssthresh = TCP_MAXCWND;
  },

  /**
   * Slow start (cwnd < ssthresh): RFC 3465 ABC, cwnd += min(acked, 2*SMSS) (1*SMSS after an RTO).
   * Congestion avoidance: byte counting per RTT (RFC 3465 §2.1, RFC 5681 §3.1 "bytes_acked"
   * alternative to eq. (3), as XNU's tcp_newreno_ack_rcvd with tcp_do_rfc3465): bytes_acked += acked;
   * when bytes_acked >= cwnd, bytes_acked -= cwnd and cwnd += SMSS — one SMSS per window acknowledged.
   */
  ackReceived(tp: CcConn, acked: number, _now: Instant): void {
    if (!(acked > 0)) return;
    const s = stateOf(tp);
    s.inRtoLoss = false;
    const smss = tp.t_maxseg;
    if (tp.snd_cwnd < tp.snd_ssthresh) {
      slowStartIncrease(tp, acked, s.rtoSlowStart);
      if (tp.snd_cwnd >= tp.snd_ssthresh) s.rtoSlowStart = false;
      return;
    }
    s.rtoSlowStart = false;
    s.bytesAcked += acked;
    if (s.bytesAcked >= tp.snd_cwnd) {
      s.bytesAcked -= tp.snd_cwnd;
      const cw = tp.snd_cwnd + smss;
      tp.snd_cwnd = cw < TCP_MAXCWND ? cw : TCP_MAXCWND;
    }
  },

  /**
   * 'dupack' / 'ecn': ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 §3.2 step 2, eq. (4); RFC 3168
   * §6.1.2 halves the same way without a retransmission), cwnd = ssthresh; the core inflates.
   * 'rto': ssthresh as above, but only on the first RTO of a series (RFC 5681 §3.1: later timeouts
   * of the same data would compute it from a 1-segment flight), cwnd = 1*SMSS (loss window); the
   * pre-RTO cwnd/ssthresh are saved. 'rto-undo': restore them (RFC 4015 / XNU tcp_cc_rxmt_undo).
   */
  congSignal(tp: CcConn, kind: CcSignal, _now: Instant): void {
    const s = stateOf(tp);
    const smss = tp.t_maxseg;
    s.bytesAcked = 0;
    switch (kind) {
      case 'dupack':
      case 'ecn':
        tp.snd_ssthresh = halfFlightSsthresh(tp.flight, smss);
        tp.snd_cwnd = tp.snd_ssthresh;
        s.rtoSlowStart = false;
        s.hasSaved = false; // a real loss since the RTO: nothing left to undo
        return;
      case 'rto':
        if (!s.inRtoLoss) {
          s.savedCwnd = tp.snd_cwnd;
          s.savedSsthresh = tp.snd_ssthresh;
          s.hasSaved = true;
          tp.snd_ssthresh = halfFlightSsthresh(tp.flight, smss);
          s.inRtoLoss = true;
        }
        tp.snd_cwnd = smss;
        s.rtoSlowStart = true;
        return;
      case 'rto-undo':
        if (!s.hasSaved) return;
        tp.snd_cwnd = s.savedCwnd;
        tp.snd_ssthresh = s.savedSsthresh;
        s.hasSaved = false;
        s.inRtoLoss = false;
        s.rtoSlowStart = false;
        return;
    }
  },

  /** RFC 6582 §3.2 step 3 option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). */
  postRecovery(tp: CcConn, _now: Instant): void {
    stateOf(tp).bytesAcked = 0;
    tp.snd_cwnd = postRecoveryCwnd(tp);
  },

  /** RFC 5681 §4.1: cwnd = min(cwnd, RW) with RW = min(IW, cwnd). */
  afterIdle(tp: CcConn, _idleUs: number, _now: Instant): void {
    const s = stateOf(tp);
    s.bytesAcked = 0;
    tp.snd_cwnd = restartWindow(tp, s.iwSegments);
  },

  /** XNU tcp_newreno_cwnd_init_or_reset (tcp_cc_cwnd_init_or_reset): cwnd = IW in the current SMSS. */
  cwndInit(tp: CcConn, _now: Instant): void {
    tp.snd_cwnd = initialWindowBytes(tp.t_maxseg, stateOf(tp).iwSegments);
  },
};
