// Raw packet assembly for the packet fuzzer: IPv4 and IPv6 headers (any field value, lying
// lengths included), IPv6 extension headers, TCP/UDP/ICMP headers and their checksums, written
// byte by byte so that malformed packets are as easy to build as well-formed ones. Nothing here
// validates: the generators decide what is valid. The stack's own codecs are not used, so a bug in
// them cannot hide the same bug here; only the checksum arithmetic is shared (stack/wire/checksum).

import { internetChecksum, l4Checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../stack/wire/checksum.js';

export const IPPROTO_HOPOPTS = 0, IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44, IPPROTO_ESP = 50, IPPROTO_AH = 51, IPPROTO_ICMPV6 = 58, IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

export type Family = 4 | 6;

export const put16 = (b: Uint8Array, o: number, v: number): void => { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; };
export const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
};
export const get16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
export const get32 = (b: Uint8Array, o: number): number =>
  (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function hex(b: Uint8Array, max = 2048): string {
  let s = '';
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return n < b.length ? `${s}…(+${b.length - n} bytes)` : s;
}

// ---- IPv4 ----

export interface Ip4Spec {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly proto: number;
  readonly payload: Uint8Array;
  readonly ttl?: number;
  readonly tos?: number;
  readonly id?: number;
  /** Flags nibble: 0x4 DF, 0x2 MF... (the 3 high bits of the flags/offset word). */
  readonly df?: boolean;
  readonly mf?: boolean;
  readonly evil?: boolean;
  /** Fragment offset in bytes (written as offset / 8, masked to 13 bits). */
  readonly fragOff?: number;
  /** Option bytes, padded with zeros (EOL) to a multiple of 4 (header capped at 60 bytes). */
  readonly options?: Uint8Array;
  /** Lies: the IHL nibble and total-length field as sent. */
  readonly ihlWords?: number;
  readonly totalLen?: number;
  readonly version?: number;
}

/** An IPv4 packet with a correct header checksum (over the header as written). */
export function ip4(s: Ip4Spec): Uint8Array {
  const optLen = Math.min(40, ((s.options?.length ?? 0) + 3) & ~3);
  const hlen = 20 + optLen;
  const buf = new Uint8Array(hlen + s.payload.length);
  buf[0] = ((s.version ?? 4) << 4) | ((s.ihlWords ?? hlen / 4) & 0xf);
  buf[1] = s.tos ?? 0;
  put16(buf, 2, s.totalLen ?? buf.length);
  put16(buf, 4, s.id ?? 0);
  put16(buf, 6, (s.evil === true ? 0x8000 : 0) | (s.df === true ? 0x4000 : 0) | (s.mf === true ? 0x2000 : 0)
    | (((s.fragOff ?? 0) >>> 3) & 0x1fff));
  buf[8] = s.ttl ?? 64;
  buf[9] = s.proto;
  buf.set(s.src.subarray(0, 4), 12);
  buf.set(s.dst.subarray(0, 4), 16);
  if (s.options !== undefined) buf.set(s.options.subarray(0, optLen), 20);
  buf.set(s.payload, hlen);
  fixIp4HeaderSum(buf);
  return buf;
}

/** Recomputes the IPv4 header checksum over the IHL the header claims (when it fits). */
export function fixIp4HeaderSum(p: Uint8Array): void {
  const hl = (p[0]! & 0xf) * 4;
  if (hl < 20 || hl > p.length) return;
  put16(p, 10, 0);
  put16(p, 10, internetChecksum(p, 0, hl));
}

// ---- IPv6 ----

export interface Ip6Spec {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Next header of the fixed header. */
  readonly nxt: number;
  /** Everything after the fixed header (extension headers and the upper-layer packet). */
  readonly payload: Uint8Array;
  readonly hlim?: number;
  readonly tclass?: number;
  readonly flow?: number;
  /** A lying payload-length field. */
  readonly plen?: number;
  readonly version?: number;
}

export function ip6(s: Ip6Spec): Uint8Array {
  const buf = new Uint8Array(40 + s.payload.length);
  const tc = s.tclass ?? 0, fl = s.flow ?? 0;
  put32(buf, 0, (((s.version ?? 6) & 0xf) << 28 | (tc & 0xff) << 20 | (fl & 0xfffff)) >>> 0);
  put16(buf, 4, s.plen ?? s.payload.length);
  buf[6] = s.nxt;
  buf[7] = s.hlim ?? 64;
  buf.set(s.src.subarray(0, 16), 8);
  buf.set(s.dst.subarray(0, 16), 24);
  buf.set(s.payload, 40);
  return buf;
}

/**
 * A hop-by-hop, destination-options or routing header (RFC 8200 §4.3-4.6): next header, then
 * `body` (which starts at byte 2), padded with zeros to a multiple of 8; the length byte says so
 * unless `lenByte` lies.
 */
export function extHeader(nxt: number, body: Uint8Array, lenByte?: number): Uint8Array {
  const total = Math.max(8, (body.length + 2 + 7) & ~7);
  const h = new Uint8Array(total);
  h[0] = nxt;
  h[1] = lenByte ?? total / 8 - 1;
  h.set(body, 2);
  return h;
}

/** An options body (for hop-by-hop / destination options) padded with PadN/Pad1 to fill 8n - 2 bytes. */
export function optionsBody(opts: Uint8Array): Uint8Array {
  const total = Math.max(6, ((opts.length + 2 + 7) & ~7) - 2);
  const b = new Uint8Array(total);
  b.set(opts, 0);
  const pad = total - opts.length;
  if (pad === 1) b[opts.length] = 0;
  else if (pad >= 2) { b[opts.length] = 1; b[opts.length + 1] = pad - 2; }
  return b;
}

/** An IPv6 fragment header (RFC 8200 §4.5). */
export function fragHeader6(nxt: number, offBytes: number, more: boolean, id: number, reserved = 0): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = nxt;
  h[1] = reserved;
  put16(h, 2, (offBytes & 0xfff8) | (more ? 1 : 0));
  put32(h, 4, id >>> 0);
  return h;
}

// ---- transport headers ----

export interface TcpSpec {
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly win: number;
  readonly urp?: number;
  /** Raw option bytes, padded with zeros (EOL) to a multiple of 4. */
  readonly opts?: Uint8Array;
  readonly payload?: Uint8Array;
  /** A lying data offset (words, 0..15). */
  readonly doffWords?: number;
  /** The 4 reserved bits (plus AE, RFC 3540's NS). */
  readonly reserved?: number;
}

/** A TCP segment with a zero checksum field (fill it with setL4Checksum). */
export function tcpSeg(s: TcpSpec): Uint8Array {
  const optLen = Math.min(40, ((s.opts?.length ?? 0) + 3) & ~3);
  const payload = s.payload ?? new Uint8Array(0);
  const t = new Uint8Array(20 + optLen + payload.length);
  put16(t, 0, s.sport);
  put16(t, 2, s.dport);
  put32(t, 4, s.seq >>> 0);
  put32(t, 8, s.ack >>> 0);
  t[12] = (((s.doffWords ?? (20 + optLen) / 4) & 0xf) << 4) | ((s.reserved ?? 0) & 0xf);
  t[13] = s.flags & 0xff;
  put16(t, 14, s.win);
  put16(t, 18, s.urp ?? 0);
  if (s.opts !== undefined) t.set(s.opts.subarray(0, optLen), 20);
  t.set(payload, 20 + optLen);
  return t;
}

/** A UDP datagram with a zero checksum field; `lenField` lies about the length when given. */
export function udpDgram(sport: number, dport: number, payload: Uint8Array, lenField?: number): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, lenField ?? u.length);
  u.set(payload, 8);
  return u;
}

/** An ICMP or ICMPv6 message (type, code, the 4-byte rest word, body) with a zero checksum field. */
export function icmpMsg(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  m[0] = type & 0xff;
  m[1] = code & 0xff;
  put32(m, 4, rest >>> 0);
  m.set(body, 8);
  return m;
}

/** Offset of the checksum field in a transport header of `proto`, or -1. */
export function checksumOffset(proto: number): number {
  switch (proto) {
    case IPPROTO_TCP: return 16;
    case IPPROTO_UDP: return 6;
    case IPPROTO_ICMP: case IPPROTO_ICMPV6: return 2;
    default: return -1;
  }
}

/**
 * The correct checksum of transport message `l4` (checksum field treated as zero) sent from
 * `src` to `dst`; ICMPv4 has no pseudo-header. A UDP result of 0 is sent as 0xffff (RFC 768).
 */
export function l4Sum(family: Family, src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array, len = l4.length): number {
  const co = checksumOffset(proto);
  const saved = co >= 0 && co + 2 <= len ? get16(l4, co) : 0;
  if (co >= 0 && co + 2 <= len) put16(l4, co, 0);
  const pseudo = proto === IPPROTO_ICMP ? 0
    : family === 4 ? pseudoHeaderSum4(src, 0, dst, 0, proto, len) : pseudoHeaderSum6(src, 0, dst, 0, proto, len);
  let c = l4Checksum(l4, 0, len, pseudo);
  if (c === 0 && proto === IPPROTO_UDP) c = 0xffff;
  if (co >= 0 && co + 2 <= len) put16(l4, co, saved);
  return c;
}

/** Writes the correct checksum into `l4` (when its header holds the field). */
export function setL4Checksum(family: Family, src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array): void {
  const co = checksumOffset(proto);
  if (co < 0 || co + 2 > l4.length) return;
  put16(l4, co, l4Sum(family, src, dst, proto, l4));
}

/**
 * A checksum value that certainly does not verify: neither the right one nor, since 0x0000 and
 * 0xffff are the same number in one's complement (and 0 means "no checksum" for UDP over IPv4),
 * either zero.
 */
export function wrongChecksum(right: number, salt: number): number {
  let v = (right + 1 + (salt % 0xfffc)) & 0xffff;
  while (v === right || v === 0 || v === 0xffff) v = (v + 1) & 0xffff;
  return v;
}
