// UDP header (RFC 768; IPv6 rules from RFC 8200 §8.1): UdpView and UdpRepr.
// ingress: ip/ip-input.ts → udp/udp.ts (wrap/check, parseUdp) → socket; egress: emitUdp on prepend.

import { get16, set16 } from './bytes.js';
import { ByteView } from './byte-view.js';
import { l4Checksum } from './checksum.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

const F = { srcPort: 0, dstPort: 2, length: 4, checksum: 6 } as const;
export const UDP_HEADER_LEN = 8;
/** Where the checksum sits, for code that fills or verifies it over an IP-derived length (offload). */
export const UDP_CHECKSUM_OFFSET = F.checksum;

/** Re-targetable window on a UDP datagram; `len` is the IP payload length (see ByteView). */
export class UdpView extends ByteView {
  /** After null, every getter is safe. Bytes past the UDP length (padding) are ignored. */
  check(): WireError | null {
    const { buf, off, len } = this;
    if (off < 0 || len < UDP_HEADER_LEN || off + len > buf.length) return 'truncated';
    const ulen = get16(buf, off + F.length);
    if (ulen < UDP_HEADER_LEN || ulen > len) return 'bad-length';
    return null;
  }

  get srcPort(): number { return get16(this.buf, this.off + F.srcPort); }
  get dstPort(): number { return get16(this.buf, this.off + F.dstPort); }
  /** The UDP length field: header plus payload. */
  get length(): number { return get16(this.buf, this.off + F.length); }
  get checksum(): number { return get16(this.buf, this.off + F.checksum); }
  get payloadOffset(): number { return this.off + UDP_HEADER_LEN; }
  get payloadLen(): number { return this.length - UDP_HEADER_LEN; }
  /** A subarray (no copy) of the payload. */
  payload(): Uint8Array { return this.buf.subarray(this.off + UDP_HEADER_LEN, this.off + this.length); }

  /** `pseudoSum` from pseudoHeaderSum4/6 with protocol 17 and `this.length`. */
  verifyChecksum(pseudoSum: number): boolean {
    return l4Checksum(this.buf, this.off, this.length, pseudoSum) === 0;
  }
  /** Computes the checksum over header and payload (already in place); 0 is sent as 0xffff. */
  fillChecksum(pseudoSum: number): void {
    set16(this.buf, this.off + F.checksum, 0);
    // RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
    set16(this.buf, this.off + F.checksum, l4Checksum(this.buf, this.off, this.length, pseudoSum) || 0xffff);
  }
}

export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payloadLen: number;
}

/**
 * Checks the view and the checksum. `pseudoSum` null means "already verified" (offload). A zero
 * checksum means "none" over IPv4 (RFC 768) but is invalid over IPv6 (RFC 8200 §8.1), offload or not.
 */
export function parseUdp(v: UdpView, family: 4 | 6, pseudoSum: number | null): Result<UdpRepr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  const c = v.checksum;
  if (c === 0) {
    if (family === 6) return err('bad-checksum');
  } else if (pseudoSum !== null && !v.verifyChecksum(pseudoSum)) {
    return err('bad-checksum');
  }
  return ok({ srcPort: v.srcPort, dstPort: v.dstPort, payloadLen: v.length - UDP_HEADER_LEN });
}

export const udpReprLen = (r: UdpRepr): number => UDP_HEADER_LEN + r.payloadLen;

/**
 * Writes the header at buf[off] for a payload already at buf[off + 8]; returns 8. With `pseudoSum`
 * (pseudoHeaderSum4/6 over udpReprLen(r)) the checksum is filled, else left 0 for the caller.
 */
export function emitUdp(r: UdpRepr, buf: Uint8Array, off: number, pseudoSum: number | null): number {
  const len = udpReprLen(r);
  set16(buf, off + F.srcPort, r.srcPort);
  set16(buf, off + F.dstPort, r.dstPort);
  set16(buf, off + F.length, len);
  set16(buf, off + F.checksum, 0);
  if (pseudoSum !== null) set16(buf, off + F.checksum, l4Checksum(buf, off, len, pseudoSum) || 0xffff);
  return UDP_HEADER_LEN;
}

/** tcpdump style: `40000 > 53: UDP, length 15`. */
export function prettyUdp(v: UdpView): string {
  const e = v.check();
  if (e !== null) return `UDP [${e}]`;
  return `${v.srcPort} > ${v.dstPort}: UDP, length ${v.payloadLen}`;
}
