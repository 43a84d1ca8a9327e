// Chain operations that copy bytes or references, with BSD semantics (FreeBSD/XNU uipc_mbuf.c):
// m_copydata, m_copyback, m_copym, m_dup, plus byte-array helpers. m_copym shares clusters by
// reference (the copy and the original both become read-only); m_dup never shares. m_copyback
// copies a shared cluster before writing it (XNU's COW mode), so no other reference sees the write.

import type { Mbuf } from './mbuf.js';
import type { MbufPool } from './pool.js';
import { mFreem } from './pool.js';
import { M64KCLBYTES, MHLEN } from './constants.js';
import { hasBytes, isCount, mLength } from './chain-length.js';
import { makeWritable, newDataMbuf } from './chain-storage.js';

/**
 * m_copydata: copies `len` bytes at chain offset `off` into `out` at `outOff`. False, as XNU's
 * mbuf_copydata gives EINVAL, when the chain is too short (out may be partly written then), when
 * `out` is too small or an argument is not a count. `len` 0 succeeds for any `off` up to the end.
 */
export function mCopydata(m: Mbuf | null, off: number, len: number, out: Uint8Array, outOff: number): boolean {
  if (!isCount(off) || !isCount(len) || !isCount(outOff) || outOff + len > out.length) return false;
  while (off > 0) {
    if (m === null) return false;
    if (off < m.len) break;
    off -= m.len;
    m = m.next;
  }
  while (len > 0) {
    if (m === null) return false;
    const n = m.len - off < len ? m.len - off : len;
    out.set(m.buf.subarray(m.data + off, m.data + off + n), outOff);
    outOff += n;
    len -= n;
    off = 0;
    m = m.next;
  }
  return true;
}

/**
 * m_copyback: writes `len` bytes of `src` (from `srcOff`) at chain offset `off`. Past the end the
 * chain grows: first into the last mbuf's trailing room, then with new mbufs (clusters above
 * MINCLSIZE), and any gap between the old end and `off` is zero-filled. A shared cluster in the
 * written range is copied first. Raises the head's pkthdr len when the chain grew past it. False
 * on bad arguments (nothing written) or when memory ran out (a partial write, as XNU's ENOBUFS).
 * `len` 0 writes nothing and succeeds.
 */
export function mCopyback(m0: Mbuf, off: number, len: number, src: Uint8Array, srcOff: number): boolean {
  if (!isCount(off) || !isCount(len) || !isCount(srcOff) || srcOff + len > src.length) return false;
  if (len === 0) return true;
  let m: Mbuf = m0;
  let ok = true;
  let grew = false;
  // Walk to the mbuf that holds offset `off` (off <= m.len), zero-filling past the end.
  while (off > m.len) {
    let next = m.next;
    if (next === null) {
      const room = m.trailingSpace; // 0 for a shared cluster: never written
      if (room > 0) {
        const gap = off - m.len;
        const g = gap < room ? gap : room;
        m.buf.fill(0, m.data + m.len, m.data + m.len + g);
        m.len += g;
        grew = true;
        continue;
      }
      next = newDataMbuf(m.pool, m.type, off - m.len + len);
      if (next === null) {
        ok = false;
        break;
      }
      m.next = next; // empty: the next turn zero-fills its room
    }
    off -= m.len;
    m = next;
  }
  while (ok) {
    if (off < m.len && !makeWritable(m)) {
      ok = false;
      break;
    }
    if (m.next === null && off + len > m.len) {
      // Grow the last mbuf into its room; the bytes gained are written just below.
      const want = off + len - m.len;
      const room = m.trailingSpace;
      const g = want < room ? want : room;
      if (g > 0) {
        m.len += g;
        grew = true;
      }
    }
    const n = m.len - off < len ? m.len - off : len;
    if (n > 0) {
      m.buf.set(src.subarray(srcOff, srcOff + n), m.data + off);
      srcOff += n;
      len -= n;
    }
    if (len === 0) break;
    off = 0; // the write continues at the start of the next mbuf
    let next = m.next;
    if (next === null) {
      next = newDataMbuf(m.pool, m.type, len);
      if (next === null) {
        ok = false;
        break;
      }
      m.next = next;
    }
    m = next;
  }
  if (grew && m0.hasPkthdr) {
    const total = mLength(m0);
    if (total > m0.pktLen) m0.pktLen = total;
  }
  return ok;
}

/**
 * Appends `len` bytes of `src` from `srcOff` (default: all of it) at the end of the chain, using the
 * last mbuf's trailing room first (sbappend-style). Same results as mCopyback at mLength(m).
 */
export function mAppendBytes(m: Mbuf, src: Uint8Array, srcOff = 0, len = src.length - srcOff): boolean {
  return mCopyback(m, mLength(m), len, src, srcOff);
}

/**
 * m_copym: a new chain referencing `len` bytes (null: M_COPYALL, to the end) at chain offset `off`.
 * Clusters are shared by reference, so both chains are read-only there; inline bytes are copied.
 * When `off` is 0 and `m` has a pkthdr, the copy gets the header with pkthdr len = bytes copied.
 * An empty range gives one empty mbuf. Null when the range runs past the chain, an argument is not
 * a count, or the pool is empty (nothing is leaked then).
 */
export function mCopym(m: Mbuf, off: number, len: number | null): Mbuf | null {
  if (!isCount(off) || (len !== null && !isCount(len))) return null;
  const pool = m.pool;
  const copyHdr = off === 0 && m.hasPkthdr;
  let cur: Mbuf | null = m;
  while (off > 0) {
    if (cur === null) return null;
    if (off < cur.len) break;
    off -= cur.len;
    cur = cur.next;
  }
  if (len !== null && !hasBytes(cur, off + len)) return null;
  let remaining = len === null ? Number.MAX_SAFE_INTEGER : len;
  let top: Mbuf | null = null;
  let tail: Mbuf | null = null;
  let copied = 0;
  for (; cur !== null && remaining > 0; cur = cur.next, off = 0) {
    const take = cur.len - off < remaining ? cur.len - off : remaining;
    if (take === 0) continue; // empty source mbufs are not reproduced
    const first: boolean = top === null && copyHdr;
    // A pkthdr copy of inline bytes beyond MHLEN (a head made by mFixupPktLen) keeps MLEN room.
    const n: Mbuf | null = first && (cur.ext !== null || take <= MHLEN) ? pool.getHdr(cur.type) : pool.get(cur.type);
    if (n === null) {
      mFreem(top);
      return null;
    }
    if (first) n.copyPkthdrFrom(m);
    if (cur.ext !== null) {
      pool.attachExternal(n, cur.ext); // mb_dupcl
      n.data = cur.data + off;
    } else {
      n.buf.set(cur.buf.subarray(cur.data + off, cur.data + off + take), n.data);
    }
    n.len = take;
    if (tail === null) top = n;
    else tail.next = n;
    tail = n;
    remaining -= take;
    copied += take;
  }
  if (top === null) {
    top = copyHdr ? pool.getHdr(m.type) : pool.get(m.type);
    if (top === null) return null;
    if (copyHdr) top.copyPkthdrFrom(m);
  }
  if (copyHdr) top.pktLen = copied;
  return top;
}

/**
 * m_dup: a deep copy into fresh storage (nothing shared, so the copy is writable). The head gets a
 * copy of the pkthdr; data is packed into one cluster when it fits in 64 KB. Null when out of memory.
 */
export function mDup(m: Mbuf): Mbuf | null {
  const pool = m.pool;
  const hdr = m.hasPkthdr;
  let left = mLength(m);
  const top = hdr ? pool.getHdr(m.type) : pool.get(m.type);
  if (top === null) return null;
  if (hdr) top.copyPkthdrFrom(m);
  // No cluster (over budget) is fine: the loop below chains more mbufs.
  if (left > top.end - top.start) pool.attachCluster(top, left < M64KCLBYTES ? left : M64KCLBYTES);
  let dst = top;
  let src: Mbuf | null = m;
  let soff = 0;
  while (left > 0 && src !== null) {
    if (soff === src.len) {
      src = src.next;
      soff = 0;
      continue;
    }
    const room = dst.end - dst.data - dst.len;
    if (room === 0) {
      const n = newDataMbuf(pool, m.type, left);
      if (n === null) {
        mFreem(top);
        return null;
      }
      dst.next = n;
      dst = n;
      continue;
    }
    const avail = src.len - soff;
    let take = avail < room ? avail : room;
    if (take > left) take = left;
    dst.buf.set(src.buf.subarray(src.data + soff, src.data + soff + take), dst.data + dst.len);
    dst.len += take;
    soff += take;
    left -= take;
  }
  return top;
}

/**
 * A packet-header chain holding a copy of `bytes`, with `leading` bytes of room in front for
 * headers. One cluster when it fits (up to 64 KB), else a chain. Null when the pool is exhausted
 * or `leading` is not a count.
 */
export function mFromBytes(pool: MbufPool, bytes: Uint8Array, leading = 0): Mbuf | null {
  if (!isCount(leading)) return null;
  const want = leading + bytes.length;
  const m = pool.getPacket(want < M64KCLBYTES ? want : M64KCLBYTES);
  if (m === null) return null;
  const room = m.end - m.start;
  m.data = m.start + (leading < room ? leading : room);
  if (!mAppendBytes(m, bytes)) {
    mFreem(m);
    return null;
  }
  return m;
}

/** The chain's bytes as one new array (tests, pcap, cold paths). */
export function mToBytes(m: Mbuf | null): Uint8Array {
  const out = new Uint8Array(mLength(m));
  mCopydata(m, 0, out.length, out, 0);
  return out;
}
