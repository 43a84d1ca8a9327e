// The 10-byte struct virtio_net_hdr a TUN device with IFF_VNET_HDR puts in front of every packet
// (include/uapi/linux/virtio_net.h; virtio spec v1.2 §5.1.6), and its mapping to mbuf offload
// fields. Little-endian, as TUN uses on little-endian hosts (x86-64, arm64).
//
//   0 flags u8   1 gso_type u8   2 hdr_len u16   4 gso_size u16   6 csum_start u16   8 csum_offset u16
//
// ingress: tun-link.ts receive → parseVnetHdr → mbuf csumFlags/gsoType/gsoSize
// egress:  tun-link.ts transmit → buildVnetHdr (over the packet already copied to the tx buffer)

import { CSUM_DATA_VALID, CSUM_NEEDS, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP } from '../../mbuf/index.js';
import type { Mbuf } from '../../mbuf/index.js';
import { pseudoHeaderSum4, pseudoHeaderSum6 } from '../../wire/checksum.js';

export const VNET_HDR_LEN = 10;

const F = { flags: 0, gsoType: 1, hdrLen: 2, gsoSize: 4, csumStart: 6, csumOffset: 8 } as const;

/** flags: the checksum is partial (csum_start/csum_offset say where); the data never crossed a wire. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** flags: the device validated the checksum. */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;

export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

const PROTO_TCP = 6;
const PROTO_UDP = 17;

const rd16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const wr16 = (b: Uint8Array, o: number, v: number): void => { b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; };

/**
 * Applies the header at b[o..o+10) to a received packet's mbuf. A NEEDS_CSUM packet was
 * checksummed partially by a local sender (a GRO/TSO super-packet or any locally generated
 * TCP/UDP segment): its data came from the kernel's memory and never crossed a wire, so it is as
 * good as validated (virtio spec §5.1.6.2.1; Linux treats CHECKSUM_PARTIAL as valid on receive).
 */
export function applyVnetHdr(b: Uint8Array, o: number, m: Mbuf): void {
  const flags = b[o + F.flags]!;
  if ((flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) !== 0) m.csumFlags |= CSUM_DATA_VALID;
  const gso = b[o + F.gsoType]! & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso === VIRTIO_NET_HDR_GSO_NONE) return;
  const t = gso === VIRTIO_NET_HDR_GSO_TCPV4 ? GSO_TCPV4 : gso === VIRTIO_NET_HDR_GSO_TCPV6 ? GSO_TCPV6
    : gso === VIRTIO_NET_HDR_GSO_UDP ? GSO_UDP : GSO_NONE;
  if (t === GSO_NONE) return;
  m.gsoType = t;
  m.gsoSize = rd16(b, o + F.gsoSize);
}

/** Reads the raw header fields (tests and tracing). */
export function readVnetHdr(b: Uint8Array, o: number): {
  flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number;
} {
  return {
    flags: b[o + F.flags]!, gsoType: b[o + F.gsoType]!, hdrLen: rd16(b, o + F.hdrLen),
    gsoSize: rd16(b, o + F.gsoSize), csumStart: rd16(b, o + F.csumStart), csumOffset: rd16(b, o + F.csumOffset),
  };
}

/** Why buildVnetHdr refused a packet. */
export const VNET_OK = 0;
export const VNET_ERR_MALFORMED = 1;
export const VNET_ERR_UNSUPPORTED = 2;

/**
 * Writes the header for the packet at b[o+10 .. o+10+len) (already copied there) from the mbuf's
 * offload fields. For a TSO packet (gsoType TCPV4/TCPV6) or a CSUM_NEEDS packet it sets
 * NEEDS_CSUM with csum_start = transport header offset and csum_offset = the checksum field's
 * offset in it (TCP 16, UDP 6), and puts the folded pseudo-header sum over the whole transport
 * length into the checksum field, as Linux's own senders do (tcp_v4_send_check): the kernel (or
 * its segmentation) completes the checksum from there. Packets without offloads get a zero header.
 * Returns VNET_OK or a VNET_ERR_* code.
 */
export function buildVnetHdr(b: Uint8Array, o: number, len: number, m: Mbuf): number {
  for (let i = 0; i < VNET_HDR_LEN; i++) b[o + i] = 0;
  const gso = m.gsoType;
  if (gso === GSO_NONE && (m.csumFlags & CSUM_NEEDS) === 0) return VNET_OK;
  const p = o + VNET_HDR_LEN;
  if (len < 20) return VNET_ERR_MALFORMED;
  const v = b[p]! >>> 4;
  let l4off: number, l4len: number, proto: number, pseudo: number;
  if (v === 4) {
    l4off = (b[p]! & 0x0f) * 4;
    const total = (b[p + 2]! << 8) | b[p + 3]!;
    proto = b[p + 9]!;
    if (l4off < 20 || total < l4off || total > len) return VNET_ERR_MALFORMED;
    if ((((b[p + 6]! << 8) | b[p + 7]!) & 0x3fff) !== 0) return VNET_ERR_MALFORMED; // a fragment
    l4len = total - l4off;
    pseudo = pseudoHeaderSum4(b, p + 12, b, p + 16, proto, l4len);
  } else if (v === 6) {
    if (len < 40) return VNET_ERR_MALFORMED;
    l4off = 40;
    l4len = (b[p + 4]! << 8) | b[p + 5]!;
    proto = b[p + 6]!; // our stack sends TCP/UDP without extension headers
    if (40 + l4len > len) return VNET_ERR_MALFORMED;
    pseudo = pseudoHeaderSum6(b, p + 8, b, p + 24, proto, l4len);
  } else {
    return VNET_ERR_MALFORMED;
  }
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return VNET_ERR_UNSUPPORTED;
  const ckOff = proto === PROTO_TCP ? 16 : 6;
  if (l4len < ckOff + 2) return VNET_ERR_MALFORMED;
  if (gso !== GSO_NONE) {
    if (proto !== PROTO_TCP || (gso !== GSO_TCPV4 && gso !== GSO_TCPV6) || (gso === GSO_TCPV4) !== (v === 4)) {
      return VNET_ERR_UNSUPPORTED;
    }
    if (l4len < 20) return VNET_ERR_MALFORMED;
    const doff = (b[p + l4off + 12]! >>> 4) * 4;
    if (doff < 20 || doff > l4len || !(m.gsoSize > 0)) return VNET_ERR_MALFORMED;
    // A super-packet carrying CWR (RFC 3168) says so with the ECN bit, as Linux's own senders do
    // (SKB_GSO_TCP_ECN); the segmentation then keeps CWR on the first segment only.
    const cwr = (b[p + l4off + 13]! & 0x80) !== 0 ? VIRTIO_NET_HDR_GSO_ECN : 0;
    b[o + F.gsoType] = (gso === GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6) | cwr;
    wr16(b, o + F.hdrLen, l4off + doff);
    wr16(b, o + F.gsoSize, m.gsoSize);
  }
  b[o + F.flags] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  wr16(b, o + F.csumStart, l4off);
  wr16(b, o + F.csumOffset, ckOff);
  const ck = p + l4off + ckOff;
  b[ck] = pseudo >>> 8;
  b[ck + 1] = pseudo & 0xff;
  return VNET_OK;
}
