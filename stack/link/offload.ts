// Offload emulation for simulated links: what the Linux kernel does with a packet written to a TUN
// with IFF_VNET_HDR, or a NIC with TSO and checksum offload. A TCP super-packet (gsoType
// GSO_TCPV4/GSO_TCPV6, gsoSize = MSS) is cut into MSS-sized segments with their own IP total
// length, IPv4 ID (incrementing), header checksum, TCP sequence number and flags (CWR only on the
// first, FIN/PSH only on the last) and a full TCP checksum; a CSUM_NEEDS packet gets its TCP/UDP
// checksum filled. On receive, rxCsumValid links verify the transport checksum and mark good
// packets CSUM_DATA_VALID, as a NIC that validated it would.
// Used by: memory-pair.ts (into the receiver's pool) and sim-network.ts (into the network's pool).
//
// Header arithmetic is our own and minimal: IPv4 with any IHL, IPv6 only when the next header is
// directly TCP/UDP (no extension headers). csumStart/csumOffset are ignored: the checksum is
// recomputed from the headers. The checksum routine below is private to this file because
// stack/wire/checksum.ts was not written yet; switch to `internetChecksum` once it lands.

import { CSUM_DATA_VALID, CSUM_NEEDS, GSO_NONE, GSO_TCPV4, GSO_TCPV6, mCopydata, mFreem, mLength } from '../mbuf/index.js';
import type { Mbuf, MbufPool } from '../mbuf/index.js';
import type { LinkCaps, LinkStats } from './link.js';

/** materialize() failures, negative so a count can share the return value. */
export const OFFLOAD_ERR_NO_BUFFERS = -1;
export const OFFLOAD_ERR_MALFORMED = -2;
export const OFFLOAD_ERR_UNSUPPORTED = -3;
export const OFFLOAD_ERR_TOO_BIG = -4;

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;
/** IPv4 header (max 60) + TCP header (max 60). */
const MAX_HDR = 120;

/** Counts a materialize() failure on `stats` under its drop reason. */
export function countOffloadFailure(stats: LinkStats, code: number): void {
  switch (code) {
    case OFFLOAD_ERR_NO_BUFFERS: stats.dropNoBuffers++; break;
    case OFFLOAD_ERR_UNSUPPORTED: stats.dropOffloadUnsupported++; break;
    case OFFLOAD_ERR_TOO_BIG: stats.dropTooBig++; break;
    default: stats.dropMalformed++; break;
  }
}

/** Where the transport header of a contiguous IP packet is; filled by locateL4. */
class L4Info {
  /** Offset of the transport header from the IP header. */
  off = 0;
  /** Transport header + payload length. */
  len = 0;
  proto = 0;
  family = 0;
}

/**
 * Copies packets into a pool as they would appear on the wire. One instance per link or network
 * (it holds scratch space, so nothing is allocated per packet beyond pooled mbufs).
 */
export class OffloadEngine {
  private readonly hdr = new Uint8Array(MAX_HDR);
  private readonly l4 = new L4Info();

  /**
   * Copies `src` (not freed) into fresh packets from `pool`, resolving offloads allowed by `caps`:
   * writes them to out[pos..] and returns how many (1, or the segment count of a TSO packet), or a
   * negative OFFLOAD_ERR_*. Every produced packet is one contiguous mbuf with csumFlags and GSO clear.
   */
  materialize(src: Mbuf, pool: MbufPool, caps: LinkCaps, out: Mbuf[], pos: number): number {
    const len = mLength(src);
    if (src.gsoType !== GSO_NONE) {
      if (caps.tsoMaxBytes === 0 || (src.gsoType !== GSO_TCPV4 && src.gsoType !== GSO_TCPV6)) return OFFLOAD_ERR_UNSUPPORTED;
      if (len > caps.tsoMaxBytes) return OFFLOAD_ERR_TOO_BIG;
      return this.segment(src, len, pool, caps, out, pos);
    }
    if (len > caps.mtu) return OFFLOAD_ERR_TOO_BIG;
    const needsCsum = (src.csumFlags & CSUM_NEEDS) !== 0;
    if (needsCsum && !caps.txCsumOffload) return OFFLOAD_ERR_UNSUPPORTED;
    const m = pool.getPacket(len);
    if (m === null) return OFFLOAD_ERR_NO_BUFFERS;
    mCopydata(src, 0, len, m.buf, m.data);
    m.len = len;
    m.pktLen = len;
    if (needsCsum && !this.fillTransportChecksum(m.buf, m.data, len)) {
      mFreem(m);
      return OFFLOAD_ERR_MALFORMED;
    }
    out[pos] = m;
    return 1;
  }

  /** Sets CSUM_DATA_VALID on contiguous packet `m` when its TCP/UDP checksum verifies. */
  markRxChecksum(m: Mbuf): void {
    if (this.verifyTransportChecksum(m.buf, m.data, m.len)) m.csumFlags |= CSUM_DATA_VALID;
  }

  /** True when the packet at b[o..o+len) is TCP or UDP over unfragmented IP with a correct checksum. */
  verifyTransportChecksum(b: Uint8Array, o: number, len: number): boolean {
    const l4 = this.l4;
    if (!locateL4(b, o, len, l4)) return false;
    const ck = l4.proto === PROTO_TCP ? 16 : 6;
    if (l4.len < ck + 2) return false;
    // RFC 768: an all-zero UDP checksum over IPv4 means "none was computed".
    if (l4.proto === PROTO_UDP && l4.family === 4 && b[o + l4.off + 6] === 0 && b[o + l4.off + 7] === 0) return true;
    return fold(pseudoSum(b, o, l4) + sum16(b, o + l4.off, l4.len)) === 0xffff;
  }

  /** Computes and stores the TCP/UDP checksum of the packet at b[o..o+len); false if it has none. */
  fillTransportChecksum(b: Uint8Array, o: number, len: number): boolean {
    const l4 = this.l4;
    if (!locateL4(b, o, len, l4)) return false;
    const ck = o + l4.off + (l4.proto === PROTO_TCP ? 16 : 6);
    if (ck + 2 > o + l4.off + l4.len) return false;
    b[ck] = 0;
    b[ck + 1] = 0;
    let c = ~fold(pseudoSum(b, o, l4) + sum16(b, o + l4.off, l4.len)) & 0xffff;
    // RFC 768: a computed UDP checksum of zero is sent as all ones.
    if (c === 0 && l4.proto === PROTO_UDP) c = 0xffff;
    b[ck] = c >>> 8;
    b[ck + 1] = c & 0xff;
    return true;
  }

  private segment(src: Mbuf, len: number, pool: MbufPool, caps: LinkCaps, out: Mbuf[], pos: number): number {
    const h = this.hdr;
    const have = len < MAX_HDR ? len : MAX_HDR;
    mCopydata(src, 0, have, h, 0);
    if (have < 20) return OFFLOAD_ERR_MALFORMED;
    const v = h[0]! >>> 4;
    let ipLen: number;
    if (src.gsoType === GSO_TCPV4) {
      ipLen = (h[0]! & 0x0f) * 4;
      if (v !== 4 || ipLen < 20 || h[9] !== PROTO_TCP) return OFFLOAD_ERR_MALFORMED;
    } else {
      ipLen = 40;
      if (v !== 6 || have < 40 || h[6] !== PROTO_TCP) return OFFLOAD_ERR_MALFORMED;
    }
    if (ipLen + 20 > have) return OFFLOAD_ERR_MALFORMED;
    const doff = (h[ipLen + 12]! >>> 4) * 4;
    const hdrLen = ipLen + doff;
    if (doff < 20 || hdrLen > have) return OFFLOAD_ERR_MALFORMED;
    const mss = src.gsoSize;
    if (!(mss > 0)) return OFFLOAD_ERR_MALFORMED;
    // The largest segment produced must still fit the MTU.
    if ((hdrLen + mss < len ? hdrLen + mss : len) > caps.mtu) return OFFLOAD_ERR_TOO_BIG;

    const payload = len - hdrLen;
    const nseg = payload <= mss ? 1 : Math.ceil(payload / mss);
    const seq0 = ((h[ipLen + 4]! << 24) | (h[ipLen + 5]! << 16) | (h[ipLen + 6]! << 8) | h[ipLen + 7]!) >>> 0;
    const flags0 = h[ipLen + 13]!;
    const id0 = (h[4]! << 8) | h[5]!;
    const l4 = this.l4;
    for (let i = 0; i < nseg; i++) {
      const segPay = i === nseg - 1 ? payload - i * mss : mss;
      const segLen = hdrLen + segPay;
      const m = pool.getPacket(segLen);
      if (m === null) {
        for (let j = 0; j < i; j++) mFreem(out[pos + j]!);
        return OFFLOAD_ERR_NO_BUFFERS;
      }
      const b = m.buf;
      const o = m.data;
      b.set(h.subarray(0, hdrLen), o);
      mCopydata(src, hdrLen + i * mss, segPay, b, o + hdrLen);
      if (v === 4) {
        put16(b, o + 2, segLen);
        put16(b, o + 4, (id0 + i) & 0xffff);
        put16(b, o + 10, 0);
        put16(b, o + 10, ~fold(sum16(b, o, ipLen)) & 0xffff);
      } else {
        put16(b, o + 4, segLen - 40);
      }
      const t = o + ipLen;
      const seq = (seq0 + i * mss) >>> 0;
      b[t + 4] = seq >>> 24; b[t + 5] = (seq >>> 16) & 0xff; b[t + 6] = (seq >>> 8) & 0xff; b[t + 7] = seq & 0xff;
      let f = flags0;
      if (i > 0) f &= ~TCP_CWR;
      if (i < nseg - 1) f &= ~(TCP_FIN | TCP_PSH);
      b[t + 13] = f;
      put16(b, t + 16, 0);
      l4.family = v; l4.off = ipLen; l4.len = segLen - ipLen; l4.proto = PROTO_TCP;
      put16(b, t + 16, ~fold(pseudoSum(b, o, l4) + sum16(b, t, l4.len)) & 0xffff);
      m.len = segLen;
      m.pktLen = segLen;
      out[pos + i] = m;
    }
    return nseg;
  }
}

/** Finds the TCP/UDP header of the IP packet at b[o..o+len); false for anything else or a fragment. */
function locateL4(b: Uint8Array, o: number, len: number, l4: L4Info): boolean {
  if (len < 20) return false;
  const v = b[o]! >>> 4;
  if (v === 4) {
    const ihl = (b[o]! & 0x0f) * 4;
    const total = (b[o + 2]! << 8) | b[o + 3]!;
    if (ihl < 20 || total < ihl || total > len) return false;
    if ((((b[o + 6]! << 8) | b[o + 7]!) & 0x3fff) !== 0) return false; // MF or offset: a fragment
    l4.family = 4; l4.off = ihl; l4.len = total - ihl; l4.proto = b[o + 9]!;
  } else if (v === 6) {
    if (len < 40) return false;
    const plen = (b[o + 4]! << 8) | b[o + 5]!;
    if (40 + plen > len) return false;
    l4.family = 6; l4.off = 40; l4.len = plen; l4.proto = b[o + 6]!;
  } else {
    return false;
  }
  return l4.proto === PROTO_TCP || l4.proto === PROTO_UDP;
}

/** Unfolded sum of the TCP/UDP pseudo-header (RFC 793 §3.1, RFC 8200 §8.1). */
function pseudoSum(b: Uint8Array, o: number, l4: L4Info): number {
  if (l4.family === 4) return sum16(b, o + 12, 8) + l4.proto + l4.len;
  return sum16(b, o + 8, 32) + (l4.len >>> 16) + (l4.len & 0xffff) + l4.proto;
}

/** Unfolded one's-complement sum of big-endian 16-bit words (odd tail padded with zero). */
function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) s += b[end]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}
