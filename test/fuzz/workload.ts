// The legitimate traffic the fuzzer attacks: real clients on host a (tools/sim-tcp-client.ts,
// tools/sim-http-client.ts, the socket layer for UDP, the stack's echo client for pings) using the
// real services on host b (tools/services), several sessions at a time over IPv4 and IPv6: TCP
// echo, discard and chargen, HTTP GET /bytes/N and PUT /sha256, UDP echo and ping. Each session
// checks what it receives byte for byte and ends OK, failed with an errno, wrong, or timed out;
// its 4-tuple is recorded so the fuzzer's taints can be matched against it.

import { createHash } from 'node:crypto';
import type { SimWorld } from '../../tools/sim-world.js';
import { TcpClient } from '../../tools/sim-tcp-client.js';
import { HttpResponseReader, requestHead } from '../../tools/sim-http-client.js';
import { SERVICE_PORTS } from '../../tools/services/registry.js';
import type { Socket } from '../../stack/socket/socket.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { soclose } from '../../stack/socket/so-ops.js';
import { decodeSockaddr, encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, MSG_DONTWAIT, SOCK_DGRAM } from '../../stack/socket/constants.js';
import { errnoName, ETIMEDOUT } from '../../stack/errno.js';
import { tcpcbOf } from '../../stack/tcp/index.js';
import type { InPcb } from '../../stack/inpcb/in-pcb.js';
import type { EchoListener, EchoReply } from '../../stack/ip/ip-layer.js';
import type { Instant } from '../../stack/time/instant.js';
import type { FuzzRng } from './fuzz-rng.js';
import { ChargenChecker, ExpectedBytes, ModPatternChecker } from '../../tools/stream-checks.js';
import { tupleKey } from './packet-layout.js';
import { LEGIT_PING_IDENT } from './gen-icmp.js';
import { IPPROTO_TCP } from './wire-build.js';
import type { Family } from './wire-build.js';

export type SessionKind = 'echo' | 'discard' | 'chargen' | 'http-bytes' | 'http-sha256' | 'udp-echo' | 'ping';

export interface SessionResult {
  readonly kind: SessionKind;
  readonly family: Family;
  /** The 4-tuple key (packet-layout.ts), null when the socket never got one. */
  readonly key: string | null;
  readonly status: 'ok' | 'errno' | 'wrong' | 'timeout';
  /** The errno of an 'errno' result (0 otherwise). */
  readonly errno: number;
  readonly detail: string;
  readonly startUs: Instant;
  readonly endUs: Instant;
}

/** A session's time budget: longer than TCP's own give-up times (keepinit 75 s, ~9 min of retransmissions). */
const SESSION_BOUND_US = 900_000_000;

abstract class Session {
  result: SessionResult | null = null;
  key: string | null = null;
  readonly startUs: Instant;

  constructor(readonly kind: SessionKind, readonly family: Family, protected readonly world: SimWorld) {
    this.startUs = world.sim.now;
  }

  /** Drives the session; sets `result` once it has ended. */
  abstract step(now: Instant): void;

  /** Ends it now (the run is over or the bound passed). */
  abstract stop(now: Instant, why: string): void;

  protected finish(status: SessionResult['status'], errno: number, detail: string, now: Instant): void {
    if (this.result !== null) return;
    this.result = { kind: this.kind, family: this.family, key: this.key, status, errno, detail, startUs: this.startUs, endUs: now };
  }

  get deadline(): Instant { return this.startUs + SESSION_BOUND_US; }
}

function pcbKey(pcb: InPcb | null): string | null {
  if (pcb === null || pcb.lport === 0 || pcb.faddrAny) return null;
  return tupleKey(pcb.family, IPPROTO_TCP, pcb.laddr.bytes, pcb.lport, pcb.faddr.bytes, pcb.fport);
}

/** A TCP session over TcpClient: subclasses say what to send and what the answer must be. */
abstract class TcpSession extends Session {
  protected readonly c: TcpClient;

  constructor(kind: SessionKind, family: Family, world: SimWorld, port: number) {
    super(kind, family, world);
    this.c = TcpClient.connect(world.a, family, world.b, port, (d) => this.onData(d));
    this.key = pcbKey(tcpcbOf(this.c.so)?.t_inpcb ?? null);
  }

  protected abstract onData(d: Uint8Array): void;
  /** Sends what is due after `now`'s events. */
  protected abstract drive(): void;
  /** Null when everything received was right, else what was wrong. */
  protected abstract verdict(): string | null;

  step(now: Instant): void {
    if (this.result !== null) return;
    const c = this.c;
    if (c.failed) {
      const e = c.connectErrno !== null && c.connectErrno > 0 ? c.connectErrno : c.error;
      c.close(true);
      if (e > 0) this.finish('errno', e, c.describeFailure(), now);
      else this.finish('wrong', 0, c.describeFailure(), now);
      return;
    }
    if (c.connectErrno === 0) this.drive();
    if (c.eof) {
      c.close(false);
      const v = this.verdict();
      if (v === null) this.finish('ok', 0, `${c.received} bytes in, ${c.sent} out`, now);
      else this.finish('wrong', 0, v, now);
      return;
    }
    if (now >= this.deadline) this.stop(now, 'session bound passed');
  }

  stop(now: Instant, why: string): void {
    if (this.result !== null) return;
    this.c.close(true);
    this.finish('timeout', 0, `${why} (${this.c.received} bytes in, ${this.c.sent} out, ${this.c.describeFailure() || 'connected'})`, now);
  }
}

class EchoSession extends TcpSession {
  private readonly expect = new ExpectedBytes();
  private readonly msgs: Uint8Array[];
  private next = 0;
  private total = 0;

  constructor(world: SimWorld, family: Family, r: FuzzRng) {
    super('echo', family, world, SERVICE_PORTS.echo.tcp!);
    this.msgs = Array.from({ length: r.int(1, 8) }, () => r.bytes(r.int(1, 6000)));
  }

  protected onData(d: Uint8Array): void { this.expect.check(d); }

  protected drive(): void {
    // One message at a time: the next goes once the previous one is back.
    if (this.c.received < this.total) return;
    const m = this.msgs[this.next];
    if (m === undefined) { this.c.shutdownWhenSent(); return; }
    this.next++;
    this.total += m.length;
    this.expect.push(m);
    this.c.send(m);
  }

  protected verdict(): string | null {
    if (this.expect.mismatchAt >= 0) return `echoed byte ${this.expect.mismatchAt} differs`;
    if (this.next < this.msgs.length || this.c.received !== this.total) return `${this.c.received} of ${this.total} bytes echoed before EOF`;
    return null;
  }
}

class DiscardSession extends TcpSession {
  private started = false;
  private unexpected = 0;
  constructor(world: SimWorld, family: Family, private readonly r: FuzzRng) {
    super('discard', family, world, SERVICE_PORTS.discard.tcp!);
  }
  protected onData(d: Uint8Array): void { this.unexpected += d.length; }
  protected drive(): void {
    if (this.started) return;
    this.started = true;
    this.c.send(this.r.bytes(this.r.int(1, 300_000)));
    this.c.shutdownWhenSent();
  }
  protected verdict(): string | null {
    if (this.c.unsent > 0) return `EOF with ${this.c.unsent} bytes never sent`;
    return this.unexpected > 0 ? `the discard server sent ${this.unexpected} bytes` : null;
  }
}

class ChargenSession extends TcpSession {
  private readonly chk = new ChargenChecker();
  private readonly want: number;
  constructor(world: SimWorld, family: Family, r: FuzzRng) {
    super('chargen', family, world, SERVICE_PORTS.chargen.tcp!);
    this.want = r.int(1, 300_000);
  }
  protected onData(d: Uint8Array): void {
    this.chk.check(d);
    // Enough: our FIN, at once (chargen sends until the peer closes; with no delay on the path the
    // whole exchange can happen within one simulation step).
    if (this.c.received + d.length >= this.want) this.c.shutdownWhenSent();
  }
  protected drive(): void { /* everything happens in onData */ }
  protected verdict(): string | null {
    if (this.chk.mismatchAt >= 0) return `byte ${this.chk.mismatchAt} breaks the RFC 864 pattern`;
    return this.c.received < this.want ? `EOF after ${this.c.received} of ${this.want} bytes` : null;
  }
}

class HttpBytesSession extends TcpSession {
  private readonly reader = new HttpResponseReader();
  private readonly chk = new ModPatternChecker();
  private readonly n: number;
  private sent = false;
  constructor(world: SimWorld, family: Family, r: FuzzRng) {
    super('http-bytes', family, world, SERVICE_PORTS.http.tcp!);
    this.n = r.int(0, 300_000);
    this.reader.expect((b, off) => this.chk.check(b, off));
  }
  protected onData(d: Uint8Array): void { this.reader.feed(d); }
  protected drive(): void {
    if (this.sent) return;
    this.sent = true;
    this.c.send(requestHead('GET', `/bytes/${this.n}`, 'fuzz', true));
  }
  protected verdict(): string | null {
    const r = this.reader.responses[0];
    if (this.reader.error !== null) return `bad response: ${this.reader.error}`;
    if (r === undefined || !r.complete || this.reader.responses.length !== 1) return `${this.reader.completed} complete responses at EOF`;
    if (r.status !== 200 || r.contentLength !== this.n) return `status ${r.status}, Content-Length ${r.contentLength} for ${this.n}`;
    return this.chk.mismatchAt >= 0 ? `body byte ${this.chk.mismatchAt} is wrong` : null;
  }
}

class HttpShaSession extends TcpSession {
  private readonly reader = new HttpResponseReader();
  private readonly body: Uint8Array;
  private readonly want: string;
  private answer = '';
  private sent = false;
  constructor(world: SimWorld, family: Family, r: FuzzRng) {
    super('http-sha256', family, world, SERVICE_PORTS.http.tcp!);
    this.body = r.bytes(r.int(0, 200_000));
    this.want = createHash('sha256').update(this.body).digest('hex');
    this.reader.expect((b) => { this.answer += new TextDecoder('latin1').decode(b); });
  }
  protected onData(d: Uint8Array): void { this.reader.feed(d); }
  protected drive(): void {
    if (this.sent) return;
    this.sent = true;
    this.c.send(requestHead('PUT', '/sha256', 'fuzz', true, { 'Content-Length': String(this.body.length) }));
    this.c.send(this.body);
  }
  protected verdict(): string | null {
    const r = this.reader.responses[0];
    if (this.reader.error !== null) return `bad response: ${this.reader.error}`;
    if (r === undefined || !r.complete || r.status !== 200) return `no complete 200 response at EOF (${this.reader.completed} complete)`;
    return this.answer === `${this.want}\n` ? null : `answered ${JSON.stringify(this.answer.slice(0, 70))}, expected ${this.want}`;
  }
}

/** UDP echo: numbered datagrams (some larger than the MTU: fragmented) to the echo service. */
class UdpEchoSession extends Session implements SocketListener {
  private readonly so: Socket;
  private readonly sent: Uint8Array[] = [];
  private readonly answered = new Set<number>();
  private wrong = 0;
  private readonly count: number;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private nextAt: Instant;
  /** Datagrams from anyone but the echo service (the fuzzer's). */
  private strays = 0;

  constructor(world: SimWorld, family: Family, private readonly r: FuzzRng) {
    super('udp-echo', family, world);
    this.msg.name = new Uint8Array(28);
    const s = world.a.stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    if (!s.ok) throw new Error(`UDP socket: errno ${s.error}`);
    this.so = s.value;
    this.so.setListener(this);
    this.count = r.int(2, 8);
    this.nextAt = world.sim.now;
  }

  onSocketEvent(so: Socket, events: number): void {
    if ((events & Ev.In) === 0) return;
    const now = this.world.sim.now;
    for (let i = 0; i < 256; i++) {
      if (soreceive(so, [this.buf], MSG_DONTWAIT, this.msg, now) !== 0) break;
      // An unconnected socket takes datagrams from anyone: only the echo service's answers count.
      const from = decodeSockaddr(this.msg.name!.subarray(0, this.msg.nameLen));
      const peer = this.family === 4 ? this.world.b.v4 : this.world.b.v6;
      if (!from.ok || from.value.port !== SERVICE_PORTS.echo.udp! || !from.value.addr.equals(peer)) { this.strays++; continue; }
      const n = this.msg.len >= 4 ? (this.buf[0]! << 8) | this.buf[1]! : -1;
      const want = this.sent[n];
      if (want === undefined || want.length !== this.msg.len || want.some((x, j) => x !== this.buf[j])) this.wrong++;
      else this.answered.add(n);
    }
  }

  step(now: Instant): void {
    if (this.result !== null) return;
    if (this.sent.length < this.count && now >= this.nextAt) {
      const n = this.sent.length;
      const p = this.r.bytes(this.r.chance(0.2) ? this.r.int(1500, 3000) : this.r.int(4, 1000));
      p[0] = n >>> 8; p[1] = n & 0xff;
      this.sent.push(p);
      const to = encodeSockaddr({ addr: this.family === 4 ? this.world.b.v4 : this.world.b.v6, port: SERVICE_PORTS.echo.udp! });
      const e = sosend(this.so, to, [p], null, null, 0, now, { value: 0 });
      if (e !== 0) { this.finish('errno', e, `sendto: ${errnoName(e)}`, now); this.close(now); return; }
      const pcb = this.so.so_pcb as InPcb | null;
      if (this.key === null && pcb !== null) {
        const b = this.family === 4 ? this.world.b.v4 : this.world.b.v6;
        this.key = tupleKey(this.family, IPPROTO_UDP, b.bytes, SERVICE_PORTS.echo.udp!, (this.family === 4 ? this.world.a.v4 : this.world.a.v6).bytes, pcb.lport);
      }
      this.nextAt = now + 20_000;
    }
    if (this.answered.size === this.count || (this.sent.length === this.count && now >= this.nextAt + 2_000_000)) this.stop(now, 'done');
  }

  stop(now: Instant, _why: string): void {
    if (this.result !== null) return;
    // Datagrams may be lost to the impairments; a wrong answer may not.
    if (this.wrong > 0) this.finish('wrong', 0, `${this.wrong} wrong echoes`, now);
    else this.finish('ok', 0, `${this.answered.size} of ${this.sent.length} echoed, ${this.strays} strays`, now);
    this.close(now);
  }

  private close(now: Instant): void { soclose(this.so, now); }
}

/** Pings b from a (the stack's echo client); replies must carry exactly the bytes sent. */
class PingSession extends Session implements EchoListener {
  private readonly ident: number;
  private readonly payloads: Uint8Array[] = [];
  private readonly answered = new Set<number>();
  private wrong = 0;
  private nextAt: Instant;

  constructor(world: SimWorld, family: Family, private readonly r: FuzzRng, seq: number) {
    super('ping', family, world);
    this.ident = LEGIT_PING_IDENT | (seq & 0xff);
    this.nextAt = world.sim.now;
    world.a.stack.ip.setEchoListener(this);
  }

  onEchoReply(reply: EchoReply): void {
    if (reply.ident !== this.ident || !reply.src.equals(this.family === 4 ? this.world.b.v4 : this.world.b.v6)) return;
    const want = this.payloads[reply.seq];
    if (want === undefined || want.length !== reply.payload.length || want.some((x, j) => x !== reply.payload[j])) this.wrong++;
    else this.answered.add(reply.seq);
  }

  step(now: Instant): void {
    if (this.result !== null) return;
    if (this.payloads.length < 4 && now >= this.nextAt) {
      const p = this.r.bytes(this.r.chance(0.2) ? this.r.int(1500, 4000) : this.r.int(0, 200));
      this.payloads.push(p);
      this.world.a.stack.ip.sendEcho(this.family === 4 ? this.world.b.v4 : this.world.b.v6, this.ident, this.payloads.length - 1, p, now);
      this.world.a.stack.requestWork();
      this.nextAt = now + 50_000;
    }
    if (this.answered.size === 4 || (this.payloads.length === 4 && now >= this.nextAt + 2_000_000)) this.stop(now, 'done');
  }

  stop(now: Instant, _why: string): void {
    if (this.result !== null) return;
    this.world.a.stack.ip.setEchoListener(null);
    if (this.wrong > 0) this.finish('wrong', 0, `${this.wrong} wrong echo replies`, now);
    else this.finish('ok', 0, `${this.answered.size} of ${this.payloads.length} answered`, now);
  }
}

/** Keeps `concurrency` sessions running from a to b; collects their results. */
export class Workload {
  readonly results: SessionResult[] = [];
  private readonly live: Session[] = [];
  private pings = 0;

  constructor(private readonly world: SimWorld, private readonly r: FuzzRng, private readonly concurrency: number) {}

  get running(): number { return this.live.length; }

  /** Drives every live session, collects finished ones and, if `refill`, starts new ones. */
  step(now: Instant, refill: boolean): void {
    for (let i = 0; i < this.live.length; i++) {
      const s = this.live[i]!;
      s.step(now);
      if (s.result !== null) {
        this.results.push(s.result);
        this.live.splice(i--, 1);
      }
    }
    while (refill && this.live.length < this.concurrency) this.live.push(this.start());
  }

  /** Ends every live session now. */
  stopAll(now: Instant, why: string): void {
    for (const s of this.live) {
      s.stop(now, why);
      if (s.result !== null) this.results.push(s.result);
    }
    this.live.length = 0;
  }

  private start(): Session {
    const r = this.r, w = this.world;
    const family: Family = r.chance(0.5) ? 4 : 6;
    const pingLive = this.live.some((s) => s.kind === 'ping');
    const kind = r.weighted<SessionKind>([
      [18, 'echo'], [16, 'discard'], [16, 'chargen'], [18, 'http-bytes'], [16, 'http-sha256'], [10, 'udp-echo'], [pingLive ? 0 : 6, 'ping'],
    ]);
    switch (kind) {
      case 'echo': return new EchoSession(w, family, r);
      case 'discard': return new DiscardSession(w, family, r);
      case 'chargen': return new ChargenSession(w, family, r);
      case 'http-bytes': return new HttpBytesSession(w, family, r);
      case 'http-sha256': return new HttpShaSession(w, family, r);
      case 'udp-echo': return new UdpEchoSession(w, family, r);
      case 'ping': return new PingSession(w, family, r, this.pings++);
    }
  }
}

/** Errnos a session whose 4-tuple the fuzzer never touched may still end with: giving up on a congested or flooded peer. */
export const UNTOUCHED_OK_ERRNOS: readonly number[] = [ETIMEDOUT];

