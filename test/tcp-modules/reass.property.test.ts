// Reassembly properties: a random byte string, cut into random segments plus random overlapping
// and duplicate retransmissions, delivered in random order (starting anywhere in sequence space,
// including just below 2^32) always comes out of takeInOrder exactly, with the FIN, and every mbuf
// goes back to the pool. With tight caps, segments dropped as 'dropped-full' are retransmitted
// later, and the transfer still completes because the segment at rcv_nxt is always accepted.

import { describe, it } from 'vitest';
import fc from 'fast-check';
import { MbufPool, mFreem, mToBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { TcpReassQueue } from '../../stack/tcp/tcp-reass.js';
import { seqAdd } from '../../stack/wire/seq.js';
import { chainOf } from './fixtures.js';

interface Seg { a: number; b: number; key: number }
interface Case {
  data: Uint8Array;
  base: number;
  cuts: number[];
  extras: [number, number][];
  keys: number[];
  piece: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 1500 }),
  base: fc.oneof(fc.constant(0xffffffff), fc.constant(0xfffffe00), fc.nat({ max: 0xffffffff })),
  cuts: fc.array(fc.nat({ max: 1500 }), { maxLength: 30 }),
  extras: fc.array(fc.tuple(fc.nat({ max: 1500 }), fc.nat({ max: 400 })), { maxLength: 15 }),
  keys: fc.array(fc.nat(), { minLength: 50, maxLength: 50 }),
  piece: fc.integer({ min: 1, max: 80 }),
});

function segmentsOf(c: Case): Seg[] {
  const n = c.data.length;
  const points = [...new Set([0, n, ...c.cuts.map((x) => x % (n + 1))])].sort((x, y) => x - y);
  const segs: Seg[] = [];
  for (let i = 0; i + 1 < points.length; i++) segs.push({ a: points[i]!, b: points[i + 1]!, key: 0 });
  for (const [a0, l] of c.extras) {
    const a = a0 % n;
    segs.push({ a, b: Math.min(n, a + l), key: 0 });
  }
  segs.forEach((s, i) => { s.key = c.keys[i % c.keys.length]! * 64 + i; });
  return segs.sort((x, y) => x.key - y.key);
}

function transfer(c: Case, maxBytes: number, maxSegs: number): void {
  const pool = new MbufPool();
  const q = new TcpReassQueue(maxBytes, maxSegs);
  const n = c.data.length;
  let pending = segmentsOf(c);
  let rcvNxt = c.base;
  let got = 0;
  let fin = false;
  const out: { m: Mbuf | null; len: number; fin: boolean } = { m: null, len: 0, fin: false };
  const received = new Uint8Array(n);
  const starts = new Uint32Array(2048), ends = new Uint32Array(2048);
  for (let pass = 0; pending.length > 0 && pass < n + 5; pass++) {
    const retry: Seg[] = [];
    for (const s of pending) {
      const len = s.b - s.a;
      const m = chainOf(pool, c.data.subarray(s.a, s.b), c.piece);
      const r = q.insert(seqAdd(c.base, s.a), m, len, s.b === n, rcvNxt);
      if (r === 'dropped-full') retry.push(s);
      if (q.takeInOrder(rcvNxt, out)) {
        const bytes = mToBytes(out.m);
        if (bytes.length !== out.len) throw new Error('chain length != reported len');
        if (out.m !== null && out.m.hasPkthdr && out.m.pktLen !== out.len) throw new Error('pktLen');
        received.set(bytes, got);
        got += out.len;
        rcvNxt = seqAdd(rcvNxt, out.len);
        if (out.fin) fin = true;
        mFreem(out.m);
      } else if (out.m !== null || out.len !== 0 || out.fin) {
        throw new Error('takeInOrder false but out not cleared');
      }
      // Accounting matches the queue's contents.
      const k = q.blocks(starts, ends);
      let sum = 0;
      for (let i = 0; i < k; i++) sum += (ends[i]! - starts[i]!) >>> 0;
      if (sum !== q.bytes) throw new Error(`bytes ${q.bytes} != blocks ${sum}`);
    }
    pending = retry;
  }
  if (got !== n) throw new Error(`received ${got} of ${n}`);
  if (!fin) throw new Error('FIN not reported');
  for (let i = 0; i < n; i++) if (received[i] !== c.data[i]) throw new Error(`byte ${i} differs`);
  if (!q.isEmpty || q.bytes !== 0 || q.segments !== 0) throw new Error('queue not empty');
  q.flush();
  if (pool.stats.mbufsInUse !== 0) throw new Error(`${pool.stats.mbufsInUse} mbufs leaked`);
}

describe('TcpReassQueue properties', () => {
  it('reconstructs the exact stream from any segmentation and order, freeing every mbuf', () => {
    fc.assert(fc.property(caseArb, (c) => transfer(c, 1 << 20, 1024)), { numRuns: 200 });
  });

  it('completes under tight caps by retransmitting dropped segments', () => {
    fc.assert(fc.property(caseArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 600 }),
      (c, segs, bytes) => transfer(c, bytes, segs)), { numRuns: 150 });
  });
});
