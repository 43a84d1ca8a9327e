// PMTU black-hole detection as XNU does it (bsd/netinet/tcp_timer.c: tcp_timers TCPT_REXMT,
// tcp_pmtud_black_holed_next_mss, tcp_pmtud_revert_segment_size; tcp_input.c tcp_bad_rexmt_check;
// tcp_output.c t_pmtud_lastseg_size and IP_DF; tcp_usrreq.c TCP_DISABLE_BLACKHOLE_DETECTION).
// A path that drops large DF packets and sends no ICMP error (RFC 2923 §2.1) looks like a
// retransmission that keeps timing out:
//  - enter, at the 2nd RTO (t_rxtshift == 2) in ESTABLISHED with TF_PMTUD set, when the segment
//    sent from snd_una was larger than the next MSS: t_maxopd is saved and lowered to
//    net.inet.tcp.pmtud_blackhole_mss (mssdflt / v6mssdflt when already that small), TF_PMTUD is
//    cleared (IPv4 segments go without DF) and cwnd restarts at one segment;
//  - revert when an ACK of new data echoes a TSval older than the switch (timestamps only): a
//    full-size segment did get through;
//  - revert at t_rxtshift > 4 with the lowered MSS: the smaller segments fare no better;
//  - revert when TCP_DISABLE_BLACKHOLE_DETECTION is set while lowered.
// Otherwise the lowered MSS stays for the connection's life, as in XNU. An ICMP needfrag may still
// lower it further; tcp_mtudisc (tcp-subr.ts) turns TF_PMTUD back on as XNU's route lookup does.
// callers: tcp-timers.ts (RTO), tcp-input-ack.ts / tcp-input-fast.ts (ACK of new data),
// tcp-output-seg.ts (segment size, DF), tcp-usrreq.ts (socket option).

import type { Instant } from '../time/instant.js';
import type { Tcp } from './tcp.js';
import { TCPS_ESTABLISHED } from './tcp-fsm.js';
import { TF_BLACKHOLE, TF_PMTUD, TF_RCVD_TSTMP, TF_REQ_TSTMP } from './tcp-var.js';
import type { Tcpcb } from './tcp-var.js';
import { tcpMssMaxopd, tcpTsval } from './tcp-subr.js';

/**
 * tcp_pmtud_black_holed_next_mss: the black-hole MSS when t_maxopd is above it, else the family's
 * default MSS (XNU uses tcp_pmtud_black_hole_mss for IPv6 as well; a FreeBSD profile has its own).
 */
export function tcpPmtudNextMss(tcp: Tcp, tp: Tcpcb): number {
  const p = tcp.profile;
  const v6 = tp.t_inpcb.family === 6;
  const bh = v6 && p.v6PmtudBlackholeMss > 0 ? p.v6PmtudBlackholeMss : p.pmtudBlackholeMss;
  if (tp.t_maxopd > bh) return bh;
  return v6 ? p.v6MssDefault : p.mssDefault;
}

/**
 * The RTO part (XNU tcp_timers TCPT_REXMT, after the backoff and tcp_free_sackholes): enter at the
 * 2nd timeout, revert after the 4th. Called with t_rxtshift already incremented.
 */
export function tcpPmtudRexmtTimeout(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  if (!tcp.profile.pmtudBlackholeDetect || tp.t_noblackhole || tp.t_state !== TCPS_ESTABLISHED) return;
  const next = tcpPmtudNextMss(tcp, tp);
  if ((tp.t_flags & TF_PMTUD) !== 0 && tp.t_rxtshift === 2 && tp.t_pmtud_lastseg_size > next) {
    const optlen = tp.t_maxopd - tp.t_maxseg;
    tp.t_flags = (tp.t_flags & ~TF_PMTUD) | TF_BLACKHOLE;
    tp.t_pmtud_saved_maxopd = tp.t_maxopd;
    // XNU: tcp_now, bumped off 0; our TSval clock, so a TSecr compares with it (as t_rxtstart).
    tp.t_pmtud_start_ts = tcpTsval(tp, now) || 1;
    tp.t_maxopd = next;
    tp.t_maxseg = next - optlen;
    // The slow-start window depends on the MSS; the retransmission itself is one segment.
    tp.cc.cwndInit(tp, now);
    tp.snd_cwnd = tp.t_maxseg;
    tcp.stats.tcps_pmtud_blackhole_activated++;
    return;
  }
  // "If further retransmissions are still unsuccessful with a lowered MTU, maybe this isn't a
  // Black Hole": the previous MSS and DF come back.
  if ((tp.t_flags & TF_BLACKHOLE) !== 0 && tp.t_rxtshift > 4) {
    tcpPmtudRevert(tcp, tp, now);
    tp.snd_cwnd = tp.t_maxseg;
  }
}

/**
 * tcp_pmtud_revert_segment_size: DF back on, t_maxopd restored (keeping the options' share), cwnd
 * back to the initial window. Deviation: XNU restores the saved t_maxopd as is; here it is also
 * capped by what tcp_mss would choose now (peer MSS, a path MTU an ICMP error lowered meanwhile,
 * TCP_MAXSEG), where XNU would first bounce a segment off the route MTU and call tcp_mtudisc.
 * XNU's tcp_update_mss_locked (a cellular link's recommended MSS) has no counterpart here.
 */
export function tcpPmtudRevert(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const optlen = tp.t_maxopd - tp.t_maxseg;
  tp.t_flags = (tp.t_flags | TF_PMTUD) & ~TF_BLACKHOLE;
  let maxopd = tp.t_pmtud_saved_maxopd;
  const cap = tcpMssMaxopd(tcp, tp);
  if (cap < maxopd) maxopd = cap;
  tp.t_maxopd = maxopd;
  tp.t_maxseg = maxopd - optlen;
  tp.cc.cwndInit(tp, now);
  tp.t_pmtud_start_ts = 0;
  tcp.stats.tcps_pmtudbh_reverted++;
}

/**
 * The ACK part of tcp_bad_rexmt_check, for every ACK of new data (after the spurious-RTO undo,
 * before the RTT sample ends the backoff): an ACK echoing a TSval from before the switch means
 * the full-size segments were getting through after all. Only the first ACK after the switch can
 * tell (t_pmtud_start_ts is cleared by it); the head-of-line size is measured anew.
 */
export function tcpPmtudAck(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  if (tp.t_rxtshift > 0 && (tp.t_flags & TF_BLACKHOLE) !== 0 && tp.t_pmtud_start_ts !== 0 &&
      (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) {
    const o = tcp.optScratch;
    if (o.tsPresent && o.tsEcr !== 0 && ((o.tsEcr - tp.t_pmtud_start_ts) | 0) < 0) tcpPmtudRevert(tcp, tp, now);
  }
  tp.t_pmtud_start_ts = 0;
  tp.t_pmtud_lastseg_size = 0;
}

/**
 * XNU tcp_output: the first data segment sent from snd_una since the last ACK of new data records
 * its size (payload + TCP options; no IP options here). That is the retransmission the RTOs repeat.
 */
export function tcpPmtudNoteSend(tp: Tcpcb, len: number, optlen: number): void {
  if (tp.t_pmtud_lastseg_size === 0 && tp.snd_nxt === tp.snd_una) tp.t_pmtud_lastseg_size = len + optlen;
}

/**
 * DF for a segment of `tp`: XNU sets IP_DF only for IPv4 (tcp_output: `if (!isipv6)`), from
 * TF_PMTUD. IPv6 has no DF bit on the wire; its dontFrag here only keeps the source from
 * fragmenting (RFC 8201: TCP shrinks its segments instead), black hole or not.
 */
export const tcpDontFrag = (tp: Tcpcb): boolean => tp.t_inpcb.family === 6 || (tp.t_flags & TF_PMTUD) !== 0;

/**
 * TCP_DISABLE_BLACKHOLE_DETECTION (XNU tcp_usrreq.c, 0 or 1): turning detection off while the
 * MSS is lowered reverts it at once.
 */
export function tcpPmtudSetDisabled(tcp: Tcp, tp: Tcpcb, off: boolean, now: Instant): void {
  tp.t_noblackhole = off;
  if (off && (tp.t_flags & TF_BLACKHOLE) !== 0 && tp.t_pmtud_saved_maxopd > 0) tcpPmtudRevert(tcp, tp, now);
}
