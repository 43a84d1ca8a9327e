// sosend (bsd/kern/uipc_socket.c sosend/sosendcheck), without sleeping: where XNU would sleep for
// buffer space this returns EWOULDBLOCK and leaves the data with the caller, who decides per the
// §5.3 table (sosendIsNonblocking) whether to return it or wait for a write event and call again.
//
// kpi sock_send/sock_sendmbuf → sosend → pru_send (udp/udp-usrreq.ts → udp output → ip output)

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mLength } from '../mbuf/chain.js';
import { M16KCLBYTES, MT_DATA } from '../mbuf/constants.js';
import type { Instant } from '../time/instant.js';
import type { Box } from './protosw.js';
import { PR_ATOMIC, PR_CONNREQUIRED, PRUS_OOB } from './protosw.js';
import type { Socket } from './socket.js';
import { copyBytes } from './copy-bytes.js';
import {
  MSG_EOR, MSG_NBIO, MSG_OOB, SOCK_STREAM, SS_CANTSENDMORE, SS_ISCONFIRMING, SS_ISCONNECTED, SS_NBIO,
} from './constants.js';
import { EDESTADDRREQ, EINVAL, EMSGSIZE, ENOBUFS, ENOTCONN, EOPNOTSUPP, EPIPE, EWOULDBLOCK } from './errno.js';

/** Room left in front of a datagram's first mbuf for the transport and IP headers (max_hdr). */
export const SOSEND_LEADING = 64;
const INT_MAX = 0x7fffffff;

/** sosendallatonce: the protocol sends atomic records (datagrams). */
export const sosendallatonce = (so: Socket): boolean => (so.so_proto.pr_flags & PR_ATOMIC) !== 0;

/**
 * Whether a send that would wait must instead return EWOULDBLOCK: SS_NBIO or the kernel-only
 * MSG_NBIO. MSG_DONTWAIT does NOT make a send nonblocking (§5.1 item 5, surprise 4).
 */
export const sosendIsNonblocking = (so: Socket, flags: number): boolean =>
  (so.so_state & SS_NBIO) !== 0 || (flags & MSG_NBIO) !== 0;

/**
 * sosend: sends `uio` (copied into mbufs) or the chain `top` (sock_sendmbuf: atomic, length from
 * its pkthdr) with optional `control` to `addr` (or the connected peer). Order of checks (§5.1):
 * MSG_OOB on a non-stream socket EOPNOTSUPP; MSG_EOR on a stream EINVAL; CANTSENDMORE EPIPE
 * (before so_error); so_error returned and cleared; not connected: ENOTCONN (connection
 * required) or EDESTADDRREQ (no address); atomic and longer than snd.hiwat, or control longer
 * than snd.hiwat: EMSGSIZE; not enough space: EWOULDBLOCK. A stream send moves
 * min(resid, sbspace) bytes per call and returns 0 with `sent.value` short of the total.
 *
 * Ownership: on EWOULDBLOCK, `top` and `control` are untouched and still the caller's (to retry
 * after waiting); on every other result they were consumed. `sent.value` is the number of bytes
 * accepted (0 unless the result is 0).
 */
export function sosend(
  so: Socket, addr: Uint8Array | null, uio: readonly Uint8Array[] | null, top: Mbuf | null,
  control: Mbuf | null, flags: number, now: Instant, sent: Box<number>,
): number {
  sent.value = 0;
  const atomic = sosendallatonce(so) || top !== null;
  let resid = 0;
  if (top !== null) resid = top.hasPkthdr ? top.pktLen : mLength(top);
  else if (uio !== null) for (const v of uio) resid += v.length;
  const clen = control !== null ? mLength(control) : 0;

  let e = 0;
  if ((flags & MSG_OOB) !== 0 && so.so_type !== SOCK_STREAM) e = EOPNOTSUPP;
  else if (resid < 0 || resid > INT_MAX || (so.so_type === SOCK_STREAM && (flags & MSG_EOR) !== 0)) e = EINVAL;
  else e = sosendcheck(so, addr, resid, clen, atomic, flags);
  if (e !== 0) {
    if (e !== EWOULDBLOCK) {
      mFreem(top);
      mFreem(control);
    }
    return e;
  }

  const prflags = (flags & MSG_OOB) !== 0 ? PRUS_OOB : 0;
  if (atomic) {
    if (top === null) {
      top = socopyin(so, uio, 0, resid, SOSEND_LEADING);
      if (top === null) {
        mFreem(control);
        return ENOBUFS;
      }
    }
    e = so.so_proto.pr_usrreqs.pru_send(so, prflags, top, addr, control, now);
    if (e === 0) sent.value = resid;
    return e;
  }
  // Stream: one pass of min(resid, space) bytes (the caller loops for a blocking send).
  let len = so.so_snd.sbspace() + ((flags & MSG_OOB) !== 0 ? 1024 : 0);
  if (len > resid) len = resid;
  const m = socopyin(so, uio, 0, len, 0);
  if (m === null) {
    mFreem(control);
    return ENOBUFS;
  }
  e = so.so_proto.pr_usrreqs.pru_send(so, prflags, m, addr, control, now);
  if (e === 0) sent.value = len;
  return e;
}

/**
 * sosendcheck: the state and space checks of one sosend pass (§5.1 item 3). Returns EWOULDBLOCK
 * where a blocking send would sleep for space.
 */
export function sosendcheck(
  so: Socket, addr: Uint8Array | null, resid: number, clen: number, atomic: boolean, flags: number,
): number {
  if ((so.so_state & SS_CANTSENDMORE) !== 0) return EPIPE;
  if (so.so_error !== 0) {
    const e = so.so_error;
    so.so_error = 0;
    return e;
  }
  if ((so.so_state & SS_ISCONNECTED) === 0) {
    if ((so.so_proto.pr_flags & PR_CONNREQUIRED) !== 0) {
      if ((so.so_state & SS_ISCONFIRMING) === 0 && (resid !== 0 || clen === 0)) return ENOTCONN;
    } else if (addr === null) {
      return EDESTADDRREQ;
    }
  }
  const snd = so.so_snd;
  let space = snd.sbspace();
  if ((flags & MSG_OOB) !== 0) space += 1024;
  if ((atomic && resid > snd.sb_hiwat) || clen > snd.sb_hiwat) return EMSGSIZE;
  if (space < resid + clen && (atomic || space < snd.sb_lowat || space < clen)) return EWOULDBLOCK;
  return 0;
}

/**
 * Copies `len` bytes of the iovecs, starting `skip` bytes in, into a new packet-header chain
 * with `leading` bytes of room in front of the first mbuf (clusters of up to 16 KB). Null when
 * the pool is exhausted. A zero-length send yields one empty packet-header mbuf.
 */
export function socopyin(so: Socket, uio: readonly Uint8Array[] | null, skip: number, len: number, leading: number): Mbuf | null {
  const pool = so.ctx.pool;
  const first = Math.min(len + leading, M16KCLBYTES);
  const head = pool.getPacket(first, MT_DATA);
  if (head === null) return null;
  head.data = head.start + Math.min(leading, head.end - head.start);
  head.pktLen = len;
  let m = head;
  let vi = 0;
  let voff = skip;
  let left = len;
  // Skip whole iovecs before `skip`.
  while (uio !== null && vi < uio.length && voff >= uio[vi]!.length) {
    voff -= uio[vi]!.length;
    vi++;
  }
  while (left > 0 && uio !== null && vi < uio.length) {
    let room = m.end - (m.data + m.len);
    if (room === 0) {
      const n = pool.get(MT_DATA);
      if (n === null || !pool.attachCluster(n, Math.min(left, M16KCLBYTES))) {
        if (n !== null) pool.free(n);
        mFreem(head);
        return null;
      }
      m.next = n;
      m = n;
      room = m.end - m.data;
    }
    const v = uio[vi]!;
    let take = v.length - voff;
    if (take > left) take = left;
    if (take > room) take = room;
    copyBytes(m.buf, m.data + m.len, v, voff, take);
    m.len += take;
    left -= take;
    voff += take;
    if (voff >= v.length) {
      vi++;
      voff = 0;
    }
  }
  return head;
}
