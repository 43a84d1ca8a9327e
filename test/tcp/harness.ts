// Packet-level harness for TCP tests: one Stack (198.18.0.2/24, 2001:db8::2/64) on a capture link
// under a virtual clock. Tests inject segments they build field by field (`seg`) as if from the
// peer 198.18.0.1, read what the stack sent (`take`), and advance time deadline by deadline.
// Checksums here are computed with wire/checksum.ts over bytes the test built, independently of
// the TCP code under test.

import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { VirtualClock } from '../../stack/time/clock.js';
import type { Link, LinkCaps, LinkReceiver } from '../../stack/link/link.js';
import { DEFAULT_LINK_CAPS } from '../../stack/link/link.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFreem } from '../../stack/mbuf/pool.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/chain.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import { emitIpv4 } from '../../stack/wire/ipv4.js';
import { internetChecksum, l4Checksum, pseudoHeaderSum4 } from '../../stack/wire/checksum.js';
import { get16, get32, set16, set32 } from '../../stack/wire/bytes.js';
import { prettyTcpOptions } from '../../stack/wire/tcp-options.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { TcpStats } from '../../stack/tcp/tcp-stats.js';

export const ME = IpAddr.of('198.18.0.2');
export const PEER = IpAddr.of('198.18.0.1');

class CaptureLink implements Link {
  readonly name = 'cap0';
  rx: LinkReceiver | null = null;
  readonly out: Uint8Array[] = [];
  readonly gso: number[] = [];
  constructor(readonly caps: LinkCaps) {}
  transmit(batch: readonly Mbuf[], count: number): void {
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      this.out.push(mToBytes(m));
      this.gso.push(m.gsoSize);
      mFreem(m);
    }
  }
  setReceiver(rx: LinkReceiver | null): void { this.rx = rx; }
}

/** A TCP segment the stack sent, decoded. */
export interface Out {
  src: string; dst: string; sport: number; dport: number; seq: number; ack: number; flags: number;
  win: number; urp: number; hlen: number; opts: Uint8Array; optText: string; payload: Uint8Array;
  /** TSval / TSecr when the timestamps option is present, else -1. */
  tsval: number; tsecr: number;
  /** Milliseconds on the harness clock when it was taken. */
  atMs: number;
  gsoSize: number;
  csumOk: boolean;
  /** The IPv4 TOS byte (its low two bits are the ECN field). */
  tos: number;
}

export interface SegSpec {
  sport?: number; dport?: number; seq?: number; ack?: number; flags: number; win?: number; urp?: number;
  /** Raw option bytes (padded with EOL to 4 by the builder unless `dataOffWords` says otherwise). */
  opts?: number[];
  payload?: Uint8Array;
  /** Override the data offset field (words). */
  dataOffWords?: number;
  badSum?: boolean;
  /** Cut the segment to this many bytes after building (short/truncated). */
  truncate?: number;
  /** The IPv4 TOS byte (ECN field in the low two bits; default 0, Not-ECT). */
  tos?: number;
  /** Set AE (formerly NS), the low bit of byte 12 (Accurate ECN, RFC 9768). */
  ae?: boolean;
}

export const TH = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export class PacketHost {
  readonly clock = new VirtualClock();
  readonly stack: Stack;
  readonly link: CaptureLink;
  private ipId = 1;

  constructor(o: { seed?: number; profile?: TcpProfile; caps?: Partial<LinkCaps> } = {}) {
    this.link = new CaptureLink({ ...DEFAULT_LINK_CAPS, ...o.caps });
    this.stack = new Stack({ env: simEnv(o.seed ?? 1, this.clock), name: 'dut', tcp: { profile: o.profile ?? XNU_PROFILE } });
    this.stack.addInterface(this.link, { name: 'cap0', addrs: [IpCidr.of('198.18.0.2/24'), IpCidr.of('2001:db8::2/64')] });
  }

  get now(): number { return this.clock.now(); }
  get nowMs(): number { return this.clock.now() / 1000; }
  get stats(): TcpStats { return this.stack.tcp.stats; }

  /** Delivers an IPv4 packet (bytes) to the stack, as the link would. */
  injectBytes(bytes: Uint8Array): void {
    const m = mFromBytes(this.stack.pool, bytes, 0);
    if (m === null) throw new Error('pool exhausted');
    this.link.rx!.receiveBatch([m], 1, this.now);
  }

  /** Builds a segment from PEER:40000 to ME:80 (unless overridden) and injects it. */
  inject(s: SegSpec): void {
    this.injectBytes(buildSeg(s, this.ipId++));
  }

  /** Runs the stack up to `ms` later, firing every deadline on the way. */
  advance(ms: number): void {
    const target = this.now + Math.round(ms * 1000);
    for (let i = 0; i < 1_000_000; i++) {
      const next = this.stack.pollAt();
      if (next === null || next > target) break;
      this.clock.advanceTo(next);
      this.stack.poll(this.clock.now());
    }
    this.clock.advanceTo(target);
    this.stack.poll(this.now);
  }

  /** Runs pending work now (after API calls). */
  poll(): void { this.stack.poll(this.now); }

  /** Every TCP segment sent since the last take(), decoded. */
  take(): Out[] {
    const out: Out[] = [];
    const l = this.link;
    for (let i = 0; i < l.out.length; i++) {
      const o = decodeOut(l.out[i]!, this.nowMs, l.gso[i]!);
      if (o !== null) out.push(o);
    }
    l.out.length = 0;
    l.gso.length = 0;
    return out;
  }

  /** The single segment sent since the last take() (throws otherwise). */
  one(): Out {
    const o = this.take();
    if (o.length !== 1) throw new Error(`expected one segment, got ${o.length}: ${o.map(fmt).join(' | ')}`);
    return o[0]!;
  }
}

export const fmt = (o: Out): string =>
  `${o.sport}>${o.dport} [${flagText(o.flags)}] seq ${o.seq} ack ${o.ack} win ${o.win} len ${o.payload.length} opts [${o.optText}]`;

export function flagText(f: number): string {
  let s = '';
  if (f & TH.SYN) s += 'S';
  if (f & TH.FIN) s += 'F';
  if (f & TH.RST) s += 'R';
  if (f & TH.PSH) s += 'P';
  if (f & TH.URG) s += 'U';
  if (f & TH.ACK) s += '.';
  if (f & TH.ECE) s += 'E';
  if (f & TH.CWR) s += 'W';
  return s;
}

function decodeOut(b: Uint8Array, atMs: number, gsoSize: number): Out | null {
  if ((b[0]! >>> 4) !== 4 || b[9] !== 6) return null;
  const ihl = (b[0]! & 15) * 4;
  const total = get16(b, 2);
  const t = b.subarray(ihl, total);
  const hlen = (t[12]! >>> 4) * 4;
  const opts = t.slice(20, hlen);
  let tsval = -1, tsecr = -1;
  for (let i = 0; i < opts.length;) {
    const k = opts[i]!;
    if (k === 0) break;
    if (k === 1) { i++; continue; }
    const l = opts[i + 1] ?? 0;
    if (l < 2) break;
    if (k === 8 && l === 10) { tsval = get32(opts, i + 2); tsecr = get32(opts, i + 6); }
    i += l;
  }
  const ps = pseudoHeaderSum4(b, 12, b, 16, 6, t.length);
  const sum = internetChecksumWithSeed(t, ps);
  return {
    src: IpAddr.fromBytes(b, 12, 4).toString(), dst: IpAddr.fromBytes(b, 16, 4).toString(),
    sport: get16(t, 0), dport: get16(t, 2), seq: get32(t, 4), ack: get32(t, 8), flags: t[13]!, win: get16(t, 14),
    urp: get16(t, 18), hlen, opts, optText: prettyTcpOptions(opts, 0, opts.length), payload: t.slice(hlen),
    tsval, tsecr, atMs, gsoSize, csumOk: sum === 0, tos: b[1]!,
  };
}

function internetChecksumWithSeed(t: Uint8Array, seed: number): number {
  return l4Checksum(t, 0, t.length, seed);
}

/** Builds an IPv4 + TCP packet from PEER to ME. */
export function buildSeg(s: SegSpec, ident = 1): Uint8Array {
  const opts = s.opts ?? [];
  const optLen = (opts.length + 3) & ~3;
  const payload = s.payload ?? new Uint8Array(0);
  const hlen = 20 + optLen;
  const tlen = hlen + payload.length;
  const buf = new Uint8Array(20 + tlen);
  emitIpv4({
    src: PEER, dst: ME, protocol: 6, ttl: 64, tos: s.tos ?? 0, ident, dontFrag: true, moreFrags: false, fragOffset: 0,
    payloadLen: tlen,
  }, buf, 0);
  set16(buf, 10, 0);
  set16(buf, 10, internetChecksum(buf, 0, 20));
  const t = 20;
  set16(buf, t, s.sport ?? 40000);
  set16(buf, t + 2, s.dport ?? 80);
  set32(buf, t + 4, (s.seq ?? 0) >>> 0);
  set32(buf, t + 8, (s.ack ?? 0) >>> 0);
  buf[t + 12] = ((s.dataOffWords ?? hlen / 4) << 4) | (s.ae === true ? 1 : 0);
  buf[t + 13] = s.flags;
  set16(buf, t + 14, s.win ?? 65535);
  set16(buf, t + 18, s.urp ?? 0);
  for (let i = 0; i < opts.length; i++) buf[t + 20 + i] = opts[i]!;
  buf.set(payload, t + hlen);
  const ps = pseudoHeaderSum4(buf, 12, buf, 16, 6, tlen);
  let c = internetChecksumWithSeed(buf.subarray(t, t + tlen), ps);
  if (s.badSum) c ^= 0x1234;
  set16(buf, t + 16, c);
  return s.truncate !== undefined ? buf.subarray(0, s.truncate) : buf;
}

// ---- option builders (raw bytes) ----
export const optMss = (v: number): number[] => [2, 4, v >>> 8, v & 255];
export const optWs = (v: number): number[] => [1, 3, 3, v];
export const optSackOk = (): number[] => [4, 2];
export const optTs = (val: number, ecr: number): number[] =>
  [1, 1, 8, 10, (val >>> 24) & 255, (val >>> 16) & 255, (val >>> 8) & 255, val & 255,
    (ecr >>> 24) & 255, (ecr >>> 16) & 255, (ecr >>> 8) & 255, ecr & 255];
export function optSack(blocks: [number, number][]): number[] {
  const o = [1, 1, 5, 2 + 8 * blocks.length];
  for (const [l, r] of blocks) {
    for (const v of [l >>> 0, r >>> 0]) o.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  return o;
}

/** Unused-variable guard for helpers some tests import only for types. */
export type { Socket };
