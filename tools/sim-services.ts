// The service checks of `tunstack sim`: host b runs the services of `tunstack up` (the registry in
// tools/services, not copies of them) and host a, as their client, exercises each one over IPv4
// and IPv6 through the socket layer, one check at a time, in virtual time:
//   ping            the stack's ICMP echo                 udp-echo     datagrams echoed byte-exact
//   udp-discard     datagrams counted by the server       tcp-echo     messages echoed byte-exact, then FIN both ways
//   tcp-discard     N bytes, our FIN, the server's FIN    tcp-chargen  K bytes of the RFC 864 pattern, our FIN, its FIN
//   http-get        GET / is 200 with the HTML page       http-bytes   GET /bytes/N, byte i = i mod 251
//   http-sha256     PUT /sha256 answers the body's hash   http-keepalive two requests on one connection
// Each check yields one CheckResult: OK or FAIL, the bytes it moved, its virtual start and end.

import { createHash } from 'node:crypto';
import type { SimHost, SimWorld } from './sim-world.js';
import { MIN_PAYLOAD, payloadFor, runPing, runUdp } from './sim-scenario.js';
import type { ExchangeOptions, FlowResult } from './sim-scenario.js';
import { TcpClient } from './sim-tcp-client.js';
import { HttpResponseReader, requestHead } from './sim-http-client.js';
import { SERVICE_NAMES, SERVICE_PORTS, ServiceSet } from './services/registry.js';
import type { ServiceName } from './services/registry.js';
import type { TcpConnection } from './services/tcp-server.js';
import { TcpDiscardConnection } from './services/tcp-discard.js';
import { TcpChargenConnection } from './services/tcp-chargen.js';
import { HttpConnection } from './services/http-service.js';
import { UdpDiscardService } from './services/udp-discard.js';
import { sosend } from '../stack/socket/so-send.js';
import { sogetsockname, soclose } from '../stack/socket/so-ops.js';
import { decodeSockaddr, encodeSockaddr } from '../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6, IPPROTO_UDP, SOCK_DGRAM } from '../stack/socket/constants.js';
import type { Stack } from '../stack/stack.js';
import type { IpFamily } from '../stack/wire/ip-addr.js';
import type { Instant } from '../stack/time/instant.js';
import { ChargenChecker, ExpectedBytes, ModPatternChecker, PATTERN_MOD } from './stream-checks.js';

export const CHECK_NAMES = [
  'ping', 'udp-echo', 'udp-discard', 'tcp-echo', 'tcp-discard', 'tcp-chargen',
  'http-get', 'http-bytes', 'http-sha256', 'http-keepalive',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface ServiceCheckOptions {
  /** Pings, datagrams and TCP echo messages per check. */
  readonly count: number;
  /** Bytes of each ping, datagram and TCP echo message. */
  readonly size: number;
  /** Virtual time between pings and datagrams. */
  readonly intervalMs: number;
  /** How long to wait for answers to pings and datagrams after the last one. */
  readonly graceMs: number;
  /** Bytes sent to TCP discard and read from TCP chargen. */
  readonly tcpBytes: number;
  /** Body bytes of GET /bytes/N and PUT /sha256. */
  readonly httpBytes: number;
  /** Virtual-time bound of one TCP check (connect to close). */
  readonly boundMs: number;
  /** Services host b runs (default: all); a check of a service not running fails. */
  readonly serve?: readonly ServiceName[];
}

export interface CheckResult {
  readonly name: CheckName;
  readonly family: IpFamily;
  readonly ok: boolean;
  /** Payload bytes the check moved and verified (see each check). */
  readonly bytes: number;
  readonly startUs: Instant;
  readonly endUs: Instant;
  /** What was seen, or why it failed. */
  readonly detail: string;
}

export interface ServiceRun {
  readonly checks: CheckResult[];
  /** What host b ran, as "echo tcp/7" entries. */
  readonly running: string[];
  /** Times a service connection stopped after a bounded pass and was called again (TcpServer.continuations). */
  readonly continuations: number;
}

/**
 * Starts the services on host b, runs every check from host a (each over IPv4, then IPv6), closes
 * the services. Virtual time only: the result depends on nothing but the world's seed.
 */
export function runServiceChecks(world: SimWorld, o: ServiceCheckOptions): ServiceRun {
  const services = ServiceSet.start(world.b.stack, o.serve ?? SERVICE_NAMES);
  const running = services.running.map((r) => `${r.name} ${r.proto}/${r.port}`);
  const runner = new CheckRunner(world, services, o);
  const checks: CheckResult[] = [];
  for (const name of CHECK_NAMES) {
    for (const family of [4, 6] as const) checks.push(runner.run(name, family));
  }
  const continuations = services.tcpServers.reduce((n, s) => n + s.continuations, 0);
  services.close();
  world.sim.runFor(100); // the closing FINs go out
  return { checks, running, continuations };
}

type Outcome = { ok: boolean; bytes: number; detail: string };

const fail = (bytes: number, detail: string): Outcome => ({ ok: false, bytes, detail });
const latin1 = new TextDecoder('latin1');
const HTTP_PORT = SERVICE_PORTS.http.tcp!;
/** Body of the second keep-alive request: GET /bytes/KEEPALIVE_BYTES. */
const KEEPALIVE_BYTES = 1000;

class CheckRunner {
  private readonly a: SimHost;
  private readonly b: SimHost;
  private ident = 0x7800;

  constructor(private readonly world: SimWorld, private readonly services: ServiceSet, private readonly o: ServiceCheckOptions) {
    this.a = world.a;
    this.b = world.b;
  }

  run(name: CheckName, family: IpFamily): CheckResult {
    const startUs = this.world.sim.now;
    const r = this.outcome(name, family, startUs + this.o.boundMs * 1000);
    return { name, family, ok: r.ok, bytes: r.bytes, startUs, endUs: this.world.sim.now, detail: r.detail };
  }

  private outcome(name: CheckName, family: IpFamily, deadline: Instant): Outcome {
    switch (name) {
      case 'ping': return this.ping(family);
      case 'udp-echo': return this.udpEcho(family);
      case 'udp-discard': return this.udpDiscard(family);
      case 'tcp-echo': return this.tcpEcho(family, deadline);
      case 'tcp-discard': return this.tcpDiscard(family, deadline);
      case 'tcp-chargen': return this.tcpChargen(family, deadline);
      case 'http-get': return this.httpGet(family, deadline);
      case 'http-bytes': return this.httpBytes(family, deadline);
      case 'http-sha256': return this.httpSha256(family, deadline);
      case 'http-keepalive': return this.httpKeepAlive(family, deadline);
    }
  }

  private get exchange(): ExchangeOptions {
    const o = this.o;
    return { count: o.count, size: o.size, intervalMs: o.intervalMs, graceMs: o.graceMs };
  }

  /** Runs the simulation until `pred` holds or the deadline passes; returns whether it held. */
  private wait(pred: () => boolean, deadline: Instant): boolean {
    const sim = this.world.sim;
    return sim.runUntil(pred, Math.max(0, (deadline - sim.now) / 1000));
  }

  // ---- datagrams ----

  private ping(family: IpFamily): Outcome {
    const r = runPing(this.world, this.a, this.b, family, this.ident++, this.exchange);
    return answered(r, this.o.size, 'pings answered');
  }

  private udpEcho(family: IpFamily): Outcome {
    const r = runUdp(this.world, this.a, this.b, family, SERVICE_PORTS.echo.udp!, this.exchange);
    return answered(r, this.o.size, 'datagrams echoed');
  }

  private udpDiscard(family: IpFamily): Outcome {
    const { sim } = this.world;
    const o = this.o;
    const svc = findUdpService(this.b.stack, family, SERVICE_PORTS.discard.udp!);
    const before = svc === null ? 0 : svc.discarded;
    const beforeBytes = svc === null ? 0 : svc.bytes;
    const r = this.a.stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    if (!r.ok) throw new Error(`socket on ${this.a.name}: errno ${r.error}`);
    const dst = encodeSockaddr({ addr: family === 4 ? this.b.v4 : this.b.v6, port: SERVICE_PORTS.discard.udp! });
    const sent = { value: 0 };
    let bytesSent = 0;
    for (let n = 0; n < o.count; n++) {
      const e = sosend(r.value, dst, [payloadFor(n, o.size)], null, null, 0, sim.now, sent);
      if (e !== 0) throw new Error(`sendto from ${this.a.name}: errno ${e}`);
      bytesSent += sent.value;
      sim.runFor(o.intervalMs);
    }
    const got = (): number => (svc === null ? 0 : svc.discarded - before);
    sim.runUntil(() => got() >= o.count, o.graceMs);
    soclose(r.value, sim.now);
    if (svc === null) return fail(0, 'no UDP discard service listening on host b');
    const n = got(), bytes = svc.bytes - beforeBytes;
    const per = Math.max(o.size, MIN_PAYLOAD);
    if (n === 0) return fail(0, `the server received none of ${o.count} datagrams (${bytesSent} bytes sent)`);
    if (bytes !== n * per) return fail(bytes, `the server counted ${n} datagrams but ${bytes} bytes (expected ${n * per})`);
    return { ok: true, bytes, detail: `the server counted ${n} of ${o.count} datagrams sent` };
  }

  // ---- TCP ----

  private tcpEcho(family: IpFamily, deadline: Instant): Outcome {
    const o = this.o;
    const expect = new ExpectedBytes();
    const c = TcpClient.connect(this.a, family, this.b, SERVICE_PORTS.echo.tcp!, (d) => expect.check(d));
    let total = 0;
    for (let n = 0; n < o.count; n++) {
      const p = payloadFor(n, o.size);
      expect.push(p);
      total += p.length;
      c.send(p);
      // One message at a time: the next goes out once this one is back.
      if (!this.wait(() => c.received >= total || c.failed || c.eof, deadline) || c.failed || c.eof) break;
    }
    c.shutdownWhenSent();
    this.wait(() => c.eof || c.failed, deadline);
    c.close(!c.eof);
    const problem = tcpProblem(c, deadline, this.world.sim.now) ??
      (expect.mismatchAt >= 0 ? `echoed byte ${expect.mismatchAt} differs from what was sent` : null) ??
      (c.received !== total ? `${c.received} of ${total} bytes echoed before the server closed` : null);
    if (problem !== null) return fail(c.received, problem);
    return { ok: true, bytes: c.received, detail: `${o.count} messages echoed byte-exact, then FIN both ways` };
  }

  private tcpDiscard(family: IpFamily, deadline: Instant): Outcome {
    const n = this.o.tcpBytes;
    const watch = this.watchConnections('discard');
    let unexpected = 0;
    const c = TcpClient.connect(this.a, family, this.b, SERVICE_PORTS.discard.tcp!, (d) => { unexpected += d.length; });
    c.send(seededBytes(n, 0x0d15ca4d ^ this.world.seed));
    c.shutdownWhenSent();
    this.wait(() => c.eof || c.failed, deadline);
    c.close(!c.eof);
    const conns = watch.stop();
    const server = conns[0];
    const discarded = server instanceof TcpDiscardConnection ? server.discarded : -1;
    const problem = tcpProblem(c, deadline, this.world.sim.now) ??
      (unexpected > 0 ? `the discard server sent ${unexpected} bytes` : null) ??
      (conns.length !== 1 ? `the server accepted ${conns.length} connections` : null) ??
      (discarded !== n ? `the server discarded ${discarded} of ${n} bytes` : null);
    if (problem !== null) return fail(c.sent, problem);
    return { ok: true, bytes: n, detail: `the server discarded all ${n} bytes and closed after our FIN` };
  }

  private tcpChargen(family: IpFamily, deadline: Instant): Outcome {
    const k = this.o.tcpBytes;
    const chk = new ChargenChecker();
    const watch = this.watchConnections('chargen');
    const c = TcpClient.connect(this.a, family, this.b, SERVICE_PORTS.chargen.tcp!, (d) => chk.check(d));
    this.wait(() => c.received >= k || c.failed || c.eof, deadline);
    const early = c.eof && c.received < k;
    // Enough: our FIN; the server stops and closes; we read (and check) what it had queued.
    c.shutdownWhenSent();
    this.wait(() => c.eof || c.failed, deadline);
    c.close(!c.eof);
    const conns = watch.stop();
    const server = conns[0];
    const problem = tcpProblem(c, deadline, this.world.sim.now) ??
      (early ? `the server closed after ${c.received} of ${k} bytes` : null) ??
      (chk.mismatchAt >= 0 ? `byte ${chk.mismatchAt} breaks the RFC 864 pattern` : null) ??
      (c.received < k ? `only ${c.received} of ${k} bytes arrived` : null) ??
      (!(server instanceof TcpChargenConnection) || server.sent !== c.received
        ? `received ${c.received} bytes, the server sent ${server instanceof TcpChargenConnection ? server.sent : '?'}` : null);
    if (problem !== null) return fail(c.received, problem);
    return { ok: true, bytes: c.received, detail: `${c.received} bytes (${k} asked) in the RFC 864 pattern; FIN both ways` };
  }

  // ---- HTTP ----

  private httpGet(family: IpFamily, deadline: Instant): Outcome {
    const x = this.http(family);
    let page = '';
    x.reader.expect((b) => { page += latin1.decode(b); });
    x.client.send(requestHead('GET', '/', this.hostHeader(family), true));
    this.wait(() => x.client.eof || x.client.failed || x.reader.error !== null, deadline);
    x.client.close(!x.client.eof);
    const r = x.reader.responses[0];
    const problem = httpProblem(x, 1, deadline, this.world.sim.now) ??
      (r!.status !== 200 ? `status ${r!.status}` : null) ??
      (!page.includes('<h1>tunstack</h1>') ? 'the page is not the tunstack index page' : null);
    if (problem !== null) return fail(x.client.received, problem);
    return { ok: true, bytes: r!.contentLength, detail: `GET / 200 (${r!.headers.get('content-type') ?? '?'}), then the server closed` };
  }

  private httpBytes(family: IpFamily, deadline: Instant): Outcome {
    const n = this.o.httpBytes;
    const x = this.http(family);
    const chk = new ModPatternChecker();
    x.reader.expect((b, off) => chk.check(b, off));
    x.client.send(requestHead('GET', `/bytes/${n}`, this.hostHeader(family), true));
    this.wait(() => x.client.eof || x.client.failed || x.reader.error !== null, deadline);
    x.client.close(!x.client.eof);
    const r = x.reader.responses[0];
    const problem = httpProblem(x, 1, deadline, this.world.sim.now) ??
      (r!.status !== 200 ? `status ${r!.status}` : null) ??
      (r!.contentLength !== n ? `Content-Length ${r!.contentLength}, asked ${n}` : null) ??
      (chk.mismatchAt >= 0 ? `body byte ${chk.mismatchAt} is not ${chk.mismatchAt} mod ${PATTERN_MOD}` : null);
    if (problem !== null) return fail(r?.bodyReceived ?? 0, problem);
    return { ok: true, bytes: n, detail: `GET /bytes/${n} 200, every byte i = i mod ${PATTERN_MOD}` };
  }

  private httpSha256(family: IpFamily, deadline: Instant): Outcome {
    const n = this.o.httpBytes;
    const body = seededBytes(n, 0x5a256 ^ this.world.seed);
    const want = createHash('sha256').update(body).digest('hex');
    const x = this.http(family);
    let answer = '';
    x.reader.expect((b) => { answer += latin1.decode(b); });
    x.client.send(requestHead('PUT', '/sha256', this.hostHeader(family), true,
      { 'Content-Type': 'application/octet-stream', 'Content-Length': String(n) }));
    x.client.send(body);
    this.wait(() => x.client.eof || x.client.failed || x.reader.error !== null, deadline);
    x.client.close(!x.client.eof);
    const r = x.reader.responses[0];
    const problem = httpProblem(x, 1, deadline, this.world.sim.now) ??
      (r!.status !== 200 ? `status ${r!.status}` : null) ??
      (answer !== `${want}\n` ? `the server answered ${JSON.stringify(answer.slice(0, 70))}, expected ${want}` : null);
    if (problem !== null) return fail(x.client.sent, problem);
    return { ok: true, bytes: n, detail: `PUT /sha256 of ${n} bytes: ${want.slice(0, 16)}… matches` };
  }

  private httpKeepAlive(family: IpFamily, deadline: Instant): Outcome {
    const watch = this.watchConnections('http');
    const x = this.http(family);
    let page = '';
    const chk = new ModPatternChecker();
    x.reader.expect((b) => { page += latin1.decode(b); });
    x.reader.expect((b, off) => chk.check(b, off));
    const host = this.hostHeader(family);
    x.client.send(requestHead('GET', '/', host, false));
    this.wait(() => x.reader.completed >= 1 || x.client.eof || x.client.failed || x.reader.error !== null, deadline);
    const closedEarly = x.client.eof;
    if (!closedEarly) x.client.send(requestHead('GET', `/bytes/${KEEPALIVE_BYTES}`, host, true));
    this.wait(() => x.client.eof || x.client.failed || x.reader.error !== null, deadline);
    x.client.close(!x.client.eof);
    const conns = watch.stop();
    const server = conns[0];
    const [r1, r2] = x.reader.responses;
    const problem = (closedEarly ? 'the server closed the connection after the first response' : null) ??
      httpProblem(x, 2, deadline, this.world.sim.now) ??
      (r1!.status !== 200 || r2!.status !== 200 ? `statuses ${r1!.status} and ${r2!.status}` : null) ??
      (!page.includes('<h1>tunstack</h1>') || chk.mismatchAt >= 0 || r2!.contentLength !== KEEPALIVE_BYTES ? 'wrong response bodies' : null) ??
      (conns.length !== 1 ? `the server accepted ${conns.length} connections` : null) ??
      (!(server instanceof HttpConnection) || server.requests !== 2
        ? `the server counted ${server instanceof HttpConnection ? server.requests : '?'} requests on the connection` : null);
    if (problem !== null) return fail(x.client.received, problem);
    const bytes = r1!.contentLength + r2!.contentLength;
    return { ok: true, bytes, detail: 'GET / then GET /bytes/1000 on one connection, closed after the second' };
  }

  private http(family: IpFamily): { client: TcpClient; reader: HttpResponseReader } {
    const reader = new HttpResponseReader();
    const client = TcpClient.connect(this.a, family, this.b, HTTP_PORT, (d) => reader.feed(d));
    return { client, reader };
  }

  private hostHeader(family: IpFamily): string {
    return family === 4 ? `${this.b.v4}` : `[${this.b.v6}]`;
  }

  /**
   * Records every connection the named TCP server accepts until stop() (which returns them):
   * the server-side counters (bytes discarded, requests served) stay readable after the
   * connection ended, even when it began and ended within one simulation step.
   */
  private watchConnections(name: ServiceName): { stop(): TcpConnection[] } {
    const seen: TcpConnection[] = [];
    const srv = this.services.tcpServers.find((s) => s.name === name);
    if (srv === undefined) return { stop: () => seen };
    const set = srv.conns;
    const add = Set.prototype.add;
    set.add = function (this: Set<TcpConnection>, c: TcpConnection) {
      seen.push(c);
      return add.call(this, c) as Set<TcpConnection>;
    };
    return { stop: () => { Reflect.deleteProperty(set, 'add'); return seen; } };
  }
}

/** OK when some answers came back and none was wrong (loss may take some; checksums catch corruption). */
function answered(r: FlowResult, size: number, what: string): Outcome {
  const extra = (r.duplicates > 0 ? `, ${r.duplicates} duplicated` : '') + (r.mismatched > 0 ? `, ${r.mismatched} WRONG` : '');
  const detail = `${r.answered} of ${r.sent} ${what} byte-exact${extra}`;
  return { ok: r.answered > 0 && r.mismatched === 0, bytes: r.answered * Math.max(size, MIN_PAYLOAD), detail };
}

/** Why a TCP exchange did not end cleanly (connect, errors, the server's FIN), or null. */
function tcpProblem(c: TcpClient, deadline: Instant, now: Instant): string | null {
  if (c.failed || c.connectErrno === null) return c.describeFailure();
  if (!c.eof) return now >= deadline ? 'timed out waiting for the server to close' : 'the server did not close';
  if (c.unsent > 0) return `${c.unsent} bytes were never sent`;
  return null;
}

/** tcpProblem plus the HTTP framing: `n` complete responses. */
function httpProblem(x: { client: TcpClient; reader: HttpResponseReader }, n: number, deadline: Instant, now: Instant): string | null {
  if (x.reader.error !== null) return `bad response: ${x.reader.error}`;
  const p = tcpProblem(x.client, deadline, now);
  if (p !== null) return p;
  if (x.reader.completed < n) return `${x.reader.completed} of ${n} responses complete when the server closed`;
  if (x.reader.responses.length > n) return `${x.reader.responses.length} responses, expected ${n}`;
  return null;
}

/** The UDP service bound to `port` of `family` on `stack` (found by its socket), or null. */
function findUdpService(stack: Stack, family: IpFamily, port: number): UdpDiscardService | null {
  const af = family === 4 ? AF_INET : AF_INET6;
  const name = { value: null as Uint8Array | null };
  for (const so of stack.sockets.sockets()) {
    const l = so.listenerOrNull;
    if (!(l instanceof UdpDiscardService) || so.so_domain !== af) continue;
    if (sogetsockname(so, name) !== 0 || name.value === null) continue;
    const sa = decodeSockaddr(name.value);
    if (sa.ok && sa.value.port === port) return l;
  }
  return null;
}

/** `n` pseudo-random bytes (xorshift32 from `seed`): request bodies that only hash right if intact. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = (seed >>> 0) || 1;
  for (let i = 0; i < n; i += 4) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (s >>> (8 * j)) & 0xff;
  }
  return b;
}
