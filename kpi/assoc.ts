// Association and connection identifiers of the connectx family (bsd/sys/socket.h,
// socket_private.h; xnu-sockets.md §1.8, §10): the SAE_*/CIF_*/CIAUX_*/CONNECT_* constants and the
// per-socket bookkeeping connectx, disconnectx, peeloff, getassocids, getconnids and getconninfo
// share.
//
// The model is Darwin 13's (connectx(2), xnu-2422..3789): a socket has at most one ASSOCIATION
// (MPTCP's session, XNU's mptses: associd 0 = SAE_ASSOCID_ANY until the session is established,
// then the connid of the subflow that established it) holding CONNECTIONS (subflows), each with a
// connection ID allocated 1, 2, 3... never 0 or 0xffffffff, never reused within the association,
// and its own transport socket, interface scope, flags and rank.
//
// A non-multipath socket (TCP, UDP) uses the same table with `multipath` false: no association
// (associd stays SAE_ASSOCID_ANY, getassocids reports none) and one connection whose ID is always 1
// (tcp_usr_connectx_common: "there is only 1 connection for a TCP"; a UDP socket that connectx-es
// again gets 1 again), carried by the socket itself. Its live state (connected, addresses, error)
// is read from the socket and its PCB, as XNU's in_getconninfo does; the record keeps what only
// connectx knows (ifscope asked for, how often it ran).
//
// MPTCP (later) adds, without reshaping this: a table with `multipath` true for PF_MULTIPATH
// sockets; Association.addConn per connectx (one subflow each), setting `associd` when the session
// is established (Association.establish), removeConn for disconnectx(aid, cid) of one subflow,
// per-connection `flags` for CIF_MP_* bits, and `fallback` for the EPROTO/peeloff case.

import type { Socket } from '../stack/index.js';
import { AF_MULTIPATH } from '../stack/index.js';
import type { KpiSocket } from './sock-core.js';

// ---- identifiers (bsd/sys/socket.h) ----

/** sae_associd_t / sae_connid_t: uint32. */
export type sae_associd_t = number;
export type sae_connid_t = number;
/** Darwin 13's names (associd_t, connid_t) for the same types. */
export type associd_t = sae_associd_t;
export type connid_t = sae_connid_t;

export const SAE_ASSOCID_ANY = 0;
export const SAE_ASSOCID_ALL = 0xffffffff;
export const SAE_CONNID_ANY = 0;
export const SAE_CONNID_ALL = 0xffffffff;
/** Darwin 13 spelling (connectx.2: "ASSOCID_ANY must be specified"). */
export const ASSOCID_ANY = SAE_ASSOCID_ANY;
export const ASSOCID_ALL = SAE_ASSOCID_ALL;
export const CONNID_ANY = SAE_CONNID_ANY;
export const CONNID_ALL = SAE_CONNID_ALL;

// connectx flags of the newer signature (kept for completeness; the Darwin 13 call has none).
export const CONNECT_RESUME_ON_READ_WRITE = 0x1;
export const CONNECT_DATA_IDEMPOTENT = 0x2;
export const CONNECT_DATA_AUTHENTICATED = 0x4;

// ---- getconninfo (socket_private.h) ----

export const CIF_CONNECTING = 0x1;
export const CIF_CONNECTED = 0x2;
export const CIF_DISCONNECTING = 0x4;
export const CIF_DISCONNECTED = 0x8;
export const CIF_BOUND_IF = 0x10;
export const CIF_BOUND_IP = 0x20;
export const CIF_BOUND_PORT = 0x40;
export const CIF_PREFERRED = 0x80;
export const CIF_MP_CAPABLE = 0x100;
export const CIF_MP_READY = 0x200;
export const CIF_MP_DEGRADED = 0x400;
export const CIF_MP_ACTIVE = 0x800;
export const CIF_MP_V1 = 0x1000;

/** Aux data types: struct conninfo_tcp / struct conninfo_multipathtcp. */
export const CIAUX_TCP = 1;
export const CIAUX_MPTCP = 2;

/** sockaddr_list's cap on entries copied in from one address buffer (SOCKADDRLIST_MAX_ENTRIES). */
export const SOCKADDRLIST_MAX_ENTRIES = 64;
/** Most subflows per MPTCP session (mptcp_subflow_add answers EOVERFLOW above). */
export const MPTCP_MAX_SUBFLOWS = 256;

// ---- bookkeeping ----

/** One connection: the socket's own (non-multipath) or one MPTCP subflow. */
export class ConnRecord {
  /** CIF_* bits the owner maintains (multipath: MP_CAPABLE...); non-multipath state is read live. */
  flags = 0;
  /** SIOCSCONNORDER rank (0 = unspecified). */
  rank = 0;
  /** Pending asynchronous error of this connection when it is not the socket's own (subflows). */
  error = 0;

  constructor(
    readonly connid: sae_connid_t,
    /** The transport socket carrying the connection (the socket itself when non-multipath). */
    readonly so: Socket,
    /** The interface index connectx bound it to (0 = none). */
    readonly ifscope: number,
  ) {}
}

/**
 * An association (an MPTCP session) and its connections, in creation order (getconnids' order).
 * Non-multipath: the holder of the single connection, associd forever SAE_ASSOCID_ANY.
 */
export class Association {
  /** SAE_ASSOCID_ANY until established; then the connid of the establishing connection. */
  associd: sae_associd_t = SAE_ASSOCID_ANY;
  readonly conns: ConnRecord[] = [];
  /** mpte_connid_last: the last connection ID handed out. */
  private connidLast: sae_connid_t = SAE_CONNID_ANY;

  constructor(private readonly fixedConnid: sae_connid_t | null) {}

  /**
   * The next connection ID: non-multipath always its fixed ID (1); multipath 1, 2, 3... skipping
   * SAE_CONNID_ANY and SAE_CONNID_ALL on wrap-around, never reused.
   */
  allocConnid(): sae_connid_t {
    if (this.fixedConnid !== null) return this.fixedConnid;
    do {
      this.connidLast = (this.connidLast + 1) >>> 0;
    } while (this.connidLast === SAE_CONNID_ANY || this.connidLast === SAE_CONNID_ALL);
    return this.connidLast;
  }

  /** Adds a connection (non-multipath: replaces the previous one, which keeps ID 1). */
  addConn(so: Socket, ifscope: number): ConnRecord {
    const rec = new ConnRecord(this.allocConnid(), so, ifscope);
    if (this.fixedConnid !== null) this.conns.length = 0;
    this.conns.push(rec);
    return rec;
  }

  /** The connection with `connid`, or null. */
  conn(connid: sae_connid_t): ConnRecord | null {
    for (const c of this.conns) if (c.connid === connid) return c;
    return null;
  }

  /** Removes a connection (a subflow disconnected by disconnectx); false when unknown. */
  removeConn(connid: sae_connid_t): boolean {
    const i = this.conns.findIndex((c) => c.connid === connid);
    if (i < 0) return false;
    this.conns.splice(i, 1);
    return true;
  }

  /** The session is established through `connid`: associd becomes that ID (mptcp: mpte_associd). */
  establish(connid: sae_connid_t): void {
    if (this.associd === SAE_ASSOCID_ANY) this.associd = connid;
  }

  /** Whether `aid` names this association for a call that accepts ANY/ALL too. */
  matches(aid: sae_associd_t): boolean {
    return aid === SAE_ASSOCID_ANY || aid === SAE_ASSOCID_ALL || (aid === this.associd && aid !== SAE_ASSOCID_ANY);
  }
}

/** The connectx bookkeeping of one socket. */
export class AssocTable {
  readonly assoc: Association;
  /** connectx calls that reached the protocol (initiated a connection). */
  connectxCount = 0;
  /**
   * Multipath only: the initial connection completed without a protocol-level association
   * (connectx returned EPROTO); peeloff may extract it.
   */
  fallback = false;

  constructor(readonly owner: Socket, readonly multipath: boolean) {
    this.assoc = new Association(multipath ? null : 1);
  }

  /** getassocids' list: the association's ID once it exists (multipath only). */
  associds(): sae_associd_t[] {
    return this.multipath && this.assoc.associd !== SAE_ASSOCID_ANY ? [this.assoc.associd] : [];
  }
}

/**
 * The table of a socket, created on first use and kept on its socket_t (it goes with the socket).
 * A socket is multipath when its domain is AF_MULTIPATH (39).
 */
export function assocTableOf(ks: KpiSocket): AssocTable {
  let t = ks.assocTable;
  if (t === null) {
    const so = ks.so;
    t = new AssocTable(so, so.so_domain === AF_MULTIPATH);
    ks.assocTable = t;
  }
  return t;
}
