// The TCP control block (struct tcpcb, bsd/netinet/tcp_var.h): one per connection, hung off the
// InPcb (pcb.ppcb) whose socket is tp.so. Variables keep their RFC 9293 / BSD names (snd_una,
// snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, iss, rcv_nxt, rcv_wnd, rcv_adv, irs, t_maxseg).
// tcp-input*.ts, tcp-output.ts and tcp-timers.ts read and write it; tcp-subr.ts creates and frees it.
//
// Timers (style §3): six deadlines live here as plain fields (0 = off); one Timer per tcpcb is
// armed at the earliest of them (tcpTimerSync in tcp-timers.ts), so arming a timer is a field write
// plus, only when the new deadline is earlier than the armed one, one heap operation.

import type { Instant } from '../time/instant.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { Timer } from '../time/timers.js';
import type { TimerTarget } from '../time/timers.js';
import type { InPcb } from '../inpcb/in-pcb.js';
import type { Socket } from '../socket/socket.js';
import type { CongestionControl, CcConn } from './tcp-cc.js';
import type { TcpState } from './tcp-fsm.js';
import { TCPS_CLOSED } from './tcp-fsm.js';
import type { Seq } from '../wire/seq.js';
import type { RttEstimator } from './tcp-rtt.js';
import { EMPTY_SCOREBOARD, SackRcvBlocks, SackScoreboard } from './tcp-sack.js';
import { TcpReassQueue } from './tcp-reass.js';

// ---- t_flags (XNU values where the API exposes them: TCP_NODELAY returns TF_NODELAY = 4) ----
/** Send an ACK now (not delayed). */
export const TF_ACKNOW = 0x1;
/** An ACK is being delayed (the delayed-ACK deadline is armed). */
export const TF_DELACK = 0x2;
/** TCP_NODELAY: Nagle off. getsockopt returns this raw bit. */
export const TF_NODELAY = 0x4;
/** TCP_NOOPT: send no options. */
export const TF_NOOPT = 0x8;
/** Our FIN has been sent. */
export const TF_SENTFIN = 0x10;
/** We offered window scaling in our SYN / SYN-ACK. */
export const TF_REQ_SCALE = 0x20;
/** The peer's SYN carried window scaling. */
export const TF_RCVD_SCALE = 0x40;
/** We offered timestamps. */
export const TF_REQ_TSTMP = 0x80;
/** The peer's SYN carried timestamps. */
export const TF_RCVD_TSTMP = 0x100;
/** Both sides sent SACK-permitted. */
export const TF_SACK_PERMIT = 0x200;
/** A FIN is to be sent once the send buffer drains (shutdown/close). */
export const TF_NEEDFIN = 0x800;
/** TCP_NOPUSH: do not send partial segments. */
export const TF_NOPUSH = 0x1000;
/** Output is sending a persist probe into a zero window (t_force). */
export const TF_FORCEDATA = 0x10000;
/** We advertised a zero window. */
export const TF_RXWIN0SENT = 0x20000;
/** In NewReno / SACK fast recovery (IN_FASTRECOVERY). */
export const TF_FASTRECOVERY = 0x40000;
/** The socket asked for keepalives (mirrors SO_KEEPALIVE at the time the timer runs). */
export const TF_KEEPALIVE_ARMED = 0x80000;
/** The tcpcb has been closed (tcp_close ran): every later call is a no-op. */
export const TF_CLOSED = 0x100000;
/** Our SYN offered SACK-permitted. */
export const TF_REQ_SACK = 0x200000;
/** The connection was accepted from a listener (a child). */
export const TF_CHILD = 0x400000;
/** A window update must be sent (the application read enough). */
export const TF_WINUPDATE = 0x800000;
/** xnu-stretch: the peer streams (enough bytes in the last window): ACK every maxsegUnacked segments. */
export const TF_STRETCHACK = 0x1000000;
/** xnu-stretch: the byte rate qualifies as streaming (XNU TF_STREAMING_ON). */
export const TF_STREAMING_ON = 0x2000000;
/**
 * XNU TF_MAXSEGSNT: the last segment with data that tcp_output sent was full-sized. XNU's Nagle
 * test lets a runt follow such a segment (profile.nagleAfterFullSegment).
 */
export const TF_MAXSEGSNT = 0x4000000;
/**
 * XNU TF_PMTUD: path MTU discovery is on for this connection, so IPv4 segments carry DF (XNU sets
 * it on every route lookup while net.inet.tcp.path_mtu_discovery is 1; black-hole detection clears it).
 */
export const TF_PMTUD = 0x8000000;
/** XNU TF_BLACKHOLE: black-hole detection lowered t_maxopd (saved in t_pmtud_saved_maxopd). */
export const TF_BLACKHOLE = 0x10000000;
/** XNU TF_SENT_TLPROBE (t_flagsext): a tail loss probe went out and its ACK has not been seen yet. */
export const TF_SENT_TLPROBE = 0x20000000;
/** XNU TF_TLP_IS_RETRANS (t_flagsext): that probe retransmitted the last segment (no new data could go). */
export const TF_TLP_IS_RETRANS = 0x40000000;

// ---- t_oobflags ----
/** An urgent byte is held in t_iobc. */
export const TCPOOB_HAVEDATA = 0x1;
/** The urgent byte was read (MSG_OOB returns EINVAL afterwards until new urgent data). */
export const TCPOOB_HADDATA = 0x2;

/** TCP_MAXWIN: the largest unscaled window. */
export const TCP_MAXWIN = 65535;
/** TCP_MAX_WINSHIFT */
export const TCP_MAX_WINSHIFT = 14;
/** The most windows we let a connection's window advertisement drift (rcv_adv bookkeeping). */
export const TCP_MAXOLEN = 40;

// Timer indices into Tcpcb.t_timer.
export const TT_REXMT = 0;
export const TT_PERSIST = 1;
export const TT_KEEP = 2;
export const TT_2MSL = 3;
export const TT_DELACK = 4;
/** XNU TCPT_PTO: the tail loss probe timeout (tcp-tlp.ts). */
export const TT_PTO = 5;
export const TT_NTIMERS = 6;
export const timerNames: readonly string[] = ['REXMT', 'PERSIST', 'KEEP', '2MSL', 'DELACK', 'PTO'];

/** What a tcpcb needs from the protocol object (implemented by Tcp; avoids an import cycle). */
export interface TcpcbOwner {
  /** Called when the tcpcb's timer fires. */
  tcpTimer(tp: Tcpcb, now: Instant): void;
}

export class Tcpcb implements TimerTarget, CcConn {
  t_state: TcpState = TCPS_CLOSED;
  t_flags = 0;
  /** The socket; null once it was detached (closed socket in TIME_WAIT). */
  so: Socket | null;

  // ---- send sequence space (RFC 9293 §3.3.1) ----
  iss: Seq = 0;
  snd_una: Seq = 0;
  snd_nxt: Seq = 0;
  /** Highest sequence number sent (snd_nxt may be pulled back for retransmission). */
  snd_max: Seq = 0;
  /** Urgent pointer (seq of the byte after the urgent byte, BSD convention). */
  snd_up: Seq = 0;
  snd_wl1: Seq = 0;
  snd_wl2: Seq = 0;
  /** Peer's window in bytes (already scaled). */
  snd_wnd = 0;
  /** Largest window the peer ever offered (RFC 5961 §5.2 MAX.SND.WND, sender SWS). */
  max_sndwnd = 0;
  /** NewReno recovery point (RFC 6582 "recover"). */
  snd_recover: Seq = 0;
  /** RFC 6675 HighRxt: highest sequence retransmitted in this SACK recovery. */
  snd_highrxt: Seq = 0;
  /**
   * RFC 6675 RescueRxt, exclusive (one past the octet): set past the first retransmission when a
   * SACK recovery starts (§5 step 4.3) and to the recovery point by a rescue retransmission
   * (NextSeg rule 4), so at most one rescue happens per episode.
   */
  snd_rescuerxt: Seq = 0;

  // ---- receive sequence space ----
  irs: Seq = 0;
  rcv_nxt: Seq = 0;
  rcv_wnd = 0;
  /** Right edge of the window we advertised (rcv_nxt + window at the last segment sent). */
  rcv_adv: Seq = 0;
  /** Receive urgent pointer (seq of the byte after the urgent byte). */
  rcv_up: Seq = 0;
  /** rcv_nxt at the last ACK sent. */
  last_ack_sent: Seq = 0;

  // ---- options ----
  /** Sender MSS in data bytes, timestamps option excluded (BSD t_maxseg). */
  t_maxseg: number;
  /** Largest segment payload plus options the peer accepts (BSD t_maxopd). */
  t_maxopd: number;
  /** Our MSS option value (from the route MTU). */
  t_ourmss = 0;
  /** MSS the peer announced (0 = none: the default applies). */
  t_peermss = 0;
  /** A TCP_MAXSEG the user set (0 = none): an upper bound on t_maxseg. */
  t_usermss = 0;
  snd_scale = 0;
  rcv_scale = 0;
  /** The shift we offered. */
  request_r_scale = 0;
  ts_recent = 0;
  /** When ts_recent was recorded (µs), for the 24-day PAWS invalidation (RFC 7323 §5.5). */
  ts_recent_age: Instant = 0;
  /** TSval offset: a keyed hash of the 4-tuple (RFC 7323 §5.4), set at connect / SYN arrival. */
  ts_offset = 0;

  // ---- congestion control (CcConn) ----
  snd_cwnd = 0;
  snd_ssthresh = 0x3fffffff;
  ccState: unknown = null;
  cc: CongestionControl;

  // ---- RTT / retransmission ----
  rtt: RttEstimator;
  /** Time the timed segment was sent (µs), -1 when no segment is being timed (Karn). */
  t_rtttime: Instant = -1;
  t_rtseq: Seq = 0;
  /** Retransmissions of the current segment (BSD t_rxtshift). */
  t_rxtshift = 0;
  /** Current RTO in µs. */
  t_rxtcur = 0;
  t_dupacks = 0;
  /**
   * Duplicate ACKs that start fast retransmit on this connection (XNU t_rexmtthresh): tcprexmtthresh
   * (3), lowered by RFC 5827 early retransmit while few segments are outstanding (tcp-tlp.ts).
   */
  t_rexmtthresh = 3;
  /** Early retransmits in the current minute and when that minute began (µs), for the non-SACK limit. */
  t_early_rexmt_count = 0;
  t_early_rexmt_win: Instant = 0;
  /** Last time a segment was received (µs): keepalive idle and idle-restart. */
  t_rcvtime: Instant = 0;
  /** Last time data was sent when the connection was idle (µs). */
  t_sndtime: Instant = 0;
  /** Persist backoff shift (XNU and FreeBSD reuse t_rxtshift, which persist leaves alone here). */
  t_persistshift = 0;
  /** XNU t_persist_timeout: net.inet.tcp.max_persist_timeout when the tcpcb was made (ms, 0 = none). */
  t_persist_timeout = 0;
  /** XNU t_persist_stop: when a connection still probing a zero window is dropped (µs, 0 = none). */
  t_persist_stop: Instant = 0;
  /** Keepalive probes sent without answer. */
  t_keepprobes = 0;
  /** Segments received since the last ACK we sent (delayed-ACK policy). */
  t_unacksegs = 0;
  /** Full-sized segments received in a row (xnu-stretch: bulk-transfer detection). */
  t_rcvbulk = 0;
  /**
   * RFC 5961 §7 ACK throttling (XNU t_challengeack_last / t_challengeack_count; FreeBSD
   * t_challenge_ack_end / _cnt): when the current window began (µs, -1 = none yet) and how many
   * rate-limited ACKs it has let through.
   */
  t_challengeack_last: Instant = -1;
  t_challengeack_count = 0;
  /** Last soft error (ICMP unreachable...), reported if the connection times out. */
  t_softerror = 0;
  /** When the connection-establishment timer was started (µs). */
  t_connstart: Instant = 0;

  // ---- spurious-RTO detection (XNU t_rxtstart, tcp_rexmt_save_state) ----
  /**
   * Our TSval clock (ms) when the first RTO of the current episode retransmitted, 0 = none
   * (XNU t_rxtstart: set at t_rxtshift == 1 in ESTABLISHED, cleared by a valid RTT sample).
   */
  t_rxtstart = 0;
  /** snd_recover and TF_FASTRECOVERY before that RTO (XNU snd_recover_prev, TF_WASFRECOVERY). */
  snd_recover_prev: Seq = 0;
  t_wasfrecovery = false;
  // ---- tail loss probe (XNU t_tlphighrxt, t_tlpstart; flags TF_SENT_TLPROBE, TF_TLP_IS_RETRANS) ----
  /** snd_nxt after the probe went out; an ACK reaching it ends the probe episode. */
  t_tlphighrxt: Seq = 0;
  /** Our TSval clock (ms) when the probe went out, 0 = no probe outstanding. */
  t_tlpstart = 0;

  /** TCP_RXT_CONNDROPTIME in ms (0 = off): drop after retransmitting this long (XNU t_rxt_conndroptime). */
  t_rxt_conndroptime = 0;
  /** TCP_NOTIMEWAIT (XNU TF_NOTIMEWAIT): close instead of entering TIME_WAIT. */
  t_notimewait = false;

  // ---- PMTU black-hole detection (XNU tcp_var.h; tcp-pmtud-blackhole.ts) ----
  /** t_maxopd before black-hole detection lowered it (XNU t_pmtud_saved_maxopd), 0 = never lowered. */
  t_pmtud_saved_maxopd = 0;
  /**
   * Our TSval clock (ms) when detection lowered the MSS, 0 = none (XNU t_pmtud_start_ts): an ACK
   * echoing an older TSval shows a full-size segment got through, and the first ACK clears it.
   */
  t_pmtud_start_ts = 0;
  /**
   * Payload plus TCP options of the first data segment sent from snd_una since new data was last
   * acknowledged, 0 = none yet (XNU t_pmtud_lastseg_size): the size the RTOs keep failing with.
   */
  t_pmtud_lastseg_size = 0;
  /** TCP_DISABLE_BLACKHOLE_DETECTION (XNU TF_NOBLACKHOLE_DETECTION). */
  t_noblackhole = false;

  // ---- TCP Fast Open, server side (tcp-fastopen.ts) ----
  /** XNU TF_FASTOPEN (tfo_enabled): TCP_FASTOPEN on a listener, inherited by its children. */
  t_fastopen = false;
  /** XNU t_tfo_flags: TFO_F_OFFER_COOKIE, TFO_F_COOKIE_VALID. */
  t_tfo_flags = 0;
  /** XNU t_tfo_stats: TFO_S_* bits, reported in TCP_CONNECTION_INFO's tcpi_tfo_* bits. */
  t_tfo_stats = 0;
  // ---- ECN (RFC 3168; tcp-ecn.ts) ----
  /** XNU ecn_flags: the TE_* bits of tcp-ecn.ts (negotiation, ECT, CWR/ECE owed, TCP_ENABLE_ECN). */
  ecn_flags = 0;

  // ---- per-connection counters for TCP_CONNECTION_INFO (XNU inp_stat / t_stat) ----
  /** Segments handed to IP (a TSO super-segment counts for every MSS) and their payload bytes. */
  t_txpackets = 0;
  t_txbytes = 0;
  /** Retransmitted segments and bytes (XNU t_stat.rxmitpkts / txretransmitbytes). */
  t_txretransmitpackets = 0;
  t_txretransmitbytes = 0;
  /** Segments received for this connection and their payload bytes. */
  t_rxpackets = 0;
  t_rxbytes = 0;
  /** Payload bytes queued out of order (XNU t_stat.rxoutoforderbytes). */
  t_rxoutoforderbytes = 0;

  // ---- offloads of the route (set when the connection is established) ----
  /** Largest TSO super-segment payload+options (0 = no TSO). */
  t_tsomax = 0;
  /** The link fills the checksum (CSUM_NEEDS). */
  t_txcsum = false;

  // ---- per-socket knobs (ms); 0 = the profile default ----
  t_keepidle = 0;
  t_keepintvl = 0;
  t_keepcnt = 0;
  t_keepinit = 0;
  /** TCP_NOTSENT_LOWAT bytes (0 = off). */
  t_notsent_lowat = 0;

  // ---- receive-buffer auto-sizing (XNU tcp_sbrcv_grow) and stretch-ACK detection ----
  /** Start of the current measurement: our TSval (timestamps) or the clock in µs (without). */
  rfbuf_ts = 0;
  /** Bytes received in order since rfbuf_ts. */
  rfbuf_cnt = 0;
  /** rfbuf_cnt of the last measurement that grew the buffer. */
  rfbuf_space = 0;
  /** End of the current stretch-ACK measurement window (µs; XNU rcv_unackwin). */
  rcv_unackwin: Instant = 0;
  /** Bytes received in the current window and in its second half (rcv_by_unackwin/halfwin). */
  rcv_by_unackwin = 0;
  rcv_by_unackhalfwin = 0;
  /** Segments seen since stretch ACKs were reset (XNU rcv_waitforss; TF_RCVUNACK_WAITSS from birth), -1 = not waiting. */
  rcv_waitforss = 0;

  // ---- send-buffer position cache (FreeBSD sb_sndptr / sb_sndptroff) ----
  /**
   * The so_snd mbuf where the last segment's data ended, and the buffer offset (from snd_una) of
   * its first byte: the next segment's copy starts there instead of walking from sb_mb, so
   * building a segment costs O(segment), not O(offset). Null when unknown; tcpSbdrop shifts or
   * invalidates it; appends (which only add after the tail) keep it valid.
   */
  t_sndptr: Mbuf | null = null;
  t_sndptroff = 0;

  // ---- urgent data ----
  t_oobflags = 0;
  t_iobc = 0;

  // ---- SACK and reassembly ----
  // Built on first use (most connections never see a SACK block or out-of-order data); null
  // means "nothing held": no SACK blocks to report, nothing SACKed, an empty reassembly queue.
  // Create through tcpSackRcv / tcpScoreboard / tcpReass; read through the null-safe helpers.
  sackRcv: SackRcvBlocks | null = null;
  scoreboard: SackScoreboard | null = null;
  reass: TcpReassQueue | null = null;
  /** The reassembly queue limits, fixed when the tcpcb was made (as the eager queue had them). */
  readonly t_reassMaxBytes: number;
  readonly t_reassMaxSegments: number;

  // ---- timers ----
  /** Deadlines in µs by TT_* index; 0 = off. */
  readonly t_timer = new Float64Array(TT_NTIMERS);
  readonly timer: Timer;

  constructor(
    readonly owner: TcpcbOwner,
    readonly t_inpcb: InPcb,
    so: Socket | null,
    cc: CongestionControl,
    rtt: RttEstimator,
    reassMaxBytes: number,
    reassMaxSegments: number,
    mssDefault: number,
  ) {
    this.so = so;
    this.cc = cc;
    this.ccState = cc.newState();
    this.rtt = rtt;
    this.t_reassMaxBytes = reassMaxBytes;
    this.t_reassMaxSegments = reassMaxSegments;
    this.t_maxseg = mssDefault;
    this.t_maxopd = mssDefault;
    this.timer = new Timer(this);
  }

  onTimer(_t: Timer, now: Instant): void {
    this.owner.tcpTimer(this, now);
  }

  // ---- CcConn ----
  get flight(): number {
    if ((this.t_flags & TF_FASTRECOVERY) !== 0 && (this.t_flags & TF_SACK_PERMIT) !== 0) {
      return (this.scoreboard ?? EMPTY_SCOREBOARD).pipe(this.snd_una, this.snd_max, this.snd_highrxt, this.t_maxseg);
    }
    return (this.snd_max - this.snd_una) >>> 0;
  }
  get srttUs(): number { return this.rtt.srttUs; }
  get minRttUs(): number { return this.rtt.minRttUs; }
  get inRecovery(): boolean { return (this.t_flags & TF_FASTRECOVERY) !== 0; }
}

/** The sender's SACK scoreboard, created on the first SACK block received. */
export function tcpScoreboard(tp: Tcpcb): SackScoreboard {
  let sb = tp.scoreboard;
  if (sb === null) tp.scoreboard = sb = new SackScoreboard();
  return sb;
}

/** The receiver's SACK blocks, created on first need (out-of-order or duplicate data with SACK permitted). */
export function tcpSackRcv(tp: Tcpcb): SackRcvBlocks {
  let rb = tp.sackRcv;
  if (rb === null) tp.sackRcv = rb = new SackRcvBlocks();
  return rb;
}

/** The reassembly queue, created on the first segment queued. */
export function tcpReass(tp: Tcpcb): TcpReassQueue {
  let q = tp.reass;
  if (q === null) tp.reass = q = new TcpReassQueue(tp.t_reassMaxBytes, tp.t_reassMaxSegments);
  return q;
}

/** True when nothing waits in the reassembly queue (none built yet counts as empty). */
export const tcpReassEmpty = (tp: Tcpcb): boolean => tp.reass === null || tp.reass.isEmpty;

/** intotcpcb */
export const intotcpcb = (pcb: InPcb | null): Tcpcb | null => (pcb === null ? null : (pcb.ppcb as Tcpcb | null));
