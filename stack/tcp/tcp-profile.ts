// Kernel profiles: every constant and policy where TCP implementations differ, in one object.
// XNU's values are the default (bsd/netinet/tcp_timer.h, tcp_subr.c, tcp_input.c, tcp_output.c,
// tcp_usrreq.c); a FreeBSD profile and sysctl-style knobs only swap values, never code paths.

/**
 * One TCP option in a SYN or SYN-ACK layout, in the order the kernel writes them. 'fo' is the Fast
 * Open cookie a TFO server offers in its SYN-ACK (tcp-fastopen.ts).
 */
export type SynOptionItem = 'mss' | 'nop' | 'wscale' | 'sackOK' | 'ts' | 'fo' | 'eol';

export interface TcpProfile {
  readonly name: string;

  // ---- option negotiation ----
  /** SYN options in wire order; options that are disabled are skipped together with NOPs that only pad them. */
  readonly synOptions: readonly SynOptionItem[];
  /** SYN-ACK options in wire order (only those the peer offered are sent). */
  readonly synAckOptions: readonly SynOptionItem[];
  /**
   * How SYN / SYN-ACK options are padded. 'layout': the NOPs written in the layout, each run kept
   * or skipped with the option after it (XNU's fixed words: NOP,WS; NOP,NOP,TS). 'bsd-align':
   * FreeBSD tcp_addoptions, which ignores the layout's NOPs and pads before each option so it
   * lands where a 4-byte-aligned option stays aligned (MSS at 4n, WS at an odd offset,
   * SACK-permitted at an even one, TS at 4n+2), then EOL-pads to 4.
   */
  readonly synOptionPadding: 'layout' | 'bsd-align';
  /** net.inet.tcp.rfc1323: window scaling and timestamps. */
  readonly rfc1323: boolean;
  /** net.inet.tcp.sack.enable */
  readonly sack: boolean;
  /**
   * ECN (RFC 3168) negotiation policy, as XNU's two sysctls hold it (tcp-ecn.ts):
   * net.inet.tcp.ecn_initiate_out and net.inet.tcp.ecn_negotiate_in, each 0 (off), 1 (on) or 2
   * (per interface: on every non-cellular interface, which all of ours are). With
   * ecnInitiateOut 2 every interface has IFEF_ECN_ENABLE, which turns ECN on both ways whatever
   * ecnNegotiateIn says; otherwise outbound connections use ecnInitiateOut === 1 and accepted ones
   * ecnNegotiateIn === 1 (tcp_set_ecn). TCP_ENABLE_ECN overrides both per socket.
   */
  readonly ecnInitiateOut: 0 | 1 | 2;
  readonly ecnNegotiateIn: 0 | 1 | 2;
  /** Default MSS before negotiation (TCP_MSS 512; IPv6 1024). */
  readonly mssDefault: number;
  readonly v6MssDefault: number;
  /** net.inet.tcp.minmss: TCP_MAXSEG and a peer's MSS are clamped to at least this. */
  readonly minMss: number;

  // ---- buffers ----
  /** net.inet.tcp.sendspace / recvspace: initial socket buffer sizes. */
  readonly sendSpace: number;
  readonly recvSpace: number;
  /** Buffer auto-sizing (XNU tcp_do_autorcvbuf / autosndbuf) and its ceilings. */
  readonly autoSize: boolean;
  readonly autoSendBufMax: number;
  readonly autoRecvBufMax: number;
  /** kern.ipc.maxsockbuf */
  readonly maxSockBuf: number;
  /** Most bytes held in one connection's out-of-order queue (memory cap). */
  readonly reassMaxBytes: number;
  /** Most segments held in one connection's out-of-order queue. */
  readonly reassMaxSegments: number;

  // ---- timers (milliseconds) ----
  /** MSL; TIME_WAIT lasts 2*MSL. net.inet.tcp.msl */
  readonly mslMs: number;
  /** Initial RTO before any RTT sample (RFC 6298 §2.1: 1 s). net.inet.tcp.rexmit_initial */
  readonly rtoInitialMs: number;
  /** Lower and upper RTO bounds (TCPTV_REXMTMIN, TCPTV_REXMTMAX). */
  readonly rtoMinMs: number;
  readonly rtoMaxMs: number;
  /** Added to the computed RTO to absorb delayed ACKs (TCPTV_REXMTSLOP). net.inet.tcp.rexmit_slop */
  readonly rexmtSlopMs: number;
  /** Retransmissions before the connection is dropped with ETIMEDOUT (TCP_MAXRXTSHIFT). */
  readonly maxRxtShift: number;
  /** RTO multipliers per retransmission of data (tcp_backoff). */
  readonly backoff: readonly number[];
  /** RTO multipliers per retransmission of a SYN (tcp_syn_backoff). */
  readonly synBackoff: readonly number[];
  /** Drop TCP options from the SYN after this many SYN retransmissions (net.inet.tcp.rexmit_drop_options; 0 = never). */
  readonly synDropOptionsAfter: number;
  /** Connection-establishment timeout (TCPTV_KEEP_INIT, TCP_CONNECTIONTIMEOUT default). net.inet.tcp.keepinit */
  readonly keepInitMs: number;
  /** net.inet.tcp.keepidle / keepintvl / keepcnt */
  readonly keepIdleMs: number;
  readonly keepIntvlMs: number;
  readonly keepCnt: number;
  /** FIN_WAIT_2 timeout once the socket is closed (TCPTV_FINWAIT2). */
  readonly finWait2TimeoutMs: number;
  /** Delayed-ACK timer. net.inet.tcp.delacktime */
  readonly delAckMs: number;
  /** Persist timer bounds (TCPTV_PERSMIN, TCPTV_PERSMAX). */
  readonly persistMinMs: number;
  readonly persistMaxMs: number;
  /**
   * tcp_maxpersistidle (TCPTV_KEEP_IDLE, 2 h, in XNU and FreeBSD; no sysctl): after a full persist
   * backoff the connection is dropped once the peer has been silent this long, or for the base RTO
   * times the sum of `backoff` (tcp_totbackoff: 511 in XNU, 2559 in FreeBSD) if that is shorter.
   */
  readonly maxPersistIdleMs: number;
  /**
   * net.inet.tcp.max_persist_timeout (XNU, ms, 0 = off): a connection that keeps probing a zero
   * window this long after probing began is dropped (t_persist_stop). FreeBSD has no such knob.
   */
  readonly maxPersistTimeoutMs: number;
  /**
   * FreeBSD tcp_timer_persist: once the socket is closed (past CLOSE_WAIT) a persisting
   * connection whose peer has been silent this long is dropped (TCPTV_PERSMAX, 60 s); 0 = off (XNU).
   */
  readonly persistClosedDropMs: number;

  // ---- policies ----
  /**
   * When to ACK in-order data: 'every-second' ACKs at least every second full-sized segment
   * (RFC 5681 §4.2, FreeBSD); 'xnu-stretch' is XNU's tcp_delack_enabled=3 (tcp_cc_delay_ack and
   * tcp_stretch_ack_enable, see tcpDelayAck in tcp-input-data.ts).
   */
  readonly delAckPolicy: 'every-second' | 'xnu-stretch';
  /** xnu-stretch: net.inet.tcp.maxseg_unacked, the most segments a stretch ACK covers (8). */
  readonly maxsegUnacked: number;
  /** xnu-stretch: TCPTV_UNACKWIN, the window over which the byte rate is measured (100 ms). */
  readonly rcvUnackWinMs: number;
  /** xnu-stretch: TCPTV_MAXRCVIDLE, idle time after which streaming detection restarts (200 ms). */
  readonly maxRcvIdleMs: number;
  /** xnu-stretch: net.inet.tcp.rcvsspktcnt, segments to see (slow start) before stretching again (512). */
  readonly rcvSsPktCount: number;
  /** RSTs per second to closed ports (net.inet.icmp.icmplim for BSD's badport_bandlim; 0 = no limit). */
  readonly rstRateLimit: number;
  /** Initial congestion window in segments (RFC 6928 IW10, XNU's default). */
  readonly initialWindowSegments: number;
  /** Default congestion-control algorithm. */
  readonly congestionControl: 'cubic' | 'newreno';
  /** Where PSH goes: on the last segment of what the send buffer held ('end-of-buffer', BSD). */
  readonly pshPolicy: 'end-of-buffer' | 'every-segment';
  /**
   * RFC 5961 §7 ACK throttling, per connection: how the challenge ACKs (§3.2, §4.2) and the ACKs
   * answering unacceptable ACKs (§5.2, "ACK for data not yet sent") are limited.
   * 'xnu': tcp_is_ack_ratelimited, a window opens with the first such ACK after challengeAckWindowMs
   * and lets challengeAckLimit through (the one opening it always goes, so a limit of 0 still lets
   * one per window). 'freebsd': tcp_send_challenge_ack, an epoch of challengeAckWindowMs from its
   * first ACK with at most challengeAckLimit ACKs; a 0 in either value turns the limit off.
   */
  readonly challengeAckPolicy: 'xnu' | 'freebsd';
  /** net.inet.tcp.challengeack_limit (XNU, 10) / net.inet.tcp.ack_war_cnt (FreeBSD, 5). */
  readonly challengeAckLimit: number;
  /** The window: 1000 ms, fixed in XNU; net.inet.tcp.ack_war_timewindow (FreeBSD, 1000). */
  readonly challengeAckWindowMs: number;
  /** net.inet.tcp.insecure_rst / insecure_syn: accept in-window RST/SYN without RFC 5961 checks. */
  readonly insecureRst: boolean;
  readonly insecureSyn: boolean;
  /** net.inet.tcp.blackhole: 0 answer closed ports with RST, 1 not for SYNs, 2 never. */
  readonly blackhole: 0 | 1 | 2;
  /** net.inet.tcp.drop_synfin: drop segments with both SYN and FIN. */
  readonly dropSynFin: boolean;
  /** net.inet.tcp.icmp_may_rst: ICMP unreachables may reset a connection in SYN_SENT (RFC 5927 §4.1). */
  readonly icmpMayRst: boolean;
  /** RFC 3042 limited transmit. */
  readonly limitedTransmit: boolean;
  /** RFC 7661/2861 congestion window validation after idle. */
  readonly cwndValidation: boolean;
  /** net.inet.tcp.tso: build super-segments when the link offers segmentation offload. */
  readonly tso: boolean;
  /**
   * XNU's Nagle exception (tcp_output.c TF_MAXSEGSNT): the last piece of the send buffer goes at
   * once, even with data in flight, when the previous data segment sent was full-sized.
   */
  readonly nagleAfterFullSegment: boolean;

  // ---- PMTU black-hole detection (tcp-pmtud-blackhole.ts) ----
  /**
   * net.inet.tcp.pmtud_blackhole_detection: on the second retransmission timeout of a segment
   * larger than the black-hole MSS in ESTABLISHED, lower t_maxopd and stop setting DF (XNU
   * tcp_timers TCPT_REXMT). Any non-zero sysctl value turns it on, as XNU tests the int for truth.
   */
  readonly pmtudBlackholeDetect: boolean;
  /** net.inet.tcp.pmtud_blackhole_mss: the t_maxopd (MSS with options) tried in a black hole. */
  readonly pmtudBlackholeMss: number;
  /**
   * net.inet.tcp.v6pmtud_blackhole_mss (FreeBSD only): IPv6's black-hole MSS; 0 = use
   * pmtudBlackholeMss for IPv6 too (XNU has the one knob for both families).
   */
  readonly v6PmtudBlackholeMss: number;
  // ---- tail loss (tcp-tlp.ts) ----
  /**
   * net.inet.tcp.enable_tlp: tail loss probes (XNU tcp_output arms TCPT_PTO after new data on a SACK
   * connection; the probe sends new data or the last segment again). FreeBSD's default stack has none.
   */
  readonly tailLossProbe: boolean;
  /** Added to 2*SRTT for the PTO when more than one segment is outstanding (XNU: 2 ticks of 1 ms). */
  readonly ptoSlopMs: number;
  /**
   * RFC 5827 early retransmit (XNU tcp_early_rexmt_check, always on in XNU; net.inet.tcp.early_rexmt in
   * older releases): with fewer than 4 segments outstanding and nothing new to send, the duplicate-ACK
   * threshold drops to segments - 1 (at least 1). It is how a probe's SACK starts recovery.
   */
  readonly earlyRetransmit: boolean;
  /** Without SACK, at most this many early retransmits per earlyRexmtWinMs (TCP_EARLY_REXMT_LIMIT / _WIN). */
  readonly earlyRexmtLimit: number;
  readonly earlyRexmtWinMs: number;

  // ---- TCP Fast Open, server side (tcp-fastopen.ts) ----
  /**
   * net.inet.tcp.fastopen (XNU tcp_subr.c tcp_fastopen): TCP_FASTOPEN_SERVER (1) lets listeners
   * use TCP_FASTOPEN; TCP_FASTOPEN_CLIENT (2) is kept for the sysctl but does nothing (client TFO
   * needs the newer connectx with CONNECT_DATA_IDEMPOTENT, which this stack does not have).
   */
  readonly fastopen: number;
  /** net.inet.tcp.fastopen_backlog: stack-wide limit of TFO children still in SYN_RECEIVED (tcp_tfo_backlog). */
  readonly fastopenBacklog: number;
  /**
   * net.inet.tcp.fastopen_key: '' = the key drawn from the stack's RNG; else the 32 hex digits last
   * written, read as XNU reads them (four "%8x" words, each stored little-endian).
   */
  readonly fastopenKey: string;
}

/** XNU (xnu-11417, macOS 15). */
export const XNU_PROFILE: TcpProfile = {
  name: 'xnu',
  // macOS SYN: mss 1460,nop,wscale 6,nop,nop,TS val .. ecr 0,sackOK,eol (24 bytes).
  synOptions: ['mss', 'nop', 'wscale', 'nop', 'nop', 'ts', 'sackOK', 'eol'],
  // XNU has no syncache: the SYN-ACK comes from the same tcp_output code as the SYN (MSS; NOP,WS;
  // NOP,NOP,TS; SACK-permitted "tacked on last"; EOL padding), each option only if the peer offered it.
  // A TFO server's cookie (tcp_tfo_write_cookie_rep) follows SACK-permitted, before the padding.
  synAckOptions: ['mss', 'nop', 'wscale', 'nop', 'nop', 'ts', 'sackOK', 'fo', 'eol'],
  synOptionPadding: 'layout',
  rfc1323: true,
  sack: true,
  // tcp_output.c: tcp_ecn_outbound = tcp_ecn_inbound = 2, and dlil.c ifnet_attach sets
  // IFEF_ECN_ENABLE on every non-cellular interface: ECN is initiated and accepted by default.
  ecnInitiateOut: 2,
  ecnNegotiateIn: 2,
  mssDefault: 512,
  v6MssDefault: 1024,
  minMss: 216,
  sendSpace: 1448 * 256,
  recvSpace: 1448 * 384,
  autoSize: true,
  autoSendBufMax: 4 * 1024 * 1024,
  autoRecvBufMax: 4 * 1024 * 1024,
  maxSockBuf: 8 * 1024 * 1024,
  reassMaxBytes: 4 * 1024 * 1024,
  reassMaxSegments: 1024,
  mslMs: 15_000,
  rtoInitialMs: 1000,
  rtoMinMs: 30,
  rtoMaxMs: 64_000,
  rexmtSlopMs: 200,
  maxRxtShift: 12,
  backoff: [1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64, 64, 64],
  synBackoff: [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64],
  synDropOptionsAfter: 0,
  keepInitMs: 75_000,
  keepIdleMs: 7_200_000,
  keepIntvlMs: 75_000,
  keepCnt: 8,
  finWait2TimeoutMs: 60_000,
  delAckMs: 100,
  persistMinMs: 5_000,
  persistMaxMs: 60_000,
  // tcp_timer.c: tcp_maxpersistidle = TCPTV_KEEP_IDLE, tcp_max_persist_timeout = 0.
  maxPersistIdleMs: 7_200_000,
  maxPersistTimeoutMs: 0,
  persistClosedDropMs: 0,
  delAckPolicy: 'xnu-stretch',
  maxsegUnacked: 8,
  rcvUnackWinMs: 100,
  maxRcvIdleMs: 200,
  rcvSsPktCount: 512,
  rstRateLimit: 250,
  initialWindowSegments: 10,
  congestionControl: 'cubic',
  pshPolicy: 'end-of-buffer',
  // tcp_input.c tcp_is_ack_ratelimited: tcp_challengeack_limit 10 per connection per second.
  challengeAckPolicy: 'xnu',
  challengeAckLimit: 10,
  challengeAckWindowMs: 1000,
  insecureRst: false,
  insecureSyn: false,
  blackhole: 0,
  dropSynFin: true,
  icmpMayRst: true,
  limitedTransmit: true,
  cwndValidation: true,
  tso: true,
  nagleAfterFullSegment: true,
  // tcp_timer.c: tcp_pmtud_black_hole_detect = 1, tcp_pmtud_black_hole_mss = 1200 (both families).
  pmtudBlackholeDetect: true,
  pmtudBlackholeMss: 1200,
  v6PmtudBlackholeMss: 0,
  tailLossProbe: true,
  ptoSlopMs: 2,
  earlyRetransmit: true,
  earlyRexmtLimit: 10,
  earlyRexmtWinMs: 60_000,
  // tcp_subr.c: tcp_fastopen = TCP_FASTOPEN_CLIENT | TCP_FASTOPEN_SERVER, tcp_tfo_backlog = 10.
  fastopen: 3,
  fastopenBacklog: 10,
  fastopenKey: '',
};

/** A profile with some values replaced (tests shorten MSL and timers this way). */
export function withProfile(base: TcpProfile, changes: Partial<TcpProfile>): TcpProfile {
  return { ...base, ...changes };
}

/**
 * FreeBSD 14 (releng/14.x sys/netinet): the defaults a stock kernel runs with.
 * Sources: tcp_output.c tcp_addoptions (MSS; NOP-pad to odd then WS; pad to even then SACK-permitted;
 * pad to 4n+2 then TS; EOL-pad to 4n: SYN = mss,nop,wscale,sackOK,TS, 20 bytes, no EOL; the syncache
 * SYN-ACK uses the same function), tcp_timer.h (TCPTV_MSL 30 s, TCPTV_RTOBASE 1 s, TCPTV_MIN hz/33,
 * TCPTV_CPU_VAR hz/5 = rexmit_slop 200 ms, TCPTV_DELACK hz/25 = 40 ms, TCPTV_KEEP_INIT 75 s,
 * TCPTV_KEEP_IDLE 2 h, TCPTV_KEEPINTVL 75 s, TCPTV_KEEPCNT 8, TCPTV_PERSMIN/MAX 5/60 s,
 * TCPTV_FINWAIT2_TIMEOUT 60 s), tcp_timer.c tcp_backoff[] / tcp_syn_backoff[], tcp_usrreq.c
 * (tcp_sendspace 32K, tcp_recvspace 64K), sys/sockbuf.h SB_MAX 2 MB (kern.ipc.maxsockbuf), tcp.h
 * TCP_MSS 536 / TCP6_MSS 1220 / TCP_MINMSS 216, cc.c (CUBIC is the default since 14.0),
 * tcp_reass.c maxqueuelen 100, ip_icmp.c icmplim 200, tcp_ecn.c tcp_do_ecn 2 (answer ECN, never
 * initiate).
 */
export const FREEBSD_PROFILE: TcpProfile = {
  name: 'freebsd',
  synOptions: ['mss', 'nop', 'wscale', 'sackOK', 'ts'],
  // tcp_addoptions writes TOF_FASTOPEN last, without alignment padding.
  synAckOptions: ['mss', 'nop', 'wscale', 'sackOK', 'ts', 'fo'],
  // tcp_addoptions pads per option: without SACK-permitted the TS gets NOP,NOP before it.
  synOptionPadding: 'bsd-align',
  rfc1323: true,
  sack: true,
  // net.inet.tcp.ecn.enable 2 (tcp_ecn.c V_tcp_do_ecn): answer an ECN-setup SYN, never initiate.
  ecnInitiateOut: 0,
  ecnNegotiateIn: 1,
  mssDefault: 536,
  v6MssDefault: 1220,
  minMss: 216,
  sendSpace: 32 * 1024,
  recvSpace: 64 * 1024,
  autoSize: true,
  autoSendBufMax: 2 * 1024 * 1024,
  autoRecvBufMax: 2 * 1024 * 1024,
  maxSockBuf: 2 * 1024 * 1024,
  reassMaxBytes: 4 * 1024 * 1024,
  reassMaxSegments: 100,
  mslMs: 30_000,
  rtoInitialMs: 1000,
  rtoMinMs: 30,
  rtoMaxMs: 64_000,
  rexmtSlopMs: 200,
  maxRxtShift: 12,
  backoff: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512],
  synBackoff: [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64],
  synDropOptionsAfter: 0,
  keepInitMs: 75_000,
  keepIdleMs: 7_200_000,
  keepIntvlMs: 75_000,
  keepCnt: 8,
  finWait2TimeoutMs: 60_000,
  delAckMs: 40,
  persistMinMs: 5_000,
  persistMaxMs: 60_000,
  // tcp_timer.c tcp_timer_persist: tcp_maxpersistidle = TCPTV_KEEP_IDLE, and a closed socket's
  // persisting connection goes after TCPTV_PERSMAX of silence.
  maxPersistIdleMs: 7_200_000,
  maxPersistTimeoutMs: 0,
  persistClosedDropMs: 60_000,
  delAckPolicy: 'every-second',
  maxsegUnacked: 8,
  rcvUnackWinMs: 100,
  maxRcvIdleMs: 200,
  rcvSsPktCount: 512,
  rstRateLimit: 200,
  initialWindowSegments: 10,
  congestionControl: 'cubic',
  pshPolicy: 'end-of-buffer',
  // tcp_subr.c tcp_send_challenge_ack: ack_war_cnt 5 per ack_war_timewindow 1000 ms, per connection.
  challengeAckPolicy: 'freebsd',
  challengeAckLimit: 5,
  challengeAckWindowMs: 1000,
  insecureRst: false,
  insecureSyn: false,
  blackhole: 0,
  dropSynFin: false,
  icmpMayRst: true,
  limitedTransmit: true,
  cwndValidation: false,
  tso: true,
  nagleAfterFullSegment: false,
  // tcp_timer.c: pmtud_blackhole_detection 0 (off), pmtud_blackhole_mss 1200, v6pmtud_blackhole_mss
  // 1220. FreeBSD's own algorithm (tcp_timer_rexmt, TF2_PLPMTU_*) differs: it starts at the 2nd
  // RTO in ESTABLISHED or FIN_WAIT_1 when the last segment was full-sized, steps t_maxseg (not
  // t_maxopd) down twice (black-hole MSS, then mssdflt with PMTUD off), two RTOs per step, has no
  // ACK-based revert, and its sysctl takes 2/3 for IPv4/IPv6 only. Turning the knob on here runs
  // XNU's algorithm with these values: a profile swaps values, never code paths.
  pmtudBlackholeDetect: false,
  pmtudBlackholeMss: 1200,
  v6PmtudBlackholeMss: 1220,
  // tcp_timer.c's tcp_timersw[] has DELACK, REXMT, PERSIST, KEEP, 2MSL only: TLP exists in the
  // separate RACK/BBR stacks (tcp_stacks/rack.c rack_timeout_tlp), not in the default one, and the
  // default stack's duplicate-ACK threshold is the fixed tcprexmtthresh (no RFC 5827).
  tailLossProbe: false,
  ptoSlopMs: 2,
  earlyRetransmit: false,
  earlyRexmtLimit: 10,
  earlyRexmtWinMs: 60_000,
  // tcp_fastopen.c: net.inet.tcp.fastopen.server_enable 0, client_enable 1. FreeBSD bounds pending
  // TFO children per listener (half its backlog) rather than stack-wide; 10 stands in for that.
  fastopen: 2,
  fastopenBacklog: 10,
  fastopenKey: '',
};
