// sock_poll: the readiness of a socket_t as poll bits (bsd/sys/poll.h values). kpi_socket.h has no
// such call (a kernel client gets upcalls); this is what soo_select/sopoll read, for layers above
// the KPI (cfsocket/) that must ask "readable? writable?" without reaching into the socket layer.

import { SS_CANTRCVMORE, soreadable, sowriteable } from '../stack/index.js';
import type { socket_t } from './sock-core.js';
import { isLive } from './sock-core.js';

/** Data to read (bsd/sys/poll.h). */
export const POLLIN = 0x0001;
/** Urgent data (not reported by sock_poll). */
export const POLLPRI = 0x0002;
/** Writing will not block. */
export const POLLOUT = 0x0004;
/** An error is pending. */
export const POLLERR = 0x0008;
/** Hang-up: no more data will arrive. */
export const POLLHUP = 0x0010;
/** Not a valid socket (NULL or closed). */
export const POLLNVAL = 0x0020;

/**
 * sock_poll(so): the poll bits that hold now, whatever is asked for (there is no events mask):
 *   POLLIN   soreadable: data at or above SO_RCVLOWAT, EOF, a completed connection on a listener,
 *            or a pending error (what select(2)'s read set reports)
 *   POLLOUT  sowriteable: connected (or connectionless) with sbspace >= SO_SNDLOWAT (and the
 *            TCP_NOTSENT_LOWAT check), the send side shut, or a pending error; an unconnected
 *            stream socket is not writable
 *   POLLERR  so_error is set (not cleared: SO_ERROR reads and clears it)
 *   POLLHUP  the receive side is shut (SS_CANTRCVMORE: the peer's FIN, a reset, shutdown(SHUT_RD));
 *            Darwin's poll(2) reports this EOF (EV_EOF) as POLLHUP. Unlike poll(2), POLLHUP does not
 *            mask POLLOUT: the bits are independent.
 *   POLLNVAL only, for NULL or a closed socket.
 * Never blocks, never changes the socket.
 */
export function sock_poll(so: socket_t | null): number {
  if (!isLive(so)) return POLLNVAL;
  const s = so.so;
  let ev = 0;
  if (soreadable(s)) ev |= POLLIN;
  if (sowriteable(s)) ev |= POLLOUT;
  if (s.so_error !== 0) ev |= POLLERR;
  if ((s.so_state & SS_CANTRCVMORE) !== 0) ev |= POLLHUP;
  return ev;
}
