// UDP counters (struct udpstat, bsd/netinet/udp_var.h), one per drop reason, moved by udp.ts.
// Names keep BSD's udps_ prefix so netstat -s output reads the same.

export class UdpStats {
  // ---- input ----
  /** Datagrams handed to UDP input by IP, before any check. */
  udps_ipackets = 0;
  /** Shorter than the 8-byte UDP header (or the header was not contiguous and could not be made so). */
  udps_hdrops = 0;
  /** Checksum did not verify (software check; CSUM_DATA_VALID packets are not checked). */
  udps_badsum = 0;
  /** Datagrams that carried no checksum (field 0): accepted for IPv4, dropped for IPv6. */
  udps_nosum = 0;
  /** IPv6 datagrams dropped because their checksum field was 0 (RFC 8200 §8.1: mandatory). */
  udps_nosum6 = 0;
  /** UDP length field below 8 or above the IP payload length. */
  udps_badlen = 0;
  /** Unicast datagrams for which no socket matched (an ICMP port unreachable is requested from IP). */
  udps_noport = 0;
  /** Broadcast/multicast datagrams for which no socket matched (dropped silently). */
  udps_noportbcast = 0;
  /** Datagrams dropped because the socket's receive buffer had no room (or was shut by SHUT_RD). */
  udps_fullsock = 0;
  /** Datagrams dropped because the pool had no mbuf for the address record or a broadcast copy. */
  udps_nombuf = 0;
  /** Datagrams queued on a socket (a broadcast delivered to three sockets counts three). */
  udps_delivered = 0;
  /** Checksums verified in software. */
  udps_rcv_swcsum = 0;
  // ---- output ----
  /** Datagrams handed to IP output. */
  udps_opackets = 0;
  /** Datagrams IP output refused (no route, ENOBUFS, EMSGSIZE with DF...): the errno went to the caller. */
  udps_oerrors = 0;
  /** Sends refused before IP: broadcast without SO_BROADCAST (EACCES). */
  udps_obroadcast = 0;
  /** Sends refused before IP: datagram over IP_MAXPACKET (EMSGSIZE). */
  udps_otoobig = 0;
  // ---- ICMP errors ----
  /** ICMP errors that reached a connected socket (so_error set). */
  udps_ctlnotified = 0;
  /** ICMP errors ignored: no connected socket matched, or the kind maps to no error. */
  udps_ctlignored = 0;
}
