// Test doubles and builders for socket/UDP unit tests: a StackContext whose "end of entry point"
// the test triggers, a fake IpOutput that captures datagrams, and hand-built IPv4/IPv6 UDP
// packets with a filled IpInputInfo (checksums computed here independently of stack code).

import type { Deferred, StackContext } from '../../stack/context.js';
import { simEnv } from '../../stack/env.js';
import type { Env } from '../../stack/env.js';
import { MbufPool, mFreem } from '../../stack/mbuf/pool.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/chain.js';
import { TimerQueue } from '../../stack/time/timers.js';
import type { IpInputInfo, IpOutput, IpOutputParams } from '../../stack/ip/protocol.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { SocketLayer } from '../../stack/socket/socket-layer.js';
import type { Socket } from '../../stack/socket/socket.js';
import { Udp } from '../../stack/udp/udp.js';
import type { UdpOptions } from '../../stack/udp/udp.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, SOCK_DGRAM } from '../../stack/socket/constants.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';

export class TestCtx implements StackContext {
  readonly env: Env;
  readonly pool = new MbufPool();
  readonly timers = new TimerQueue();
  readonly deferred: Deferred[] = [];
  workRequests = 0;
  constructor(seed = 1) {
    this.env = simEnv(seed);
  }
  addDeferred(d: Deferred): void { this.deferred.push(d); }
  requestWork(): void { this.workRequests++; }
  /** What the stack does at the end of an entry point: runs every Deferred once. */
  endOfEntry(now = 0): void {
    for (const d of this.deferred) if (d.hasDeferred()) d.runDeferred(now);
  }
}

export interface SentDatagram {
  bytes: Uint8Array;
  p: IpOutputParams;
  chainLength: number;
}

export class FakeIp implements IpOutput {
  readonly sent: SentDatagram[] = [];
  readonly icmp: { kind: string; bytes: Uint8Array }[] = [];
  local: IpAddr[] = [IpAddr.of('198.18.0.2'), IpAddr.of('2001:db8::2'), IpAddr.of('fe80::2')];
  broadcast: IpAddr[] = [IpAddr.of('198.18.0.255')];
  src4: IpAddr | null = IpAddr.of('198.18.0.2');
  src6: IpAddr | null = IpAddr.of('2001:db8::2');
  /** Next output result (0 = accept). */
  nextError = 0;
  output(m: Mbuf, p: IpOutputParams, _now: number): number {
    if (this.nextError !== 0) {
      const e = this.nextError;
      this.nextError = 0;
      mFreem(m);
      return e;
    }
    let n = 0;
    for (let x: Mbuf | null = m; x !== null; x = x.next) n++;
    this.sent.push({ bytes: mToBytes(m), p: { ...p }, chainLength: n });
    mFreem(m);
    return 0;
  }
  selectSource(dst: IpAddr): IpAddr | null { return dst.family === 4 ? this.src4 : this.src6; }
  isLocalAddress(a: IpAddr): boolean { return this.local.some((x) => x.equals(a)); }
  isBroadcast(a: IpAddr): boolean { return a.isLimitedBroadcast || this.broadcast.some((x) => x.equals(a)); }
  pathMtu(): number { return 1500; }
  linkCaps(): null { return null; }
  sendIcmpError(m: Mbuf, _info: IpInputInfo, kind: 'port-unreach' | 'proto-unreach'): void {
    this.icmp.push({ kind, bytes: mToBytes(m) });
    mFreem(m);
  }
}

export interface Harness {
  ctx: TestCtx;
  ip: FakeIp;
  layer: SocketLayer;
  udp: Udp;
}

export function setup(seed = 1, opts: UdpOptions = {}): Harness {
  const ctx = new TestCtx(seed);
  const ip = new FakeIp();
  const layer = new SocketLayer(ctx);
  const udp = new Udp(ctx, layer, ip, opts);
  return { ctx, ip, layer, udp };
}

/** A UDP socket (throws on failure: tests only). */
export function udpSocket(h: Harness, af = AF_INET): Socket {
  const r = h.layer.socreate(af, SOCK_DGRAM, IPPROTO_UDP);
  if (!r.ok) throw new Error(`socreate failed: ${r.error}`);
  return r.value;
}

/** "1.2.3.4:53" or "[2001:db8::1]:53" → Darwin sockaddr bytes. */
export function sa(text: string, scopeId = 0): Uint8Array {
  const m = /^\[(.*)\]:(\d+)$/.exec(text) ?? /^([^:]*):(\d+)$/.exec(text);
  if (m === null) throw new Error(`bad address ${text}`);
  return encodeSockaddr({ addr: IpAddr.of(m[1]!), port: Number(m[2]), scopeId });
}

export function send(so: Socket, data: Uint8Array, to: string | null = null, flags = 0): number {
  const box = { value: 0 };
  return sosend(so, to === null ? null : sa(to), [data], null, null, flags, 0, box);
}

export interface Received { e: number; data: Uint8Array; msg: SoRecvMsg }

export function recv(so: Socket, size = 65536, flags = 0): Received {
  const buf = new Uint8Array(size);
  const msg = new SoRecvMsg();
  msg.name = new Uint8Array(28);
  const e = soreceive(so, [buf], flags, msg, 0);
  return { e, data: buf.subarray(0, msg.len), msg };
}

// ---- checksums, computed naively (independent of stack/udp/udp-checksum.ts) ----

export function onesSum(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function pseudo(src: IpAddr, dst: IpAddr, len: number): Uint8Array {
  if (src.family === 4) {
    const p = new Uint8Array(12);
    p.set(src.bytes, 0); p.set(dst.bytes, 4); p[9] = 17; p[10] = len >> 8; p[11] = len & 0xff;
    return p;
  }
  const p = new Uint8Array(40);
  p.set(src.bytes, 0); p.set(dst.bytes, 16); p[34] = len >> 8; p[35] = len & 0xff; p[39] = 17;
  return p;
}

/** True when the UDP segment's checksum verifies against the pseudo-header. */
export function checksumOk(src: IpAddr, dst: IpAddr, segment: Uint8Array): boolean {
  const all = new Uint8Array(pseudo(src, dst, segment.length).length + segment.length);
  all.set(pseudo(src, dst, segment.length), 0);
  all.set(segment, all.length - segment.length);
  return onesSum(all) === 0xffff;
}

export interface PacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
  /** 'good' (default), 'zero' (no checksum) or 'bad'. */
  sum?: 'good' | 'zero' | 'bad';
  /** Overrides the UDP length field. */
  ulen?: number;
  /** Extra bytes after the datagram inside the IP payload (IP length includes them). */
  trailer?: number;
  bcast?: boolean;
  ifindex?: number;
  /** Payload placed in a second mbuf (chain) instead of contiguous with the headers. */
  split?: boolean;
}

/** Builds [IP header][UDP header][payload] and the IpInputInfo IP would hand to UDP. */
export function packet(pool: MbufPool, spec: PacketSpec): { m: Mbuf; info: IpInputInfo } {
  const src = IpAddr.of(spec.src);
  const dst = IpAddr.of(spec.dst);
  const v4 = src.family === 4;
  const hlen = v4 ? 20 : 40;
  const trailer = spec.trailer ?? 0;
  const l4Len = 8 + spec.payload.length + trailer;
  const ulen = spec.ulen ?? 8 + spec.payload.length;
  const seg = new Uint8Array(l4Len);
  seg[0] = spec.sport >> 8; seg[1] = spec.sport & 0xff;
  seg[2] = spec.dport >> 8; seg[3] = spec.dport & 0xff;
  seg[4] = ulen >> 8; seg[5] = ulen & 0xff;
  seg.set(spec.payload, 8);
  const sumLen = Math.min(ulen, l4Len);
  if ((spec.sum ?? 'good') !== 'zero') {
    const cov = new Uint8Array(sumLen);
    cov.set(seg.subarray(0, sumLen));
    const ps = pseudo(src, dst, sumLen);
    const all = new Uint8Array(ps.length + cov.length);
    all.set(ps); all.set(cov, ps.length);
    let c = ~onesSum(all) & 0xffff;
    if (c === 0) c = 0xffff;
    if (spec.sum === 'bad') c ^= 0x5a5a;
    seg[6] = c >> 8; seg[7] = c & 0xff;
  }
  const ipb = new Uint8Array(hlen + l4Len);
  if (v4) {
    ipb[0] = 0x45; ipb[2] = (hlen + l4Len) >> 8; ipb[3] = (hlen + l4Len) & 0xff; ipb[8] = 64; ipb[9] = 17;
    ipb.set(src.bytes, 12); ipb.set(dst.bytes, 16);
  } else {
    ipb[0] = 0x60; ipb[4] = l4Len >> 8; ipb[5] = l4Len & 0xff; ipb[6] = 17; ipb[7] = 64;
    ipb.set(src.bytes, 8); ipb.set(dst.bytes, 24);
  }
  ipb.set(seg, hlen);
  let m: Mbuf;
  if (spec.split === true && spec.payload.length > 0) {
    m = mFromBytes(pool, ipb.subarray(0, hlen + 8), 16)!;
    const tail = mFromBytes(pool, ipb.subarray(hlen + 8), 0)!;
    tail.clearPkthdr();
    m.next = tail;
    m.pktLen = ipb.length;
  } else {
    m = mFromBytes(pool, ipb, 16)!;
  }
  // Pseudo-header sum as IP computes it: addresses, protocol, IP payload length.
  const ps = pseudo(src, dst, l4Len);
  let psum = 0;
  for (let i = 0; i < ps.length; i += 2) psum += (ps[i]! << 8) | ps[i + 1]!;
  const info: IpInputInfo = {
    family: v4 ? 4 : 6,
    srcOff: m.data + (v4 ? 12 : 8),
    dstOff: m.data + (v4 ? 16 : 24),
    l4Off: hlen,
    l4Len,
    ifindex: spec.ifindex ?? 1,
    pseudoSum: psum,
    dstIsBroadcastOrMulticast: spec.bcast ?? (dst.isMulticast || dst.isLimitedBroadcast),
    ttlOrHopLimit: 64,
    tos: 0,
  };
  return { m, info };
}

/** Builds and delivers a datagram to udp.input. */
export function inject(h: Harness, spec: PacketSpec, now = 0): void {
  const { m, info } = packet(h.ctx.pool, spec);
  h.udp.input(m, info, now);
}

/** Decodes a captured UDP datagram (header + payload as handed to IP). */
export function parseUdp(bytes: Uint8Array): { sport: number; dport: number; ulen: number; sum: number; payload: Uint8Array } {
  return {
    sport: (bytes[0]! << 8) | bytes[1]!,
    dport: (bytes[2]! << 8) | bytes[3]!,
    ulen: (bytes[4]! << 8) | bytes[5]!,
    sum: (bytes[6]! << 8) | bytes[7]!,
    payload: bytes.subarray(8),
  };
}

export const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);
export const fill = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
export { AF_INET, AF_INET6 };
