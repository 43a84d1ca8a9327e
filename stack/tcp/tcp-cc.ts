// Pluggable congestion control, shaped after FreeBSD's cc_algo / XNU's tcp_cc_algo hooks: the
// algorithm sees a connection only through CcConn and keeps its own per-connection state.
// Implementations: tcp-cc-newreno.ts (RFC 5681/6582), tcp-cc-cubic.ts (RFC 9438, XNU's default).

import type { Instant } from '../time/instant.js';

/** What a congestion controller may read and write on a connection (fields of the tcpcb). */
export interface CcConn {
  /** Congestion window and slow-start threshold, in bytes. */
  snd_cwnd: number;
  snd_ssthresh: number;
  /** Sender MSS (SMSS) in bytes. */
  readonly t_maxseg: number;
  /** Bytes in flight (snd_max - snd_una, or the RFC 6675 pipe during SACK recovery). */
  readonly flight: number;
  /** Smoothed RTT and minimum RTT seen, in µs (0 before the first sample). */
  readonly srttUs: number;
  readonly minRttUs: number;
  /** Peer's receive window in bytes (for CUBIC's cwnd-limited checks). */
  readonly snd_wnd: number;
  /** True while in fast recovery (set by the TCP core around congSignal('dupack') / postRecovery). */
  readonly inRecovery: boolean;
  /** The algorithm's own per-connection state, created by newState(). */
  ccState: unknown;
}

export type CcSignal =
  /** Three duplicate ACKs or a SACK-detected loss: entering fast recovery (RFC 5681 §3.2). */
  | 'dupack'
  /** Retransmission timeout (RFC 5681 §3.1, RFC 6298 §5.5). */
  | 'rto'
  /** ECN-Echo (RFC 3168 §6.1.2). */
  | 'ecn'
  /** The RTO was spurious and has been undone (RFC 5682/4015); restore the saved state. */
  | 'rto-undo';

export interface CongestionControl {
  readonly name: string;
  /** Fresh per-connection state. */
  newState(): unknown;
  /** Connection established: set the initial window (RFC 5681 §3.1 / RFC 6928) and ssthresh. */
  connInit(tp: CcConn, initialWindowSegments: number, now: Instant): void;
  /**
   * New data acknowledged outside recovery: grow cwnd. `acked` bytes were newly acknowledged
   * (a TSO super-segment or a stretch ACK counts for all its bytes, RFC 3465 ABC with L=2*SMSS).
   */
  ackReceived(tp: CcConn, acked: number, now: Instant): void;
  /** A congestion signal: reduce ssthresh/cwnd as the algorithm prescribes. */
  congSignal(tp: CcConn, kind: CcSignal, now: Instant): void;
  /** Fast recovery ended (the recovery point was acknowledged): deflate cwnd (RFC 6582 §3.2 step 3). */
  postRecovery(tp: CcConn, now: Instant): void;
  /** The connection was idle longer than an RTO (RFC 7661/2861): restart or decay the window. */
  afterIdle(tp: CcConn, idleUs: number, now: Instant): void;
  /**
   * XNU cwnd_init: the MSS changed under a running connection (black-hole detection or its
   * revert): cwnd back to the initial window in the new SMSS. ssthresh and the RTO-undo state stay.
   */
  cwndInit(tp: CcConn, now: Instant): void;
}
