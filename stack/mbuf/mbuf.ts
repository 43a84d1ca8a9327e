// The mbuf: a chain link with a window [data, data+len) into its storage, BSD style.
// Storage is either the mbuf's own small inline array or a refcounted Cluster shared by reference.
// Allocation and freeing live in pool.ts; chain operations (adj, pullup, split, ...) in chain.ts.

import { M_EXT, M_PKTHDR, MT_FREE } from './constants.js';
import type { MbufPool } from './pool.js';

/** Whoever gets a cluster back when its last reference goes: a pool, or a driver's receive buffer. */
export interface ClusterOwner {
  releaseCluster(c: Cluster): void;
}

/**
 * External storage: [start, start+size) of `buf`. Several mbufs may reference one cluster (m_copym,
 * m_split, socket-buffer appends); the bytes are only written while refs === 1 (M_WRITABLE).
 */
export class Cluster {
  refs = 0;
  constructor(
    public buf: Uint8Array,
    public start: number,
    public size: number,
    public owner: ClusterOwner | null,
  ) {}
}

export class Mbuf {
  next: Mbuf | null = null;
  nextpkt: Mbuf | null = null;
  /** Current storage: `inline` or `ext.buf`. */
  buf: Uint8Array;
  /** Offset of the first data byte in `buf`. */
  data = 0;
  /** m_len: data bytes in this mbuf. */
  len = 0;
  /** First and one-past-last usable storage offsets in `buf` (mbuf_datastart / maxlen). */
  start = 0;
  end = 0;
  flags = 0;
  type = MT_FREE;
  ext: Cluster | null = null;

  // Packet header, valid when (flags & M_PKTHDR). Inline fields: no extra object per packet.
  pktLen = 0;
  /** Receiving interface index (0 = none). */
  rcvif = 0;
  csumFlags = 0;
  /** For CSUM_NEEDS: offset of the checksum field's start of coverage and of the field itself. */
  csumStart = 0;
  csumOffset = 0;
  gsoType = 0;
  gsoSize = 0;

  /** Set while the mbuf sits in its pool's free list: catches use-after-free and double free. */
  freed = true;

  constructor(readonly pool: MbufPool, readonly inline: Uint8Array) {
    this.buf = inline;
  }

  get hasPkthdr(): boolean { return (this.flags & M_PKTHDR) !== 0; }
  get isExt(): boolean { return (this.flags & M_EXT) !== 0; }

  /** M_WRITABLE: inline storage, or a cluster nobody else references. */
  get writable(): boolean { return this.ext === null || this.ext.refs === 1; }

  /** M_LEADINGSPACE, which XNU reports as 0 for a shared (read-only) cluster. */
  get leadingSpace(): number { return this.writable ? this.data - this.start : 0; }
  /** M_TRAILINGSPACE, likewise 0 when not writable. */
  get trailingSpace(): number { return this.writable ? this.end - (this.data + this.len) : 0; }
  /** mbuf_maxlen: size of the storage. */
  get maxLen(): number { return this.end - this.start; }

  /** The data as a view (allocates a view object: for tests and cold paths). */
  bytes(): Uint8Array { return this.buf.subarray(this.data, this.data + this.len); }

  /** Copies the packet header fields from `src` (m_copy_pkthdr, minus tags). */
  copyPkthdrFrom(src: Mbuf): void {
    this.flags = (this.flags & ~PKTHDR_COPIED_FLAGS) | (src.flags & PKTHDR_COPIED_FLAGS) | M_PKTHDR;
    this.pktLen = src.pktLen;
    this.rcvif = src.rcvif;
    this.csumFlags = src.csumFlags;
    this.csumStart = src.csumStart;
    this.csumOffset = src.csumOffset;
    this.gsoType = src.gsoType;
    this.gsoSize = src.gsoSize;
  }

  /** m_demote_pkthdr: drops the header and the packet-level flags that travel with it (M_COPYFLAGS). */
  clearPkthdr(): void {
    this.flags &= ~(M_PKTHDR | PKTHDR_COPIED_FLAGS);
    this.pktLen = 0; this.rcvif = 0; this.csumFlags = 0; this.csumStart = 0; this.csumOffset = 0;
    this.gsoType = 0; this.gsoSize = 0;
  }
}

/** Flags that travel with the packet header (M_COPYFLAGS in BSD). */
export const PKTHDR_COPIED_FLAGS = 0x0004 | 0x0040 | 0x0100 | 0x0200 | 0x0400 | 0x0800 | 0x1000 | 0x2000 | 0x4000;
