// CUBIC congestion control (RFC 9438), XNU's default (bsd/netinet/tcp_cubic.c). The core calls it
// through the CongestionControl hooks (tcp-cc.ts) exactly as it calls NewReno; see the header of
// tcp-cc-newreno.ts for what the core does around them (fast-recovery inflation or the RFC 6675
// pipe, postRecovery at the recovery point, ackReceived only outside recovery and while
// cwnd-limited — RFC 9438 §4.6 note: with cwnd rather than flight size in the reduction, cwnd must
// not grow while the flight is smaller than cwnd).
//
// Windows are bytes on the tcpcb; the cubic function works in segments (W_max / SMSS) and seconds
// (µs Instants / 1e6), as RFC 9438 §4.1 defines it.

import type { Instant } from '../time/instant.js';
import type { CcConn, CcSignal, CongestionControl } from './tcp-cc.js';
import {
  TCP_MAXCWND, postRecoveryCwnd, restartWindow, initialWindowBytes, slowStartIncrease,
} from './tcp-cc-newreno.js';

/** RFC 9438 §4.1: C = 0.4 (segments / s^3). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.1: beta_cubic = 0.7, the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta) ≈ 0.529. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** RFC 9438 §4.2 eq. (2): K = cbrt((W_max - cwnd_epoch) / C), in seconds, with windows in segments. */
export function cubicK(wMaxSeg: number, cwndEpochSeg: number): number {
  return Math.cbrt((wMaxSeg - cwndEpochSeg) / CUBIC_C);
}

/** RFC 9438 §4.2 eq. (1): W_cubic(t) = C * (t - K)^3 + W_max, segments, t and K in seconds. */
export function cubicW(tSec: number, kSec: number, wMaxSeg: number): number {
  const d = tSec - kSec;
  return CUBIC_C * d * d * d + wMaxSeg;
}

/** Per-connection CUBIC state (XNU struct tcp_ccstate's cub_* fields). */
export class CubicState {
  iwSegments = 10;
  /** W_max in bytes: the window before the last reduction (after fast convergence); 0 = undefined. */
  wMax = 0;
  /** cwnd_prior in bytes: cwnd when ssthresh was last set (for the alpha_cubic switch, §4.3). */
  cwndPrior = 0;
  /** K in seconds for the current epoch. */
  k = 0;
  /** Start of the current congestion-avoidance epoch (µs), or -1 when none is running. */
  epochStart = -1;
  /** cwnd_epoch in bytes. */
  cwndEpoch = 0;
  /** W_est in bytes (§4.3, Reno-friendly estimate). */
  wEst = 0;
  /** alpha_cubic is 1 once W_est has reached cwnd_prior (§4.3). */
  alphaOne = true;
  /** Fractional bytes of growth not yet applied to the integer cwnd. */
  frac = 0;
  /** §4.8: the next epoch is the first after an RTO: K = 0, W_max = cwnd at its start. */
  epochAfterRto = false;
  /** RTO bookkeeping, as NewReno's. */
  inRtoLoss = false;
  rtoSlowStart = false;
  /** State before the first RTO of a series, for 'rto-undo' (§4.9). */
  hasSaved = false;
  savedCwnd = 0;
  savedSsthresh = 0;
  savedWMax = 0;
  savedCwndPrior = 0;
}

function stateOf(tp: CcConn): CubicState {
  const s = tp.ccState;
  if (s instanceof CubicState) return s;
  const n = new CubicState();
  tp.ccState = n;
  return n;
}

/** Starts a congestion-avoidance epoch at `now` (§4.2 t = 0, §4.3 W_est = cwnd_epoch). */
function startEpoch(s: CubicState, tp: CcConn, now: Instant): void {
  const smss = tp.t_maxseg;
  s.epochStart = now;
  s.cwndEpoch = tp.snd_cwnd;
  s.wEst = tp.snd_cwnd;
  s.frac = 0;
  if (s.wEst >= s.cwndPrior) s.alphaOne = true;
  if (s.epochAfterRto || s.wMax <= tp.snd_cwnd) {
    // §4.8 (after an RTO) and §4.10 (no loss yet, or cwnd already above W_max): K = 0 and
    // W_max = cwnd at the beginning of the congestion-avoidance stage: the convex region from here.
    s.wMax = tp.snd_cwnd;
    s.k = 0;
    s.epochAfterRto = false;
  } else {
    s.k = cubicK(s.wMax / smss, tp.snd_cwnd / smss);
  }
}

/** §4.6 / §4.7: records W_max (with fast convergence) and cwnd_prior, sets ssthresh. */
function reduce(s: CubicState, tp: CcConn): void {
  const cwnd = tp.snd_cwnd;
  const smss = tp.t_maxseg;
  // §4.7 fast convergence: "if (cwnd < W_max) W_max = cwnd * (1 + beta_cubic) / 2; else W_max = cwnd".
  s.wMax = cwnd < s.wMax ? (cwnd * 17) / 20 : cwnd; // (1 + CUBIC_BETA) / 2 = 0.85
  s.cwndPrior = cwnd;
  // §4.6: ssthresh = cwnd * beta_cubic, at least 2 segments (XNU and Linux use cwnd, not flight).
  const ss = Math.floor((cwnd * 7) / 10); // cwnd * CUBIC_BETA without 0.7's binary rounding
  tp.snd_ssthresh = ss > 2 * smss ? ss : 2 * smss;
  s.alphaOne = false;
  s.epochStart = -1;
  s.frac = 0;
}

export const Cubic: CongestionControl = {
  name: 'cubic',

  newState(): unknown {
    return new CubicState();
  },

  /** As NewReno: cwnd = IW (RFC 6928), ssthresh = TCP_MAXCWND; no epoch, W_max undefined. */
  connInit(tp: CcConn, initialWindowSegments: number, _now: Instant): void {
    const s = stateOf(tp);
    s.iwSegments = initialWindowSegments;
    s.wMax = 0;
    s.cwndPrior = 0;
    s.alphaOne = true;
    s.epochStart = -1;
    s.epochAfterRto = false;
    s.inRtoLoss = false;
    s.rtoSlowStart = false;
    s.hasSaved = false;
    s.frac = 0;
    tp.snd_cwnd = initialWindowBytes(tp.t_maxseg, initialWindowSegments);
    tp.snd_ssthresh = TCP_MAXCWND;
  },

  /**
   * Below ssthresh: slow start with RFC 3465 ABC (L = 2*SMSS; 1*SMSS after an RTO). HyStart++ is
   * not implemented. At or above ssthresh, per ACK (§4.2-4.5):
   *   t = now - epoch start; W_est += alpha_cubic * acked * SMSS / cwnd (§4.3, alpha_cubic = 1
   *   once W_est >= cwnd_prior); if W_cubic(t) < W_est the flow is Reno-friendly and cwnd = W_est;
   *   otherwise target = W_cubic(t + SRTT) clamped to [cwnd, 1.5*cwnd] (§4.2) and
   *   cwnd += (target - cwnd) * acked / cwnd (per segment acked, (target - cwnd) / cwnd segments;
   *   §4.4 concave region below W_max, §4.5 convex above, same formula).
   */
  ackReceived(tp: CcConn, acked: number, now: Instant): void {
    if (!(acked > 0)) return;
    const s = stateOf(tp);
    s.inRtoLoss = false;
    if (tp.snd_cwnd < tp.snd_ssthresh) {
      slowStartIncrease(tp, acked, s.rtoSlowStart);
      if (tp.snd_cwnd >= tp.snd_ssthresh) s.rtoSlowStart = false;
      return;
    }
    s.rtoSlowStart = false;
    if (s.epochStart < 0) startEpoch(s, tp, now);
    const smss = tp.t_maxseg;
    const cwnd = tp.snd_cwnd;
    const t = (now - s.epochStart) / 1e6;
    const wMaxSeg = s.wMax / smss;

    // §4.3 Reno-friendly region.
    s.wEst += ((s.alphaOne ? 1 : CUBIC_ALPHA) * acked * smss) / cwnd;
    if (!s.alphaOne && s.wEst >= s.cwndPrior) s.alphaOne = true;
    if (cubicW(t, s.k, wMaxSeg) * smss < s.wEst) {
      const w = Math.floor(s.wEst);
      if (w > cwnd) tp.snd_cwnd = w < TCP_MAXCWND ? w : TCP_MAXCWND;
      return;
    }

    // §4.4 concave / §4.5 convex: aim at W_cubic one RTT ahead.
    const rttUs = tp.srttUs > 0 ? tp.srttUs : tp.minRttUs;
    let target = cubicW(t + rttUs / 1e6, s.k, wMaxSeg) * smss;
    if (target < cwnd) target = cwnd;
    else if (target > 1.5 * cwnd) target = 1.5 * cwnd;
    s.frac += ((target - cwnd) * acked) / cwnd;
    if (s.frac >= 1) {
      const inc = Math.floor(s.frac);
      s.frac -= inc;
      const cw = cwnd + inc;
      tp.snd_cwnd = cw < TCP_MAXCWND ? cw : TCP_MAXCWND;
    }
  },

  /**
   * 'dupack' / 'ecn' (§4.6): W_max per §4.7, ssthresh = max(cwnd * 0.7, 2*SMSS), cwnd = ssthresh;
   * the epoch ends. 'rto' (§4.8): on the first RTO of a series, save state for undo, ssthresh as
   * above; cwnd = 1*SMSS; the next epoch uses K = 0 and W_max = its starting cwnd. 'rto-undo'
   * (§4.9): restore cwnd, ssthresh, W_max and cwnd_prior as they were before the RTO.
   */
  congSignal(tp: CcConn, kind: CcSignal, _now: Instant): void {
    const s = stateOf(tp);
    switch (kind) {
      case 'dupack':
      case 'ecn':
        reduce(s, tp);
        tp.snd_cwnd = tp.snd_ssthresh;
        s.rtoSlowStart = false;
        s.epochAfterRto = false;
        s.hasSaved = false;
        return;
      case 'rto':
        if (!s.inRtoLoss) {
          s.savedCwnd = tp.snd_cwnd;
          s.savedSsthresh = tp.snd_ssthresh;
          s.savedWMax = s.wMax;
          s.savedCwndPrior = s.cwndPrior;
          s.hasSaved = true;
          reduce(s, tp);
          s.inRtoLoss = true;
        }
        tp.snd_cwnd = tp.t_maxseg;
        s.epochStart = -1;
        s.epochAfterRto = true;
        s.rtoSlowStart = true;
        return;
      case 'rto-undo':
        if (!s.hasSaved) return;
        tp.snd_cwnd = s.savedCwnd;
        tp.snd_ssthresh = s.savedSsthresh;
        s.wMax = s.savedWMax;
        s.cwndPrior = s.savedCwndPrior;
        s.alphaOne = false; // re-evaluated against cwnd_prior when the next epoch starts
        s.hasSaved = false;
        s.inRtoLoss = false;
        s.rtoSlowStart = false;
        s.epochAfterRto = false;
        s.epochStart = -1;
        s.frac = 0;
        return;
    }
  },

  /** As NewReno (RFC 6582 §3.2 step 3 option 1, XNU tcp_cubic_post_fr): cwnd = min(ssthresh, max(flight, SMSS) + SMSS). */
  postRecovery(tp: CcConn, _now: Instant): void {
    const s = stateOf(tp);
    s.frac = 0;
    s.epochStart = -1;
    tp.snd_cwnd = postRecoveryCwnd(tp);
  },

  /**
   * RFC 5681 §4.1 restart window (cwnd = min(cwnd, IW)), and the epoch restarts at the next ACK
   * (XNU tcp_cubic_after_idle clears cub_epoch_start) so the idle time is not counted as growth
   * time in W_cubic(t).
   */
  afterIdle(tp: CcConn, _idleUs: number, _now: Instant): void {
    const s = stateOf(tp);
    s.epochStart = -1;
    s.frac = 0;
    tp.snd_cwnd = restartWindow(tp, s.iwSegments);
  },

  /**
   * XNU tcp_cubic_cwnd_init_or_reset: the curve is forgotten (tcp_cubic_clear_state, then
   * cub_last_max = ssthresh) and cwnd = IW in the current SMSS. XNU also lifts ssthresh to the
   * maximum when no more than 4380 bytes were ever sent; a black hole needs two RTOs of a large
   * segment first, so that case is left out (CcConn has no byte count).
   */
  cwndInit(tp: CcConn, _now: Instant): void {
    const s = stateOf(tp);
    s.wMax = tp.snd_ssthresh;
    s.k = 0;
    s.epochStart = -1;
    s.frac = 0;
    tp.snd_cwnd = initialWindowBytes(tp.t_maxseg, s.iwSegments);
  },
};
