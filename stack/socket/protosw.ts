// The protocol switch (bsd/sys/protosw.h): what a transport registers with the SocketLayer so
// that socreate finds it by (domain, type, protocol) and the so* functions reach it through
// pr_usrreqs. UDP (udp/udp-usrreq.ts) plugs in today; TCP and MPTCP plug in the same way.
//
// Conventions, XNU's: every pru_* returns 0 or a Darwin errno. pru_send takes ownership of `m`
// and `control` on every path. Addresses are Darwin sockaddr bytes (sockaddr.ts); the protocol
// decodes them with decodeSockaddr so that length/family errors are the protocol's, as in XNU.

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import type { Instant } from '../time/instant.js';
import type { Socket } from './socket.js';
import type { SockOpt } from './sockopt.js';
import { EOPNOTSUPP } from './errno.js';

// pr_flags (bsd/sys/protosw.h)
/** Exchange atomic messages only (datagrams): a send is one record, never split. */
export const PR_ATOMIC = 0x01;
/** Addresses given with messages (received records start with MT_SONAME). */
export const PR_ADDR = 0x02;
/** Connection required by protocol (TCP): send/receive need SS_ISCONNECTED, listen works. */
export const PR_CONNREQUIRED = 0x04;
/** Wants pru_rcvd after data is consumed (TCP window updates). */
export const PR_WANTRCVD = 0x08;
/** Passes capabilities (AF_UNIX). */
export const PR_RIGHTS = 0x10;
/** Implied open/close (T/TCP style): sendto may connect. */
export const PR_IMPLOPCL = 0x20;
/** Enforce the protocol's own locking (XNU); informational here. */
export const PR_PROTOLOCK = 0x80;
export const PR_PCBLOCK = 0x100;
/** Generates connection-info events. */
export const PR_EVCONNINFO = 0x800;
/** Allows data before connect (TFO). */
export const PR_PRECONN_WRITE = 0x1000;

// pru_send flags
export const PRUS_OOB = 0x1;
export const PRUS_EOF = 0x2;
export const PRUS_MORETOCOME = 0x4;

/** A C out-parameter. */
export interface Box<T> { value: T }

export interface PrUsrreqs {
  /** Creates the protocol control block and reserves buffers (soreserve). */
  pru_attach(so: Socket, proto: number): number;
  /** Releases the control block (so_pcb becomes null, or later for TCP). */
  pru_detach(so: Socket): number;
  pru_bind(so: Socket, nam: Uint8Array): number;
  pru_connect(so: Socket, nam: Uint8Array, now: Instant): number;
  pru_disconnect(so: Socket, now: Instant): number;
  /** EOPNOTSUPP for protocols that cannot listen. */
  pru_listen(so: Socket): number;
  /** The peer address of an accepted child. */
  pru_accept(so: Socket, nam: Box<Uint8Array | null>): number;
  /** Sends `m` (packet-header chain) to `addr` or the connected peer; owns m and control. */
  pru_send(so: Socket, flags: number, m: Mbuf, addr: Uint8Array | null, control: Mbuf | null, now: Instant): number;
  /** Data was consumed from so_rcv (PR_WANTRCVD). */
  pru_rcvd(so: Socket, flags: number, now: Instant): number;
  /** Reads the urgent byte (MSG_OOB). */
  pru_rcvoob(so: Socket, out: Box<number>, flags: number): number;
  /** Write side shut (SHUT_WR): UDP marks CANTSENDMORE, TCP also sends FIN. */
  pru_shutdown(so: Socket, now: Instant): number;
  /** Drops the connection now (listener close, sonewconn failure). */
  pru_abort(so: Socket, now: Instant): number;
  pru_sockaddr(so: Socket, nam: Box<Uint8Array | null>): number;
  pru_peeraddr(so: Socket, nam: Box<Uint8Array | null>): number;
  /** Options at the protocol's levels (IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP...). */
  pru_ctloutput(so: Socket, sopt: SockOpt): number;
  /** ioctls the socket layer does not handle. */
  pru_control(so: Socket, cmd: number, data: unknown): number;
  /** TCP_NOTSENT_LOWAT: extra writability condition when SOF_NOTSENT_LOWAT is set. */
  pru_notsent_lowat_check?(so: Socket): boolean;
}

export interface Protosw {
  /** SOCK_STREAM, SOCK_DGRAM... */
  readonly pr_type: number;
  /** AF_INET or AF_INET6. */
  readonly pr_domain: number;
  /** IPPROTO_UDP, IPPROTO_TCP... */
  readonly pr_protocol: number;
  readonly pr_flags: number;
  readonly pr_usrreqs: PrUsrreqs;
}

// The pru_*_notsupp helpers of bsd/kern/uipc_socket2.c, for protocols to reuse.
export const pru_listen_notsupp = (): number => EOPNOTSUPP;
export const pru_accept_notsupp = (): number => EOPNOTSUPP;
export const pru_rcvd_notsupp = (): number => EOPNOTSUPP;
export const pru_rcvoob_notsupp = (): number => EOPNOTSUPP;
export const pru_control_notsupp = (): number => EOPNOTSUPP;
export function pru_send_notsupp(m: Mbuf | null, control: Mbuf | null): number {
  mFreem(m);
  mFreem(control);
  return EOPNOTSUPP;
}
