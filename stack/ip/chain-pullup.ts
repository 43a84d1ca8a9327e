// Making headers contiguous in the head mbuf before the IP layer reads them through the stack/wire
// views: BSD's m_pullup, extended past MHLEN, and the transport-header pullup done before delivery.
// Used by every input and ICMP file of stack/ip.

import type { Mbuf } from '../mbuf/index.js';
import { mAdj, mCopydata, mFreem, mPullup, MHLEN } from '../mbuf/index.js';
import { ICMP_HEADER_LEN } from '../wire/icmp-header.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip-proto.js';
import { TCP_HEADER_LEN, type TcpView } from '../wire/tcp.js';
import { UDP_HEADER_LEN } from '../wire/udp.js';

/**
 * m_pullup that also works beyond MHLEN: makes the first `len` bytes contiguous in the head mbuf
 * (copying into a fresh cluster head when they do not fit an mbuf). With `writable`, also makes
 * sure the head may be written (not a shared cluster). Returns the head, or null after freeing the
 * chain (too short or no buffers).
 */
export function pullup(m: Mbuf, len: number, writable = false): Mbuf | null {
  if (m.len >= len && (!writable || m.writable)) return m;
  if (len <= MHLEN && m.writable) return mPullup(m, len);
  const pool = m.pool;
  const n = pool.getPacket(len + 64);
  if (n === null) { mFreem(m); return null; }
  n.data = n.start + (n.end - n.start >= len + 64 ? 64 : 0);
  if (!mCopydata(m, 0, len, n.buf, n.data)) {
    pool.free(n);
    mFreem(m);
    return null;
  }
  if (m.hasPkthdr) {
    n.copyPkthdrFrom(m);
    m.clearPkthdr();
  }
  mAdj(m, len);
  n.len = len;
  // Drop mbufs the copy emptied.
  let rest: Mbuf | null = m;
  while (rest !== null && rest.len === 0) rest = pool.free(rest);
  n.next = rest;
  return n;
}

/**
 * Before delivery: makes the IP header(s) (`l4Off` bytes) and the transport header contiguous, as
 * far as the `l4Len` transport bytes go: TCP's whole header (its length is in its data offset, RFC
 * 9293 §3.1), UDP's or the family's ICMP (`icmpProto`) 8 bytes, nothing for other protocols.
 * `tcp` is a scratch view. Returns the head, or null after freeing the chain (no buffers).
 */
export function pullupTransport(
  m: Mbuf, l4Off: number, l4Len: number, proto: number, icmpProto: number, tcp: TcpView,
): Mbuf | null {
  const min = proto === IPPROTO_TCP ? TCP_HEADER_LEN
    : proto === IPPROTO_UDP ? UDP_HEADER_LEN : proto === icmpProto ? ICMP_HEADER_LEN : 0;
  const p = pullup(m, l4Off + Math.min(l4Len, min));
  if (p === null || proto !== IPPROTO_TCP || l4Len < TCP_HEADER_LEN) return p;
  const thlen = tcp.wrap(p.buf, p.data + l4Off, TCP_HEADER_LEN).headerLen;
  return thlen > TCP_HEADER_LEN && thlen <= l4Len ? pullup(p, l4Off + thlen) : p;
}
