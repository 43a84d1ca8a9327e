// Model-based properties for the mbuf KPI: a chain built through mbuf_get/gethdr/getcluster/
// setdata/setnext evolves under random sequences of mbuf_* calls next to a flat Uint8Array model.
// Each call's errno is predicted from the model (XNU's rules, xnu-sockets.md §9) and its boxes are
// checked (null on failure where XNU nulls them; the chain gone when the call consumes it); after
// every step the chain equals the model and every live mbuf_copym/mbuf_dup copy still holds its
// bytes (catching writes through shared clusters). At the end everything is freed and the pool is
// back to its baseline. A second property runs with tight pool limits: failures may then come
// from exhaustion, but must still have XNU's errno and box semantics and leak nothing.

import { describe, it } from 'vitest';
import fc from 'fast-check';
import {
  chunkPlan, MBUF_COPYALL, MBUF_DONTWAIT, MBUF_EXT, MBUF_FLAGS_MASK, MBUF_PKTHDR, MBUF_WAITOK, MbufKpi,
  mbuf_adj, mbuf_adjustlen, mbuf_concatenate, mbuf_copyback, mbuf_copydata, mbuf_copym, mbuf_data, mbuf_dup,
  mbuf_flags, mbuf_freem, mbuf_get_mhlen, mbuf_get_mlen, mbuf_len, mbuf_leadingspace, mbuf_maxlen,
  mbuf_mclhasreference, mbuf_next, mbuf_pkthdr_adjustlen, mbuf_pkthdr_setlen, mbuf_prepend, mbuf_pulldown,
  mbuf_pullup, mbuf_setflags_mask, mbuf_split, MBUF_TYPE_DATA,
} from '../../kpi/kpi-mbuf.js';
import type { mbuf_t } from '../../kpi/kpi-mbuf.js';
import { ENOBUFS, ENOMEM, EINVAL, EWOULDBLOCK, MbufPool } from '../../stack/index.js';
import { at, bytesArb, posArb } from '../mbuf/position-arbitraries.js';
import type { Pos } from '../mbuf/position-arbitraries.js';
import { buildKpiChain, checkKpiChain, concat, eqBytes, fail, kpiBytes, kpiMbufs } from './mbuf-model.js';

const MLEN = mbuf_get_mlen();
const MHLEN = mbuf_get_mhlen();
const MCLBYTES = 2048;

// ---- generators ----

const segArb = fc.record({
  cluster: fc.constantFrom(0 as const, 0 as const, 2048 as const, 4096 as const),
  lead: fc.nat({ max: 64 }),
  len: fc.oneof(fc.constant(0), fc.nat({ max: 300 })),
  seed: fc.nat({ max: 255 }),
});
const chainArb = fc.record({ pkthdr: fc.boolean(), segs: fc.array(segArb, { minLength: 1, maxLength: 6 }) });


type Op =
  | { k: 'adj'; n: number }
  | { k: 'prepend'; bytes: Uint8Array }
  | { k: 'pullup'; n: Pos }
  | { k: 'pulldown'; off: Pos; n: Pos }
  | { k: 'splitcat'; off: Pos }
  | { k: 'copyback'; off: Pos; bytes: Uint8Array }
  | { k: 'copydata'; off: Pos; n: Pos }
  | { k: 'copym'; off: Pos; n: Pos | null }
  | { k: 'dup'; poke: Pos }
  | { k: 'dropCopy'; i: number }
  | { k: 'shrink'; i: number; by: number }
  | { k: 'flags'; flags: number; mask: number }
  | { k: 'alloc'; len: number; maxchunks: number | null; getpacket: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('adj' as const), n: fc.integer({ min: -400, max: 400 }) }),
  fc.record({ k: fc.constant('prepend' as const), bytes: bytesArb(240) }),
  fc.record({ k: fc.constant('pullup' as const), n: posArb }),
  fc.record({ k: fc.constant('pulldown' as const), off: posArb, n: posArb }),
  fc.record({ k: fc.constant('splitcat' as const), off: posArb }),
  fc.record({ k: fc.constant('copyback' as const), off: posArb, bytes: bytesArb(600) }),
  fc.record({ k: fc.constant('copydata' as const), off: posArb, n: posArb }),
  fc.record({ k: fc.constant('copym' as const), off: posArb, n: fc.option(posArb, { nil: null }) }),
  fc.record({ k: fc.constant('dup' as const), poke: posArb }),
  fc.record({ k: fc.constant('dropCopy' as const), i: fc.nat({ max: 7 }) }),
  fc.record({ k: fc.constant('shrink' as const), i: fc.nat({ max: 9 }), by: fc.nat({ max: 320 }) }),
  fc.record({
    k: fc.constant('flags' as const),
    flags: fc.integer({ min: 0, max: 0xffff }),
    // mostly public, settable bits (not PKTHDR: its re-init is covered by the errno tests); sometimes bad ones
    mask: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((x) => x & MBUF_FLAGS_MASK & ~(MBUF_EXT | MBUF_PKTHDR)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((x) => x & ~MBUF_PKTHDR) },
    ),
  }),
  fc.record({
    k: fc.constant('alloc' as const),
    len: fc.oneof(fc.nat({ max: 600 }), fc.integer({ min: 0, max: 40_000 })),
    maxchunks: fc.option(fc.nat({ max: 12 }), { nil: null }),
    getpacket: fc.boolean(),
  }),
);

// ---- the runner ----

interface Copy { m: mbuf_t; want: Uint8Array }

/** XNU's m_split walk: true when the cut is the end of the last mbuf (no rest to return without a pkthdr). */
function splitHasNoRest(m: mbuf_t, off: number): boolean {
  let cur = m;
  while (off > mbuf_len(cur)) {
    const n = mbuf_next(cur);
    if (n === null) return false;
    off -= mbuf_len(cur);
    cur = n;
  }
  return off === mbuf_len(cur) && mbuf_next(cur) === null;
}

function runOps(kpi: MbufKpi, m0: mbuf_t, bytes0: Uint8Array, hdr: boolean, ops: readonly Op[], tight: boolean): void {
  const pool = kpi.pool;
  const head = { value: m0 as mbuf_t | null };
  let model = bytes0;
  const copies: Copy[] = [];
  const fresh = (): void => {
    const e = hdr ? kpi.mbuf_gethdr(MBUF_WAITOK, MBUF_TYPE_DATA, head) : kpi.mbuf_get(MBUF_WAITOK, MBUF_TYPE_DATA, head);
    if (e !== 0 && (e !== ENOMEM || head.value !== null)) fail(`fresh: ${e}`);
    model = new Uint8Array(0);
  };
  /** A call that consumes the chain on failure: ENOMEM, the box null, every mbuf back in the pool. */
  const consumed = (e: number, box: { value: mbuf_t | null }, before: number, count: number, what: string): void => {
    if (e !== ENOMEM) fail(`${what}: errno ${e}, want ENOMEM`);
    if (box.value !== null) fail(`${what}: box not nulled`);
    if (pool.stats.mbufsInUse !== before - count) fail(`${what}: failure did not free the chain`);
    fresh();
  };
  const expectE = (e: number, predicted: number, what: string, memErr = ENOMEM): void => {
    if (e === predicted) return;
    if (tight && predicted === 0 && e === memErr) return;
    fail(`${what}: errno ${e}, predicted ${predicted}`);
  };

  for (const op of ops) {
    const m = head.value;
    if (m === null) break; // a tight pool could not even give a fresh head
    const len = model.length;
    const inUse = pool.stats.mbufsInUse;
    const count = kpiMbufs(m).length;
    switch (op.k) {
      case 'adj':
        mbuf_adj(m, op.n);
        model = op.n >= 0 ? model.slice(Math.min(op.n, len)) : model.slice(0, Math.max(0, len + op.n));
        break;
      case 'prepend': {
        const n = op.bytes.length;
        const predicted = mbuf_leadingspace(m) >= n || n <= (hdr ? MHLEN : MLEN) ? 0 : ENOMEM;
        const e = mbuf_prepend(head, n, MBUF_DONTWAIT);
        expectE(e, predicted, 'prepend');
        if (e !== 0) { consumed(e, head, inUse, count, 'prepend'); break; }
        if (mbuf_len(head.value!) < n) fail('prepend: head shorter than len');
        mbuf_data(head.value!).set(op.bytes); // the new room is writable
        model = concat(op.bytes, model);
        break;
      }
      case 'pullup': {
        const n = at(op.n, len);
        const fits = mbuf_len(m) >= n || (!mbuf_mclhasreference(m) && mbuf_maxlen(m) >= n) || n <= (hdr ? MHLEN : MLEN);
        const e = mbuf_pullup(head, n);
        expectE(e, n <= len && fits ? 0 : ENOMEM, `pullup ${n} of ${len}`);
        if (e !== 0) { consumed(e, head, inUse, count, 'pullup'); break; }
        if (mbuf_len(head.value!) < n) fail('pullup: head shorter than len');
        if (((mbuf_flags(head.value!) & MBUF_PKTHDR) !== 0) !== hdr) fail('pullup: pkthdr lost');
        break;
      }
      case 'pulldown': {
        const off = at(op.off, len);
        const n = at(op.n, len - off);
        const offset = { value: off };
        const loc = { value: m as mbuf_t | null };
        const e = mbuf_pulldown(m, offset, n, loc);
        expectE(e, off < len && off + n <= len && n <= MCLBYTES ? 0 : ENOMEM, 'pulldown');
        if (e !== 0) {
          if (loc.value !== null) fail('pulldown: location not nulled');
          if (offset.value !== off) fail('pulldown: offset changed on failure');
          if (pool.stats.mbufsInUse !== inUse - count) fail('pulldown: failure did not free the chain');
          fresh();
          break;
        }
        const r = loc.value!;
        if (!kpiMbufs(m).includes(r)) fail('pulldown: location not in the chain');
        if (offset.value + n > mbuf_len(r)) fail('pulldown: range not contiguous');
        eqBytes(mbuf_data(r).slice(offset.value, offset.value + n), model.subarray(off, off + n), 'pulldown range');
        break;
      }
      case 'splitcat': {
        const off = at(op.off, len);
        const tail = { value: m as mbuf_t | null };
        const predicted = off <= len && (hdr || !splitHasNoRest(m, off)) ? 0 : ENOMEM;
        const e = mbuf_split(m, off, MBUF_WAITOK, tail);
        expectE(e, predicted, `split ${off} of ${len}`);
        if (e !== 0) {
          if (tail.value !== null) fail('split: box not nulled');
          if (pool.stats.mbufsInUse !== inUse) fail('split: failure leaked or freed');
          break; // src untouched: checked below
        }
        const t = tail.value!;
        checkKpiChain(m, model.subarray(0, off), 'split head');
        checkKpiChain(t, model.subarray(off), 'split tail');
        if (((mbuf_flags(t) & MBUF_PKTHDR) !== 0) !== hdr) fail('split: tail pkthdr');
        if (mbuf_concatenate(m, t) !== m) fail('concatenate: not dst');
        if (hdr) {
          // mbuf_concatenate leaves pkthdr.len alone: the head still counts only its part.
          if (m.pktLen !== off) fail(`concatenate updated pkthdr len (${m.pktLen}, want ${off})`);
          mbuf_pkthdr_setlen(m, len);
        }
        break;
      }
      case 'copyback': {
        const off = at(op.off, len);
        const n = op.bytes.length;
        const e = mbuf_copyback(m, off, n, op.bytes, MBUF_WAITOK);
        if (n === 0) {
          if (e !== EINVAL) fail(`copyback len 0: ${e}`);
          break;
        }
        expectE(e, 0, 'copyback', ENOBUFS);
        if (e === 0) {
          const want = new Uint8Array(Math.max(len, off + n));
          want.set(model);
          want.set(op.bytes, off);
          model = want;
        } else {
          model = partial(m, model, off, 'copyback');
          if (hdr) mbuf_pkthdr_setlen(m, model.length);
        }
        break;
      }
      case 'copydata': {
        const off = at(op.off, len);
        const n = at(op.n, Math.max(0, len - off));
        const out = new Uint8Array(n);
        const e = mbuf_copydata(m, off, n, out);
        const predicted = n === 0 || off + n <= len ? 0 : EINVAL;
        if (e !== predicted) fail(`copydata ${off}+${n} of ${len}: ${e}`);
        if (e === 0) eqBytes(out, model.subarray(off, off + n), 'copydata');
        break;
      }
      case 'copym': {
        const off = at(op.off, len);
        const n = op.n === null ? MBUF_COPYALL : at(op.n, Math.max(0, len - off));
        const c = { value: m as mbuf_t | null };
        const e = mbuf_copym(m, off, n, MBUF_WAITOK, c);
        expectE(e, off <= len && (n === MBUF_COPYALL || off + n <= len) ? 0 : ENOMEM, 'copym');
        if (e !== 0) {
          if (c.value !== null) fail('copym: box not nulled');
          if (pool.stats.mbufsInUse !== inUse) fail('copym: failure leaked');
          break;
        }
        const want = model.slice(off, n === MBUF_COPYALL ? len : off + n);
        checkKpiChain(c.value!, want, 'copym');
        if (((mbuf_flags(c.value!) & MBUF_PKTHDR) !== 0) !== (hdr && off === 0)) fail('copym: pkthdr');
        copies.push({ m: c.value!, want });
        break;
      }
      case 'dup': {
        const d = { value: m as mbuf_t | null };
        const e = mbuf_dup(m, MBUF_WAITOK, d);
        expectE(e, 0, 'dup');
        if (e !== 0) {
          if (d.value !== null) fail('dup: box not nulled');
          if (pool.stats.mbufsInUse !== inUse) fail('dup: failure leaked');
          break;
        }
        for (const x of kpiMbufs(d.value)) if (mbuf_mclhasreference(x)) fail('dup shares a cluster');
        copies.push({ m: d.value!, want: model.slice() });
        if (len > 0) {
          // Write into the original: no copy (dup or copym) may change.
          const p = Math.min(at(op.poke, len - 1), len - 1);
          const b = Uint8Array.of(model[p]! ^ 0xff);
          const e2 = mbuf_copyback(m, p, 1, b, MBUF_WAITOK);
          expectE(e2, 0, 'poke', ENOBUFS);
          if (e2 === 0) { model = model.slice(); model[p] = b[0]!; } else model = partial(m, model, p, 'poke');
        }
        break;
      }
      case 'dropCopy': {
        if (copies.length === 0) break;
        const [c] = copies.splice(op.i % copies.length, 1);
        mbuf_freem(c!.m);
        break;
      }
      case 'shrink': {
        // mbuf_adjustlen(-by) on one mbuf of the chain: removes that mbuf's last `by` bytes.
        const all = kpiMbufs(m);
        const i = op.i % all.length;
        const x = all[i]!;
        const before = all.slice(0, i).reduce((s, y) => s + mbuf_len(y), 0);
        const xl = mbuf_len(x);
        const e = mbuf_adjustlen(x, -op.by);
        if (e !== (op.by > xl ? EINVAL : 0)) fail(`adjustlen -${op.by} of ${xl}: ${e}`);
        if (e === 0) {
          model = concat(model.subarray(0, before + xl - op.by), model.subarray(before + xl));
          mbuf_pkthdr_adjustlen(m, -op.by);
        }
        // growing past the storage is refused
        if (mbuf_adjustlen(x, mbuf_maxlen(x) - (x.data - x.start) - mbuf_len(x) + 1) !== EINVAL) fail('adjustlen past storage');
        break;
      }
      case 'flags': {
        const old = mbuf_flags(m);
        const e = mbuf_setflags_mask(m, op.flags, op.mask);
        const bad = (op.mask & MBUF_EXT) !== 0 || (op.mask & ~MBUF_FLAGS_MASK) !== 0;
        if (e !== (bad ? EINVAL : 0)) fail(`setflags_mask ${op.flags.toString(16)}/${op.mask.toString(16)}: ${e}`);
        const want = bad ? old : (old & ~op.mask) | (op.flags & op.mask);
        if (mbuf_flags(m) !== want) fail(`flags ${mbuf_flags(m).toString(16)} != ${want.toString(16)}`);
        break;
      }
      case 'alloc': {
        allocStep(kpi, op, tight);
        if (pool.stats.mbufsInUse !== inUse) fail('alloc step leaked');
        break;
      }
    }
    if (head.value === null) break;
    checkKpiChain(head.value, model, `after ${op.k}`);
    for (const [i, c] of copies.entries()) checkKpiChain(c.m, c.want, `copy ${i} after ${op.k}`);
  }
  mbuf_freem(head.value);
  for (const c of copies) mbuf_freem(c.m);
  if (pool.stats.mbufsInUse !== 0 || pool.stats.clusterBytesInUse !== 0) {
    fail(`leak: ${pool.stats.mbufsInUse} mbufs, ${pool.stats.clusterBytesInUse} cluster bytes in use`);
  }
}

/** mbuf_allocpacket / mbuf_getpacket: sizes, chunk counts, errnos; the packet is freed again. */
function allocStep(kpi: MbufKpi, op: Extract<Op, { k: 'alloc' }>, tight: boolean): void {
  const box = { value: null as mbuf_t | null };
  if (op.getpacket) {
    const how = op.len & 1 ? MBUF_DONTWAIT : MBUF_WAITOK;
    const e = kpi.mbuf_getpacket(how, box);
    if (e !== 0) {
      if (!tight || e !== (how === MBUF_WAITOK ? ENOMEM : EWOULDBLOCK) || box.value !== null) fail(`getpacket: ${e}`);
      return;
    }
    const p = box.value!;
    if (mbuf_maxlen(p) !== MCLBYTES || (mbuf_flags(p) & (MBUF_PKTHDR | MBUF_EXT)) !== (MBUF_PKTHDR | MBUF_EXT)) fail('getpacket shape');
    mbuf_freem(p);
    return;
  }
  const chunks = op.maxchunks === null ? null : { value: op.maxchunks };
  const e = kpi.mbuf_allocpacket(MBUF_WAITOK, op.len, chunks, box);
  const plan = op.len > 0 ? chunkPlan(op.len, op.maxchunks === 1, kpi.jumbo) : null;
  const predicted = plan === null ? EINVAL : op.maxchunks !== null && op.maxchunks !== 0 && plan.nsegs > op.maxchunks ? ENOBUFS : 0;
  if (e !== predicted && !(tight && predicted === 0 && e === ENOMEM)) fail(`allocpacket ${op.len}/${op.maxchunks}: ${e}, predicted ${predicted}`);
  if (e !== 0) {
    if (box.value !== null) fail('allocpacket wrote the box on failure');
    if (chunks !== null && chunks.value !== op.maxchunks) fail('allocpacket changed maxchunks on failure');
    return;
  }
  const all = kpiMbufs(box.value);
  if (chunks !== null && chunks.value !== all.length) fail(`maxchunks ${chunks.value} != ${all.length} mbufs`);
  const cap = all.reduce((s, x) => s + mbuf_maxlen(x), 0);
  if (cap < op.len) fail(`allocpacket ${op.len}: capacity ${cap}`);
  if (all.some((x) => mbuf_len(x) !== 0)) fail('allocpacket set m_len');
  if ((mbuf_flags(all[0]!) & MBUF_PKTHDR) === 0) fail('allocpacket: no pkthdr');
  mbuf_freem(box.value);
}

/**
 * A copyback that ran out of memory wrote a prefix: bytes before `off` (and before the old end)
 * are unchanged and the chain never shrank. The model continues from what the chain holds.
 */
function partial(m: mbuf_t, model: Uint8Array, off: number, what: string): Uint8Array {
  const got = kpiBytes(m);
  if (got.length < model.length) fail(`${what}: chain shrank`);
  const keep = Math.min(off, model.length);
  eqBytes(got.subarray(0, keep), model.subarray(0, keep), `${what} prefix`);
  return got;
}

describe('mbuf KPI against a flat model', () => {
  it('every mbuf_* call returns the predicted errno, keeps the chain equal to the model, leaks nothing', () => {
    fc.assert(
      fc.property(chainArb, fc.array(opArb, { maxLength: 40, size: 'max' }), fc.boolean(), (c, ops, jumbo) => {
        const kpi = new MbufKpi(new MbufPool(), { jumbo });
        const built = buildKpiChain(kpi, c.segs, c.pkthdr)!;
        runOps(kpi, built.m, built.bytes, c.pkthdr, ops, false);
      }),
      { numRuns: 500 },
    );
  });

  it('under tight pool limits, failures keep XNU errno and box semantics and leak nothing', () => {
    fc.assert(
      fc.property(
        chainArb,
        fc.array(opArb, { maxLength: 40, size: 'max' }),
        fc.nat({ max: 8 }),
        fc.constantFrom(0, 2048, 4096, 16384),
        (c, ops, spareMbufs, spareClusterBytes) => {
          const kpi = new MbufKpi(new MbufPool());
          const built = buildKpiChain(kpi, c.segs, c.pkthdr)!;
          kpi.pool.limits.maxMbufs = kpi.pool.stats.mbufsInUse + spareMbufs;
          kpi.pool.limits.maxClusterBytes = kpi.pool.stats.clusterBytesInUse + spareClusterBytes;
          runOps(kpi, built.m, built.bytes, c.pkthdr, ops, true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
