// Where the layers of a raw (possibly mutated) IP packet are, as the fuzzer sees them: family,
// addresses, the upper-layer protocol, its offset and length, and whether it is a fragment. Used
// to re-fix checksums after a byte-level mutation (so mutated packets still reach deep code) and to
// learn which connection a mutated packet now aims at. Best effort and bounds-checked: any packet
// that does not parse far enough gives null.

import {
  fixIp4HeaderSum, get16, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_TCP,
  IPPROTO_UDP, put16, checksumOffset, l4Sum,
} from './wire-build.js';
import type { Family } from './wire-build.js';

export interface Layout {
  readonly family: Family;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Upper-layer protocol (or the header where the walk stopped). */
  readonly proto: number;
  /** Offset of the upper-layer header. */
  readonly l4Off: number;
  /** Upper-layer length as the IP header(s) state it (clamped to the bytes present). */
  readonly l4Len: number;
  /** A fragment (IPv4 MF or offset, IPv6 non-atomic fragment header): no checksum to fix. */
  readonly fragment: boolean;
  /** The first fragment (offset 0), or not a fragment: the transport header is present. */
  readonly hasL4Header: boolean;
}

/** The layout of `p`, or null when the IP header itself does not parse. */
export function layoutOf(p: Uint8Array): Layout | null {
  if (p.length < 1) return null;
  const v = p[0]! >>> 4;
  if (v === 4) {
    if (p.length < 20) return null;
    const hl = (p[0]! & 0xf) * 4;
    const total = Math.min(get16(p, 2), p.length);
    if (hl < 20 || hl > total) return null;
    const ff = get16(p, 6);
    const off = (ff & 0x1fff) * 8;
    const frag = (ff & 0x2000) !== 0 || off !== 0;
    return {
      family: 4, src: p.subarray(12, 16), dst: p.subarray(16, 20), proto: p[9]!, l4Off: hl, l4Len: total - hl,
      fragment: frag, hasL4Header: off === 0,
    };
  }
  if (v === 6) {
    if (p.length < 40) return null;
    const end = Math.min(40 + get16(p, 4), p.length);
    let nxt = p[6]!;
    let off = 40;
    let frag = false;
    let first = true;
    for (let i = 0; i < 16; i++) {
      if (nxt === IPPROTO_FRAGMENT) {
        if (off + 8 > end) break;
        const fo = get16(p, off + 2);
        if ((fo & 0xfff9) !== 0) { frag = true; if ((fo & 0xfff8) !== 0) first = false; }
        nxt = p[off]!;
        off += 8;
        if (!first) break;
        continue;
      }
      if (nxt !== IPPROTO_HOPOPTS && nxt !== IPPROTO_DSTOPTS && nxt !== IPPROTO_ROUTING) break;
      if (off + 2 > end) break;
      const len = (p[off + 1]! + 1) * 8;
      nxt = p[off]!;
      off += len;
    }
    if (off > end) return null;
    return {
      family: 6, src: p.subarray(8, 24), dst: p.subarray(24, 40), proto: nxt, l4Off: off, l4Len: end - off,
      fragment: frag, hasL4Header: first,
    };
  }
  return null;
}

/**
 * Makes the checksums of `p` right again after a mutation: the IPv4 header checksum, and the
 * TCP/UDP/ICMP/ICMPv6 checksum of an unfragmented packet whose lengths are consistent.
 */
export function fixChecksums(p: Uint8Array): void {
  if (p.length >= 20 && p[0]! >>> 4 === 4) fixIp4HeaderSum(p);
  const l = layoutOf(p);
  if (l === null || l.fragment) return;
  const co = checksumOffset(l.proto);
  if (co < 0 || l.l4Len < co + 2) return;
  if (l.family === 4 && l.proto === 58) return;
  if (l.family === 6 && l.proto === 1) return;
  const l4 = p.subarray(l.l4Off, l.l4Off + l.l4Len);
  put16(l4, co, l4Sum(l.family, l.src, l.dst, l.proto, l4));
}

/** "family|addrA:portA|addrB:portB" of a TCP/UDP packet, endpoints in a fixed order; null when not found. */
export function tupleKeyOf(p: Uint8Array): string | null {
  const l = layoutOf(p);
  if (l === null || !l.hasL4Header || (l.proto !== IPPROTO_TCP && l.proto !== IPPROTO_UDP) || l.l4Len < 4) return null;
  return tupleKey(l.family, l.proto, l.src, get16(p, l.l4Off), l.dst, get16(p, l.l4Off + 2));
}

/** The 4-tuple an ICMP or ICMPv6 error quotes (the packet after its 8-byte header), or null. */
export function quotedTupleKeyOf(p: Uint8Array): string | null {
  const l = layoutOf(p);
  if (l === null || !l.hasL4Header || l.fragment || (l.proto !== 1 && l.proto !== 58) || l.l4Len < 8 + 20) return null;
  return tupleKeyOf(p.subarray(l.l4Off + 8, l.l4Off + l.l4Len));
}

/** The key of a connection or flow between two endpoints, independent of direction. */
export function tupleKey(family: Family, proto: number, a: Uint8Array, aport: number, b: Uint8Array, bport: number): string {
  const ea = `${addrText(a)}:${aport}`, eb = `${addrText(b)}:${bport}`;
  return ea < eb ? `${proto}|${family}|${ea}|${eb}` : `${proto}|${family}|${eb}|${ea}`;
}

function addrText(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += (a[i]! < 16 ? '0' : '') + a[i]!.toString(16);
  return s;
}
