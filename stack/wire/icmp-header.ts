// What ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1) messages share: type, code, checksum, a second
// 32-bit word whose meaning depends on the type, then the body. IcmpHeaderView reads that layout;
// Icmpv4View and Icmpv6View add what differs (checksum coverage, MTU and pointer widths).

import { get16, get32, set16, set32 } from './bytes.js';
import { ByteView } from './byte-view.js';
import { l4Checksum } from './checksum.js';
import type { WireError } from './wire-error.js';

const F = { type: 0, code: 1, checksum: 2, ident: 4, seq: 6, rest: 4, data: 8 } as const;

/** Both families' ICMP header: type, code, checksum and the 32-bit rest-of-header word. */
export const ICMP_HEADER_LEN = 8;

/**
 * Re-targetable window on an ICMP or ICMPv6 message (see ByteView). `len` is the whole message (the
 * IP payload length), since the checksum covers all of it.
 */
export class IcmpHeaderView extends ByteView {
  check(): WireError | null {
    const { buf, off, len } = this;
    return off < 0 || len < ICMP_HEADER_LEN || off + len > buf.length ? 'truncated' : null;
  }

  get type(): number { return this.buf[this.off + F.type]!; }
  get code(): number { return this.buf[this.off + F.code]!; }
  get checksum(): number { return get16(this.buf, this.off + F.checksum); }
  /** Echo (and ICMPv4 timestamp) identifier. */
  get ident(): number { return get16(this.buf, this.off + F.ident); }
  /** Echo (and ICMPv4 timestamp) sequence number. */
  get seq(): number { return get16(this.buf, this.off + F.seq); }
  /** The second 32-bit word (gateway for Redirect, reserved/flags for NDP, ...). */
  get restOfHeader(): number { return get32(this.buf, this.off + F.rest); }
  get dataOffset(): number { return this.off + F.data; }
  get dataLen(): number { return this.len - F.data; }
  /** A subarray (no copy): echo data, the quoted packet, or an NDP/MLD body. */
  data(): Uint8Array { return this.buf.subarray(this.off + F.data, this.off + this.len); }

  // In-place patches, e.g. turning an echo request into its reply. The checksum is not updated.
  setType(type: number): void { this.buf[this.off + F.type] = type; }
  setChecksum(checksum: number): void { set16(this.buf, this.off + F.checksum, checksum); }
}

/**
 * Writes a whole message at buf[off]: type, code, the second word, `data` behind them (not copied
 * when it was already built in place, e.g. a quote copied there by the caller) and, unless
 * `pseudoSum` is null, the checksum seeded with it (0 for ICMPv4, which has no pseudo-header).
 * Returns the message length.
 */
export function emitIcmpMessage(
  buf: Uint8Array, off: number, type: number, code: number, rest: number, data: Uint8Array, pseudoSum: number | null,
): number {
  const len = ICMP_HEADER_LEN + data.length;
  buf[off + F.type] = type;
  buf[off + F.code] = code;
  set16(buf, off + F.checksum, 0);
  set32(buf, off + F.rest, rest);
  if (data.buffer !== buf.buffer || data.byteOffset !== buf.byteOffset + off + F.data) {
    buf.set(data, off + F.data);
  }
  if (pseudoSum !== null) set16(buf, off + F.checksum, l4Checksum(buf, off, len, pseudoSum));
  return len;
}
