// sock_* functions for a socket's life and addresses (bsd/kern/kpi_socket.c; xnu-sockets.md §3):
// bind, connect, connectwait, listen, accept, shutdown, close, retain/release, getsockname,
// getpeername, gettype, isconnected, isnonblocking, setpriv, nointerrupt, and the port's
// sock_interrupt hook. Each is the so* operation of stack/socket plus the KPI's own checks and, where
// XNU sleeps (connect, accept, linger), a Sleeper (sock-core.ts).

import type { Box, Socket } from '../stack/index.js';
import {
  Ev, sobind, soclose, soconnect, sogetpeername, sogetsockname, solingerstart, soshutdown, soaccept,
  soacceptdequeue, solisten, HZ, MSG_DONTWAIT, MSG_USEUPCALL, SB_NOINTR, SO_ACCEPTCONN, SS_ISCONNECTED,
  SS_ISCONNECTING, SS_NBIO, SS_PRIV, EALREADY, EBADF, EDOM, EINPROGRESS, EINTR, EINVAL, ENOTSUP, EWOULDBLOCK,
} from '../stack/index.js';
import type { KpiResult, errno_t, sock_upcall, socket_t } from './sock-core.js';
import { PENDING, isLive } from './sock-core.js';

/** SHRT_MAX: sock_connectwait refuses tv_sec above SHRT_MAX / hz (EDOM). */
const SHRT_MAX = 32767;

/** Takes and clears so_error (every path that reports it clears it, §6.2). */
function takeError(so: Socket): number {
  const e = so.so_error;
  so.so_error = 0;
  return e;
}

/** The bytes of a sockaddr the caller passed, for the protocol: EINVAL when null (XNU's NULL check). */
function addrArg(to: Uint8Array | null | undefined): Uint8Array | null {
  return to === null || to === undefined ? null : to;
}

/** Copies MIN(len, sa_len) bytes of `sa` into `out` (accept, getsockname, getpeername: no length out). */
function copyAddr(sa: Uint8Array | null, out: Uint8Array, len: number): void {
  if (sa === null) return;
  const n = Math.min(len, sa[0] ?? sa.length, sa.length);
  out.set(sa.subarray(0, n), 0);
}

/**
 * sock_bind(so, to) (§3.2): EINVAL for a NULL socket or address, a second bind, a wrong sa_len;
 * EAFNOSUPPORT for a wrong family; EADDRNOTAVAIL (not a local address); EADDRINUSE (§6.4).
 */
export function sock_bind(so: socket_t | null, to: Uint8Array | null): errno_t {
  const nam = addrArg(to);
  if (!isLive(so) || nam === null) return EINVAL;
  return sobind(so.so, nam);
}

/**
 * sock_connect(so, to, flags) (§3.3). MSG_DONTWAIT (or FIONBIO) makes it nonblocking: EALREADY
 * while a connect is in progress, else EINPROGRESS, and the upcall (and writability) tells of
 * completion. Blocking: a Promise that settles, once SS_ISCONNECTING clears or so_error is set, with
 * so_error (cleared): 0, ECONNREFUSED, ETIMEDOUT, ENETUNREACH... No timeout but the protocol's
 * (TCP_CONNECTIONTIMEOUT); SO_SNDTIMEO/SO_RCVTIMEO are not consulted. Errors of soconnect:
 * EOPNOTSUPP (102) on a listener, EISCONN, EINVAL / EAFNOSUPPORT (address), EADDRINUSE,
 * ENETUNREACH (no route, in_pcbladdr)... A UDP
 * connect completes at once. sock_interrupt gives EINTR and the connect continues.
 */
export function sock_connect(so: socket_t | null, to: Uint8Array | null, flags: number): KpiResult {
  const nam = addrArg(to);
  if (!isLive(so) || nam === null) return EINVAL;
  const s = so.so;
  const nonblocking = (s.so_state & SS_NBIO) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  if ((s.so_state & SS_ISCONNECTING) !== 0 && nonblocking) return EALREADY;
  const e = soconnect(s, nam, so.now);
  if (e !== 0) return e;
  if ((s.so_state & SS_ISCONNECTING) !== 0 && nonblocking) return EINPROGRESS;
  const connecting = (): boolean => (s.so_state & SS_ISCONNECTING) !== 0 && s.so_error === 0;
  if (!connecting()) return takeError(s);
  return so.sleep({
    mask: Ev.In | Ev.Out,
    timeo: () => 0,
    restart: false,
    interruptible: () => true,
    step: () => (connecting() ? PENDING : takeError(s)),
    end: (why) => (why === 'interrupt' ? EINTR : EBADF),
  });
}

/** struct timeval as sock_connectwait takes it. */
export interface timeval { tv_sec: number; tv_usec: number }

/**
 * sock_connectwait(so, tv) (KERNEL_PRIVATE, kpi_socket.c): waits up to `tv` for a connect started
 * with MSG_DONTWAIT. Not connecting (or an error pending): so_error (cleared), else 0 when
 * connected, EINVAL when no connect was ever started; EDOM for a bad timeval (tv_sec < 0 or above
 * SHRT_MAX/hz, tv_usec outside [0, 1e6)); after the wait: EINPROGRESS if still connecting, else
 * so_error (cleared). A zero timeval waits without limit (msleep with no deadline). The sleep is not
 * interruptible (PSOCK without PCATCH). Blocks whatever FIONBIO says.
 */
export function sock_connectwait(so: socket_t | null, tv: timeval | null): KpiResult {
  if (!isLive(so) || tv === null || tv === undefined) return EINVAL;
  const s = so.so;
  if ((s.so_state & SS_ISCONNECTING) === 0 || s.so_error !== 0) {
    if (s.so_error !== 0) return takeError(s);
    return (s.so_state & SS_ISCONNECTED) !== 0 ? 0 : EINVAL;
  }
  if (tv.tv_sec < 0 || tv.tv_sec > Math.trunc(SHRT_MAX / HZ) || tv.tv_usec < 0 || tv.tv_usec >= 1_000_000 ||
      !Number.isFinite(tv.tv_sec) || !Number.isFinite(tv.tv_usec)) {
    return EDOM;
  }
  const us = Math.trunc(tv.tv_sec) * 1_000_000 + Math.trunc(tv.tv_usec);
  const result = (): number => {
    if ((s.so_state & SS_ISCONNECTING) !== 0 && s.so_error === 0) return EINPROGRESS;
    return takeError(s);
  };
  return so.sleep({
    mask: Ev.In | Ev.Out,
    timeo: () => us,
    restart: false,
    interruptible: () => false,
    // msleep returns on the first wakeup of so_timeo; the state decides the answer. Wakeups that
    // change nothing (data, ACKs) do not wake so_timeo in XNU, so keep sleeping through them.
    step: () => ((s.so_state & SS_ISCONNECTING) !== 0 && s.so_error === 0 ? PENDING : result()),
    end: (why) => (why === 'closed' ? EBADF : result()),
  });
}

/**
 * sock_listen(so, backlog) (§3.4): EINVAL when connected/connecting; EOPNOTSUPP (102) for UDP;
 * backlog <= 0 or above somaxconn becomes 128.
 */
export function sock_listen(so: socket_t | null, backlog: number): errno_t {
  if (!isLive(so)) return EINVAL;
  return solisten(so.so, backlog | 0);
}

/**
 * sock_accept(so, from, fromlen, flags, callback, cookie, &new_so) (§3.5). EINVAL for NULL
 * arguments or a socket that is not listening; flags other than MSG_DONTWAIT (and, documented
 * behaviour only, MSG_USEUPCALL): ENOTSUP (45). Nonblocking (MSG_DONTWAIT or FIONBIO) with no
 * completed connection: EWOULDBLOCK. Blocking: a Promise (no timeout; EINTR by sock_interrupt;
 * ECONNABORTED once the listener cannot receive). The child inherits FIONBIO, keepalive, linger,
 * buffer sizes from the listener, not its upcall: `callback` (may be null) is installed as by
 * sock_setupcall; with MSG_USEUPCALL (documented behaviour) the child gets the listener's upcalls
 * and cookies instead. MIN(fromlen, sa_len) bytes of the peer's address go to `from`. A child reset
 * before accept is returned anyway with 0; its first I/O reveals the error.
 */
export function sock_accept(
  so: socket_t | null, from: Uint8Array | null, fromlen: number, flags: number,
  callback: sock_upcall | null, cookie: unknown, new_so: Box<socket_t | null> | null,
): KpiResult {
  if (!isLive(so) || new_so === null || new_so === undefined) return EINVAL;
  new_so.value = null;
  const head = so.so;
  if ((head.so_options & SO_ACCEPTCONN) === 0) return EINVAL;
  const allowed = so.kernel.documented ? MSG_DONTWAIT | MSG_USEUPCALL : MSG_DONTWAIT;
  if (((flags & ~allowed) >>> 0) !== 0) return ENOTSUP;
  if (from !== null && from !== undefined && fromlen > from.length) return EINVAL;
  const nonblocking = (flags & MSG_DONTWAIT) !== 0 || (head.so_state & SS_NBIO) !== 0;
  const child: Box<Socket | null> = { value: null };
  const finish = (): number => {
    const c = child.value!;
    const peer: Box<Uint8Array | null> = { value: null };
    soaccept(c, peer); // its result is ignored, as sock_accept ignores soacceptlock's (§3.5 step 8)
    const ks = so.kernel.adopt(c, so);
    if ((flags & MSG_USEUPCALL) !== 0 && so.kernel.documented && (so.rcb !== null || so.wcb !== null)) {
      ks.rcb = so.rcb; ks.rcookie = so.rcookie;
      ks.wcb = so.wcb; ks.wcookie = so.wcookie;
    } else if (callback !== null && callback !== undefined) {
      ks.setSimpleUpcall(callback, cookie);
    }
    // Documented: "called when a socket is connected": the child is, and data may have arrived
    // before accept; XNU stays silent here (§11.3: the client must try a read).
    if (so.kernel.documented && (ks.rcb !== null || ks.wcb !== null)) c.requestRecheck(Ev.In | Ev.Out);
    if (from !== null && from !== undefined && fromlen > 0) copyAddr(peer.value, from, fromlen);
    new_so.value = ks;
    return 0;
  };
  const e = soacceptdequeue(head, nonblocking, child);
  if (e === 0) return finish();
  if (e !== EWOULDBLOCK || nonblocking) return e;
  return so.sleep({
    mask: Ev.In | Ev.Out,
    timeo: () => 0,
    restart: false,
    interruptible: () => true,
    step: () => {
      if (!isLive(so)) return EBADF;
      const r = soacceptdequeue(head, false, child);
      if (r === EWOULDBLOCK) return PENDING;
      return r === 0 ? finish() : r;
    },
    end: (why) => (why === 'interrupt' ? EINTR : EBADF),
  });
}

/**
 * sock_shutdown(so, how) (§3.8): EINVAL for `how` outside SHUT_RD/SHUT_WR/SHUT_RDWR; ENOTCONN
 * unless connected (or connecting/disconnecting), and for a direction already shut. SHUT_RD
 * discards queued data and removes the read upcall; SHUT_WR sends FIN (TCP).
 */
export function sock_shutdown(so: socket_t | null, how: number): errno_t {
  if (!isLive(so)) return EINVAL;
  return soshutdown(so.so, how, so.now);
}

/**
 * sock_close(so) (§3.9). Returns nothing; a Promise<void> while a blocking close lingers. With
 * sock_retain holds outstanding it only drops the descriptor's reference (sock_release closes).
 * Otherwise: no more upcalls; a listener aborts (RST) every queued connection; a connected socket
 * disconnects (RST with unread data or SO_LINGER 0, else FIN); with SO_LINGER on a blocking
 * socket, waits up to so_linger ticks (1/100 s) for the disconnect (not an error if it expires);
 * calls still sleeping on the socket end (EBADF); the socket is freed. Closing twice is a no-op.
 */
export function sock_close(so: socket_t | null): void | Promise<void> {
  if (!isLive(so) || so.closing) return;
  if (so.retaincnt > 0) {
    so.fdClosed = true;
    return;
  }
  return closeNow(so);
}

/** soclose_locked with its linger sleep, for sock_close and the last sock_release. */
function closeNow(so: socket_t): void | Promise<void> {
  so.closing = true;
  so.rcb = so.wcb = null;
  so.ecb = null;
  const s = so.so;
  const lingerUs = solingerstart(s, so.now);
  const finish = (): number => {
    so.closeSleepers();
    soclose(s, so.now);
    so.markDead();
    return 0;
  };
  if (lingerUs <= 0 || (s.so_state & SS_ISCONNECTED) === 0) {
    finish();
    return;
  }
  // The close itself happens inside the stack when the sleep ends (not in a continuation), so the
  // socket is gone at that virtual instant whether or not anyone awaits the Promise.
  return so.sleep({
    mask: Ev.In | Ev.Out,
    timeo: () => lingerUs,
    restart: false,
    interruptible: () => true,
    step: () => ((s.so_state & SS_ISCONNECTED) !== 0 ? PENDING : finish()),
    end: finish,
  }).then(() => undefined);
}

/**
 * sock_retain(so): one more hold; the socket survives sock_close until the matching
 * sock_release. (XNU panics on misuse; here a NULL or closed socket is ignored.)
 */
export function sock_retain(so: socket_t | null): void {
  if (!isLive(so)) return;
  so.retaincnt++;
}

/**
 * sock_release(so): drops a hold; with the last one, a socket sock_close already released is
 * closed now (a Promise<void> while it lingers). Releasing more than was retained is ignored
 * (XNU panics).
 */
export function sock_release(so: socket_t | null): void | Promise<void> {
  if (!isLive(so) || so.retaincnt === 0) return;
  so.retaincnt--;
  if (so.closing) return;
  if (so.retaincnt === 0 && so.fdClosed) return closeNow(so);
}

/**
 * sock_getsockname(so, sockname, socknamelen) (§3.12): EINVAL for NULL or socknamelen < 0 (or,
 * port-specific, longer than the array). MIN(socknamelen, sa_len) bytes are copied, no length out;
 * an unbound INET socket yields 0.0.0.0:0.
 */
export function sock_getsockname(so: socket_t | null, sockname: Uint8Array | null, socknamelen: number): errno_t {
  if (!isLive(so) || sockname === null || sockname === undefined || socknamelen < 0 || socknamelen > sockname.length) return EINVAL;
  const nam: Box<Uint8Array | null> = { value: null };
  const e = sogetsockname(so.so, nam);
  if (e === 0) copyAddr(nam.value, sockname, socknamelen);
  return e;
}

/**
 * sock_getpeername(so, peername, peernamelen) (§3.12): as sock_getsockname, and ENOTCONN unless
 * connected (SS_ISCONNECTED or SS_ISCONFIRMING).
 */
export function sock_getpeername(so: socket_t | null, peername: Uint8Array | null, peernamelen: number): errno_t {
  if (!isLive(so) || peername === null || peername === undefined || peernamelen < 0 || peernamelen > peername.length) return EINVAL;
  const nam: Box<Uint8Array | null> = { value: null };
  const e = sogetpeername(so.so, nam);
  if (e === 0) copyAddr(nam.value, peername, peernamelen);
  return e;
}

/**
 * sock_getaddr(so, &sa, peer): the local (peer 0) or peer (peer != 0) address as a new sockaddr
 * of exactly sa_len bytes; EINVAL for NULL arguments, ENOTCONN for the peer of an unconnected
 * socket. Pair with sock_freeaddr.
 */
export function sock_getaddr(so: socket_t | null, psa: Box<Uint8Array | null> | null, peer: number): errno_t {
  if (!isLive(so) || psa === null || psa === undefined) return EINVAL;
  psa.value = null;
  const nam: Box<Uint8Array | null> = { value: null };
  const e = peer !== 0 ? sogetpeername(so.so, nam) : sogetsockname(so.so, nam);
  if (e === 0 && nam.value !== null) psa.value = nam.value.slice(0, nam.value[0] ?? nam.value.length);
  return e;
}

/** sock_freeaddr(sa): releases what sock_getaddr returned (nothing to do here; the GC owns it). */
export function sock_freeaddr(_sa: Uint8Array | null): void {}

/**
 * sock_gettype(so, &domain, &type, &protocol): any out-parameter may be null. Documented: "the same
 * information that was used to create the socket" (protocol 0 stays 0); behaviour 'xnu' returns the
 * protocol entry's (IPPROTO_TCP for a socket created with protocol 0), as SOCK_PROTO does. XNU does
 * not check the socket (a NULL crashes); here it is EINVAL.
 */
export function sock_gettype(
  so: socket_t | null, domain: Box<number> | null, type: Box<number> | null, protocol: Box<number> | null,
): errno_t {
  if (!isLive(so)) return EINVAL;
  const s = so.so;
  const documented = so.kernel.documented;
  if (domain) domain.value = documented ? so.createdDomain : s.so_domain;
  if (type) type.value = documented ? so.createdType : s.so_type;
  if (protocol) protocol.value = documented ? so.createdProtocol : s.so_proto.pr_protocol;
  return 0;
}

/** sock_isconnected(so): 1 iff SS_ISCONNECTED (0 while connecting). 0 for a NULL socket (XNU crashes). */
export function sock_isconnected(so: socket_t | null): number {
  return isLive(so) && (so.so.so_state & SS_ISCONNECTED) !== 0 ? 1 : 0;
}

/** sock_isnonblocking(so): 1 iff FIONBIO set SS_NBIO (a per-call MSG_DONTWAIT does not count). */
export function sock_isnonblocking(so: socket_t | null): number {
  return isLive(so) && (so.so.so_state & SS_NBIO) !== 0 ? 1 : 0;
}

/**
 * sock_setpriv(so, on): sets or clears SS_PRIV. Always 0 for a socket. (The stack has no
 * privileged operation that checks it: a single-user port, like macOS's wildcard low-port binds.)
 */
export function sock_setpriv(so: socket_t | null, on: number): errno_t {
  if (!isLive(so)) return EINVAL;
  if (on !== 0) so.so.so_state |= SS_PRIV;
  else so.so.so_state &= ~SS_PRIV;
  return 0;
}

/**
 * sock_nointerrupt(so, on): sets or clears SB_NOINTR on both buffers, so that sends and receives
 * sleep uninterruptibly (PSOCK without PCATCH). connect, accept and the linger wait stay
 * interruptible, as in XNU.
 */
export function sock_nointerrupt(so: socket_t | null, on: number): errno_t {
  if (!isLive(so)) return EINVAL;
  const s = so.so;
  if (on !== 0) {
    s.so_rcv.sb_flags |= SB_NOINTR;
    s.so_snd.sb_flags |= SB_NOINTR;
  } else {
    s.so_rcv.sb_flags &= ~SB_NOINTR;
    s.so_snd.sb_flags &= ~SB_NOINTR;
  }
  return 0;
}

/**
 * Port-specific (no kpi_socket.h counterpart): what a signal does to a thread sleeping in a sock_*
 * call. Every interruptible sleep on `so` ends: connect/accept with EINTR (the connect carries on),
 * sends/receives with EINTR, or with 0 and the partial count when bytes already moved (§3.6), the
 * linger wait early. Sends/receives on a buffer with SB_NOINTR (sock_nointerrupt) keep sleeping.
 * XNU reports EINTR, or ERESTART (-1) to in-kernel callers when the signal asks for a restart; a
 * userland port has no signals, so this hook always means EINTR. Returns the number of sleeps ended.
 */
export function sock_interrupt(so: socket_t | null): number {
  if (!isLive(so)) return 0;
  return so.interruptSleepers();
}
