// Explicit Congestion Notification (RFC 3168) as XNU does it: the classic ECN of bsd/netinet
// (tcp_output.c tcp_set_ecn and the "RFC 3168 states that" block of tcp_output, tcp_input.c's
// ECN-setup SYN / SYN-ACK processing, the CE and CWR checks every segment gets, and the ECE
// reaction of process_ACK), with XNU's ecn_flags (TE_*) and tcpstat counters (tcps_ecn_*).
//
//   tcp-output-seg.ts (a segment is going out)  → tcpEcnOutputFlags / tcpEcnSendEct
//   tcp-input.ts (LISTEN: the SYN of a child)   → tcpEcnInputSyn
//   tcp-input.ts (SYN_SENT: the SYN-ACK)        → tcpEcnInputSynAck
//   tcp-input.ts (every segment to a tcpcb)     → tcpEcnInputSegment  (CWR and CE)
//   tcp-input-ack.ts (ACK of new data)          → tcpEcnInputEce
//   tcp-subr.ts tcpClose                        → tcpEcnCloseStats
//
// What XNU does by default (xnu-11417, macOS 15): tcp_ecn_outbound = tcp_ecn_inbound = 2
// (net.inet.tcp.ecn_initiate_out / ecn_negotiate_in), and dlil.c ifnet_attach sets IFEF_ECN_ENABLE
// on every interface that is not cellular, so tcp_set_ecn turns ECN on for connections in both
// directions: the first SYN carries ECE|CWR, and a SYN-ACK answers an ECN-setup SYN with ECE. Newer
// XNU (xnu-12377) replaced the pair with net.inet.tcp.ecn = 1 and skips loopback and cellular
// interfaces; the outcome on an ordinary interface is the same. Accurate ECN and L4S exist in both
// but are off by default (net.inet.tcp.accurate_ecn = 0, net.inet.tcp.l4s = 0), so the classic
// protocol below is what runs. Every interface of this stack counts as an ordinary one (no
// cellular; loopback included, as xnu-11417's lo0 also gets IFEF_ECN_ENABLE).
//
// Not modelled: the per-destination heuristics of tcp_cache.c (tcp_heuristic_do_ecn: ECN backs off
// for a while after ECN-setup SYNs were lost or reset, or data was dropped; a fresh cache answers
// "do ECN"), the aggressive-marking fallbacks (ECN_MIN_CE_PROBES / ECN_MAX_CE_RATIO) that feed them,
// tcp_ecn_setup_percentage (100: every connection), and the per-interface ECN statistics.
//
// Faithful quirks kept: an ECN-setup SYN always sets TE_SETUPRECEIVED|TE_SENDIPECT on the child,
// so with ECN disabled the SYN-ACK carries no ECE and ECN is not on, yet the child still marks its
// new data ECT(0) (nothing clears TE_SENDIPECT on that path); ECE is sent on pure ACKs only
// (`len == 0`), never on a segment that carries data; CWR rides on the next new data segment only;
// process_ACK ends the reduction's fast recovery (ack >= snd_recover) before it looks at ECE, so
// the ACK of the recovery point, which a receiver still sends with ECE (our CWR went out after that
// point), starts a second reduction: one or two reductions per CE episode, not strictly one.

import type { Instant } from '../time/instant.js';
import { seqGe, seqLt, seqAdd } from '../wire/seq.js';
import { TH_ACK, TH_CWR, TH_ECE, TH_SYN } from '../wire/tcp.js';
import type { Tcp } from './tcp.js';
import type { TcpProfile } from './tcp-profile.js';
import { TCPS_ESTABLISHED } from './tcp-fsm.js';
import { TF_CHILD, TF_FASTRECOVERY, TF_SENTFIN, TT_PTO, TT_REXMT } from './tcp-var.js';
import type { Tcpcb } from './tcp-var.js';
import { tcpClearTimer } from './tcp-timers.js';

// ---- ecn_flags (XNU bsd/netinet/tcp_var.h) ----
/** We sent an ECN-setup SYN or SYN-ACK (committed to handling ECE). */
export const TE_SETUPSENT = 0x1;
/** We received an ECN-setup SYN or SYN-ACK. */
export const TE_SETUPRECEIVED = 0x2;
/** No non-ECN-setup SYN/SYN-ACK was sent or received: new data goes out with ECT(0). */
export const TE_SENDIPECT = 0x4;
/** The next new data segment carries CWR. */
export const TE_SENDCWR = 0x8;
/** Pure ACKs carry ECE (a CE mark arrived and no CWR since). */
export const TE_SENDECE = 0x10;
/** In the window reduction an ECE started (fast recovery without a loss). */
export const TE_INRECOVERY = 0x20;
/** A CE mark arrived at least once. */
export const TE_RECV_ECN_CE = 0x40;
/** An ECE arrived (and reduced the window) at least once. */
export const TE_RECV_ECN_ECE = 0x80;
/** Our ECN-setup SYN went unanswered and was retransmitted without ECN. */
export const TE_LOST_SYN = 0x100;
/** Our ECN-setup SYN-ACK went unanswered and was retransmitted without ECN. */
export const TE_LOST_SYNACK = 0x200;
/** TCP_ENABLE_ECN 1: ECN on whatever the system says. */
export const TE_ECN_MODE_ENABLE = 0x400;
/** TCP_ENABLE_ECN 0: ECN off whatever the system says. */
export const TE_ECN_MODE_DISABLE = 0x800;
/** tcp_set_ecn's verdict: negotiate ECN on this connection. */
export const TE_ENABLE_ECN = 0x1000;
/** The ECN setup was ours (client side). */
export const TE_CLIENT_SETUP = 0x4000;
/** ECN was negotiated: both an ECN-setup SYN/SYN-ACK sent and one received (TCP_ECN_ENABLED). */
export const TE_ECN_ON = TE_SETUPSENT | TE_SETUPRECEIVED;

// ---- the IP ECN field (RFC 3168 §5) ----
export const IPTOS_ECN_NOTECT = 0;
export const IPTOS_ECN_ECT1 = 1;
export const IPTOS_ECN_ECT0 = 2;
export const IPTOS_ECN_CE = 3;
export const IPTOS_ECN_MASK = 3;

/** TCP_ECN_ENABLED: ECN was negotiated on this connection. */
export const tcpEcnEnabled = (tp: Tcpcb): boolean => (tp.ecn_flags & TE_ECN_ON) === TE_ECN_ON;

/**
 * The system policy tcp_set_ecn applies when the socket did not choose: with ecnInitiateOut 2 the
 * interface flag (IFEF_ECN_ENABLE on every non-cellular interface) enables ECN both ways; otherwise
 * an accepted connection (`inbound`: it has a listener, so_head) needs ecn_negotiate_in 1 and an
 * outbound one ecn_initiate_out 1.
 */
export function tcpEcnPolicy(p: TcpProfile, inbound: boolean): boolean {
  if (p.ecnInitiateOut === 2) return true;
  return inbound ? p.ecnNegotiateIn === 1 : p.ecnInitiateOut === 1;
}

/**
 * XNU tcp_set_ecn (called from tcp_rtlookup whenever TCP looks up the route, and so for every
 * SYN and SYN-ACK it builds): TE_ENABLE_ECN from TCP_ENABLE_ECN, else the system policy. The
 * heuristics that may veto it afterwards start out allowing ECN and are not modelled.
 */
export function tcpSetEcn(tcp: Tcp, tp: Tcpcb): void {
  let on: boolean;
  if ((tp.ecn_flags & TE_ECN_MODE_ENABLE) !== 0) on = true;
  else if ((tp.ecn_flags & TE_ECN_MODE_DISABLE) !== 0) on = false;
  else on = tcpEcnPolicy(tcp.profile, (tp.t_flags & TF_CHILD) !== 0);
  if (on) tp.ecn_flags |= TE_ENABLE_ECN;
  else tp.ecn_flags &= ~TE_ENABLE_ECN;
}

/**
 * The ECN flags of a segment tcp_output is committed to send (`flags` so far, `len` data bytes,
 * `rexmit`: a retransmission, from below snd_max or the SACK scoreboard). Returns the flags.
 *  - SYN-ACK, ECN enabled, the SYN was an ECN-setup one: the first SYN-ACK adds ECE (TE_SETUPSENT,
 *    TE_SENDIPECT; tcps_ecn_server_setup and _success); a retransmitted one goes without, and the
 *    connection falls back to no ECN (tcps_ecn_lost_synack, _server_success taken back).
 *  - SYN, ECN enabled: the first adds ECE|CWR (tcps_ecn_client_setup); a retransmission goes
 *    without and gives up sending ECT (tcps_ecn_lost_syn) — TE_SETUPSENT stays, so a late ECN
 *    SYN-ACK still turns ECN on (RFC 3168 §6.1.1: whoever sent an ECN-setup SYN must handle ECE).
 *  - CWR on the first new data segment after a window reduction (never a retransmission, never a
 *    pure ACK); ECE on pure ACKs while TE_SENDECE (tcps_ecn_sent_ece).
 */
export function tcpEcnOutputFlags(tcp: Tcp, tp: Tcpcb, flags: number, len: number, rexmit: boolean): number {
  const st = tcp.stats;
  const synack = flags & (TH_SYN | TH_ACK);
  if ((flags & TH_SYN) !== 0) tcpSetEcn(tcp, tp);
  if (synack === (TH_SYN | TH_ACK) && (tp.ecn_flags & TE_ENABLE_ECN) !== 0) {
    if ((tp.ecn_flags & TE_SETUPRECEIVED) !== 0) {
      if ((tp.ecn_flags & TE_SETUPSENT) === 0) {
        flags |= TH_ECE;
        tp.ecn_flags |= TE_SETUPSENT | TE_SENDIPECT;
        st.tcps_ecn_server_setup++;
        st.tcps_ecn_server_success++;
      } else {
        st.tcps_ecn_lost_synack++;
        st.tcps_ecn_server_success--;
        tp.ecn_flags |= TE_LOST_SYNACK;
        tp.ecn_flags &= ~(TE_SETUPRECEIVED | TE_SENDIPECT | TE_SENDCWR);
      }
    }
  } else if (synack === TH_SYN && (tp.ecn_flags & TE_ENABLE_ECN) !== 0) {
    if ((tp.ecn_flags & TE_SETUPSENT) === 0) {
      flags |= TH_ECE | TH_CWR;
      st.tcps_ecn_client_setup++;
      tp.ecn_flags |= TE_CLIENT_SETUP | TE_SETUPSENT | TE_SENDIPECT;
    } else {
      st.tcps_ecn_lost_syn++;
      tp.ecn_flags |= TE_LOST_SYN;
      tp.ecn_flags &= ~TE_SENDIPECT;
    }
  }
  if ((tp.ecn_flags & TE_SENDCWR) !== 0 && len !== 0 && !rexmit) {
    flags |= TH_CWR;
    tp.ecn_flags &= ~TE_SENDCWR;
  }
  if ((tp.ecn_flags & TE_SENDECE) !== 0 && len === 0) {
    flags |= TH_ECE;
    st.tcps_ecn_sent_ece++;
  }
  return flags;
}

/** ECT(0) on this segment: new data (not a retransmission, not a SYN) while TE_SENDIPECT. */
export const tcpEcnSendEct = (tp: Tcpcb, flags: number, len: number, rexmit: boolean): boolean =>
  (tp.ecn_flags & TE_SENDIPECT) !== 0 && len !== 0 && !rexmit && (flags & TH_SYN) === 0;

/**
 * A SYN that creates a child (XNU tcp_input LISTEN, tcp_input_process_accecn_syn with Accurate ECN
 * off): ECE|CWR is an ECN-setup SYN, with or without AE (an Accurate ECN request falls back to the
 * classic setup) and whatever the ECN setting, which only decides whether the SYN-ACK answers it.
 * Other combinations are not (RFC 3168 §6.1.1).
 */
export function tcpEcnInputSyn(tp: Tcpcb, flags: number): void {
  if ((flags & (TH_ECE | TH_CWR)) === (TH_ECE | TH_CWR)) tp.ecn_flags |= TE_SETUPRECEIVED | TE_SENDIPECT;
}

/**
 * The SYN-ACK in SYN_SENT (XNU tcp_input_process_accecn_synack, classic branch): ECE without CWR is
 * an ECN-setup SYN-ACK (TE_SETUPRECEIVED; with our ECN-setup SYN out, ECN is on:
 * tcps_ecn_client_success). Anything else is not: no ECT from now on, and when our ECN-setup SYN was
 * answered without a retransmission, the peer does not support ECN (tcps_ecn_not_supported).
 */
export function tcpEcnInputSynAck(tcp: Tcp, tp: Tcpcb, flags: number): void {
  if ((flags & (TH_ECE | TH_CWR)) === TH_ECE) {
    tp.ecn_flags |= TE_SETUPRECEIVED;
    if (tcpEcnEnabled(tp)) tcp.stats.tcps_ecn_client_success++;
    return;
  }
  if ((tp.ecn_flags & TE_SETUPSENT) !== 0 && tp.t_rxtshift === 0) tcp.stats.tcps_ecn_not_supported++;
  tp.ecn_flags &= ~TE_SENDIPECT;
}

/**
 * What every segment to a connection gets before the state machine (XNU tcp_input, after the PCB
 * lookup): CWR ends the ECE echo; a CE mark on in-window data in ESTABLISHED of an ECN connection
 * starts it (TE_SENDECE, TE_RECV_ECN_CE; tcps_ecn_recv_ce). XNU tests the segment against
 * [last_ack_sent, last_ack_sent + rcv_wnd) with rcv_wnd left from the previous segment; `rcvWnd` is
 * the same quantity computed now. CE on a connection without ECN is only counted (tcps_ecn_fallback_ce).
 */
export function tcpEcnInputSegment(tcp: Tcp, tp: Tcpcb, flags: number, ipEcn: number, seq: number, tlen: number, rcvWnd: number): void {
  if ((flags & TH_CWR) !== 0) tp.ecn_flags &= ~TE_SENDECE;
  if (ipEcn !== IPTOS_ECN_CE || tp.t_state !== TCPS_ESTABLISHED) return;
  if (!tcpEcnEnabled(tp)) {
    tcp.stats.tcps_ecn_fallback_ce++;
    return;
  }
  if (tlen > 0 && seqGe(seq, tp.last_ack_sent) && seqLt(seq, seqAdd(tp.last_ack_sent, rcvWnd))) {
    tcp.stats.tcps_ecn_recv_ce++;
    tp.ecn_flags |= TE_RECV_ECN_CE | TE_SENDECE;
  }
}

/**
 * An ACK of new data with ECE (XNU process_ACK, classic ECN): while we send ECT on an ECN
 * connection and are not already reducing, tcp_enter_fast_recovery — the congestion controller's
 * reduction ('ecn': ssthresh, cwnd = ssthresh), fast recovery up to snd_max without a
 * retransmission (TE_INRECOVERY: partial ACKs are plain ACKs, cwnd does not grow, one reduction per
 * window), the retransmission and probe timers stopped and RTT timing dropped — and CWR on the next
 * new data. Called before the congestion window would grow for this ACK; returns true when it
 * reduced. When the ACK already covers the recovery point, recovery ends at once (EXIT_FASTRECOVERY).
 */
export function tcpEcnInputEce(tcp: Tcp, tp: Tcpcb, flags: number, ack: number, now: Instant): boolean {
  if ((tp.ecn_flags & TE_SENDIPECT) === 0 || !tcpEcnEnabled(tp) || (flags & TH_ECE) === 0 ||
      (tp.t_flags & TF_FASTRECOVERY) !== 0) {
    return false;
  }
  tp.cc.congSignal(tp, 'ecn', now);
  tp.t_flags |= TF_FASTRECOVERY;
  tp.snd_recover = (tp.t_flags & TF_SENTFIN) !== 0 ? seqAdd(tp.snd_max, -1) : tp.snd_max;
  tcpClearTimer(tp, TT_REXMT);
  tcpClearTimer(tp, TT_PTO);
  tp.t_rtttime = -1;
  tp.snd_cwnd = tp.snd_ssthresh;
  tp.ecn_flags |= TE_INRECOVERY | TE_SENDCWR | TE_RECV_ECN_ECE;
  tcp.stats.tcps_ecn_recv_ece++;
  if (seqGe(ack, tp.snd_recover)) tcpEcnExitRecovery(tp);
  return true;
}

/** EXIT_FASTRECOVERY for a reduction ECE started (no post-recovery deflation: nothing was inflated). */
export function tcpEcnExitRecovery(tp: Tcpcb): void {
  tp.t_flags &= ~TF_FASTRECOVERY;
  tp.ecn_flags &= ~TE_INRECOVERY;
  tp.t_dupacks = 0;
}

/** The reduction in progress came from ECE, not from a loss (TE_INRECOVERY inside fast recovery). */
export const tcpEcnInRecovery = (tp: Tcpcb): boolean =>
  (tp.t_flags & TF_FASTRECOVERY) !== 0 && (tp.ecn_flags & TE_INRECOVERY) !== 0;

/**
 * The connection's ECN outcome when it closes (XNU tcp_update_stats_per_flow): on ECN connections,
 * whether CE / ECE were seen (tcps_ecn_conn_recv_ce / _recv_ece) and whether that came with loss
 * (retransmitted or out-of-order bytes: _conn_pl_ce, else _conn_nopl_ce), or loss without marks
 * (_conn_plnoce).
 */
export function tcpEcnCloseStats(tcp: Tcp, tp: Tcpcb): void {
  if (!tcpEcnEnabled(tp)) return;
  const st = tcp.stats;
  const f = tp.ecn_flags;
  if ((f & TE_RECV_ECN_CE) !== 0) st.tcps_ecn_conn_recv_ce++;
  if ((f & TE_RECV_ECN_ECE) !== 0) st.tcps_ecn_conn_recv_ece++;
  const loss = tp.t_txretransmitbytes > 0 || tp.t_rxoutoforderbytes > 0;
  if ((f & (TE_RECV_ECN_CE | TE_RECV_ECN_ECE)) !== 0) {
    if (loss) st.tcps_ecn_conn_pl_ce++;
    else st.tcps_ecn_conn_nopl_ce++;
  } else if (loss) {
    st.tcps_ecn_conn_plnoce++;
  }
}
