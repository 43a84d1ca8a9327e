// kpi_mbuf.h for tunstack (bsd/sys/kpi_mbuf.h, bsd/kern/kpi_mbuf.c; xnu-sockets.md §1.9, §9): the
// mbuf KPI under its XNU names, argument order and errnos, as a thin facade over stack/mbuf.
//   mbuf-constants.ts  MBUF_* constants, mbuf_t & co., mbuf_get_mlen/mhlen/minclsize/msize
//   mbuf-access.ts     accessors of one mbuf (data views, lengths, linkage, pkthdr, flags, type)
//   mbuf-chain.ts      chain operations (free, copy, split, pullup, pulldown, prepend, adj, cat)
//   mbuf-alloc.ts      MbufKpi: allocation from nothing, bound to a stack's MbufPool
// Out-parameters are `{ value }` boxes; pointers are Uint8Array views aliasing mbuf storage.

export * from './mbuf-constants.js';
export * from './mbuf-access.js';
export * from './mbuf-chain.js';
export * from './mbuf-alloc.js';
