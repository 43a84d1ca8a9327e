// UDP's user requests (bsd/netinet/udp_usrreq.c udp_usrreqs, netinet6/udp6_usrreq.c): what the
// socket layer calls through the protocol switch for SOCK_DGRAM/IPPROTO_UDP in AF_INET and
// AF_INET6. Semantics per §8: connect is immediate (soisconnected) and EISCONN if called while
// connected (soconnect dissolves the old association first); disconnect forgets the peer AND
// resets the local address to the wildcard, keeping the port; listen/accept are EOPNOTSUPP.

import { inGetpeeraddr, inGetsockaddr } from '../inpcb/in-pcb.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import type { Instant } from '../time/instant.js';
import type { InPcb } from '../inpcb/in-pcb.js';
import { ipCtloutput } from '../inpcb/ip-ctloutput.js';
import type { Box, PrUsrreqs } from '../socket/protosw.js';
import type { Socket } from '../socket/socket.js';
import { socantsendmore, soisconnected, soisdisconnected, soreserve } from '../socket/socket.js';
import type { SockOpt } from '../socket/sockopt.js';
import { SOPT_SET, sooptcopyinInt, sooptcopyoutInt } from '../socket/sockopt.js';
import { decodeSockaddr, familyOfAf } from '../socket/sockaddr.js';
import { IPPROTO_UDP, SS_ISCONNECTED } from '../socket/constants.js';
import { EINVAL, EISCONN, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP } from '../socket/errno.js';
import type { Udp } from './udp.js';

/** UDP_NOCKSUM (netinet/udp.h): an IPPROTO_UDP option, IPv4 only: send without checksum. */
export const UDP_NOCKSUM = 0x01;
/** inp_flags bit for UDP_NOCKSUM. */
export const INP_UDP_NOCKSUM = 0x100;

/** sotoinpcb */
const sotoinpcb = (so: Socket): InPcb | null => so.so_pcb as InPcb | null;

export class UdpUsrreqs implements PrUsrreqs {
  constructor(private readonly udp: Udp) {}

  /** udp_attach: default buffers (9216 / 786896) and a PCB of the socket's family. */
  pru_attach(so: Socket, _proto: number): number {
    if (so.so_pcb !== null) return EINVAL;
    const family = familyOfAf(so.so_domain);
    if (family === null) return EINVAL;
    const e = soreserve(so, this.udp.sendspace, this.udp.recvspace);
    if (e !== 0) return e;
    so.so_pcb = this.udp.pcbs.alloc(so, family);
    return 0;
  }

  pru_detach(so: Socket): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    this.udp.pcbs.detach(pcb);
    so.so_pcb = null;
    return 0;
  }

  /** udp_bind: sockaddr checks (EAFNOSUPPORT, EINVAL for sa_len), then in_pcbbind. */
  pru_bind(so: Socket, nam: Uint8Array): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    const r = decodeSockaddr(nam, so.so_domain);
    if (!r.ok) return r.error;
    return this.udp.pcbs.bind(pcb, r.value.addr, r.value.port);
  }

  /** udp_connect: EISCONN when already connected; in_pcbconnect; then connected at once. */
  pru_connect(so: Socket, nam: Uint8Array, _now: Instant): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    if (!pcb.faddrAny) return EISCONN;
    const r = decodeSockaddr(nam, so.so_domain);
    if (!r.ok) return r.error;
    const e = this.udp.pcbs.connect(pcb, r.value.addr, r.value.port);
    if (e === 0) soisconnected(so);
    return e;
  }

  /** udp_disconnect: ENOTCONN when not connected; the local address goes back to the wildcard. */
  pru_disconnect(so: Socket, _now: Instant): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    if (pcb.faddrAny) return ENOTCONN;
    this.udp.pcbs.disconnect(pcb);
    this.udp.pcbs.clearLocalAddress(pcb);
    so.so_state &= ~SS_ISCONNECTED;
    return 0;
  }

  pru_listen(_so: Socket): number { return EOPNOTSUPP; }
  pru_accept(_so: Socket, _nam: Box<Uint8Array | null>): number { return EOPNOTSUPP; }
  pru_rcvd(_so: Socket, _flags: number, _now: Instant): number { return EOPNOTSUPP; }
  pru_rcvoob(_so: Socket, _out: Box<number>, _flags: number): number { return EOPNOTSUPP; }
  pru_control(_so: Socket, _cmd: number, _data: unknown): number { return EOPNOTSUPP; }

  pru_send(so: Socket, _flags: number, m: Mbuf, addr: Uint8Array | null, control: Mbuf | null, now: Instant): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) {
      mFreem(m);
      mFreem(control);
      return EINVAL;
    }
    return this.udp.output(pcb, so, m, addr, control, now);
  }

  /** udp_shutdown: only marks CANTSENDMORE. */
  pru_shutdown(so: Socket, _now: Instant): number {
    if (sotoinpcb(so) === null) return EINVAL;
    socantsendmore(so);
    return 0;
  }

  /** udp_abort: disconnected, then detached. */
  pru_abort(so: Socket, _now: Instant): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    soisdisconnected(so);
    this.udp.pcbs.detach(pcb);
    so.so_pcb = null;
    return 0;
  }

  /** in_getsockaddr */
  pru_sockaddr(so: Socket, nam: Box<Uint8Array | null>): number { return inGetsockaddr(sotoinpcb(so), nam); }

  /** in_getpeeraddr */
  pru_peeraddr(so: Socket, nam: Box<Uint8Array | null>): number { return inGetpeeraddr(sotoinpcb(so), nam); }

  /** udp_ctloutput: UDP_NOCKSUM at IPPROTO_UDP (IPv4 only), the IP levels via ip_ctloutput. */
  pru_ctloutput(so: Socket, sopt: SockOpt): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    if (sopt.sopt_level !== IPPROTO_UDP) return ipCtloutput(pcb, sopt);
    if (sopt.sopt_name !== UDP_NOCKSUM) return ENOPROTOOPT;
    if (sopt.sopt_dir !== SOPT_SET) return sooptcopyoutInt(sopt, (pcb.flags & INP_UDP_NOCKSUM) !== 0 ? 1 : 0);
    if (pcb.family !== 4) return EINVAL;
    const iv = { value: 0 };
    const e = sooptcopyinInt(sopt, iv);
    if (e !== 0) return e;
    if (iv.value !== 0) pcb.flags |= INP_UDP_NOCKSUM;
    else pcb.flags &= ~INP_UDP_NOCKSUM;
    return 0;
  }
}
