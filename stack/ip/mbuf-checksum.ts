// Internet checksums over mbuf chains for the IP layer: ICMP/ICMPv6 messages, which may span
// several mbufs, and the software fill of a transport checksum left to the device (BSD
// in_delayed_cksum). The arithmetic is stack/wire's ChecksumAccumulator (RFC 1071).
// Used by: icmp.ts, icmp6.ts (message checksums), ip-output.ts, ip6-output.ts (delayed checksums).

import type { Mbuf } from '../mbuf/index.js';
import { CSUM_NEEDS, mCopyback } from '../mbuf/index.js';
import { set16 } from '../wire/bytes.js';
import type { ChecksumAccumulator } from '../wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip-proto.js';
import { TCP_CHECKSUM_OFFSET } from '../wire/tcp.js';
import { UDP_CHECKSUM_OFFSET } from '../wire/udp.js';

/**
 * Checksum of `len` bytes at chain offset `off` (odd mbuf boundaries handled), seeded with a
 * pseudo-header sum or 0: the value to store over a zeroed checksum field, or 0 when the range
 * already holds a checksum that verifies. `acc` is the caller's reusable accumulator.
 */
export function chainChecksum(acc: ChecksumAccumulator, m: Mbuf | null, off: number, len: number, seed = 0): number {
  acc.reset(seed);
  while (m !== null && off >= m.len) {
    off -= m.len;
    m = m.next;
  }
  while (m !== null && len > 0) {
    const take = m.len - off < len ? m.len - off : len;
    acc.add(m.buf, m.data + off, take);
    len -= take;
    off = 0;
    m = m.next;
  }
  return acc.finish();
}

/**
 * Software fill of a TCP/UDP checksum the transport left to the device (CSUM_NEEDS), for packets
 * that are fragmented, looped back, or sent on a link without checksum offload. `l4Off` is the
 * transport header's offset in the chain, `pseudo` the pseudo-header sum; `scratch` holds 2 bytes.
 * Clears CSUM_NEEDS.
 */
export function completeL4Checksum(
  m: Mbuf, l4Off: number, proto: number, l4Len: number, pseudo: number, acc: ChecksumAccumulator, scratch: Uint8Array,
): void {
  m.csumFlags &= ~CSUM_NEEDS;
  const ck = proto === IPPROTO_TCP ? TCP_CHECKSUM_OFFSET : proto === IPPROTO_UDP ? UDP_CHECKSUM_OFFSET : -1;
  if (ck < 0 || l4Len < ck + 2) return;
  set16(scratch, 0, 0);
  mCopyback(m, l4Off + ck, 2, scratch, 0);
  let c = chainChecksum(acc, m, l4Off, l4Len, pseudo);
  // RFC 768: a computed UDP checksum of zero is sent as all ones.
  if (c === 0 && proto === IPPROTO_UDP) c = 0xffff;
  set16(scratch, 0, c);
  mCopyback(m, l4Off + ck, 2, scratch, 0);
}
