// soreceive (bsd/kern/uipc_socket.c), without sleeping: where XNU would wait (so_should_wait)
// this returns EWOULDBLOCK after the checks XNU makes before sleeping, and the caller (kpi/)
// decides per §5.3 (soreceiveIsNonblocking, SO_RCVTIMEO in so_rcv.sb_timeo) whether to return it
// or wait for a read event and call again. Two variants: soreceive copies into Uint8Array iovecs
// (sock_receive), soreceivembuf hands over the mbufs themselves (sock_receivembuf).
//
// udp input → sbappendaddr → [SONAME][CONTROL...][DATA...] → here → msg.name / msg.control / data

import type { Mbuf } from '../mbuf/mbuf.js';
import { mCopym } from '../mbuf/chain.js';
import { M_EOR, MT_CONTROL, MT_OOBDATA, MT_SONAME } from '../mbuf/constants.js';
import type { Instant } from '../time/instant.js';
import type { Box } from './protosw.js';
import { PR_ADDR, PR_ATOMIC, PR_CONNREQUIRED, PR_WANTRCVD } from './protosw.js';
import type { Socket } from './socket.js';
import type { SockBuf } from './sockbuf.js';
import { copyToIov } from './copy-bytes.js';
import {
  MSG_CTRUNC, MSG_DONTWAIT, MSG_EOR, MSG_HAVEMORE, MSG_NBIO, MSG_OOB, MSG_PEEK, MSG_RCVMORE,
  MSG_TRUNC, MSG_WAITALL, MSG_WAITSTREAM, SO_DONTTRUNC, SO_WANTMORE, SS_CANTRCVMORE,
  SS_ISCONNECTED, SS_ISCONNECTING, SS_NBIO, SS_RCVATMARK,
} from './constants.js';
import { EINVAL, ENOBUFS, ENOTCONN, EWOULDBLOCK } from './errno.js';

/** The msghdr of one receive: what the caller supplies and what comes back. Reusable. */
export class SoRecvMsg {
  /** In: where to copy the datagram's source address (MIN(length, sa_len) bytes); null: not wanted. */
  name: Uint8Array | null = null;
  /** Out: sa_len of the record's address (0 when none). msg_namelen is NOT updated by XNU; this is extra. */
  nameLen = 0;
  /** In: where to copy control messages back to back; null: discard them. */
  control: Uint8Array | null = null;
  /** Out: control bytes copied (msg_controllen). */
  controlLen = 0;
  /** Out: msg_flags: MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_RCVMORE, MSG_HAVEMORE. */
  flags = 0;
  /** Out: data bytes delivered (recvlen). */
  len = 0;
  /** Out, soreceivembuf only: the data mbufs (linked by m_next), now the caller's to free. */
  data: Mbuf | null = null;
}

/**
 * Whether a receive that would wait must instead return EWOULDBLOCK: SS_NBIO, MSG_DONTWAIT or
 * MSG_NBIO (receives honour MSG_DONTWAIT, unlike sends).
 */
export const soreceiveIsNonblocking = (so: Socket, flags: number): boolean =>
  (so.so_state & SS_NBIO) !== 0 || (flags & (MSG_DONTWAIT | MSG_NBIO)) !== 0;

/**
 * so_should_wait: an empty buffer; or, for a stream with one record and fewer bytes than asked
 * (without MSG_DONTWAIT), fewer than SO_RCVLOWAT or MSG_WAITALL with a request that fits hiwat.
 */
export function soshouldwait(so: Socket, resid: number, flags: number): boolean {
  const m = so.so_rcv.sb_mb;
  if (m === null) return true;
  const rcv = so.so_rcv;
  return (flags & MSG_DONTWAIT) === 0 && rcv.sb_cc < resid &&
    (rcv.sb_cc < rcv.sb_lowat || ((flags & MSG_WAITALL) !== 0 && resid <= rcv.sb_hiwat)) &&
    m.nextpkt === null && (so.so_proto.pr_flags & PR_ATOMIC) === 0;
}

/**
 * After a MSG_WAITALL/MSG_WAITSTREAM stream receive returned `msg.len` of `wanted` bytes: whether
 * a blocking caller should wait for more and receive the rest (§5.2 item 8: stop early on
 * so_error, CANTRCVMORE or MSG_EOR, returning the short count with error 0).
 */
export function soreceiveWantsMore(so: Socket, flags: number, msg: SoRecvMsg, wanted: number): boolean {
  return (flags & (MSG_WAITALL | MSG_WAITSTREAM)) !== 0 && (flags & MSG_PEEK) === 0 &&
    (so.so_proto.pr_flags & PR_ATOMIC) === 0 && msg.len < wanted && so.so_error === 0 &&
    (so.so_state & SS_CANTRCVMORE) === 0 && (msg.flags & MSG_EOR) === 0;
}

/**
 * soreceive into iovecs (sock_receive). Returns 0 with msg.len bytes (0 with no error is EOF on
 * a stream, or a zero-length datagram), or: EINVAL (negative resid), the pending so_error (cleared
 * unless MSG_PEEK) when nothing is queued, ENOTCONN (connection-oriented, not connected),
 * EWOULDBLOCK (it would wait), the protocol's error for MSG_OOB. One call never crosses a
 * datagram boundary; a datagram longer than the iovecs sets MSG_TRUNC and its rest is dropped,
 * or with SO_DONTTRUNC kept (MSG_RCVMORE).
 */
export function soreceive(so: Socket, iov: readonly Uint8Array[], flags: number, msg: SoRecvMsg, now: Instant): number {
  let resid = 0;
  for (const v of iov) resid += v.length;
  return soreceiveCore(so, resid, flags, msg, iov, false, now);
}

/**
 * soreceive handing over mbufs (sock_receivembuf): up to `maxLen` data bytes in msg.data. Whole
 * mbufs are moved out of the buffer; a partly consumed one is split (the delivered part shares
 * the cluster). With MSG_PEEK nothing is linked (msg.data stays null) while msg.len advances,
 * exactly as XNU's peek branch behaves. ENOBUFS when an mbuf could not be split and nothing was
 * delivered yet.
 */
export function soreceivembuf(so: Socket, maxLen: number, flags: number, msg: SoRecvMsg, now: Instant): number {
  return soreceiveCore(so, maxLen, flags, msg, null, true, now);
}

/** Restarts allowed after a pass that delivered nothing (XNU loops back to the wait decision). */
const MAX_RESTARTS = 64;

function soreceiveCore(
  so: Socket, resid: number, flags: number, msg: SoRecvMsg, iov: readonly Uint8Array[] | null,
  wantMbufs: boolean, now: Instant,
): number {
  msg.nameLen = 0;
  msg.controlLen = 0;
  msg.flags = 0;
  msg.len = 0;
  msg.data = null;
  if (resid < 0) return EINVAL;
  const pr = so.so_proto;
  if ((flags & MSG_OOB) !== 0) return soreceiveoob(so, iov, wantMbufs, flags, msg);
  const sb = so.so_rcv;
  const peek = (flags & MSG_PEEK) !== 0;
  const origResid = resid;
  let outflags = 0;
  let delivered = 0;
  let dataTail: Mbuf | null = null;

  for (let restarts = 0; ; restarts++) {
    let m = sb.sb_mb;
    if (soshouldwait(so, resid, flags)) {
      let deliver = false;
      if (so.so_error !== 0) {
        if (m === null) {
          const e = so.so_error;
          if (!peek) so.so_error = 0;
          return e;
        }
        deliver = true;
      } else if ((so.so_state & SS_CANTRCVMORE) !== 0) {
        if (m === null) return 0;
        deliver = true;
      } else {
        for (let n = m; n !== null; n = n.next) {
          if (n.type === MT_OOBDATA || (n.flags & M_EOR) !== 0) { deliver = true; break; }
        }
      }
      if (!deliver) {
        if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING)) === 0 && (pr.pr_flags & PR_CONNREQUIRED) !== 0) return ENOTCONN;
        if (resid === 0) return 0;
        return EWOULDBLOCK;
      }
    }
    m = m!;
    // dontblock:
    const nextrecord = m.nextpkt;

    if ((pr.pr_flags & PR_ADDR) !== 0 && m.type === MT_SONAME) {
      msg.nameLen = m.len;
      const name = msg.name;
      if (name !== null) {
        const n = Math.min(name.length, m.len);
        name.set(m.buf.subarray(m.data, m.data + n), 0);
      }
      if (peek) m = m.next;
      else {
        const a = sb.sbunlinkFirst();
        a.pool.free(a);
        m = recordFront(sb, nextrecord);
      }
    }
    while (m !== null && m.type === MT_CONTROL) {
      copyControl(msg, m);
      if (peek) m = m.next;
      else {
        const c = sb.sbunlinkFirst();
        c.pool.free(c);
        m = recordFront(sb, nextrecord);
      }
    }
    let type = 0;
    if (m !== null) {
      type = m.type;
      if (type === MT_OOBDATA) outflags |= MSG_OOB;
    }
    let moff = 0;
    let offset = 0;
    while (m !== null && resid > 0) {
      if (m.type === MT_OOBDATA) {
        if (type !== MT_OOBDATA) break;
      } else if (type === MT_OOBDATA) break;
      so.so_state &= ~SS_RCVATMARK;
      let len = resid;
      if (so.so_oobmark !== 0 && len > so.so_oobmark - offset) len = so.so_oobmark - offset;
      if (len > m.len - moff) len = m.len - moff;
      // Everything delivered so far went into the iovecs in order: `delivered` is the position.
      if (iov !== null && len > 0) copyToIov(iov, delivered, m.buf, m.data + moff, len);
      if (len === m.len - moff) {
        if ((m.flags & M_EOR) !== 0) outflags |= MSG_EOR;
        if (peek) {
          m = m.next;
          moff = 0;
        } else {
          const d = sb.sbunlinkFirst();
          if (wantMbufs) {
            if (dataTail === null) msg.data = d; else dataTail.next = d;
            dataTail = d;
          } else {
            d.pool.free(d);
          }
          m = recordFront(sb, nextrecord);
        }
      } else if (peek) {
        moff += len;
      } else {
        if (wantMbufs) {
          const part = mCopym(m, 0, len);
          if (part === null) {
            if (delivered === 0) return ENOBUFS;
            break;
          }
          if (dataTail === null) msg.data = part; else dataTail.next = part;
          dataTail = part;
          while (dataTail.next !== null) dataTail = dataTail.next;
        }
        sb.sbtrimFirst(len);
      }
      resid -= len;
      delivered += len;
      if (so.so_oobmark !== 0) {
        if (!peek) {
          so.so_oobmark -= len;
          if (so.so_oobmark === 0) {
            so.so_state |= SS_RCVATMARK;
            break;
          }
        } else {
          offset += len;
          if (offset === so.so_oobmark) break;
        }
      }
      if ((outflags & MSG_EOR) !== 0) break;
    }
    if (m !== null && (pr.pr_flags & PR_ATOMIC) !== 0) {
      if ((so.so_options & SO_DONTTRUNC) !== 0) outflags |= MSG_RCVMORE;
      else {
        outflags |= MSG_TRUNC;
        if (!peek) sb.sbdroprecord();
      }
    }
    if (!peek && (pr.pr_flags & PR_WANTRCVD) !== 0 && so.so_pcb !== null) pr.pr_usrreqs.pru_rcvd(so, flags, now);
    if ((so.so_options & SO_WANTMORE) !== 0 && sb.sb_cc > 0) outflags |= MSG_HAVEMORE;
    if (delivered === 0 && origResid > 0 && (outflags & MSG_EOR) === 0 &&
        (so.so_state & SS_CANTRCVMORE) === 0 && (pr.pr_flags & PR_ATOMIC) === 0 && restarts < MAX_RESTARTS) {
      continue;
    }
    break;
  }
  if (wantMbufs && msg.data !== null && msg.data.hasPkthdr) msg.data.pktLen = delivered;
  msg.flags |= outflags;
  msg.len = delivered;
  return 0;
}

/**
 * The mbuf now heading the record being read, after its front was consumed (not for peek): the
 * buffer's first mbuf while that is not already the next record.
 */
function recordFront(sb: SockBuf, nextrecord: Mbuf | null): Mbuf | null {
  return sb.sb_mb !== nextrecord ? sb.sb_mb : null;
}

/** Appends one control mbuf to msg.control, truncating with MSG_CTRUNC when it does not fit. */
function copyControl(msg: SoRecvMsg, m: Mbuf): void {
  const out = msg.control;
  if (out === null) return;
  const room = out.length - msg.controlLen;
  const n = Math.min(room, m.len);
  if (n > 0) out.set(m.buf.subarray(m.data, m.data + n), msg.controlLen);
  msg.controlLen += n;
  if (n < m.len) msg.flags |= MSG_CTRUNC;
}

/** MSG_OOB: the protocol's urgent byte (TCP); UDP answers EOPNOTSUPP. */
function soreceiveoob(so: Socket, iov: readonly Uint8Array[] | null, wantMbufs: boolean, flags: number, msg: SoRecvMsg): number {
  const box: Box<number> = { value: 0 };
  const e = so.so_proto.pr_usrreqs.pru_rcvoob(so, box, flags & MSG_PEEK);
  if (e !== 0) return e;
  if (iov !== null && iov.length > 0 && iov[0]!.length > 0) iov[0]![0] = box.value;
  if (wantMbufs) {
    const m = so.ctx.pool.getHdr(MT_OOBDATA);
    if (m === null) return ENOBUFS;
    m.buf[m.data] = box.value;
    m.len = 1;
    m.pktLen = 1;
    msg.data = m;
  }
  msg.len = 1;
  msg.flags |= MSG_OOB;
  return 0;
}
