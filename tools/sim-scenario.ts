// The standard exchange between the two hosts of a SimWorld: pings and UDP echoes in both
// directions over IPv4 and IPv6. Used by `tunstack sim`, `npm start` without root, and test/sim.

import type { SimHost, SimWorld } from './sim-world.js';
import { UdpEchoService } from './services/udp-echo.js';
import type { Socket } from '../stack/socket/socket.js';
import type { SocketListener } from '../stack/socket/socket-events.js';
import { Ev } from '../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../stack/socket/so-receive.js';
import { sosend } from '../stack/socket/so-send.js';
import { soclose } from '../stack/socket/so-ops.js';
import { encodeSockaddr } from '../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, MSG_DONTWAIT, SOCK_DGRAM } from '../stack/socket/constants.js';
import type { EchoListener, EchoReply } from '../stack/ip/ip-layer.js';
import type { IpAddr, IpFamily } from '../stack/wire/ip-addr.js';
import type { Instant } from '../stack/time/instant.js';

export interface ExchangeOptions {
  /** Messages per direction and family. */
  readonly count: number;
  /** Payload bytes of each ping and datagram (larger than the MTU means fragments). */
  readonly size: number;
  /** Virtual time between messages. */
  readonly intervalMs: number;
  /** How long to wait for stragglers after the last message. */
  readonly graceMs: number;
  readonly udpPort?: number;
}

export interface FlowResult {
  readonly kind: 'ping' | 'udp';
  readonly family: IpFamily;
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  /** Distinct messages answered with exactly the bytes sent. */
  readonly answered: number;
  /** Answers whose bytes differed from what was sent (must stay 0: corruption is caught by checksums). */
  readonly mismatched: number;
  /** Answers for a message already answered (duplication). */
  readonly duplicates: number;
  /** Round-trip times in virtual milliseconds, of the first answer to each message. */
  readonly rttMs: number[];
}

/** Smallest payload: the message number takes the first four bytes. */
export const MIN_PAYLOAD = 4;

/** A payload that identifies its message: n as a big-endian uint32, then (n * 31 + i) & 0xff. */
export function payloadFor(n: number, size: number): Uint8Array {
  const p = new Uint8Array(Math.max(size, MIN_PAYLOAD));
  p[0] = n >>> 24; p[1] = (n >>> 16) & 0xff; p[2] = (n >>> 8) & 0xff; p[3] = n & 0xff;
  for (let i = MIN_PAYLOAD; i < p.length; i++) p[i] = (n * 31 + i) & 0xff;
  return p;
}

const numberOf = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Collects answers to numbered messages and checks their bytes. */
class AnswerBook {
  readonly sentAt = new Map<number, Instant>();
  readonly answered = new Set<number>();
  mismatched = 0;
  duplicates = 0;
  readonly rttMs: number[] = [];
  constructor(private readonly size: number) {}
  answer(n: number, bytes: Uint8Array, now: Instant): void {
    const t = this.sentAt.get(n);
    if (t === undefined || !sameBytes(bytes, payloadFor(n, this.size))) {
      this.mismatched++;
      return;
    }
    if (this.answered.has(n)) {
      this.duplicates++;
      return;
    }
    this.answered.add(n);
    this.rttMs.push((now - t) / 1000);
  }
}

class PingFlow implements EchoListener {
  readonly book: AnswerBook;
  constructor(readonly ident: number, size: number) {
    this.book = new AnswerBook(size);
  }
  onEchoReply(r: EchoReply, now: Instant): void {
    if (r.ident === this.ident) this.book.answer(r.seq, r.payload, now);
  }
}

class UdpClient implements SocketListener {
  readonly book: AnswerBook;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  constructor(private readonly host: SimHost, readonly so: Socket, size: number) {
    this.book = new AnswerBook(size);
  }
  onSocketEvent(so: Socket, events: number): void {
    if ((events & Ev.In) === 0) return;
    const now = this.host.stack.env.clock.now();
    for (let i = 0; i < 256; i++) {
      if (soreceive(so, [this.buf], MSG_DONTWAIT, this.msg, now) !== 0) break;
      const n = this.msg.len >= MIN_PAYLOAD ? numberOf(this.buf) : -1;
      this.book.answer(n, this.buf.slice(0, this.msg.len), now);
    }
  }
}

function attachPing(host: SimHost, ident: number, size: number): PingFlow {
  const flow = new PingFlow(ident, size);
  host.stack.ip.setEchoListener(flow);
  return flow;
}

/**
 * Runs pings and UDP echoes a→b and b→a over IPv4 and IPv6, one flow at a time, and returns what
 * each flow saw. Virtual time only; the result depends on nothing but the world's seed.
 */
export function runExchange(world: SimWorld, o: ExchangeOptions): FlowResult[] {
  const port = o.udpPort ?? 7;
  const results: FlowResult[] = [];
  const echo: UdpEchoService[] = [];
  for (const h of [world.a, world.b]) {
    for (const fam of [4, 6] as const) {
      const s = UdpEchoService.open(h.stack, fam, port);
      if (typeof s === 'number') throw new Error(`echo service on ${h.name} failed: errno ${s}`);
      echo.push(s);
    }
  }
  let ident = 0x7700;
  for (const [from, to] of [[world.a, world.b], [world.b, world.a]] as const) {
    for (const family of [4, 6] as const) {
      results.push(runPing(world, from, to, family, ident++, o));
      results.push(runUdp(world, from, to, family, port, o));
    }
  }
  for (const s of echo) s.close();
  world.sim.runFor(1);
  return results;
}

function addrOf(h: SimHost, family: IpFamily): IpAddr { return family === 4 ? h.v4 : h.v6; }

/** `o.count` pings of `o.size` bytes from → to, `o.intervalMs` apart, then up to `o.graceMs` for the answers. */
export function runPing(world: SimWorld, from: SimHost, to: SimHost, family: IpFamily, ident: number, o: ExchangeOptions): FlowResult {
  const flow = attachPing(from, ident, o.size);
  const dst = addrOf(to, family);
  for (let n = 0; n < o.count; n++) {
    const now = world.sim.now;
    flow.book.sentAt.set(n, now);
    from.stack.ip.sendEcho(dst, ident, n, payloadFor(n, o.size), now);
    from.stack.requestWork();
    world.sim.runFor(o.intervalMs);
  }
  world.sim.runUntil(() => flow.book.answered.size === o.count, o.graceMs);
  world.sim.runFor(o.graceMs / 4); // let duplicates show up
  from.stack.ip.setEchoListener(null);
  return summary('ping', family, from, to, o.count, flow.book);
}

/** `o.count` datagrams from → to's UDP echo service on `port`, like runPing (also used against the registry's echo service). */
export function runUdp(world: SimWorld, from: SimHost, to: SimHost, family: IpFamily, port: number, o: ExchangeOptions): FlowResult {
  const r = from.stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  if (!r.ok) throw new Error(`socket on ${from.name}: errno ${r.error}`);
  const client = new UdpClient(from, r.value, o.size);
  r.value.setListener(client);
  const dst = encodeSockaddr({ addr: addrOf(to, family), port });
  const sent = { value: 0 };
  for (let n = 0; n < o.count; n++) {
    const now = world.sim.now;
    client.book.sentAt.set(n, now);
    const e = sosend(r.value, dst, [payloadFor(n, o.size)], null, null, 0, now, sent);
    if (e !== 0) throw new Error(`sendto from ${from.name}: errno ${e}`);
    world.sim.runFor(o.intervalMs);
  }
  world.sim.runUntil(() => client.book.answered.size === o.count, o.graceMs);
  world.sim.runFor(o.graceMs / 4);
  soclose(r.value, world.sim.now);
  return summary('udp', family, from, to, o.count, client.book);
}

function summary(kind: 'ping' | 'udp', family: IpFamily, from: SimHost, to: SimHost, sent: number, b: AnswerBook): FlowResult {
  return {
    kind, family, from: from.name, to: to.name, sent,
    answered: b.answered.size, mismatched: b.mismatched, duplicates: b.duplicates, rttMs: b.rttMs,
  };
}
