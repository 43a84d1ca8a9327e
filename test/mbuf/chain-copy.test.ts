import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POOL_LIMITS, M_BCAST, MCLBYTES, MHLEN, MINCLSIZE, MLEN, MT_DATA, MbufPool, mAppendBytes, mCopyback,
  mCopydata, mCopym, mDup, mFixupPktLen, mFreem, mFromBytes, mLength, mSplit, mToBytes,
} from '../../stack/mbuf/index.js';
import { buildChain, bytesOf, checkChain, concat, expectIdle, mbufs, seq } from './helpers.js';

const pool = () => new MbufPool();
// [pkthdr inline 20][0][cluster 1000][inline 200]: 1220 bytes, seq(1220)
const mk = (p: MbufPool, pkthdr = true) => buildChain(p, [
  { cluster: false, lead: 4, bytes: seq(20) },
  { cluster: false, lead: 0, bytes: seq(0) },
  { cluster: true, lead: 10, bytes: seq(1000, 20) },
  { cluster: false, lead: 0, bytes: seq(200, 1020) },
], pkthdr)!;

describe('mCopydata', () => {
  it.each([[0, 0], [0, 1220], [5, 30], [20, 0], [20, 1000], [1219, 1], [1220, 0]])('copies off %i len %i', (off, len) => {
    const p = pool();
    const m = mk(p);
    const out = new Uint8Array(len + 3);
    expect(mCopydata(m, off, len, out, 3)).toBe(true);
    expect(out.subarray(3)).toEqual(seq(1220).subarray(off, off + len));
    mFreem(m);
  });

  it.each([[1221, 0], [1220, 1], [1000, 221], [-1, 1], [0, -1], [0.5, 1]])('fails for off %i len %i', (off, len) => {
    const p = pool();
    const m = mk(p);
    expect(mCopydata(m, off, len, new Uint8Array(2000), 0)).toBe(false);
    mFreem(m);
  });

  it('fails when the output is too small and on an empty chain', () => {
    const p = pool();
    const m = mk(p);
    expect(mCopydata(m, 0, 10, new Uint8Array(9), 0)).toBe(false);
    expect(mCopydata(m, 0, 10, new Uint8Array(10), 1)).toBe(false);
    expect(mCopydata(null, 0, 0, new Uint8Array(0), 0)).toBe(true);
    expect(mCopydata(null, 0, 1, new Uint8Array(1), 0)).toBe(false);
    mFreem(m);
  });
});

describe('mCopyback', () => {
  it('overwrites inside the chain across mbuf boundaries', () => {
    const p = pool();
    const m = mk(p);
    expect(mCopyback(m, 15, 1010, new Uint8Array(1010).fill(0xaa), 0)).toBe(true);
    const want = seq(1220);
    want.fill(0xaa, 15, 1025);
    expect(mToBytes(m)).toEqual(want);
    expect(mbufs(m)).toHaveLength(4);
    expect(m.pktLen).toBe(1220);
    mFreem(m);
    expectIdle(p);
  });

  it('grows the last mbuf into its trailing room, then appends mbufs', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!; // inline pkthdr, MHLEN room
    expect(mCopyback(m, 10, 300, seq(300, 10), 0)).toBe(true);
    expect(mToBytes(m)).toEqual(seq(310));
    expect(m.len).toBe(MHLEN);
    expect(m.pktLen).toBe(310);
    expect(m.next!.isExt).toBe(false); // 174 bytes left: not above MINCLSIZE, an inline mbuf
    checkChain(m);
    expect(mCopyback(m, 310, MINCLSIZE + 60, seq(MINCLSIZE + 60, 310), 0)).toBe(true); // 50 fit in the room
    expect(mToBytes(m)).toEqual(seq(310 + MINCLSIZE + 60));
    expect(mbufs(m).some((x) => x.isExt)).toBe(true);
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });

  it('zero-fills the gap when writing past the end', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!;
    m.buf.fill(0x77, m.data + 10, m.end); // stale bytes in the trailing room must not show
    expect(mCopyback(m, 400, 3, bytesOf(1, 2, 3), 0)).toBe(true);
    expect(mToBytes(m)).toEqual(concat(seq(10), new Uint8Array(390), bytesOf(1, 2, 3)));
    expect(m.pktLen).toBe(403);
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });

  it('copies a shared cluster before writing it, leaving the other reference intact', () => {
    const p = pool();
    const m = mk(p);
    const c = mCopym(m, 0, null)!;
    const refs = m.next!.next!.ext!;
    expect(refs.refs).toBe(2);
    expect(mCopyback(m, 500, 4, bytesOf(9, 9, 9, 9), 0)).toBe(true);
    expect(refs.refs).toBe(1); // m moved to private storage
    expect(mToBytes(c)).toEqual(seq(1220));
    const want = seq(1220); want.fill(9, 500, 504);
    expect(mToBytes(m)).toEqual(want);
    checkChain(m); checkChain(c);
    mFreem(m); mFreem(c);
    expectIdle(p);
  });

  it('copies a small shared piece into inline storage', () => {
    const p = pool();
    const m = mFromBytes(p, seq(3000))!;
    const t = mSplit(m, 2950)!; // t: 50 bytes sharing the cluster
    expect(mCopyback(t, 0, 2, bytesOf(1, 2), 0)).toBe(true);
    expect(t.isExt).toBe(false);
    expect(mToBytes(t)).toEqual(concat(bytesOf(1, 2), seq(48, 2952)));
    expect(mToBytes(m)).toEqual(seq(2950));
    mFreem(m); mFreem(t);
    expectIdle(p);
  });

  it('appends after a shared last mbuf instead of writing its room', () => {
    const p = pool();
    const m = mFromBytes(p, seq(300))!;
    const c = mCopym(m, 0, null)!;
    expect(mCopyback(m, 300, 5, seq(5, 300), 0)).toBe(true);
    expect(mbufs(m)).toHaveLength(2);
    expect(mToBytes(m)).toEqual(seq(305));
    expect(c.buf.subarray(c.data + 300, c.data + 305)).toEqual(new Uint8Array(5));
    mFreem(m); mFreem(c);
    expectIdle(p);
  });

  it('rejects bad arguments without writing; len 0 is a no-op', () => {
    const p = pool();
    const m = mk(p);
    expect(mCopyback(m, -1, 1, bytesOf(1), 0)).toBe(false);
    expect(mCopyback(m, 0, 2, bytesOf(1), 0)).toBe(false);
    expect(mCopyback(m, 0, 1, bytesOf(1), 1)).toBe(false);
    expect(mCopyback(m, NaN, 1, bytesOf(1), 0)).toBe(false);
    expect(mCopyback(m, 5000, 0, bytesOf(), 0)).toBe(true);
    expect(mToBytes(m)).toEqual(seq(1220));
    mFreem(m);
    expectIdle(p);
  });

  it('reports an allocation failure and keeps what it wrote', () => {
    const p = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxMbufs: 2, maxClusterBytes: 0 });
    const m = mFromBytes(p, seq(10))!;
    expect(mCopyback(m, 0, 1000, seq(1000, 50), 0)).toBe(false);
    const got = mToBytes(m);
    expect(got.length).toBe(MHLEN + MLEN);
    expect(got).toEqual(seq(MHLEN + MLEN, 50));
    expect(m.pktLen).toBe(got.length);
    expect(p.stats.drops).toBeGreaterThan(0);
    mFreem(m);
    expectIdle(p);
  });

  it('mAppendBytes appends at the end', () => {
    const p = pool();
    const m = mk(p);
    expect(mAppendBytes(m, seq(3000, 1220))).toBe(true);
    expect(mAppendBytes(m, seq(10, 4220), 5)).toBe(true);
    expect(mToBytes(m)).toEqual(concat(seq(4220), seq(5, 4225)));
    expect(m.pktLen).toBe(4225);
    mFreem(m);
    expectIdle(p);
  });
});

describe('mCopym', () => {
  it('shares clusters, copies inline bytes and copies the pkthdr for off 0', () => {
    const p = pool();
    const m = mk(p);
    m.rcvif = 4; m.flags |= M_BCAST;
    const c = mCopym(m, 0, null)!;
    expect(mToBytes(c)).toEqual(seq(1220));
    expect([c.hasPkthdr, c.pktLen, c.rcvif, c.flags & M_BCAST]).toEqual([true, 1220, 4, M_BCAST]);
    const cl = mbufs(c).find((x) => x.isExt)!;
    expect(cl.ext).toBe(m.next!.next!.ext);
    expect(cl.ext!.refs).toBe(2);
    expect(mbufs(c).filter((x) => !x.isExt).every((x) => x.buf === x.inline)).toBe(true);
    checkChain(c);
    mFreem(c);
    expect(m.next!.next!.ext!.refs).toBe(1);
    mFreem(m);
    expectIdle(p);
  });

  it.each([[5, 20], [20, 1000], [25, 10], [1100, 120], [0, 1220], [1219, 1], [0, 15]])('copies off %i len %i', (off, len) => {
    const p = pool();
    const m = mk(p);
    const c = mCopym(m, off, len)!;
    expect(mToBytes(c)).toEqual(seq(1220).subarray(off, off + len));
    expect(c.hasPkthdr).toBe(off === 0);
    checkChain(c);
    mFreem(c); mFreem(m);
    expectIdle(p);
  });

  it('gives one empty mbuf for an empty range, null past the end', () => {
    const p = pool();
    const m = mk(p);
    const e1 = mCopym(m, 1220, null)!;
    const e2 = mCopym(m, 0, 0)!;
    expect([e1.len, e1.next, e1.hasPkthdr]).toEqual([0, null, false]);
    expect([e2.len, e2.hasPkthdr, e2.pktLen]).toEqual([0, true, 0]);
    expect(mCopym(m, 1221, null)).toBeNull();
    expect(mCopym(m, 1000, 221)).toBeNull();
    expect(mCopym(m, -1, 1)).toBeNull();
    expect(mCopym(m, 0, -1)).toBeNull();
    mFreem(e1); mFreem(e2); mFreem(m);
    expectIdle(p);
  });

  it('copies a long inline pkthdr head into an mbuf with MLEN room', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: 0, bytes: seq(MLEN) }], false)!;
    mFixupPktLen(m);
    const c = mCopym(m, 0, null)!;
    expect(mToBytes(c)).toEqual(seq(MLEN));
    checkChain(c);
    mFreem(c); mFreem(m);
    expectIdle(p);
  });

  it('frees what it built when the pool runs out', () => {
    const p = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxMbufs: 6 });
    const m = mk(p);
    expect(mCopym(m, 0, null)).toBeNull();
    expect(p.stats.mbufsInUse).toBe(4);
    expect(m.next!.next!.ext!.refs).toBe(1);
    mFreem(m);
    expectIdle(p);
  });
});

describe('mDup', () => {
  it('deep-copies: no shared clusters, the original can change', () => {
    const p = pool();
    const m = mk(p);
    m.rcvif = 2;
    const d = mDup(m)!;
    expect(mToBytes(d)).toEqual(seq(1220));
    expect([d.hasPkthdr, d.pktLen, d.rcvif]).toEqual([true, 1220, 2]);
    expect(mbufs(d).every((x) => x.writable)).toBe(true);
    expect(mbufs(m).every((x) => x.writable)).toBe(true);
    mCopyback(m, 0, 1220, new Uint8Array(1220), 0);
    expect(mToBytes(d)).toEqual(seq(1220));
    checkChain(d);
    mFreem(d); mFreem(m);
    expectIdle(p);
  });

  it('copies a chain without a pkthdr, an empty chain, and one above 64 KB', () => {
    const p = pool();
    const m = mk(p, false);
    const d = mDup(m)!;
    expect(d.hasPkthdr).toBe(false);
    expect(mToBytes(d)).toEqual(seq(1220));
    const e = mDup(p.get(MT_DATA)!)!;
    expect(mLength(e)).toBe(0);
    const big = mFromBytes(p, seq(100_000))!;
    const bd = mDup(big)!;
    expect(mToBytes(bd)).toEqual(seq(100_000));
    checkChain(bd);
    mFreem(m); mFreem(d); mFreem(e); mFreem(big); mFreem(bd);
    expect(p.stats.mbufsInUse).toBe(1); // the empty source mbuf
  });

  it('falls back to small mbufs when clusters are over budget, and fails cleanly', () => {
    const p = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxClusterBytes: MCLBYTES });
    const m = mFromBytes(p, seq(1000))!;
    const d = mDup(m)!;
    expect(mToBytes(d)).toEqual(seq(1000));
    expect(mbufs(d).every((x) => !x.isExt)).toBe(true);
    p.limits.maxMbufs = p.stats.mbufsInUse + 2;
    expect(mDup(m)).toBeNull();
    mFreem(m); mFreem(d);
    expectIdle(p);
  });
});

describe('mFromBytes / mToBytes', () => {
  it('leaves leading room and sets pktLen', () => {
    const p = pool();
    const m = mFromBytes(p, seq(100), 54)!;
    expect([m.leadingSpace, m.len, m.pktLen]).toEqual([54, 100, 100]);
    expect(mToBytes(m)).toEqual(seq(100));
    mFreem(m);
    const s = mFromBytes(p, seq(20), 16)!;
    expect([s.isExt, s.leadingSpace]).toEqual([false, 16]);
    mFreem(s);
    expectIdle(p);
  });

  it('builds a chain above 64 KB and handles empty input', () => {
    const p = pool();
    const m = mFromBytes(p, seq(150_000), 100)!;
    expect(mToBytes(m)).toEqual(seq(150_000));
    expect(m.pktLen).toBe(150_000);
    expect(m.leadingSpace).toBe(100);
    checkChain(m);
    const e = mFromBytes(p, new Uint8Array(0))!;
    expect([e.len, e.pktLen]).toEqual([0, 0]);
    expect(mFromBytes(p, seq(1), -1)).toBeNull();
    expect(mToBytes(null)).toEqual(new Uint8Array(0));
    mFreem(m); mFreem(e);
    expectIdle(p);
  });
});
