// TCP timers (bsd/netinet/tcp_timer.c): retransmission (RFC 6298, Karn, backoff, SYN backoff,
// ETIMEDOUT, PMTU black-hole detection in tcp-pmtud-blackhole.ts), persist (zero-window probes
// with backoff between persistMinMs and persistMaxMs, dropped when the peer stays silent), keepalive and connection-establishment
// (keep-init) timeout, 2*MSL / FIN_WAIT_2, delayed ACK, and the tail loss probe timeout (handled
// in tcp-tlp.ts).
//
// Each tcpcb has six deadlines (Tcpcb.t_timer, µs, 0 = off) and one Timer in the stack's heap,
// armed at the earliest deadline: setting a later deadline is a field write; a cleared deadline
// just makes the Timer fire early once, after which it is re-armed at the next real deadline.
// TimerQueue → Tcpcb.onTimer → Tcp.tcpTimer → tcpTimers (here) → tcp-output.ts / tcp-subr.ts.

import type { Instant } from '../time/instant.js';
import { SO_KEEPALIVE, SS_NOFDREF } from '../socket/constants.js';
import { ETIMEDOUT } from '../socket/errno.js';
import { TH_ACK } from '../wire/tcp.js';
import { seqAdd } from '../wire/seq.js';
import type { Tcp } from './tcp.js';
import type { TcpProfile } from './tcp-profile.js';
import {
  TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_2, TCPS_SYN_SENT, TCPS_TIME_WAIT,
} from './tcp-fsm.js';
import {
  TF_ACKNOW, TF_CLOSED, TF_DELACK, TF_FASTRECOVERY, TF_FORCEDATA, TF_REQ_SACK, TF_REQ_SCALE,
  TF_REQ_TSTMP, TF_SENT_TLPROBE, TF_STRETCHACK, TT_2MSL, TT_DELACK, TT_KEEP, TT_NTIMERS, TT_PERSIST, TT_PTO,
  TT_REXMT, Tcpcb,
} from './tcp-var.js';
import { SACK_DUPTHRESH } from './tcp-sack.js';
import { tcpClose, tcpDrop, tcpRespondTp, tcpTsval } from './tcp-subr.js';
import { TE_INRECOVERY, TE_SENDCWR, tcpEcnEnabled } from './tcp-ecn.js';
import { tcpOutput } from './tcp-output.js';
import { tcpResetStretchAck } from './tcp-delack.js';
import { tcpPmtudRexmtTimeout } from './tcp-pmtud-blackhole.js';
import { tcpTimerPto } from './tcp-tlp.js';

/** Sets deadline `which` to `deadline` (µs); re-arms the tcpcb's Timer only when it gets earlier. */
export function tcpSetTimer(tcp: Tcp, tp: Tcpcb, which: number, deadline: Instant): void {
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  tp.t_timer[which] = deadline;
  const t = tp.timer;
  if (!t.armed || deadline < t.deadline) tcp.ctx.timers.schedule(t, deadline);
}

/** Clears deadline `which` (a field write: the Timer may fire once for nothing). */
export function tcpClearTimer(tp: Tcpcb, which: number): void {
  tp.t_timer[which] = 0;
}

/** True when deadline `which` is set. */
export const tcpTimerArmed = (tp: Tcpcb, which: number): boolean => tp.t_timer[which]! !== 0;

/** tcp_canceltimers: every deadline off and the Timer out of the heap. */
export function tcpCancelTimers(tcp: Tcp, tp: Tcpcb): void {
  tp.t_timer.fill(0);
  tcp.ctx.timers.cancel(tp.timer);
}

/** Keepalive idle time in µs (TCP_KEEPALIVE or the profile's keepIdleMs). */
export const keepIdleUs = (tcp: Tcp, tp: Tcpcb): number => (tp.t_keepidle > 0 ? tp.t_keepidle : tcp.profile.keepIdleMs) * 1000;
/** Keepalive probe interval in µs. */
export const keepIntvlUs = (tcp: Tcp, tp: Tcpcb): number => (tp.t_keepintvl > 0 ? tp.t_keepintvl : tcp.profile.keepIntvlMs) * 1000;
/** Keepalive probe count. */
export const keepCnt = (tcp: Tcp, tp: Tcpcb): number => (tp.t_keepcnt > 0 ? tp.t_keepcnt : tcp.profile.keepCnt);
/** Connection-establishment timeout in µs (TCP_CONNECTIONTIMEOUT or keepInitMs). */
export const keepInitUs = (tcp: Tcp, tp: Tcpcb): number => (tp.t_keepinit > 0 ? tp.t_keepinit : tcp.profile.keepInitMs) * 1000;

/**
 * tcp_setpersist: arms the persist timer at the base RTO times the backoff multiplier for the
 * probe count, clamped to [persistMinMs, persistMaxMs] (TCPT_RANGESET with TCPTV_PERSMIN/MAX).
 * When probing starts with a max_persist_timeout, the deadline t_persist_stop is set.
 */
export function tcpSetPersist(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const p = tcp.profile;
  if (tp.t_persist_timeout !== 0 && !tcpTimerArmed(tp, TT_PERSIST) && tp.t_persist_stop === 0) {
    tp.t_persist_stop = now + tp.t_persist_timeout * 1000;
  }
  const table = p.backoff;
  const i = tp.t_persistshift < table.length ? tp.t_persistshift : table.length - 1;
  let t = tp.rtt.baseRtoUs() * (table[i] ?? 1);
  if (t < p.persistMinMs * 1000) t = p.persistMinMs * 1000;
  if (t > p.persistMaxMs * 1000) t = p.persistMaxMs * 1000;
  tcpSetTimer(tcp, tp, TT_PERSIST, now + Math.round(t));
  if (tp.t_persistshift < p.maxRxtShift) tp.t_persistshift++;
}

/** Fires every due deadline of `tp` once, then re-arms its Timer at the earliest remaining one. */
export function tcpTimers(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  // XNU's TCPT_PTO is timer 0: due at the same tick as the RTO (a PTO clamped to the RTO), the probe
  // goes out and pushes the retransmission timer back.
  const pto = tp.t_timer[TT_PTO]!;
  if (pto !== 0 && pto <= now && (tp.t_flags & TF_CLOSED) === 0) {
    tp.t_timer[TT_PTO] = 0;
    tcpTimerPto(tcp, tp, now);
  }
  for (let i = 0; i < TT_NTIMERS; i++) {
    if ((tp.t_flags & TF_CLOSED) !== 0) return;
    const d = tp.t_timer[i]!;
    if (d === 0 || d > now) continue;
    tp.t_timer[i] = 0;
    switch (i) {
      case TT_PTO: tcpTimerPto(tcp, tp, now); break;
      case TT_REXMT: tcpTimerRexmt(tcp, tp, now); break;
      case TT_PERSIST: tcpTimerPersist(tcp, tp, now); break;
      case TT_KEEP: tcpTimerKeep(tcp, tp, now); break;
      case TT_2MSL: tcpTimer2msl(tcp, tp, now); break;
      case TT_DELACK: tcpTimerDelack(tcp, tp, now); break;
    }
  }
  if ((tp.t_flags & TF_CLOSED) !== 0) return;
  let next = 0;
  for (let i = 0; i < TT_NTIMERS; i++) {
    const d = tp.t_timer[i]!;
    if (d !== 0 && (next === 0 || d < next)) next = d;
  }
  if (next === 0) tcp.ctx.timers.cancel(tp.timer);
  else if (!tp.timer.armed || tp.timer.deadline !== next) tcp.ctx.timers.schedule(tp.timer, next);
}

/**
 * Retransmission timeout (RFC 6298 §5.4-5.7, RFC 5681 §3.1): after maxRxtShift retransmissions
 * the connection is dropped with ETIMEDOUT (or the recorded soft error). Otherwise the RTO backs
 * off (synBackoff for a SYN in SYN_SENT; backoff for a SYN-ACK and for data), Karn's rule stops
 * the RTT sample, the estimator is forgotten after a few backoffs, recovery and SACK state are
 * discarded, the congestion controller sees 'rto', and everything from snd_una is sent again.
 */
function tcpTimerRexmt(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const p = tcp.profile;
  const st = tcp.stats;
  // XNU tcp_timers TCPT_REXMT: drop after maxRxtShift retransmissions, or once this episode has
  // retransmitted for TCP_RXT_CONNDROPTIME (tcp_now - t_rxtstart >= t_rxt_conndroptime).
  if (++tp.t_rxtshift > p.maxRxtShift ||
      (tp.t_rxt_conndroptime > 0 && tp.t_rxtstart !== 0 &&
       ((tcpTsval(tp, now) - tp.t_rxtstart) | 0) >= tp.t_rxt_conndroptime)) {
    tp.t_rxtshift = p.maxRxtShift;
    st.tcps_timeoutdrop++;
    tcpDrop(tcp, tp, ETIMEDOUT, now);
    return;
  }
  st.tcps_rexmttimeo++;
  // XNU: a timeout after a probe means the probe did not help; the first timeout outside recovery
  // is a tail the probes did not save.
  if ((tp.t_flags & TF_SENT_TLPROBE) !== 0) {
    tp.t_flags &= ~TF_SENT_TLPROBE;
    st.tcps_rto_after_pto++;
  }
  if ((tp.t_flags & TF_FASTRECOVERY) === 0 && tp.t_rxtshift === 1) st.tcps_tailloss_rto++;
  if (tp.t_rxtshift === 1 && tp.t_state === TCPS_ESTABLISHED) {
    // XNU: the time this retransmission episode started (our TSval clock, so a TSecr compares
    // with it) and tcp_rexmt_save_state, for tcp_bad_rexmt_restore_state if the RTO was spurious.
    tp.t_rxtstart = tcpTsval(tp, now) || 1;
    tp.snd_recover_prev = tp.snd_recover;
    tp.t_wasfrecovery = (tp.t_flags & TF_FASTRECOVERY) !== 0;
  }
  // XNU tcp_timers (TCPT_REXMT): tcp_syn_backoff only in SYN_SENT; a SYN-ACK (SYN_RECEIVED)
  // backs off on the regular tcp_backoff table like data (FreeBSD tcp_timer_rexmt alike).
  // TCPT_RANGESET(..., TCP_ADD_REXMTSLOP(tp)): the slop from ESTABLISHED on, sampled RTT or not.
  tp.t_rxtcur = tp.rtt.backoffUs(tp.t_rxtshift, tp.t_state === TCPS_SYN_SENT ? p.synBackoff : p.backoff,
    tp.t_state >= TCPS_ESTABLISHED);
  // XNU: "Check for potential Path MTU Discovery Black Hole" (after the backoff, before the rest).
  tcpPmtudRexmtTimeout(tcp, tp, now);
  // net.inet.tcp.rexmit_drop_options: a SYN that keeps going unanswered loses its options.
  if (tp.t_state === TCPS_SYN_SENT && p.synDropOptionsAfter > 0 && tp.t_rxtshift >= p.synDropOptionsAfter) {
    tp.t_flags &= ~(TF_REQ_SCALE | TF_REQ_TSTMP | TF_REQ_SACK);
  }
  // RFC 6298 §5.7 / BSD: after several backoffs the RTT estimate is probably stale.
  if (tp.t_rxtshift > (p.maxRxtShift >> 2)) tp.rtt.forgetOnBackoff();
  tp.snd_nxt = tp.snd_una;
  tp.snd_recover = tp.snd_max;
  tp.t_rtttime = -1;
  // XNU EXIT_FASTRECOVERY: duplicate-ACK count and threshold reset, no probe pending.
  tp.t_dupacks = 0;
  tp.t_rexmtthresh = SACK_DUPTHRESH;
  tcpClearTimer(tp, TT_PTO);
  if (tp.t_state >= TCPS_ESTABLISHED) {
    tp.t_flags &= ~TF_FASTRECOVERY;
    tp.ecn_flags &= ~TE_INRECOVERY;
    if (tp.scoreboard !== null) tp.scoreboard.clear();
    tp.snd_highrxt = tp.snd_una;
    tp.cc.congSignal(tp, 'rto', now);
  }
  // XNU: "CWR notifications are to be sent on new data right after Fast Retransmits and ECE
  // notification receipts" — and after the first RTO of an episode.
  if (tp.t_rxtshift === 1 && tcpEcnEnabled(tp)) tp.ecn_flags |= TE_SENDCWR;
  tcpOutput(tcp, tp, now);
}

/** tcp_totbackoff: the sum of the RTO multipliers up to maxRxtShift (XNU 511, FreeBSD 2559). */
export function tcpTotBackoff(p: TcpProfile): number {
  let sum = 0;
  for (let i = 0; i <= p.maxRxtShift && i < p.backoff.length; i++) sum += p.backoff[i]!;
  return sum;
}

/**
 * Persist timeout: back off and force one byte into the zero window (a window probe). XNU
 * tcp_timers TCPT_PERSIST drops the connection (tcps_persistdrop, ETIMEDOUT) instead once the
 * backoff is full and nothing has come from the peer for tcp_maxpersistidle or the base RTO times
 * tcp_totbackoff, or at the max_persist_timeout deadline; FreeBSD also after persistClosedDropMs
 * of silence once the socket is closed. A live peer's replies to the probes keep t_rcvtime fresh.
 */
function tcpTimerPersist(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const p = tcp.profile;
  tcp.stats.tcps_persisttimeo++;
  const idle = now - tp.t_rcvtime;
  if ((tp.t_persistshift >= p.maxRxtShift &&
       (idle >= p.maxPersistIdleMs * 1000 || idle >= tp.rtt.baseRtoUs() * tcpTotBackoff(p))) ||
      (tp.t_persist_stop !== 0 && tp.t_persist_stop <= now) ||
      (p.persistClosedDropMs > 0 && tp.t_state > TCPS_CLOSE_WAIT && idle >= p.persistClosedDropMs * 1000)) {
    tcp.stats.tcps_persistdrop++;
    tcpDrop(tcp, tp, ETIMEDOUT, now);
    return;
  }
  tcpSetPersist(tcp, tp, now);
  tp.t_flags |= TF_FORCEDATA;
  tcpOutput(tcp, tp, now);
  tp.t_flags &= ~TF_FORCEDATA;
}

/**
 * Keep timer. Before ESTABLISHED it is the connection-establishment timeout (keep-init,
 * TCP_CONNECTIONTIMEOUT): ETIMEDOUT. After, with SO_KEEPALIVE and while the connection is not
 * closing, an idle connection gets a probe <SEQ=SND.UNA-1><ACK=RCV.NXT> every keepintvl; after
 * keepcnt unanswered probes it is dropped with ETIMEDOUT. Any segment received resets it.
 */
function tcpTimerKeep(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const st = tcp.stats;
  if (tp.t_state < TCPS_ESTABLISHED) {
    st.tcps_keeptimeo++;
    st.tcps_timeoutdrop++;
    tcpDrop(tcp, tp, ETIMEDOUT, now);
    return;
  }
  const so = tp.so;
  if (so !== null && (so.so_options & SO_KEEPALIVE) !== 0 && tp.t_state <= TCPS_CLOSE_WAIT) {
    if (tp.t_keepprobes >= keepCnt(tcp, tp)) {
      st.tcps_keeptimeo++;
      st.tcps_keepdrops++;
      tcpDrop(tcp, tp, ETIMEDOUT, now);
      return;
    }
    if (now - tp.t_rcvtime >= keepIdleUs(tcp, tp)) {
      st.tcps_keepprobe++;
      tp.t_keepprobes++;
      tcpRespondTp(tcp, tp, seqAdd(tp.snd_una, -1), tp.rcv_nxt, TH_ACK, now);
      tcpSetTimer(tcp, tp, TT_KEEP, now + keepIntvlUs(tcp, tp));
      return;
    }
    tcpSetTimer(tcp, tp, TT_KEEP, tp.t_rcvtime + keepIdleUs(tcp, tp));
    return;
  }
  tcpSetTimer(tcp, tp, TT_KEEP, now + keepIdleUs(tcp, tp));
}

/**
 * 2MSL timer: TIME_WAIT ends (the tcpcb and PCB are freed). In FIN_WAIT_2 with the socket
 * closed it is the FIN_WAIT_2 timeout: the connection is closed once idle that long.
 */
function tcpTimer2msl(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  if (tp.t_state === TCPS_TIME_WAIT) {
    tcpClose(tcp, tp);
    return;
  }
  if (tp.t_state === TCPS_FIN_WAIT_2) {
    const so = tp.so;
    const closed = so === null || (so.so_state & SS_NOFDREF) !== 0;
    const limit = tcp.profile.finWait2TimeoutMs * 1000;
    if (closed && now - tp.t_rcvtime >= limit) {
      tcp.stats.tcps_finwait2_drops++;
      tcpClose(tcp, tp);
      return;
    }
    tcpSetTimer(tcp, tp, TT_2MSL, tp.t_rcvtime + limit);
  }
}

/** Delayed-ACK timer: the ACK that was held back goes out now. */
function tcpTimerDelack(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  if ((tp.t_flags & TF_DELACK) === 0) return;
  tp.t_flags &= ~TF_DELACK;
  // XNU: the timer firing while stretching means the stream slowed down: ACK every second again.
  if ((tp.t_flags & TF_STRETCHACK) !== 0) tcpResetStretchAck(tcp, tp, now);
  tp.t_flags |= TF_ACKNOW;
  tcp.stats.tcps_delack++;
  tcpOutput(tcp, tp, now);
}
