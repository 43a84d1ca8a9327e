// connectx(2), disconnectx(2), peeloff(2) on kernel sockets (socket_t), as Darwin 13 defines them
// (../shared/seeds/connectx.2 is the specification; XNU code per xnu-sockets.md §10: uipc_syscalls.c
// connectx_nocancel/connectitx, uipc_socket.c soconnectxlocked/sodisconnectxlocked,
// tcp_usrreq.c/udp_usrreq.c *_connectx_common, *_disconnectx, in.c in_selectaddrs).
//
// connectx(so, src list, dst list, ifscope, associd, &connid)
//   → address lists (connectx-addrs.ts) → EALREADY → soconnectxlocked checks → in_selectaddrs
//   → interface scope (inp_bindif) → bind (sobind) → connect (soconnect) → connid 1 (assoc.ts)
//   → EINPROGRESS, or a Promise of the errno like sock_connect (KpiSocket.sleep, sock-core.ts)
//
// Non-multipath only: the stack has no PF_MULTIPATH protocol yet. Where connectx.2 and XNU's code
// differ, connectx.2 wins (see README.md "The mbuf KPI and the connectx family"): associd must be ASSOCID_ANY
// (EINVAL), a connected datagram socket must disconnectx first (EISCONN), a broadcast destination
// needs SO_BROADCAST (EACCES), no usable address family is EAFNOSUPPORT.

import type { Box, InPcb } from '../stack/index.js';
import {
  EACCES, EBADF, EINPROGRESS, EINTR, EINVAL, EISCONN, EALREADY, ENETDOWN, ENOTSOCK, ENXIO,
  EOPNOTSUPP, Ev, IpAddr, SO_ACCEPTCONN, SO_BROADCAST, SOCK_STREAM, SOCKADDR_IN_LEN, AF_INET, SS_ISCONNECTED,
  SS_ISCONNECTING, SS_NBIO, sobind, soconnect, tcpcbOf, INP_DEAD,
} from '../stack/index.js';
import type { KpiResult, errno_t, socket_t } from './kpi-socket.js';
import { KpiSocket } from './kpi-socket.js';
import { PENDING } from './sock-core.js';
import { assocTableOf, SAE_ASSOCID_ALL, SAE_ASSOCID_ANY, SAE_CONNID_ANY } from './assoc.js';
import type { sae_associd_t, sae_connid_t } from './assoc.js';
import { parseSockaddrList, selectAddr } from './connectx-addrs.js';

/**
 * The socket behind a descriptor-like argument: EBADF for none or a closed socket ("not a valid
 * descriptor"), ENOTSOCK for something that is not a socket_t.
 */
export function connectxSocket(socket: unknown): KpiSocket | number {
  if (socket === null || socket === undefined) return EBADF;
  if (!(socket instanceof KpiSocket)) return ENOTSOCK;
  return socket.dead ? EBADF : socket;
}

/**
 * connectx(socket, saddress, saddress_len, daddress, daddress_len, ifscope, associd, connid)
 * (Darwin 13). Binds to one of the source addresses (optional; null for none) and/or the
 * interface `ifscope` (0 for none), then connects to one of the destination addresses; each
 * buffer may hold several sockaddrs back to back and the first of the socket's family is chosen
 * (the INET domain's rule). `associd` must be ASSOCID_ANY. On success *connid is 1 (one
 * connection per non-multipath socket); it stays 1 once the protocol accepted the connect, even if
 * the wait then fails, and is SAE_CONNID_ANY (0) after an earlier failure. A nonblocking socket
 * (FIONBIO) answers EINPROGRESS while TCP connects; a blocking one gets a Promise of the final
 * errno (so_error, cleared: 0, ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ECONNRESET...; EINTR from
 * sock_interrupt, the connect carrying on). UDP completes at once. A datagram socket may connectx
 * again after disconnectx; a stream socket only once. Errors in order:
 *   EBADF / ENOTSOCK  no socket, a closed one, not a socket_t
 *   EFAULT            a length beyond its buffer
 *   EINVAL            no destination, a zero or malformed length (see parseSockaddrList), associd
 *                     not ASSOCID_ANY, no address of a valid family, a wrong sa_len for the family
 *   EALREADY          nonblocking and a connect in progress
 *   EOPNOTSUPP        a listening socket
 *   EISCONN           connected or connecting (any socket type: connectx.2 has datagram sockets
 *                     dissolve the association with disconnectx first)
 *   EAFNOSUPPORT      no address of the socket's family (only another Internet family's), or a
 *                     multicast/broadcast destination for TCP
 *   EACCES            a broadcast destination without SO_BROADCAST
 *   ENXIO             `ifscope` names no interface; ENETDOWN: that interface is down
 *   EINVAL / EADDRINUSE / EADDRNOTAVAIL  binding the source (already bound: EINVAL, as XNU)
 *   ENETUNREACH       no route to the destination (within ifscope)
 *   EADDRNOTAVAIL / EADDRINUSE  connecting (port 0 / the 4-tuple is taken)
 */
export function connectx(
  socket: socket_t | null, saddress: Uint8Array | null, saddress_len: number,
  daddress: Uint8Array | null, daddress_len: number, ifscope: number, associd: sae_associd_t,
  connid: Box<sae_connid_t> | null,
): KpiResult {
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  if (connid !== null && connid !== undefined) connid.value = SAE_CONNID_ANY;
  const so = ks.so;
  // connectx_nocancel: "Workaround to ensure connectx does not fail because of unreaped so_error."
  so.so_error = 0;
  let srcs: Uint8Array[] | null = null;
  if (saddress !== null && saddress !== undefined) {
    const r = parseSockaddrList(saddress, saddress_len, so.so_type);
    if (!r.ok) return r.error;
    srcs = r.value;
  }
  if (daddress === null || daddress === undefined) return EINVAL;
  const dr = parseSockaddrList(daddress, daddress_len, so.so_type);
  if (!dr.ok) return dr.error;
  // connectx.2 NON-MULTIPATH: "The parameter associd must always be set to ASSOCID_ANY."
  if (associd !== SAE_ASSOCID_ANY) return EINVAL;
  // connectitx
  const nbio = (so.so_state & SS_NBIO) !== 0;
  if (nbio && (so.so_state & SS_ISCONNECTING) !== 0) return EALREADY;
  const e = connectxLocked(ks, srcs, dr.value, ifscope);
  if (e !== 0) {
    so.so_state &= ~SS_ISCONNECTING;
    return e;
  }
  const table = assocTableOf(ks);
  table.connectxCount++;
  const rec = table.assoc.addConn(so, ifscope);
  if (connid !== null && connid !== undefined) connid.value = rec.connid;
  if (nbio && (so.so_state & SS_ISCONNECTING) !== 0) return EINPROGRESS;
  const connecting = (): boolean => (so.so_state & SS_ISCONNECTING) !== 0 && so.so_error === 0;
  const takeError = (): number => {
    const err = so.so_error;
    so.so_error = 0;
    return err;
  };
  if (!connecting()) return takeError();
  // connectitx: msleep(&so->so_timeo, PSOCK | PCATCH) until connected or an error is posted.
  return ks.sleep({
    mask: Ev.In | Ev.Out,
    timeo: () => 0,
    restart: false,
    interruptible: () => true,
    step: () => (connecting() ? PENDING : takeError()),
    end: (why) => (why === 'interrupt' ? EINTR : EBADF),
  });
}

/** soconnectxlocked and the protocol's connectx (tcp/udp_connectx_common) for one socket. */
function connectxLocked(ks: KpiSocket, srcs: Uint8Array[] | null, dsts: Uint8Array[], ifscope: number): number {
  const so = ks.so;
  const stack = ks.kernel.stack;
  if ((so.so_options & SO_ACCEPTCONN) !== 0) return EOPNOTSUPP;
  if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING)) !== 0) return EISCONN;
  const pcb = so.so_pcb as InPcb | null;
  if (pcb === null || (pcb.flags & INP_DEAD) !== 0) return EINVAL;
  // in_selectaddrs: one source (if any were given) and one destination of the socket's family.
  let src: Uint8Array | null = null;
  if (srcs !== null) {
    const r = selectAddr(srcs, so.so_domain);
    if (!r.ok) return r.error;
    src = r.value;
  }
  const dr = selectAddr(dsts, so.so_domain);
  if (!dr.ok) return dr.error;
  const dst = dr.value;
  // connectx.2 EACCES: "The destination address is a broadcast address and SO_BROADCAST is not set."
  if (dst[1] === AF_INET && dst[0] === SOCKADDR_IN_LEN && (so.so_options & SO_BROADCAST) === 0 &&
      stack.ip.isBroadcast(IpAddr.fromBytes(dst, 4, 4))) {
    return EACCES;
  }
  // inp_bindif: ENXIO for an index no interface has; ENETDOWN (connectx.2) when it is down.
  if (ifscope !== 0) {
    const ifp = Number.isSafeInteger(ifscope) && ifscope > 0 ? stack.ip.ifnet(ifscope) : null;
    if (ifp === null) return ENXIO;
    if (!ifp.up) return ENETDOWN;
    pcb.ifscope = ifscope;
  }
  if (src !== null) {
    const e = sobind(so, src);
    if (e !== 0) return e;
  }
  // No route to the destination (within ifscope): in_pcbconnect's source selection answers ENETUNREACH.
  return soconnect(so, dst, ks.now);
}

/**
 * disconnectx(socket, associd, connid): dissolves the socket's association (non-multipath: its
 * connection). `associd` must be ASSOCID_ANY or ASSOCID_ALL (EINVAL otherwise); `connid` is
 * ignored by TCP and UDP (tcp/udp_disconnectx: `#pragma unused(cid)`). TCP: tcp_disconnect (FIN,
 * or RST with unread data or SO_LINGER 0; before ESTABLISHED the connection is just closed); once
 * TCP released its PCB (reset, refused, closed) EINVAL, as COMMON_START. UDP: ENOTCONN when not connected; the peer is forgotten and
 * the local address reset to the wildcard (the port stays), so connectx may run again. EBADF /
 * ENOTSOCK as connectx; EINVAL without a protocol control block.
 */
export function disconnectx(socket: socket_t | null, associd: sae_associd_t, connid: sae_connid_t): errno_t {
  void connid;
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  const so = ks.so;
  if (associd !== SAE_ASSOCID_ANY && associd !== SAE_ASSOCID_ALL) return EINVAL;
  if (so.so_pcb === null) return EINVAL;
  // tcp_usr_disconnect: "In case we got disconnected from the peer" (no tcpcb): nothing to do.
  if (so.so_type === SOCK_STREAM && tcpcbOf(so) === null) return 0;
  return so.so_proto.pr_usrreqs.pru_disconnect(so, ks.now);
}

/**
 * peeloff(socket, associd, new_so): extracts the connection of a multipath socket whose initial
 * connection was made without a protocol-level association (connectx answered EPROTO) into a new
 * socket, returned in *new_so (C returns the new descriptor). Historical semantics (xnu-2422..3789;
 * current XNU made it a no-op returning 0): EOPNOTSUPP for every protocol but MPTCP
 * (pru_peeloff_notsupp), so for every socket this stack can create today; EINVAL for an associd
 * other than ANY/ALL or once an association exists. *new_so is null on failure.
 */
export function peeloff(socket: socket_t | null, associd: sae_associd_t, new_so: Box<socket_t | null> | null = null): errno_t {
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  if (new_so !== null && new_so !== undefined) new_so.value = null;
  const table = assocTableOf(ks);
  if (!table.multipath) return EOPNOTSUPP;
  if ((associd !== SAE_ASSOCID_ANY && associd !== SAE_ASSOCID_ALL) || table.assoc.associd !== SAE_ASSOCID_ANY) return EINVAL;
  // MPTCP: detach the fallen-back initial subflow (table.fallback) into a socket with the
  // multipath socket's properties. Until MPTCP exists there is no such subflow.
  return table.fallback ? EOPNOTSUPP : EINVAL;
}
