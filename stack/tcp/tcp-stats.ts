// TCP counters (struct tcpstat, bsd/netinet/tcp_var.h), one per Tcp instance. Every drop path in
// tcp-input*.ts moves exactly one counter named after the reason; each field says when it moves.
// Read by tools (netstat-style reports) and tests; nothing in the stack reads them back.

export class TcpStats {
  // ---- connections ----
  /** connect() started an active open (SYN about to be sent). */
  tcps_connattempt = 0;
  /** A passive open completed its handshake (child moved to the completed queue). */
  tcps_accepts = 0;
  /** A connection reached ESTABLISHED (active or passive). */
  tcps_connects = 0;
  /** An established (or half-established) connection was dropped by tcp_drop. */
  tcps_drops = 0;
  /** A connection was dropped before reaching ESTABLISHED (refused, timed out, aborted). */
  tcps_conndrops = 0;
  /** A connection was closed (its tcpcb freed), for any reason. */
  tcps_closed = 0;
  /** A connection was dropped by the retransmission (or connection-establishment) timeout. */
  tcps_timeoutdrop = 0;
  /** The retransmission timer fired. */
  tcps_rexmttimeo = 0;
  /** The persist timer fired (a zero-window probe is due). */
  tcps_persisttimeo = 0;
  /** A connection probing a zero window was dropped: its peer stayed silent (tcp_timers TCPT_PERSIST). */
  tcps_persistdrop = 0;
  /** The keepalive timer expired in a state where it drops (SYN states: keep-init). */
  tcps_keeptimeo = 0;
  /** A keepalive probe was sent. */
  tcps_keepprobe = 0;
  /** A connection was dropped after TCP_KEEPCNT unanswered keepalive probes. */
  tcps_keepdrops = 0;
  /** A connection in FIN_WAIT_2 with no socket was closed by the FIN_WAIT_2 timer. */
  tcps_finwait2_drops = 0;

  // ---- output ----
  /** Segments handed to IP (all kinds). */
  tcps_sndtotal = 0;
  /** Segments carrying new data (a TSO super-segment counts for every MSS it holds). */
  tcps_sndpack = 0;
  /** Bytes of new data sent. */
  tcps_sndbyte = 0;
  /** Segments retransmitting data. */
  tcps_sndrexmitpack = 0;
  /** Bytes of data retransmitted. */
  tcps_sndrexmitbyte = 0;
  /** Pure ACK segments (no data, no SYN/FIN/RST). */
  tcps_sndacks = 0;
  /** Window probes sent (one byte into a zero window). */
  tcps_sndprobe = 0;
  /** Segments with the URG flag. */
  tcps_sndurg = 0;
  /** Pure window-update segments. */
  tcps_sndwinup = 0;
  /** Control segments (SYN, FIN or RST without data). */
  tcps_sndctrl = 0;
  /** RST segments sent in answer to a segment (tcp_respond with TH_RST). */
  tcps_sndrst = 0;
  /** RSTs not sent in answer to a segment because profile.rstRateLimit per second was reached (badport_bandlim). */
  tcps_rstratelimited = 0;
  /** TSO super-segments handed to IP. */
  tcps_tso_segs = 0;
  /** IP output failed for a segment (no route, no buffers...). */
  tcps_output_errors = 0;
  /** An mbuf could not be allocated while building a segment. */
  tcps_nombuf = 0;

  // ---- input ----
  /** Segments received (before any check). */
  tcps_rcvtotal = 0;
  /** Segments received with in-order data. */
  tcps_rcvpack = 0;
  /** Bytes of in-order data received. */
  tcps_rcvbyte = 0;
  /** Dropped: bad checksum. */
  tcps_rcvbadsum = 0;
  /** Dropped: data offset below 5 words or beyond the segment. */
  tcps_rcvbadoff = 0;
  /** Dropped: shorter than a TCP header. */
  tcps_rcvshort = 0;
  /** Dropped: malformed options (a length that overruns the header or is impossible). */
  tcps_rcvbadopt = 0;
  /** Segments entirely duplicate (all data before rcv_nxt). */
  tcps_rcvduppack = 0;
  /** Bytes in those duplicate segments. */
  tcps_rcvdupbyte = 0;
  /** Segments partly duplicate (data starting before rcv_nxt and extending past it). */
  tcps_rcvpartduppack = 0;
  /** Bytes of the duplicate parts. */
  tcps_rcvpartdupbyte = 0;
  /** Segments queued out of order. */
  tcps_rcvoopack = 0;
  /** Bytes queued out of order. */
  tcps_rcvoobyte = 0;
  /** Segments with data beyond the receive window (trimmed or dropped). */
  tcps_rcvpackafterwin = 0;
  /** Bytes beyond the receive window. */
  tcps_rcvbyteafterwin = 0;
  /** Window probes received (data into a zero window). */
  tcps_rcvwinprobe = 0;
  /** Duplicate ACKs received. */
  tcps_rcvdupack = 0;
  /** Dropped (with an ACK): ACK for data not yet sent. */
  tcps_rcvacktoomuch = 0;
  /** Segments acknowledging new data. */
  tcps_rcvackpack = 0;
  /** Bytes newly acknowledged. */
  tcps_rcvackbyte = 0;
  /** Pure window updates received. */
  tcps_rcvwinupd = 0;
  /** Dropped: PAWS (RFC 7323 §5) found the timestamp older than TS.Recent. */
  tcps_pawsdrop = 0;
  /** Header prediction hit on the pure-ACK fast path (tcp-input-fast.ts). */
  tcps_predack = 0;
  /** Header prediction hit on the in-order data fast path. */
  tcps_preddat = 0;
  /** ACKs delayed (the delayed-ACK timer was armed instead of sending). */
  tcps_delack = 0;
  /** Dropped: a SYN arrived at a listener whose queue was full (or the child could not be made). */
  tcps_listendrop = 0;
  /** Dropped: a SYN to a listener that was not acceptable (broadcast, SYN+FIN, own address...). */
  tcps_badsyn = 0;
  /** Dropped: segment with both SYN and FIN (net.inet.tcp.drop_synfin). */
  tcps_synfin = 0;
  /** Dropped: segment to a closed port (answered with RST unless blackholed). */
  tcps_noport = 0;
  /** Dropped: segment sent to a broadcast or multicast address. */
  tcps_bcastdrop = 0;
  /** Dropped: segment in SYN_SENT with neither SYN nor RST (RFC 9293 §3.10.7.3 "fifth"). */
  tcps_synsent_nosyn = 0;
  /** Dropped: a segment with RST to a closed port or listener (never answered). */
  tcps_rstinclosed = 0;
  /** Dropped: segment received after the socket was closed and could take no more data (answered with RST). */
  tcps_rcvafterclose = 0;
  /** Dropped: RST whose sequence number is outside the window (RFC 5961 §3.2). */
  tcps_badrst = 0;
  /** Dropped: RST in SYN_SENT whose ACK did not acknowledge our SYN. */
  tcps_rstinsynsent_badack = 0;
  /** Dropped: RST in TIME_WAIT (RFC 1337: ignored). */
  tcps_rstintimewait = 0;
  /** Dropped: non-RST segment in SYN_SENT or SYN_RECEIVED whose ACK is unacceptable (answered with RST). */
  tcps_badack_synstate = 0;
  /** Dropped: segment without ACK in a synchronized state (RFC 9293 §3.10.7.4 "fifth... if the ACK bit is off drop"). */
  tcps_noack = 0;
  /** Dropped: unacceptable segment (sequence check failed; an ACK was sent unless it was a RST). */
  tcps_rcvoutofwindow = 0;
  /** Dropped: ACK outside [snd_una - max_snd_wnd, snd_max] (RFC 5961 §5.2; an ACK was sent). */
  tcps_rcvackoutofwindow = 0;
  /**
   * ACKs the connection's RFC 5961 §7 limit let through: challenge ACKs (§3.2, §4.2) and ACKs
   * answering an ACK outside [SND.UNA - MAX.SND.WND, SND.MAX] (§5.2).
   */
  tcps_challengeacks = 0;
  /** Such ACKs not sent because the connection had used its budget (profile.challengeAckPolicy). */
  tcps_challengeack_limited = 0;
  /** SYNs in synchronized states answered with a challenge ACK (RFC 5961 §4). */
  tcps_synchallenge = 0;
  /** In-window RSTs answered with a challenge ACK (RFC 5961 §3.2). */
  tcps_rstchallenge = 0;
  /** Connections reset by an acceptable RST. */
  tcps_rstreset = 0;
  /** RST received in SYN_RECEIVED (embryonic connection dropped). */
  tcps_rstinsynrcvd = 0;
  /** Out-of-order queues freed by tcp_drain because the mbuf pool ran short. */
  tcps_drain_flushed = 0;
  /** SYNs whose data was queued for delivery after the handshake (RFC 9293 §3.10.7.2). */
  tcps_rcvsyndata = 0;
  /** Out-of-order data dropped because the reassembly queue was full. */
  tcps_reass_overflow = 0;
  /** TIME_WAIT connections recycled by a new SYN (RFC 6191 / RFC 9293 Appendix B). */
  tcps_tw_recycled = 0;
  /** Segments received in TIME_WAIT that were acknowledged (retransmitted FIN and the like). */
  tcps_tw_acked = 0;
  /** Data received after the read side was shut (SB_DROP) and discarded. */
  tcps_rcvdatadropped = 0;
  /** Segments received for a connection without a socket that carried data (answered with RST). */
  tcps_rcvdataafterclose = 0;

  // ---- recovery ----
  /** Fast retransmits (entering NewReno fast recovery on the third duplicate ACK). */
  tcps_sndfastrexmit = 0;
  /** Partial ACKs during NewReno recovery (RFC 6582 §3.2 step 5). */
  tcps_partialack = 0;
  /** SACK-based recovery episodes begun (RFC 6675). */
  tcps_sack_recovery_episode = 0;
  /** Segments retransmitted by SACK recovery. */
  tcps_sack_rexmits = 0;
  /** Bytes retransmitted by SACK recovery. */
  tcps_sack_rexmit_bytes = 0;
  /** SACK retransmissions chosen by RFC 6675 NextSeg rule (3) (not yet lost, no new data to send). */
  tcps_sack_rule3 = 0;
  /** Rescue retransmissions (RFC 6675 NextSeg rule (4)): at most one per SACK recovery episode. */
  tcps_sack_rescue = 0;
  /** Spurious retransmission timeouts detected and undone (XNU tcp_bad_rexmt_check). */
  tcps_sndrexmitbad = 0;
  /** The probe timeout fired and a tail loss probe was attempted (XNU tcps_pto). */
  tcps_pto = 0;
  /** The retransmission timer fired after a probe that got no answer (XNU tcps_rto_after_pto). */
  tcps_rto_after_pto = 0;
  /** First RTO of an episode outside recovery: a tail the probes did not save (XNU tcps_tailloss_rto). */
  tcps_tailloss_rto = 0;
  /** The ACK of a probe that retransmitted the last segment covered it: a real loss, cwnd reduced (XNU tcps_tlp_recoverlastpkt). */
  tcps_tlp_recoverlastpkt = 0;
  /** A duplicate ACK after a probe lowered the fast-retransmit threshold (XNU tcps_tlp_recovery). */
  tcps_tlp_recovery = 0;
  /** Early retransmit (RFC 5827) lowered the fast-retransmit threshold without a probe (XNU tcps_early_rexmt). */
  tcps_early_rexmt = 0;
  /** Segments sent by limited transmit (RFC 3042). */
  tcps_limitedxmit = 0;
  /** Congestion window reduced after idle (RFC 7661/2861 restart). */
  tcps_idle_restart = 0;
  /** RTT samples taken (timestamps or timed segment). */
  tcps_rttupdated = 0;

  // ---- ECN (RFC 3168, tcp-ecn.ts; XNU's tcps_ecn_* names) ----
  /** An ECN-setup SYN (ECE|CWR) was sent (the first SYN of an active open with ECN enabled). */
  tcps_ecn_client_setup = 0;
  /** An ECN-setup SYN-ACK (ECE) was sent in answer to an ECN-setup SYN. */
  tcps_ecn_server_setup = 0;
  /** An active open negotiated ECN (an ECN-setup SYN-ACK answered our ECN-setup SYN). */
  tcps_ecn_client_success = 0;
  /** A passive open negotiated ECN (counted with the ECN-setup SYN-ACK, taken back if it had to be resent). */
  tcps_ecn_server_success = 0;
  /** Our first ECN-setup SYN was answered with a SYN-ACK that does not set up ECN. */
  tcps_ecn_not_supported = 0;
  /** An ECN-setup SYN went unanswered: the retransmission goes without ECE|CWR. */
  tcps_ecn_lost_syn = 0;
  /** An ECN-setup SYN-ACK went unanswered: the retransmission goes without ECE, ECN is off. */
  tcps_ecn_lost_synack = 0;
  /** In-window data marked CE arrived on an ECN connection (ECE is echoed until CWR). */
  tcps_ecn_recv_ce = 0;
  /** An ACK with ECE reduced the congestion window (at most once per window of data). */
  tcps_ecn_recv_ece = 0;
  /** Pure ACKs sent with ECE. */
  tcps_ecn_sent_ece = 0;
  /** CE arrived on an established connection that did not negotiate ECN (ignored). */
  tcps_ecn_fallback_ce = 0;
  /** ECN connections closed that had received CE. */
  tcps_ecn_conn_recv_ce = 0;
  /** ECN connections closed that had received ECE. */
  tcps_ecn_conn_recv_ece = 0;
  /** ECN connections closed that saw CE or ECE and also loss (retransmitted or out-of-order bytes). */
  tcps_ecn_conn_pl_ce = 0;
  /** ECN connections closed that saw CE or ECE and no loss. */
  tcps_ecn_conn_nopl_ce = 0;
  /** ECN connections closed that saw loss but neither CE nor ECE. */
  tcps_ecn_conn_plnoce = 0;

  // ---- ICMP / PMTU ----
  /** ICMP errors for a connection that were acted on (soft error recorded, drop, or PMTU). */
  tcps_icmp_notified = 0;
  /** ICMP errors ignored (no connection, quoted sequence outside [snd_una, snd_max)). */
  tcps_icmp_ignored = 0;
  /** Path MTU decreases applied from ICMP needfrag / packet-too-big. */
  tcps_mturesent = 0;
  /**
   * PMTU black-hole detection lowered a connection's MSS and cleared DF (tcp-pmtud-blackhole.ts).
   * XNU counts only reverts; the name is FreeBSD's counter for the same event.
   */
  tcps_pmtud_blackhole_activated = 0;
  /** A lowered MSS restored: an ACK proved large segments get through, more RTOs, or the socket option (XNU). */
  tcps_pmtudbh_reverted = 0;

  // ---- buffers ----
  /** so_rcv was auto-sized upward (tcp_sbrcv_grow: the sender filled the window within an RTT). */
  tcps_rcvbuf_grown = 0;
  /** so_snd was auto-sized upward (the peer's window and cwnd could use more queued data). */
  tcps_sndbuf_grown = 0;

  // ---- urgent ----
  /** Urgent bytes pulled out of band into t_iobc. */
  tcps_rcvoobmark = 0;

  // ---- TCP Fast Open, server side (XNU tcpstat names; tcp-fastopen.ts) ----
  /** A SYN to a TFO listener asked for a cookie (empty Fast Open option; RFC 7413 §4.1.2). */
  tcps_tfo_cookie_req_rcv = 0;
  /** A SYN-ACK carried our cookie (counted again for each retransmitted SYN-ACK, as in XNU). */
  tcps_tfo_cookie_sent = 0;
  /** A SYN's cookie did not match ours: its data was not taken, a fresh cookie was offered. */
  tcps_tfo_cookie_invalid = 0;
  /**
   * A SYN with a valid cookie was taken under the fastopen backlog: the child is acceptable at
   * once and the SYN's data (if any) is delivered and acknowledged by the SYN-ACK.
   */
  tcps_tfo_syn_data_rcv = 0;
}
