// Drill system calls (reference §9): argument decoding, execution through the XNU KPI, blocking
// calls (`T1...T2`) kept pending, and the check of return values and errno.

import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { InPcb } from '../../stack/inpcb/in-pcb.js';
import { soreadable, sowriteable } from '../../stack/socket/socket.js';
import {
  newMsghdr, sock_accept, sock_bind, sock_close, sock_connect, sock_getsockopt, sock_ioctl, sock_listen, sock_receive,
  sock_send, sock_setsockopt, sock_shutdown, sockaddrIn, sockaddrIn6, sockoptInt, sockoptLinger,
} from '../../kpi/index.js';
import type { Box, KpiSocket } from '../../kpi/index.js';
import {
  AF_INET, AF_INET6, EBADF, EINPROGRESS, EINTR, EWOULDBLOCK, FIONBIO, FIONREAD, IPPROTO_TCP, IPPROTO_UDP, SO_LINGER,
  SOCK_DGRAM, SOCK_STREAM, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_NBIO,
} from '../../kpi/darwin-constants.js';
import type { DrillEvent, Expr, SyscallEvent } from './ast.js';
import { errnoName, errnoValue, symbolValue } from './symbols.js';
import { DrillStop, unsupported, fmtTime } from './run-base.js';
import type { FdEntry, CallResult, Pending } from './run-base.js';
import { DrillPackets } from './run-packets.js';

export abstract class DrillSyscalls extends DrillPackets {
  // ---- syscalls ----

  protected num(e: Expr, line: number): number {
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

  protected fd(e: Expr, line: number): { n: number; f: FdEntry | null } {
    const n = this.num(e, line);
    return { n, f: this.fds.get(n) ?? null };
  }

  protected localSockaddr(port: number): Uint8Array {
    if (this.sockFamily === 4) return sockaddrIn(this.local, port);
    if (this.family === 4) return sockaddrIn6(IpAddr.of(`::ffff:${this.local.toString()}`), port);
    return sockaddrIn6(this.local, port);
  }
  protected remoteSockaddr(port: number): Uint8Array {
    if (this.sockFamily === 4) return sockaddrIn(this.remote, port);
    if (this.family === 4) return sockaddrIn6(IpAddr.of(`::ffff:${this.remote.toString()}`), port);
    return sockaddrIn6(this.remote, port);
  }

  protected addrArg(e: Expr | undefined, def: () => Uint8Array, line: number): Uint8Array {
    if (e === undefined || e.kind === 'ellipsis') return def();
    throw unsupported('explicit socket addresses (write ... for the default address)', line);
  }

  /** Buffer length of a data argument: `...` with the length argument, or a number. */
  protected async syscall(ev: DrillEvent, c: SyscallEvent, startUs: number): Promise<void> {
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

  protected makePending(ev: DrillEvent, c: SyscallEvent, startUs: number, recheck: (() => CallResult | null) | null): Pending {
    const end = c.end!;
    const e = end.rel ? startUs + end.us : end.us;
    return { ev, call: c, startUs, endLo: e, endHi: e, done: false, result: null, doneAt: 0, failure: null, recheck };
  }

  protected startPending(ev: DrillEvent, c: SyscallEvent, startUs: number, p: Promise<CallResult> | null, recheck: (() => CallResult | null) | null): void {
    const pend = this.makePending(ev, c, startUs, recheck);
    if (p !== null) {
      p.then(
        (r) => { pend.done = true; pend.result = r; pend.doneAt = this.now; },
        (err: unknown) => { pend.done = true; pend.failure = err; },
      );
    }
    this.pending = pend;
  }

  protected finishBlocking(p: Pending): void {
    this.log(`${p.call.name}() returned ${p.result!.ret}${p.result!.errno !== 0 ? ` ${errnoName(p.result!.errno)}` : ''} (blocking call of line ${p.ev.loc.line})`);
    this.checkResult(p.ev, p.call, p.result!);
    const tol = this.tol(p.endLo, p.startUs);
    if (p.doneAt < p.endLo - tol || p.doneAt > p.endHi + tol) {
      throw new DrillStop('fail', `timing error: expected ${p.call.name}() to return at ${fmtTime(p.endLo)} but it returned at ${fmtTime(p.doneAt)}`,
        p.ev.loc.line, fmtTime(p.endLo), fmtTime(p.doneAt), null, 'syscall');
    }
  }

  protected checkResult(ev: DrillEvent, c: SyscallEvent, r: CallResult): void {
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
  protected callSyscall(ev: DrillEvent, c: SyscallEvent, setRecheck: (f: () => CallResult | null) => void): CallResult | Promise<CallResult> {
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

  protected pollEvents(fdn: number, events: number): number {
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

  protected field(s: Expr & { kind: 'struct' }, names: readonly string[], line: number): number {
    const f = s.fields.find((x) => names.includes(x.name));
    if (f === undefined) throw new DrillStop('error', `struct needs field ${names[0]}`, line);
    return this.num(f.value, line);
  }

  protected optName(e: Expr, line: number): number {
    if (e.kind === 'sym' && e.name === 'TCP_INFO') throw unsupported('getsockopt/setsockopt TCP_INFO (use a %{ assert tcpi_... }% code event)', line);
    return this.num(e, line);
  }

  protected iovLen(e: Expr, line: number): number {
    if (e.kind === 'ellipsis') throw unsupported('readv/writev with ... iovecs', line);
    if (e.kind !== 'array') throw new DrillStop('error', 'expected an iovec array', line);
    let n = 0;
    for (const it of e.items) {
      if (it.kind !== 'struct') throw new DrillStop('error', 'expected {iov_base=..., iov_len=N}', line);
      n += this.field(it, ['iov_len'], line);
    }
    return n;
  }

  protected msgArg(e: Expr, line: number): { len: number; named: boolean } {
    if (e.kind !== 'struct') throw unsupported('msghdr other than a {msg_name=..., msg_iov=[...], ...} literal', line);
    const iov = e.fields.find((f) => f.name === 'msg_iov');
    if (iov === undefined) throw new DrillStop('error', 'msghdr needs msg_iov', line);
    const ctl = e.fields.find((f) => f.name === 'msg_control');
    if (ctl !== undefined && ctl.value.kind !== 'ellipsis' && !(ctl.value.kind === 'num' && ctl.value.value === 0)) throw unsupported('msg_control', line);
    const name = e.fields.find((f) => f.name === 'msg_name');
    return { len: this.iovLen(iov.value, line), named: name !== undefined && !(name.value.kind === 'num' && name.value.value === 0) };
  }
}
