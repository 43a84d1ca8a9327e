// Socket options and ioctls of the KPI (kpi_socket.c sock_setsockopt/sock_getsockopt/sock_ioctl;
// xnu-sockets.md §3.10, §3.11, §6) over the socket layer's sosetopt/sogetopt/soioctl, which hold
// the semantics (raw-bit booleans, SO_LINGER ticks vs SO_LINGER_SEC seconds, SO_ERROR read-and-
// clear, EDOM timevals, ENOBUFS above sb_max, EINVAL after both directions are shut, TCP and IP
// levels through the protocol). Values are C bytes, ints little-endian, struct timeval the LP64
// 16 bytes (tv_sec int64, tv_usec int32, 4 bytes padding), struct linger 8 bytes; typed helpers
// below encode and decode them.

import {
  SockOpt, SOPT_GET, SOPT_SET, readInt, readLinger, readTimeval, sooptInt, sooptLinger, sooptTimeval,
  sogetopt, sosetopt, soioctl, SOL_SOCKET, EINVAL,
} from '../stack/index.js';
import type { Box, errno_t, socket_t } from './sock-core.js';
import { isLive } from './sock-core.js';

/**
 * sock_setsockopt(so, level, optname, optval, optlen) (§3.10, §6): EINVAL for a NULL optval (even
 * with optlen 0), a value shorter than the option needs, or once both directions are shut (unless
 * SO_NP_EXTENSIONS allowed it); a longer value is truncated and accepted. ENOPROTOOPT for an unknown
 * name; the options' own errors (EDOM, ENOBUFS, EINVAL...); ECONNRESET for IPPROTO_TCP after the
 * connection is gone. Port-specific: optlen beyond optval's length (or negative) is EINVAL.
 */
export function sock_setsockopt(so: socket_t | null, level: number, optname: number, optval: Uint8Array | null, optlen: number): errno_t {
  if (!isLive(so) || optval === null || optval === undefined) return EINVAL;
  if (!Number.isInteger(optlen) || optlen < 0 || optlen > optval.length) return EINVAL;
  return sosetopt(so.so, new SockOpt(SOPT_SET, level, optname, optval.subarray(0, optlen), optlen));
}

/**
 * sock_getsockopt(so, level, optname, optval, &optlen) (§3.10): EINVAL for a NULL optval or optlen.
 * The value is truncated silently to *optlen and *optlen becomes the bytes copied. Boolean options
 * return their raw bit (SO_KEEPALIVE 8, TCP_NODELAY 4); SO_ERROR returns and clears so_error.
 */
export function sock_getsockopt(
  so: socket_t | null, level: number, optname: number, optval: Uint8Array | null, optlen: Box<number> | null,
): errno_t {
  if (!isLive(so) || optval === null || optval === undefined || optlen === null || optlen === undefined) return EINVAL;
  const size = optlen.value;
  if (!Number.isInteger(size) || size < 0 || size > optval.length) return EINVAL;
  const sopt = new SockOpt(SOPT_GET, level, optname, optval, size);
  const e = sogetopt(so.so, sopt);
  if (e === 0) optlen.value = sopt.sopt_valsize;
  return e;
}

/**
 * sock_ioctl(so, request, argp) (§3.11). FIONBIO ({ value } non-zero: nonblocking), FIOASYNC,
 * FIONREAD (so_rcv.sb_cc: address and control bytes of every queued datagram included),
 * SIOCSPGRP/SIOCGPGRP, SIOCATMARK (1 at the urgent mark) take an int box `{ value }`. Any other
 * request goes to the protocol's control handler with `argp` as given (EOPNOTSUPP for TCP/UDP).
 * EINVAL for a NULL socket or a missing argument.
 */
export function sock_ioctl(so: socket_t | null, request: number, argp: Box<number> | object | null): errno_t {
  if (!isLive(so) || argp === null || argp === undefined) return EINVAL;
  return soioctl(so.so, request >>> 0, argp as Box<number>);
}

// ---- typed conveniences (not in kpi_socket.h) ----

/** An int option value (4 bytes, little-endian). */
export const sockoptInt = (v: number): Uint8Array => sooptInt(v);
/** A struct timeval option value (LP64: 16 bytes). */
export const sockoptTimeval = (sec: number, usec: number): Uint8Array => sooptTimeval(sec, usec);
/** A struct linger option value (8 bytes: l_onoff, l_linger). */
export const sockoptLinger = (onoff: number, linger: number): Uint8Array => sooptLinger(onoff, linger);
/** Decodes an int option value (the first 4 bytes). */
export const readSockoptInt = (b: Uint8Array): number => readInt(b, 0);
/** Decodes a struct timeval option value. */
export const readSockoptTimeval = (b: Uint8Array): { tv_sec: number; tv_usec: number } => {
  const t = readTimeval(b);
  return { tv_sec: t.sec, tv_usec: t.usec };
};
/** Decodes a struct linger option value. */
export const readSockoptLinger = (b: Uint8Array): { l_onoff: number; l_linger: number } => {
  const l = readLinger(b);
  return { l_onoff: l.onoff, l_linger: l.linger };
};

/** sock_setsockopt with an int value. */
export function setsockoptInt(so: socket_t | null, level: number, optname: number, v: number): errno_t {
  return sock_setsockopt(so, level, optname, sooptInt(v), 4);
}

/** sock_getsockopt of an int value into `out.value`. */
export function getsockoptInt(so: socket_t | null, level: number, optname: number, out: Box<number>): errno_t {
  const b = new Uint8Array(4);
  const len = { value: 4 };
  const e = sock_getsockopt(so, level, optname, b, len);
  if (e === 0) out.value = len.value >= 4 ? readInt(b, 0) : 0;
  return e;
}

/** SO_SNDTIMEO / SO_RCVTIMEO from seconds and microseconds (EDOM when out of range). */
export function setsockoptTimeval(so: socket_t | null, optname: number, sec: number, usec: number): errno_t {
  return sock_setsockopt(so, SOL_SOCKET, optname, sooptTimeval(sec, usec), 16);
}

/** SO_SNDTIMEO / SO_RCVTIMEO as { tv_sec, tv_usec }. */
export function getsockoptTimeval(so: socket_t | null, optname: number, out: Box<{ tv_sec: number; tv_usec: number }>): errno_t {
  const b = new Uint8Array(16);
  const e = sock_getsockopt(so, SOL_SOCKET, optname, b, { value: 16 });
  if (e === 0) out.value = readSockoptTimeval(b);
  return e;
}

/** SO_LINGER (ticks of 1/100 s) or SO_LINGER_SEC (seconds). */
export function setsockoptLinger(so: socket_t | null, optname: number, onoff: number, linger: number): errno_t {
  return sock_setsockopt(so, SOL_SOCKET, optname, sooptLinger(onoff, linger), 8);
}

/** SO_LINGER / SO_LINGER_SEC as { l_onoff, l_linger }. */
export function getsockoptLinger(so: socket_t | null, optname: number, out: Box<{ l_onoff: number; l_linger: number }>): errno_t {
  const b = new Uint8Array(8);
  const e = sock_getsockopt(so, SOL_SOCKET, optname, b, { value: 8 });
  if (e === 0) out.value = readSockoptLinger(b);
  return e;
}
