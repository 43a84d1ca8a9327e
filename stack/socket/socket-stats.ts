// Counters of the socket layer: global ones (SocketStats, one per SocketLayer) and per socket
// (SocketCounters, like XNU's inp_stat / nstat counters). Each moves exactly when its comment says.

/** Global socket-layer counters. */
export class SocketStats {
  /** Sockets created by socreate (not children made by sonewconn). */
  socreated = 0;
  /** socreate failures because no protocol matched (EAFNOSUPPORT, EPROTOTYPE, EPROTONOSUPPORT). */
  socreateNoProto = 0;
  /** socreate/sonewconn failures because the protocol's attach failed. */
  attachFailed = 0;
  /** Children created by sonewconn on a listener. */
  sonewconn = 0;
  /** sonewconn refusals because the listener's queue was full (so_qlen >= so_qlimit). */
  listenOverflows = 0;
  /** Sockets released by sofree (protocol detached and no descriptor left). */
  sofreed = 0;
  /** Sockets in existence (created or accepted, not yet freed). */
  active = 0;
  /** Read/write wakeups posted (sorwakeup/sowwakeup), whether or not a listener was set. */
  wakeups = 0;
  /** Listener calls made by the deferred delivery (one per socket per entry point at most). */
  upcalls = 0;
  /** Wakeups folded into a listener call that was already pending for the same socket. */
  upcallsCoalesced = 0;
  /** Exceptions thrown by listeners (delivery to other sockets continued). */
  listenerExceptions = 0;
}

/** Per-socket traffic counters, moved by the protocol (udp input/output, tcp). */
export class SocketCounters {
  /** Packets (datagrams or segments with data) received and queued for this socket. */
  rxpackets = 0;
  /** Payload bytes received and queued for this socket. */
  rxbytes = 0;
  /** Packets handed to IP for this socket and accepted by it. */
  txpackets = 0;
  /** Payload bytes of those packets. */
  txbytes = 0;
  /** Datagrams for this socket dropped because its receive buffer was full or shut (udps_fullsock per socket). */
  rxdropped = 0;
}
