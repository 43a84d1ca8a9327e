// Round-trip time estimation and the retransmission timeout (RFC 6298), with XNU's choices
// (bsd/netinet/tcp_input.c tcp_xmit_timer, tcp_timer.c tcp_timers, tcp_var.h TCP_REXMTVAL and
// TCPT_RANGESET). One RttEstimator per tcpcb; the core feeds it samples and reads RTO values:
//   tcp_input (ACK of a timed segment or TSecr) → sample();  tcp_output/tcp_timers → rtoUs()/backoffUs()
// Karn's algorithm (RFC 6298 §3: no samples from retransmitted segments unless timestamps
// disambiguate) is the caller's job. Everything is in microseconds, kept unscaled as floats;
// BSD's fixed-point t_srtt/t_rttvar scaling has no purpose in JavaScript.

import type { TcpProfile } from './tcp-profile.js';

/** RFC 6298 §2: clock granularity G. XNU's timer tick is 1 ms (TCP_RETRANSHZ 1000). */
export const RTT_G_US = 1000;
/** XNU's floor of the RTO above the latest sample: TCPT_RANGESET(..., max(t_rttmin, rtt + 2), ...) in 1-ms ticks. */
const RTO_ABOVE_RTT_US = 2000;

export class RttEstimator {
  /** SRTT in µs; 0 before the first sample and after forgetOnBackoff() until the next sample. */
  srttUs = 0;
  /** RTTVAR in µs. */
  rttvarUs = 0;
  /** Smallest sample seen, in µs (0 before the first sample). */
  minRttUs = 0;
  /** Latest sample, in µs (0 before the first sample). */
  lastRttUs = 0;
  /** Number of samples taken since construction or reset(). */
  samples = 0;

  private readonly rtoMinUs: number;
  private readonly rtoMaxUs: number;
  private readonly rtoInitialUs: number;
  private readonly slopUs: number;
  /** True when the next sample must re-initialize SRTT/RTTVAR (first sample, or after forgetOnBackoff). */
  private fresh = true;

  constructor(profile: TcpProfile) {
    this.rtoMinUs = profile.rtoMinMs * 1000;
    this.rtoMaxUs = profile.rtoMaxMs * 1000;
    this.rtoInitialUs = profile.rtoInitialMs * 1000;
    this.slopUs = profile.rexmtSlopMs * 1000;
  }

  /** One RTT measurement R in µs. Negative or non-finite values are ignored. */
  sample(rttUs: number): void {
    if (!(rttUs >= 0) || rttUs === Infinity) return;
    const r = rttUs;
    if (this.fresh) {
      // RFC 6298 §2.2: "SRTT <- R, RTTVAR <- R/2".
      this.srttUs = r;
      this.rttvarUs = r / 2;
      this.fresh = false;
    } else {
      // RFC 6298 §2.3, alpha = 1/8, beta = 1/4; RTTVAR is updated with the old SRTT first:
      // "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|;  SRTT <- (1 - alpha) * SRTT + alpha * R'".
      const delta = this.srttUs > r ? this.srttUs - r : r - this.srttUs;
      this.rttvarUs = this.rttvarUs * 0.75 + delta * 0.25;
      this.srttUs = this.srttUs * 0.875 + r * 0.125;
    }
    if (this.samples === 0 || r < this.minRttUs) this.minRttUs = r;
    this.lastRttUs = r;
    this.samples++;
  }

  /**
   * XNU's TCP_REXMTVAL without slop: max(rtoMin, SRTT + max(G, 4*RTTVAR)) (RFC 6298 §2.3 with
   * K = 4; XNU has no G term, its 1-ms tick plays that role). rtoInitial before any sample.
   */
  baseRtoUs(): number {
    if (this.samples === 0) return this.rtoInitialUs;
    const k = 4 * this.rttvarUs;
    const v = this.srttUs + (k > RTT_G_US ? k : RTT_G_US);
    return v > this.rtoMinUs ? v : this.rtoMinUs;
  }

  /**
   * The RTO in µs (integer). Before any sample: rtoInitial (RFC 6298 §2.1; XNU adds no slop before
   * ESTABLISHED). After: XNU tcp_xmit_timer's
   *   TCPT_RANGESET(t_rxtcur, TCP_REXMTVAL(tp), max(t_rttmin, rtt + 2 ms), TCPTV_REXMTMAX, slop)
   * i.e. RTO = clamp(max(rtoMin, SRTT + max(G, 4*RTTVAR)) + rexmtSlop,
   *                  low = max(rtoMin, lastRtt + 2 ms), high = rtoMax).
   * The slop (200 ms on XNU) covers the peer's delayed ACK; RFC 6298 §2.4 rounds up to 1 s instead.
   */
  rtoUs(): number {
    if (this.samples === 0) return Math.round(this.clamp(this.rtoInitialUs, this.rtoMinUs));
    const lo = this.lastRttUs + RTO_ABOVE_RTT_US;
    return Math.round(this.clamp(this.baseRtoUs() + this.slopUs, lo > this.rtoMinUs ? lo : this.rtoMinUs));
  }

  /**
   * The RTO XNU's process_ACK recomputes on every ACK of new data, after tcp_compute_rtt and
   * TCP_RESET_REXMT_STATE, sample or not (tcp_input.c):
   *   TCPT_RANGESET(t_rxtcur, TCP_REXMTVAL(tp), t_rttmin, TCPTV_REXMTMAX, TCP_ADD_REXMTSLOP(tp))
   * i.e. clamp(baseRtoUs() + (addSlop ? rexmtSlop : 0), rtoMin, rtoMax): the floor is t_rttmin, not
   * tcp_xmit_timer's max(t_rttmin, rtt + 2). Before any sample TCP_REXMTVAL is TCPTV_RTOBASE (XNU's
   * initial t_rttvar), here rtoInitial. TCP_ADD_REXMTSLOP is t_state >= ESTABLISHED: the caller's.
   */
  rexmtValUs(addSlop: boolean): number {
    return Math.round(this.clamp(this.baseRtoUs() + (addSlop ? this.slopUs : 0), this.rtoMinUs));
  }

  /**
   * The RTO for retransmission number `shift` (t_rxtshift, 0 = first transmission) with a backoff
   * table (profile.backoff or profile.synBackoff). XNU tcp_timers:
   *   rexmt = TCP_REXMTVAL(tp) * backoff[t_rxtshift];
   *   TCPT_RANGESET(t_rxtcur, rexmt, t_rttmin, TCPTV_REXMTMAX, slop)
   * so the multiplier applies to the base RTO and the slop is added once, after it; the result is
   * clamped to [rtoMin, rtoMax]. A shift past the table uses its last entry. `addSlop` is XNU's
   * TCP_ADD_REXMTSLOP (t_state >= ESTABLISHED, the caller's); without it, no slop before any sample.
   */
  backoffUs(shift: number, table: readonly number[], addSlop: boolean = this.samples !== 0): number {
    const n = table.length;
    const i = shift <= 0 || n === 0 ? 0 : shift < n ? shift : n - 1;
    const mult = n === 0 ? 1 : table[i]!;
    const slop = addSlop ? this.slopUs : 0;
    return Math.round(this.clamp(this.baseRtoUs() * mult + slop, this.rtoMinUs));
  }

  /**
   * BSD tcp_timers, after more than TCP_MAXRXTSHIFT/4 backoffs: "If we backed off this far, our
   * srtt estimate is probably bogus. Clobber it so we'll take the next rtt measurement as our
   * srtt; move the current srtt into rttvar to keep the current retransmit times until then."
   * RTTVAR += SRTT/4 (4.4BSD's t_rttvar += t_srtt >> TCP_RTT_SHIFT with its 4x/8x scalings, so
   * SRTT + 4*RTTVAR is unchanged), SRTT = 0, and the next sample re-initializes both (§2.2).
   * The caller checks the shift (t_rxtshift > maxRxtShift / 4).
   */
  forgetOnBackoff(): void {
    if (this.samples === 0 || this.fresh) return;
    this.rttvarUs += this.srttUs / 4;
    this.srttUs = 0;
    this.fresh = true;
  }

  /** Back to the state before any sample (new route, or a reused tcpcb). */
  reset(): void {
    this.srttUs = 0;
    this.rttvarUs = 0;
    this.minRttUs = 0;
    this.lastRttUs = 0;
    this.samples = 0;
    this.fresh = true;
  }

  private clamp(v: number, lo: number): number {
    if (v < lo) v = lo;
    return v > this.rtoMaxUs ? this.rtoMaxUs : v;
  }
}
