// kpi_mbuf.h allocation from nothing (bsd/kern/kpi_mbuf.c mbuf_get/gethdr/getpacket/mclget/
// getcluster/allocpacket): XNU has one global allocator; a tunstack process may run several
// stacks, each with its own MbufPool. So the allocating functions are methods of an MbufKpi bound
// to a pool (`mbufKpi(stack)` or `new MbufKpi(stack.pool)`), under their XNU names and argument
// order; everything that works on an existing chain is a free function (mbuf-access.ts,
// mbuf-chain.ts) allocating from the chain's own pool.
//
// Errors (§9): ENOMEM when the pool is exhausted, except mbuf_getpacket with MBUF_DONTWAIT
// (EWOULDBLOCK); EINVAL for bad arguments; ENOTSUP for a 16 KB cluster when the MbufKpi was made
// without a jumbo pool (`{ jumbo: false }`; the default models XNU with njcl > 0); ENOBUFS when
// mbuf_allocpacket needs more than *maxchunks mbufs.

import type { Box, MbufPool } from '../stack/index.js';
import {
  EINVAL, ENOBUFS, ENOMEM, ENOTSUP, EWOULDBLOCK, mFreem, mFreemList, MCLBYTES, MBIGCLBYTES, M16KCLBYTES,
  MHLEN, MINCLSIZE,
} from '../stack/index.js';
import type { mbuf_how_t, mbuf_t, mbuf_type_t } from './mbuf-constants.js';
import { MBUF_TYPE_DATA, MBUF_WAITOK } from './mbuf-constants.js';
import { isCount } from './mbuf-args.js';
import type { errno_t } from './mbuf-args.js';

export interface MbufKpiOptions {
  /** A 16 KB (jumbo) cluster pool exists (XNU's njcl > 0). Default true; false gives ENOTSUP. */
  readonly jumbo?: boolean;
}

/** Anything that owns a pool: a Stack, a kernel context. */
export interface MbufPoolOwner {
  readonly pool: MbufPool;
}

/** The allocating half of kpi_mbuf for the pool of `owner` (a Stack). */
export function mbufKpi(owner: MbufPoolOwner, opts: MbufKpiOptions = {}): MbufKpi {
  return new MbufKpi(owner.pool, opts);
}

export class MbufKpi {
  /** Whether 16 KB clusters are available (mbuf_getcluster, mbuf_allocpacket). */
  readonly jumbo: boolean;

  constructor(readonly pool: MbufPool, opts: MbufKpiOptions = {}) {
    this.jumbo = opts.jumbo ?? true;
  }

  /** mbuf_get(how, type, mbuf): one plain mbuf. ENOMEM with *mbuf = null when the pool is exhausted. */
  mbuf_get(_how: mbuf_how_t, type: mbuf_type_t, mbuf: Box<mbuf_t | null>): errno_t {
    mbuf.value = this.pool.get(type);
    return mbuf.value === null ? ENOMEM : 0;
  }

  /** mbuf_gethdr(how, type, mbuf): one mbuf with a packet header (MHLEN bytes inline). ENOMEM, *mbuf = null. */
  mbuf_gethdr(_how: mbuf_how_t, type: mbuf_type_t, mbuf: Box<mbuf_t | null>): errno_t {
    mbuf.value = this.pool.getHdr(type);
    return mbuf.value === null ? ENOMEM : 0;
  }

  /**
   * mbuf_getpacket(how, mbuf): a packet-header mbuf of type MBUF_TYPE_DATA with a 2 KB cluster.
   * Exhaustion: ENOMEM for MBUF_WAITOK, EWOULDBLOCK for MBUF_DONTWAIT; *mbuf = null either way.
   */
  mbuf_getpacket(how: mbuf_how_t, mbuf: Box<mbuf_t | null>): errno_t {
    mbuf.value = this.pool.getPacket(MCLBYTES, MBUF_TYPE_DATA);
    if (mbuf.value !== null) return 0;
    return how === MBUF_WAITOK ? ENOMEM : EWOULDBLOCK;
  }

  /**
   * mbuf_mclget(how, type, mbuf): attaches a 2 KB cluster to *mbuf (allocating the mbuf first
   * when *mbuf is null; data moves to the cluster's start, m_len is kept). ENOMEM when out of
   * memory: an mbuf made here is freed and *mbuf = null; a caller's mbuf is left in *mbuf,
   * without a cluster. EINVAL for a null box.
   */
  mbuf_mclget(how: mbuf_how_t, type: mbuf_type_t, mbuf: Box<mbuf_t | null> | null): errno_t {
    if (mbuf === null) return EINVAL;
    return this.attach(how, type, MCLBYTES, mbuf);
  }

  /**
   * mbuf_getcluster(how, type, size, mbuf): attaches a cluster of exactly MCLBYTES, MBIGCLBYTES
   * or M16KCLBYTES to *mbuf (allocated when null). Errors in XNU's order: ENOMEM when no mbuf
   * could be made; EINVAL for any other size; ENOTSUP for 16 KB without a jumbo pool; ENOMEM when
   * no cluster is left. On failure an mbuf made here is freed and *mbuf = null; a caller's mbuf
   * stays in *mbuf unchanged. EINVAL for a null box.
   */
  mbuf_getcluster(how: mbuf_how_t, type: mbuf_type_t, size: number, mbuf: Box<mbuf_t | null> | null): errno_t {
    if (mbuf === null) return EINVAL;
    let created = false;
    if (mbuf.value === null) {
      mbuf.value = this.pool.get(type);
      if (mbuf.value === null) return ENOMEM;
      created = true;
    }
    let e = 0;
    if (size !== MCLBYTES && size !== MBIGCLBYTES && size !== M16KCLBYTES) e = EINVAL;
    else if (size === M16KCLBYTES && !this.jumbo) e = ENOTSUP;
    else if (!mbuf.value.pool.attachCluster(mbuf.value, size)) e = ENOMEM;
    if (e !== 0 && created) {
      this.pool.free(mbuf.value);
      mbuf.value = null;
    }
    return e;
  }

  /**
   * mbuf_allocpacket(how, packetlen, maxchunks, mbuf): one packet chain able to hold `packetlen`
   * bytes: a packet-header mbuf first, cluster sizes chosen as XNU's m_allocpacket_internal does
   * (see chunkPlan). Every m_len and pkthdr.len is 0: the caller sets them. `maxchunks` (null =
   * no limit; *maxchunks 0 = no limit) caps the mbufs used; on success it receives the number
   * used. Errors: EINVAL for packetlen 0; ENOBUFS when more than *maxchunks mbufs are needed
   * (*maxchunks unchanged); ENOMEM when out of memory (nothing leaks). *mbuf is only written on
   * success, as in XNU.
   */
  mbuf_allocpacket(how: mbuf_how_t, packetlen: number, maxchunks: Box<number> | null, mbuf: Box<mbuf_t | null>): errno_t {
    return this.allocpacketList(1, how, packetlen, maxchunks, mbuf);
  }

  /**
   * mbuf_allocpacket_list(numpkts, how, packetlen, maxchunks, mbuf): `numpkts` such packets
   * linked by m_nextpkt. EINVAL for numpkts 0 or packetlen 0; otherwise as mbuf_allocpacket
   * (*maxchunks counts the mbufs of one packet).
   */
  mbuf_allocpacket_list(
    numpkts: number, how: mbuf_how_t, packetlen: number, maxchunks: Box<number> | null, mbuf: Box<mbuf_t | null>,
  ): errno_t {
    return this.allocpacketList(numpkts, how, packetlen, maxchunks, mbuf);
  }

  private allocpacketList(
    numpkts: number, _how: mbuf_how_t, packetlen: number, maxchunks: Box<number> | null, mbuf: Box<mbuf_t | null>,
  ): errno_t {
    if (!isCount(numpkts) || numpkts === 0 || !isCount(packetlen) || packetlen === 0) return EINVAL;
    const limit = maxchunks !== null ? maxchunks.value : 0;
    const plan = chunkPlan(packetlen, limit === 1, this.jumbo);
    if (limit !== 0 && plan.nsegs > limit) return ENOBUFS;
    let head: mbuf_t | null = null;
    let last: mbuf_t | null = null;
    for (let p = 0; p < numpkts; p++) {
      const pkt = this.allocOne(plan);
      if (pkt === null) {
        mFreemList(head);
        return ENOMEM;
      }
      if (last === null) head = pkt;
      else last.nextpkt = pkt;
      last = pkt;
    }
    if (maxchunks !== null) maxchunks.value = plan.nsegs;
    mbuf.value = head;
    return 0;
  }

  /** One packet per plan: a pkthdr mbuf, then plain ones; each with a cluster of plan.clsize (0 = inline). */
  private allocOne(plan: ChunkPlan): mbuf_t | null {
    const pool = this.pool;
    let head: mbuf_t | null = null;
    let tail: mbuf_t | null = null;
    for (let i = 0; i < plan.nsegs; i++) {
      const m = i === 0 ? pool.getHdr(MBUF_TYPE_DATA) : pool.get(MBUF_TYPE_DATA);
      if (m === null || (plan.clsize > 0 && !pool.attachCluster(m, plan.clsize))) {
        if (m !== null) pool.free(m);
        mFreem(head);
        return null;
      }
      if (tail === null) head = m;
      else tail.next = m;
      tail = m;
    }
    return head;
  }

  /** The shared step of mbuf_mclget: attach a 2 KB cluster, freeing an mbuf made here on failure. */
  private attach(_how: mbuf_how_t, type: mbuf_type_t, size: number, mbuf: Box<mbuf_t | null>): errno_t {
    let created = false;
    if (mbuf.value === null) {
      mbuf.value = this.pool.get(type);
      if (mbuf.value === null) return ENOMEM;
      created = true;
    }
    if (mbuf.value.pool.attachCluster(mbuf.value, size)) return 0;
    if (created) {
      this.pool.free(mbuf.value);
      mbuf.value = null;
    }
    return ENOMEM;
  }
}

interface ChunkPlan {
  /** Mbufs per packet. */
  readonly nsegs: number;
  /** Cluster size attached to every mbuf (0: inline mbufs only). */
  readonly clsize: number;
}

/**
 * m_allocpacket_internal's sizing with wantsize 0 (bsd/kern/uipc_mbuf.c): up to MHLEN one header
 * mbuf; up to MINCLSIZE a header mbuf and a plain one (or one 2 KB cluster when only one chunk is
 * allowed); up to MCLBYTES 2 KB clusters; above that 4 KB clusters, or 16 KB ones when the packet
 * needs more than 4 KB and a jumbo pool exists. nsegs = ceil(len / cluster size).
 */
export function chunkPlan(packetlen: number, oneChunk: boolean, jumbo: boolean): ChunkPlan {
  if (packetlen <= MHLEN) return { nsegs: 1, clsize: 0 };
  if (packetlen <= MINCLSIZE) return oneChunk ? { nsegs: 1, clsize: MCLBYTES } : { nsegs: 2, clsize: 0 };
  let clsize: number;
  if (packetlen <= MCLBYTES) clsize = MCLBYTES;
  else if (packetlen <= MBIGCLBYTES || !jumbo) clsize = MBIGCLBYTES;
  else clsize = M16KCLBYTES;
  return { nsegs: Math.ceil(packetlen / clsize), clsize };
}
