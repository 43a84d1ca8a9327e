// The mbuf KPI function by function: every errno of xnu-sockets.md §9 in the situation that
// produces it, what happens to the out-parameter boxes (nulled, kept, consumed), and that the
// pool is back to its baseline afterwards. Constants against §1.9.

import { afterEach, describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOBUFS, ENOMEM, ENOTSUP, EWOULDBLOCK, MbufPool } from '../../stack/index.js';
import * as K from '../../kpi/kpi-mbuf.js';
import type { mbuf_t } from '../../kpi/kpi-mbuf.js';
import { MbufKpi, MBUF_DONTWAIT, MBUF_TYPE_DATA, MBUF_WAITOK } from '../../kpi/kpi-mbuf.js';
import { checkKpiChain, concat, kpiBytes, kpiMbufs, seqBytes } from './mbuf-model.js';

const W = MBUF_WAITOK;
const D = MBUF_DONTWAIT;
const T = MBUF_TYPE_DATA;
const box = <X>(v: X): { value: X } => ({ value: v });
const nul = (): { value: mbuf_t | null } => ({ value: null });

let kpi: MbufKpi;
let pool: MbufPool;
function fresh(opts: { jumbo?: boolean } = {}): void {
  pool = new MbufPool();
  kpi = new MbufKpi(pool, opts);
}
fresh();
afterEach(() => {
  const { mbufsInUse, clusterBytesInUse } = pool.stats;
  fresh();
  expect(mbufsInUse, 'mbufs leaked').toBe(0);
  expect(clusterBytesInUse, 'clusters leaked').toBe(0);
});
/** No more mbufs (and optionally no more cluster bytes) from now on. */
function exhaust(clusters = false): void {
  pool.limits.maxMbufs = pool.stats.mbufsInUse;
  if (clusters) pool.limits.maxClusterBytes = pool.stats.clusterBytesInUse;
}
function noClusters(): void { pool.limits.maxClusterBytes = pool.stats.clusterBytesInUse; }
function unlimit(): void { pool.limits.maxMbufs = 1e9; pool.limits.maxClusterBytes = 1e12; }

/** A packet of `bytes` in an inline pkthdr mbuf (or a cluster when large). */
function packet(bytes: Uint8Array, hdr = true): mbuf_t {
  const b = nul();
  expect(hdr ? kpi.mbuf_gethdr(W, T, b) : kpi.mbuf_get(W, T, b)).toBe(0);
  if (bytes.length > K.mbuf_maxlen(b.value!)) expect(kpi.mbuf_mclget(W, T, b)).toBe(0);
  expect(K.mbuf_copyback(b.value!, 0, bytes.length, bytes, W)).toBe(0);
  return b.value!;
}

describe('constants (§1.9)', () => {
  it('flags, types, how and sizes have Darwin values', () => {
    expect([K.MBUF_EXT, K.MBUF_PKTHDR, K.MBUF_EOR, K.MBUF_LOOP, K.MBUF_BCAST, K.MBUF_MCAST, K.MBUF_FRAG,
      K.MBUF_FIRSTFRAG, K.MBUF_LASTFRAG, K.MBUF_PROMISC, K.MBUF_HASFCS])
      .toEqual([0x1, 0x2, 0x4, 0x40, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000]);
    expect([K.MBUF_TYPE_FREE, K.MBUF_TYPE_DATA, K.MBUF_TYPE_HEADER, K.MBUF_TYPE_SOCKET, K.MBUF_TYPE_PCB,
      K.MBUF_TYPE_SONAME, K.MBUF_TYPE_SOOPTS, K.MBUF_TYPE_CONTROL, K.MBUF_TYPE_OOBDATA])
      .toEqual([0, 1, 2, 3, 4, 8, 10, 14, 15]);
    expect([MBUF_WAITOK, MBUF_DONTWAIT]).toEqual([0, 1]);
    expect([K.mbuf_get_msize(), K.mbuf_get_mlen(), K.mbuf_get_mhlen(), K.mbuf_get_minclsize()]).toEqual([256, 224, 136, 360]);
    expect(K.MBUF_COPYALL).toBe(1_000_000_000);
  });
});

describe('allocation', () => {
  it('mbuf_get / mbuf_gethdr: an mbuf of the type; ENOMEM with the box nulled when exhausted', () => {
    const a = nul(), h = nul();
    expect(kpi.mbuf_get(W, K.MBUF_TYPE_HEADER, a)).toBe(0);
    expect(kpi.mbuf_gethdr(D, T, h)).toBe(0);
    expect([K.mbuf_type(a.value!), K.mbuf_flags(a.value!), K.mbuf_maxlen(a.value!), K.mbuf_len(a.value!)]).toEqual([2, 0, 224, 0]);
    expect([K.mbuf_flags(h.value!), K.mbuf_maxlen(h.value!), K.mbuf_pkthdr_len(h.value!)]).toEqual([K.MBUF_PKTHDR, 136, 0]);
    exhaust();
    const x = box<mbuf_t | null>(a.value);
    expect(kpi.mbuf_get(W, T, x)).toBe(ENOMEM);
    expect(x.value).toBeNull();
    x.value = a.value;
    expect(kpi.mbuf_gethdr(D, T, x)).toBe(ENOMEM);
    expect(x.value).toBeNull();
    K.mbuf_freem(a.value); K.mbuf_freem(h.value);
  });

  it('mbuf_getpacket: pkthdr + 2 KB cluster; exhausted: ENOMEM (WAITOK) / EWOULDBLOCK (DONTWAIT), box nulled', () => {
    const p = nul();
    expect(kpi.mbuf_getpacket(W, p)).toBe(0);
    expect(K.mbuf_flags(p.value!)).toBe(K.MBUF_PKTHDR | K.MBUF_EXT);
    expect(K.mbuf_maxlen(p.value!)).toBe(2048);
    noClusters();
    const q = box<mbuf_t | null>(p.value);
    expect(kpi.mbuf_getpacket(W, q)).toBe(ENOMEM);
    expect(q.value).toBeNull();
    q.value = p.value;
    expect(kpi.mbuf_getpacket(D, q)).toBe(EWOULDBLOCK);
    expect(q.value).toBeNull();
    exhaust();
    expect(kpi.mbuf_getpacket(D, q)).toBe(EWOULDBLOCK);
    K.mbuf_freem(p.value);
  });

  it('mbuf_mclget: allocates when *mbuf is null; ENOMEM frees what it made, keeps the caller\'s mbuf', () => {
    expect(kpi.mbuf_mclget(W, T, null)).toBe(EINVAL);
    const a = nul();
    expect(kpi.mbuf_mclget(W, T, a)).toBe(0);
    expect([K.mbuf_maxlen(a.value!), K.mbuf_flags(a.value!)]).toEqual([2048, K.MBUF_EXT]);
    const mine = nul();
    expect(kpi.mbuf_gethdr(W, T, mine)).toBe(0);
    noClusters();
    const inUse = pool.stats.mbufsInUse;
    const b = nul();
    expect(kpi.mbuf_mclget(W, T, b)).toBe(ENOMEM); // made an mbuf, no cluster: freed again
    expect(b.value).toBeNull();
    expect(pool.stats.mbufsInUse).toBe(inUse);
    const m = mine.value;
    expect(kpi.mbuf_mclget(W, T, mine)).toBe(ENOMEM);
    expect(mine.value).toBe(m); // the caller's mbuf stays, without a cluster
    expect(K.mbuf_flags(m!) & K.MBUF_EXT).toBe(0);
    exhaust();
    expect(kpi.mbuf_mclget(W, T, b)).toBe(ENOMEM);
    expect(b.value).toBeNull();
    K.mbuf_freem(a.value); K.mbuf_freem(m);
  });

  it('mbuf_getcluster: exact sizes only (EINVAL), 16 KB needs a jumbo pool (ENOTSUP), ENOMEM; XNU error order', () => {
    for (const size of [2048, 4096, 16384]) {
      const b = nul();
      expect(kpi.mbuf_getcluster(W, T, size, b)).toBe(0);
      expect(K.mbuf_maxlen(b.value!)).toBe(size);
      K.mbuf_freem(b.value);
    }
    expect(kpi.mbuf_getcluster(W, T, 2048, null)).toBe(EINVAL);
    for (const size of [0, 1000, 2047, 8192, 65536]) {
      const b = nul();
      expect(kpi.mbuf_getcluster(W, T, size, b)).toBe(EINVAL);
      expect(b.value).toBeNull(); // the mbuf it made is freed again
    }
    const mine = nul();
    expect(kpi.mbuf_get(W, T, mine)).toBe(0);
    const m = mine.value;
    expect(kpi.mbuf_getcluster(W, T, 3000, mine)).toBe(EINVAL);
    expect(mine.value).toBe(m); // a caller's mbuf is never freed
    const noJumbo = new MbufKpi(pool, { jumbo: false });
    const j = nul();
    expect(noJumbo.mbuf_getcluster(W, T, 16384, j)).toBe(ENOTSUP);
    expect(j.value).toBeNull();
    expect(noJumbo.mbuf_getcluster(W, T, 16384, mine)).toBe(ENOTSUP);
    expect(mine.value).toBe(m);
    noClusters();
    expect(kpi.mbuf_getcluster(W, T, 4096, j)).toBe(ENOMEM);
    expect(j.value).toBeNull();
    expect(kpi.mbuf_getcluster(W, T, 4096, mine)).toBe(ENOMEM);
    expect(mine.value).toBe(m);
    exhaust();
    // no mbuf at all: ENOMEM comes first, before the size is even looked at (XNU's order)
    expect(kpi.mbuf_getcluster(W, T, 1234, j)).toBe(ENOMEM);
    expect(j.value).toBeNull();
    K.mbuf_freem(m);
  });

  it('mbuf_allocpacket: sizes per m_allocpacket_internal, lengths left 0, maxchunks in and out', () => {
    const cases: [number, number | null, boolean, number[]][] = [
      // len, maxchunks, jumbo, maxlen of each mbuf
      [1, null, true, [136]],
      [136, 0, true, [136]],
      [137, null, true, [136, 224]],
      [300, 1, true, [2048]], // one chunk allowed: a cluster instead of two small mbufs
      [361, null, true, [2048]],
      [2048, 1, true, [2048]],
      [2049, null, true, [4096]],
      [9000, null, true, [16384]],
      [9000, null, false, [4096, 4096, 4096]],
      [40_000, 3, true, [16384, 16384, 16384]],
    ];
    for (const [len, max, jumbo, shape] of cases) {
      const k = new MbufKpi(pool, { jumbo });
      const chunks = max === null ? null : box(max);
      const b = nul();
      expect(k.mbuf_allocpacket(W, len, chunks, b), `${len}`).toBe(0);
      const all = kpiMbufs(b.value);
      expect(all.map(K.mbuf_maxlen), `${len}/${max}/${jumbo}`).toEqual(shape);
      if (chunks !== null) expect(chunks.value).toBe(shape.length);
      expect(all.map(K.mbuf_len).every((l) => l === 0)).toBe(true);
      expect(K.mbuf_flags(all[0]!) & K.MBUF_PKTHDR).toBe(K.MBUF_PKTHDR);
      expect(K.mbuf_pkthdr_len(all[0]!)).toBe(0);
      K.mbuf_freem(b.value);
    }
  });

  it('mbuf_allocpacket: EINVAL for length 0, ENOBUFS above maxchunks (unchanged), ENOMEM without leaking', () => {
    const b = nul();
    expect(kpi.mbuf_allocpacket(W, 0, null, b)).toBe(EINVAL);
    const chunks = box(2);
    expect(kpi.mbuf_allocpacket(W, 40_000, chunks, b)).toBe(ENOBUFS); // three 16 KB chunks
    expect(chunks.value).toBe(2);
    expect(b.value).toBeNull();
    expect(kpi.mbuf_allocpacket(W, 200, box(1), b)).toBe(0); // one 2 KB chunk
    K.mbuf_freem(b.value);
    b.value = null;
    pool.limits.maxClusterBytes = pool.stats.clusterBytesInUse + 2 * 16384;
    expect(kpi.mbuf_allocpacket(W, 3 * 16384, null, b)).toBe(ENOMEM); // third cluster fails: all freed
    expect(b.value).toBeNull();
    unlimit();
  });

  it('mbuf_allocpacket_list: n packets by nextpkt; EINVAL for 0 packets; mbuf_freem_list counts them', () => {
    const b = nul();
    expect(kpi.mbuf_allocpacket_list(0, W, 100, null, b)).toBe(EINVAL);
    expect(kpi.mbuf_allocpacket_list(3, W, 0, null, b)).toBe(EINVAL);
    const chunks = box(0);
    expect(kpi.mbuf_allocpacket_list(3, W, 3000, chunks, b)).toBe(0);
    expect(chunks.value).toBe(1);
    let n = 0;
    for (let p: mbuf_t | null = b.value; p !== null; p = K.mbuf_nextpkt(p)) n++;
    expect(n).toBe(3);
    expect(K.mbuf_freem_list(b.value)).toBe(3);
  });
});

describe('freeing', () => {
  it('mbuf_free returns m_next; mbuf_freem frees the chain only, not nextpkt', () => {
    const a = packet(seqBytes(10)), b = packet(seqBytes(10), false), p2 = packet(seqBytes(5));
    expect(K.mbuf_setnext(a, b)).toBe(0);
    K.mbuf_setnextpkt(a, p2);
    expect(K.mbuf_free(a)).toBe(b);
    expect(pool.stats.mbufsInUse).toBe(2);
    K.mbuf_freem(b);
    expect(pool.stats.mbufsInUse).toBe(1);
    expect(K.mbuf_freem_list(p2)).toBe(1);
    K.mbuf_freem(null);
  });
});

describe('accessors', () => {
  it('mbuf_data aliases the storage; mbuf_datastart spans maxlen; mbuf_setdata checks the window (EINVAL)', () => {
    const m = packet(seqBytes(20));
    const v = K.mbuf_data(m);
    expect(v.length).toBe(20);
    v[3] = 0xee; // writes through
    const out = new Uint8Array(20);
    expect(K.mbuf_copydata(m, 0, 20, out)).toBe(0);
    expect(out[3]).toBe(0xee);
    const s = K.mbuf_datastart(m);
    expect(s.length).toBe(K.mbuf_maxlen(m));
    expect(K.mbuf_setdata(m, s.subarray(10), 40)).toBe(0);
    expect([K.mbuf_len(m), K.mbuf_leadingspace(m), K.mbuf_trailingspace(m)]).toEqual([40, 10, 136 - 50]);
    expect(K.mbuf_setdata(m, s.subarray(100), 37)).toBe(EINVAL); // past the end of the storage
    expect(K.mbuf_setdata(m, new Uint8Array(300), 1)).toBe(EINVAL); // not this mbuf's storage
    expect(K.mbuf_len(m)).toBe(40);
    K.mbuf_freem(m);
  });

  it('mbuf_adjustlen: EINVAL past maxlen or below 0; mbuf_setlen; mbuf_align_32', () => {
    const m = packet(seqBytes(8));
    expect(K.mbuf_adjustlen(m, 136 - 8)).toBe(0);
    expect(K.mbuf_adjustlen(m, 1)).toBe(EINVAL);
    expect(K.mbuf_adjustlen(m, -137)).toBe(EINVAL);
    expect(K.mbuf_adjustlen(m, -136)).toBe(0);
    K.mbuf_setlen(m, 50);
    expect(K.mbuf_len(m)).toBe(50);
    expect(K.mbuf_align_32(m, 20)).toBe(0);
    expect(((m.data - m.start) + 50 + 20) <= 136 && (m.data - m.start) % 4 === 0).toBe(true);
    expect(K.mbuf_align_32(m, 200)).toBe(EINVAL);
    K.mbuf_freem(m);
  });

  it('mbuf_setnext: EINVAL for a packet-list head or a freed mbuf; nextpkt is not validated', () => {
    const a = packet(seqBytes(4)), b = packet(seqBytes(4), false), c = packet(seqBytes(4));
    K.mbuf_setnextpkt(b, c);
    expect(K.mbuf_setnext(a, b)).toBe(EINVAL);
    K.mbuf_setnextpkt(b, null);
    const d = nul();
    expect(kpi.mbuf_get(W, T, d)).toBe(0);
    K.mbuf_free(d.value!);
    expect(K.mbuf_setnext(a, d.value)).toBe(EINVAL);
    expect(K.mbuf_setnext(a, b)).toBe(0);
    expect(K.mbuf_next(a)).toBe(b);
    expect(K.mbuf_setnext(a, null)).toBe(0);
    K.mbuf_freem(a); K.mbuf_freem(b); K.mbuf_freem(c);
  });

  it('pkthdr length: 0 without a header, setlen clamps to INT32_MAX, adjustlen adds', () => {
    const h = packet(seqBytes(9)), p = packet(seqBytes(9), false);
    expect(K.mbuf_pkthdr_len(h)).toBe(9);
    expect(K.mbuf_pkthdr_len(p)).toBe(0);
    K.mbuf_pkthdr_setlen(h, 2 ** 40);
    expect(K.mbuf_pkthdr_len(h)).toBe(0x7fffffff);
    K.mbuf_pkthdr_setlen(h, 9);
    K.mbuf_pkthdr_adjustlen(h, -4);
    expect(K.mbuf_pkthdr_len(h)).toBe(5);
    K.mbuf_pkthdr_setlen(p, 3);
    expect(K.mbuf_pkthdr_len(p)).toBe(0);
    expect(K.mbuf_pkthdr_setrcvif(p, 2)).toBe(EINVAL);
    expect(K.mbuf_pkthdr_setrcvif(h, 2)).toBe(0);
    expect(K.mbuf_pkthdr_rcvif(h)).toBe(2);
    K.mbuf_freem(h); K.mbuf_freem(p);
  });

  it('mbuf_setflags: EINVAL changing MBUF_EXT or a non-public bit; MBUF_PKTHDR re-inits (EBUSY over inline data)', () => {
    const c = nul();
    expect(kpi.mbuf_getpacket(W, c)).toBe(0);
    const m = c.value!;
    expect(K.mbuf_setflags(m, K.MBUF_PKTHDR)).toBe(EINVAL); // would clear EXT
    expect(K.mbuf_setflags(m, K.MBUF_EXT | K.MBUF_PKTHDR | 0x8)).toBe(EINVAL); // 0x8 is not public
    expect(K.mbuf_setflags(m, K.MBUF_EXT | K.MBUF_PKTHDR | K.MBUF_EOR | K.MBUF_BCAST)).toBe(0);
    expect(K.mbuf_flags(m)).toBe(K.MBUF_EXT | K.MBUF_PKTHDR | K.MBUF_EOR | K.MBUF_BCAST);
    const i = nul();
    expect(kpi.mbuf_get(W, T, i)).toBe(0);
    expect(K.mbuf_setflags(i.value!, K.MBUF_EXT)).toBe(EINVAL); // would set EXT
    expect(K.mbuf_setflags(i.value!, K.MBUF_PKTHDR)).toBe(0); // empty inline: becomes a header mbuf
    expect([K.mbuf_maxlen(i.value!), K.mbuf_pkthdr_len(i.value!)]).toEqual([136, 0]);
    expect(K.mbuf_setflags(i.value!, 0)).toBe(0);
    expect(K.mbuf_maxlen(i.value!)).toBe(224);
    K.mbuf_setlen(i.value!, 10);
    expect(K.mbuf_setflags(i.value!, K.MBUF_PKTHDR)).toBe(EBUSY); // data would overlap the header
    expect(K.mbuf_flags(i.value!)).toBe(0);
    // an external mbuf takes a header whatever it holds
    K.mbuf_setlen(m, 100);
    expect(K.mbuf_setflags(m, K.MBUF_EXT)).toBe(0);
    expect(K.mbuf_setflags(m, K.MBUF_EXT | K.MBUF_PKTHDR)).toBe(0);
    K.mbuf_freem(m); K.mbuf_freem(i.value);
  });

  it('mbuf_setflags_mask: EINVAL when the mask holds MBUF_EXT or a non-public bit', () => {
    const m = packet(seqBytes(3));
    expect(K.mbuf_setflags_mask(m, 0, K.MBUF_EXT)).toBe(EINVAL);
    expect(K.mbuf_setflags_mask(m, 0x8, 0x8)).toBe(EINVAL);
    expect(K.mbuf_setflags_mask(m, K.MBUF_MCAST | K.MBUF_LOOP, K.MBUF_MCAST)).toBe(0);
    expect(K.mbuf_flags(m)).toBe(K.MBUF_PKTHDR | K.MBUF_MCAST);
    K.mbuf_freem(m);
  });

  it('mbuf_settype: EINVAL for MBUF_TYPE_FREE', () => {
    const m = packet(seqBytes(3));
    expect(K.mbuf_settype(m, K.MBUF_TYPE_FREE)).toBe(EINVAL);
    expect(K.mbuf_settype(m, K.MBUF_TYPE_OOBDATA)).toBe(0);
    expect(K.mbuf_type(m)).toBe(15);
    K.mbuf_freem(m);
  });

  it('leading/trailing space are 0 on a shared cluster; mbuf_copy_pkthdr: EINVAL without a source header', () => {
    const m = packet(seqBytes(1000));
    K.mbuf_adj(m, 10);
    expect(K.mbuf_leadingspace(m)).toBe(10);
    const c = nul();
    expect(K.mbuf_copym(m, 0, K.MBUF_COPYALL, W, c)).toBe(0);
    expect(K.mbuf_mclhasreference(m)).toBe(true);
    expect([K.mbuf_leadingspace(m), K.mbuf_trailingspace(m)]).toEqual([0, 0]);
    const plain = packet(seqBytes(5), false);
    expect(K.mbuf_copy_pkthdr(m, plain)).toBe(EINVAL);
    K.mbuf_setflags_mask(m, K.MBUF_BCAST, K.MBUF_BCAST);
    expect(K.mbuf_copy_pkthdr(plain, m)).toBe(0);
    expect(K.mbuf_flags(plain) & (K.MBUF_PKTHDR | K.MBUF_BCAST)).toBe(K.MBUF_PKTHDR | K.MBUF_BCAST);
    expect(K.mbuf_pkthdr_len(plain)).toBe(990);
    K.mbuf_freem(m); K.mbuf_freem(c.value); K.mbuf_freem(plain);
  });
});

describe('chain operations', () => {
  it('mbuf_copydata: EINVAL at INT_MAX or past the chain; len 0 and a null buffer succeed', () => {
    const m = packet(seqBytes(50));
    const out = new Uint8Array(60);
    expect(K.mbuf_copydata(m, 0x7fffffff, 1, out)).toBe(EINVAL);
    expect(K.mbuf_copydata(m, 0, 0x7fffffff, out)).toBe(EINVAL);
    expect(K.mbuf_copydata(m, 45, 6, out)).toBe(EINVAL);
    expect(K.mbuf_copydata(m, 51, 0, out)).toBe(0);
    expect(K.mbuf_copydata(m, 0, 50, null)).toBe(0);
    expect(K.mbuf_copydata(m, 0, 50, new Uint8Array(10))).toBe(EINVAL);
    expect(K.mbuf_copydata(m, 40, 10, out)).toBe(0);
    expect([...out.subarray(0, 10)]).toEqual([...seqBytes(50).subarray(40)]);
    K.mbuf_freem(m);
  });

  it('mbuf_copyback: EINVAL for null/empty arguments; extends with a zero gap; ENOBUFS when memory runs out', () => {
    const m = packet(seqBytes(10));
    expect(K.mbuf_copyback(null, 0, 1, seqBytes(1), W)).toBe(EINVAL);
    expect(K.mbuf_copyback(m, 0, 1, null, W)).toBe(EINVAL);
    expect(K.mbuf_copyback(m, 0, 0, seqBytes(1), W)).toBe(EINVAL);
    expect(K.mbuf_copyback(m, 0, 5, seqBytes(4), W)).toBe(EINVAL); // data shorter than len
    expect(K.mbuf_copyback(m, 300, 3, Uint8Array.of(1, 2, 3), W)).toBe(0);
    checkKpiChain(m, concat(seqBytes(10), new Uint8Array(290), Uint8Array.of(1, 2, 3)), 'copyback gap');
    exhaust(true);
    expect(K.mbuf_copyback(m, 303, 5000, seqBytes(5000), D)).toBe(ENOBUFS);
    expect(kpiBytes(m).length).toBeGreaterThanOrEqual(303); // partial write, nothing lost
    K.mbuf_freem(m);
  });

  it('mbuf_copym / mbuf_dup: ENOMEM with the box nulled; copym past the chain is ENOMEM', () => {
    const m = packet(seqBytes(400)); // 2 KB cluster
    const c = box<mbuf_t | null>(m);
    expect(K.mbuf_copym(m, 100, 301, W, c)).toBe(ENOMEM);
    expect(c.value).toBeNull();
    expect(K.mbuf_copym(m, 401, K.MBUF_COPYALL, W, c)).toBe(ENOMEM);
    expect(K.mbuf_copym(m, 100, K.MBUF_COPYALL, W, c)).toBe(0);
    checkKpiChain(c.value!, seqBytes(400).subarray(100), 'copym');
    K.mbuf_freem(c.value);
    exhaust();
    c.value = m;
    expect(K.mbuf_copym(m, 0, 10, W, c)).toBe(ENOMEM);
    expect(c.value).toBeNull();
    c.value = m;
    expect(K.mbuf_dup(m, W, c)).toBe(ENOMEM);
    expect(c.value).toBeNull();
    K.mbuf_freem(m);
  });

  it('mbuf_split: ENOMEM with src untouched past the end, at the very end without a pkthdr, or out of memory', () => {
    const bytes = seqBytes(100);
    const m = packet(bytes, false);
    const t = box<mbuf_t | null>(m);
    expect(K.mbuf_split(m, 101, W, t)).toBe(ENOMEM);
    expect(t.value).toBeNull();
    expect(K.mbuf_split(m, 100, W, t)).toBe(ENOMEM); // XNU's m_split returns m_next, which is NULL
    checkKpiChain(m, bytes, 'untouched');
    const h = packet(bytes);
    expect(K.mbuf_split(h, 100, W, t)).toBe(0); // with a pkthdr the rest is an empty header mbuf
    expect([K.mbuf_len(t.value!), K.mbuf_pkthdr_len(t.value!), K.mbuf_pkthdr_len(h)]).toEqual([0, 0, 100]);
    K.mbuf_freem(t.value);
    expect(K.mbuf_split(h, 30, W, t)).toBe(0);
    checkKpiChain(h, bytes.subarray(0, 30), 'head');
    checkKpiChain(t.value!, bytes.subarray(30), 'tail');
    expect(K.mbuf_concatenate(h, t.value)).toBe(h);
    expect(K.mbuf_pkthdr_len(h)).toBe(30); // concatenate does not update pkthdr.len
    K.mbuf_pkthdr_setlen(h, 100);
    checkKpiChain(h, bytes, 'rejoined');
    exhaust();
    expect(K.mbuf_split(h, 50, W, t)).toBe(ENOMEM);
    expect(t.value).toBeNull();
    checkKpiChain(h, bytes, 'untouched after ENOMEM');
    K.mbuf_freem(m); K.mbuf_freem(h);
  });

  it('mbuf_pullup: ENOMEM frees the chain and nulls the box (chain too short, len above MHLEN/MLEN)', () => {
    const mk = (): mbuf_t => {
      const a = packet(seqBytes(100)), b = packet(seqBytes(200, 100), false);
      expect(K.mbuf_setnext(a, b)).toBe(0);
      K.mbuf_pkthdr_setlen(a, 300);
      return a;
    };
    const b1 = box<mbuf_t | null>(mk());
    expect(K.mbuf_pullup(b1, 120)).toBe(0);
    expect(K.mbuf_len(b1.value!)).toBeGreaterThanOrEqual(120);
    checkKpiChain(b1.value!, concat(seqBytes(100), seqBytes(200, 100)), 'pulled');
    K.mbuf_freem(b1.value);
    for (const len of [301, 137, 250]) {
      const b = box<mbuf_t | null>(mk());
      expect(K.mbuf_pullup(b, len), `${len}`).toBe(ENOMEM);
      expect(b.value).toBeNull();
      expect(pool.stats.mbufsInUse).toBe(0);
    }
  });

  it('mbuf_pulldown: location and offset inside it; ENOMEM frees the chain', () => {
    const a = packet(seqBytes(100)), b = packet(seqBytes(200, 100), false);
    expect(K.mbuf_setnext(a, b)).toBe(0);
    K.mbuf_pkthdr_setlen(a, 300);
    const off = box(90), loc = nul();
    expect(K.mbuf_pulldown(a, off, 40, loc)).toBe(0);
    expect([...K.mbuf_data(loc.value!).subarray(off.value, off.value + 40)]).toEqual([...concat(seqBytes(100), seqBytes(200, 100)).subarray(90, 130)]);
    const off2 = box(290);
    expect(K.mbuf_pulldown(a, off2, 20, loc)).toBe(ENOMEM);
    expect(loc.value).toBeNull();
    expect(off2.value).toBe(290);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('mbuf_prepend: leading space first, pkthdr.len grows; ENOMEM above MHLEN frees the chain and nulls the box', () => {
    const m = packet(seqBytes(20));
    K.mbuf_adj(m, 8); // 8 bytes of leading space now
    const b = box<mbuf_t | null>(m);
    const inUse = pool.stats.mbufsInUse;
    expect(K.mbuf_prepend(b, 8, W)).toBe(0);
    expect(b.value).toBe(m);
    expect(pool.stats.mbufsInUse).toBe(inUse);
    expect(K.mbuf_pkthdr_len(m)).toBe(20);
    expect(K.mbuf_prepend(b, 100, W)).toBe(0); // a new head mbuf takes over the header
    expect(b.value).not.toBe(m);
    expect([K.mbuf_pkthdr_len(b.value!), K.mbuf_flags(m) & K.MBUF_PKTHDR]).toEqual([120, 0]);
    expect(K.mbuf_prepend(b, 137, W)).toBe(ENOMEM);
    expect(b.value).toBeNull();
    expect(pool.stats.mbufsInUse).toBe(0);
    const n = box<mbuf_t | null>(packet(seqBytes(5)));
    exhaust();
    expect(K.mbuf_prepend(n, 100, D)).toBe(ENOMEM); // no mbuf for the new head: consumed too
    expect(n.value).toBeNull();
  });

  it('mbuf_adj trims head or tail and pkthdr.len; mbuf_concatenate(null) is null', () => {
    const m = packet(seqBytes(50));
    K.mbuf_adj(m, 5);
    K.mbuf_adj(m, -5);
    checkKpiChain(m, seqBytes(50).subarray(5, 45), 'adj');
    K.mbuf_adj(m, 1000);
    expect([K.mbuf_len(m), K.mbuf_pkthdr_len(m)]).toEqual([0, 0]);
    expect(K.mbuf_concatenate(null, m)).toBeNull();
    K.mbuf_freem(m);
  });
});
