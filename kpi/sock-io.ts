// The data path of the socket KPI (bsd/kern/kpi_socket.c sock_send_internal/sock_receive_internal;
// xnu-sockets.md §3.6, §3.7, §5): sock_send, sock_sendmbuf, sock_receive, sock_receivembuf over
// sosend/soreceive/soreceivembuf, which never sleep. Each call is an operation object whose
// attempt() runs the so* call until it finishes or would sleep; a blocking call then sleeps on its
// socket (sock-core.ts) and the operation resumes on every wakeup of its buffer.
//
// Which knob makes which call nonblocking (§5.3):
//   receive  FIONBIO, MSG_DONTWAIT (or MSG_NBIO)  → EWOULDBLOCK; SO_RCVTIMEO bounds each sleep
//   send     FIONBIO (or MSG_NBIO) only            → EWOULDBLOCK; SO_SNDTIMEO bounds each sleep
//            MSG_DONTWAIT does NOT make a send nonblocking (sosendcheck; §5.1 item 5, §11.4)

import type { Mbuf } from '../stack/index.js';
import {
  mFreem, mLength, MLEN, MT_CONTROL, Ev, sosend, sosendIsNonblocking, SoRecvMsg, soreceive,
  soreceiveIsNonblocking, soreceivembuf, soreceiveWantsMore, SB_NOINTR, SS_CANTRCVMORE, EBADF, EINTR, EINVAL,
  ENOMEM, EWOULDBLOCK,
} from '../stack/index.js';
import type { Box, KpiResult, KpiSocket, msghdr, socket_t } from './sock-core.js';
import { PENDING, isLive } from './sock-core.js';

/** sizeof(struct cmsghdr): the shortest msg_control sock_send accepts. */
const CMSGHDR_LEN = 12;

/** The iovecs of a msghdr honouring msg_iovlen; null when msg_iovlen is out of range. */
function iovOf(msg: msghdr): Uint8Array[] | null {
  const iov = msg.msg_iov;
  if (iov === null || iov === undefined) return null;
  const n = msg.msg_iovlen ?? iov.length;
  if (!Number.isInteger(n) || n < 0 || n > iov.length) return null;
  return n === iov.length ? iov : iov.slice(0, n);
}

/** Whether the msghdr of an mbuf call carries iovecs (msg_iov must be NULL and msg_iovlen 0). */
function hasIov(msg: msghdr | null): boolean {
  if (msg === null || msg === undefined) return false;
  return (msg.msg_iov !== null && msg.msg_iov !== undefined && msg.msg_iov.length > 0) ||
    (msg.msg_iovlen !== undefined && msg.msg_iovlen !== 0);
}

/** The iovecs after their first `skip` bytes (for the rest of a send or receive). */
function iovSkip(iov: readonly Uint8Array[], skip: number): Uint8Array[] {
  if (skip === 0) return iov as Uint8Array[];
  const out: Uint8Array[] = [];
  for (const v of iov) {
    if (skip >= v.length) { skip -= v.length; continue; }
    out.push(skip > 0 ? v.subarray(skip) : v);
    skip = 0;
  }
  return out;
}

/**
 * msg_control as one MT_CONTROL mbuf (sock_send_internal): EINVAL when shorter than a cmsghdr or
 * longer than MLEN (or, port-specific, than the array); ENOMEM when no mbuf is left.
 */
function controlMbuf(ks: KpiSocket, msg: msghdr | null, out: Box<Mbuf | null>): number {
  out.value = null;
  if (msg === null || msg === undefined || msg.msg_control === null || msg.msg_control === undefined) return 0;
  const len = msg.msg_controllen;
  if (len < CMSGHDR_LEN || len > MLEN || len > msg.msg_control.length) return EINVAL;
  const m = ks.so.ctx.pool.get(MT_CONTROL);
  if (m === null) return ENOMEM;
  m.buf.set(msg.msg_control.subarray(0, len), m.data);
  m.len = len;
  out.value = m;
  return 0;
}

/** One sock_send/sock_sendmbuf call. */
class SendOp {
  private total = 0;
  private readonly sent: Box<number> = { value: 0 };

  constructor(
    private readonly ks: KpiSocket,
    private readonly addr: Uint8Array | null,
    private readonly iov: Uint8Array[] | null,
    private data: Mbuf | null,
    private control: Mbuf | null,
    private readonly flags: number,
    private readonly resid: number,
    private readonly sentlen: Box<number> | null,
  ) {}

  /** Runs sosend passes until done or the buffer is full: the final errno, or PENDING. */
  attempt(): number {
    const s = this.ks.so;
    for (;;) {
      const iov = this.iov === null ? null : iovSkip(this.iov, this.total);
      const e = sosend(s, this.addr, iov, this.data, this.control, this.flags, this.ks.now, this.sent);
      if (e === EWOULDBLOCK) return sosendIsNonblocking(s, this.flags) ? this.done(EWOULDBLOCK) : PENDING;
      this.data = null; // sosend consumed the chain and the control on every other path
      this.control = null;
      if (e !== 0) return this.done(e);
      this.total += this.sent.value;
      if (this.iov === null || this.total >= this.resid) return this.done(0);
      if (this.sent.value === 0) return sosendIsNonblocking(s, this.flags) ? this.done(EWOULDBLOCK) : PENDING;
    }
  }

  /**
   * The call's result (§3.6): bytes consumed from the iovecs before EWOULDBLOCK or EINTR make it a
   * success with the partial count; *sentlen is set only on success. What is still ours is freed.
   */
  done(e: number): number {
    if ((e === EWOULDBLOCK || e === EINTR) && this.iov !== null && this.total > 0) e = 0;
    mFreem(this.data);
    mFreem(this.control);
    this.data = this.control = null;
    if (this.sentlen) this.sentlen.value = e === 0 ? (this.iov === null ? this.resid : this.total) : 0;
    return e;
  }

  run(): KpiResult {
    const e = this.attempt();
    if (e !== PENDING) return e;
    const snd = this.ks.so.so_snd;
    return this.ks.sleep({
      mask: Ev.Out,
      timeo: () => snd.sb_timeo,
      restart: true,
      interruptible: () => (snd.sb_flags & SB_NOINTR) === 0,
      step: () => (isLive(this.ks) ? this.attempt() : this.done(EBADF)),
      end: (why) => this.done(why === 'timeout' ? EWOULDBLOCK : why === 'interrupt' ? EINTR : EBADF),
    });
  }
}

/**
 * sock_send(so, msg, flags, &sentlen) (§3.6, §5.1): EINVAL without msg or iovecs; msg_name is the
 * destination (UDP), msg_control one control mbuf (EINVAL shorter than a cmsghdr or longer than
 * MLEN). Errors of sosend: EPIPE (checked before so_error: EPIPE after a RST, ECONNRESET stays
 * pending), the pending so_error, ENOTCONN / EDESTADDRREQ, EISCONN (UDP with an address when
 * connected), EMSGSIZE, EOPNOTSUPP (MSG_OOB on UDP), EINVAL (MSG_EOR on a stream)... A full send
 * buffer: EWOULDBLOCK on a FIONBIO socket, else a Promise that settles when everything was queued,
 * or with SO_SNDTIMEO expiry / sock_interrupt (EWOULDBLOCK / EINTR, or 0 with the partial count).
 * MSG_DONTWAIT does not make it nonblocking.
 */
export function sock_send(so: socket_t | null, msg: msghdr | null, flags: number, sentlen: Box<number> | null): KpiResult {
  if (sentlen) sentlen.value = 0;
  if (msg === null || msg === undefined) return EINVAL;
  const iov = iovOf(msg);
  if (iov === null || iov.length < 1) return EINVAL;
  if (!isLive(so)) return EINVAL;
  const control: Box<Mbuf | null> = { value: null };
  const e = controlMbuf(so, msg, control);
  if (e !== 0) return e;
  let resid = 0;
  for (const v of iov) resid += v.length;
  return new SendOp(so, msg.msg_name ?? null, iov, null, control.value, flags, resid, sentlen).run();
}

/**
 * sock_sendmbuf(so, msg, data, flags, &sentlen) (§3.6): `data` is consumed on EVERY path (success,
 * EINVAL, protocol errors, timeouts); its length is the head's pkthdr length and the send is
 * atomic (EMSGSIZE above SO_SNDBUF). msg may be null, and must not carry iovecs (EINVAL).
 */
export function sock_sendmbuf(
  so: socket_t | null, msg: msghdr | null, data: Mbuf | null, flags: number, sentlen: Box<number> | null,
): KpiResult {
  if (sentlen) sentlen.value = 0;
  if (data === null || data === undefined || hasIov(msg) || !isLive(so)) {
    mFreem(data ?? null);
    return EINVAL;
  }
  const control: Box<Mbuf | null> = { value: null };
  const e = controlMbuf(so, msg, control);
  if (e !== 0) {
    mFreem(data);
    return e;
  }
  const resid = data.hasPkthdr ? data.pktLen : mLength(data);
  return new SendOp(so, msg?.msg_name ?? null, null, data, control.value, flags, resid, sentlen).run();
}

/** One sock_receive/sock_receivembuf call. */
class RecvOp {
  private total = 0;
  private outflags = 0;
  private first = true;
  private controlLen = 0;
  private head: Mbuf | null = null;
  private tail: Mbuf | null = null;
  private readonly m = new SoRecvMsg();
  private readonly name: Uint8Array | null;
  private readonly control: Uint8Array | null;

  constructor(
    private readonly ks: KpiSocket,
    private readonly msg: msghdr | null,
    /** Receive into these (sock_receive), or null: hand out mbufs (sock_receivembuf). */
    private readonly iov: Uint8Array[] | null,
    private readonly resid: number,
    private readonly flags: number,
    private readonly lenOut: Box<number> | null,
    private readonly dataOut: Box<Mbuf | null> | null,
  ) {
    const name = msg?.msg_name ?? null;
    const namelen = msg === null ? 0 : msg.msg_namelen;
    this.name = name !== null && namelen > 0 ? name.subarray(0, Math.min(namelen, name.length)) : null;
    const ctl = msg?.msg_control ?? null;
    this.control = ctl !== null ? ctl.subarray(0, Math.max(0, Math.min(msg!.msg_controllen, ctl.length))) : null;
  }

  attempt(): number {
    const s = this.ks.so;
    const m = this.m;
    for (;;) {
      // MSG_WAITALL after a partial read stops on an error or EOF with the short count (§5.2 item 8).
      if (this.total > 0 && (s.so_error !== 0 || (s.so_state & SS_CANTRCVMORE) !== 0)) return this.done(0);
      m.name = this.first ? this.name : null;
      m.control = this.first ? this.control : null;
      const want = this.resid - this.total;
      const e = this.iov !== null
        ? soreceive(s, iovSkip(this.iov, this.total), this.flags, m, this.ks.now)
        : soreceivembuf(s, want, this.flags, m, this.ks.now);
      if (e === EWOULDBLOCK) {
        if (!soreceiveIsNonblocking(s, this.flags)) return PENDING;
        return this.done(this.total > 0 ? 0 : EWOULDBLOCK);
      }
      if (e !== 0) return this.done(this.total > 0 ? 0 : e);
      if (this.first) {
        this.first = false;
        this.controlLen = m.controlLen;
      }
      this.outflags |= m.flags;
      this.total += m.len;
      if (m.data !== null) {
        if (this.tail === null) this.head = m.data; else this.tail.next = m.data;
        let t = m.data;
        while (t.next !== null) t = t.next;
        this.tail = t;
        m.data = null;
      }
      if (m.len === 0 || !soreceiveWantsMore(s, this.flags, m, want)) return this.done(0);
    }
  }

  /** Writes the out-parameters: the count, the chain, msg_flags, msg_controllen (on success). */
  done(e: number): number {
    if (e !== 0 && this.total > 0) e = 0;
    if (e !== 0) {
      mFreem(this.head);
      this.head = this.tail = null;
      return e;
    }
    if (this.lenOut) this.lenOut.value = this.total;
    if (this.head !== null && this.head.hasPkthdr) this.head.pktLen = this.total;
    if (this.dataOut) this.dataOut.value = this.head;
    else mFreem(this.head);
    this.head = this.tail = null;
    const msg = this.msg;
    if (msg !== null) {
      msg.msg_flags = this.outflags;
      if (msg.msg_control !== null && msg.msg_control !== undefined) msg.msg_controllen = this.controlLen;
    }
    return 0;
  }

  run(): KpiResult {
    const e = this.attempt();
    if (e !== PENDING) return e;
    const rcv = this.ks.so.so_rcv;
    return this.ks.sleep({
      mask: Ev.In,
      timeo: () => rcv.sb_timeo,
      restart: true,
      interruptible: () => (rcv.sb_flags & SB_NOINTR) === 0,
      step: () => (isLive(this.ks) ? this.attempt() : this.done(EBADF)),
      end: (why) => this.done(why === 'timeout' ? EWOULDBLOCK : why === 'interrupt' ? EINTR : EBADF),
    });
  }
}

/**
 * sock_receive(so, msg, flags, &recvdlen) (§3.7, §5.2): EINVAL without msg, iovecs, or with an
 * empty first iovec. A datagram's source goes to msg_name (MIN(msg_namelen, sa_len) bytes;
 * msg_namelen unchanged), control messages to msg_control (MSG_CTRUNC when cut; msg_controllen =
 * bytes copied), output flags to msg_flags. Nothing queued: the pending so_error (cleared unless
 * MSG_PEEK), 0 bytes at EOF, ENOTCONN when not connected, else EWOULDBLOCK (FIONBIO or
 * MSG_DONTWAIT) or a Promise; SO_RCVTIMEO expiry gives EWOULDBLOCK; MSG_WAITALL waits for the
 * whole request and ends early (0, short count) on an error, EOF, timeout or sock_interrupt.
 */
export function sock_receive(so: socket_t | null, msg: msghdr | null, flags: number, recvdlen: Box<number> | null): KpiResult {
  if (recvdlen) recvdlen.value = 0;
  if (msg === null || msg === undefined) return EINVAL;
  const iov = iovOf(msg);
  if (iov === null || iov.length < 1 || iov[0]!.length === 0) return EINVAL;
  if (!isLive(so)) return EINVAL;
  let resid = 0;
  for (const v of iov) resid += v.length;
  return new RecvOp(so, msg, iov, resid, flags, recvdlen, null).run();
}

/**
 * sock_receivembuf(so, msg, &data, flags, &recvlen) (§3.7): up to recvlen bytes as the socket
 * buffer's own mbufs (no copy: whole mbufs are moved, a partly consumed one is split sharing its
 * cluster); the caller owns and frees the chain. recvlen is in/out: the maximum (must be > 0),
 * then the bytes returned (0 until success); trust it rather than the head's pkthdr length.
 * EINVAL without data/recvlen, with *recvlen <= 0, or a msg carrying iovecs. MSG_PEEK, as in XNU,
 * returns no chain (data null) while recvlen counts the peeked bytes. Blocking as sock_receive.
 */
export function sock_receivembuf(
  so: socket_t | null, msg: msghdr | null, data: Box<Mbuf | null> | null, flags: number, recvlen: Box<number> | null,
): KpiResult {
  if (data === null || data === undefined || recvlen === null || recvlen === undefined) return EINVAL;
  const max = recvlen.value;
  recvlen.value = 0;
  data.value = null;
  if (!(max > 0) || hasIov(msg) || !isLive(so)) return EINVAL;
  return new RecvOp(so, msg ?? null, null, Math.min(max, 0x7fffffff), flags, recvlen, data).run();
}
