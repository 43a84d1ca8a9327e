// kpi_mbuf.h accessors (bsd/kern/kpi_mbuf.c): data pointer, lengths, linkage, packet-header
// length, flags and type of ONE mbuf. None allocates, so they are free functions over the stack's
// Mbuf objects; errno semantics per xnu-sockets.md §9.
//
// Pointers become views: mbuf_data(m) is `m.buf.subarray(data, data + len)`, a Uint8Array that
// ALIASES the mbuf's storage (writes go into the mbuf; a later mbuf_setlen/adjustlen/setdata does
// not resize a view already taken, so take a new one). mbuf_datastart(m) is the whole storage
// [datastart, datastart + maxlen). Do not write into a cluster that mbuf_mclhasreference reports
// as shared (XNU's M_WRITABLE rule; leading/trailing space report 0 for it).

import { EBUSY, EINVAL, ENOTSUP, MHLEN, MLEN, MT_FREE } from '../stack/index.js';
import type { mbuf_flags_t, mbuf_t, mbuf_type_t } from './mbuf-constants.js';
import { INT32_MAX, isCount } from './mbuf-args.js';
import type { errno_t } from './mbuf-args.js';
import { MBUF_CFLAGS_MASK, MBUF_FLAGS_MASK, MBUF_PKTHDR, MBUF_TYPE_FREE } from './mbuf-constants.js';

// ---- data ----

/** mbuf_data: the current data as a view of m_len bytes (aliases the mbuf's storage). */
export function mbuf_data(m: mbuf_t): Uint8Array {
  return m.buf.subarray(m.data, m.data + m.len);
}

/**
 * mbuf_datastart: the storage from its start (cluster, pkthdr data area or plain data area) as a
 * view of mbuf_maxlen bytes; `mbuf_data(m)` starts `mbuf_leadingspace`-ish bytes into it (exactly
 * `m.data - m.start`, whether or not the storage is writable).
 */
export function mbuf_datastart(m: mbuf_t): Uint8Array {
  return m.buf.subarray(m.start, m.end);
}

/**
 * mbuf_setdata(m, data, len): points the mbuf at `len` bytes from `data`, which must be a view of
 * this mbuf's storage (e.g. `mbuf_datastart(m).subarray(k)`). EINVAL when `data` is another
 * buffer or [data, data + len) leaves [datastart, datastart + maxlen).
 */
export function mbuf_setdata(m: mbuf_t, data: Uint8Array, len: number): errno_t {
  if (data.buffer !== m.buf.buffer || !isCount(len)) return EINVAL;
  const off = data.byteOffset - m.buf.byteOffset;
  if (off < m.start || off + len > m.end) return EINVAL;
  m.data = off;
  m.len = len;
  return 0;
}

/**
 * mbuf_align_32: places the data window so that `len` bytes end 32-bit aligned at the end of the
 * storage (for building headers backwards). ENOTSUP for a shared cluster. XNU does not check that
 * `len` fits (size_t underflow); we return EINVAL when it does not.
 */
export function mbuf_align_32(m: mbuf_t, len: number): errno_t {
  if (m.ext !== null && m.ext.refs > 1) return ENOTSUP;
  if (!isCount(len) || len > m.end - m.start - m.len) return EINVAL;
  m.data = m.start + ((m.end - m.start - m.len - len) & ~3);
  return 0;
}

/** mbuf_len: m_len of this mbuf only. */
export function mbuf_len(m: mbuf_t): number { return m.len; }

/**
 * mbuf_setlen: sets m_len without validation in XNU. We clamp to the storage (a length past the
 * end of the storage would make every view and chain operation read out of bounds).
 */
export function mbuf_setlen(m: mbuf_t, len: number): void {
  const max = m.end - m.data;
  m.len = !isCount(len) ? m.len : len > max ? max : len;
}

/** mbuf_maxlen: the storage size (cluster size, else bytes from datastart to the end of the inline area). */
export function mbuf_maxlen(m: mbuf_t): number { return m.end - m.start; }

/** mbuf_leadingspace: free bytes before the data; 0 when the storage is not writable (shared cluster). */
export function mbuf_leadingspace(m: mbuf_t): number { return m.leadingSpace; }

/** mbuf_trailingspace: free bytes after data + len; 0 when the storage is not writable. */
export function mbuf_trailingspace(m: mbuf_t): number { return m.trailingSpace; }

/**
 * mbuf_adjustlen(m, amount): adds a signed amount to m_len. EINVAL when the data would pass the
 * end of the storage (data offset + len + amount > maxlen) or the length would go negative.
 */
export function mbuf_adjustlen(m: mbuf_t, amount: number): errno_t {
  if (!Number.isSafeInteger(amount)) return EINVAL;
  if (amount > 0) {
    if (m.data - m.start + m.len + amount > m.end - m.start) return EINVAL;
  } else if (-amount > m.len) {
    return EINVAL;
  }
  m.len += amount;
  return 0;
}

/** mbuf_mclhasreference: true when the mbuf's cluster is shared with another mbuf. */
export function mbuf_mclhasreference(m: mbuf_t): boolean {
  return m.ext !== null && m.ext.refs > 1;
}

// ---- linkage ----

/** mbuf_next: the next mbuf of the chain (m_next), or null. */
export function mbuf_next(m: mbuf_t): mbuf_t | null { return m.next; }

/** mbuf_setnext: EINVAL when `next` heads a packet list (non-null nextpkt) or is freed. */
export function mbuf_setnext(m: mbuf_t, next: mbuf_t | null): errno_t {
  if (next !== null && (next.nextpkt !== null || next.freed || next.type === MT_FREE)) return EINVAL;
  m.next = next;
  return 0;
}

/** mbuf_nextpkt: the next packet (m_nextpkt), or null. */
export function mbuf_nextpkt(m: mbuf_t): mbuf_t | null { return m.nextpkt; }

/** mbuf_setnextpkt: links records; no validation (as XNU). */
export function mbuf_setnextpkt(m: mbuf_t, nextpkt: mbuf_t | null): void { m.nextpkt = nextpkt; }

// ---- packet header ----

/** mbuf_pkthdr_len: the packet header's length, 0 when the mbuf has no packet header. */
export function mbuf_pkthdr_len(m: mbuf_t): number { return m.hasPkthdr ? m.pktLen : 0; }

/**
 * mbuf_pkthdr_setlen: sets the header's length, clamped to INT32_MAX; the chain sum is not
 * checked. Without a packet header XNU writes into storage that is not one; we do nothing.
 */
export function mbuf_pkthdr_setlen(m: mbuf_t, len: number): void {
  if (!m.hasPkthdr || !isCount(len)) return;
  m.pktLen = len > INT32_MAX ? INT32_MAX : len;
}

/** mbuf_pkthdr_adjustlen: adds a signed amount to the header's length (no-op without a header). */
export function mbuf_pkthdr_adjustlen(m: mbuf_t, amount: number): void {
  if (!m.hasPkthdr || !Number.isSafeInteger(amount)) return;
  m.pktLen += amount;
}

/** mbuf_pkthdr_rcvif: the receiving interface's index (XNU returns an ifnet_t; 0 = none). */
export function mbuf_pkthdr_rcvif(m: mbuf_t): number { return m.hasPkthdr ? m.rcvif : 0; }

/** mbuf_pkthdr_setrcvif: sets the receiving interface index; EINVAL without a packet header. */
export function mbuf_pkthdr_setrcvif(m: mbuf_t, ifindex: number): errno_t {
  if (!m.hasPkthdr || !isCount(ifindex)) return EINVAL;
  m.rcvif = ifindex;
  return 0;
}

/**
 * mbuf_copy_pkthdr(dest, src): copies src's packet header (length, rcvif, offload fields and the
 * flags that travel with it) to dest, which gets MBUF_PKTHDR. EINVAL when src has none. Like
 * m_copy_pkthdr, an inline dest has its data reset to the start of its (now MHLEN) data area; its
 * bytes are not moved and its length is clamped to MHLEN.
 */
export function mbuf_copy_pkthdr(dest: mbuf_t, src: mbuf_t): errno_t {
  if (!src.hasPkthdr) return EINVAL;
  if (dest === src) return 0;
  dest.copyPkthdrFrom(src);
  if (dest.ext === null) {
    dest.data = dest.start;
    dest.end = dest.start + MHLEN;
    if (dest.len > MHLEN) dest.len = MHLEN;
  }
  return 0;
}

// ---- flags and type ----

/** mbuf_flags: the public flags (MBUF_FLAGS_MASK) of the mbuf. */
export function mbuf_flags(m: mbuf_t): mbuf_flags_t { return m.flags & MBUF_FLAGS_MASK; }

/**
 * mbuf_setflags: replaces the public flags. EINVAL when `flags` changes MBUF_EXT or holds a bit
 * that is not public. Toggling MBUF_PKTHDR re-initializes the header (m_reinit): turning it on
 * for an inline mbuf that holds data (or whose data does not start at its storage start) is
 * EBUSY and leaves the flags as they were.
 */
export function mbuf_setflags(m: mbuf_t, flags: mbuf_flags_t): errno_t {
  if (!Number.isInteger(flags)) return EINVAL;
  if (((flags ^ m.flags) & MBUF_CFLAGS_MASK) !== 0 || (flags & ~MBUF_FLAGS_MASK) !== 0) return EINVAL;
  return applyFlags(m, (m.flags & ~MBUF_FLAGS_MASK) | flags);
}

/**
 * mbuf_setflags_mask: changes the public flags in `mask` to their values in `flags`. EINVAL when
 * `mask` includes MBUF_EXT or a bit that is not public. MBUF_PKTHDR as for mbuf_setflags.
 */
export function mbuf_setflags_mask(m: mbuf_t, flags: mbuf_flags_t, mask: mbuf_flags_t): errno_t {
  if (!Number.isInteger(flags) || !Number.isInteger(mask)) return EINVAL;
  if ((mask & MBUF_CFLAGS_MASK) !== 0 || (mask & ~MBUF_FLAGS_MASK) !== 0) return EINVAL;
  return applyFlags(m, (flags & mask) | (m.flags & ~mask));
}

/** Sets the new flag word, re-initializing the packet header when MBUF_PKTHDR changes (m_reinit). */
function applyFlags(m: mbuf_t, nflags: number): errno_t {
  const toggled = ((m.flags ^ nflags) & MBUF_PKTHDR) !== 0;
  if (!toggled) {
    m.flags = nflags;
    return 0;
  }
  if ((nflags & MBUF_PKTHDR) !== 0) {
    // m_reinit: an inline mbuf that appears to hold data cannot take a header (it would overlap).
    if (m.ext === null && (m.data !== m.start || m.len > 0)) return EBUSY;
    m.clearPkthdr(); // MBUF_INIT_PKTHDR: a fresh header
    m.flags = nflags;
    if (m.ext === null) m.end = m.start + MHLEN;
    return 0;
  }
  m.clearPkthdr(); // drops the header fields (and the flags that travel with it)...
  m.flags = nflags; // ...then the caller's other public flags are kept as asked
  if (m.ext === null) m.end = m.start + MLEN;
  return 0;
}

/** mbuf_type: the mbuf's type (MBUF_TYPE_*). */
export function mbuf_type(m: mbuf_t): mbuf_type_t { return m.type; }

/** mbuf_settype: EINVAL for MBUF_TYPE_FREE (and, here, for a value that is not a byte). */
export function mbuf_settype(m: mbuf_t, type: mbuf_type_t): errno_t {
  if (type === MBUF_TYPE_FREE || !Number.isInteger(type) || type < 0 || type > 255) return EINVAL;
  m.type = type;
  return 0;
}
