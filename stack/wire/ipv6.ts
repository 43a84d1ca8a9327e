// IPv6 fixed header (RFC 8200 §3) and extension-header walking (§4): Ipv6View, Ipv6Repr, the
// Fragment header view and codec. ingress: link → ip/ip6-input.ts (Ipv6View, Ipv6FragView) → upper
// layer; egress: ip/ip6-output.ts (emitIpv6, emitIpv6FragHeader).

import { IpAddr } from './ip-addr.js';
import { ByteView } from './byte-view.js';
import { get16, get32, set16, set32 } from './bytes.js';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, ipProtoName,
} from './ip-proto.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

const F = { vtcfl: 0, payloadLen: 4, nextHeader: 6, hopLimit: 7, src: 8, dst: 24 } as const;
/** Fragment header (RFC 8200 §4.5): Next Header, reserved, offset << 3 | M, Identification. */
const FH = { nextHeader: 0, offlg: 2, ident: 4 } as const;
const FRAG_OFFSET_MASK = 0xfff8;
const FRAG_MORE = 0x0001;

export const IPV6_HEADER_LEN = 40;
export const IPV6_FRAG_HEADER_LEN = 8;
/** RFC 8200 §3: the largest 16-bit Payload Length (jumbograms, RFC 2675, are not supported). */
export const IPV6_MAX_PAYLOAD_LEN = 0xffff;
/** RFC 8200 §5: every link carries at least 1280-byte packets. */
export const IPV6_MIN_MTU = 1280;
/** Walk limit: more extension headers than this is treated as an attack, not a packet. */
export const IPV6_MAX_EXT_HEADERS = 16;

/**
 * Re-targetable window on an IPv6 fixed header (see ByteView for the contract). Jumbograms
 * (payload length 0 with a Jumbo option, RFC 2675) are not supported: they read as empty payloads.
 */
export class Ipv6View extends ByteView {
  check(): WireError | null {
    const { buf, off, len } = this;
    if (off < 0 || len < IPV6_HEADER_LEN || off + len > buf.length) return 'truncated';
    if (buf[off]! >>> 4 !== 6) return 'bad-version';
    if (IPV6_HEADER_LEN + get16(buf, off + F.payloadLen) > len) return 'truncated';
    return null;
  }

  get version(): number { return this.buf[this.off]! >>> 4; }
  get trafficClass(): number { return (get16(this.buf, this.off) >>> 4) & 0xff; }
  get dscp(): number { return this.trafficClass >>> 2; }
  get ecn(): number { return this.trafficClass & 0x03; }
  get flowLabel(): number { return get32(this.buf, this.off) & 0xfffff; }
  get payloadLen(): number { return get16(this.buf, this.off + F.payloadLen); }
  get nextHeader(): number { return this.buf[this.off + F.nextHeader]!; }
  get hopLimit(): number { return this.buf[this.off + F.hopLimit]!; }
  get srcOffset(): number { return this.off + F.src; }
  get dstOffset(): number { return this.off + F.dst; }
  get payloadOffset(): number { return this.off + IPV6_HEADER_LEN; }
  /** Offset of the Next Header byte: rewritten when reassembling or inserting a Fragment header. */
  get nextHeaderOffset(): number { return this.off + F.nextHeader; }
  /** A subarray (no copy) of the payload covered by the payload length field. */
  payload(): Uint8Array { return this.buf.subarray(this.payloadOffset, this.payloadOffset + this.payloadLen); }

  setHopLimit(h: number): void { this.buf[this.off + F.hopLimit] = h; }
  setPayloadLen(n: number): void { set16(this.buf, this.off + F.payloadLen, n); }
  setNextHeader(nh: number): void { this.buf[this.off + F.nextHeader] = nh; }
}

export interface Ipv6Repr {
  readonly src: IpAddr;
  readonly dst: IpAddr;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly payloadLen: number;
}

export function parseIpv6(v: Ipv6View): Result<Ipv6Repr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  return ok({
    src: IpAddr.fromBytes(v.buf, v.srcOffset, 16),
    dst: IpAddr.fromBytes(v.buf, v.dstOffset, 16),
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
    payloadLen: v.payloadLen,
  });
}

/** Writes the 40-byte fixed header at buf[off]; returns 40. Does not validate `r`. */
export function emitIpv6(r: Ipv6Repr, buf: Uint8Array, off: number): number {
  set32(buf, off, ((6 << 28) | ((r.trafficClass & 0xff) << 20) | (r.flowLabel & 0xfffff)) >>> 0);
  set16(buf, off + F.payloadLen, r.payloadLen);
  buf[off + F.nextHeader] = r.nextHeader;
  buf[off + F.hopLimit] = r.hopLimit;
  r.src.writeTo(buf, off + F.src);
  r.dst.writeTo(buf, off + F.dst);
  return IPV6_HEADER_LEN;
}

// ---- Extension headers (RFC 8200 §4) ----

/** What a Fragment header (RFC 8200 §4.5) says. Offsets are absolute indexes into the buffer. */
export interface Ipv6FragInfo {
  /** Fragment offset in bytes (the field counts 8-octet units). */
  fragOffset: number;
  moreFrags: boolean;
  ident: number;
  /** Offset of the Fragment header itself; the Per-Fragment headers end here. */
  fragHeaderOffset: number;
  /** Offset of the Next Header byte that names the Fragment header (reassembly rewrites it). */
  prevNextHeaderOffset: number;
  /** The Fragment header's own Next Header: the protocol of the fragmentable part. */
  nextHeader: number;
}

export interface Ipv6ExtResult {
  /** Protocol after the last walked header (59 = No Next Header; after a Fragment header, its NH). */
  upperProtocol: number;
  /** Absolute offset where that protocol's bytes start. */
  upperOffset: number;
  fragment: Ipv6FragInfo | null;
  hbhPresent: boolean;
  /** Absolute offset of a Routing header, or -1; the IP layer checks Segments Left (§4.4). */
  routingOffset: number;
  /** Number of extension headers walked. */
  count: number;
}

function newIpv6FragInfo(): Ipv6FragInfo {
  return { fragOffset: 0, moreFrags: false, ident: 0, fragHeaderOffset: 0, prevNextHeaderOffset: 0, nextHeader: 0 };
}

/** A reusable result object for the hot path: pass it to walkIpv6ExtHeaders to avoid allocation. */
export function newIpv6ExtResult(): Ipv6ExtResult & { readonly fragScratch: Ipv6FragInfo } {
  return {
    upperProtocol: 0, upperOffset: 0, fragment: null, hbhPresent: false, routingOffset: -1, count: 0,
    fragScratch: newIpv6FragInfo(),
  };
}

/**
 * Walks the extension headers in buf[off, off+len) (the IPv6 payload) starting with protocol
 * `firstNextHeader`, skipping Hop-by-Hop, Routing and Destination Options headers. Stops at the
 * first other protocol, or right after a Fragment header: what follows a Fragment header is
 * fragmentable data, walked again after reassembly (RFC 8200 §4.5). `prevNhOff` is where the first
 * Next Header byte lives (the fixed header's), used only to fill `prevNextHeaderOffset`.
 * Options inside HbH/DestOpts are not interpreted here.
 */
export function walkIpv6ExtHeaders(
  buf: Uint8Array, off: number, len: number, firstNextHeader: number,
  out?: Ipv6ExtResult & { readonly fragScratch?: Ipv6FragInfo }, prevNhOff = off - 34,
): Ipv6ExtResult | WireError {
  const r = out ?? newIpv6ExtResult();
  r.fragment = null;
  r.hbhPresent = false;
  r.routingOffset = -1;
  r.count = 0;
  if (off < 0 || len < 0) return 'truncated';
  const end = Math.min(off + len, buf.length);
  let nh = firstNextHeader;
  let p = off;
  let prev = prevNhOff;
  for (let n = 0; ; n++) {
    if (nh !== IPPROTO_HOPOPTS && nh !== IPPROTO_ROUTING && nh !== IPPROTO_DSTOPTS && nh !== IPPROTO_FRAGMENT) break;
    if (n >= IPV6_MAX_EXT_HEADERS) return 'too-many-ext-headers';
    // RFC 8200 §4.1: "The Hop-by-Hop Options header, when present, must immediately follow the
    // IPv6 header"; Linux and BSD drop such packets with a Parameter Problem, so do we.
    if (nh === IPPROTO_HOPOPTS) {
      if (n !== 0) return 'bad-ext-header';
      r.hbhPresent = true;
    }
    // Every extension header is at least 8 octets (§4.3-4.6).
    if (p + 8 > end) return 'truncated';
    if (nh === IPPROTO_FRAGMENT) {
      const w = get16(buf, p + FH.offlg);
      const f = out?.fragScratch ?? newIpv6FragInfo();
      f.fragOffset = w & FRAG_OFFSET_MASK;
      f.moreFrags = (w & FRAG_MORE) !== 0;
      f.ident = get32(buf, p + FH.ident);
      f.fragHeaderOffset = p;
      f.prevNextHeaderOffset = prev;
      f.nextHeader = buf[p + FH.nextHeader]!;
      r.fragment = f;
      r.count = n + 1;
      r.upperProtocol = f.nextHeader;
      r.upperOffset = p + IPV6_FRAG_HEADER_LEN;
      return r;
    }
    const hlen = ipv6ExtHeaderLen(buf, p);
    if (p + hlen > end) return 'truncated';
    if (nh === IPPROTO_ROUTING && r.routingOffset < 0) r.routingOffset = p;
    prev = p;
    nh = buf[p]!;
    p += hlen;
    r.count = n + 1;
  }
  r.upperProtocol = nh;
  r.upperOffset = p;
  return r;
}

/**
 * Length in bytes of the Hop-by-Hop, Routing or Destination Options header at buf[off] (§4.3-4.6):
 * Hdr Ext Len is "Length of the header in 8-octet units, not including the first 8 octets."
 * Every extension header starts with its Next Header byte, then this length (not Fragment's: fixed 8).
 */
export function ipv6ExtHeaderLen(buf: Uint8Array, off: number): number {
  return (buf[off + 1]! + 1) << 3;
}

/**
 * Re-targetable window on a Fragment header (RFC 8200 §4.5; see ByteView). walkIpv6ExtHeaders
 * finds it; code that handles fragments in place (reassembly, ICMPv6 quotes) reads it with this.
 */
export class Ipv6FragView extends ByteView {
  check(): WireError | null {
    const { buf, off, len } = this;
    return off < 0 || len < IPV6_FRAG_HEADER_LEN || off + len > buf.length ? 'truncated' : null;
  }

  /** The protocol of the fragmentable part. */
  get nextHeader(): number { return this.buf[this.off + FH.nextHeader]!; }
  /** Fragment offset in bytes (the field counts 8-octet units). */
  get fragOffset(): number { return get16(this.buf, this.off + FH.offlg) & FRAG_OFFSET_MASK; }
  get moreFrags(): boolean { return (get16(this.buf, this.off + FH.offlg) & FRAG_MORE) !== 0; }
  get ident(): number { return get32(this.buf, this.off + FH.ident); }
  /** RFC 6946: offset 0 and M clear, a packet that was never really fragmented. */
  get isAtomic(): boolean { return (get16(this.buf, this.off + FH.offlg) & (FRAG_OFFSET_MASK | FRAG_MORE)) === 0; }
  /** Absolute offset of the Fragment Offset field, where a Parameter Problem about it points (§4.5). */
  get fragOffsetFieldOffset(): number { return this.off + FH.offlg; }
}

/** Writes a Fragment header (RFC 8200 §4.5) at buf[off]; returns 8. `fragOffsetBytes` % 8 == 0. */
export function emitIpv6FragHeader(
  buf: Uint8Array, off: number, nextHeader: number, fragOffsetBytes: number, moreFrags: boolean, ident: number,
): number {
  buf[off + FH.nextHeader] = nextHeader;
  buf[off + 1] = 0;
  set16(buf, off + FH.offlg, (fragOffsetBytes & FRAG_OFFSET_MASK) | (moreFrags ? FRAG_MORE : 0));
  set32(buf, off + FH.ident, ident);
  return IPV6_FRAG_HEADER_LEN;
}

export function formatV6(buf: Uint8Array, off: number): string {
  return IpAddr.fromBytes(buf, off, 16).toString();
}

/** tcpdump -v style: `IP6 (flowlabel 0x987bb, hlim 64, next-header ICMPv6 (58) payload length: 28) ::1 > ::1`. */
export function prettyIpv6(v: Ipv6View): string {
  const e = v.check();
  if (e !== null) return `IP6 [${e}]`;
  const tc = v.trafficClass;
  const nh = v.nextHeader;
  return `IP6 (${tc !== 0 ? `class 0x${tc.toString(16)}, ` : ''}flowlabel 0x${v.flowLabel.toString(16).padStart(5, '0')}, `
    + `hlim ${v.hopLimit}, next-header ${ipProtoName(nh)} (${nh}) payload length: ${v.payloadLen}) `
    + `${formatV6(v.buf, v.srcOffset)} > ${formatV6(v.buf, v.dstOffset)}`;
}
