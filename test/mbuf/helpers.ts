// Test helpers for stack/mbuf: build chains segment by segment and check structural invariants.

import { expect } from 'vitest';
import { M_EXT, MHLEN, MLEN, MT_DATA, MbufPool, mLength } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';

/** One mbuf of a hand-built chain: inline or a cluster of `clusterSize`, `lead` bytes of room in front. */
export interface Seg {
  cluster: boolean;
  lead: number;
  bytes: Uint8Array;
  clusterSize?: number;
}

export const bytesOf = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
export const seq = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** Concatenation of arrays (the flat model of a chain). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * Builds a chain with one mbuf per segment; the first gets a pkthdr when `pkthdr` is set.
 * Inline segments are clamped to fit (lead first, then bytes). Returns null if the pool refuses.
 */
export function buildChain(pool: MbufPool, segs: readonly Seg[], pkthdr = true): Mbuf | null {
  let head: Mbuf | null = null;
  let tail: Mbuf | null = null;
  for (const [i, s] of segs.entries()) {
    const m = i === 0 && pkthdr ? pool.getHdr(MT_DATA) : pool.get(MT_DATA);
    if (m === null) { freeAll(pool, head); return null; }
    if (s.cluster && !pool.attachCluster(m, s.clusterSize ?? 2048)) {
      pool.free(m);
      freeAll(pool, head);
      return null;
    }
    const room = m.end - m.start;
    const lead = Math.min(s.lead, room);
    const len = Math.min(s.bytes.length, room - lead);
    m.data = m.start + lead;
    m.buf.set(s.bytes.subarray(0, len), m.data);
    m.len = len;
    if (tail === null) head = m; else tail.next = m;
    tail = m;
  }
  if (head !== null && pkthdr) head.pktLen = mLength(head);
  return head;
}

function freeAll(pool: MbufPool, m: Mbuf | null): void {
  while (m !== null) m = pool.free(m);
}

/** The bytes a segment list really holds after buildChain's clamping. */
export function segBytes(segs: readonly Seg[], pkthdr = true): Uint8Array {
  return concat(...segs.map((s, i) => {
    const room = s.cluster ? Infinity : i === 0 && pkthdr ? MHLEN : MLEN;
    const lead = Math.min(s.lead, room);
    return s.bytes.subarray(0, Math.min(s.bytes.length, room - lead));
  }));
}

/** Mbufs of a chain as an array. */
export function mbufs(m: Mbuf | null): Mbuf[] {
  const out: Mbuf[] = [];
  for (; m !== null; m = m.next) {
    out.push(m);
    if (out.length > 100_000) throw new Error('chain too long or cyclic');
  }
  return out;
}

/** Structural invariants of a live chain: windows inside storage, ext consistent, pkthdr only on the head. */
export function checkChain(m: Mbuf | null, opts: { pktLen?: boolean } = {}): void {
  const all = mbufs(m);
  for (const [i, x] of all.entries()) {
    expect(x.freed, `mbuf ${i} is freed`).toBe(false);
    expect(x.len).toBeGreaterThanOrEqual(0);
    expect(x.start).toBeLessThanOrEqual(x.data);
    expect(x.data + x.len).toBeLessThanOrEqual(x.end);
    expect(x.end).toBeLessThanOrEqual(x.buf.length);
    if (x.ext !== null) {
      expect(x.buf).toBe(x.ext.buf);
      expect(x.ext.refs).toBeGreaterThanOrEqual(1);
      expect(x.flags & M_EXT).toBe(M_EXT);
      expect(x.start).toBe(x.ext.start);
      expect(x.end).toBe(x.ext.start + x.ext.size);
    } else {
      expect(x.buf).toBe(x.inline);
      expect(x.flags & M_EXT).toBe(0);
    }
    if (i > 0) expect(x.hasPkthdr, `pkthdr on mbuf ${i}`).toBe(false);
  }
  if (m !== null && m.hasPkthdr && opts.pktLen !== false) expect(m.pktLen).toBe(mLength(m));
}

/** Asserts the pool has nothing handed out. */
export function expectIdle(pool: MbufPool): void {
  expect(pool.stats.mbufsInUse).toBe(0);
  expect(pool.stats.clusterBytesInUse).toBe(0);
}
