// Drill packets (reference §6–§8): routing packets to connections, translating inbound packets
// from script-relative to live numbers, and matching the stack's outbound packets field by field.

import type { Instant } from '../../stack/time/instant.js';
import { mFromBytes } from '../../stack/mbuf/chain.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { sock_getsockname, sockaddrPort } from '../../kpi/index.js';
import type { KpiSocket } from '../../kpi/index.js';
import { SO_ACCEPTCONN } from '../../kpi/darwin-constants.js';
import type { DrillEvent, IcmpSpec, PacketEvent, TcpOption, TcpSpec } from './ast.js';
import {
  buildIcmp, buildTcp, buildUdp, decode, flagString, foText, formatOptions, ICMP4_CODES, ICMP4_TYPES, ICMP6_CODES, ICMP6_TYPES,
  quotePacket, tcpBytes, TH,
} from './packet.js';
import type { Decoded, IpFields, WireOpt } from './packet.js';
import { DrillRunnerBase, DrillStop, unsupported, sameAddr, fmtTime, u32, MAX_WAIT_US } from './run-base.js';
import type { Conn, FdEntry } from './run-base.js';

export abstract class DrillPackets extends DrillRunnerBase {
  protected onTransmit(b: Uint8Array): void {
    const d = decode(b);
    if (d === null) return;
    // Neighbour discovery / MLD are not the script's business.
    if (d.proto === 'icmp' && d.ip.family === 6 && d.icmp!.type >= 130) return;
    this.outq.push({ pkt: d, at: this.now });
    if (this.opts.verbose) this.log(`  (stack sent: ${this.describeLive(d)})`);
  }

  // ---- connections ----

  protected freshRemotePort(): number { return this.nextRemotePort++; }

  protected sut(): FdEntry | null { return this.sutFd === null ? null : this.fds.get(this.sutFd) ?? null; }

  protected localPortOf(ks: KpiSocket): number | null {
    const sa = new Uint8Array(128);
    return sock_getsockname(ks, sa, sa.length) === 0 ? sockaddrPort(sa) || null : null;
  }

  protected newConn(proto: 'tcp' | 'udp', localPort: number | null, remotePort: number, remoteAddr: IpAddr = this.remote): Conn {
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
  protected inboundConn(p: PacketEvent, line: number): Conn {
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
  protected remoteAddrAt(n: number, line: number | null): IpAddr {
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
  protected outboundConn(d: Decoded): Conn {
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

  protected ipFields(src: IpAddr, dst: IpAddr, p: PacketEvent): IpFields {
    let tos = p.ip.tos ?? p.ip.tclass ?? 0;
    if (p.ip.ecn !== undefined) tos = (tos & ~3) | ({ noecn: 0, ect0: 2, ect1: 1, ce: 3, ect01: 2 } as const)[p.ip.ecn];
    return { family: this.family, src, dst, tos, ttl: p.ip.ttl ?? p.ip.hlim ?? 64, flowlabel: p.ip.flowlabel ?? 0 };
  }

  // ---- inbound ----

  protected inject(ev: DrillEvent, p: PacketEvent): void {
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

  protected inboundOption(ev: DrillEvent, o: TcpOption, conn: Conn, spec: TcpSpec): WireOpt {
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
      case 'fo': return { kind: 'fo', cookie: o.cookie, exp: o.exp };
      case 'unsupported': throw unsupported(`TCP option '${o.name}'`, ev.loc.line);
    }
  }

  protected buildIcmpIn(ev: DrillEvent, s: IcmpSpec, ip: IpFields, conn: Conn): Uint8Array {
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

  protected fixQuotedLength(q: Uint8Array, l4len: number): void {
    if (this.family === 4) {
      const total = 20 + l4len;
      q[2] = (total >>> 8) & 255; q[3] = total & 255;
    } else {
      q[4] = (l4len >>> 8) & 255; q[5] = l4len & 255;
    }
  }

  // ---- outbound ----

  protected async expectOutbound(ev: DrillEvent, p: PacketEvent, w: { lo: number; hi: number; any: boolean }): Promise<number> {
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

  protected describeLive(d: Decoded): string {
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

  protected findConn(sport: number, dport: number): Conn | undefined {
    for (let i = this.conns.length - 1; i >= 0; i--) {
      const c = this.conns[i]!;
      if (c.localPort === sport && c.remotePort === dport) return c;
    }
    return undefined;
  }

  /** Live options with SACK edges in relative form (the peer's sequence space). */
  protected relOptions(opts: readonly WireOpt[], c: Conn | null): WireOpt[] {
    return opts.map((o) => (o.kind === 'sack' && c !== null && c.remoteIsn !== null
      ? { kind: 'sack', blocks: o.blocks.map(([l, r]) => [u32(l - c.remoteIsn!), u32(r - c.remoteIsn!)] as const) }
      : o));
  }

  protected matchOutbound(ev: DrillEvent, p: PacketEvent, d: Decoded): void {
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

  protected matchOptions(
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
        case 'fo':
          if (a.kind === 'fo' && (a.exp !== e.exp || foText(a.cookie, false) !== foText(e.cookie, false))) {
            mismatch('TCP option FO', foText(e.cookie, e.exp), foText(a.cookie, a.exp));
          }
          break;
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
}

function optText(o: TcpOption): string {
  switch (o.kind) {
    case 'nop': case 'eol': case 'sackOK': return o.kind;
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.value}`;
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'ts': return `TS val ${o.val ?? '...'} ecr ${o.ecr ?? '...'}`;
    case 'fo': return foText(o.cookie, o.exp);
    case 'unsupported': return o.name;
  }
}
