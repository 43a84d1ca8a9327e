// UDP (bsd/netinet/udp_usrreq.c udp_input/udp_append/udp_ctlinput/udp_output, netinet6/udp6_*).
//
// ingress: ip input → Udp.input (length, checksum, PCB lookup) → sbappendaddr of
//          [MT_SONAME sender][payload mbufs, headers trimmed with m_adj: no copy] → sorwakeup
//          no socket: ip.sendIcmpError(port-unreach) · broadcast/multicast: every matching socket
// errors:  ICMP → ip → Udp.ctlinput → connected socket's so_error (ECONNREFUSED...) + wakeups
// egress:  sosend → UdpUsrreqs.pru_send → Udp.output → 8-byte header prepended into leading
//          space, checksum filled → IpOutput.output
//
// UDP keeps nothing in so_snd: SO_SNDBUF is only the largest datagram (EMSGSIZE in sosend).

import type { StackContext } from '../context.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mAdj, mCopym, mLength, mPrepend } from '../mbuf/chain.js';
import { CSUM_DATA_VALID, M_PKTHDR } from '../mbuf/constants.js';
import type { Instant } from '../time/instant.js';
import type { IpCtlInfo, IpInputInfo, IpOutput, IpOutputParams, IpProtocol } from '../ip/protocol.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';
import { InPcbTable } from '../inpcb/in-pcb.js';
import type { InPcb, InPcbTableOptions } from '../inpcb/in-pcb.js';
import { pcbOutputTos, pcbOutputTtl } from '../inpcb/ip-ctloutput.js';
import type { SocketLayer } from '../socket/socket-layer.js';
import type { Socket } from '../socket/socket.js';
import { sorwakeup, soseterror } from '../socket/socket.js';
import type { Protosw } from '../socket/protosw.js';
import { PR_ADDR, PR_ATOMIC } from '../socket/protosw.js';
import { decodeSockaddr, sonameFromPacket } from '../socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, SOCK_DGRAM, SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT } from '../socket/constants.js';
import {
  EACCES, EADDRNOTAVAIL, ECONNREFUSED, EHOSTUNREACH, EISCONN, EMSGSIZE, ENETUNREACH, ENOBUFS,
  ENOPROTOOPT, ENOTCONN,
} from '../socket/errno.js';
import { UdpStats } from './udp-stats.js';
import { INP_UDP_NOCKSUM, UdpUsrreqs } from './udp-usrreq.js';
export { INP_UDP_NOCKSUM, UDP_NOCKSUM } from './udp-usrreq.js';
import { ChecksumAccumulator, pseudoHeaderSum4, pseudoHeaderSum6 } from '../wire/checksum.js';
import { chainChecksum } from '../ip/mbuf-checksum.js';
import { set16 } from '../wire/bytes.js';
import { UDP_HEADER_LEN, UdpView } from '../wire/udp.js';

export const UDP_HDR_LEN = UDP_HEADER_LEN;
/** udp_sendspace: the default SO_SNDBUF, which for UDP is the largest datagram. */
export const UDP_SENDSPACE = 9216;
/** udp_recvspace 187 × (1024 + 28) = 196724, raised ×4 when the mbuf pool is >= 96 MB (the macOS norm). */
export const UDP_RECVSPACE = 786896;
/** IP_MAXPACKET: the largest IP datagram. */
const IP_MAXPACKET = 65535;

export interface UdpOptions {
  /** Default SO_SNDBUF (largest datagram); 9216. */
  sendspace?: number;
  /** Default SO_RCVBUF; 786896. */
  recvspace?: number;
  /** Ephemeral port range. */
  pcb?: InPcbTableOptions;
}

/** The socket of a UDP PCB (UDP PCBs are always owned by sockets). */
export const inpToSocket = (pcb: InPcb): Socket | null => pcb.owner as Socket | null;

/** Maps a normalized ICMP error to the errno udp_notify posts (inetctlerrmap); 0 = ignore. */
export function udpCtlErrno(kind: IpCtlInfo['kind']): number {
  switch (kind) {
    case 'unreach-port':
    case 'unreach-proto':
    case 'unreach-admin':
      return ECONNREFUSED;
    case 'unreach-host':
    case 'unreach-net':
    case 'source-route-failed':
      return EHOSTUNREACH;
    case 'needfrag':
      return EMSGSIZE;
    case 'param-problem':
      return ENOPROTOOPT;
    default:
      return 0;
  }
}

export class Udp implements IpProtocol {
  readonly stats = new UdpStats();
  /** udbinfo: every UDP PCB, IPv4 and IPv6. */
  readonly pcbs: InPcbTable;
  readonly usrreqs: UdpUsrreqs;
  readonly protosw4: Protosw;
  readonly protosw6: Protosw;
  readonly sendspace: number;
  readonly recvspace: number;
  /** Scratch objects reused for every packet (no allocation on the data path). */
  private readonly view = new UdpView();
  private readonly acc = new ChecksumAccumulator();
  /** Reused for every output call (IP reads it synchronously). */
  private readonly oparams: IpOutputParams = {
    src: IpAddr.ANY4, dst: IpAddr.ANY4, protocol: IPPROTO_UDP, ttl: 0, tos: 0, dontFrag: false,
    allowBroadcast: false, ifscope: 0,
  };

  /** Creates UDP and registers its AF_INET and AF_INET6 entries with the socket layer's switch. */
  constructor(readonly ctx: StackContext, readonly sockets: SocketLayer, readonly ip: IpOutput, opts: UdpOptions = {}) {
    this.sendspace = opts.sendspace ?? UDP_SENDSPACE;
    this.recvspace = opts.recvspace ?? UDP_RECVSPACE;
    this.pcbs = new InPcbTable(IPPROTO_UDP, ctx.env.rng, ip, opts.pcb);
    this.usrreqs = new UdpUsrreqs(this);
    const flags = PR_ATOMIC | PR_ADDR;
    this.protosw4 = { pr_type: SOCK_DGRAM, pr_domain: AF_INET, pr_protocol: IPPROTO_UDP, pr_flags: flags, pr_usrreqs: this.usrreqs };
    this.protosw6 = { pr_type: SOCK_DGRAM, pr_domain: AF_INET6, pr_protocol: IPPROTO_UDP, pr_flags: flags, pr_usrreqs: this.usrreqs };
    sockets.addProtocol(this.protosw4);
    sockets.addProtocol(this.protosw6);
  }

  /** udp_input / udp6_input. Takes ownership of `m`. */
  input(m: Mbuf, info: IpInputInfo, now: Instant): void {
    const st = this.stats;
    st.udps_ipackets++;
    const l4Off = info.l4Off;
    if (info.l4Len < UDP_HDR_LEN || m.len < l4Off + UDP_HDR_LEN) {
      st.udps_hdrops++;
      mFreem(m);
      return;
    }
    const b = m.buf;
    // The header is contiguous (IP's guarantee); the payload may continue in further mbufs, so the
    // view covers the header only and the lengths are checked against the IP payload length here.
    const v = this.view.wrap(b, m.data + l4Off, UDP_HDR_LEN);
    const sport = v.srcPort;
    const dport = v.dstPort;
    const ulen = v.length;
    const sum = v.checksum;
    if (ulen !== info.l4Len && (ulen > info.l4Len || ulen < UDP_HDR_LEN)) {
      st.udps_badlen++;
      mFreem(m);
      return;
    }
    // Trim anything after the datagram (IP padding, or a UDP length shorter than the IP payload).
    const total = mLength(m);
    if (total > l4Off + ulen) mAdj(m, -(total - (l4Off + ulen)));
    if (total < l4Off + ulen) {
      st.udps_badlen++;
      mFreem(m);
      return;
    }
    if (sum === 0) {
      st.udps_nosum++;
      if (info.family === 6) {
        // RFC 8200 §8.1: a zero UDP checksum in IPv6 is invalid.
        st.udps_nosum6++;
        mFreem(m);
        return;
      }
    } else if ((m.csumFlags & CSUM_DATA_VALID) === 0) {
      let s = info.pseudoSum;
      // The pseudo-header carries the UDP length: swap IP's payload length for it (one's
      // complement subtraction is addition of the complement, so the sum stays non-negative).
      if (ulen !== info.l4Len) s = s + (0xffff - info.l4Len) + ulen;
      if (chainChecksum(this.acc, m, l4Off, ulen, s) !== 0) {
        st.udps_badsum++;
        mFreem(m);
        return;
      }
      st.udps_rcv_swcsum++;
    }
    if (info.dstIsBroadcastOrMulticast) {
      this.inputMulticast(m, info, sport, dport);
      return;
    }
    const pcb = this.pcbs.lookupPacket(info.family, b, info.srcOff, sport, info.dstOff, dport, true, info.ifindex);
    if (pcb === null || pcb.owner === null) {
      st.udps_noport++;
      this.ip.sendIcmpError(m, info, 'port-unreach', now);
      return;
    }
    this.append(pcb, m, info, b, sport);
  }

  /**
   * Broadcast/multicast delivery: every PCB on the port whose bound address is the wildcard or
   * the destination and whose connected peer (if any) is the sender gets a copy (sharing
   * clusters); the search stops after a socket without SO_REUSEADDR/SO_REUSEPORT, as in XNU.
   * No socket: dropped and counted, no ICMP. (Multicast group membership is not checked.)
   */
  private inputMulticast(m: Mbuf, info: IpInputInfo, sport: number, dport: number): void {
    const b = m.buf;
    const bucket = this.pcbs.bucket(dport);
    let last: InPcb | null = null;
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const p = bucket[i]!;
        if (p.family !== info.family || p.owner === null) continue;
        if (!p.laddrAny && !p.laddr.equalsBytes(b, info.dstOff)) continue;
        if (!p.faddrAny && (p.fport !== sport || !p.faddr.equalsBytes(b, info.srcOff))) continue;
        if (p.ifscope !== 0 && info.ifindex !== 0 && p.ifscope !== info.ifindex) continue;
        if (last !== null) {
          const n = mCopym(m, 0, null);
          if (n === null) this.stats.udps_nombuf++;
          else this.append(last, n, info, b, sport);
        }
        last = p;
        if ((p.options & (SO_REUSEPORT | SO_REUSEADDR)) === 0) break;
      }
    }
    if (last === null) {
      this.stats.udps_noportbcast++;
      mFreem(m);
      return;
    }
    this.append(last, m, info, b, sport);
  }

  /**
   * udp_append: queues datagram `n` (IP + UDP headers still in front) on the PCB's socket as
   * [MT_SONAME][payload]. The sender's address is read from `hdr` (the original packet's buffer)
   * at info.srcOff. IPv6 link-local senders get the receiving interface as sin6_scope_id.
   */
  private append(pcb: InPcb, n: Mbuf, info: IpInputInfo, hdr: Uint8Array, sport: number): void {
    const so = inpToSocket(pcb)!;
    const so0 = info.srcOff;
    const scope = info.family === 6 && hdr[so0] === 0xfe && (hdr[so0 + 1]! & 0xc0) === 0x80 ? info.ifindex : 0;
    const name = sonameFromPacket(this.ctx.pool, info.family, hdr, so0, sport, scope);
    if (name === null) {
      this.stats.udps_nombuf++;
      mFreem(n);
      return;
    }
    mAdj(n, info.l4Off + UDP_HDR_LEN);
    const len = mLength(n);
    if (n.hasPkthdr) n.pktLen = len;
    if (so.so_rcv.sbappendaddr(name, n, null)) {
      this.stats.udps_delivered++;
      so.counters.rxpackets++;
      so.counters.rxbytes += len;
      sorwakeup(so);
    } else {
      this.stats.udps_fullsock++;
      so.counters.rxdropped++;
    }
  }

  /**
   * udp_ctlinput / udp6_ctlinput: an ICMP error quoting a datagram we sent (ctl.src:srcPort is
   * ours, ctl.dst:dstPort the peer). Only a CONNECTED socket with exactly that 4-tuple is told:
   * so_error is set (ECONNREFUSED for port unreachable, EHOSTUNREACH, EMSGSIZE for "fragmentation
   * needed" whose MTU is also kept in pcb.pmtu...) and both sides are woken; unconnected sockets
   * never see ICMP errors.
   */
  ctlinput(ctl: IpCtlInfo, _now: Instant): void {
    const errno = udpCtlErrno(ctl.kind);
    if (errno === 0 || ctl.src.family !== ctl.dst.family) {
      this.stats.udps_ctlignored++;
      return;
    }
    const pcb = this.pcbs.lookup(ctl.dst, ctl.dstPort, ctl.src, ctl.srcPort, false, 0);
    const so = pcb === null ? null : inpToSocket(pcb);
    if (pcb === null || so === null) {
      this.stats.udps_ctlignored++;
      return;
    }
    if (ctl.kind === 'needfrag' && ctl.mtu > 0) pcb.pmtu = ctl.mtu;
    this.stats.udps_ctlnotified++;
    soseterror(so, errno);
  }

  /**
   * udp_output: sends `m` (payload, packet header) from `pcb` to `addr` (a Darwin sockaddr) or to
   * the connected peer. Takes ownership of `m` and `control` (control messages are not
   * interpreted). Errors: EISCONN (address on a connected socket), ENOTCONN (no address, not
   * connected), EINVAL/EAFNOSUPPORT (bad sockaddr), EADDRNOTAVAIL (port 0, unspecified
   * destination, no ephemeral port), ENETUNREACH (no source address), EACCES (broadcast without
   * SO_BROADCAST), EMSGSIZE (over IP_MAXPACKET), ENOBUFS, and whatever IP output returns.
   * An unbound socket gets an ephemeral port first (it stays bound, to the wildcard address).
   */
  output(pcb: InPcb, so: Socket, m: Mbuf, addr: Uint8Array | null, control: Mbuf | null, now: Instant): number {
    mFreem(control);
    const st = this.stats;
    const len = m.hasPkthdr ? m.pktLen : mLength(m);
    const family: IpFamily = pcb.family;
    if (len + UDP_HDR_LEN + (family === 4 ? 20 : 0) > IP_MAXPACKET) {
      st.udps_otoobig++;
      mFreem(m);
      return EMSGSIZE;
    }
    let faddr: IpAddr;
    let fport: number;
    let laddr: IpAddr;
    if (addr !== null) {
      if (!pcb.faddrAny) {
        mFreem(m);
        return EISCONN;
      }
      const r = decodeSockaddr(addr, so.so_domain);
      if (!r.ok) {
        mFreem(m);
        return r.error;
      }
      faddr = r.value.addr;
      fport = r.value.port;
      if (fport === 0 || faddr.isUnspecified) {
        mFreem(m);
        return EADDRNOTAVAIL;
      }
      if (pcb.lport === 0) {
        const e = this.pcbs.bind(pcb, null, 0);
        if (e !== 0) {
          mFreem(m);
          return e;
        }
      }
      if (pcb.laddrAny) {
        const src = this.ip.selectSource(faddr, pcb.ifscope);
        if (src === null) {
          mFreem(m);
          return ENETUNREACH;
        }
        laddr = src;
      } else {
        laddr = pcb.laddr;
      }
    } else {
      if (pcb.faddrAny) {
        mFreem(m);
        return ENOTCONN;
      }
      faddr = pcb.faddr;
      fport = pcb.fport;
      laddr = pcb.laddr;
    }
    const allowBroadcast = (so.so_options & SO_BROADCAST) !== 0;
    if (family === 4 && !allowBroadcast && this.ip.isBroadcast(faddr)) {
      st.udps_obroadcast++;
      mFreem(m);
      return EACCES;
    }
    const h = mPrepend(m, UDP_HDR_LEN);
    if (h === null) return ENOBUFS;
    if (!h.hasPkthdr) {
      h.flags |= M_PKTHDR;
      h.pktLen = mLength(h);
    }
    const ulen = len + UDP_HDR_LEN;
    const b = h.buf;
    const o = h.data;
    set16(b, o, pcb.lport);
    set16(b, o + 2, fport);
    set16(b, o + 4, ulen);
    set16(b, o + 6, 0);
    if (family === 6 || (pcb.flags & INP_UDP_NOCKSUM) === 0) {
      const ps = family === 4
        ? pseudoHeaderSum4(laddr.bytes, 0, faddr.bytes, 0, IPPROTO_UDP, ulen)
        : pseudoHeaderSum6(laddr.bytes, 0, faddr.bytes, 0, IPPROTO_UDP, ulen);
      const c = chainChecksum(this.acc, h, 0, ulen, ps);
      // RFC 768: a computed checksum of zero is transmitted as all ones.
      set16(b, o + 6, c === 0 ? 0xffff : c);
    }
    const p = this.oparams;
    p.src = laddr;
    p.dst = faddr;
    p.ttl = pcbOutputTtl(pcb);
    p.tos = pcbOutputTos(pcb);
    p.allowBroadcast = allowBroadcast;
    p.ifscope = pcb.ifscope;
    st.udps_opackets++;
    const e = this.ip.output(h, p, now);
    if (e === 0) {
      so.counters.txpackets++;
      so.counters.txbytes += len;
    } else {
      st.udps_oerrors++;
    }
    return e;
  }
}
