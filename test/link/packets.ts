// Test helpers for test/link: hand-built IPv4/IPv6 + UDP/TCP packets, an independent checksum and
// parser (deliberately not stack/wire or stack/link/offload.ts), a collecting LinkReceiver, seeds.

import { MbufPool, mFreem, mFromBytes, mToBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import type { LinkReceiver } from '../../stack/link/index.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';

/** The seed a randomized test uses: SIM_SEED from the environment, else `fallback`. */
export function testSeed(fallback: number): number {
  const s = process.env.SIM_SEED;
  if (s === undefined || s === '') return fallback;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`SIM_SEED must be an integer, got ${s}`);
  return n >>> 0;
}

/** RFC 1071 checksum, written plainly: sum of 16-bit words, carries folded, complemented. */
export function cksum(parts: readonly Uint8Array[]): number {
  const all: number[] = [];
  for (const p of parts) for (const x of p) all.push(x);
  if (all.length % 2) all.push(0);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += all[i]! * 256 + all[i + 1]!;
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return 0xffff - s;
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function pseudo(src: IpAddr, dst: IpAddr, proto: number, len: number): Uint8Array {
  if (src.family === 4) return Uint8Array.from([...src.bytes, ...dst.bytes, 0, proto, ...u16(len)]);
  return Uint8Array.from([...src.bytes, ...dst.bytes, ...u32(len), 0, 0, 0, proto]);
}

function ipHeader(src: IpAddr, dst: IpAddr, proto: number, l4Len: number, id: number): Uint8Array {
  if (src.family === 4) {
    const h = Uint8Array.from([0x45, 0, ...u16(20 + l4Len), ...u16(id), 0x40, 0, 64, proto, 0, 0, ...src.bytes, ...dst.bytes]);
    const c = cksum([h]);
    h[10] = c >> 8; h[11] = c & 0xff;
    return h;
  }
  return Uint8Array.from([0x60, 0, 0, 0, ...u16(l4Len), proto, 64, ...src.bytes, ...dst.bytes]);
}

export interface UdpSpec {
  src: string; dst: string; sport?: number; dport?: number; payload?: Uint8Array; id?: number;
  /** Leave the UDP checksum zero (IPv4 only) or as computed. */
  noChecksum?: boolean;
}

export function udpPacket(s: UdpSpec): Uint8Array {
  const src = IpAddr.of(s.src), dst = IpAddr.of(s.dst);
  const payload = s.payload ?? new Uint8Array(0);
  const udp = Uint8Array.from([...u16(s.sport ?? 1000), ...u16(s.dport ?? 2000), ...u16(8 + payload.length), 0, 0, ...payload]);
  if (!s.noChecksum) {
    let c = cksum([pseudo(src, dst, 17, udp.length), udp]);
    if (c === 0) c = 0xffff;
    udp[6] = c >> 8; udp[7] = c & 0xff;
  }
  const ip = ipHeader(src, dst, 17, udp.length, s.id ?? 1);
  const out = new Uint8Array(ip.length + udp.length);
  out.set(ip); out.set(udp, ip.length);
  return out;
}

export interface TcpSpec {
  src: string; dst: string; sport?: number; dport?: number; seq: number; ack?: number; flags: number;
  payload?: Uint8Array; id?: number; options?: number[];
  /** Leave the TCP checksum zero (for CSUM_NEEDS / TSO tests). */
  noChecksum?: boolean;
}

export function tcpPacket(s: TcpSpec): Uint8Array {
  const src = IpAddr.of(s.src), dst = IpAddr.of(s.dst);
  const payload = s.payload ?? new Uint8Array(0);
  const opts = s.options ?? [];
  const hl = 20 + opts.length;
  const tcp = Uint8Array.from([
    ...u16(s.sport ?? 1000), ...u16(s.dport ?? 80), ...u32(s.seq), ...u32(s.ack ?? 0),
    (hl / 4) << 4, s.flags, ...u16(65535), 0, 0, 0, 0, ...opts, ...payload,
  ]);
  if (!s.noChecksum) {
    const c = cksum([pseudo(src, dst, 6, tcp.length), tcp]);
    tcp[16] = c >> 8; tcp[17] = c & 0xff;
  }
  const ip = ipHeader(src, dst, 6, tcp.length, s.id ?? 1);
  const out = new Uint8Array(ip.length + tcp.length);
  out.set(ip); out.set(tcp, ip.length);
  return out;
}

export interface Parsed {
  family: 4 | 6; src: string; dst: string; proto: number; totalLen: number; id: number;
  ipChecksumOk: boolean; l4ChecksumOk: boolean;
  sport: number; dport: number; seq: number; flags: number; payload: Uint8Array;
}

/** Independent, forgiving parser for the packets above (no extension headers). */
export function parse(b: Uint8Array): Parsed {
  const v = b[0]! >> 4;
  const rd16 = (o: number): number => b[o]! * 256 + b[o + 1]!;
  const family = v === 4 ? 4 : 6;
  const ihl = family === 4 ? (b[0]! & 15) * 4 : 40;
  const totalLen = family === 4 ? rd16(2) : 40 + rd16(4);
  const proto = family === 4 ? b[9]! : b[6]!;
  const src = IpAddr.fromBytes(b, family === 4 ? 12 : 8, family === 4 ? 4 : 16);
  const dst = IpAddr.fromBytes(b, family === 4 ? 16 : 24, family === 4 ? 4 : 16);
  const l4 = b.subarray(ihl, totalLen);
  const hasL4Ck = proto === 6 || proto === 17;
  const l4ChecksumOk = hasL4Ck && cksum([pseudo(src, dst, proto, l4.length), l4]) === 0;
  const dataOff = proto === 6 ? (l4[12]! >> 4) * 4 : 8;
  return {
    family, src: src.toString(), dst: dst.toString(), proto, totalLen, id: family === 4 ? rd16(4) : 0,
    ipChecksumOk: family === 6 || cksum([b.subarray(0, ihl)]) === 0,
    l4ChecksumOk,
    sport: l4[0]! * 256 + l4[1]!, dport: l4[2]! * 256 + l4[3]!,
    seq: proto === 6 ? ((l4[4]! << 24) | (l4[5]! << 16) | (l4[6]! << 8) | l4[7]!) >>> 0 : 0,
    flags: proto === 6 ? l4[13]! : 0,
    payload: l4.subarray(dataOff),
  };
}

export interface Received { t: number; bytes: Uint8Array; csumFlags: number }

/** A LinkReceiver that records what arrives (copying the bytes) and frees the mbufs. */
export class Collector implements LinkReceiver {
  readonly got: Received[] = [];
  /** Batch sizes, one per receiveBatch call. */
  readonly batches: number[] = [];
  constructor(readonly pool: MbufPool = new MbufPool()) {}
  receiveBatch(batch: Mbuf[], count: number, now: number): void {
    this.batches.push(count);
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      this.got.push({ t: now, bytes: mToBytes(m), csumFlags: m.csumFlags });
      mFreem(m);
    }
  }
}

/** An mbuf packet from bytes in `pool`, with optional leading space and offload fields. */
export function pkt(pool: MbufPool, bytes: Uint8Array, opts: { gsoType?: number; gsoSize?: number; csumFlags?: number } = {}): Mbuf {
  const m = mFromBytes(pool, bytes, 64);
  if (m === null) throw new Error('test pool exhausted');
  m.gsoType = opts.gsoType ?? 0;
  m.gsoSize = opts.gsoSize ?? 0;
  m.csumFlags = opts.csumFlags ?? 0;
  return m;
}

/** A payload of `n` bytes with a recognizable pattern (byte i = (i * 7 + tag) & 0xff). */
export function pattern(n: number, tag = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + tag) & 0xff;
  return p;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
