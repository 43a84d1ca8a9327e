// IPv4 header (RFC 791): Ipv4View reads and patches headers in place, Ipv4Repr is their meaning.
// ingress: link → ip/ip-input.ts (Ipv4View getters over the head mbuf) → tcp, udp, icmp;
// egress: ip/ip-output.ts (emitIpv4), ip/ip-reass.ts and link/offload.ts patch headers in place.

import { IpAddr } from './ip-addr.js';
import { ByteView } from './byte-view.js';
import { get16, get32, set16 } from './bytes.js';
import { incrementalUpdate16, internetChecksum } from './checksum.js';
import { ipProtoName } from './ip-proto.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

const F = {
  verIhl: 0, tos: 1, totalLen: 2, ident: 4, flagsFrag: 6, ttl: 8, protocol: 9, checksum: 10,
  src: 12, dst: 16, options: 20,
} as const;

export const IPV4_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
/** RFC 791: the largest datagram the 16-bit total length can describe. */
export const IPV4_MAX_PACKET_LEN = 0xffff;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

/**
 * A re-targetable window on an IPv4 header (see ByteView): `len` is the bytes available from `off`
 * (the link payload) and may exceed totalLen (trailing padding).
 */
export class Ipv4View extends ByteView {
  /** Structure only; the header checksum is separate (verifyChecksum) so offloaded paths skip it. */
  check(): WireError | null {
    const { buf, off, len } = this;
    if (off < 0 || len < IPV4_HEADER_LEN || off + len > buf.length) return 'truncated';
    if (buf[off]! >>> 4 !== 4) return 'bad-version';
    // BSD ip_input: ips_badhlen when hlen < sizeof(struct ip) or hlen > m_len.
    const hlen = (buf[off]! & 0x0f) << 2;
    if (hlen < IPV4_HEADER_LEN || hlen > len) return 'bad-header-len';
    const total = get16(buf, off + F.totalLen);
    if (total < hlen) return 'bad-total-len';
    if (total > len) return 'truncated';
    return null;
  }

  verifyChecksum(): boolean {
    return internetChecksum(this.buf, this.off, this.headerLen) === 0;
  }

  get version(): number { return this.buf[this.off]! >>> 4; }
  get ihl(): number { return this.buf[this.off]! & 0x0f; }
  get headerLen(): number { return (this.buf[this.off]! & 0x0f) << 2; }
  get tos(): number { return this.buf[this.off + F.tos]!; }
  get dscp(): number { return this.buf[this.off + F.tos]! >>> 2; }
  get ecn(): number { return this.buf[this.off + F.tos]! & 0x03; }
  get totalLen(): number { return get16(this.buf, this.off + F.totalLen); }
  get ident(): number { return get16(this.buf, this.off + F.ident); }
  /** The three flag bits (reserved, DF, MF) as a number 0..7. */
  get flags(): number { return this.buf[this.off + F.flagsFrag]! >>> 5; }
  get dontFrag(): boolean { return (get16(this.buf, this.off + F.flagsFrag) & FLAG_DF) !== 0; }
  get moreFrags(): boolean { return (get16(this.buf, this.off + F.flagsFrag) & FLAG_MF) !== 0; }
  /** Fragment offset in bytes (the field counts 8-octet units). */
  get fragOffset(): number { return (get16(this.buf, this.off + F.flagsFrag) & FRAG_MASK) << 3; }
  /** True for any fragment, first or later (MF set or a non-zero offset). */
  get isFragment(): boolean { return (get16(this.buf, this.off + F.flagsFrag) & (FLAG_MF | FRAG_MASK)) !== 0; }
  get ttl(): number { return this.buf[this.off + F.ttl]!; }
  get protocol(): number { return this.buf[this.off + F.protocol]!; }
  get checksum(): number { return get16(this.buf, this.off + F.checksum); }
  get srcOffset(): number { return this.off + F.src; }
  get dstOffset(): number { return this.off + F.dst; }
  get srcV4(): number { return get32(this.buf, this.off + F.src); }
  get dstV4(): number { return get32(this.buf, this.off + F.dst); }
  get optionsOffset(): number { return this.off + F.options; }
  get optionsLen(): number { return this.headerLen - IPV4_HEADER_LEN; }
  get payloadOffset(): number { return this.off + this.headerLen; }
  get payloadLen(): number { return this.totalLen - this.headerLen; }
  /** A subarray (no copy) of the payload bytes covered by totalLen. */
  payload(): Uint8Array { return this.buf.subarray(this.payloadOffset, this.off + this.totalLen); }

  // In-place patches for forwarding and fragmenting. They do not update the checksum (except
  // decrementTtl): call fillChecksum() after the last one.
  setTtl(ttl: number): void { this.buf[this.off + F.ttl] = ttl; }
  setTotalLen(n: number): void { set16(this.buf, this.off + F.totalLen, n); }
  setIdent(id: number): void { set16(this.buf, this.off + F.ident, id); }
  /** Sets MF and the offset (bytes, a multiple of 8); keeps DF and the reserved bit. */
  setFragment(moreFrags: boolean, offsetBytes: number): void {
    const keep = get16(this.buf, this.off + F.flagsFrag) & ~(FLAG_MF | FRAG_MASK) & 0xffff;
    set16(this.buf, this.off + F.flagsFrag, keep | (moreFrags ? FLAG_MF : 0) | ((offsetBytes >>> 3) & FRAG_MASK));
  }
  /** Sets the three flag bits (reserved, DF, MF; as `flags` reads them); keeps the offset. */
  setFlags(flags: number): void {
    const offset = get16(this.buf, this.off + F.flagsFrag) & FRAG_MASK;
    set16(this.buf, this.off + F.flagsFrag, ((flags & 0x07) << 13) | offset);
  }
  setDontFrag(df: boolean): void {
    const v = get16(this.buf, this.off + F.flagsFrag);
    set16(this.buf, this.off + F.flagsFrag, df ? v | FLAG_DF : v & ~FLAG_DF & 0xffff);
  }
  fillChecksum(): void {
    set16(this.buf, this.off + F.checksum, 0);
    set16(this.buf, this.off + F.checksum, internetChecksum(this.buf, this.off, this.headerLen));
  }
  /** Forwarding: TTL - 1 with an RFC 1624 incremental checksum update; returns the new TTL. */
  decrementTtl(): number {
    const o = this.off + F.ttl;
    const oldWord = get16(this.buf, o);
    const ttl = (this.buf[o]! - 1) & 0xff;
    this.buf[o] = ttl;
    set16(this.buf, this.off + F.checksum, incrementalUpdate16(this.checksum, oldWord, get16(this.buf, o)));
    return ttl;
  }
}

export interface Ipv4Repr {
  readonly src: IpAddr;
  readonly dst: IpAddr;
  readonly protocol: number;
  readonly ttl: number;
  readonly tos: number;
  readonly ident: number;
  readonly dontFrag: boolean;
  readonly moreFrags: boolean;
  /** Bytes; a multiple of 8. */
  readonly fragOffset: number;
  readonly payloadLen: number;
  /** Raw option bytes (copied), present only when IHL > 5. Never interpreted here. */
  readonly options?: Uint8Array;
}

/** Checks the view (and by default the header checksum) and copies the header's meaning out. */
export function parseIpv4(v: Ipv4View, verifyChecksum = true): Result<Ipv4Repr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  if (verifyChecksum && !v.verifyChecksum()) return err('bad-checksum');
  const hlen = v.headerLen;
  const base = {
    src: IpAddr.fromBytes(v.buf, v.srcOffset, 4),
    dst: IpAddr.fromBytes(v.buf, v.dstOffset, 4),
    protocol: v.protocol,
    ttl: v.ttl,
    tos: v.tos,
    ident: v.ident,
    dontFrag: v.dontFrag,
    moreFrags: v.moreFrags,
    fragOffset: v.fragOffset,
    payloadLen: v.totalLen - hlen,
  };
  if (hlen === IPV4_HEADER_LEN) return ok(base);
  return ok({ ...base, options: v.buf.slice(v.optionsOffset, v.off + hlen) });
}

/** Header length for a repr: options padded with zero (EOL) bytes to a multiple of 4. */
export function ipv4HeaderLen(r: Ipv4Repr): number {
  const n = r.options?.length ?? 0;
  return IPV4_HEADER_LEN + ((n + 3) & ~3);
}

/** Writes the header (with checksum) at buf[off]; returns its length. Does not validate `r`. */
export function emitIpv4(r: Ipv4Repr, buf: Uint8Array, off: number): number {
  const hlen = ipv4HeaderLen(r);
  buf[off] = 0x40 | (hlen >>> 2);
  buf[off + F.tos] = r.tos;
  set16(buf, off + F.totalLen, hlen + r.payloadLen);
  set16(buf, off + F.ident, r.ident);
  set16(buf, off + F.flagsFrag,
    (r.dontFrag ? FLAG_DF : 0) | (r.moreFrags ? FLAG_MF : 0) | ((r.fragOffset >>> 3) & FRAG_MASK));
  buf[off + F.ttl] = r.ttl;
  buf[off + F.protocol] = r.protocol;
  set16(buf, off + F.checksum, 0);
  r.src.writeTo(buf, off + F.src);
  r.dst.writeTo(buf, off + F.dst);
  if (r.options !== undefined) {
    buf.set(r.options, off + F.options);
    buf.fill(0, off + F.options + r.options.length, off + hlen);
  }
  set16(buf, off + F.checksum, internetChecksum(buf, off, hlen));
  return hlen;
}

export function formatV4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** tcpdump -v style: `IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60) a > b`. */
export function prettyIpv4(v: Ipv4View): string {
  const e = v.check();
  if (e !== null) return `IP [${e}]`;
  const fl = v.dontFrag ? (v.moreFrags ? 'DF+' : 'DF') : v.moreFrags ? '+' : 'none';
  const p = v.protocol;
  return `IP (tos 0x${v.tos.toString(16)}, ttl ${v.ttl}, id ${v.ident}, offset ${v.fragOffset}, flags [${fl}], `
    + `proto ${ipProtoName(p)} (${p}), length ${v.totalLen}) `
    + `${formatV4(v.buf, v.srcOffset)} > ${formatV4(v.buf, v.dstOffset)}`;
}
