// Counters of the IP layer: ipstat, ip6stat, icmpstat and icmp6stat (BSD netinet/ip_var.h,
// netinet6/ip6_var.h, netinet/icmp_var.h, netinet/icmp6.h), one counter per drop reason.
// Owned by IpLayer (one set per stack); moved by ip-input.ts, ip-output.ts, ip6-input.ts,
// ip6-output.ts, ip-reass.ts, ip6-reass.ts, icmp.ts, icmp6.ts and icmp-common.ts.
// Names keep BSD's prefixes (ips_, ip6s_, icps_, icp6s_) so netstat -s output reads the same.

/** IPv4 counters (struct ipstat). */
export class IpStats {
  // ---- input ----
  /** Packets handed to IPv4 input (from an interface or the loopback queue), before any check. */
  ips_total = 0;
  /** Packet shorter than the 20-byte minimum header (or the header could not be made contiguous). */
  ips_toosmall = 0;
  /** Packet shorter than the header's total length field. */
  ips_tooshort = 0;
  /** Version field is not 4. */
  ips_badvers = 0;
  /** Header length field below 20 bytes or beyond the packet. */
  ips_badhlen = 0;
  /** Total length field smaller than the header length. */
  ips_badlen = 0;
  /** Header checksum did not verify. */
  ips_badsum = 0;
  /** Martian source or destination: multicast/broadcast/0.0.0.0 source, or 127/8 arriving from a link. */
  ips_badaddr = 0;
  /** Unicast destination that is none of our addresses: a host does not forward (RFC 1122 §3.3.1). */
  ips_notforus = 0;
  /** Multicast destination of a group we are not a member of. */
  ips_notmember = 0;
  /** No transport registered for the protocol (a protocol unreachable is sent). */
  ips_noproto = 0;
  /** Datagrams handed to a transport or to ICMP. */
  ips_delivered = 0;
  /** The transport header could not be made contiguous (pool exhausted). */
  ips_nobufs = 0;
  /** Packets dropped because their interface was down. */
  ips_ifdown = 0;

  // ---- reassembly (RFC 791 §3.2, RFC 815) ----
  /** Fragments received (offset or MF set). */
  ips_fragments = 0;
  /** Fragments freed without being reassembled, for any reason but a timeout (sum of the reasons below, per fragment). */
  ips_fragdropped = 0;
  /** Fragments freed because their datagram did not complete within ipfragttl. */
  ips_fragtimeout = 0;
  /** Datagrams reassembled and passed on. */
  ips_reassembled = 0;
  /** Fragment dropped as an exact duplicate (same offset and length as one held), or fully covered by held data. */
  ips_fragdup = 0;
  /** Partial overlaps trimmed BSD-style (RFC 791 allows overlaps; newer data trims the held fragment). */
  ips_fragoverlap = 0;
  /** Malformed fragment: MF set and length not a multiple of 8, empty, or past a known end. */
  ips_badfrags = 0;
  /** Datagrams given up because a cap (queue count or bytes held) needed room; the oldest goes first. */
  ips_fragqfull = 0;
  /** Datagrams given up because they exceeded the fragments-per-datagram cap. */
  ips_fragtoomany = 0;
  /** Fragments that would make the datagram longer than 65535 bytes. */
  ips_toolong = 0;

  // ---- output ----
  /** Datagrams handed to IPv4 output by a transport or ICMP. */
  ips_localout = 0;
  /** Output dropped for lack of mbufs. */
  ips_odropped = 0;
  /** Output with no route to the destination (EHOSTUNREACH). */
  ips_noroute = 0;
  /** Output with no usable source address (EADDRNOTAVAIL). */
  ips_nosource = 0;
  /** Output to a broadcast address without allowBroadcast (EACCES). */
  ips_bcastdenied = 0;
  /** Output through an interface that is down (ENETDOWN). */
  ips_ifdownout = 0;
  /** Datagrams successfully fragmented. */
  ips_fragmented = 0;
  /** Fragments created by output fragmentation. */
  ips_ofragments = 0;
  /** Datagrams larger than the path MTU that could not be fragmented (DF set, or MTU too small): EMSGSIZE. */
  ips_cantfrag = 0;
  /** Datagrams to one of our own addresses, queued on the loopback. */
  ips_looped = 0;
  /** Loopback datagrams dropped because the loopback queue was full. */
  ips_loopdrop = 0;
}

/** IPv6 counters (struct ip6stat). */
export class Ip6Stats {
  // ---- input ----
  /** Packets handed to IPv6 input, before any check. */
  ip6s_total = 0;
  /** Packet shorter than the 40-byte header. */
  ip6s_toosmall = 0;
  /** Packet shorter than 40 + payload length, or an extension header runs past the payload. */
  ip6s_tooshort = 0;
  /** Version field is not 6. */
  ip6s_badvers = 0;
  /** Multicast source, unspecified destination, or ::1 arriving from a link (RFC 4291 §2.5.3). */
  ip6s_badscope = 0;
  /** Unicast destination that is none of our addresses (we do not forward). */
  ip6s_notforus = 0;
  /** Multicast destination other than all-nodes or our solicited-node groups. */
  ip6s_notmember = 0;
  /** No transport for the upper-layer protocol (parameter problem code 1 sent). */
  ip6s_noproto = 0;
  /** Malformed or unsupported extension headers/options (hop-by-hop not first, jumbo payload, discard-action option, routing header with segments left). */
  ip6s_badoptions = 0;
  /** More extension headers than the walker accepts. */
  ip6s_toomanyhdr = 0;
  /** Next header was 59 (No Next Header): nothing to deliver. */
  ip6s_nonext = 0;
  /** Datagrams handed to a transport or to ICMPv6. */
  ip6s_delivered = 0;
  /** Headers could not be made contiguous (pool exhausted). */
  ip6s_nobufs = 0;
  /** Packets dropped because their interface was down. */
  ip6s_ifdown = 0;

  // ---- reassembly (RFC 8200 §4.5, RFC 5722) ----
  /** Fragments received (packets with a fragment header). */
  ip6s_fragments = 0;
  /** Fragments freed without being reassembled, for any reason but a timeout. */
  ip6s_fragdropped = 0;
  /** Fragments freed because their datagram did not complete within 60 s. */
  ip6s_fragtimeout = 0;
  /** Datagrams reassembled and passed on. */
  ip6s_reassembled = 0;
  /** Atomic fragments (offset 0, M clear) processed on their own (RFC 6946). */
  ip6s_atomicfrags = 0;
  /** Fragment dropped as an exact duplicate (same offset and length as one held, RFC 8200 §4.5). */
  ip6s_fragdup = 0;
  /** Datagrams discarded because two fragments overlapped (RFC 5722). */
  ip6s_fragoverlap = 0;
  /** Malformed fragment: M set and length not a multiple of 8, empty, or inconsistent with the known end (datagram dropped for the latter). */
  ip6s_badfrags = 0;
  /** Datagrams given up because a cap (queue count or bytes held) needed room; the oldest goes first. */
  ip6s_fragqfull = 0;
  /** Datagrams given up because they exceeded the fragments-per-datagram cap. */
  ip6s_fragtoomany = 0;
  /** Fragments that would make the payload longer than 65535 bytes (parameter problem sent). */
  ip6s_toolong = 0;

  // ---- output ----
  /** Datagrams handed to IPv6 output by a transport or ICMPv6. */
  ip6s_localout = 0;
  /** Output dropped for lack of mbufs. */
  ip6s_odropped = 0;
  /** Output with no route to the destination. */
  ip6s_noroute = 0;
  /** Output with no usable source address. */
  ip6s_nosource = 0;
  /** Output through an interface that is down. */
  ip6s_ifdownout = 0;
  /** Datagrams successfully fragmented. */
  ip6s_fragmented = 0;
  /** Fragments created. */
  ip6s_ofragments = 0;
  /** Datagrams larger than the path MTU that could not be fragmented (dontFrag): EMSGSIZE. */
  ip6s_cantfrag = 0;
  /** Datagrams to one of our own addresses, queued on the loopback. */
  ip6s_looped = 0;
  /** Loopback datagrams dropped because the loopback queue was full. */
  ip6s_loopdrop = 0;
}

const hist = (): number[] => new Array<number>(256).fill(0);

/** ICMPv4 counters (struct icmpstat). */
export class IcmpStats {
  // ---- error generation ----
  /** Requests to generate an error (icmp_error calls), before suppression. */
  icps_error = 0;
  /** No error: the original was too short to quote its header and 8 bytes, or to tell its ICMP type. */
  icps_oldshort = 0;
  /** No error: the original was an ICMP error itself (RFC 1122 §3.2.2). */
  icps_oldicmp = 0;
  /** No error: the original went to a broadcast or multicast address (RFC 1122 §3.2.2). */
  icps_bcast = 0;
  /** No error: the original was a non-first fragment (RFC 1122 §3.2.2). */
  icps_fragment = 0;
  /** No error: the original's source is not a single host (0.0.0.0, broadcast, multicast, loopback). */
  icps_badsrc = 0;
  /** No error: suppressed by the rate limiter (BSD icmplim). */
  icps_ratelimited = 0;
  /** Messages we sent, by type. */
  readonly icps_outhist = hist();
  /** ICMP messages (errors or replies) that could not be built or sent (no mbufs, no route). */
  icps_odropped = 0;

  // ---- input ----
  /** Message shorter than the 8-byte ICMP header. */
  icps_tooshort = 0;
  /** Checksum did not verify. */
  icps_checksum = 0;
  /** Code not defined for the type. */
  icps_badcode = 0;
  /** Error message whose quoted packet is too short or not an IPv4 header. */
  icps_badlen = 0;
  /** Messages received, by type (counted after the checksum passed). */
  readonly icps_inhist = hist();
  /** Echo replies sent (icmp_reflect). */
  icps_reflect = 0;
  /** Echo requests to a broadcast or multicast address, ignored (icmpbmcastecho off). */
  icps_bmcastecho = 0;
  /** Errors quoting a protocol with no registered handler (nobody to tell). */
  icps_ctlnoproto = 0;
  /** Errors handed to a transport's ctlinput. */
  icps_ctlinput = 0;
  /** Types we do not act on (redirect, source quench, timestamp, router discovery, ...), counted in inhist and dropped. */
  icps_ignored = 0;
  /** Echo replies handed to the echo listener. */
  icps_echoreplies = 0;
  /** Fragmentation-needed messages that changed the path MTU (RFC 1191). */
  icps_pmtuchanged = 0;
  /** Fragmentation-needed messages whose MTU was no lower than the current estimate, or for a destination we have no route to. */
  icps_pmtuignored = 0;
}

/** ICMPv6 counters (struct icmp6stat). */
export class Icmp6Stats {
  // ---- error generation ----
  /** Requests to generate an error, before suppression. */
  icp6s_error = 0;
  /** No error: the original was an ICMPv6 error or redirect, or too short to tell (RFC 4443 §2.4(e)). */
  icp6s_canterror = 0;
  /** No error: the original went to a multicast address (RFC 4443 §2.4(e.3)). */
  icp6s_mcast = 0;
  /** No error: the original was a non-first fragment (no upper-layer header to quote). */
  icp6s_fragment = 0;
  /** No error: the original's source is unspecified or multicast (RFC 4443 §2.4(e.6)). */
  icp6s_badsrc = 0;
  /** No error: suppressed by the rate limiter (RFC 4443 §2.4(f)). */
  icp6s_ratelimited = 0;
  /** Messages we sent, by type. */
  readonly icp6s_outhist = hist();
  /** Messages that could not be built or sent. */
  icp6s_odropped = 0;

  // ---- input ----
  /** Message shorter than the 8-byte ICMPv6 header (4 for the checksum). */
  icp6s_tooshort = 0;
  /** Checksum (with the RFC 8200 §8.1 pseudo-header) did not verify. */
  icp6s_checksum = 0;
  /** Code not defined for the type. */
  icp6s_badcode = 0;
  /** Error message whose quoted packet is too short or not an IPv6 header. */
  icp6s_badlen = 0;
  /** Messages received, by type. */
  readonly icp6s_inhist = hist();
  /** Echo replies sent. */
  icp6s_reflect = 0;
  /** Neighbor discovery and MLD messages (types 130-137, 143): counted and ignored on a point-to-point L3 link. */
  icp6s_nd_ignored = 0;
  /** Errors quoting a protocol with no registered handler. */
  icp6s_ctlnoproto = 0;
  /** Errors handed to a transport's ctlinput. */
  icp6s_ctlinput = 0;
  /** Other types we do not act on, dropped. */
  icp6s_ignored = 0;
  /** Echo replies handed to the echo listener. */
  icp6s_echoreplies = 0;
  /** Packet-too-big messages that changed the path MTU (RFC 8201). */
  icp6s_pmtuchanged = 0;
  /** Packet-too-big messages ignored: MTU below 1280 (RFC 8201 §4 says discard), no lower than the estimate, or no route. */
  icp6s_pmtuignored = 0;
}
