// Listening sockets (bsd/kern/uipc_socket.c solisten, bsd/kern/uipc_socket2.c sonewconn,
// kpi_socket.c sock_accept): the listen queues a connection-oriented protocol (TCP) fills and
// accept drains. UDP never gets here (its pru_listen is EOPNOTSUPP).
//
// TCP SYN → sonewconn(listener, 0) → child on so_incomp → handshake done → soisconnected(child)
//   → child on so_comp, sorwakeup(listener) → accept: soacceptdequeue + soaccept.

import type { Instant } from '../time/instant.js';
import type { Box } from './protosw.js';
import type { Socket } from './socket.js';
import { sofree, soqremque, sorwakeup } from './socket.js';
import {
  SB_USRSIZE, SOF_BINDRANDOMPORT, SOF_NOADDRAVAIL, SOF_NOSIGPIPE, SOF_NOTIFYCONFLICT,
  SOF_NOTSENT_LOWAT, SOF_NPX_SETOPTSHUT, SOF_REUSESHAREUID, SO_ACCEPTCONN, SS_COMP,
  SS_CANTRCVMORE, SS_INCOMP, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING, SS_NOFDREF,
} from './constants.js';
import { ECONNABORTED, EINVAL, EWOULDBLOCK } from './errno.js';
import { soreserve } from './socket.js';

/** Flags a child inherits from its listener (sonewconn_internal). */
const INHERITED_FLAGS = SOF_NOSIGPIPE | SOF_NOADDRAVAIL | SOF_REUSESHAREUID | SOF_NOTIFYCONFLICT |
  SOF_BINDRANDOMPORT | SOF_NPX_SETOPTSHUT | SOF_NOTSENT_LOWAT;

/**
 * solisten: EINVAL when connected, connecting or disconnecting; the protocol's pru_listen error
 * (EOPNOTSUPP for UDP) clears SO_ACCEPTCONN; a backlog <= 0 or above somaxconn becomes somaxconn
 * (128), stored in so_qlimit.
 */
export function solisten(so: Socket, backlog: number): number {
  if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) !== 0) return EINVAL;
  const e = so.so_proto.pr_usrreqs.pru_listen(so);
  if (e !== 0) {
    so.so_options &= ~SO_ACCEPTCONN;
    return e;
  }
  if (so.so_comp.length === 0) so.so_options |= SO_ACCEPTCONN;
  const max = so.layer.somaxconn;
  if (backlog <= 0 || backlog > max) backlog = max;
  so.so_qlimit = backlog;
  return 0;
}

/**
 * sonewconn: a child socket for a connection arriving on listener `head`, or null when the
 * queue is full (so_qlen >= so_qlimit, counting incomplete plus complete children) or the
 * protocol's attach fails. The child inherits so_state (SS_NBIO included) with SS_NOFDREF,
 * so_options minus SO_ACCEPTCONN, the linger time, INHERITED_FLAGS and both hiwats; not the
 * upcalls, timeouts or low-water marks. `connstatus` 0 queues it incomplete; SS_ISCONNECTED
 * queues it complete and wakes the listener's read side.
 */
export function sonewconn(head: Socket, connstatus: number): Socket | null {
  const layer = head.layer;
  if (head.so_qlen >= head.so_qlimit) {
    layer.stats.listenOverflows++;
    return null;
  }
  const so = layer.soalloc(head.so_proto);
  so.so_options = head.so_options & ~SO_ACCEPTCONN;
  so.so_linger = head.so_linger;
  so.so_state = head.so_state | SS_NOFDREF;
  so.so_pgid = head.so_pgid;
  so.so_flags |= head.so_flags & INHERITED_FLAGS;
  if (soreserve(so, head.so_snd.sb_hiwat, head.so_rcv.sb_hiwat) !== 0 ||
      so.so_proto.pr_usrreqs.pru_attach(so, 0) !== 0) {
    layer.stats.attachFailed++;
    so.so_rcv.sbrelease();
    so.so_snd.sbrelease();
    layer.release(so);
    return null;
  }
  so.so_rcv.sb_flags |= head.so_rcv.sb_flags & SB_USRSIZE;
  so.so_snd.sb_flags |= head.so_snd.sb_flags & SB_USRSIZE;
  layer.stats.sonewconn++;
  so.so_head = head;
  if (connstatus !== 0) {
    head.so_comp.push(so);
    so.so_state |= SS_COMP;
  } else {
    head.so_incomp.push(so);
    so.so_state |= SS_INCOMP;
    head.so_incqlen++;
  }
  head.so_qlen++;
  if (connstatus !== 0) {
    so.so_state |= connstatus;
    sorwakeup(head);
  }
  return so;
}

/**
 * The socket part of sock_accept (kpi_socket.c), without waiting:
 *   - not listening (SO_ACCEPTCONN clear): EINVAL;
 *   - `nonblocking` (SS_NBIO or MSG_DONTWAIT, decided by the caller) and the completed queue is
 *     empty: EWOULDBLOCK, even with so_error set, as XNU checks this first;
 *   - otherwise, with nothing completed and no error: CANTRCVMORE turns into so_error =
 *     ECONNABORTED; else EWOULDBLOCK means "a blocking accept would sleep now";
 *   - so_error set: returned and cleared;
 *   - else the oldest completed child is dequeued (so_head cleared, so_qlen decremented,
 *     SS_NOFDREF cleared: the caller now holds it) and stored in `out`.
 */
export function soacceptdequeue(head: Socket, nonblocking: boolean, out: Box<Socket | null>): number {
  out.value = null;
  if ((head.so_options & SO_ACCEPTCONN) === 0) return EINVAL;
  if (nonblocking && head.so_comp.length === 0) return EWOULDBLOCK;
  if (head.so_comp.length === 0 && head.so_error === 0) {
    if ((head.so_state & SS_CANTRCVMORE) !== 0) head.so_error = ECONNABORTED;
    else return EWOULDBLOCK;
  }
  if (head.so_error !== 0) {
    const e = head.so_error;
    head.so_error = 0;
    return e;
  }
  const so = head.so_comp[0]!;
  soqremque(so);
  so.so_state &= ~SS_NOFDREF;
  out.value = so;
  return 0;
}

/**
 * soaccept: asks the protocol for the accepted child's peer address. sock_accept ignores the
 * result (a child reset before accept is returned anyway, §3.5), so callers may too.
 */
export function soaccept(so: Socket, nam: Box<Uint8Array | null>): number {
  return so.so_proto.pr_usrreqs.pru_accept(so, nam);
}

/**
 * soabort: drops a connection without a descriptor (queued children of a closing listener,
 * sonewconn failures): the protocol's pru_abort, then sofree once it let go of the pcb.
 */
export function soabort(so: Socket, now: Instant): number {
  const e = so.so_proto.pr_usrreqs.pru_abort(so, now);
  sofree(so);
  return e;
}

/** Aborts every queued child of a closing listener, incomplete and complete (soclose_locked). */
export function soabortqueues(head: Socket, now: Instant): void {
  while (head.so_incomp.length > 0) {
    const sp = head.so_incomp[0]!;
    soqremque(sp);
    sp.so_state |= SS_NOFDREF;
    soabort(sp, now);
  }
  while (head.so_comp.length > 0) {
    const sp = head.so_comp[0]!;
    soqremque(sp);
    sp.so_state |= SS_NOFDREF;
    soabort(sp, now);
  }
}
