// Offload emulation for simulated links: what the Linux kernel does with a packet written to a TUN
// with IFF_VNET_HDR, or a NIC with TSO and checksum offload. A TCP super-packet (gsoType
// GSO_TCPV4/GSO_TCPV6, gsoSize = MSS) is cut into MSS-sized segments with their own IP total
// length, IPv4 ID (incrementing), header checksum, TCP sequence number and flags (CWR only on the
// first, FIN/PSH only on the last) and a full TCP checksum; a CSUM_NEEDS packet gets its TCP/UDP
// checksum filled. On receive, rxCsumValid links verify the transport checksum and mark good
// packets CSUM_DATA_VALID, as a NIC that validated it would.
// Used by: memory-pair.ts (into the receiver's pool) and sim-network.ts (into the network's pool).
//
// Headers are read and patched through the stack/wire views and checksums: IPv4 with any IHL, IPv6
// only when the next header is directly TCP/UDP (no extension headers). csumStart/csumOffset are
// ignored: the checksum is recomputed from the headers.

import { CSUM_DATA_VALID, CSUM_NEEDS, GSO_NONE, GSO_TCPV4, GSO_TCPV6, mCopydata, mFreem, mLength } from '../mbuf/index.js';
import type { Mbuf, MbufPool } from '../mbuf/index.js';
import { get16, set16 } from '../wire/bytes.js';
import { l4Checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN, IPV4_MAX_HEADER_LEN, Ipv4View } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6View } from '../wire/ipv6.js';
import { TCP_CHECKSUM_OFFSET, TCP_MAX_HEADER_LEN, TcpView, TH_CWR, TH_FIN, TH_PUSH } from '../wire/tcp.js';
import { UDP_CHECKSUM_OFFSET } from '../wire/udp.js';
import type { LinkCaps, LinkStats } from './link.js';

/** materialize() failures, negative so a count can share the return value. */
export const OFFLOAD_ERR_NO_BUFFERS = -1;
export const OFFLOAD_ERR_MALFORMED = -2;
export const OFFLOAD_ERR_UNSUPPORTED = -3;
export const OFFLOAD_ERR_TOO_BIG = -4;

/** The largest IP + TCP header a super-packet may carry. */
const MAX_HDR = IPV4_MAX_HEADER_LEN + TCP_MAX_HEADER_LEN;

/** Counts a materialize() failure on `stats` under its drop reason. */
export function countOffloadFailure(stats: LinkStats, code: number): void {
  switch (code) {
    case OFFLOAD_ERR_NO_BUFFERS: stats.dropNoBuffers++; break;
    case OFFLOAD_ERR_UNSUPPORTED: stats.dropOffloadUnsupported++; break;
    case OFFLOAD_ERR_TOO_BIG: stats.dropTooBig++; break;
    default: stats.dropMalformed++; break;
  }
}

/** Where the transport header of a contiguous IP packet is; filled by OffloadEngine.locateL4. */
class L4Info {
  /** Offset of the transport header from the IP header. */
  off = 0;
  /** Transport header + payload length. */
  len = 0;
  proto = 0;
  family = 0;
  /** Folded pseudo-header sum (RFC 768, RFC 8200 §8.1). */
  pseudoSum = 0;
  /** Offset of the checksum field from the transport header. */
  get checksumOffset(): number { return this.proto === IPPROTO_TCP ? TCP_CHECKSUM_OFFSET : UDP_CHECKSUM_OFFSET; }
}

/**
 * Copies packets into a pool as they would appear on the wire. One instance per link or network
 * (it holds scratch space and header views, so nothing is allocated per packet beyond pooled mbufs).
 */
export class OffloadEngine {
  private readonly hdr = new Uint8Array(MAX_HDR);
  private readonly l4 = new L4Info();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  private readonly tcp = new TcpView();

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
    if (!this.locateL4(b, o, len)) return false;
    const ck = l4.checksumOffset;
    if (l4.len < ck + 2) return false;
    const t = o + l4.off;
    // RFC 768: an all-zero UDP checksum over IPv4 means "none was computed".
    if (l4.proto === IPPROTO_UDP && l4.family === 4 && get16(b, t + ck) === 0) return true;
    return l4Checksum(b, t, l4.len, l4.pseudoSum) === 0;
  }

  /** Computes and stores the TCP/UDP checksum of the packet at b[o..o+len); false if it has none. */
  fillTransportChecksum(b: Uint8Array, o: number, len: number): boolean {
    const l4 = this.l4;
    if (!this.locateL4(b, o, len)) return false;
    const t = o + l4.off;
    const ck = t + l4.checksumOffset;
    if (ck + 2 > t + l4.len) return false;
    set16(b, ck, 0);
    let c = l4Checksum(b, t, l4.len, l4.pseudoSum);
    // RFC 768: a computed UDP checksum of zero is sent as all ones.
    if (c === 0 && l4.proto === IPPROTO_UDP) c = 0xffff;
    set16(b, ck, c);
    return true;
  }

  private segment(src: Mbuf, len: number, pool: MbufPool, caps: LinkCaps, out: Mbuf[], pos: number): number {
    const h = this.hdr;
    const have = len < MAX_HDR ? len : MAX_HDR;
    mCopydata(src, 0, have, h, 0);
    if (have < IPV4_HEADER_LEN) return OFFLOAD_ERR_MALFORMED;
    const isV4 = src.gsoType === GSO_TCPV4;
    let ipLen: number;
    let id0 = 0;
    if (isV4) {
      const v = this.ip4.wrap(h, 0, have);
      ipLen = v.headerLen;
      if (v.version !== 4 || ipLen < IPV4_HEADER_LEN || v.protocol !== IPPROTO_TCP) return OFFLOAD_ERR_MALFORMED;
      id0 = v.ident;
    } else {
      const v = this.ip6.wrap(h, 0, have);
      ipLen = IPV6_HEADER_LEN;
      if (v.version !== 6 || have < IPV6_HEADER_LEN || v.nextHeader !== IPPROTO_TCP) return OFFLOAD_ERR_MALFORMED;
    }
    // The whole TCP header (data offset in [20, 60]) must be among the bytes copied.
    const th = this.tcp.wrap(h, ipLen, have - ipLen);
    if (th.check() !== null) return OFFLOAD_ERR_MALFORMED;
    const hdrLen = ipLen + th.headerLen;
    const mss = src.gsoSize;
    if (!(mss > 0)) return OFFLOAD_ERR_MALFORMED;
    // The largest segment produced must still fit the MTU.
    if ((hdrLen + mss < len ? hdrLen + mss : len) > caps.mtu) return OFFLOAD_ERR_TOO_BIG;

    const payload = len - hdrLen;
    const nseg = payload <= mss ? 1 : Math.ceil(payload / mss);
    const seq0 = th.seq;
    const flags0 = th.flags;
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
      const tlen = segLen - ipLen;
      let pseudoSum: number;
      if (isV4) {
        const v = this.ip4.wrap(b, o, segLen);
        v.setTotalLen(segLen);
        v.setIdent((id0 + i) & 0xffff);
        v.fillChecksum();
        pseudoSum = pseudoHeaderSum4(b, v.srcOffset, b, v.dstOffset, IPPROTO_TCP, tlen);
      } else {
        const v = this.ip6.wrap(b, o, segLen);
        v.setPayloadLen(tlen);
        pseudoSum = pseudoHeaderSum6(b, v.srcOffset, b, v.dstOffset, IPPROTO_TCP, tlen);
      }
      const t = this.tcp.wrap(b, o + ipLen, tlen);
      t.setSeq((seq0 + i * mss) >>> 0);
      let f = flags0;
      if (i > 0) f &= ~TH_CWR;
      if (i < nseg - 1) f &= ~(TH_FIN | TH_PUSH);
      t.setFlags(f);
      t.fillChecksum(pseudoSum);
      m.len = segLen;
      m.pktLen = segLen;
      out[pos + i] = m;
    }
    return nseg;
  }

  /**
   * Finds the TCP/UDP header of the IP packet at b[o..o+len) and its pseudo-header sum into
   * `this.l4`; false for anything else or a fragment.
   */
  private locateL4(b: Uint8Array, o: number, len: number): boolean {
    const l4 = this.l4;
    if (len < IPV4_HEADER_LEN) return false;
    const version = b[o]! >>> 4;
    if (version === 4) {
      const v = this.ip4.wrap(b, o, len);
      // MF or an offset: a fragment, whose transport header may be elsewhere.
      if (v.check() !== null || v.isFragment) return false;
      l4.family = 4; l4.off = v.headerLen; l4.len = v.payloadLen; l4.proto = v.protocol;
      if (l4.proto !== IPPROTO_TCP && l4.proto !== IPPROTO_UDP) return false;
      l4.pseudoSum = pseudoHeaderSum4(b, v.srcOffset, b, v.dstOffset, l4.proto, l4.len);
    } else if (version === 6) {
      const v = this.ip6.wrap(b, o, len);
      if (v.check() !== null) return false;
      l4.family = 6; l4.off = IPV6_HEADER_LEN; l4.len = v.payloadLen; l4.proto = v.nextHeader;
      if (l4.proto !== IPPROTO_TCP && l4.proto !== IPPROTO_UDP) return false;
      l4.pseudoSum = pseudoHeaderSum6(b, v.srcOffset, b, v.dstOffset, l4.proto, l4.len);
    } else {
      return false;
    }
    return true;
  }
}
