// Test helpers for stack/ip: hand-built IPv4/IPv6/ICMP/UDP packets with an independent checksum
// and parser (deliberately not stack/ip/mbuf-checksum.ts and chain-pullup.ts), a capturing Link, a fake transport that records
// what IP hands it, and a one-interface stack factory on virtual time.

import { expect } from 'vitest';
import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { VirtualClock } from '../../stack/time/clock.js';
import type { Instant } from '../../stack/time/instant.js';
import { mFreem, mFromBytes, mLength, mToBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { DEFAULT_LINK_CAPS } from '../../stack/link/link.js';
import type { Link, LinkCaps, LinkReceiver } from '../../stack/link/link.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import type { IpCtlInfo, IpInputInfo, IpProtocol } from '../../stack/ip/protocol.js';
import type { IpLayerOptions } from '../../stack/ip/ip-layer.js';
import type { Ifnet } from '../../stack/ip/ifnet.js';

export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
export const rd16 = (b: Uint8Array, o: number): number => b[o]! * 256 + b[o + 1]!;
export const rd32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** RFC 1071 written plainly: 16-bit words summed, carries folded, complemented. */
export function cksum(parts: readonly Uint8Array[]): number {
  const all: number[] = [];
  for (const p of parts) for (const x of p) all.push(x);
  if (all.length % 2) all.push(0);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += all[i]! * 256 + all[i + 1]!;
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return 0xffff - s;
}

export function pseudo(src: IpAddr, dst: IpAddr, proto: number, len: number): Uint8Array {
  if (src.family === 4) return Uint8Array.from([...src.bytes, ...dst.bytes, 0, proto, ...u16(len)]);
  return Uint8Array.from([...src.bytes, ...dst.bytes, ...u32(len), 0, 0, 0, proto]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function pattern(n: number, tag = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 13 + tag) & 0xff;
  return p;
}

export interface V4Spec {
  src: string; dst: string; proto: number; payload?: Uint8Array;
  ttl?: number; id?: number; tos?: number; df?: boolean; mf?: boolean; off?: number;
  /** Extra header bytes (options), a multiple of 4. */
  options?: number[];
  version?: number; ihl?: number; totalLen?: number; badSum?: boolean;
}

export function ipv4(s: V4Spec): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const opts = s.options ?? [];
  const hl = 20 + opts.length;
  const flags = (s.df ? 0x4000 : 0) | (s.mf ? 0x2000 : 0) | ((s.off ?? 0) >> 3);
  const h = Uint8Array.from([
    ((s.version ?? 4) << 4) | (s.ihl ?? hl / 4), s.tos ?? 0, ...u16(s.totalLen ?? hl + payload.length), ...u16(s.id ?? 1),
    ...u16(flags), s.ttl ?? 64, s.proto, 0, 0, ...IpAddr.of(s.src).bytes, ...IpAddr.of(s.dst).bytes, ...opts,
  ]);
  let c = cksum([h]);
  if (s.badSum) c ^= 0x5a5a;
  h[10] = c >> 8; h[11] = c & 0xff;
  return concat(h, payload);
}

export interface V6Spec {
  src: string; dst: string; nxt: number; payload?: Uint8Array; hlim?: number; tc?: number; plen?: number; version?: number;
}

export function ipv6(s: V6Spec): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const tc = s.tc ?? 0;
  const h = Uint8Array.from([
    ((s.version ?? 6) << 4) | (tc >> 4), (tc & 15) << 4, 0, 0, ...u16(s.plen ?? payload.length), s.nxt, s.hlim ?? 64,
    ...IpAddr.of(s.src).bytes, ...IpAddr.of(s.dst).bytes,
  ]);
  return concat(h, payload);
}

/** An IPv6 fragment header (RFC 8200 §4.5). */
export const frag6 = (nxt: number, off: number, more: boolean, id: number): Uint8Array =>
  Uint8Array.from([nxt, 0, ...u16(off | (more ? 1 : 0)), ...u32(id)]);

/** ICMPv4 message with its checksum. */
export function icmp4(type: number, code: number, rest: number[], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const m = concat(Uint8Array.from([type, code, 0, 0, ...rest]), data);
  const c = cksum([m]);
  m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

/** ICMPv6 message with its pseudo-header checksum. */
export function icmp6(src: string, dst: string, type: number, code: number, rest: number[], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const m = concat(Uint8Array.from([type, code, 0, 0, ...rest]), data);
  const c = cksum([pseudo(IpAddr.of(src), IpAddr.of(dst), 58, m.length), m]);
  m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

/** A UDP header + payload with its checksum. */
export function udp(src: string, dst: string, sport: number, dport: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const m = concat(Uint8Array.from([...u16(sport), ...u16(dport), ...u16(8 + payload.length), 0, 0]), payload);
  let c = cksum([pseudo(IpAddr.of(src), IpAddr.of(dst), 17, m.length), m]);
  if (c === 0) c = 0xffff;
  m[6] = c >> 8; m[7] = c & 0xff;
  return m;
}

export interface ParsedIp {
  family: 4 | 6; src: string; dst: string; proto: number; ttl: number; tos: number;
  id: number; df: boolean; mf: boolean; off: number; totalLen: number; hlen: number;
  headerOk: boolean;
  /** IPv6 fragment header fields, when present right after the fixed header. */
  frag: { nxt: number; off: number; more: boolean; id: number } | null;
  /** The bytes after the IP header(s). */
  l4: Uint8Array;
}

export function parseIp(b: Uint8Array): ParsedIp {
  if (b[0]! >> 4 === 4) {
    const hlen = (b[0]! & 15) * 4;
    const totalLen = rd16(b, 2);
    const flags = rd16(b, 6);
    return {
      family: 4, src: IpAddr.fromBytes(b, 12, 4).toString(), dst: IpAddr.fromBytes(b, 16, 4).toString(), proto: b[9]!,
      ttl: b[8]!, tos: b[1]!, id: rd16(b, 4), df: (flags & 0x4000) !== 0, mf: (flags & 0x2000) !== 0, off: (flags & 0x1fff) * 8,
      totalLen, hlen, headerOk: cksum([b.subarray(0, hlen)]) === 0, frag: null, l4: b.subarray(hlen, totalLen),
    };
  }
  const plen = rd16(b, 4);
  const nxt = b[6]!;
  let frag: ParsedIp['frag'] = null;
  let hlen = 40;
  let proto = nxt;
  if (nxt === 44) {
    const f = rd16(b, 42);
    frag = { nxt: b[40]!, off: f & 0xfff8, more: (f & 1) !== 0, id: rd32(b, 44) };
    hlen = 48;
    proto = b[40]!;
  }
  return {
    family: 6, src: IpAddr.fromBytes(b, 8, 16).toString(), dst: IpAddr.fromBytes(b, 24, 16).toString(), proto,
    ttl: b[7]!, tos: ((b[0]! & 15) << 4) | (b[1]! >> 4), id: frag?.id ?? 0, df: false, mf: frag?.more ?? false,
    off: frag?.off ?? 0, totalLen: 40 + plen, hlen, headerOk: true, frag, l4: b.subarray(hlen, 40 + plen),
  };
}

/** True when the ICMP (v4) or ICMPv6 message of packet `p` has a correct checksum. */
export function icmpChecksumOk(p: ParsedIp): boolean {
  if (p.family === 4) return cksum([p.l4]) === 0;
  return cksum([pseudo(IpAddr.of(p.src), IpAddr.of(p.dst), 58, p.l4.length), p.l4]) === 0;
}

/** A Link that keeps what the stack transmits (the test owns and frees it). */
export class CaptureLink implements Link {
  readonly caps: LinkCaps;
  readonly sent: Mbuf[] = [];
  receiver: LinkReceiver | null = null;
  transmits = 0;
  constructor(readonly name = 'cap0', caps: Partial<LinkCaps> = {}) {
    this.caps = { ...DEFAULT_LINK_CAPS, ...caps };
  }
  transmit(batch: readonly Mbuf[], count: number): void {
    this.transmits++;
    for (let i = 0; i < count; i++) this.sent.push(batch[i]!);
  }
  setReceiver(rx: LinkReceiver | null): void { this.receiver = rx; }
  /** The packets sent so far as bytes (mbufs freed). */
  take(): Uint8Array[] {
    const out = this.sent.map((m) => {
      expect(m.pktLen).toBe(mLength(m));
      return mToBytes(m);
    });
    for (const m of this.sent) mFreem(m);
    this.sent.length = 0;
    return out;
  }
}

export interface Delivered {
  family: 4 | 6; src: string; dst: string; l4: Uint8Array; info: IpInputInfo; headContiguous: boolean; pseudoOk: boolean;
}

/** A transport that records what IP hands it and frees the mbufs. */
export class FakeProtocol implements IpProtocol {
  readonly got: Delivered[] = [];
  readonly ctls: IpCtlInfo[] = [];
  input(m: Mbuf, info: IpInputInfo, _now: Instant): void {
    const alen = info.family === 4 ? 4 : 16;
    const all = mToBytes(m);
    const l4 = all.slice(info.l4Off, info.l4Off + info.l4Len);
    // Independent check of the pseudo-header sum: fold(pseudoSum) must equal the fold of our own.
    const src = IpAddr.fromBytes(m.buf, info.srcOff, alen), dst = IpAddr.fromBytes(m.buf, info.dstOff, alen);
    const proto = info.family === 4 ? all[9]! : -1;
    let mine = 0;
    const ps = pseudo(src, dst, proto >= 0 ? proto : lastNxt(all, info.l4Off), info.l4Len);
    for (let i = 0; i < ps.length; i += 2) mine += ps[i]! * 256 + ps[i + 1]!;
    this.got.push({
      family: info.family, src: src.toString(), dst: dst.toString(), l4, info: { ...info },
      headContiguous: m.len >= info.l4Off + Math.min(8, info.l4Len), pseudoOk: fold(mine) === fold(info.pseudoSum),
    });
    mFreem(m);
  }
  ctlinput(ctl: IpCtlInfo): void { this.ctls.push(ctl); }
}

function fold(s: number): number {
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return s;
}

/** The protocol number naming the header at l4Off of an IPv6 packet (walks generic extension headers). */
function lastNxt(b: Uint8Array, l4Off: number): number {
  let nxt = b[6]!;
  let off = 40;
  while (off < l4Off) {
    const len = nxt === 44 ? 8 : (b[off + 1]! + 1) * 8;
    nxt = b[off]!;
    off += len;
  }
  return nxt;
}

export interface Host {
  stack: Stack;
  link: CaptureLink;
  ifp: Ifnet;
  clock: VirtualClock;
  proto: FakeProtocol;
  /** Feeds packets to the interface at the current virtual time. */
  inject(...pkts: Uint8Array[]): void;
  /** Advances virtual time by `ms` and polls the stack at every due deadline on the way. */
  advance(ms: number): void;
  /** Runs pending work now (a poll at the current time). */
  poll(): void;
  now(): Instant;
}

export const TEST_PROTO = 253; // RFC 3692 experimentation

/** One stack with one capturing interface; FakeProtocol registered for UDP (17) and 253. */
export function host(opts: { addrs: string[]; seed?: number; mtu?: number; caps?: Partial<LinkCaps>; ip?: IpLayerOptions } = { addrs: [] }): Host {
  const clock = new VirtualClock();
  const env = simEnv(opts.seed ?? 1, clock);
  const stack = new Stack({ env, name: 'h', ip: opts.ip });
  const link = new CaptureLink('cap0', { ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}), ...opts.caps });
  const ifp = stack.addInterface(link, { addrs: opts.addrs.map((a) => IpCidr.of(a)) });
  const proto = new FakeProtocol();
  // These tests look at IP alone: the stack's own UDP steps aside for a recording fake.
  stack.ip.unregisterProtocol(17);
  stack.ip.registerProtocol(17, proto);
  stack.ip.registerProtocol(TEST_PROTO, proto);
  const h: Host = {
    stack, link, ifp, clock, proto,
    inject(...pkts) {
      const batch = pkts.map((p) => {
        const m = mFromBytes(stack.pool, p, 0);
        if (m === null) throw new Error('pool exhausted');
        return m;
      });
      ifp.receiveBatch(batch, batch.length, clock.now());
    },
    advance(ms) {
      const end = clock.now() + Math.round(ms * 1000);
      for (let i = 0; i < 1_000_000; i++) {
        const t = stack.pollAt();
        if (t === null || t > end) break;
        clock.advanceTo(t);
        stack.poll(clock.now());
      }
      clock.advanceTo(end);
    },
    poll() { stack.poll(clock.now()); },
    now() { return clock.now(); },
  };
  return h;
}

/** Pool counters back to zero: nothing leaked. */
export function expectNoLeak(stack: Stack): void {
  expect(stack.pool.stats.mbufsInUse).toBe(0);
  expect(stack.pool.stats.clusterBytesInUse).toBe(0);
}
