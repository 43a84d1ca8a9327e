// Storage for chain operations: inline room, fresh data mbufs, and copy-on-write of a shared
// cluster before writing into it (internal to stack/mbuf).

import type { Mbuf } from './mbuf.js';
import type { MbufPool } from './pool.js';
import { M64KCLBYTES, MHLEN, MINCLSIZE, MLEN } from './constants.js';

/** Inline room of an mbuf: a packet header takes part of it (MHLEN vs MLEN). */
export const inlineRoom = (m: Mbuf): number => (m.hasPkthdr ? MHLEN : MLEN);

/**
 * An empty mbuf to receive about `want` bytes: with a cluster above MINCLSIZE (as XNU's
 * m_copyback0 and m_dup), else inline. Falls back to inline when the cluster budget is spent, so
 * callers loop and chain more mbufs. Null only when no mbuf is left.
 */
export function newDataMbuf(pool: MbufPool, type: number, want: number): Mbuf | null {
  const n = pool.get(type);
  if (n === null) return null;
  if (want > MINCLSIZE) pool.attachCluster(n, want < M64KCLBYTES ? want : M64KCLBYTES);
  return n;
}

/**
 * Copy-on-write for one mbuf (XNU m_copyback0 with M_COPYBACK0_COW): when its cluster is shared,
 * moves its bytes into private storage (inline if they fit, else a new cluster) and drops the
 * shared reference, so writing cannot show through other references. False when out of memory;
 * `m` is unchanged then.
 */
export function makeWritable(m: Mbuf): boolean {
  if (m.writable) return true;
  const c = m.ext!; // not writable implies a shared cluster
  const pool = m.pool;
  const len = m.len;
  if (len <= inlineRoom(m)) {
    m.inline.set(c.buf.subarray(m.data, m.data + len), 0);
    pool.detachExternal(m); // keeps c alive: other references remain
    m.len = len;
    return true;
  }
  const n = pool.get(m.type);
  if (n === null) return false;
  if (!pool.attachCluster(n, len)) {
    pool.free(n);
    return false;
  }
  n.buf.set(c.buf.subarray(m.data, m.data + len), n.data);
  const data = n.data;
  pool.attachExternal(m, n.ext!); // drops m's reference to the shared cluster
  m.data = data;
  m.len = len;
  pool.free(n); // n's reference goes; m now owns the new cluster alone
  return true;
}
