// TCP's view of so_snd: copying a segment's data out of the send buffer by reference and freeing
// acknowledged bytes, with a cached position (FreeBSD's sb_sndptr / sb_sndptroff, kept on the
// tcpcb here) so that consecutive segments never walk the buffer from its head: tcp_output's
// copy for snd_nxt starts at the mbuf where the previous segment ended. Retransmissions from
// before that point walk from sb_mb once, as in FreeBSD's sbsndptr_noadv.
//
// tcp-output-seg.ts → tcpSndCopy → mCopym (clusters shared, inline bytes copied)
// tcp-input-ack.ts  → tcpSbdrop → SockBuf.sbdrop

import type { Mbuf } from '../mbuf/mbuf.js';
import { mCopym } from '../mbuf/chain.js';
import type { SockBuf } from '../socket/sockbuf.js';
import type { Tcpcb } from './tcp-var.js';

/**
 * A new chain referencing `len` bytes at offset `off` (from snd_una) of so_snd, sharing clusters;
 * null when the buffer is shorter or the pool is empty. Leaves the cache at the mbuf holding the
 * byte after the copied range (or the last mbuf), so the next in-order call starts there.
 */
export function tcpSndCopy(tp: Tcpcb, sb: SockBuf, off: number, len: number): Mbuf | null {
  let m = tp.t_sndptr;
  let moff = tp.t_sndptroff;
  if (m === null || m.freed || moff > off) {
    m = sb.sb_mb;
    moff = 0;
  }
  if (m === null) return null;
  // Find the mbuf holding byte `off`.
  while (off - moff >= m.len) {
    const n: Mbuf | null = m.next;
    if (n === null) return null;
    moff += m.len;
    m = n;
  }
  const copy = mCopym(m, off - moff, len);
  if (copy === null) return null;
  // Advance the cache to the mbuf holding byte off + len (O(mbufs of this segment)).
  const end = off + len;
  while (end - moff >= m.len && m.next !== null) {
    moff += m.len;
    m = m.next;
  }
  tp.t_sndptr = m;
  tp.t_sndptroff = moff;
  return copy;
}

/**
 * sbdrop of `n` acknowledged bytes from so_snd, keeping the cached position: it moves left by
 * `n`, and is forgotten when its mbuf was freed or trimmed (it started before byte `n`).
 */
export function tcpSbdrop(tp: Tcpcb, sb: SockBuf, n: number): void {
  if (n <= 0) return;
  sb.sbdrop(n);
  if (tp.t_sndptr === null) return;
  const moff = tp.t_sndptroff - n;
  if (moff < 0 || sb.sb_mb === null) {
    tp.t_sndptr = null;
    tp.t_sndptroff = 0;
  } else {
    tp.t_sndptroff = moff;
  }
}

/** Forgets the cached position (the buffer was flushed or replaced). */
export function tcpSndptrReset(tp: Tcpcb): void {
  tp.t_sndptr = null;
  tp.t_sndptroff = 0;
}
