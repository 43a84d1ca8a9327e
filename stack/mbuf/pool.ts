// Mbuf and cluster pools: the packet path reuses these objects instead of allocating per packet.
// Each Stack owns one pool (no module state). Limits make exhaustion an ordinary, counted failure.

import { Cluster, Mbuf } from './mbuf.js';
import type { ClusterOwner } from './mbuf.js';
import { CLUSTER_SIZES, M_EXT, M_PKTHDR, MHLEN, MLEN, MT_FREE } from './constants.js';

export interface MbufPoolLimits {
  /** Most mbufs in use at once. */
  maxMbufs: number;
  /** Most cluster bytes in use at once. */
  maxClusterBytes: number;
  /** Free objects kept for reuse per class; the rest go to the garbage collector. */
  maxCached: number;
}

export const DEFAULT_POOL_LIMITS: Readonly<MbufPoolLimits> = Object.freeze({
  maxMbufs: 262_144,
  maxClusterBytes: 256 * 1024 * 1024,
  maxCached: 4096,
});

/** mbstat-style counters; each moves exactly when its comment says. */
export class MbufStats {
  /** Mbufs handed out and not yet freed. */
  mbufsInUse = 0;
  /** Cluster bytes referenced by at least one mbuf (pool clusters only). */
  clusterBytesInUse = 0;
  /** Allocations refused because a limit was reached (mbstat m_drops). */
  drops = 0;
  /** Mbufs created because the free list was empty (so a steady state shows this not moving). */
  mbufsCreated = 0;
  clustersCreated = 0;
}

class ClusterClass implements ClusterOwner {
  readonly free: Cluster[] = [];
  constructor(readonly size: number, private readonly pool: MbufPool) {}
  releaseCluster(c: Cluster): void { this.pool.returnCluster(this, c); }
}

export class MbufPool {
  readonly stats = new MbufStats();
  /** This pool's own copy of its limits (tunable at run time, like the kern.ipc sysctls). */
  readonly limits: MbufPoolLimits;
  private readonly freeMbufs: Mbuf[] = [];
  private readonly classes: ClusterClass[];

  constructor(limits: Readonly<MbufPoolLimits> = DEFAULT_POOL_LIMITS) {
    this.limits = { ...limits };
    this.classes = CLUSTER_SIZES.map((s) => new ClusterClass(s, this));
  }

  /** m_get: one plain mbuf of `type`, or null when the pool is exhausted. */
  get(type: number): Mbuf | null {
    if (this.stats.mbufsInUse >= this.limits.maxMbufs) {
      this.stats.drops++;
      return null;
    }
    let m = this.freeMbufs.pop();
    if (m === undefined) {
      m = new Mbuf(this, new Uint8Array(MLEN));
      this.stats.mbufsCreated++;
    }
    m.freed = false;
    m.type = type;
    m.flags = 0;
    m.buf = m.inline;
    m.start = 0;
    m.end = MLEN;
    m.data = 0;
    m.len = 0;
    this.stats.mbufsInUse++;
    return m;
  }

  /** m_gethdr: an mbuf with a packet header (MHLEN bytes of inline room). */
  getHdr(type: number): Mbuf | null {
    const m = this.get(type);
    if (m === null) return null;
    m.flags = M_PKTHDR;
    m.end = MHLEN;
    return m;
  }

  /**
   * Attaches a pool cluster of at least `size` bytes to `m` (m_mclget/m_getcl), dropping any
   * cluster `m` had. The data window moves to the cluster's start; `m.len` is kept, as MCLGET
   * keeps m_len, so call it on an empty mbuf. Returns false when no class is large enough or the
   * cluster budget is spent (counted in `drops`); `m` is unchanged then.
   */
  attachCluster(m: Mbuf, size: number): boolean {
    let cls: ClusterClass | undefined;
    for (const c of this.classes) if (c.size >= size) { cls = c; break; }
    if (cls === undefined) return false;
    if (this.stats.clusterBytesInUse + cls.size > this.limits.maxClusterBytes) {
      this.stats.drops++;
      return false;
    }
    let c = cls.free.pop();
    if (c === undefined) {
      c = new Cluster(new Uint8Array(cls.size), 0, cls.size, cls);
      this.stats.clustersCreated++;
    }
    this.stats.clusterBytesInUse += cls.size;
    this.attachExternal(m, c);
    return true;
  }

  /**
   * Points `m` at cluster `c` (taking a reference, and dropping the one `m` held before). Used for
   * pool clusters, for sharing (m_copym, m_split: BSD mb_dupcl) and for driver buffers.
   */
  attachExternal(m: Mbuf, c: Cluster): void {
    c.refs++; // before the drop below, so re-attaching the same cluster never releases it
    const len = m.len; // MEXTADD keeps m_len; the caller sets the window
    if (m.ext !== null) this.detachExternal(m);
    m.len = len;
    m.ext = c;
    m.buf = c.buf;
    m.start = c.start;
    m.end = c.start + c.size;
    m.data = c.start;
    m.flags |= M_EXT;
  }

  /** m_getcl: a packet-header mbuf with a cluster able to hold `size` bytes, or null. */
  getPacket(size: number, type = 1): Mbuf | null {
    const m = this.getHdr(type);
    if (m === null) return null;
    if (size <= MHLEN) return m;
    if (!this.attachCluster(m, size)) {
      this.free(m);
      return null;
    }
    return m;
  }

  /**
   * Drops `m`'s cluster reference (the cluster goes back to its owner with the last one); `m`
   * reverts to its own empty inline storage. No-op for an inline mbuf.
   */
  detachExternal(m: Mbuf): void {
    const c = m.ext;
    if (c === null) return;
    m.ext = null;
    m.flags &= ~M_EXT;
    m.buf = m.inline;
    m.start = 0;
    m.end = m.hasPkthdr ? MHLEN : MLEN;
    m.data = 0;
    m.len = 0;
    if (--c.refs === 0 && c.owner !== null) c.owner.releaseCluster(c);
  }

  /**
   * m_free: frees one mbuf, returns its successor. Does not follow nextpkt (the list link is
   * cleared). A second free of the same mbuf is ignored and returns null, so m_freem stops there.
   */
  free(m: Mbuf): Mbuf | null {
    if (m.pool !== this) return m.pool.free(m); // the mbuf's own pool keeps its counters
    if (m.freed) return null; // double free: ignore rather than corrupt the free list
    const next = m.next;
    this.detachExternal(m);
    m.next = null;
    m.nextpkt = null;
    m.buf = m.inline;
    m.flags = 0;
    m.type = MT_FREE;
    m.len = 0;
    m.clearPkthdr();
    m.freed = true;
    this.stats.mbufsInUse--;
    if (this.freeMbufs.length < this.limits.maxCached) this.freeMbufs.push(m);
    return next;
  }

  /** Called by a ClusterClass when its cluster's last reference is dropped. */
  returnCluster(cls: { size: number; free: Cluster[] }, c: Cluster): void {
    this.stats.clusterBytesInUse -= cls.size;
    if (cls.free.length < this.limits.maxCached) cls.free.push(c);
  }
}

/** m_freem: frees the whole m_next chain (not the nextpkt list). Tolerates null. */
export function mFreem(m: Mbuf | null): void {
  while (m !== null) m = m.pool.free(m);
}

/** Frees every packet of an m_nextpkt list; returns how many packets were freed. */
export function mFreemList(m: Mbuf | null): number {
  let n = 0;
  while (m !== null) {
    const nextpkt = m.nextpkt;
    m.nextpkt = null;
    mFreem(m);
    m = nextpkt;
    n++;
  }
  return n;
}
