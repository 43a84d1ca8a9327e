// TCP reassembly queue (BSD tcp_reass): in-order delivery, BSD overlap policy, duplicates, FIN,
// memory caps with the rcv_nxt exemption, SACK block export, and no leaked mbufs.

import { describe, expect, it } from 'vitest';
import { MbufPool, mFreem } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { TcpReassQueue } from '../../stack/tcp/tcp-reass.js';
import { seqAdd } from '../../stack/wire/seq.js';
import { bytesOfChain, chainOf, filled, pattern } from './fixtures.js';

interface Out { m: Mbuf | null; len: number; fin: boolean }
const newOut = (): Out => ({ m: null, len: 0, fin: false });

/** A queue, its pool, and helpers that build a segment's chain from a byte value or pattern. */
function setup(maxBytes = 1 << 20, maxSegs = 1024) {
  const pool = new MbufPool();
  const q = new TcpReassQueue(maxBytes, maxSegs);
  const seg = (seq: number, data: Uint8Array, rcvNxt: number, fin = false) =>
    q.insert(seq, chainOf(pool, data, 48), data.length, fin, rcvNxt);
  /** takeInOrder, returning the bytes (and freeing the chain). */
  const take = (rcvNxt: number): { ok: boolean; bytes: Uint8Array; fin: boolean; len: number } => {
    const out = newOut();
    const ok = q.takeInOrder(rcvNxt, out);
    const bytes = bytesOfChain(out.m);
    if (out.m !== null) {
      expect(out.m.hasPkthdr ? out.m.pktLen : out.len).toBe(out.len);
      mFreem(out.m);
    }
    return { ok, bytes, fin: out.fin, len: out.len };
  };
  return { pool, q, seg, take };
}

describe('TcpReassQueue', () => {
  it('delivers contiguous segments in one chain', () => {
    const { pool, q, seg, take } = setup();
    const data = pattern(300);
    expect(seg(1200, data.subarray(200, 300), 1000)).toBe('queued');
    expect(take(1000).ok).toBe(false);
    expect(seg(1100, data.subarray(100, 200), 1000)).toBe('queued');
    expect([q.bytes, q.segments]).toEqual([200, 2]);
    expect(seg(1000, data.subarray(0, 100), 1000)).toBe('queued');
    const r = take(1000);
    expect(r).toMatchObject({ ok: true, len: 300, fin: false });
    expect(r.bytes).toEqual(data);
    expect(q.isEmpty).toBe(true);
    expect([q.bytes, q.segments]).toEqual([0, 0]);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('stops at a gap and keeps what lies beyond', () => {
    const { pool, q, seg, take } = setup();
    seg(0, filled(100, 1), 0);
    seg(200, filled(100, 3), 0);
    const r = take(0);
    expect(r.len).toBe(100);
    expect(q.segments).toBe(1);
    expect(take(100).ok).toBe(false);
    seg(100, filled(100, 2), 100);
    expect(take(100).bytes).toEqual(new Uint8Array([...filled(100, 2), ...filled(100, 3)]));
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('trims the new segment against its predecessor, keeping the old data', () => {
    const { pool, q, seg, take } = setup();
    expect(seg(100, filled(100, 0xaa), 0)).toBe('queued');
    expect(seg(150, filled(100, 0xbb), 0)).toBe('partial-duplicate');
    expect([q.dupStart, q.dupEnd]).toEqual([150, 200]);
    expect([q.bytes, q.segments]).toEqual([150, 2]);
    seg(0, filled(100, 0xcc), 0);
    const r = take(0);
    expect(r.bytes).toEqual(new Uint8Array([...filled(100, 0xcc), ...filled(100, 0xaa), ...filled(50, 0xbb)]));
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('removes successors the new segment covers and trims one it overlaps (BSD)', () => {
    const { pool, q, seg, take } = setup();
    seg(200, filled(100, 0xaa), 0); // [200,300)
    seg(400, filled(100, 0xab), 0); // [400,500)
    seg(600, filled(100, 0xac), 0); // [600,700)
    expect(seg(150, filled(400, 0xbb), 0)).toBe('partial-duplicate'); // [150,550): covers 200..300 and 400..500
    expect([q.dupStart, q.dupEnd]).toEqual([200, 300]);
    expect([q.bytes, q.segments]).toEqual([500, 2]);
    expect(seg(500, filled(150, 0xcc), 0)).toBe('partial-duplicate'); // [500,650): trims [600,700) to [650,700)
    expect([q.bytes, q.segments]).toEqual([550, 3]);
    const starts = new Uint32Array(4), ends = new Uint32Array(4);
    expect(q.blocks(starts, ends)).toBe(1);
    expect([starts[0], ends[0]]).toEqual([150, 700]);
    seg(0, filled(150, 0x11), 0);
    const r = take(0);
    expect(r.bytes).toEqual(new Uint8Array([...filled(150, 0x11), ...filled(400, 0xbb), ...filled(100, 0xcc), ...filled(50, 0xac)]));
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('reports duplicates: below rcv_nxt, or entirely queued already', () => {
    const { pool, q, seg } = setup();
    expect(seg(0, filled(100, 1), 500)).toBe('duplicate');
    expect([q.dupStart, q.dupEnd]).toEqual([0, 100]);
    expect(seg(400, filled(200, 1), 500)).toBe('partial-duplicate'); // trimmed to [500,600)
    expect(seg(700, filled(100, 1), 500)).toBe('queued');
    expect(seg(720, filled(50, 1), 500)).toBe('duplicate');
    expect(seg(700, filled(100, 1), 500)).toBe('duplicate');
    expect([q.dupStart, q.dupEnd]).toEqual([700, 800]);
    expect(seg(550, new Uint8Array(0), 500)).toBe('duplicate'); // nothing to queue
    expect([q.bytes, q.segments]).toEqual([200, 2]);
    q.flush();
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('partial overlap with rcv_nxt: the old part is cut, the rest queued', () => {
    const { pool, q, seg, take } = setup();
    expect(seg(900, pattern(300), 1000)).toBe('partial-duplicate');
    expect([q.dupStart, q.dupEnd]).toEqual([900, 1000]);
    const r = take(1000);
    expect(r.bytes).toEqual(pattern(300).subarray(100));
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('reports the FIN once the data before it is in', () => {
    const { pool, seg, take } = setup();
    expect(seg(100, filled(100, 2), 0, true)).toBe('queued');
    expect(take(0)).toMatchObject({ ok: false, fin: false });
    seg(0, filled(100, 1), 0);
    expect(take(0)).toMatchObject({ ok: true, len: 200, fin: true });
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('queues a FIN without data, and a FIN that arrives on already-queued data', () => {
    const { pool, q, seg, take } = setup();
    expect(seg(300, new Uint8Array(0), 0, true)).toBe('queued');
    expect(q.segments).toBe(1);
    seg(100, filled(200, 2), 0);
    seg(0, filled(100, 1), 0);
    expect(take(0)).toMatchObject({ ok: true, len: 300, fin: true });
    expect(q.isEmpty).toBe(true);

    expect(seg(100, filled(100, 1), 0)).toBe('queued');
    expect(seg(100, filled(100, 1), 0, true)).toBe('partial-duplicate'); // only the FIN is new
    expect(seg(100, filled(100, 1), 0, true)).toBe('duplicate');
    seg(0, filled(100, 0), 0);
    expect(take(0)).toMatchObject({ ok: true, len: 200, fin: true });
    // A FIN-only segment at rcv_nxt.
    expect(seg(500, new Uint8Array(0), 500, true)).toBe('queued');
    expect(take(500)).toMatchObject({ ok: true, len: 0, fin: true });
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('frees whatever sits past a FIN', () => {
    const { pool, q, seg, take } = setup();
    seg(100, filled(100, 1), 0, true);
    seg(300, filled(100, 1), 0); // bogus: data after the FIN
    seg(0, filled(100, 1), 0);
    expect(take(0)).toMatchObject({ len: 200, fin: true });
    expect(q.isEmpty).toBe(true);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('drops when full, but always accepts the segment at rcv_nxt', () => {
    const { pool, q, seg, take } = setup(250, 2);
    expect(seg(100, filled(100, 1), 0)).toBe('queued');
    expect(seg(300, filled(100, 3), 0)).toBe('queued');
    expect(seg(500, filled(10, 5), 0)).toBe('dropped-full'); // segment cap
    expect(seg(200, filled(100, 2), 0)).toBe('dropped-full');
    expect(seg(0, filled(100, 0), 0)).toBe('queued'); // progress, though over both caps
    expect([q.bytes, q.segments]).toEqual([300, 3]);
    expect(take(0).len).toBe(200);
    const small = setup(150, 10);
    expect(small.seg(100, filled(100, 1), 0)).toBe('queued');
    expect(small.seg(300, filled(100, 1), 0)).toBe('dropped-full'); // byte cap
    expect(small.seg(100, filled(100, 1), 0)).toBe('duplicate'); // duplicates are still recognized
    small.q.flush();
    q.flush();
    expect(pool.stats.mbufsInUse).toBe(0);
    expect(small.pool.stats.mbufsInUse).toBe(0);
  });

  it('exports coalesced blocks for SACK, bounded by the arrays', () => {
    const { q, seg } = setup();
    seg(100, filled(100, 1), 0);
    seg(200, filled(50, 1), 0);
    seg(400, filled(100, 1), 0);
    seg(700, filled(100, 1), 0);
    seg(900, new Uint8Array(0), 0, true);
    const s = new Uint32Array(8), e = new Uint32Array(8);
    expect(q.blocks(s, e)).toBe(3);
    expect([...s.subarray(0, 3)]).toEqual([100, 400, 700]);
    expect([...e.subarray(0, 3)]).toEqual([250, 500, 800]);
    expect(q.blocks(s.subarray(0, 2), e.subarray(0, 2))).toBe(2);
    q.flush();
  });

  it('works across the 2^32 wrap', () => {
    const { pool, q, seg, take } = setup();
    const base = 0xffffff80;
    const data = pattern(400);
    expect(seg(seqAdd(base, 200), data.subarray(200, 400), base)).toBe('queued');
    expect(seg(seqAdd(base, 100), data.subarray(100, 300), base)).toBe('partial-duplicate');
    expect(seg(base, data.subarray(0, 150), base)).toBe('partial-duplicate');
    expect([q.bytes, q.segments]).toEqual([400, 3]);
    const r = take(base);
    expect(r.bytes).toEqual(data);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('returns every mbuf to the pool on flush and reuses its records', () => {
    const { pool, q, seg } = setup();
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 50; i++) seg(i * 200, pattern(150), 0, i === 50);
      expect(q.segments).toBe(50);
      expect(pool.stats.mbufsInUse).toBeGreaterThan(50);
      q.flush();
      expect([q.bytes, q.segments, q.isEmpty]).toEqual([0, 0, true]);
      expect(pool.stats.mbufsInUse).toBe(0);
    }
  });
});
