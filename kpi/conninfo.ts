// getassocids / getconnids / getconninfo: the association and connection identifiers of a socket
// and the state of one connection (xnu-sockets.md §10.6). XNU answers the SIOCGASSOCIDS /
// SIOCGCONNIDS / SIOCGCONNINFO ioctls (bsd/netinet/in.c in_getassocids/in_getconnids/
// in_getconninfo; mptcp_usrreq.c for MPTCP) and the userland wrappers (network_cmds conn_lib:
// copyassocids/copyconnids/copyconninfo) ask for the count, allocate, and ask again. Here each
// function does both steps and hands back fresh arrays and objects in its boxes.
//
// Non-multipath sockets (TCP, UDP) have no association (no IDs) and at most one connection, ID 1,
// while connected; multipath sockets (MPTCP, later) read assoc.ts's table, with the historical
// per-connid semantics (a specific connid selects that connection, unknown: EINVAL).

import type { Box, InPcb, Socket } from '../stack/index.js';
import {
  EINVAL, ENXIO, IPPROTO_TCP, SS_ISCONNECTED, encodeSockaddr, INP_ANONPORT, INP_DEAD, INP_INADDR_ANY,
} from '../stack/index.js';
import type { errno_t, socket_t } from './kpi-socket.js';
import type { KpiSocket } from './kpi-socket.js';
import {
  assocTableOf, CIAUX_TCP, CIF_BOUND_IF, CIF_BOUND_IP, CIF_BOUND_PORT, CIF_CONNECTED, CIF_PREFERRED,
  SAE_ASSOCID_ALL, SAE_ASSOCID_ANY, SAE_CONNID_ALL, SAE_CONNID_ANY,
} from './assoc.js';
import type { sae_associd_t, sae_connid_t } from './assoc.js';
import { connectxSocket } from './connectx.js';
import type { conninfo_tcp } from './conninfo-tcp.js';
import { tcpGetConninfo } from './conninfo-tcp.js';

/** What getconninfo reports of one connection (conn_lib's conninfo_t). */
export interface conninfo_t {
  ci_flags: number;
  ci_ifindex: number;
  ci_error: number;
  ci_src: Uint8Array;
  ci_dst: Uint8Array;
  ci_aux_type: number;
  ci_aux_data: conninfo_tcp | null;
}

/** The INET control block of a live socket, or null (no PCB, or a dead one: XNU's EINVAL). */
function livePcb(so: Socket): InPcb | null {
  const pcb = so.so_pcb as InPcb | null;
  return pcb === null || (pcb.flags & INP_DEAD) !== 0 ? null : pcb;
}

/**
 * getassocids(socket, cnt, aidp): the socket's association IDs. Non-multipath: none (*cnt 0,
 * *aidp empty: "INPCB has no concept of association"); multipath: the association's ID once
 * established. EBADF / ENOTSOCK as connectx; EINVAL for a null box or a socket without a live PCB.
 */
export function getassocids(socket: socket_t | null, cnt: Box<number> | null, aidp: Box<sae_associd_t[] | null> | null): errno_t {
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  if (cnt === null || cnt === undefined || aidp === null || aidp === undefined) return EINVAL;
  cnt.value = 0;
  aidp.value = null;
  const table = assocTableOf(ks);
  if (!table.multipath && livePcb(ks.so) === null) return EINVAL;
  const ids = table.associds();
  cnt.value = ids.length;
  aidp.value = ids;
  return 0;
}

/**
 * getconnids(socket, associd, cnt, cidp): the connection IDs of an association. Non-multipath:
 * associd must be ASSOCID_ANY or ASSOCID_ALL (else EINVAL); [1] while connected (SS_ISCONNECTED),
 * else none. Multipath: associd ANY, ALL or the association's; every connection's ID in creation
 * order. EBADF / ENOTSOCK; EINVAL for a null box or no live PCB.
 */
export function getconnids(
  socket: socket_t | null, associd: sae_associd_t, cnt: Box<number> | null, cidp: Box<sae_connid_t[] | null> | null,
): errno_t {
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  if (cnt === null || cnt === undefined || cidp === null || cidp === undefined) return EINVAL;
  cnt.value = 0;
  cidp.value = null;
  const so = ks.so;
  const table = assocTableOf(ks);
  let ids: sae_connid_t[];
  if (table.multipath) {
    if (!table.assoc.matches(associd)) return EINVAL;
    ids = table.assoc.conns.map((c) => c.connid);
  } else {
    if (livePcb(so) === null) return EINVAL;
    if (associd !== SAE_ASSOCID_ANY && associd !== SAE_ASSOCID_ALL) return EINVAL;
    // in_getconnids: "if INPCB is connected, assign it connid 1"
    ids = (so.so_state & SS_ISCONNECTED) !== 0 ? [1] : [];
  }
  cnt.value = ids.length;
  cidp.value = ids;
  return 0;
}

/**
 * getconninfo(socket, connid, flags, ifindex, error, src, dst, aux_type, aux_data): the state of
 * one connection; every box may be null (not wanted). Non-multipath (in_getconninfo): connid must
 * be CONNID_ANY, CONNID_ALL or 1 (else EINVAL). *flags: CIF_CONNECTED | CIF_PREFERRED while
 * connected, CIF_BOUND_IF with an interface scope (connectx ifscope / IP_BOUND_IF), CIF_BOUND_IP
 * when the local address was bound explicitly (not chosen by connect), CIF_BOUND_PORT when the port
 * was (not ephemeral). *ifindex: the interface the connection sends on (0 when it has no peer).
 * *error: so_error, NOT cleared. *src / *dst: the local and foreign sockaddr (16 or 28 bytes; the
 * unspecified address and port 0 when unset). TCP: *aux_type CIAUX_TCP and *aux_data a
 * conninfo_tcp; UDP: 0 and null. Multipath: connid ANY is the first connection (ENXIO when there is
 * none), a specific connid that connection (EINVAL when unknown), CONNID_ALL EINVAL (xnu-3789).
 */
export function getconninfo(
  socket: socket_t | null, connid: sae_connid_t, flags: Box<number> | null, ifindex: Box<number> | null,
  error: Box<number> | null, src: Box<Uint8Array | null> | null, dst: Box<Uint8Array | null> | null,
  aux_type: Box<number> | null, aux_data: Box<conninfo_tcp | null> | null,
): errno_t {
  const ks = connectxSocket(socket);
  if (typeof ks === 'number') return ks;
  const r = conninfoOf(ks, connid);
  if (typeof r === 'number') return r;
  if (flags) flags.value = r.ci_flags;
  if (ifindex) ifindex.value = r.ci_ifindex;
  if (error) error.value = r.ci_error;
  if (src) src.value = r.ci_src;
  if (dst) dst.value = r.ci_dst;
  if (aux_type) aux_type.value = r.ci_aux_type;
  if (aux_data) aux_data.value = r.ci_aux_data;
  return 0;
}

/** copyconninfo: the whole conninfo_t of a connection, or an errno. */
export function conninfoOf(ks: KpiSocket, connid: sae_connid_t): conninfo_t | number {
  const so = ks.so;
  const table = assocTableOf(ks);
  if (!table.multipath) {
    if (connid !== SAE_CONNID_ANY && connid !== SAE_CONNID_ALL && connid !== 1) return EINVAL;
    return inGetConninfo(ks, so);
  }
  if (connid === SAE_CONNID_ALL) return EINVAL;
  const rec = connid === SAE_CONNID_ANY ? table.assoc.conns[0] ?? null : table.assoc.conn(connid);
  if (rec === null) return connid === SAE_CONNID_ANY ? ENXIO : EINVAL;
  const info = inGetConninfo(ks, rec.so);
  if (typeof info === 'number') return info;
  info.ci_flags |= rec.flags;
  if (rec.error !== 0) info.ci_error = rec.error;
  return info;
}

/** in_getconninfo for the INET socket `so` (the socket itself, or a subflow). */
function inGetConninfo(ks: KpiSocket, so: Socket): conninfo_t | number {
  const pcb = livePcb(so);
  if (pcb === null) return EINVAL;
  let flags = 0;
  if ((so.so_state & SS_ISCONNECTED) !== 0) flags |= CIF_CONNECTED | CIF_PREFERRED;
  if (pcb.ifscope !== 0) flags |= CIF_BOUND_IF;
  if (!pcb.laddrAny && (pcb.flags & INP_INADDR_ANY) === 0) flags |= CIF_BOUND_IP;
  if (pcb.lport !== 0 && (pcb.flags & INP_ANONPORT) === 0) flags |= CIF_BOUND_PORT;
  const outif = lastOutif(ks, pcb);
  const tcp = so.so_proto.pr_protocol === IPPROTO_TCP;
  return {
    ci_flags: flags,
    ci_ifindex: outif,
    ci_error: so.so_error,
    ci_src: encodeSockaddr({ addr: pcb.laddr, port: pcb.lport }),
    ci_dst: encodeSockaddr({ addr: pcb.faddr, port: pcb.fport }),
    ci_aux_type: tcp ? CIAUX_TCP : 0,
    ci_aux_data: tcp ? tcpGetConninfo(so, outif) : null,
  };
}

/**
 * inp_last_outifp, which the stack does not record: the interface a connection with a peer sends
 * through (the route to the foreign address within its interface scope); 0 without a peer, for a
 * local peer, or without a route.
 */
function lastOutif(ks: KpiSocket, pcb: InPcb): number {
  if (pcb.faddrAny) return 0;
  const ip = ks.kernel.stack.ip;
  if (ip.isLocalAddress(pcb.faddr)) return 0;
  const ifp = ip.outputIfnet(pcb.faddr.family, pcb.faddr.bytes, 0, pcb.ifscope);
  return ifp === null ? 0 : ifp.index;
}
