// The drill interpreter: runs one parsed script against a fresh Stack on a capture link under a
// virtual clock (reference §3–§10). Inbound packets are built with the script's relative numbers
// translated to live ones; outbound packets are awaited (virtual time advances as the stack's
// timers fire) and compared field by field; syscalls go through the XNU KPI; blocking calls
// (`T1...T2`) stay pending while later events run; shell commands and code events are emulated.

import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { VirtualClock } from '../../stack/time/clock.js';
import type { Instant } from '../../stack/time/instant.js';
import type { Link, LinkCaps, LinkReceiver } from '../../stack/link/link.js';
import { DEFAULT_LINK_CAPS } from '../../stack/link/link.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFreem } from '../../stack/mbuf/pool.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/chain.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import type { Tcpcb } from '../../stack/tcp/tcp-var.js';
import {
  TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT,
} from '../../stack/tcp/tcp-var.js';
import { tcpDrop } from '../../stack/tcp/tcp-subr.js';
import type { InPcb } from '../../stack/inpcb/in-pcb.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { soreadable, sowriteable } from '../../stack/socket/socket.js';
import {
  kpiKernel, newMsghdr, sock_accept, sock_bind, sock_close, sock_connect, sock_getsockname, sock_getsockopt, sock_ioctl,
  sock_listen, sock_receive, sock_send, sock_setsockopt, sock_shutdown, sockaddrIn, sockaddrIn6, sockaddrPort,
  sockoptInt, sockoptLinger,
} from '../../kpi/index.js';
import type { Box, KpiKernel, KpiSocket } from '../../kpi/index.js';
import {
  AF_INET, AF_INET6, EBADF, ECONNABORTED, EINPROGRESS, EINTR, EWOULDBLOCK, FIONBIO, FIONREAD, IPPROTO_TCP, IPPROTO_UDP,
  SO_ACCEPTCONN, SO_LINGER, SOCK_DGRAM, SOCK_STREAM, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_NBIO,
} from '../../kpi/darwin-constants.js';
import type { DrillEvent, Expr, IcmpSpec, PacketEvent, Script, SyscallEvent, TcpOption, TcpSpec } from './ast.js';
import {
  buildIcmp, buildTcp, buildUdp, decode, flagString, formatOptions, ICMP4_CODES, ICMP4_TYPES, ICMP6_CODES, ICMP6_TYPES,
  quotePacket, tcpBytes, TH,
} from './packet.js';
import type { Decoded, IpFields, WireOpt } from './packet.js';
import { errnoName, errnoValue, symbolValue, TCP_STATES } from './symbols.js';

// ---------------------------------------------------------------------------------------------
// Configuration and results

export interface DrillConfig {
  ipVersion: 'ipv4' | 'ipv6' | 'ipv4_mapped_ipv6';
  toleranceUsecs: number;
  tolerancePercent: number;
  mtu: number;
  localIp: string | null;
  remoteIp: string | null;
  bindPort: number;
  connectPort: number;
  tcpTsTickUsecs: number;
  nonFatal: Set<'packet' | 'syscall'>;
}

export const DEFAULT_CONFIG: Readonly<DrillConfig> = {
  ipVersion: 'ipv4', toleranceUsecs: 4000, tolerancePercent: 5, mtu: 1500, localIp: null, remoteIp: null,
  bindPort: 8080, connectPort: 8080, tcpTsTickUsecs: 0, nonFatal: new Set(),
};

export type DrillStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface DrillResult {
  readonly file: string;
  readonly status: DrillStatus;
  /** Where the failure, unsupported feature or error is (null for a pass). */
  readonly line: number | null;
  readonly column: number | null;
  /** The event's text (failures). */
  readonly event: string | null;
  readonly message: string | null;
  readonly expected: string | null;
  readonly actual: string | null;
  /** Non-fatal mismatches (--non_fatal), leftover outbound packets... */
  readonly warnings: readonly string[];
  /** With `verbose`: every event with its virtual time. */
  readonly trace: readonly string[];
  /** Virtual time at the end, µs. */
  readonly endTimeUs: number;
}

/** Thrown inside the runner to end a script. */
export class DrillStop extends Error {
  constructor(
    readonly status: Exclude<DrillStatus, 'pass'>, message: string, readonly line: number | null,
    readonly expected: string | null = null, readonly actual: string | null = null, readonly column: number | null = null,
    readonly kind: 'packet' | 'syscall' | 'other' = 'other',
  ) { super(message); }
}

const unsupported = (what: string, line: number | null): DrillStop => new DrillStop('unsupported', `unsupported: ${what}`, line);

// ---------------------------------------------------------------------------------------------
// Header options

/** Applies one header option (or CLI option) to `cfg`; throws DrillStop for unknown/bad ones. */
export function applyOption(cfg: DrillConfig, name: string, value: string | null, line: number | null): void {
  const n = name.replace(/-/g, '_');
  const need = (): string => {
    if (value === null || value === '') throw new DrillStop('error', `option --${n} needs a value`, line);
    return value;
  };
  const int = (min: number, max: number): number => {
    const v = Number(need());
    if (!Number.isFinite(v) || v < min || v > max) throw new DrillStop('error', `option --${n}: bad value '${value}'`, line);
    return v;
  };
  switch (n) {
    case 'ip_version': {
      const v = need();
      if (v !== 'ipv4' && v !== 'ipv6' && v !== 'ipv4_mapped_ipv6') throw new DrillStop('error', `--ip_version must be ipv4, ipv6 or ipv4_mapped_ipv6, got '${v}'`, line);
      cfg.ipVersion = v;
      return;
    }
    case 'tolerance_usecs': cfg.toleranceUsecs = int(0, 1e9); return;
    case 'tolerance_percent': cfg.tolerancePercent = int(0, 100); return;
    case 'mtu': cfg.mtu = int(68, 65535); return;
    case 'local_ip': cfg.localIp = need(); return;
    case 'remote_ip': cfg.remoteIp = need(); return;
    case 'bind_port': cfg.bindPort = int(1, 65535); return;
    case 'connect_port': cfg.connectPort = int(1, 65535); return;
    case 'tcp_ts_tick_usecs': cfg.tcpTsTickUsecs = int(0, 1e9); return;
    case 'non_fatal': {
      for (const k of need().split(',')) {
        if (k !== 'packet' && k !== 'syscall') throw new DrillStop('error', `--non_fatal takes packet,syscall; got '${k}'`, line);
        cfg.nonFatal.add(k);
      }
      return;
    }
    default:
      throw unsupported(`option --${n}`, line);
  }
}

// ---------------------------------------------------------------------------------------------
// The capture link

class CaptureLink implements Link {
  readonly name = 'drill0';
  rx: LinkReceiver | null = null;
  constructor(readonly caps: LinkCaps, private readonly sink: (bytes: Uint8Array) => void) {}
  transmit(batch: readonly Mbuf[], count: number): void {
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      this.sink(mToBytes(m));
      mFreem(m);
    }
  }
  setReceiver(rx: LinkReceiver | null): void { this.rx = rx; }
}

// ---------------------------------------------------------------------------------------------
// Runner state

interface Conn {
  readonly proto: 'tcp' | 'udp';
  localPort: number | null;
  remotePort: number;
  /** The peer's address (the default remote one, or an addr[caddrN] of the script). */
  readonly remoteAddr: IpAddr;
  /** The stack's ISN (learned from its SYN / SYN-ACK). */
  localIsn: number | null;
  /** The script's ISN (from the inbound SYN). */
  remoteIsn: number | null;
  tsFirst: { script: number; live: number } | null;
  readonly tsMap: Map<number, number>;
}

interface FdEntry {
  readonly ks: KpiSocket;
  readonly proto: 'tcp' | 'udp';
  conn: Conn | null;
}

type CallResult = { ret: number; errno: number };

interface Pending {
  readonly ev: DrillEvent;
  readonly call: SyscallEvent;
  readonly startUs: number;
  readonly endLo: number;
  readonly endHi: number;
  done: boolean;
  result: CallResult | null;
  doneAt: number;
  failure: unknown;
  /** For poll(): re-evaluated after every step instead of a Promise. */
  readonly recheck: (() => CallResult | null) | null;
}

interface Outbound { readonly pkt: Decoded; readonly at: number }

const sameAddr = (a: IpAddr, b: IpAddr): boolean => a.family === b.family && a.bytes.every((x, i) => x === b.bytes[i]);
const settle = (): Promise<void> => new Promise<void>((r) => { setImmediate(r); });
const fmtTime = (us: number): string => `${(us / 1e6).toFixed(3)} s`;
const u32 = (n: number): number => n >>> 0;
const MAX_WAIT_US = 3600 * 1_000_000;

export interface RunOptions {
  readonly profile: TcpProfile;
  readonly config: DrillConfig;
  readonly seed: number;
  readonly verbose: boolean;
}

export class DrillRunner {
  readonly clock = new VirtualClock();
  readonly stack: Stack;
  readonly kernel: KpiKernel;
  private readonly link: CaptureLink;
  private readonly cfg: DrillConfig;
  private profile: TcpProfile;
  private readonly family: 4 | 6;           // of the packets
  private readonly sockFamily: 4 | 6;       // of the sockets
  private readonly local: IpAddr;
  private readonly remote: IpAddr;
  private readonly fds = new Map<number, FdEntry>();
  private sutFd: number | null = null;
  private cur: Conn | null = null;
  /**
   * True once a connection was started (inbound SYN to the listening socket under test, or a
   * connect() that sent a SYN) since the socket under test was created: from then on that
   * connection is the socket under test, and a further inbound SYN belongs to it (reference §6).
   */
  private sutConnStarted = false;
  private readonly conns: Conn[] = [];
  private readonly outq: Outbound[] = [];
  private pending: Pending | null = null;
  private lastActual = 0;
  private lastExpected = 0;
  private nextRemotePort = 40000;
  private ipId = 1;
  readonly warnings: string[] = [];
  readonly trace: string[] = [];

  constructor(private readonly opts: RunOptions) {
    this.cfg = opts.config;
    this.profile = opts.profile;
    const mapped = this.cfg.ipVersion === 'ipv4_mapped_ipv6';
    this.family = this.cfg.ipVersion === 'ipv6' ? 6 : 4;
    this.sockFamily = this.cfg.ipVersion === 'ipv4' ? 4 : 6;
    const l = this.cfg.localIp ?? (this.family === 4 ? '192.168.0.1' : 'fd3d:fa7b:d17d::1');
    const r = this.cfg.remoteIp ?? (this.family === 4 ? '192.0.2.1' : '2001:db8::1');
    const la = IpAddr.parse(l), ra = IpAddr.parse(r);
    if (la === null || la.family !== this.family) throw new DrillStop('error', `bad local_ip '${l}'`, null);
    if (ra === null || ra.family !== this.family) throw new DrillStop('error', `bad remote_ip '${r}'`, null);
    this.local = la;
    this.remote = ra;
    void mapped;
    this.link = new CaptureLink({ ...DEFAULT_LINK_CAPS, mtu: this.cfg.mtu }, (b) => this.onTransmit(b));
    this.stack = new Stack({ env: simEnv(opts.seed, this.clock), name: 'drill', tcp: { profile: this.profile } });
    const addrs = this.family === 4
      ? [IpCidr.of(`${l}/24`), IpCidr.of('fd3d:fa7b:d17d::1/64')]
      : [IpCidr.of('192.168.0.1/24'), IpCidr.of(`${l}/64`)];
    const ifp = this.stack.addInterface(this.link, { name: 'drill0', addrs, mtu: this.cfg.mtu });
    this.stack.addRoute('0.0.0.0/0', { ifindex: ifp.index });
    this.stack.addRoute('::/0', { ifindex: ifp.index });
    this.kernel = kpiKernel(this.stack);
  }

  get now(): number { return this.clock.now(); }

  private log(line: string): void {
    if (this.opts.verbose) this.trace.push(`${fmtTime(this.now).padStart(10)}  ${line}`);
  }

  private onTransmit(b: Uint8Array): void {
    const d = decode(b);
    if (d === null) return;
    // Neighbour discovery / MLD are not the script's business.
    if (d.proto === 'icmp' && d.ip.family === 6 && d.icmp!.type >= 130) return;
    this.outq.push({ pkt: d, at: this.now });
    if (this.opts.verbose) this.log(`  (stack sent: ${this.describeLive(d)})`);
  }

  // ---- time ----

  private async checkPending(): Promise<void> {
    const p = this.pending;
    if (p === null) return;
    if (p.recheck !== null) {
      if (!p.done) {
        const r = p.recheck();
        if (r !== null) { p.done = true; p.result = r; p.doneAt = this.now; }
      }
    } else {
      await settle();
    }
    if (p.failure !== undefined && p.failure !== null) throw p.failure;
    if (p.done) {
      this.pending = null;
      this.finishBlocking(p);
      return;
    }
    if (this.now > p.endHi + this.tol(p.endHi, p.startUs)) {
      this.pending = null;
      throw new DrillStop('fail', `blocking ${p.call.name}() did not return by ${fmtTime(p.endHi)} (still blocked at ${fmtTime(this.now)})`,
        p.ev.loc.line, `return at ${fmtTime(p.endLo)}`, 'still blocked', null, 'syscall');
    }
  }

  /** One step: fires the next stack deadline if it is <= limit. False when there is none. */
  private async step(limit: number): Promise<boolean> {
    const next = this.stack.pollAt();
    if (next === null || next > limit) return false;
    this.clock.advanceTo(next as Instant);
    this.stack.poll(this.clock.now());
    await this.checkPending();
    return true;
  }

  private async advanceTo(t: number): Promise<void> {
    for (let i = 0; i < 5_000_000; i++) {
      await this.checkPending();
      if (!(await this.step(t))) {
        this.clock.advanceTo(t as Instant);
        this.stack.poll(this.clock.now());
        await this.checkPending();
        return;
      }
    }
    throw new DrillStop('error', 'the stack keeps asking for work at the same instant (livelock)', null);
  }

  private tol(expected: number, prev: number): number {
    return Math.max(this.cfg.toleranceUsecs, (this.cfg.tolerancePercent / 100) * Math.max(0, expected - prev));
  }

  // ---- main loop ----

  async run(script: Script): Promise<void> {
    for (const ev of script.events) {
      try {
        await this.runEvent(ev);
      } catch (e) {
        if (e instanceof DrillStop && e.status === 'fail' && e.kind !== 'other' && this.cfg.nonFatal.has(e.kind)) {
          this.warnings.push(`line ${e.line ?? '?'}: ${e.message} (non-fatal)`);
          continue;
        }
        throw e;
      }
    }
    // A blocking call still outstanding: wait for it until its end time (+ tolerance).
    const p = this.pending;
    if (p !== null) {
      const limit = p.endHi + this.tol(p.endHi, p.startUs);
      while (this.pending !== null && this.now <= limit) {
        if (!(await this.step(limit))) { this.clock.advanceTo(limit as Instant); this.stack.poll(this.now); await this.checkPending(); break; }
      }
      await this.checkPending();
      if (this.pending !== null) {
        this.pending = null;
        throw new DrillStop('fail', `blocking ${p.call.name}() never returned`, p.ev.loc.line, `return at ${fmtTime(p.endLo)}`, 'still blocked', null, 'syscall');
      }
    }
    for (const o of this.outq) this.warnings.push(`unconsumed outbound packet at ${fmtTime(o.at)}: ${this.describeLive(o.pkt)}`);
  }

  /** Closes what the script left open (nothing after the last event is checked). */
  async teardown(): Promise<void> {
    for (const f of this.fds.values()) {
      try { void sock_close(f.ks); } catch { /* ignore */ }
    }
    this.fds.clear();
    this.stack.poll(this.now);
    this.stack.drain();
  }

  private expectedWindow(ev: DrillEvent): { lo: number; hi: number; any: boolean } {
    const t = ev.time;
    switch (t.kind) {
      case 'abs': return { lo: t.us, hi: t.us, any: false };
      case 'rel': return { lo: this.lastActual + t.us, hi: this.lastActual + t.us, any: false };
      case 'any': return { lo: this.now, hi: this.now + MAX_WAIT_US, any: true };
      case 'range': {
        const base = t.rel ? this.lastActual : 0;
        return { lo: base + t.lo, hi: base + t.hi, any: false };
      }
    }
  }

  private async runEvent(ev: DrillEvent): Promise<void> {
    const w = this.expectedWindow(ev);
    const a = ev.action;
    if (a.kind === 'packet' && a.dir === 'out') {
      const at = await this.expectOutbound(ev, a, w);
      this.lastActual = at;
      this.lastExpected = w.any ? at : w.lo;
      return;
    }
    // Everything else happens at its time.
    if (w.lo > this.now) await this.advanceTo(w.lo);
    else await this.checkPending();
    this.lastActual = this.now;
    this.lastExpected = w.lo;
    this.log(ev.text);
    switch (a.kind) {
      case 'packet': this.inject(ev, a); break;
      case 'syscall': await this.syscall(ev, a, w.lo); break;
      case 'command': this.command(ev, a.command); break;
      case 'code': this.code(ev, a.code); break;
    }
    this.stack.poll(this.now);
    await this.checkPending();
  }

  // ---- connections ----

  private freshRemotePort(): number { return this.nextRemotePort++; }

  private sut(): FdEntry | null { return this.sutFd === null ? null : this.fds.get(this.sutFd) ?? null; }

  private localPortOf(ks: KpiSocket): number | null {
    const sa = new Uint8Array(128);
    return sock_getsockname(ks, sa, sa.length) === 0 ? sockaddrPort(sa) || null : null;
  }

  private newConn(proto: 'tcp' | 'udp', localPort: number | null, remotePort: number, remoteAddr: IpAddr = this.remote): Conn {
    const c: Conn = { proto, localPort, remotePort, remoteAddr, localIsn: null, remoteIsn: null, tsFirst: null, tsMap: new Map() };
    this.conns.push(c);
    return c;
  }

  /**
   * The connection an inbound packet belongs to (reference §6). Only while the socket under test
   * is still the listening socket itself (no connection started since it was created) does a SYN
   * start a new connection; afterwards every inbound packet, a later SYN included, is addressed
   * with the current connection's 4-tuple.
   */
  private inboundConn(p: PacketEvent, line: number): Conn {
    const s = this.sut();
    const isSyn = p.spec.proto === 'tcp' && (p.spec.flags & (TH.SYN | TH.ACK)) === TH.SYN;
    if (p.addr !== null) {
      // Explicit addressing (§6, §11): the packet belongs to the connection with that peer address;
      // a SYN from an address with no connection yet starts one on the listening socket under test.
      const ra = this.remoteAddrAt(p.addr.remote, line);
      let c: Conn | null = null;
      for (let i = this.conns.length - 1; i >= 0 && c === null; i--) if (sameAddr(this.conns[i]!.remoteAddr, ra)) c = this.conns[i]!;
      if (c === null) {
        c = this.newConn(p.spec.proto === 'udp' ? 'udp' : 'tcp', (s !== null ? this.localPortOf(s.ks) : null) ?? this.cfg.bindPort, this.freshRemotePort(), ra);
        if (isSyn && s !== null && (s.ks.so.so_options & SO_ACCEPTCONN) !== 0) this.sutConnStarted = true;
      }
      this.cur = c;
      return c;
    }
    if (isSyn && !this.sutConnStarted && s !== null && (s.ks.so.so_options & SO_ACCEPTCONN) !== 0) {
      this.cur = this.newConn('tcp', this.localPortOf(s.ks) ?? this.cfg.bindPort, this.freshRemotePort());
      this.sutConnStarted = true;
      return this.cur;
    }
    if (this.cur !== null) {
      if (this.cur.localPort === null && s !== null) this.cur.localPort = this.localPortOf(s.ks);
      return this.cur;
    }
    const lp = s !== null ? this.localPortOf(s.ks) : null;
    this.cur = this.newConn(p.spec.proto === 'udp' ? 'udp' : 'tcp', lp ?? this.cfg.bindPort, this.freshRemotePort());
    if (s !== null) s.conn = this.cur;
    return this.cur;
  }

  /** The address of the script's remote endpoint N (addr[caddrN]): the remote address + N. */
  private remoteAddrAt(n: number, line: number | null): IpAddr {
    if (n === 0) return this.remote;
    const b = this.remote.bytes.slice();
    let carry = n;
    for (let i = b.length - 1; i >= 0 && carry > 0; i--) {
      const v = b[i]! + carry;
      b[i] = v & 255;
      carry = v >>> 8;
    }
    if (carry !== 0 || n > 0xffff) throw new DrillStop('error', `addr[caddr${n}]: no such remote address`, line);
    return IpAddr.fromBytes(b);
  }

  /** The connection a live outbound packet belongs to (by its ports and peer address). */
  private outboundConn(d: Decoded): Conn {
    const sport = d.tcp?.sport ?? d.udp?.sport ?? null;
    const dport = d.tcp?.dport ?? d.udp?.dport ?? null;
    if (sport !== null && dport !== null) {
      for (let i = this.conns.length - 1; i >= 0; i--) {
        const c = this.conns[i]!;
        if (c.localPort === sport && c.remotePort === dport && sameAddr(c.remoteAddr, d.ip.dst)) return c;
      }
      if (this.cur !== null && this.cur.localPort === null && this.cur.remotePort === dport) {
        this.cur.localPort = sport;
        return this.cur;
      }
      if (this.cur !== null && this.cur.localPort === sport && this.cur.remotePort !== dport) {
        // Outbound UDP to an address the script did not write (sendto): same socket.
        if (this.cur.proto === 'udp') return this.cur;
      }
    }
    if (this.cur !== null) return this.cur;
    this.cur = this.newConn(d.proto === 'udp' ? 'udp' : 'tcp', sport, dport ?? this.cfg.connectPort);
    return this.cur;
  }

  private ipFields(src: IpAddr, dst: IpAddr, p: PacketEvent): IpFields {
    let tos = p.ip.tos ?? p.ip.tclass ?? 0;
    if (p.ip.ecn !== undefined) tos = (tos & ~3) | ({ noecn: 0, ect0: 2, ect1: 1, ce: 3, ect01: 2 } as const)[p.ip.ecn];
    return { family: this.family, src, dst, tos, ttl: p.ip.ttl ?? p.ip.hlim ?? 64, flowlabel: p.ip.flowlabel ?? 0 };
  }

  // ---- inbound ----

  private inject(ev: DrillEvent, p: PacketEvent): void {
    if (p.unsupported !== null) throw unsupported(p.unsupported, ev.loc.line);
    const conn = this.inboundConn(p, ev.loc.line);
    const ip = this.ipFields(conn.remoteAddr, this.local, p);
    const lport = conn.localPort ?? this.cfg.bindPort;
    let bytes: Uint8Array;
    const spec = p.spec;
    if (spec.proto === 'tcp') {
      const syn = (spec.flags & TH.SYN) !== 0;
      const start = spec.start ?? 0;
      let seq: number;
      if (syn || spec.absolute) {
        seq = start;
        // The peer's ISN is the one of the connection's first SYN; a later SYN (RFC 5961 tests,
        // a retransmitted SYN-ACK) is sent as written but does not move the translation base.
        if (syn && !spec.absolute && conn.remoteIsn === null) conn.remoteIsn = start;
      } else {
        seq = u32((conn.remoteIsn ?? 0) + start);
      }
      const ack = spec.ack === null ? 0 : spec.absolute ? spec.ack : u32((conn.localIsn ?? 0) + spec.ack);
      const options: WireOpt[] = [];
      for (const o of spec.options ?? []) options.push(this.inboundOption(ev, o, conn, spec));
      bytes = buildTcp(ip, {
        sport: conn.remotePort, dport: lport, seq, ack, flags: spec.flags, win: spec.win ?? 0, urg: spec.urg ?? 0,
        options, payloadLen: spec.len,
      }, this.ipId++);
    } else if (spec.proto === 'udp') {
      bytes = buildUdp(ip, conn.remotePort, lport, spec.len, this.ipId++);
    } else {
      bytes = this.buildIcmpIn(ev, spec, ip, conn);
    }
    const m = mFromBytes(this.stack.pool, bytes, 0);
    if (m === null) throw new DrillStop('error', 'mbuf pool exhausted', ev.loc.line);
    this.link.rx!.receiveBatch([m], 1, this.now as Instant);
  }

  private inboundOption(ev: DrillEvent, o: TcpOption, conn: Conn, spec: TcpSpec): WireOpt {
    switch (o.kind) {
      case 'nop': case 'eol': case 'sackOK': return { kind: o.kind };
      case 'mss': return { kind: 'mss', value: o.value };
      case 'wscale': return { kind: 'wscale', value: o.value };
      case 'sack': {
        const base = spec.absolute ? 0 : conn.localIsn ?? 0;
        return { kind: 'sack', blocks: o.blocks.map(([l, r]) => [u32(base + l), u32(base + r)] as const) };
      }
      case 'ts': {
        if (o.val === null || o.ecr === null) throw new DrillStop('error', 'inbound TS val/ecr must be numbers, not ...', ev.loc.line);
        let ecr = o.ecr;
        if ((spec.flags & TH.ACK) !== 0 && !o.ecrAbsolute) {
          const live = conn.tsMap.get(o.ecr);
          if (live === undefined) {
            throw new DrillStop('error', `no outbound TS val ${o.ecr} to map ecr to (write the stack's packet with TS val ${o.ecr}, or use ecr ${o.ecr}!)`, ev.loc.line);
          }
          ecr = live;
        }
        return { kind: 'ts', val: o.val, ecr };
      }
      case 'unsupported': throw unsupported(`TCP option '${o.name}'`, ev.loc.line);
    }
  }

  private buildIcmpIn(ev: DrillEvent, s: IcmpSpec, ip: IpFields, conn: Conn): Uint8Array {
    const v6 = this.family === 6;
    const types = v6 ? ICMP6_TYPES : ICMP4_TYPES;
    const codes = v6 ? ICMP6_CODES : ICMP4_CODES;
    const raw = (w: string, prefix: string): number | undefined => {
      const m = new RegExp(`^${prefix}_(\\d+)$`).exec(w);
      return m === null ? undefined : Number(m[1]);
    };
    const type = types[s.type] ?? raw(s.type, 'type');
    if (type === undefined) throw unsupported(`ICMP${v6 ? 'v6' : ''} type '${s.type}'`, ev.loc.line);
    const code = s.code === null ? 0 : codes[s.code] ?? raw(s.code, 'code');
    if (code === undefined) throw unsupported(`ICMP${v6 ? 'v6' : ''} code '${s.code}'`, ev.loc.line);
    const rest = s.mtu === null ? 0 : v6 ? s.mtu : s.mtu & 0xffff;
    let quoted: Uint8Array = new Uint8Array(0);
    const q = s.quoted;
    const qip: IpFields = { family: this.family, src: this.local, dst: conn.remoteAddr, tos: 0, ttl: 64, flowlabel: 0 };
    if (q !== null) {
      if (q.proto === 'tcp') {
        const t = tcpBytes({
          sport: conn.localPort ?? this.cfg.bindPort, dport: conn.remotePort, seq: u32((conn.localIsn ?? 0) + q.start),
          ack: u32((conn.remoteIsn ?? 0) + 1), flags: TH.ACK, win: 0, urg: 0, options: [], payloadLen: 0,
        }, new Uint8Array(0));
        quoted = quotePacket(qip, 6, t);
        this.fixQuotedLength(quoted, 20 + q.len);
      } else {
        const u = new Uint8Array(8);
        u[0] = ((conn.localPort ?? this.cfg.bindPort) >>> 8) & 255; u[1] = (conn.localPort ?? this.cfg.bindPort) & 255;
        u[2] = (conn.remotePort >>> 8) & 255; u[3] = conn.remotePort & 255;
        u[4] = ((8 + q.len) >>> 8) & 255; u[5] = (8 + q.len) & 255;
        quoted = quotePacket(qip, 17, u);
        this.fixQuotedLength(quoted, 8 + q.len);
      }
    }
    return buildIcmp(ip, type, code, rest, quoted, this.ipId++);
  }

  private fixQuotedLength(q: Uint8Array, l4len: number): void {
    if (this.family === 4) {
      const total = 20 + l4len;
      q[2] = (total >>> 8) & 255; q[3] = total & 255;
    } else {
      q[4] = (l4len >>> 8) & 255; q[5] = l4len & 255;
    }
  }

  // ---- outbound ----

  private async expectOutbound(ev: DrillEvent, p: PacketEvent, w: { lo: number; hi: number; any: boolean }): Promise<number> {
    if (p.unsupported !== null) throw unsupported(p.unsupported, ev.loc.line);
    const tol = w.any ? 0 : this.tol(w.lo, this.lastExpected);
    const deadline = w.any ? this.now + MAX_WAIT_US : w.hi + tol;
    for (;;) {
      await this.checkPending();
      const o = this.outq.shift();
      if (o !== undefined) {
        this.log(`${ev.text}   [live: ${this.describeLive(o.pkt)}]`);
        this.matchOutbound(ev, p, o.pkt);
        if (!w.any && (o.at < w.lo - tol || o.at > w.hi + tol)) {
          const exp = w.lo === w.hi ? fmtTime(w.lo) : `${fmtTime(w.lo)}~${fmtTime(w.hi)}`;
          throw new DrillStop('fail', `timing error: expected outbound packet at ${exp} but happened at ${fmtTime(o.at)}`,
            ev.loc.line, exp, fmtTime(o.at), null, 'packet');
        }
        return o.at;
      }
      if (!(await this.step(deadline))) {
        this.clock.advanceTo(deadline as Instant);
        this.stack.poll(this.now);
        await this.checkPending();
        if (this.outq.length > 0) continue;
        const exp = w.any ? '*' : w.lo === w.hi ? fmtTime(w.lo) : `${fmtTime(w.lo)}~${fmtTime(w.hi)}`;
        throw new DrillStop('fail', `expected outbound packet not seen (expected at ${exp}: ${p.text})`, ev.loc.line, p.text,
          `nothing sent until ${fmtTime(this.now)}`, null, 'packet');
      }
    }
  }

  private describeLive(d: Decoded): string {
    if (d.proto === 'tcp') {
      const t = d.tcp!;
      const c = this.findConn(t.sport, t.dport);
      const rel = c?.localIsn !== null && c?.localIsn !== undefined && (t.flags & TH.SYN) === 0 ? u32(t.seq - c.localIsn) : t.seq;
      const ack = c?.remoteIsn !== null && c?.remoteIsn !== undefined ? u32(t.ack - c.remoteIsn) : t.ack;
      return `${flagString(t.flags)} ${rel}:${u32(rel + t.payloadLen)}(${t.payloadLen})${(t.flags & TH.ACK) !== 0 ? ` ack ${ack}` : ''} win ${t.win}` +
        `${t.urg !== 0 ? ` urg ${t.urg}` : ''} <${formatOptions(this.relOptions(t.options, c ?? null))}> (${t.sport} > ${t.dport})`;
    }
    if (d.proto === 'udp') return `udp (${d.udp!.len}) (${d.udp!.sport} > ${d.udp!.dport})`;
    return `icmp type ${d.icmp!.type} code ${d.icmp!.code}`;
  }

  private findConn(sport: number, dport: number): Conn | undefined {
    for (let i = this.conns.length - 1; i >= 0; i--) {
      const c = this.conns[i]!;
      if (c.localPort === sport && c.remotePort === dport) return c;
    }
    return undefined;
  }

  /** Live options with SACK edges in relative form (the peer's sequence space). */
  private relOptions(opts: readonly WireOpt[], c: Conn | null): WireOpt[] {
    return opts.map((o) => (o.kind === 'sack' && c !== null && c.remoteIsn !== null
      ? { kind: 'sack', blocks: o.blocks.map(([l, r]) => [u32(l - c.remoteIsn!), u32(r - c.remoteIsn!)] as const) }
      : o));
  }

  private matchOutbound(ev: DrillEvent, p: PacketEvent, d: Decoded): void {
    const line = ev.loc.line;
    const mismatch = (field: string, exp: string, act: string): never => {
      throw new DrillStop('fail', `${field} mismatch: expected ${exp} but got ${act}`, line,
        `${p.text}`, this.describeLive(d), null, 'packet');
    };
    const spec = p.spec;
    if (spec.proto !== d.proto) mismatch('protocol', spec.proto, d.proto);
    if (p.addr !== null) {
      const ra = this.remoteAddrAt(p.addr.remote, line);
      if (!sameAddr(d.ip.dst, ra)) mismatch('destination address', `${ra.toString()} (addr[caddr${p.addr.remote}])`, d.ip.dst.toString());
      if (spec.proto !== 'icmp') this.cur = this.outboundConn(d);
    }
    // ip_info
    if (p.ip.ecn !== undefined) {
      const e = d.ip.tos & 3;
      const ok = p.ip.ecn === 'ect01' ? e === 1 || e === 2 : e === ({ noecn: 0, ect0: 2, ect1: 1, ce: 3 } as const)[p.ip.ecn];
      if (!ok) mismatch('ECN field', `[${p.ip.ecn}]`, `${['noecn', 'ect1', 'ect0', 'ce'][e]}`);
    }
    if (p.ip.tos !== undefined && d.ip.tos !== p.ip.tos) mismatch('tos', `0x${p.ip.tos.toString(16)}`, `0x${d.ip.tos.toString(16)}`);
    if (p.ip.tclass !== undefined && d.ip.tos !== p.ip.tclass) mismatch('traffic class', `0x${p.ip.tclass.toString(16)}`, `0x${d.ip.tos.toString(16)}`);
    if (p.ip.ttl !== undefined && d.ip.ttl !== p.ip.ttl) mismatch('ttl', String(p.ip.ttl), String(d.ip.ttl));
    if (p.ip.hlim !== undefined && d.ip.ttl !== p.ip.hlim) mismatch('hop limit', String(p.ip.hlim), String(d.ip.ttl));
    if (p.ip.flowlabel !== undefined && d.ip.flowlabel !== p.ip.flowlabel) mismatch('flow label', `0x${p.ip.flowlabel.toString(16)}`, `0x${d.ip.flowlabel.toString(16)}`);
    if (spec.proto === 'udp') {
      const c = this.outboundConn(d);
      void c;
      if (d.udp!.len !== spec.len) mismatch('UDP payload length', String(spec.len), String(d.udp!.len));
      return;
    }
    if (spec.proto === 'icmp') {
      const v6 = d.ip.family === 6;
      const type = (v6 ? ICMP6_TYPES : ICMP4_TYPES)[spec.type];
      const code = spec.code === null ? null : (v6 ? ICMP6_CODES : ICMP4_CODES)[spec.code];
      if (type === undefined || code === undefined) throw unsupported(`ICMP type/code '${spec.type} ${spec.code ?? ''}'`, line);
      if (d.icmp!.type !== type) mismatch('ICMP type', `${spec.type} (${type})`, String(d.icmp!.type));
      if (code !== null && d.icmp!.code !== code) mismatch('ICMP code', `${spec.code} (${code})`, String(d.icmp!.code));
      return;
    }
    const t = d.tcp!;
    const conn = this.outboundConn(d);
    if (conn.localPort !== null && t.sport !== conn.localPort) mismatch('source port', String(conn.localPort), String(t.sport));
    if (t.flags !== spec.flags) mismatch('flags', spec.flagText, flagString(t.flags));
    const syn = (t.flags & TH.SYN) !== 0;
    if (syn && !spec.absolute) {
      conn.localIsn = u32(t.seq - (spec.start ?? 0));
    } else if (spec.start !== null) {
      const rel = spec.absolute ? t.seq : u32(t.seq - (conn.localIsn ?? 0));
      if (rel !== u32(spec.start)) mismatch('sequence number', String(spec.start), String(rel));
    } else if (syn) {
      conn.localIsn = t.seq;
    }
    if (t.payloadLen !== spec.len) mismatch('payload length', String(spec.len), String(t.payloadLen));
    if ((t.flags & TH.ACK) !== 0 && spec.ack !== null) {
      const rel = spec.absolute ? t.ack : u32(t.ack - (conn.remoteIsn ?? 0));
      if (rel !== u32(spec.ack)) mismatch('ack number', String(spec.ack), String(rel));
    }
    if (spec.win !== null && t.win !== spec.win) mismatch('window', String(spec.win), String(t.win));
    if (spec.urg !== null && t.urg !== spec.urg) mismatch('urgent pointer', String(spec.urg), String(t.urg));
    if (spec.options !== null) this.matchOptions(ev, spec, t.options, conn, mismatch);
    // Record TS vals (even with <...> nothing can be recorded: no script value).
    if (spec.options !== null) {
      const eo = spec.options.find((o) => o.kind === 'ts');
      const lo = t.options.find((o) => o.kind === 'ts');
      if (eo !== undefined && eo.kind === 'ts' && lo !== undefined && lo.kind === 'ts' && eo.val !== null) {
        conn.tsMap.set(eo.val, lo.val);
        if (conn.tsFirst === null) conn.tsFirst = { script: eo.val, live: lo.val };
      }
    }
  }

  private matchOptions(
    ev: DrillEvent, spec: TcpSpec, live: readonly WireOpt[], conn: Conn, mismatch: (f: string, e: string, a: string) => never,
  ): void {
    const exp = spec.options!;
    const rel = this.relOptions(live, conn);
    const expText = `<${exp.map(optText).join(',')}>`;
    const actText = `<${formatOptions(rel)}>`;
    if (exp.length !== rel.length) mismatch('TCP options', expText, actText);
    for (let i = 0; i < exp.length; i++) {
      const e = exp[i]!, a = rel[i]!;
      if (e.kind === 'unsupported') throw unsupported(`TCP option '${e.name}'`, ev.loc.line);
      if (e.kind !== a.kind) mismatch('TCP options', expText, actText);
      switch (e.kind) {
        case 'mss': case 'wscale':
          if (a.kind === e.kind && a.value !== e.value) mismatch(`TCP option ${e.kind}`, String(e.value), String(a.value));
          break;
        case 'sack': {
          const got = a.kind === 'sack' ? a.blocks.map(([l, r]) => `${l}:${r}`).join(' ') : '';
          const want = e.blocks.map(([l, r]) => `${u32(l)}:${u32(r)}`).join(' ');
          if (got !== want) mismatch('SACK blocks', want, got);
          break;
        }
        case 'ts': {
          if (a.kind !== 'ts' || e.val === null || this.cfg.tcpTsTickUsecs === 0 || conn.tsFirst === null) break;
          const translated = conn.tsFirst.script + u32(a.val - conn.tsFirst.live);
          if (Math.abs(translated - e.val) * this.cfg.tcpTsTickUsecs > this.cfg.toleranceUsecs) {
            mismatch('TS val', String(e.val), String(translated));
          }
          break;
        }
        default: break;
      }
    }
  }

  // ---- syscalls ----

  private num(e: Expr, line: number): number {
    switch (e.kind) {
      case 'num': return e.value;
      case 'sym': {
        const v = symbolValue(e.name) ?? errnoValue(e.name);
        if (v === undefined) throw unsupported(`symbol '${e.name}'`, line);
        return v;
      }
      case 'or': return (this.num(e.left, line) | this.num(e.right, line)) >>> 0;
      case 'call':
        if ((e.name === 'htons' || e.name === 'htonl' || e.name === 'ntohs' || e.name === 'ntohl') && e.args.length === 1) return this.num(e.args[0]!, line);
        throw unsupported(`function '${e.name}' in an argument`, line);
      case 'array': if (e.items.length === 1) return this.num(e.items[0]!, line); break;
      default: break;
    }
    throw new DrillStop('error', `expected a number, got ${e.kind === 'ellipsis' ? '...' : e.kind}`, line, null, null, e.loc.col);
  }

  private fd(e: Expr, line: number): { n: number; f: FdEntry | null } {
    const n = this.num(e, line);
    return { n, f: this.fds.get(n) ?? null };
  }

  private localSockaddr(port: number): Uint8Array {
    if (this.sockFamily === 4) return sockaddrIn(this.local, port);
    if (this.family === 4) return sockaddrIn6(IpAddr.of(`::ffff:${this.local.toString()}`), port);
    return sockaddrIn6(this.local, port);
  }
  private remoteSockaddr(port: number): Uint8Array {
    if (this.sockFamily === 4) return sockaddrIn(this.remote, port);
    if (this.family === 4) return sockaddrIn6(IpAddr.of(`::ffff:${this.remote.toString()}`), port);
    return sockaddrIn6(this.remote, port);
  }

  private addrArg(e: Expr | undefined, def: () => Uint8Array, line: number): Uint8Array {
    if (e === undefined || e.kind === 'ellipsis') return def();
    throw unsupported('explicit socket addresses (write ... for the default address)', line);
  }

  /** Buffer length of a data argument: `...` with the length argument, or a number. */
  private async syscall(ev: DrillEvent, c: SyscallEvent, startUs: number): Promise<void> {
    const line = ev.loc.line;
    if (c.end !== null && this.pending !== null) {
      throw new DrillStop('error', `a second blocking call while ${this.pending.call.name}() (line ${this.pending.ev.loc.line}) is pending`, line);
    }
    let recheck: (() => CallResult | null) | null = null;
    const out = this.callSyscall(ev, c, (r) => { recheck = r; });
    if (recheck !== null) {
      // poll() that must wait.
      if (c.end === null) throw new DrillStop('fail', `syscall expected to be non-blocking blocked: ${c.name}()`, line, null, null, null, 'syscall');
      this.startPending(ev, c, startUs, null, recheck);
      return;
    }
    if (out instanceof Promise) {
      if (c.end === null) {
        throw new DrillStop('fail', `syscall expected to be non-blocking blocked: ${c.name}() (write T1...T2 for a blocking call)`, line,
          null, null, null, 'syscall');
      }
      this.startPending(ev, c, startUs, out, null);
      return;
    }
    if (c.end !== null) {
      // A blocking call that completed at once.
      const p = this.makePending(ev, c, startUs, null);
      p.done = true; p.result = out; p.doneAt = this.now;
      this.finishBlocking(p);
      return;
    }
    this.checkResult(ev, c, out);
  }

  private makePending(ev: DrillEvent, c: SyscallEvent, startUs: number, recheck: (() => CallResult | null) | null): Pending {
    const end = c.end!;
    const e = end.rel ? startUs + end.us : end.us;
    return { ev, call: c, startUs, endLo: e, endHi: e, done: false, result: null, doneAt: 0, failure: null, recheck };
  }

  private startPending(ev: DrillEvent, c: SyscallEvent, startUs: number, p: Promise<CallResult> | null, recheck: (() => CallResult | null) | null): void {
    const pend = this.makePending(ev, c, startUs, recheck);
    if (p !== null) {
      p.then(
        (r) => { pend.done = true; pend.result = r; pend.doneAt = this.now; },
        (err: unknown) => { pend.done = true; pend.failure = err; },
      );
    }
    this.pending = pend;
  }

  private finishBlocking(p: Pending): void {
    this.log(`${p.call.name}() returned ${p.result!.ret}${p.result!.errno !== 0 ? ` ${errnoName(p.result!.errno)}` : ''} (blocking call of line ${p.ev.loc.line})`);
    this.checkResult(p.ev, p.call, p.result!);
    const tol = this.tol(p.endLo, p.startUs);
    if (p.doneAt < p.endLo - tol || p.doneAt > p.endHi + tol) {
      throw new DrillStop('fail', `timing error: expected ${p.call.name}() to return at ${fmtTime(p.endLo)} but it returned at ${fmtTime(p.doneAt)}`,
        p.ev.loc.line, fmtTime(p.endLo), fmtTime(p.doneAt), null, 'syscall');
    }
  }

  private checkResult(ev: DrillEvent, c: SyscallEvent, r: CallResult): void {
    const line = ev.loc.line;
    const creates = c.name === 'socket' || c.name === 'accept';
    const actual = r.ret < 0 ? `${r.ret} ${errnoName(r.errno)}` : String(r.ret);
    if (c.result.kind === 'ellipsis') return;
    const want = this.num(c.result, line) | 0;
    let ok: boolean;
    if (want === -1) {
      ok = r.ret === -1;
      if (ok && c.errno !== null) {
        const ev2 = errnoValue(c.errno);
        if (ev2 === undefined) throw new DrillStop('error', `unknown errno name ${c.errno}`, line);
        ok = ev2 === r.errno;
      }
    } else {
      ok = creates ? r.ret >= 0 : r.ret === want;
    }
    if (!ok) {
      const expected = want === -1 ? `-1${c.errno !== null ? ` ${c.errno}` : ''}` : String(want);
      throw new DrillStop('fail', `${c.name}(): expected result ${expected} but got ${actual}`, line, expected, actual, null, 'syscall');
    }
  }

  /** Runs the call; returns its result, a Promise of it (blocked), or registers a recheck (poll). */
  private callSyscall(ev: DrillEvent, c: SyscallEvent, setRecheck: (f: () => CallResult | null) => void): CallResult | Promise<CallResult> {
    const line = ev.loc.line;
    const a = c.args;
    const arg = (i: number): Expr => {
      const e = a[i];
      if (e === undefined) throw new DrillStop('error', `${c.name}() needs at least ${i + 1} arguments`, line);
      return e;
    };
    const res = (errno: number, ret = 0): CallResult => (errno === 0 ? { ret, errno: 0 } : { ret: -1, errno });
    const wrap = (r: number | Promise<number>, ok: () => CallResult): CallResult | Promise<CallResult> =>
      (typeof r === 'number' ? (r === 0 ? ok() : res(r)) : r.then((e) => (e === 0 ? ok() : res(e))));
    const withFd = (f: (e: FdEntry, n: number) => CallResult | Promise<CallResult>): CallResult | Promise<CallResult> => {
      const { n, f: e } = this.fd(arg(0), line);
      return e === null ? res(EBADF) : f(e, n);
    };
    switch (c.name) {
      case 'socket': {
        const dom = a[0]?.kind === 'ellipsis' ? (this.sockFamily === 4 ? AF_INET : AF_INET6) : this.num(arg(0), line);
        const type = this.num(arg(1), line);
        const proto = this.num(arg(2), line);
        if (proto === symbolValue('IPPROTO_MPTCP')) throw unsupported('IPPROTO_MPTCP sockets', line);
        const box: Box<KpiSocket | null> = { value: null };
        const e = this.kernel.sock_socket(dom, type, proto, null, null, box);
        if (e !== 0) return res(e);
        const want = this.num(c.result, line);
        const n = want >= 0 ? want : 1000 + this.fds.size;
        const kind: 'tcp' | 'udp' = (type & 0xf) === SOCK_DGRAM || proto === IPPROTO_UDP ? 'udp' : 'tcp';
        void SOCK_STREAM; void IPPROTO_TCP;
        this.fds.set(n, { ks: box.value!, proto: kind, conn: null });
        this.sutFd = n;
        this.cur = null;
        this.sutConnStarted = false;
        return { ret: n, errno: 0 };
      }
      case 'bind': return withFd((f) => res(sock_bind(f.ks, this.addrArg(a[1], () => this.localSockaddr(this.cfg.bindPort), line))));
      case 'listen': return withFd((f) => res(sock_listen(f.ks, this.num(arg(1), line))));
      case 'connect': return withFd((f) => {
        const sa = this.addrArg(a[1], () => this.remoteSockaddr(this.cfg.connectPort), line);
        const r = sock_connect(f.ks, sa, 0);
        // Only a connect() that starts a handshake (blocking, EINPROGRESS, or done at once) begins a
        // new connection; one that fails (EALREADY, EISCONN, EINVAL...) leaves the record, and the
        // ISNs learned so far, alone. The SYN it sent is only queued, so recording it now is early
        // enough for the outbound match.
        if (f.proto === 'tcp' && (typeof r !== 'number' || r === 0 || r === EINPROGRESS)) {
          const conn = this.newConn('tcp', null, this.cfg.connectPort);
          this.cur = conn;
          this.sutConnStarted = true;
          f.conn = conn;
        }
        if (f.proto === 'udp' && r === 0) {
          const conn = this.newConn('udp', this.localPortOf(f.ks), this.cfg.connectPort);
          this.cur = conn;
          f.conn = conn;
        }
        return wrap(r, () => res(0));
      });
      case 'accept': return withFd((f) => {
        const box: Box<KpiSocket | null> = { value: null };
        const r = sock_accept(f.ks, null, 0, 0, null, null, box);
        return wrap(r, () => {
          const ks = box.value!;
          const want = this.num(c.result, line);
          const n = want >= 0 ? want : 1000 + this.fds.size;
          const pcb = ks.so.so_pcb as InPcb | null;
          const conn = pcb === null ? undefined : this.findConn(pcb.lport, pcb.fport);
          this.fds.set(n, { ks, proto: f.proto, conn: conn ?? null });
          return { ret: n, errno: 0 };
        });
      });
      case 'write': case 'send': case 'sendto': case 'writev': case 'sendmsg': return withFd((f) => {
        let len: number, flags = 0, name: Uint8Array | null = null;
        if (c.name === 'writev') len = this.iovLen(arg(1), line);
        else if (c.name === 'sendmsg') {
          const m = this.msgArg(arg(1), line);
          len = m.len;
          if (m.named) name = this.remoteSockaddr(this.cfg.connectPort);
          flags = this.num(arg(2), line);
        } else {
          len = this.num(arg(2), line);
          if (c.name !== 'write') flags = this.num(arg(3), line);
          if (c.name === 'sendto') name = this.addrArg(a[4], () => this.remoteSockaddr(this.cfg.connectPort), line);
        }
        const msg = newMsghdr([new Uint8Array(len)], { name });
        const sent: Box<number> = { value: 0 };
        const r = sock_send(f.ks, msg, flags, sent);
        const fin = (e: number): CallResult => (e === 0 || (sent.value > 0 && (e === EWOULDBLOCK || e === EINTR)) ? { ret: sent.value, errno: 0 } : res(e));
        return typeof r === 'number' ? fin(r) : r.then(fin);
      });
      case 'read': case 'recv': case 'recvfrom': case 'readv': case 'recvmsg': return withFd((f) => {
        let len: number, flags = 0;
        if (c.name === 'readv') len = this.iovLen(arg(1), line);
        else if (c.name === 'recvmsg') { len = this.msgArg(arg(1), line).len; flags = this.num(arg(2), line); }
        else {
          len = this.num(arg(2), line);
          if (c.name !== 'read') flags = this.num(arg(3), line);
        }
        const msg = newMsghdr([new Uint8Array(len)], { name: c.name === 'recvfrom' || c.name === 'recvmsg' ? new Uint8Array(128) : null });
        const got: Box<number> = { value: 0 };
        const r = sock_receive(f.ks, msg, flags, got);
        const fin = (e: number): CallResult => (e === 0 || (got.value > 0 && (e === EWOULDBLOCK || e === EINTR)) ? { ret: got.value, errno: 0 } : res(e));
        return typeof r === 'number' ? fin(r) : r.then(fin);
      });
      case 'close': return withFd((f, n) => {
        this.fds.delete(n);
        const r = sock_close(f.ks);
        return r instanceof Promise ? r.then(() => res(0)) : res(0);
      });
      case 'shutdown': return withFd((f) => res(sock_shutdown(f.ks, this.num(arg(1), line))));
      case 'setsockopt': return withFd((f) => {
        const level = this.num(arg(1), line);
        const name = this.optName(arg(2), line);
        const v = arg(3);
        let bytes: Uint8Array;
        if (v.kind === 'struct') {
          const onoff = this.field(v, ['l_onoff', 'onoff'], line);
          const lin = this.field(v, ['l_linger', 'linger'], line);
          bytes = sockoptLinger(onoff, lin);
        } else {
          bytes = sockoptInt(this.num(v, line));
        }
        return res(sock_setsockopt(f.ks, level, name, bytes, bytes.length));
      });
      case 'getsockopt': return withFd((f) => {
        const level = this.num(arg(1), line);
        const name = this.optName(arg(2), line);
        const v = arg(3);
        const lenArg = a[4];
        const wantLen = lenArg === undefined || lenArg.kind === 'ellipsis' ? null : this.num(lenArg, line);
        const isLinger = v.kind === 'struct' || (level === 0xffff && name === SO_LINGER);
        const buf = new Uint8Array(isLinger ? 8 : Math.max(4, wantLen ?? 4));
        const len: Box<number> = { value: buf.length };
        const e = sock_getsockopt(f.ks, level, name, buf, len);
        if (e !== 0) return res(e);
        const dv = new DataView(buf.buffer);
        if (v.kind === 'struct') {
          const got = { l_onoff: dv.getInt32(0, true), l_linger: dv.getInt32(4, true) };
          for (const fl of v.fields) {
            const key = fl.name === 'onoff' ? 'l_onoff' : fl.name === 'linger' ? 'l_linger' : fl.name;
            if (key !== 'l_onoff' && key !== 'l_linger') throw unsupported(`linger field ${fl.name}`, line);
            if (fl.value.kind === 'ellipsis') continue;
            const want = this.num(fl.value, line);
            if (got[key] !== want) throw new DrillStop('fail', `getsockopt: ${key} expected ${want} but got ${got[key]}`, line, String(want), String(got[key]), null, 'syscall');
          }
        } else if (v.kind !== 'ellipsis') {
          const want = this.num(v, line);
          const val = len.value >= 4 ? dv.getInt32(0, true) : buf[0]!;
          if (val !== want) {
            const wantText = v.kind === 'array' && v.items[0]?.kind === 'sym' ? `${v.items[0].name} (${want})` : String(want);
            throw new DrillStop('fail', `getsockopt: value expected ${wantText} but got ${val}${val > 0 && val < 200 && errnoValue(errnoName(val)) === val ? ` (${errnoName(val)})` : ''}`,
              line, wantText, String(val), null, 'syscall');
          }
        }
        if (wantLen !== null && len.value !== wantLen) {
          throw new DrillStop('fail', `getsockopt: optlen expected ${wantLen} but got ${len.value}`, line, String(wantLen), String(len.value), null, 'syscall');
        }
        return res(0);
      });
      case 'fcntl': return withFd((f) => {
        const cmd = this.num(arg(1), line);
        if (cmd === symbolValue('F_GETFL')) return { ret: 2 | ((f.ks.so.so_state & SS_NBIO) !== 0 ? 4 : 0), errno: 0 };
        if (cmd === symbolValue('F_SETFL')) {
          const fl = this.num(arg(2), line);
          return res(sock_ioctl(f.ks, FIONBIO, { value: (fl & 4) !== 0 ? 1 : 0 }));
        }
        throw unsupported(`fcntl command ${cmd}`, line);
      });
      case 'ioctl': return withFd((f) => {
        const req = this.num(arg(1), line);
        if (req !== FIONREAD && req !== FIONBIO) throw unsupported(`ioctl request 0x${req.toString(16)}`, line);
        const box: Box<number> = { value: req === FIONBIO ? this.num(arg(2), line) : 0 };
        const e = sock_ioctl(f.ks, req, box);
        if (e !== 0) return res(e);
        const v = a[2];
        if (req === FIONREAD && v !== undefined && v.kind !== 'ellipsis') {
          const want = this.num(v, line);
          if (box.value !== want) throw new DrillStop('fail', `ioctl(FIONREAD): expected ${want} but got ${box.value}`, line, String(want), String(box.value), null, 'syscall');
        }
        return res(0);
      });
      case 'poll': {
        const arr = arg(0);
        if (arr.kind !== 'array') throw new DrillStop('error', 'poll() takes an array of pollfd structs', line);
        const items = arr.items.map((it) => {
          if (it.kind !== 'struct') throw new DrillStop('error', 'poll() takes an array of pollfd structs', line);
          const fdn = this.field(it, ['fd'], line);
          const events = this.field(it, ['events'], line);
          const rv = it.fields.find((x) => x.name === 'revents');
          return { fdn, events, revents: rv === undefined || rv.value.kind === 'ellipsis' ? null : this.num(rv.value, line) };
        });
        const timeout = this.num(arg(2), line);
        const evaluate = (final: boolean): CallResult | null => {
          let n = 0;
          const got: number[] = [];
          for (const it of items) {
            const rev = this.pollEvents(it.fdn, it.events);
            got.push(rev);
            if (rev !== 0) n++;
          }
          if (n === 0 && !final) return null;
          items.forEach((it, i) => {
            if (it.revents !== null && got[i] !== it.revents) {
              throw new DrillStop('fail', `poll(): revents of fd ${it.fdn} expected 0x${it.revents.toString(16)} but got 0x${got[i]!.toString(16)}`,
                line, `0x${it.revents.toString(16)}`, `0x${got[i]!.toString(16)}`, null, 'syscall');
            }
          });
          return { ret: n, errno: 0 };
        };
        const now = evaluate(timeout === 0);
        if (now !== null) return now;
        const deadline = timeout < 0 ? Infinity : this.now + timeout * 1000;
        setRecheck(() => evaluate(this.now >= deadline));
        return { ret: 0, errno: 0 };
      }
      default:
        throw unsupported(`syscall ${c.name}()`, line);
    }
  }

  private pollEvents(fdn: number, events: number): number {
    const f = this.fds.get(fdn);
    if (f === undefined) return 0x20; // POLLNVAL
    const so = f.ks.so;
    let r = 0;
    if (soreadable(so)) r |= events & (0x1 | 0x40);
    if (sowriteable(so) && (so.so_state & SS_CANTSENDMORE) === 0) r |= events & 0x4;
    if (so.so_error !== 0) r |= 0x8;
    if ((so.so_state & SS_CANTSENDMORE) !== 0 && (so.so_state & SS_CANTRCVMORE) !== 0) r |= 0x10;
    return r;
  }

  private field(s: Expr & { kind: 'struct' }, names: readonly string[], line: number): number {
    const f = s.fields.find((x) => names.includes(x.name));
    if (f === undefined) throw new DrillStop('error', `struct needs field ${names[0]}`, line);
    return this.num(f.value, line);
  }

  private optName(e: Expr, line: number): number {
    if (e.kind === 'sym' && e.name === 'TCP_INFO') throw unsupported('getsockopt/setsockopt TCP_INFO (use a %{ assert tcpi_... }% code event)', line);
    return this.num(e, line);
  }

  private iovLen(e: Expr, line: number): number {
    if (e.kind === 'ellipsis') throw unsupported('readv/writev with ... iovecs', line);
    if (e.kind !== 'array') throw new DrillStop('error', 'expected an iovec array', line);
    let n = 0;
    for (const it of e.items) {
      if (it.kind !== 'struct') throw new DrillStop('error', 'expected {iov_base=..., iov_len=N}', line);
      n += this.field(it, ['iov_len'], line);
    }
    return n;
  }

  private msgArg(e: Expr, line: number): { len: number; named: boolean } {
    if (e.kind !== 'struct') throw unsupported('msghdr other than a {msg_name=..., msg_iov=[...], ...} literal', line);
    const iov = e.fields.find((f) => f.name === 'msg_iov');
    if (iov === undefined) throw new DrillStop('error', 'msghdr needs msg_iov', line);
    const ctl = e.fields.find((f) => f.name === 'msg_control');
    if (ctl !== undefined && ctl.value.kind !== 'ellipsis' && !(ctl.value.kind === 'num' && ctl.value.value === 0)) throw unsupported('msg_control', line);
    const name = e.fields.find((f) => f.name === 'msg_name');
    return { len: this.iovLen(iov.value, line), named: name !== undefined && !(name.value.kind === 'num' && name.value.value === 0) };
  }

  // ---- shell commands ----

  private command(ev: DrillEvent, cmd: string): void {
    const line = ev.loc.line;
    const sysctl = /^sysctl\s+(.*)$/.exec(cmd);
    if (sysctl !== null) {
      const words = sysctl[1]!.trim().split(/\s+/).filter((w) => w !== '-w' && w !== '-q');
      if (words.length === 0) throw unsupported(`command \`${cmd}\``, line);
      for (const w of words) {
        if (w.startsWith('-')) throw unsupported(`sysctl option ${w}`, line);
        const eq = w.indexOf('=');
        if (eq < 0) throw unsupported(`sysctl read \`${cmd}\` (only assignments are emulated)`, line);
        this.applySysctl(w.slice(0, eq), w.slice(eq + 1), line);
      }
      return;
    }
    if (/^(sockstat|netstat)\b/.test(cmd) && /\|\s*grep\b/.test(cmd)) {
      const count = this.countStates(cmd, line);
      const cmp = /-(eq|ne|gt|ge|lt|le)\s+(\d+)/.exec(cmd);
      let ok: boolean;
      if (cmp !== null) {
        const n = Number(cmp[2]);
        ok = { eq: count === n, ne: count !== n, gt: count > n, ge: count >= n, lt: count < n, le: count <= n }[cmp[1] as 'eq'];
      } else {
        ok = count > 0;
      }
      if (/^\s*!/.test(cmd) || /\|\s*grep\s+-v/.test(cmd)) ok = !ok;
      this.log(`  (emulated: ${count} connection(s) match)`);
      if (!ok) throw new DrillStop('fail', `command \`${cmd}\` failed (emulated: ${count} matching connection(s))`, line, 'exit 0', `count ${count}`);
      return;
    }
    const drop = /^tcpdrop\s+(.*)$/.exec(cmd);
    if (drop !== null) {
      const s = /-s\s+([A-Z_0-9]+)/.exec(drop[1]!);
      const all = /(^|\s)-a(\s|$)/.test(drop[1]!);
      if (s === null && !all) throw unsupported(`command \`${cmd}\` (tcpdrop -s STATE or -a are emulated)`, line);
      const st = s === null ? null : TCP_STATES[s[1]!];
      if (s !== null && st === undefined) throw new DrillStop('error', `tcpdrop: unknown state ${s[1]}`, line);
      let n = 0;
      for (const tp of this.stack.tcp.tcpcbs()) {
        if (tp.t_state === 1) continue;
        if (st === null || tp.t_state === st) { tcpDrop(this.stack.tcp, tp, ECONNABORTED, this.now as Instant); n++; }
      }
      this.log(`  (emulated: dropped ${n} connection(s))`);
      return;
    }
    throw unsupported(`command \`${cmd}\``, line);
  }

  /** Applies one sysctl to the running stack (see tools/drill/index.ts for when it takes effect). */
  applySysctl(name: string, value: string, line: number | null): void {
    const r = sysctlSet(this.profile, name, value);
    if (!r.ok) {
      if (r.kind === 'bad-value') throw new DrillStop('error', r.message, line);
      throw unsupported(r.message, line);
    }
    this.profile = r.profile;
    // The stack reads tcp.profile live: the new profile applies from the next event on.
    this.stack.tcp.setProfile(r.profile);
    if (r.action === 'hostcache-purge') this.stack.ip.pmtu.clear();
  }

  private countStates(cmd: string, line: number): number {
    const names = Object.keys(TCP_STATES).sort((x, y) => y.length - x.length);
    const grepPart = cmd.slice(cmd.indexOf('|'));
    let state: number | undefined;
    for (const n of names) if (new RegExp(`\\b${n}\\b`).test(grepPart)) { state = TCP_STATES[n]; break; }
    if (state === undefined) throw unsupported(`command \`${cmd}\` (no TCP state name to count)`, line);
    const pm = /-p\s+(\d+)/.exec(cmd) ?? /[:.](\d+)\b/.exec(grepPart);
    const port = pm === null ? null : Number(pm[1]);
    let n = 0;
    for (const tp of this.stack.tcp.tcpcbs()) {
      if (tp.t_state !== state) continue;
      const pcb = tp.t_inpcb;
      if (port === null || pcb.lport === port || pcb.fport === port) n++;
    }
    return n;
  }

  // ---- code events ----

  private tcpcbUnderTest(): Tcpcb | null {
    const c = this.cur;
    const all = this.stack.tcp.tcpcbs();
    if (c !== null && c.localPort !== null) {
      for (const tp of all) if (tp.t_inpcb.lport === c.localPort && tp.t_inpcb.fport === c.remotePort) return tp;
    }
    const s = this.sut();
    if (s !== null) {
      const pcb = s.ks.so.so_pcb as InPcb | null;
      const tp = pcb === null ? null : (pcb.ppcb as Tcpcb | null);
      if (tp !== null) return tp;
    }
    return null;
  }

  /** tcp_info of the socket under test, BSD flavour (tcpi_rto, tcpi_rtt in µs; cwnd in bytes). */
  tcpInfo(): Record<string, number> {
    const tp = this.tcpcbUnderTest();
    const ti: Record<string, number> = { tcpi_state: 0 };
    if (tp === null) return ti;
    const f = tp.t_flags;
    let opts = 0;
    if ((f & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) opts |= 1;
    if ((f & TF_SACK_PERMIT) !== 0) opts |= 2;
    const ws = (f & (TF_REQ_SCALE | TF_RCVD_SCALE)) === (TF_REQ_SCALE | TF_RCVD_SCALE);
    if (ws) opts |= 4;
    Object.assign(ti, {
      tcpi_state: tp.t_state, tcpi_options: opts, tcpi_snd_wscale: ws ? tp.snd_scale : 0, tcpi_rcv_wscale: ws ? tp.rcv_scale : 0,
      tcpi_rto: tp.t_rxtcur, tcpi_snd_mss: tp.t_maxseg, tcpi_rcv_mss: tp.t_maxseg, tcpi_snd_cwnd: tp.snd_cwnd,
      tcpi_snd_ssthresh: tp.snd_ssthresh, tcpi_snd_wnd: tp.snd_wnd, tcpi_rcv_space: tp.rcv_wnd, tcpi_rtt: tp.rtt.srttUs,
      tcpi_rttvar: tp.rtt.rttvarUs, tcpi_snd_nxt: u32(tp.snd_nxt - tp.iss), tcpi_rcv_nxt: u32(tp.rcv_nxt - tp.irs),
      tcpi_snd_rexmitpack: 0, tcpi_rcv_ooopack: 0, tcpi_snd_zerowin: 0,
    });
    delete ti['tcpi_snd_rexmitpack']; delete ti['tcpi_rcv_ooopack']; delete ti['tcpi_snd_zerowin'];
    return ti;
  }

  private code(ev: DrillEvent, code: string): void {
    const line = ev.loc.line;
    const vars: Record<string, number> = {
      ...this.tcpInfo(),
      TCPI_OPT_TIMESTAMPS: 1, TCPI_OPT_SACK: 2, TCPI_OPT_WSCALE: 4, TCPI_OPT_ECN: 8, TCPI_OPT_TOE: 16,
    };
    for (const [k, v] of Object.entries(TCP_STATES)) { vars[`TCPI_${k}`] = v; vars[`TCP_${k}`] = v; vars[`TCPS_${k}`] = v; }
    const lines = code.split('\n');
    lines.forEach((raw, i) => {
      const l = raw.trim();
      if (l === '' || l.startsWith('#')) return;
      const m = /^assert\s+(.+)$/.exec(l);
      if (m === null) throw unsupported(`code event line '${l}' (only 'assert EXPR op EXPR' is evaluated)`, line + i);
      const r = evalAssert(m[1]!, vars);
      if (typeof r === 'string') throw unsupported(`code event: ${r}`, line + i);
      if (!r.ok) {
        throw new DrillStop('fail', `assertion failed: ${m[1]} (${r.left} ${r.op} ${r.right} is false)`, line + i, m[1]!, `${r.left} ${r.op} ${r.right}`);
      }
    });
  }
}

function optText(o: TcpOption): string {
  switch (o.kind) {
    case 'nop': case 'eol': case 'sackOK': return o.kind;
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.value}`;
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'ts': return `TS val ${o.val ?? '...'} ecr ${o.ecr ?? '...'}`;
    case 'unsupported': return o.name;
  }
}

// ---- assert evaluator: integers, names, | & + - * / ( ), one comparison ----

export function evalAssert(text: string, vars: Readonly<Record<string, number>>): { ok: boolean; left: number; op: string; right: number } | string {
  const toks = text.match(/\s*(0x[0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|<|>|[|&+\-*/()])/g);
  if (toks === null || toks.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) return `cannot evaluate '${text}'`;
  const t = toks.map((x) => x.trim());
  let i = 0;
  const peek = (): string | undefined => t[i];
  const bad = (why: string): never => { throw new Error(why); };
  const primary = (): number => {
    const x = t[i++];
    if (x === undefined) return bad('unexpected end');
    if (x === '(') { const v = orE(); if (t[i++] !== ')') bad('missing )'); return v; }
    if (x === '-') return -primary();
    if (/^(0x[0-9a-fA-F]+|\d+)$/.test(x)) return Number(x);
    if (/^[A-Za-z_]/.test(x)) {
      const v = vars[x];
      if (v === undefined) return bad(`name '${x}' is not available`);
      return v;
    }
    return bad(`unexpected '${x}'`);
  };
  const mul = (): number => { let v = primary(); while (peek() === '*' || peek() === '/') { const o = t[i++]; const r = primary(); v = o === '*' ? v * r : Math.trunc(v / r); } return v; };
  const add = (): number => { let v = mul(); while (peek() === '+' || peek() === '-') { const o = t[i++]; const r = mul(); v = o === '+' ? v + r : v - r; } return v; };
  const andE = (): number => { let v = add(); while (peek() === '&') { i++; v = v & add(); } return v; };
  const orE = (): number => { let v = andE(); while (peek() === '|') { i++; v = v | andE(); } return v; };
  try {
    const left = orE();
    const op = t[i++];
    if (op === undefined) return { ok: left !== 0, left, op: '!=', right: 0 };
    if (!['==', '!=', '<', '<=', '>', '>='].includes(op)) return `unsupported operator '${op}'`;
    const right = orE();
    if (i !== t.length) return `trailing '${t.slice(i).join(' ')}'`;
    const ok = op === '==' ? left === right : op === '!=' ? left !== right : op === '<' ? left < right
      : op === '<=' ? left <= right : op === '>' ? left > right : left >= right;
    return { ok, left, op, right };
  } catch (e) {
    return (e as Error).message;
  }
}
