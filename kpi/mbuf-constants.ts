// kpi_mbuf.h constants and types (bsd/sys/kpi_mbuf.h, xnu-sockets.md §1.9), and the size getters
// a KPI client must use instead of hard-coding MLEN/MHLEN (mbuf_get_mlen & co.). Values are the
// stack's own (stack/mbuf/constants.ts: the classic LP64 "mcache" build, MSIZE 256, MLEN 224).
//
// client → kpi/kpi-mbuf.ts (barrel) → mbuf-constants.ts (this file), mbuf-access.ts, mbuf-chain.ts,
// mbuf-alloc.ts → stack/mbuf

import type { Mbuf } from '../stack/index.js';
import {
  M_BCAST, M_EOR, M_EXT, M_FIRSTFRAG, M_FRAG, M_HASFCS, M_LASTFRAG, M_LOOP, M_MCAST, M_PKTHDR, M_PROMISC,
  MHLEN, MINCLSIZE, MLEN, MSIZE,
} from '../stack/index.js';

/** mbuf_t: an mbuf of the stack's pool (the KPI hands out the stack's own objects, no wrapper). */
export type mbuf_t = Mbuf;
/** mbuf_how_t: MBUF_WAITOK or MBUF_DONTWAIT. */
export type mbuf_how_t = number;
/** mbuf_type_t: MBUF_TYPE_*. */
export type mbuf_type_t = number;
/** mbuf_flags_t: MBUF_* flag bits. */
export type mbuf_flags_t = number;

// mbuf_how_t
export const MBUF_WAITOK = 0;
export const MBUF_DONTWAIT = 1;

// mbuf_flags_t (public flags only)
/** Read-only: the mbuf has external storage (a cluster). */
export const MBUF_EXT = M_EXT;
export const MBUF_PKTHDR = M_PKTHDR;
export const MBUF_EOR = M_EOR;
export const MBUF_LOOP = M_LOOP;
export const MBUF_BCAST = M_BCAST;
export const MBUF_MCAST = M_MCAST;
export const MBUF_FRAG = M_FRAG;
export const MBUF_FIRSTFRAG = M_FIRSTFRAG;
export const MBUF_LASTFRAG = M_LASTFRAG;
export const MBUF_PROMISC = M_PROMISC;
export const MBUF_HASFCS = M_HASFCS;

/** Every public flag (kpi_mbuf.c mbuf_flags_mask): mbuf_flags reports only these. */
export const MBUF_FLAGS_MASK = MBUF_EXT | MBUF_PKTHDR | MBUF_EOR | MBUF_LOOP | MBUF_BCAST | MBUF_MCAST |
  MBUF_FRAG | MBUF_FIRSTFRAG | MBUF_LASTFRAG | MBUF_PROMISC | MBUF_HASFCS;
/** Public flags a client may not change (kpi_mbuf.c mbuf_cflags_mask). */
export const MBUF_CFLAGS_MASK = MBUF_EXT;

// mbuf_type_t
export const MBUF_TYPE_FREE = 0;
export const MBUF_TYPE_DATA = 1;
export const MBUF_TYPE_HEADER = 2;
export const MBUF_TYPE_SOCKET = 3;
export const MBUF_TYPE_PCB = 4;
export const MBUF_TYPE_SONAME = 8;
export const MBUF_TYPE_SOOPTS = 10;
export const MBUF_TYPE_CONTROL = 14;
export const MBUF_TYPE_OOBDATA = 15;

/** mbuf_copym's "to the end of the chain" length (M_COPYALL, bsd/sys/mbuf.h). */
export const MBUF_COPYALL = 1_000_000_000;

/** mbuf_get_msize: MSIZE, the size of one mbuf. */
export function mbuf_get_msize(): number { return MSIZE; }
/** mbuf_get_mlen: data bytes in a plain mbuf (MLEN). */
export function mbuf_get_mlen(): number { return MLEN; }
/** mbuf_get_mhlen: data bytes in a packet-header mbuf (MHLEN). */
export function mbuf_get_mhlen(): number { return MHLEN; }
/** mbuf_get_minclsize: the smallest amount worth a cluster (MINCLSIZE = MLEN + MHLEN). */
export function mbuf_get_minclsize(): number { return MINCLSIZE; }
