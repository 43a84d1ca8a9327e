// Socket operations other than data transfer and options (bsd/kern/uipc_socket.c,
// bsd/kern/sys_socket.c): sobind, soconnect, sodisconnect, soshutdown/sorflush, soclose (with
// the linger split for the KPI), soioctl, getsockname/getpeername. Each returns a Darwin errno and
// none waits: where XNU sleeps (connect completion, linger), the caller (kpi/) waits on events.

import type { Instant } from '../time/instant.js';
import type { Box } from './protosw.js';
import { PR_CONNREQUIRED } from './protosw.js';
import type { Socket } from './socket.js';
import { socantrcvmore, sofree } from './socket.js';
import { soabortqueues } from './so-listen.js';
import {
  FIOASYNC, FIONBIO, FIONREAD, HZ, SB_ASYNC, SB_DROP, SB_NOINTR, SB_SEL, SB_UPCALL, SHUT_RD,
  SHUT_RDWR, SHUT_WR, SIOCATMARK, SIOCGPGRP, SIOCSPGRP, SOF_DEFUNCT, SO_ACCEPTCONN, SO_LINGER,
  SS_ASYNC, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_ISCONFIRMING, SS_ISCONNECTED, SS_ISCONNECTING,
  SS_ISDISCONNECTING, SS_NBIO, SS_NOFDREF, SS_RCVATMARK,
} from './constants.js';
import { EALREADY, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP } from './errno.js';

/** Microseconds per clock tick (so_linger unit). */
const US_PER_TICK = 1_000_000 / HZ;

/** sobind: the protocol's bind (in_pcbbind rules: EINVAL second bind, EADDRINUSE, ...). */
export function sobind(so: Socket, nam: Uint8Array): number {
  if ((so.so_flags & SOF_DEFUNCT) !== 0) return EINVAL;
  return so.so_proto.pr_usrreqs.pru_bind(so, nam);
}

/**
 * soconnect (soconnectlock): EOPNOTSUPP on a listener; EISCONN when connected or connecting on a
 * connection-oriented protocol; a connectionless socket's association is dissolved first (and
 * EISCONN if that fails). A protocol error clears SS_ISCONNECTING. For TCP the call returns 0 with
 * SS_ISCONNECTING set: the KPI returns EINPROGRESS or waits (§3.3), and checks EALREADY before.
 */
export function soconnect(so: Socket, nam: Uint8Array, now: Instant): number {
  if ((so.so_options & SO_ACCEPTCONN) !== 0) return EOPNOTSUPP;
  if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING)) !== 0 &&
      ((so.so_proto.pr_flags & PR_CONNREQUIRED) !== 0 || sodisconnect(so, now) !== 0)) {
    return EISCONN;
  }
  const e = so.so_proto.pr_usrreqs.pru_connect(so, nam, now);
  if (e !== 0) so.so_state &= ~SS_ISCONNECTING;
  return e;
}

/** sodisconnect: ENOTCONN when not connected, EALREADY while disconnecting, else the protocol's. */
export function sodisconnect(so: Socket, now: Instant): number {
  if ((so.so_state & SS_ISCONNECTED) === 0) return ENOTCONN;
  if ((so.so_state & SS_ISDISCONNECTING) !== 0) return EALREADY;
  return so.so_proto.pr_usrreqs.pru_disconnect(so, now);
}

/**
 * soshutdown (§3.8): EINVAL for `how` outside 0..2; ENOTCONN unless connected, connecting or
 * disconnecting (so an unconnected UDP socket and a listener get ENOTCONN); ENOTCONN when the
 * direction is already shut. SHUT_RD flushes the receive buffer (sorflush); SHUT_WR runs the
 * protocol's shutdown (CANTSENDMORE; TCP sends FIN).
 */
export function soshutdown(so: Socket, how: number, now: Instant): number {
  if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return EINVAL;
  if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) === 0) return ENOTCONN;
  if (how !== SHUT_WR) {
    if ((so.so_state & SS_CANTRCVMORE) !== 0) return ENOTCONN;
    sorflush(so);
  }
  if (how !== SHUT_RD) {
    if ((so.so_state & SS_CANTSENDMORE) !== 0) return ENOTCONN;
    return so.so_proto.pr_usrreqs.pru_shutdown(so, now);
  }
  return 0;
}

/**
 * sorflush: marks CANTRCVMORE (the read upcall fires one last time), discards the queued data,
 * zeroes the buffer's hiwat/lowat/timeout, sets SB_DROP so later arrivals are dropped, and
 * removes the read upcall.
 */
export function sorflush(so: Socket): void {
  const sb = so.so_rcv;
  sb.sb_flags |= SB_NOINTR;
  socantrcvmore(so);
  sb.sbflush();
  sb.sb_hiwat = 0;
  sb.sb_mbmax = 0;
  sb.sb_lowat = 0;
  sb.sb_timeo = 0;
  sb.sb_flags &= ~(SB_SEL | SB_UPCALL);
  sb.sb_flags |= SB_DROP;
}

/**
 * The first half of a lingering close: starts the disconnect soclose would start and returns how
 * long a blocking close should wait for SS_ISCONNECTED to clear before calling soclose, in
 * microseconds (so_linger ticks × 10 ms); 0 means do not wait (no SO_LINGER, not connected, or a
 * nonblocking socket already disconnecting). A linger timeout is not an error.
 */
export function solingerstart(so: Socket, now: Instant): number {
  if ((so.so_options & SO_ACCEPTCONN) !== 0 || so.so_pcb === null) return 0;
  if ((so.so_state & SS_ISCONNECTED) === 0) return 0;
  if ((so.so_state & SS_ISDISCONNECTING) === 0 && sodisconnect(so, now) !== 0) return 0;
  if ((so.so_options & SO_LINGER) === 0) return 0;
  if ((so.so_state & SS_ISDISCONNECTING) !== 0 && (so.so_state & SS_NBIO) !== 0) return 0;
  if ((so.so_state & SS_ISCONNECTED) === 0) return 0;
  return so.so_linger > 0 ? so.so_linger * US_PER_TICK : 0;
}

/**
 * soclose (soclose_locked) without the linger sleep (see solingerstart): removes the listener
 * (no upcall after close), aborts a listener's queued connections (RST for TCP), disconnects a
 * connected socket if not already disconnecting, detaches the protocol and frees the socket.
 * Closing twice is a no-op. Returns the disconnect/detach error, which sock_close discards.
 */
export function soclose(so: Socket, now: Instant): number {
  if ((so.so_state & SS_NOFDREF) !== 0) return 0;
  so.setListener(null);
  let error = 0;
  if ((so.so_options & SO_ACCEPTCONN) !== 0) {
    so.so_options &= ~SO_ACCEPTCONN;
    soabortqueues(so, now);
  }
  if (so.so_pcb !== null) {
    if ((so.so_state & SS_ISCONNECTED) !== 0 && (so.so_state & SS_ISDISCONNECTING) === 0) {
      error = sodisconnect(so, now);
    }
    if (so.so_pcb !== null) {
      const e2 = so.so_proto.pr_usrreqs.pru_detach(so);
      if (error === 0) error = e2;
    }
  }
  so.so_state |= SS_NOFDREF;
  sofree(so);
  return error;
}

/**
 * soioctl (bsd/kern/sys_socket.c): FIONBIO sets/clears SS_NBIO; FIOASYNC SS_ASYNC and SB_ASYNC;
 * FIONREAD returns so_rcv.sb_cc (address and control bytes of every queued datagram included);
 * SIOCSPGRP/SIOCGPGRP store/return so_pgid; SIOCATMARK returns 1 at the urgent mark. Anything
 * else goes to the protocol's pru_control (interface and routing ioctls are not handled here).
 */
export function soioctl(so: Socket, cmd: number, data: { value: number }): number {
  switch (cmd) {
    case FIONBIO:
      if (data.value !== 0) so.so_state |= SS_NBIO;
      else so.so_state &= ~SS_NBIO;
      return 0;
    case FIOASYNC:
      if (data.value !== 0) {
        so.so_state |= SS_ASYNC;
        so.so_rcv.sb_flags |= SB_ASYNC;
        so.so_snd.sb_flags |= SB_ASYNC;
      } else {
        so.so_state &= ~SS_ASYNC;
        so.so_rcv.sb_flags &= ~SB_ASYNC;
        so.so_snd.sb_flags &= ~SB_ASYNC;
      }
      return 0;
    case FIONREAD:
      data.value = so.so_rcv.sb_cc;
      return 0;
    case SIOCSPGRP:
      so.so_pgid = data.value;
      return 0;
    case SIOCGPGRP:
      data.value = so.so_pgid;
      return 0;
    case SIOCATMARK:
      data.value = (so.so_state & SS_RCVATMARK) !== 0 ? 1 : 0;
      return 0;
    default:
      return so.so_proto.pr_usrreqs.pru_control(so, cmd, data);
  }
}

/** getsockname: the local address (an unbound INET socket reports 0.0.0.0:0). */
export function sogetsockname(so: Socket, nam: Box<Uint8Array | null>): number {
  nam.value = null;
  if (so.so_pcb === null) return EINVAL;
  return so.so_proto.pr_usrreqs.pru_sockaddr(so, nam);
}

/** getpeername: ENOTCONN unless SS_ISCONNECTED or SS_ISCONFIRMING, else the peer address. */
export function sogetpeername(so: Socket, nam: Box<Uint8Array | null>): number {
  nam.value = null;
  if ((so.so_state & (SS_ISCONNECTED | SS_ISCONFIRMING)) === 0) return ENOTCONN;
  if (so.so_pcb === null) return EINVAL;
  return so.so_proto.pr_usrreqs.pru_peeraddr(so, nam);
}
