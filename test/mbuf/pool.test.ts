import { describe, expect, it } from 'vitest';
import {
  Cluster, DEFAULT_POOL_LIMITS, M_BCAST, M_EXT, M_PKTHDR, MCLBYTES, MBIGCLBYTES, MHLEN, MLEN, MT_DATA,
  MT_FREE, MbufPool, mCopym, mFreem, mFreemList, mFromBytes, mSplit,
} from '../../stack/mbuf/index.js';
import type { ClusterOwner } from '../../stack/mbuf/index.js';
import { checkChain, expectIdle, seq } from './helpers.js';

describe('MbufPool allocation', () => {
  it('get gives an empty plain mbuf with MLEN inline room', () => {
    const pool = new MbufPool();
    const m = pool.get(MT_DATA)!;
    expect(m.hasPkthdr).toBe(false);
    expect([m.len, m.data, m.start, m.end, m.type]).toEqual([0, 0, 0, MLEN, MT_DATA]);
    expect(m.leadingSpace).toBe(0);
    expect(m.trailingSpace).toBe(MLEN);
    expect(pool.stats.mbufsInUse).toBe(1);
    pool.free(m);
    expectIdle(pool);
  });

  it('getHdr gives MHLEN room and a zeroed pkthdr', () => {
    const pool = new MbufPool();
    const m = pool.getHdr(MT_DATA)!;
    expect(m.flags).toBe(M_PKTHDR);
    expect(m.maxLen).toBe(MHLEN);
    expect([m.pktLen, m.rcvif, m.csumFlags, m.gsoType]).toEqual([0, 0, 0, 0]);
    pool.free(m);
    expectIdle(pool);
  });

  it('getPacket picks inline storage for small sizes and the smallest fitting cluster above', () => {
    const pool = new MbufPool();
    const a = pool.getPacket(MHLEN)!;
    expect(a.isExt).toBe(false);
    const b = pool.getPacket(MHLEN + 1)!;
    expect(b.ext!.size).toBe(MCLBYTES);
    const c = pool.getPacket(MCLBYTES + 1)!;
    expect(c.ext!.size).toBe(MBIGCLBYTES);
    expect(pool.stats.clusterBytesInUse).toBe(MCLBYTES + MBIGCLBYTES);
    expect(pool.getPacket(65537)).toBeNull(); // no class that large
    expect(pool.stats.mbufsInUse).toBe(3);
    mFreem(a); mFreem(b); mFreem(c);
    expectIdle(pool);
  });

  it('reuses freed mbufs and clusters: no new objects after warm-up', () => {
    const pool = new MbufPool();
    const round = () => {
      const m = mFromBytes(pool, seq(3000), 64)!;
      const c = mCopym(m, 100, 2000)!;
      const t = mSplit(m, 1500)!;
      mFreem(m); mFreem(c); mFreem(t);
    };
    round();
    const created = [pool.stats.mbufsCreated, pool.stats.clustersCreated];
    for (let i = 0; i < 500; i++) round();
    expect([pool.stats.mbufsCreated, pool.stats.clustersCreated]).toEqual(created);
    expectIdle(pool);
  });

  it('keeps its own copy of the limits', () => {
    const pool = new MbufPool();
    pool.limits.maxMbufs = 1;
    expect(DEFAULT_POOL_LIMITS.maxMbufs).toBeGreaterThan(1);
    expect(new MbufPool().limits.maxMbufs).toBe(DEFAULT_POOL_LIMITS.maxMbufs);
  });
});

describe('MbufPool limits', () => {
  it('refuses mbufs past maxMbufs and counts a drop', () => {
    const pool = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxMbufs: 2 });
    const a = pool.get(MT_DATA)!;
    const b = pool.getHdr(MT_DATA)!;
    expect(pool.get(MT_DATA)).toBeNull();
    expect(pool.getHdr(MT_DATA)).toBeNull();
    expect(pool.getPacket(1000)).toBeNull();
    expect(pool.stats.drops).toBe(3);
    pool.free(a);
    expect(pool.get(MT_DATA)).not.toBeNull();
    expect(pool.stats.mbufsInUse).toBe(2);
    void b;
  });

  it('refuses clusters past maxClusterBytes; getPacket then returns its mbuf', () => {
    const pool = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxClusterBytes: MCLBYTES });
    const a = pool.getPacket(1000)!;
    expect(a.isExt).toBe(true);
    const m = pool.get(MT_DATA)!;
    expect(pool.attachCluster(m, 100)).toBe(false);
    expect(m.isExt).toBe(false);
    expect(m.end).toBe(MLEN);
    expect(pool.getPacket(1000)).toBeNull();
    expect(pool.stats.drops).toBe(2);
    expect(pool.stats.mbufsInUse).toBe(2); // a and m; getPacket's mbuf went back
    mFreem(a); pool.free(m);
    expectIdle(pool);
  });
});

describe('MbufPool free', () => {
  it('ignores a double free', () => {
    const pool = new MbufPool();
    const m = pool.getPacket(3000)!;
    expect(pool.free(m)).toBeNull();
    expect(pool.free(m)).toBeNull();
    mFreem(m);
    expectIdle(pool);
    const a = pool.get(MT_DATA)!;
    const b = pool.get(MT_DATA)!;
    expect(a).not.toBe(b); // the free list holds m once only
  });

  it('free returns the successor and clears every link and the header', () => {
    const pool = new MbufPool();
    const m = pool.getHdr(MT_DATA)!;
    const n = pool.get(MT_DATA)!;
    const p = pool.get(MT_DATA)!;
    m.next = n; m.nextpkt = p; m.flags |= M_BCAST; m.rcvif = 3;
    expect(pool.free(m)).toBe(n);
    expect([m.next, m.nextpkt, m.flags, m.type, m.rcvif, m.freed]).toEqual([null, null, 0, MT_FREE, 0, true]);
    pool.free(n); pool.free(p);
    expectIdle(pool);
  });

  it('returns a cluster only when its last reference goes', () => {
    const pool = new MbufPool();
    const m = pool.getPacket(1500)!;
    m.len = 1500;
    const c = mCopym(m, 0, null)!;
    expect(m.ext).toBe(c.ext);
    expect(m.ext!.refs).toBe(2);
    pool.free(m);
    expect(c.ext!.refs).toBe(1);
    expect(pool.stats.clusterBytesInUse).toBe(MCLBYTES);
    pool.free(c);
    expectIdle(pool);
  });

  it('a freed mbuf goes back to its own pool', () => {
    const p1 = new MbufPool();
    const p2 = new MbufPool();
    const m = p1.get(MT_DATA)!;
    p2.free(m);
    expectIdle(p1);
    expect(p2.stats.mbufsInUse).toBe(0);
  });

  it('mFreemList frees every packet and counts them', () => {
    const pool = new MbufPool();
    const a = mFromBytes(pool, seq(10))!;
    const b = mFromBytes(pool, seq(5000))!;
    const c = mFromBytes(pool, seq(70_000))!;
    a.nextpkt = b; b.nextpkt = c;
    expect(mFreemList(a)).toBe(3);
    expect(mFreemList(null)).toBe(0);
    expectIdle(pool);
  });
});

describe('external clusters', () => {
  it('gives a driver buffer back to its owner after the last reference', () => {
    const pool = new MbufPool();
    const released: Cluster[] = [];
    const owner: ClusterOwner = { releaseCluster: (c) => released.push(c) };
    const ring = new Uint8Array(8192);
    const c = new Cluster(ring, 4096, 2048, owner);
    const m = pool.getHdr(MT_DATA)!;
    pool.attachExternal(m, c);
    expect([m.start, m.end, m.data, m.flags & M_EXT]).toEqual([4096, 6144, 4096, M_EXT]);
    m.len = 100;
    m.pktLen = 100;
    const t = mSplit(m, 40)!;
    expect(c.refs).toBe(2);
    checkChain(m); checkChain(t);
    mFreem(m);
    expect(released).toEqual([]);
    mFreem(t);
    expect(released).toEqual([c]);
    expectIdle(pool); // driver clusters are not pool bytes
  });

  it('attachExternal over an existing cluster drops the old reference', () => {
    const pool = new MbufPool();
    const m = pool.getPacket(1000)!;
    const old = m.ext!;
    const c = new Cluster(new Uint8Array(100), 0, 100, null);
    pool.attachExternal(m, c);
    expect(old.refs).toBe(0);
    expect(pool.stats.clusterBytesInUse).toBe(0);
    pool.attachExternal(m, c); // the same one again: still one reference
    expect(c.refs).toBe(1);
    pool.free(m);
    expect(c.refs).toBe(0);
    expectIdle(pool);
  });

  it('detachExternal reverts to inline storage', () => {
    const pool = new MbufPool();
    const m = pool.getPacket(1000)!;
    pool.detachExternal(m);
    expect([m.isExt, m.ext, m.end, m.len]).toEqual([false, null, MHLEN, 0]);
    expect(m.buf).toBe(m.inline);
    pool.free(m);
    expectIdle(pool);
  });
});
