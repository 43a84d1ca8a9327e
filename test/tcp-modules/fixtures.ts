// Shared fixtures for the TCP module tests: a CcConn stand-in and mbuf chain builders.

import { MT_DATA, MbufPool, mToBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import type { CcConn } from '../../stack/tcp/tcp-cc.js';

/** A tcpcb as the congestion controller sees it; every field writable for the tests. */
export class FakeConn implements CcConn {
  snd_cwnd = 0;
  snd_ssthresh = 0;
  t_maxseg: number;
  flight = 0;
  srttUs = 0;
  minRttUs = 0;
  snd_wnd = 1 << 30;
  inRecovery = false;
  ccState: unknown = null;
  constructor(smss = 1000) { this.t_maxseg = smss; }
}

/**
 * A chain holding `bytes`, cut into mbufs of at most `piece` bytes (the first, with a pkthdr, at
 * most 100), so chains have several links. Throws if the pool refuses (tests use roomy pools).
 */
export function chainOf(pool: MbufPool, bytes: Uint8Array, piece = 64): Mbuf {
  const head = pool.getHdr(MT_DATA);
  if (head === null) throw new Error('pool exhausted');
  let m = head;
  let off = 0;
  let first = true;
  do {
    const room = first ? Math.min(100, piece) : piece;
    const n = Math.min(room, bytes.length - off);
    m.buf.set(bytes.subarray(off, off + n), m.data);
    m.len = n;
    off += n;
    first = false;
    if (off < bytes.length) {
      const nx = pool.get(MT_DATA);
      if (nx === null) throw new Error('pool exhausted');
      m.next = nx;
      m = nx;
    }
  } while (off < bytes.length);
  head.pktLen = bytes.length;
  return head;
}

/** Bytes of a chain (null reads as empty). */
export const bytesOfChain = (m: Mbuf | null): Uint8Array => mToBytes(m);

/** `n` bytes with a recognizable pattern starting at `from`. */
export const pattern = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i * 7) & 0xff);

/** `n` bytes of `v`. */
export const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
