// kpi_mbuf.h chain operations (bsd/kern/kpi_mbuf.c over uipc_mbuf.c): a thin facade over the
// stack's chain functions (stack/mbuf/chain-*.ts) that maps their null/false results to XNU's
// errnos and fills the out-parameter boxes as XNU does (xnu-sockets.md §9).
//
// Allocation: XNU has one global allocator. Here an operation on an existing chain allocates from
// the pool its mbufs came from (Mbuf.pool), so these are free functions; only allocating from
// nothing needs a pool (MbufKpi in mbuf-alloc.ts). `how` is accepted for signature fidelity: the
// pool never sleeps, so MBUF_WAITOK and MBUF_DONTWAIT fail alike when it is exhausted.
//
// Consuming on failure: mbuf_pullup and mbuf_prepend free the chain and null the box (XNU);
// mbuf_pulldown frees it too (m_pulldown does, and so does XNU's mbuf_pulldown).

import type { Box } from '../stack/index.js';
import {
  EINVAL, ENOBUFS, ENOMEM, mAdj, mCat, mCopyback, mCopydata, mCopym, mDup, mFreem, mFreemList, mPrepend,
  mPulldown, mPullup, mSplit,
} from '../stack/index.js';
import type { mbuf_how_t, mbuf_t } from './mbuf-constants.js';
import { MBUF_COPYALL } from './mbuf-constants.js';
import { INT32_MAX, isCount } from './mbuf-args.js';
import type { errno_t } from './mbuf-args.js';

// ---- freeing ----

/** mbuf_free: frees one mbuf and returns its m_next (the rest of the chain is not freed). */
export function mbuf_free(m: mbuf_t): mbuf_t | null {
  return m.pool.free(m);
}

/** mbuf_freem: frees the whole m_next chain (not the m_nextpkt list). */
export function mbuf_freem(m: mbuf_t | null): void {
  mFreem(m);
}

/** mbuf_freem_list: frees every packet linked by m_nextpkt; returns how many packets were freed. */
export function mbuf_freem_list(m: mbuf_t | null): number {
  return mFreemList(m);
}

// ---- copying ----

/**
 * mbuf_copydata(m, off, len, out_data): copies `len` bytes at chain offset `off` into out_data.
 * EINVAL when `off` or `len` is INT_MAX or more (or not a count), when the chain is too short
 * (out_data may be partly written), or when out_data is shorter than `len`. `len` 0 or a null
 * out_data: success with no copy (§9).
 */
export function mbuf_copydata(m: mbuf_t, off: number, len: number, out_data: Uint8Array | null): errno_t {
  if (!isCount(off) || !isCount(len) || off >= INT32_MAX || len >= INT32_MAX) return EINVAL;
  if (len === 0 || out_data === null) return 0;
  if (out_data.length < len) return EINVAL;
  return mCopydata(m, off, len, out_data, 0) ? 0 : EINVAL;
}

/**
 * mbuf_copyback(m, off, len, data, how): writes `len` bytes of `data` at chain offset `off`,
 * extending the chain past its end (trailing space first, then new mbufs, clusters above
 * MINCLSIZE; a gap is zero-filled) and raising pkthdr.len when the chain grew. A shared cluster
 * in the range is copied before the write. EINVAL for a null chain or data, `len` 0, or data
 * shorter than `len`; ENOBUFS when memory ran out (the write may be partial, as in XNU).
 */
export function mbuf_copyback(m: mbuf_t | null, off: number, len: number, data: Uint8Array | null, _how: mbuf_how_t): errno_t {
  if (m === null || data === null || !isCount(len) || len === 0 || !isCount(off) || data.length < len) return EINVAL;
  return mCopyback(m, off, len, data, 0) ? 0 : ENOBUFS;
}

/**
 * mbuf_copym(src, offset, len, how, new_mbuf): a new chain for `len` bytes (MBUF_COPYALL: to the
 * end) at `offset`; clusters are shared by reference (both chains become read-only there). With
 * offset 0 the copy gets src's packet header. ENOMEM (box null) when out of memory or the range
 * runs past the chain (where XNU would panic).
 */
export function mbuf_copym(src: mbuf_t, offset: number, len: number, _how: mbuf_how_t, new_mbuf: Box<mbuf_t | null>): errno_t {
  new_mbuf.value = isCount(offset) && isCount(len) ? mCopym(src, offset, len === MBUF_COPYALL ? null : len) : null;
  return new_mbuf.value === null ? ENOMEM : 0;
}

/** mbuf_dup(src, how, new_mbuf): a deep copy (nothing shared); ENOMEM with the box null. */
export function mbuf_dup(src: mbuf_t, _how: mbuf_how_t, new_mbuf: Box<mbuf_t | null>): errno_t {
  new_mbuf.value = mDup(src);
  return new_mbuf.value === null ? ENOMEM : 0;
}

// ---- shape ----

/**
 * mbuf_split(src, offset, how, new_mbuf): src keeps `offset` bytes, *new_mbuf the rest (with a
 * copy of the packet header and its share of pkthdr.len). ENOMEM, box null and src untouched when
 * `offset` is past the chain or memory runs out. As XNU's m_split, a chain without a packet
 * header cut exactly at its end has no rest to return: ENOMEM.
 */
export function mbuf_split(src: mbuf_t, offset: number, _how: mbuf_how_t, new_mbuf: Box<mbuf_t | null>): errno_t {
  new_mbuf.value = null;
  if (!isCount(offset)) return ENOMEM;
  if (!src.hasPkthdr && cutsAtLastMbufEnd(src, offset)) return ENOMEM;
  new_mbuf.value = mSplit(src, offset);
  return new_mbuf.value === null ? ENOMEM : 0;
}

/** True when m_split's walk stops at the end of the last mbuf (remain 0 and nothing after it). */
function cutsAtLastMbufEnd(m: mbuf_t, off: number): boolean {
  let cur: mbuf_t = m;
  while (off > cur.len) {
    if (cur.next === null) return false; // past the end: mSplit refuses anyway
    off -= cur.len;
    cur = cur.next;
  }
  return off === cur.len && cur.next === null;
}

/**
 * mbuf_pullup(mbuf, len): makes the first `len` bytes contiguous in the first mbuf; *mbuf may
 * change. When `len` exceeds MHLEN/MLEN and a new head is needed, or the chain is shorter than
 * `len`: the chain is freed, *mbuf = null, ENOMEM.
 */
export function mbuf_pullup(mbuf: Box<mbuf_t | null>, len: number): errno_t {
  const m = mbuf.value;
  mbuf.value = m === null ? null : mPullup(m, len);
  return mbuf.value === null ? ENOMEM : 0;
}

/**
 * mbuf_pulldown(src, offset, len, location): makes `len` bytes at chain offset *offset contiguous
 * in one mbuf, returned in *location, with *offset set to the offset inside it. ENOMEM with
 * *location null and the chain freed (m_pulldown frees on failure) when the range is not in the
 * chain, `len` exceeds MCLBYTES, or memory runs out; *offset is left as it was then.
 */
export function mbuf_pulldown(src: mbuf_t, offset: Box<number>, len: number, location: Box<mbuf_t | null>): errno_t {
  const out = { value: 0 };
  location.value = mPulldown(src, offset.value, len, out);
  if (location.value === null) return ENOMEM;
  offset.value = out.value;
  return 0;
}

/**
 * mbuf_prepend(orig, len, how): makes room for `len` bytes in front of the data (leading space of
 * a writable head, else a new head mbuf taking over the packet header); pkthdr.len += len. `len`
 * above MHLEN (MLEN without a header) or no memory: the chain is freed, *orig = null, ENOMEM.
 */
export function mbuf_prepend(orig: Box<mbuf_t | null>, len: number, _how: mbuf_how_t): errno_t {
  const m = orig.value;
  orig.value = m === null ? null : mPrepend(m, len);
  return orig.value === null ? ENOMEM : 0;
}

/**
 * mbuf_adj(m, len): trims `len` bytes from the head (len > 0) or -len bytes from the tail
 * (len < 0), at most the whole chain; updates pkthdr.len. No error.
 */
export function mbuf_adj(m: mbuf_t, len: number): void {
  mAdj(m, len);
}

/**
 * mbuf_concatenate(dst, src): appends src to dst's chain (small inline mbufs may be copied into
 * dst's trailing space and freed, m_cat) and returns dst; null dst returns null. dst's pkthdr.len
 * is NOT updated (XNU); src's packet header is dropped.
 */
export function mbuf_concatenate(dst: mbuf_t | null, src: mbuf_t | null): mbuf_t | null {
  if (dst === null) return null;
  mCat(dst, src);
  return dst;
}
