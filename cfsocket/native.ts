// Native handles (CFSocketNativeHandle): C's file descriptors for KPI sockets. A KPI socket_t has
// no descriptor, so this process-wide table gives each one a small int, lowest free first from 3
// (0-2 are stdio), as open(2) would. CFSocket's "one CFSocket per native handle" rule, the accept
// callback's handle and CFSocketGetNative all speak these ints; CFSocketNativeHandleGetSocket turns
// one back into the socket_t for sock_* calls (a read callback's sock_receive, for example).

import { POLLNVAL, sock_close, sock_poll } from '../kpi/index.js';
import type { socket_t } from '../kpi/index.js';

/** CFSocketNativeHandle: an int; -1 is "no socket" (INVALID_SOCKET). */
export type CFSocketNativeHandle = number;

const FIRST_FD = 3;
const byFd = new Map<number, socket_t>();
const bySocket = new Map<socket_t, number>();

/**
 * The native handle of a KPI socket: its existing one, or a new one (lowest free number). Wrap a
 * socket_t you created with kernel.sock_socket before CFSocketCreateWithNative.
 */
export function CFSocketNativeHandleCreate(so: socket_t): CFSocketNativeHandle {
  const have = bySocket.get(so);
  if (have !== undefined) return have;
  let fd = FIRST_FD;
  while (byFd.has(fd)) fd++;
  byFd.set(fd, so);
  bySocket.set(so, fd);
  return fd;
}

/** The socket_t behind a native handle, or null (unknown handle, or its socket was closed). */
export function CFSocketNativeHandleGetSocket(fd: CFSocketNativeHandle): socket_t | null {
  const so = byFd.get(fd);
  if (so === undefined) return null;
  if ((sock_poll(so) & POLLNVAL) !== 0) { // closed with sock_close behind the table's back: the number is free again
    byFd.delete(fd);
    bySocket.delete(so);
    return null;
  }
  return so;
}

/**
 * close(2) for a native handle: sock_close of its socket (a Promise<void> while SO_LINGER holds it)
 * and the number becomes free. Unknown handles are ignored (EBADF in C).
 */
export function CFSocketNativeHandleClose(fd: CFSocketNativeHandle): void | Promise<void> {
  const so = byFd.get(fd);
  if (so === undefined) return;
  byFd.delete(fd);
  bySocket.delete(so);
  return sock_close(so);
}

/** Handles currently open (for tests and diagnostics). */
export function CFSocketNativeHandleCount(): number { return byFd.size; }
