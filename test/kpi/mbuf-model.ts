// Helpers for the mbuf KPI tests: chains built through the KPI itself (mbuf_gethdr/get,
// mbuf_getcluster, mbuf_setdata, mbuf_setnext...), read back through mbuf_next/mbuf_data, and
// checked against a flat byte model with plain throws (fast-check runs thousands of steps).

import type { MbufKpi, mbuf_t } from '../../kpi/kpi-mbuf.js';
import {
  MBUF_TYPE_DATA, MBUF_WAITOK, mbuf_copydata, mbuf_data, mbuf_datastart, mbuf_flags, mbuf_freem, mbuf_len,
  mbuf_maxlen, mbuf_next, mbuf_pkthdr_len, mbuf_pkthdr_setlen, mbuf_setdata, mbuf_setnext, MBUF_EXT, MBUF_PKTHDR,
} from '../../kpi/kpi-mbuf.js';

export function fail(msg: string): never { throw new Error(msg); }

export function eqBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) fail(`${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(`${what}: byte ${i}: ${a[i]} != ${b[i]}`);
}

export const seqBytes = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i * 7) & 0xff);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** One mbuf of a chain to build: a cluster of `cluster` bytes (0 = inline), `lead` bytes of room before `len` bytes. */
export interface SegSpec { cluster: 0 | 2048 | 4096; lead: number; len: number; seed: number }

/**
 * Builds a chain through the KPI and returns it with the bytes it really holds (lead and len are
 * clamped to the storage). Null (nothing leaked) when the pool refuses.
 */
export function buildKpiChain(kpi: MbufKpi, segs: readonly SegSpec[], pkthdr: boolean): { m: mbuf_t; bytes: Uint8Array } | null {
  let head: mbuf_t | null = null;
  let tail: mbuf_t | null = null;
  const parts: Uint8Array[] = [];
  for (const [i, s] of segs.entries()) {
    const box = { value: null as mbuf_t | null };
    const e = i === 0 && pkthdr ? kpi.mbuf_gethdr(MBUF_WAITOK, MBUF_TYPE_DATA, box) : kpi.mbuf_get(MBUF_WAITOK, MBUF_TYPE_DATA, box);
    if (e !== 0) { mbuf_freem(head); return null; }
    const m = box.value!;
    if (s.cluster !== 0 && kpi.mbuf_getcluster(MBUF_WAITOK, MBUF_TYPE_DATA, s.cluster, box) !== 0) {
      mbuf_freem(m);
      mbuf_freem(head);
      return null;
    }
    const room = mbuf_maxlen(m);
    const lead = Math.min(s.lead, room);
    const len = Math.min(s.len, room - lead);
    if (mbuf_setdata(m, mbuf_datastart(m).subarray(lead), len) !== 0) fail('setdata refused a valid window');
    const b = seqBytes(len, s.seed);
    mbuf_data(m).set(b);
    parts.push(b);
    if (tail === null) head = m;
    else if (mbuf_setnext(tail, m) !== 0) fail('setnext refused');
    tail = m;
  }
  const bytes = concat(...parts);
  if (pkthdr) mbuf_pkthdr_setlen(head!, bytes.length);
  return { m: head!, bytes };
}

/** The chain's mbufs through mbuf_next. */
export function kpiMbufs(m: mbuf_t | null): mbuf_t[] {
  const out: mbuf_t[] = [];
  for (; m !== null; m = mbuf_next(m)) if (out.push(m) > 10_000) fail('chain cyclic or runaway');
  return out;
}

/** Sum of mbuf_len over the chain. */
export const kpiLength = (m: mbuf_t | null): number => kpiMbufs(m).reduce((s, x) => s + mbuf_len(x), 0);

/** The chain's bytes by walking mbuf_next/mbuf_data. */
export const kpiBytes = (m: mbuf_t | null): Uint8Array => concat(...kpiMbufs(m).map((x) => mbuf_data(x).slice()));

/**
 * A live chain is well formed and holds `want`: not freed, each window inside its storage, only
 * the head may carry MBUF_PKTHDR, pkthdr length = chain length (when `pktLen`), mbuf_copydata of
 * the whole chain agrees with the walk.
 */
export function checkKpiChain(m: mbuf_t, want: Uint8Array, what: string, pktLen = true): void {
  const all = kpiMbufs(m);
  for (const [i, x] of all.entries()) {
    if (x.freed) fail(`${what}: mbuf ${i} freed`);
    if (x.data - x.start + mbuf_len(x) > mbuf_maxlen(x)) fail(`${what}: mbuf ${i} data past its storage`);
    if (((mbuf_flags(x) & MBUF_EXT) !== 0) !== (x.ext !== null)) fail(`${what}: mbuf ${i} MBUF_EXT`);
    if (i > 0 && (mbuf_flags(x) & MBUF_PKTHDR) !== 0) fail(`${what}: pkthdr on mbuf ${i}`);
  }
  const total = kpiLength(m);
  if (pktLen && (mbuf_flags(m) & MBUF_PKTHDR) !== 0 && mbuf_pkthdr_len(m) !== total) {
    fail(`${what}: pkthdr len ${mbuf_pkthdr_len(m)} != ${total}`);
  }
  eqBytes(kpiBytes(m), want, what);
  const out = new Uint8Array(total);
  if (mbuf_copydata(m, 0, total, out) !== 0) fail(`${what}: copydata of the whole chain failed`);
  eqBytes(out, want, `${what} (copydata)`);
}
