// Header arithmetic the IP layer needs on mbuf chains: field offsets of the IPv4/IPv6/ICMP
// headers, big-endian accessors, Internet checksum sums over bytes and over chains (RFC 1071),
// pseudo-header sums (RFC 768, RFC 8200 §8.1), a pullup that can exceed MHLEN, and the software
// fallback for a transport checksum left to the device (BSD in_delayed_cksum).
// Used by every file of stack/ip. Byte access and checksum arithmetic come from stack/wire
// (bytes.ts, checksum.ts); the IPv4/IPv6 header views of stack/wire did not exist when this layer
// was written, so the field offsets the hot path needs (working on m.buf in place) live here.

import type { Mbuf } from '../mbuf/index.js';
import { CSUM_NEEDS, mAdj, mCopyback, mCopydata, mFreem, mPullup, MHLEN } from '../mbuf/index.js';
import { checksumAdd, fold16, pseudoHeaderSum4, pseudoHeaderSum6 } from '../wire/checksum.js';

// ---- IPv4 header (RFC 791 §3.1) ----
export const IP4 = { vhl: 0, tos: 1, len: 2, id: 4, off: 6, ttl: 8, proto: 9, sum: 10, src: 12, dst: 16 } as const;
export const IP4_HLEN = 20;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;
export const IP_MAXPACKET = 65535;

// ---- IPv6 header (RFC 8200 §3) and extension headers ----
export const IP6 = { vfc: 0, plen: 4, nxt: 6, hlim: 7, src: 8, dst: 24 } as const;
export const IP6_HLEN = 40;
/** Fragment header (RFC 8200 §4.5): next header, reserved, offset<<3 | M, identification. */
export const FRAG6 = { nxt: 0, offlg: 2, ident: 4 } as const;
export const FRAG6_LEN = 8;
export const IP6F_MORE = 0x0001;
export const IP6F_OFFMASK = 0xfff8;
/** RFC 8200 §5: every link carries at least 1280-byte packets. */
export const IPV6_MMTU = 1280;

// ---- ICMP / ICMPv6 header: type, code, checksum, 4 bytes of rest-of-header ----
export const ICMP = { type: 0, code: 1, sum: 2, id: 4, seq: 6, mtu: 6, ptr: 4 } as const;
export const ICMP_HLEN = 8;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export { get16, get32, set16, set32 } from '../wire/bytes.js';

/** Unfolded one's-complement sum of buf[off..off+len) as big-endian 16-bit words, added to `sum`. */
export const sumBytes = (buf: Uint8Array, off: number, len: number, sum = 0): number => checksumAdd(sum, buf, off, len);

/** Unfolded sum of `len` bytes at chain offset `off` (odd mbuf boundaries handled). */
export function sumChain(m: Mbuf | null, off: number, len: number, sum = 0): number {
  while (m !== null && off >= m.len) {
    off -= m.len;
    m = m.next;
  }
  let odd = false;
  while (m !== null && len > 0) {
    const b = m.buf;
    let i = m.data + off;
    const take = m.len - off < len ? m.len - off : len;
    const end = i + take;
    // A byte left over from the previous mbuf is the high half of a word: this one is its low half.
    if (odd && i < end) { sum += b[i]!; i++; odd = false; }
    const n = end - i;
    sum = checksumAdd(sum, b, i, n);
    if ((n & 1) !== 0) odd = true;
    len -= take;
    off = 0;
    m = m.next;
  }
  return sum;
}

/** Folds an unfolded sum to 16 bits (end-around carry, not complemented). */
export const fold = fold16;

/** The Internet checksum field value for an unfolded sum. */
export const cksum = (sum: number): number => ~fold16(sum) & 0xffff;

/** RFC 768 pseudo-header sum (folded): source, destination, zero+protocol, length. */
export const pseudoSum4 = pseudoHeaderSum4;

/** RFC 8200 §8.1 pseudo-header sum (folded): source, destination, 32-bit length, next header. */
export const pseudoSum6 = pseudoHeaderSum6;

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
 * Software fill of a TCP/UDP checksum the transport left to the device (CSUM_NEEDS), for packets
 * that are fragmented, looped back, or sent on a link without checksum offload. `l4Off` is the
 * transport header's offset in the chain, `pseudo` the pseudo-header sum. Clears CSUM_NEEDS.
 */
export function completeL4Checksum(m: Mbuf, l4Off: number, proto: number, l4Len: number, pseudo: number, scratch: Uint8Array): void {
  m.csumFlags &= ~CSUM_NEEDS;
  const ck = proto === PROTO_TCP ? 16 : proto === PROTO_UDP ? 6 : -1;
  if (ck < 0 || l4Len < ck + 2) return;
  scratch[0] = 0; scratch[1] = 0;
  mCopyback(m, l4Off + ck, 2, scratch, 0);
  let c = cksum(sumChain(m, l4Off, l4Len, pseudo));
  // RFC 768: a computed UDP checksum of zero is sent as all ones.
  if (c === 0 && proto === PROTO_UDP) c = 0xffff;
  scratch[0] = c >>> 8; scratch[1] = c & 0xff;
  mCopyback(m, l4Off + ck, 2, scratch, 0);
}
