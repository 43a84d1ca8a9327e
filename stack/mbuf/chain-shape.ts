// Chain operations that change a chain's shape, with BSD semantics (FreeBSD/XNU uipc_mbuf.c,
// uipc_mbuf2.c): m_adj, M_PREPEND, m_pullup, m_pulldown, m_split, m_cat, m_catpkt. They never
// write into a shared cluster: leadingSpace/trailingSpace report 0 for one (M_WRITABLE), and new
// bytes go to fresh mbufs instead. Functions that can fail return null; kpi/ maps that to errno.

import type { Mbuf } from './mbuf.js';
import { mFreem } from './pool.js';
import { M_PKTHDR, MCLBYTES, MHLEN, MLEN } from './constants.js';
import { hasBytes, isCount, mLast, mLength } from './chain-length.js';
import { mCopydata } from './chain-copy.js';

/**
 * m_adj: trims `req` bytes from the head (req > 0) or -req bytes from the tail (req < 0), at most
 * the whole chain. Emptied mbufs stay in the chain, as in BSD. Lowers the head's pkthdr len by the
 * bytes trimmed. A non-integer `req` does nothing.
 */
export function mAdj(mp: Mbuf, req: number): void {
  if (!Number.isSafeInteger(req) || req === 0) return;
  if (req > 0) {
    let left = req;
    for (let m: Mbuf | null = mp; m !== null && left > 0; m = m.next) {
      const cut = m.len < left ? m.len : left;
      m.len -= cut;
      m.data += cut;
      left -= cut;
    }
    if (mp.hasPkthdr) mp.pktLen -= req - left;
    return;
  }
  // Tail: BSD walks once for the length, then keeps `count` bytes and zeroes every later m_len.
  const total = mLength(mp);
  const count = -req >= total ? 0 : total + req;
  let keep = count;
  for (let m: Mbuf | null = mp; m !== null; m = m.next) {
    if (m.len >= keep) {
      m.len = keep;
      keep = 0;
    } else {
      keep -= m.len;
    }
  }
  if (mp.hasPkthdr) mp.pktLen -= total - count;
}

/**
 * M_PREPEND: makes room for `len` bytes in front of the data (their content is unspecified; the
 * caller writes the header). Uses the head's leading space when it is writable, else a new head
 * mbuf, aligned to its end so later prepends find room, which takes over the packet header.
 * Returns the new head, or null after freeing the chain when `len` exceeds MHLEN (MLEN without a
 * pkthdr), is not a count, or the pool is empty (XNU's mbuf_prepend frees on failure).
 */
export function mPrepend(m: Mbuf, len: number): Mbuf | null {
  if (!isCount(len)) {
    mFreem(m);
    return null;
  }
  if (m.leadingSpace >= len) {
    m.data -= len;
    m.len += len;
    if (m.hasPkthdr) m.pktLen += len;
    return m;
  }
  const hdr = m.hasPkthdr;
  const n = len > (hdr ? MHLEN : MLEN) ? null : hdr ? m.pool.getHdr(m.type) : m.pool.get(m.type);
  if (n === null) {
    mFreem(m);
    return null;
  }
  if (hdr) {
    n.copyPkthdrFrom(m); // m_move_pkthdr
    m.clearPkthdr();
    n.pktLen += len;
  }
  n.data = n.end - len; // M_ALIGN
  n.len = len;
  n.next = m;
  return n;
}

/**
 * m_pullup: makes the first `len` bytes contiguous in the head mbuf. Returns the (possibly new)
 * head, or null after freeing the chain when the chain is shorter than `len` or a new head is
 * needed and `len` exceeds MHLEN (MLEN without a pkthdr), as XNU's mbuf_pullup does.
 */
export function mPullup(m: Mbuf, len: number): Mbuf | null {
  if (!isCount(len)) {
    mFreem(m);
    return null;
  }
  if (m.len >= len) return m;
  if (!hasBytes(m, len)) {
    mFreem(m);
    return null;
  }
  let head: Mbuf;
  let cur: Mbuf | null;
  if (m.writable && m.end - m.start >= len) {
    // BSD pulls into the head when it has room after its data. We also slide the data down when
    // only that makes room, and accept an exclusively owned cluster: both avoid an allocation.
    if (m.end - m.data < len) {
      m.buf.copyWithin(m.start, m.data, m.data + m.len);
      m.data = m.start;
    }
    head = m;
    cur = m.next;
  } else {
    const hdr = m.hasPkthdr;
    const n = len > (hdr ? MHLEN : MLEN) ? null : hdr ? m.pool.getHdr(m.type) : m.pool.get(m.type);
    if (n === null) {
      mFreem(m);
      return null;
    }
    if (hdr) {
      n.copyPkthdrFrom(m);
      m.clearPkthdr();
    }
    head = n;
    cur = m;
  }
  // hasBytes() above guarantees the chain supplies `need` bytes before cur runs out.
  let need = len - head.len;
  while (need > 0 && cur !== null) {
    const take = cur.len < need ? cur.len : need;
    head.buf.set(cur.buf.subarray(cur.data, cur.data + take), head.data + head.len);
    head.len += take;
    cur.data += take;
    cur.len -= take;
    need -= take;
    if (cur.len === 0) cur = cur.pool.free(cur); // BSD frees the mbufs it empties
  }
  head.next = cur;
  return head;
}

/**
 * m_pulldown (uipc_mbuf2.c): makes `len` bytes at chain offset `off` contiguous in one mbuf.
 * Returns that mbuf and writes the offset inside it to `outOff.value`; the head and its pkthdr
 * stay in place. Null (chain freed) when `off` is not inside the chain, the chain is too short,
 * `len` exceeds MCLBYTES, or memory runs out.
 */
export function mPulldown(m: Mbuf, off: number, len: number, outOff: { value: number }): Mbuf | null {
  if (!isCount(off) || !isCount(len) || len > MCLBYTES) {
    mFreem(m);
    return null;
  }
  let n: Mbuf | null = m;
  while (n !== null && off > 0) {
    if (n.len > off) break;
    off -= n.len;
    n = n.next;
  }
  while (n !== null && n.len === 0) n = n.next; // the wanted bytes start in a non-empty mbuf
  if (n === null) {
    mFreem(m);
    return null;
  }
  if (len <= n.len - off) {
    outOff.value = off;
    return n;
  }
  const hlen = n.len - off; // wanted bytes already in n
  const tlen = len - hlen; // wanted bytes that follow n
  const next = n.next;
  if (next === null || !hasBytes(next, tlen)) {
    mFreem(m);
    return null;
  }
  // Easy case 1: n is writable with trailing room for the rest (BSD checks this first).
  if (n.trailingSpace >= tlen) {
    mCopydata(next, 0, tlen, n.buf, n.data + n.len);
    n.len += tlen;
    trimHead(next, tlen);
    outOff.value = off;
    return n;
  }
  // Easy case 2: the next mbuf holds the rest and has writable leading room for n's part.
  if (next.leadingSpace >= hlen && next.len >= tlen) {
    next.data -= hlen;
    next.len += hlen;
    next.buf.set(n.buf.subarray(n.data + off, n.data + n.len), next.data);
    n.len = off;
    outOff.value = 0;
    return next;
  }
  // Otherwise a new mbuf (with a cluster above MLEN) takes all `len` bytes and goes after n.
  const o = m.pool.get(n.type);
  if (o === null || (len > MLEN && !m.pool.attachCluster(o, len))) {
    if (o !== null) m.pool.free(o);
    mFreem(m);
    return null;
  }
  o.buf.set(n.buf.subarray(n.data + off, n.data + n.len), o.data);
  mCopydata(next, 0, tlen, o.buf, o.data + hlen);
  o.len = len;
  n.len = off;
  trimHead(next, tlen);
  o.next = next;
  n.next = o;
  outOff.value = 0;
  return o;
}

/** Drops `n` bytes from the front of a sub-chain (m_adj without the pkthdr bookkeeping). */
function trimHead(m: Mbuf | null, n: number): void {
  for (; m !== null && n > 0; m = m.next) {
    const cut = m.len < n ? m.len : n;
    m.data += cut;
    m.len -= cut;
    n -= cut;
  }
}

/**
 * m_split: `m0` keeps the first `len0` bytes; the returned chain holds the rest (possibly empty).
 * A cluster at the cut is shared by both halves (so both become read-only); inline bytes are
 * copied. With a pkthdr the tail gets a copy of the header and the pkthdr len is divided.
 * Returns null and leaves `m0` untouched when `len0` is past the end or an allocation fails
 * (XNU's mbuf_split: ENOMEM with src untouched).
 */
export function mSplit(m0: Mbuf, len0: number): Mbuf | null {
  if (!isCount(len0)) return null;
  let m: Mbuf = m0;
  let len = len0;
  while (len > m.len) {
    if (m.next === null) return null;
    len -= m.len;
    m = m.next;
  }
  const pool = m0.pool;
  const hdr = m0.hasPkthdr;
  const remain = m.len - len;
  let top: Mbuf;
  if (remain === 0) {
    // Cut on an mbuf boundary: the following mbufs move as they are. A pkthdr tail needs a header
    // mbuf in front; a split at the very end gets an empty mbuf so success is never null.
    if (hdr || m.next === null) {
      const h = hdr ? pool.getHdr(m0.type) : pool.get(m0.type);
      if (h === null) return null;
      h.next = m.next;
      top = h;
    } else {
      top = m.next;
    }
    m.next = null;
  } else {
    let h: Mbuf | null = null; // an empty header mbuf in front, when the bytes cannot share it
    let n: Mbuf | null;
    if (m.ext !== null) {
      n = hdr ? pool.getHdr(m.type) : pool.get(m.type);
      if (n === null) return null;
      pool.attachExternal(n, m.ext); // mb_dupcl
      n.data = m.data + len;
    } else {
      if (hdr && remain > MHLEN) {
        // BSD: "m can't be the lead packet": an empty pkthdr mbuf, then a plain one for the bytes.
        h = pool.getHdr(m0.type);
        if (h === null) return null;
      }
      n = hdr && h === null ? pool.getHdr(m.type) : pool.get(m.type);
      if (n === null) {
        if (h !== null) pool.free(h);
        return null;
      }
      n.data = n.end - remain; // M_ALIGN: leave leading room for headers
      n.buf.set(m.buf.subarray(m.data + len, m.data + m.len), n.data);
    }
    n.len = remain;
    n.next = m.next;
    m.next = null;
    m.len = len;
    if (h !== null) h.next = n;
    top = h ?? n;
  }
  if (hdr) {
    top.copyPkthdrFrom(m0);
    top.pktLen = m0.pktLen - len0;
    m0.pktLen = len0;
  }
  return top;
}

/**
 * m_cat: appends chain `n` to `m`. While `m`'s last mbuf is writable and has trailing room, small
 * inline mbufs of `n` are copied into it and freed; at the first that does not fit the rest is
 * linked as is (BSD). A pkthdr on `n` is dropped (m_demote). Does not update `m`'s pkthdr len (as
 * XNU's mbuf_concatenate); use mCatPkt for that.
 */
export function mCat(m: Mbuf, n: Mbuf | null): void {
  if (n === m) return; // would make a cycle
  const last = mLast(m);
  while (n !== null) {
    if (!last.writable || n.ext !== null || last.trailingSpace < n.len) {
      if (n.hasPkthdr) n.clearPkthdr();
      last.next = n;
      return;
    }
    last.buf.set(n.buf.subarray(n.data, n.data + n.len), last.data + last.len);
    last.len += n.len;
    n = n.pool.free(n);
  }
}

/**
 * m_catpkt (FreeBSD): appends packet `n` to packet `m` and adds its length to `m`'s pkthdr len
 * (n's pkthdr len when it has one, else its chain length). Used to reassemble fragments.
 */
export function mCatPkt(m: Mbuf, n: Mbuf | null): void {
  if (n === null || n === m) return;
  if (m.hasPkthdr) m.pktLen += n.hasPkthdr ? n.pktLen : mLength(n);
  mCat(m, n);
}

/** Sets the head's pkthdr len to the chain's length, adding a pkthdr when there is none. */
export function mFixupPktLen(m: Mbuf): void {
  m.flags |= M_PKTHDR;
  m.pktLen = mLength(m);
}
