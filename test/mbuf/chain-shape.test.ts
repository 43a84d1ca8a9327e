import { describe, expect, it } from 'vitest';
import {
  M_BCAST, MCLBYTES, MHLEN, MLEN, MT_DATA, DEFAULT_POOL_LIMITS, MbufPool, mAdj, mCat, mCatPkt, mCopym,
  mFixupPktLen, mFreem, mFromBytes, mLast, mLength, mPrepend, mPulldown, mPullup, mSplit, mToBytes,
} from '../../stack/mbuf/index.js';
import { buildChain, bytesOf, checkChain, concat, expectIdle, mbufs, seq } from './helpers.js';

const pool = () => new MbufPool();

describe('mAdj', () => {
  // chain: [10 inline][0 empty][20 cluster][5 inline]
  const mk = (p: MbufPool) => buildChain(p, [
    { cluster: false, lead: 8, bytes: seq(10, 0) },
    { cluster: false, lead: 0, bytes: seq(0) },
    { cluster: true, lead: 16, bytes: seq(20, 10) },
    { cluster: false, lead: 0, bytes: seq(5, 30) },
  ])!;

  it.each([0, 3, 10, 12, 30, 35, 99])('trims %i bytes from the head', (n) => {
    const p = pool();
    const m = mk(p);
    mAdj(m, n);
    expect(mToBytes(m)).toEqual(seq(35).subarray(Math.min(n, 35)));
    expect(mbufs(m)).toHaveLength(4); // emptied mbufs stay, as in BSD
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });

  it.each([3, 5, 20, 25, 35, 99])('trims %i bytes from the tail', (n) => {
    const p = pool();
    const m = mk(p);
    mAdj(m, -n);
    expect(mToBytes(m)).toEqual(seq(35).subarray(0, Math.max(0, 35 - n)));
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });

  it('ignores a non-integer request', () => {
    const p = pool();
    const m = mk(p);
    for (const bad of [NaN, 1.5, Infinity, -Infinity]) mAdj(m, bad);
    expect(mToBytes(m)).toEqual(seq(35));
    checkChain(m);
    mFreem(m);
  });
});

describe('mPrepend', () => {
  it('uses leading space of a writable head and keeps the head', () => {
    const p = pool();
    const m = mFromBytes(p, seq(100), 40)!;
    const h = mPrepend(m, 20)!;
    expect(h).toBe(m);
    expect(h.len).toBe(120);
    expect(h.pktLen).toBe(120);
    expect(h.leadingSpace).toBe(20);
    checkChain(h);
    mFreem(h);
    expectIdle(p);
  });

  it('prepends a new mbuf that takes over the pkthdr, aligned to its end', () => {
    const p = pool();
    const m = mFromBytes(p, seq(100))!;
    m.rcvif = 7; m.flags |= M_BCAST;
    const h = mPrepend(m, 20)!;
    expect(h).not.toBe(m);
    expect(h.next).toBe(m);
    expect(h.hasPkthdr).toBe(true);
    expect(m.hasPkthdr).toBe(false);
    expect(m.flags & M_BCAST).toBe(0);
    expect([h.rcvif, h.flags & M_BCAST, h.pktLen, h.len]).toEqual([7, M_BCAST, 120, 20]);
    expect(h.trailingSpace).toBe(0);
    expect(h.leadingSpace).toBe(MHLEN - 20);
    // The next prepend finds the room in front.
    const h2 = mPrepend(h, 14)!;
    expect(h2).toBe(h);
    expect(h2.pktLen).toBe(134);
    checkChain(h2);
    expect(mToBytes(h2).subarray(34)).toEqual(seq(100));
    mFreem(h2);
    expectIdle(p);
  });

  it('never writes into a shared cluster: leading space is 0 while it is shared', () => {
    const p = pool();
    const m = mFromBytes(p, seq(100), 40)!;
    const c = mCopym(m, 0, null)!;
    expect(m.leadingSpace).toBe(0);
    const h = mPrepend(m, 8)!;
    expect(h).not.toBe(m);
    h.buf.fill(0xee, h.data, h.data + h.len);
    expect(mToBytes(c)).toEqual(seq(100));
    expect(c.buf.subarray(c.data - 40, c.data)).toEqual(new Uint8Array(40)); // the leading room is untouched
    mFreem(h); mFreem(c);
    expectIdle(p);
  });

  it('without a pkthdr allows up to MLEN in the new mbuf', () => {
    const p = pool();
    const m = p.get(MT_DATA)!;
    m.len = 10;
    const h = mPrepend(m, MLEN)!;
    expect(h.len).toBe(MLEN);
    expect(h.hasPkthdr).toBe(false);
    mFreem(h);
    expectIdle(p);
  });

  it('frees the chain and returns null when len exceeds MHLEN, is bad, or the pool is empty', () => {
    const p = pool();
    expect(mPrepend(mFromBytes(p, seq(10))!, MHLEN + 1)).toBeNull();
    expect(mPrepend(mFromBytes(p, seq(10))!, -1)).toBeNull();
    expectIdle(p);
    const q = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxMbufs: 1 });
    expect(mPrepend(mFromBytes(q, seq(10))!, 20)).toBeNull();
    expect(q.stats.drops).toBe(1);
    expectIdle(q);
  });

  it('len 0 returns the chain unchanged', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!;
    expect(mPrepend(m, 0)).toBe(m);
    expect(m.pktLen).toBe(10);
    mFreem(m);
  });
});

describe('mPullup', () => {
  const three = (p: MbufPool) => buildChain(p, [
    { cluster: true, lead: 0, bytes: seq(10) },
    { cluster: false, lead: 0, bytes: seq(0) },
    { cluster: false, lead: 0, bytes: seq(30, 10) },
    { cluster: true, lead: 0, bytes: seq(200, 40) },
  ])!;

  it('returns the head unchanged when it already holds len bytes', () => {
    const p = pool();
    const m = three(p);
    expect(mPullup(m, 10)).toBe(m);
    expect(mPullup(m, 0)).toBe(m);
    expect(mbufs(m)).toHaveLength(4);
    mFreem(m);
  });

  it('pulls into a writable head and frees the mbufs it empties', () => {
    const p = pool();
    const m = three(p);
    const h = mPullup(m, 45)!;
    expect(h).toBe(m); // an exclusively owned cluster with room
    expect(h.len).toBe(45);
    expect(mbufs(h)).toHaveLength(2); // the empty and the drained inline mbuf are gone
    expect(p.stats.mbufsInUse).toBe(2);
    expect(mToBytes(h)).toEqual(seq(240));
    checkChain(h);
    mFreem(h);
    expectIdle(p);
  });

  it('slides an inline head down when only that makes room', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: 100, bytes: seq(20) }, { cluster: false, lead: 0, bytes: seq(100, 20) }])!;
    const h = mPullup(m, 120)!;
    expect(h).toBe(m);
    expect(h.data).toBe(h.start);
    expect(mToBytes(h)).toEqual(seq(120));
    mFreem(h);
    expectIdle(p);
  });

  it('takes a new head with the pkthdr when the head is a shared cluster', () => {
    const p = pool();
    const m = three(p);
    m.rcvif = 9;
    const keep = mCopym(m, 0, null)!;
    const h = mPullup(m, 45)!;
    expect(h).not.toBe(m);
    expect([h.hasPkthdr, h.rcvif, h.pktLen, h.len, h.isExt]).toEqual([true, 9, 240, 45, false]);
    expect(mToBytes(h)).toEqual(seq(240));
    expect(mToBytes(keep)).toEqual(seq(240));
    checkChain(h);
    mFreem(h); mFreem(keep);
    expectIdle(p);
  });

  it('len > MHLEN with a new header mbuf needed frees the chain and returns null', () => {
    const p = pool();
    const m = three(p);
    const keep = mCopym(m, 0, null)!; // the head cluster is shared: no pulling into it
    expect(mPullup(m, MHLEN + 1)).toBeNull();
    mFreem(keep);
    expectIdle(p);
  });

  it('frees the chain when it is shorter than len', () => {
    const p = pool();
    expect(mPullup(three(p), 241)).toBeNull();
    expect(mPullup(three(p), NaN)).toBeNull();
    expectIdle(p);
  });

  it('without a pkthdr a new head may hold up to MLEN', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: MLEN - 4, bytes: seq(4) }, { cluster: true, lead: 0, bytes: seq(500, 4) }], false)!;
    const h = mPullup(m, MLEN)!;
    expect(h.len).toBe(MLEN);
    expect(mToBytes(h)).toEqual(seq(504));
    mFreem(h);
    expectIdle(p);
  });
});

describe('mPulldown', () => {
  const out = { value: -1 };
  // [pkthdr inline 20, lead 8][0][cluster 30][inline 40, lead 50]
  const mk = (p: MbufPool) => buildChain(p, [
    { cluster: false, lead: 8, bytes: seq(20) },
    { cluster: false, lead: 0, bytes: seq(0) },
    { cluster: true, lead: 64, bytes: seq(30, 20) },
    { cluster: false, lead: 50, bytes: seq(40, 50) },
  ])!;

  it('returns the mbuf and offset when the range is already contiguous', () => {
    const p = pool();
    const m = mk(p);
    const n = mPulldown(m, 25, 10, out)!;
    expect(n).toBe(m.next!.next);
    expect(out.value).toBe(5);
    expect(mPulldown(m, 20, 0, out)).toBe(m.next!.next); // empty mbufs are skipped
    expect(out.value).toBe(0);
    mFreem(m);
  });

  it('extends an mbuf with trailing room', () => {
    const p = pool();
    const m = mk(p);
    const n = mPulldown(m, 15, 20, out)!;
    expect(n).toBe(m);
    expect(out.value).toBe(15);
    expect(n.bytes().subarray(15, 35)).toEqual(seq(20, 15));
    expect(mToBytes(m)).toEqual(seq(90));
    checkChain(m);
    mFreem(m);
  });

  it('moves the front part into the next mbuf\'s leading room', () => {
    const p = pool();
    const m = mk(p);
    const c = mCopym(m, 0, 50)!; // share the cluster: no trailing room in it
    const n = mPulldown(m, 40, 20, out)!;
    expect(n).toBe(mLast(m));
    expect(out.value).toBe(0);
    expect(n.bytes().subarray(0, 20)).toEqual(seq(20, 40));
    expect(mToBytes(m)).toEqual(seq(90));
    expect(mToBytes(c)).toEqual(seq(50));
    checkChain(m);
    mFreem(m); mFreem(c);
    expectIdle(p);
  });

  it('inserts a new mbuf otherwise, keeping the head and its pkthdr', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: true, lead: 0, bytes: seq(30) }, { cluster: false, lead: 0, bytes: seq(40, 30) }])!;
    const c = mCopym(m, 0, null)!; // the head cluster is shared: no trailing room
    const n = mPulldown(m, 10, 50, out)!;
    expect(out.value).toBe(0);
    expect(n).toBe(m.next);
    expect([m.len, m.hasPkthdr, m.pktLen, n.isExt]).toEqual([10, true, 70, false]);
    expect(n.bytes().subarray(0, 50)).toEqual(seq(50, 10));
    expect(mToBytes(m)).toEqual(seq(70));
    expect(mToBytes(c)).toEqual(seq(70));
    checkChain(m);
    mFreem(m); mFreem(c);
    expectIdle(p);
  });

  it('uses a cluster for a range above MLEN', () => {
    const p = pool();
    const m = mFromBytes(p, seq(3000))!;
    const t = mSplit(m, 100)!; // m: 100 bytes sharing the cluster with t
    mCat(m, t);
    const n = mPulldown(m, 50, 1000, out)!;
    expect(n.isExt).toBe(true);
    expect(n.bytes().subarray(out.value, out.value + 1000)).toEqual(seq(1000, 50));
    expect(mToBytes(m)).toEqual(seq(3000));
    mFreem(m);
    expectIdle(p);
  });

  it.each([[90, 0], [91, 0], [80, 11], [0, MCLBYTES + 1], [-1, 1], [1.5, 1]])('off %i len %i frees the chain and returns null', (off, len) => {
    const p = pool();
    expect(mPulldown(mk(p), off, len, out)).toBeNull();
    expectIdle(p);
  });
});

describe('mSplit', () => {
  const mk = (p: MbufPool) => buildChain(p, [
    { cluster: false, lead: 4, bytes: seq(20) },
    { cluster: false, lead: 0, bytes: seq(0) },
    { cluster: true, lead: 0, bytes: seq(1000, 20) },
    { cluster: false, lead: 0, bytes: seq(200, 1020) },
  ])!;

  it.each([0, 1, 20, 21, 1020, 1100, 1219, 1220])('splits at %i with pkthdr lengths divided', (at) => {
    const p = pool();
    const m = mk(p);
    m.rcvif = 5;
    const t = mSplit(m, at)!;
    expect(mToBytes(m)).toEqual(seq(1220).subarray(0, at));
    expect(mToBytes(t)).toEqual(seq(1220).subarray(at));
    expect([m.pktLen, t.pktLen, t.hasPkthdr, t.rcvif]).toEqual([at, 1220 - at, true, 5]);
    checkChain(m); checkChain(t);
    mFreem(m); mFreem(t);
    expectIdle(p);
  });

  it('returns null and leaves the chain untouched past the end or on a bad offset', () => {
    const p = pool();
    const m = mk(p);
    for (const at of [1221, -1, NaN]) expect(mSplit(m, at)).toBeNull();
    expect(mToBytes(m)).toEqual(seq(1220));
    expect(p.stats.mbufsInUse).toBe(4);
    mFreem(m);
  });

  it('shares a cluster cut in the middle: refs 2, both halves read-only', () => {
    const p = pool();
    const m = mk(p);
    const t = mSplit(m, 500)!;
    const left = mLast(m);
    expect(left.ext).toBe(t.ext);
    expect(t.ext!.refs).toBe(2);
    for (const x of [left, t]) expect([x.writable, x.leadingSpace, x.trailingSpace]).toEqual([false, 0, 0]);
    mFreem(t);
    expect(left.ext!.refs).toBe(1);
    expect(left.trailingSpace).toBeGreaterThan(0);
    mFreem(m);
    expectIdle(p);
  });

  it('without a pkthdr, a split on a boundary hands over the following mbufs', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: 0, bytes: seq(5) }, { cluster: false, lead: 0, bytes: seq(5, 5) }], false)!;
    const second = m.next;
    const t = mSplit(m, 5)!;
    expect(t).toBe(second);
    expect(p.stats.mbufsInUse).toBe(2);
    const end = mSplit(t, 5)!; // at the end: an empty mbuf, never null on success
    expect(end.len).toBe(0);
    mFreem(m); mFreem(t); mFreem(end);
    expectIdle(p);
  });

  it('an inline pkthdr tail above MHLEN goes behind an empty header mbuf', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: 0, bytes: seq(MLEN) }], false)!;
    mFixupPktLen(m);
    const t = mSplit(m, 10)!;
    expect([t.hasPkthdr, t.len, t.pktLen, t.next!.len]).toEqual([true, 0, MLEN - 10, MLEN - 10]);
    expect(mToBytes(t)).toEqual(seq(MLEN).subarray(10));
    checkChain(t);
    mFreem(m); mFreem(t);
    expectIdle(p);
  });

  it('leaves the chain untouched when the pool is exhausted', () => {
    const p = new MbufPool({ ...DEFAULT_POOL_LIMITS, maxMbufs: 4 });
    const m = mk(p);
    expect(mSplit(m, 10)).toBeNull();
    expect(mSplit(m, 500)).toBeNull();
    expect(mToBytes(m)).toEqual(seq(1220));
    expect(m.pktLen).toBe(1220);
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });
});

describe('mCat', () => {
  it('copies small inline data into trailing space and frees those mbufs', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!;
    const n = buildChain(p, [{ cluster: false, lead: 0, bytes: seq(5, 10) }, { cluster: false, lead: 3, bytes: seq(5, 15) }])!;
    mCat(m, n);
    expect(mbufs(m)).toHaveLength(1);
    expect(mToBytes(m)).toEqual(seq(20));
    expect(m.pktLen).toBe(10); // XNU's mbuf_concatenate leaves pkthdr len alone
    expect(p.stats.mbufsInUse).toBe(1);
    mFreem(m);
    expectIdle(p);
  });

  it('links clusters, links the rest at the first misfit, and drops the pkthdr of n', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!;
    const n = buildChain(p, [{ cluster: true, lead: 0, bytes: seq(5, 10) }, { cluster: false, lead: 0, bytes: seq(5, 15) }])!;
    mCat(m, n);
    expect(mbufs(m)).toEqual([m, n, n.next]);
    expect(n.hasPkthdr).toBe(false);
    expect(mToBytes(m)).toEqual(seq(20));
    mFreem(m);
    expectIdle(p);
  });

  it('does not copy into a shared cluster', () => {
    const p = pool();
    const m = mFromBytes(p, seq(300))!;
    const c = mCopym(m, 0, null)!;
    mCat(m, mFromBytes(p, bytesOf(1, 2, 3)));
    expect(mbufs(m)).toHaveLength(2);
    expect(mToBytes(c)).toEqual(seq(300));
    expect(c.buf.subarray(c.data + 300, c.data + 303)).toEqual(new Uint8Array(3));
    mFreem(m); mFreem(c);
    expectIdle(p);
  });

  it('mCatPkt adds the length to the pkthdr; null and self are no-ops', () => {
    const p = pool();
    const m = mFromBytes(p, seq(10))!;
    mCatPkt(m, mFromBytes(p, seq(3000, 10)));
    expect(m.pktLen).toBe(3010);
    mCatPkt(m, null);
    mCat(m, null);
    mCat(m, m);
    expect(mToBytes(m)).toEqual(seq(3010));
    checkChain(m);
    mFreem(m);
    expectIdle(p);
  });
});

describe('mFixupPktLen', () => {
  it('sets pktLen from the chain and adds a pkthdr when missing', () => {
    const p = pool();
    const m = buildChain(p, [{ cluster: false, lead: 0, bytes: seq(7) }, { cluster: true, lead: 0, bytes: seq(9) }], false)!;
    mFixupPktLen(m);
    expect([m.hasPkthdr, m.pktLen]).toEqual([true, 16]);
    expect(mLength(m)).toBe(16);
    expect(concat(seq(7), seq(9))).toEqual(mToBytes(m));
    mFreem(m);
    expectIdle(p);
  });
});
