// The seam between IP and the transports (BSD's protosw pr_input/pr_ctlinput and ip_output).
// ingress: link → ip/input → IpProtocol.input (udp/, tcp/); ICMP errors → IpProtocol.ctlinput.
// egress: transport → IpOutput.output → fragmentation → interface output batch → Link.transmit.

import type { Mbuf } from '../mbuf/mbuf.js';
import type { IpAddr, IpFamily } from '../wire/ip-addr.js';
import type { Instant } from '../time/instant.js';
import type { LinkCaps } from '../link/link.js';

/**
 * What IP tells a transport about a packet it delivers. One scratch object per stack, rewritten
 * for every packet: a transport copies what it keeps and must not hold on to it.
 */
export interface IpInputInfo {
  family: IpFamily;
  /** The head mbuf holds the IP header(s) and the whole transport header contiguously from data. */
  /** Absolute offsets into `m.buf` of the source and destination addresses (4 or 16 bytes). */
  srcOff: number;
  dstOff: number;
  /** Offset of the transport header from the start of the packet (m.data). */
  l4Off: number;
  /** Transport length (header + payload), from the IP length fields; the chain may be longer (trimmed by IP). */
  l4Len: number;
  /** Receiving interface index. */
  ifindex: number;
  /** Partial Internet checksum sum of the pseudo-header (RFC 768 / RFC 8200 §8.1), unfolded. */
  pseudoSum: number;
  /** The destination is a broadcast or multicast address (no ICMP errors may be generated for it). */
  dstIsBroadcastOrMulticast: boolean;
  ttlOrHopLimit: number;
  tos: number;
}

/** An ICMP/ICMPv6 error that quotes a packet we sent, decoded by ip/ for the transport. */
export interface IpCtlInfo {
  family: IpFamily;
  /** Normalized kind, so transports need not know ICMPv4 vs ICMPv6 codes. */
  kind: 'unreach-port' | 'unreach-proto' | 'unreach-host' | 'unreach-net' | 'unreach-admin' | 'needfrag'
    | 'time-exceeded' | 'param-problem' | 'source-route-failed';
  /** Original ICMP type and code. */
  icmpType: number;
  icmpCode: number;
  /**
   * Next-hop MTU for needfrag / packet-too-big, else 0. For most protocols the path MTU IP now
   * uses (IP has already lowered its cache). For a protocol with `validatesIcmpErrors`, the MTU
   * the message asks for (the reported value, or IP's RFC 1191 plateau guess), not yet applied:
   * the transport applies it with IpOutput.updatePathMtu once the error passes its checks.
   */
  mtu: number;
  /** Addresses and transport ports of the quoted packet (the one we sent). */
  src: IpAddr;
  dst: IpAddr;
  srcPort: number;
  dstPort: number;
  /** The quoted transport header bytes (at least 8 when ports are present), for TCP to check seq. */
  quoted: Uint8Array;
}

export interface IpProtocol {
  /** Takes ownership of `m`. `info` is valid only during the call. */
  input(m: Mbuf, info: IpInputInfo, now: Instant): void;
  /** An ICMP error about a packet of this protocol arrived. */
  ctlinput(ctl: IpCtlInfo, now: Instant): void;
  /**
   * True when the transport validates ICMP errors against its connection state before acting on
   * them (TCP: the quoted sequence number, RFC 5927 §4.1) and owns the path-MTU update of a
   * needfrag / packet-too-big: IP then leaves its PMTU cache alone and the transport calls
   * IpOutput.updatePathMtu for an error it accepts (BSD: tcp_ctlinput checks, then updates the
   * route / host cache). Absent or false: IP lowers the path MTU itself before ctlinput (UDP).
   */
  readonly validatesIcmpErrors?: boolean;
}

export interface IpOutputParams {
  src: IpAddr;
  dst: IpAddr;
  protocol: number;
  /** 0 means the default (64, or the interface's hop limit). */
  ttl: number;
  tos: number;
  /** IPv4 DF bit; for IPv6 it forbids source fragmentation (EMSGSIZE instead). */
  dontFrag: boolean;
  /** Send even to a broadcast destination (the caller checked SO_BROADCAST). */
  allowBroadcast: boolean;
  /** Restrict to this interface index (0 = route normally), IP_BOUND_IF. */
  ifscope: number;
}

export interface IpOutput {
  /**
   * Sends the transport segment `m` (packet-header chain, transport header first, ideally with
   * leading space for the IP header). Takes ownership whatever the result. Returns 0 or a Darwin
   * errno: EHOSTUNREACH/ENETUNREACH (no route), EMSGSIZE (DF and too big), ENOBUFS (no mbufs or the
   * interface queue is full), EACCES (broadcast without allowBroadcast), EADDRNOTAVAIL.
   */
  output(m: Mbuf, p: IpOutputParams, now: Instant): number;
  /** Source address selection for `dst` (RFC 6724 lite: the outgoing interface's best address), or null. */
  selectSource(dst: IpAddr, ifscope: number): IpAddr | null;
  /** True when `a` is assigned to one of our interfaces (bind checks). */
  isLocalAddress(a: IpAddr): boolean;
  /** True for 255.255.255.255 and any subnet-directed broadcast of our IPv4 prefixes. */
  isBroadcast(a: IpAddr): boolean;
  /** Path MTU towards `dst` (route MTU lowered by any learned PMTU), 0 when there is no route. */
  pathMtu(dst: IpAddr): number;
  /**
   * Lowers the learned path MTU towards `dst` to `mtu` (capped at the route MTU, never raised),
   * for a transport with IpProtocol.validatesIcmpErrors that accepted a needfrag / packet-too-big.
   * Returns the path MTU now in effect (pathMtu(dst)).
   */
  updatePathMtu?(dst: IpAddr, mtu: number, now: Instant): number;
  /**
   * Offloads of the link a packet to `dst` leaves through (TSO size, checksum offload), or null
   * for our own addresses (looped back in software) and when there is no route.
   */
  linkCaps(dst: IpAddr, ifscope: number): LinkCaps | null;
  /**
   * Answers the packet `m` (as delivered to IpProtocol.input: IP header at m.data, `info` its
   * description) with an ICMP/ICMPv6 error, rate limited, never for broadcast/multicast or ICMP
   * errors (RFC 1122 §3.2.2, RFC 4443 §2.4). Takes ownership of `m`.
   */
  sendIcmpError(m: Mbuf, info: IpInputInfo, kind: 'port-unreach' | 'proto-unreach', now: Instant): void;
}
