// Model-based properties for mbuf chains: random chains (inline and cluster mbufs, random leading
// room, empty mbufs) evolve under random operations next to a flat Uint8Array model. After every
// step the chain's bytes equal the model, structure invariants hold, and every live copy (m_copym
// shares clusters with the chain, m_dup does not) still holds its bytes, which catches any write
// into a shared cluster. At the end everything is freed and the pool's in-use counters are zero.
// A second property runs the same operations against a pool with tight limits to exercise the
// failure paths (free-on-failure, untouched-on-failure, partial copyback) and check for leaks.

import { describe, it } from 'vitest';
import fc from 'fast-check';
import {
  M_EXT, MCLBYTES, MHLEN, MLEN, MT_DATA, MbufPool, mAdj, mAppendBytes, mCat, mCatPkt, mCopyback, mCopydata,
  mCopym, mDup, mFreem, mLength, mPrepend, mPulldown, mPullup, mSplit, mToBytes,
} from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { buildChain, concat, seq } from './helpers.js';
import { at, bytesArb, posArb } from './position-arbitraries.js';
import type { Pos } from './position-arbitraries.js';
import type { Seg } from './helpers.js';

// ---- generators ----

const segArb = fc.record({
  cluster: fc.boolean(),
  lead: fc.nat({ max: 64 }),
  len: fc.oneof(fc.constant(0), fc.nat({ max: 300 })),
  clusterSize: fc.constantFrom(2048, 4096),
  seed: fc.nat({ max: 255 }),
});
const chainArb = fc.record({
  pkthdr: fc.boolean(),
  segs: fc.array(segArb, { minLength: 1, maxLength: 6 }),
});


type Op =
  | { k: 'adj'; n: number }
  | { k: 'prepend'; bytes: Uint8Array }
  | { k: 'pullup'; n: Pos }
  | { k: 'pulldown'; off: Pos; n: Pos }
  | { k: 'splitcat'; off: Pos }
  | { k: 'copyback'; off: Pos; bytes: Uint8Array }
  | { k: 'append'; bytes: Uint8Array }
  | { k: 'copydata'; off: Pos; n: Pos }
  | { k: 'copym'; off: Pos; n: Pos | null }
  | { k: 'dup'; poke: Pos }
  | { k: 'dropCopy'; i: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('adj' as const), n: fc.integer({ min: -400, max: 400 }) }),
  fc.record({ k: fc.constant('prepend' as const), bytes: bytesArb(240) }),
  fc.record({ k: fc.constant('pullup' as const), n: posArb }),
  fc.record({ k: fc.constant('pulldown' as const), off: posArb, n: posArb }),
  fc.record({ k: fc.constant('splitcat' as const), off: posArb }),
  fc.record({ k: fc.constant('copyback' as const), off: posArb, bytes: bytesArb(400) }),
  fc.record({ k: fc.constant('append' as const), bytes: bytesArb(600) }),
  fc.record({ k: fc.constant('copydata' as const), off: posArb, n: posArb }),
  fc.record({ k: fc.constant('copym' as const), off: posArb, n: fc.option(posArb, { nil: null }) }),
  fc.record({ k: fc.constant('dup' as const), poke: posArb }),
  fc.record({ k: fc.constant('dropCopy' as const), i: fc.nat({ max: 7 }) }),
);

// ---- checks (plain throws: thousands of steps per run) ----

function fail(msg: string): never { throw new Error(msg); }

function eqBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) fail(`${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(`${what}: byte ${i}: ${a[i]} != ${b[i]}`);
}

function countMbufs(m: Mbuf | null): number {
  let n = 0;
  for (; m !== null; m = m.next) if (++n > 10_000) fail('chain cyclic or runaway');
  return n;
}

/** Structure of a live chain, its bytes against `want`, and pktLen when it has a pkthdr. */
function checkAgainst(m: Mbuf, want: Uint8Array, what: string): void {
  countMbufs(m);
  let i = 0;
  for (let x: Mbuf | null = m; x !== null; x = x.next, i++) {
    if (x.freed) fail(`${what}: mbuf ${i} freed`);
    if (!(x.len >= 0 && x.start <= x.data && x.data + x.len <= x.end && x.end <= x.buf.length)) {
      fail(`${what}: mbuf ${i} window [${x.start} ${x.data}+${x.len} ${x.end}] of ${x.buf.length}`);
    }
    if (x.ext !== null) {
      if (x.buf !== x.ext.buf || x.ext.refs < 1 || (x.flags & M_EXT) === 0) fail(`${what}: mbuf ${i} ext`);
    } else if (x.buf !== x.inline || (x.flags & M_EXT) !== 0) fail(`${what}: mbuf ${i} inline`);
    if (i > 0 && x.hasPkthdr) fail(`${what}: pkthdr on mbuf ${i}`);
  }
  if (m.hasPkthdr && m.pktLen !== mLength(m)) fail(`${what}: pktLen ${m.pktLen} != ${mLength(m)}`);
  eqBytes(mToBytes(m), want, what);
}

// ---- the runner ----

interface Copy { m: Mbuf; want: Uint8Array }

function runOps(pool: MbufPool, m0: Mbuf, hdr: boolean, ops: readonly Op[], tight: boolean): void {
  let m: Mbuf | null = m0;
  let model = mToBytes(m0);
  const copies: Copy[] = [];
  const fresh = (): Mbuf | null => (hdr ? pool.getHdr(MT_DATA) : pool.get(MT_DATA));
  /** After an operation that frees the chain on failure: it must be gone; start over empty. */
  const consumed = (before: number, count: number, what: string): void => {
    if (pool.stats.mbufsInUse !== before - count) fail(`${what} failure did not free the chain`);
    m = fresh();
    model = new Uint8Array(0);
  };
  const expectOk = (ok: boolean, predicted: boolean, what: string): void => {
    if (ok && !predicted) fail(`${what} succeeded, predicted failure`);
    if (!ok && predicted && !tight) fail(`${what} failed, predicted success`);
  };

  for (const op of ops) {
    if (m === null) break; // a tight pool could not even give a fresh head
    const len = model.length;
    const inUse = pool.stats.mbufsInUse;
    const count = countMbufs(m);
    switch (op.k) {
      case 'adj':
        mAdj(m, op.n);
        model = op.n >= 0 ? model.slice(Math.min(op.n, len)) : model.slice(0, Math.max(0, len + op.n));
        break;
      case 'prepend': {
        const n = op.bytes.length;
        const predicted = m.leadingSpace >= n || n <= (m.hasPkthdr ? MHLEN : MLEN);
        const r = mPrepend(m, n);
        expectOk(r !== null, predicted, 'prepend');
        if (r === null) { consumed(inUse, count, 'prepend'); break; }
        if (r.len < n) fail('prepend: head shorter than len');
        r.buf.set(op.bytes, r.data);
        m = r;
        model = concat(op.bytes, model);
        break;
      }
      case 'pullup': {
        const n = at(op.n, len);
        const predicted = n <= len && (m.len >= n || (m.writable && m.end - m.start >= n) || n <= (m.hasPkthdr ? MHLEN : MLEN));
        const r = mPullup(m, n);
        expectOk(r !== null, predicted, 'pullup');
        if (r === null) { consumed(inUse, count, 'pullup'); break; }
        if (r.len < n) fail('pullup: head shorter than len');
        if (r.hasPkthdr !== hdr) fail('pullup: pkthdr lost');
        m = r;
        break;
      }
      case 'pulldown': {
        const off = at(op.off, len);
        const n = at(op.n, len - off);
        const predicted = off < len && off + n <= len && n <= MCLBYTES;
        const out = { value: -1 };
        const head: Mbuf = m;
        const r = mPulldown(m, off, n, out);
        expectOk(r !== null, predicted, 'pulldown');
        if (r === null) { consumed(inUse, count, 'pulldown'); break; }
        let found = false;
        for (let x: Mbuf | null = m; x !== null; x = x.next) if (x === r) found = true;
        if (!found) fail('pulldown: result not in the chain');
        if (m !== head) fail('pulldown: head changed');
        if (out.value < 0 || out.value + n > r.len) fail('pulldown: range not contiguous');
        eqBytes(r.buf.slice(r.data + out.value, r.data + out.value + n), model.subarray(off, off + n), 'pulldown range');
        break;
      }
      case 'splitcat': {
        const off = at(op.off, len);
        const t = mSplit(m, off);
        expectOk(t !== null, off <= len, 'split');
        if (t === null) {
          if (pool.stats.mbufsInUse !== inUse) fail('split failure leaked');
          break; // chain untouched: checked below
        }
        checkAgainst(m, model.subarray(0, off), 'split head');
        checkAgainst(t, model.subarray(off), 'split tail');
        if (t.hasPkthdr !== hdr) fail('split: tail pkthdr');
        if (hdr) mCatPkt(m, t); else mCat(m, t);
        break;
      }
      case 'copyback': {
        const off = at(op.off, len);
        const ok = mCopyback(m, off, op.bytes.length, op.bytes, 0);
        // len 0 writes nothing, not even the zero gap (XNU refuses it outright).
        const want = new Uint8Array(op.bytes.length === 0 ? len : Math.max(len, off + op.bytes.length));
        want.set(model);
        if (op.bytes.length > 0) want.set(op.bytes, off);
        expectOk(ok, true, 'copyback');
        model = ok ? want : partial(m, model, off, 'copyback');
        break;
      }
      case 'append': {
        const ok = mAppendBytes(m, op.bytes);
        expectOk(ok, true, 'append');
        model = ok ? concat(model, op.bytes) : partial(m, model, len, 'append');
        break;
      }
      case 'copydata': {
        const off = at(op.off, len);
        const n = at(op.n, Math.max(0, len - off));
        const out = new Uint8Array(n);
        const ok = mCopydata(m, off, n, out, 0);
        if (ok !== (off + n <= len)) fail(`copydata ${off}+${n} of ${len}: ${ok}`);
        if (ok) eqBytes(out, model.subarray(off, off + n), 'copydata');
        break;
      }
      case 'copym': {
        const off = at(op.off, len);
        const n = op.n === null ? null : at(op.n, Math.max(0, len - off));
        const c = mCopym(m, off, n);
        expectOk(c !== null, off <= len && (n === null || off + n <= len), 'copym');
        if (c === null) {
          if (pool.stats.mbufsInUse !== inUse) fail('copym failure leaked');
          break;
        }
        const want = model.slice(off, n === null ? len : off + n);
        checkAgainst(c, want, 'copym');
        if (c.hasPkthdr !== (hdr && off === 0)) fail('copym: pkthdr');
        copies.push({ m: c, want });
        break;
      }
      case 'dup': {
        const d = mDup(m);
        expectOk(d !== null, true, 'dup');
        if (d === null) {
          if (pool.stats.mbufsInUse !== inUse) fail('dup failure leaked');
          break;
        }
        for (let x: Mbuf | null = d; x !== null; x = x.next) if (!x.writable) fail('dup shares a cluster');
        copies.push({ m: d, want: model.slice() });
        if (len > 0) {
          // Mutate the original: the dup (and every copym copy) must not change.
          const p = Math.min(at(op.poke, len - 1), len - 1);
          const b = Uint8Array.of(model[p]! ^ 0xff);
          const ok = mCopyback(m, p, 1, b, 0);
          expectOk(ok, true, 'poke');
          if (ok) { model = model.slice(); model[p] = b[0]!; } else model = partial(m, model, p, 'poke');
        }
        break;
      }
      case 'dropCopy': {
        if (copies.length === 0) break;
        const [c] = copies.splice(op.i % copies.length, 1);
        mFreem(c!.m);
        break;
      }
    }
    if (m === null) break;
    checkAgainst(m, model, `after ${op.k}`);
    for (const [i, c] of copies.entries()) checkAgainst(c.m, c.want, `copy ${i} after ${op.k}`);
  }
  mFreem(m);
  for (const c of copies) mFreem(c.m);
  if (pool.stats.mbufsInUse !== 0 || pool.stats.clusterBytesInUse !== 0) {
    fail(`leak: ${pool.stats.mbufsInUse} mbufs, ${pool.stats.clusterBytesInUse} cluster bytes in use`);
  }
}

/**
 * A copyback that ran out of memory wrote a prefix: bytes before `off` (and before the old end)
 * are unchanged and the chain never shrank. The model continues from what the chain holds.
 */
function partial(m: Mbuf, model: Uint8Array, off: number, what: string): Uint8Array {
  const got = mToBytes(m);
  if (got.length < model.length) fail(`${what}: chain shrank`);
  const keep = Math.min(off, model.length);
  eqBytes(got.subarray(0, keep), model.subarray(0, keep), `${what} prefix`);
  return got;
}

function segsOf(c: { segs: { cluster: boolean; lead: number; len: number; clusterSize: number; seed: number }[] }): Seg[] {
  return c.segs.map((s) => ({ cluster: s.cluster, lead: s.lead, bytes: seq(s.len, s.seed), clusterSize: s.clusterSize }));
}

describe('mbuf chains against a flat model', () => {
  it('every operation keeps the chain equal to the model, shared clusters intact, no leaks', () => {
    fc.assert(
      fc.property(chainArb, fc.array(opArb, { maxLength: 30, size: 'max' }), (c, ops) => {
        const pool = new MbufPool();
        const m = buildChain(pool, segsOf(c), c.pkthdr)!;
        runOps(pool, m, c.pkthdr, ops, false);
      }),
      { numRuns: 200 },
    );
  });

  it('under tight pool limits, failures follow BSD semantics and leak nothing', () => {
    fc.assert(
      fc.property(
        chainArb,
        fc.array(opArb, { maxLength: 30, size: 'max' }),
        fc.nat({ max: 8 }),
        fc.constantFrom(0, 2048, 4096, 16384),
        (c, ops, spareMbufs, spareClusterBytes) => {
          const pool = new MbufPool();
          const m = buildChain(pool, segsOf(c), c.pkthdr)!;
          pool.limits.maxMbufs = pool.stats.mbufsInUse + spareMbufs;
          pool.limits.maxClusterBytes = pool.stats.clusterBytesInUse + spareClusterBytes;
          runOps(pool, m, c.pkthdr, ops, true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
