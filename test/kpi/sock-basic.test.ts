// Socket creation, addresses and small accessors (xnu-sockets.md §3.1, §3.2, §3.4, §3.12): every
// function's NULL-socket EINVAL, socreate's errors, sock_gettype in both behaviours, bind and
// listen errno paths, getsockname/getpeername copying, isconnected/isnonblocking/setpriv.

import { describe, expect, it } from 'vitest';
import {
  AF_INET, AF_INET6, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, ENOTCONN, EOPNOTSUPP,
  EPROTONOSUPPORT, EPROTOTYPE, FIONBIO, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET,
  SO_REUSEADDR, SO_REUSEPORT, kpiKernel, newMsghdr, sock_accept, sock_bind, sock_catchevents, sock_close,
  sock_connect, sock_connectwait, sock_getpeername, sock_getsockname, sock_getsockopt, sock_gettype,
  sock_interrupt, sock_ioctl, sock_isconnected, sock_isnonblocking, sock_listen, sock_nointerrupt,
  sock_receive, sock_receivembuf, sock_release, sock_retain, sock_send, sock_sendmbuf, sock_setpriv,
  sock_setsockopt, sock_setupcall, sock_setupcalls, sock_shutdown, sockaddrIn, sockaddrIn6,
  sockaddrStorage, setsockoptInt, readSockaddr,
} from '../../kpi/index.js';
import type { Box, socket_t } from '../../kpi/index.js';
import { SS_PRIV } from '../../stack/socket/constants.js';
import { addrB, kpiWorld, listener, raw, sock, tcpPair } from './kpi-harness.js';

describe('NULL (or closed) socket', () => {
  it('every function that takes a socket answers EINVAL, the predicates 0', () => {
    const kw = kpiWorld();
    const closed = sock(kw.ka);
    sock_close(closed);
    for (const so of [null, closed] as (socket_t | null)[]) {
      const sa = sockaddrIn('198.18.0.2', 1);
      expect(sock_bind(so, sa)).toBe(EINVAL);
      expect(sock_connect(so, sa, 0)).toBe(EINVAL);
      expect(sock_connectwait(so, { tv_sec: 1, tv_usec: 0 })).toBe(EINVAL);
      expect(sock_listen(so, 5)).toBe(EINVAL);
      expect(sock_accept(so, null, 0, 0, null, null, { value: null })).toBe(EINVAL);
      expect(sock_shutdown(so, 2)).toBe(EINVAL);
      expect(sock_getsockname(so, sockaddrStorage(), 128)).toBe(EINVAL);
      expect(sock_getpeername(so, sockaddrStorage(), 128)).toBe(EINVAL);
      expect(sock_gettype(so, null, null, null)).toBe(EINVAL);
      expect(sock_setsockopt(so, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4), 4)).toBe(EINVAL);
      expect(sock_getsockopt(so, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4), { value: 4 })).toBe(EINVAL);
      expect(sock_ioctl(so, FIONBIO, { value: 1 })).toBe(EINVAL);
      expect(sock_send(so, newMsghdr([new Uint8Array(1)]), 0, null)).toBe(EINVAL);
      expect(sock_receive(so, newMsghdr([new Uint8Array(1)]), 0, null)).toBe(EINVAL);
      expect(sock_receivembuf(so, null, { value: null }, 0, { value: 1 })).toBe(EINVAL);
      expect(sock_setpriv(so, 1)).toBe(EINVAL);
      expect(sock_nointerrupt(so, 1)).toBe(EINVAL);
      expect(sock_setupcall(so, null, null)).toBe(EINVAL);
      expect(sock_setupcalls(so, null, null, null, null)).toBe(EINVAL);
      expect(sock_catchevents(so, null, null, 0)).toBe(EINVAL);
      expect(sock_isconnected(so)).toBe(0);
      expect(sock_isnonblocking(so)).toBe(0);
      expect(sock_interrupt(so)).toBe(0);
      expect(sock_close(so)).toBeUndefined();
      sock_retain(so);
      expect(sock_release(so)).toBeUndefined();
      const m = kw.ka.stack.pool.getPacket(10)!;
      m.len = m.pktLen = 10;
      expect(sock_sendmbuf(so, null, m, 0, null)).toBe(EINVAL);
      expect(m.freed).toBe(true); // consumed even so
    }
  });
});

describe('sock_socket', () => {
  it('creates blocking, unconnected sockets and reports socreate errors', () => {
    const kw = kpiWorld();
    const k = kw.ka;
    const box: Box<socket_t | null> = { value: null };
    expect(k.sock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP, null, null, null)).toBe(EINVAL);
    expect(k.sock_socket(77, SOCK_STREAM, 0, null, null, box)).toBe(EAFNOSUPPORT);
    expect(box.value).toBeNull();
    expect(k.sock_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP, null, null, box)).toBe(EPROTOTYPE);
    expect(k.sock_socket(AF_INET, SOCK_STREAM, 99, null, null, box)).toBe(EPROTONOSUPPORT);
    expect(k.sock_socket(AF_INET, SOCK_STREAM, 0, null, null, box)).toBe(0);
    const so = box.value!;
    expect(sock_isnonblocking(so)).toBe(0);
    expect(sock_isconnected(so)).toBe(0);
    expect(k.sockets.has(so)).toBe(true);
    sock_close(so);
    expect(k.sockets.has(so)).toBe(false);
  });

  it('one kernel per stack; asking for another behaviour throws', () => {
    const kw = kpiWorld();
    expect(kpiKernel(kw.w.a.stack)).toBe(kw.ka);
    expect(() => kpiKernel(kw.w.a.stack, { behaviour: 'xnu' })).toThrow();
  });

  it('sock_gettype: the creation arguments (documented), the protocol entry\'s (xnu)', () => {
    for (const behaviour of ['documented', 'xnu'] as const) {
      const kw = kpiWorld({ behaviour });
      const box: Box<socket_t | null> = { value: null };
      expect(kw.ka.sock_socket(AF_INET6, SOCK_STREAM, 0, null, null, box)).toBe(0);
      const d = { value: -1 }, t = { value: -1 }, p = { value: -1 };
      expect(sock_gettype(box.value, d, t, p)).toBe(0);
      expect([d.value, t.value, p.value]).toEqual([AF_INET6, SOCK_STREAM, behaviour === 'documented' ? 0 : IPPROTO_TCP]);
      expect(sock_gettype(box.value, null, t, null)).toBe(0);
      const u = sock(kw.ka, SOCK_DGRAM);
      expect(sock_gettype(u, d, t, p)).toBe(0);
      expect([d.value, t.value, p.value]).toEqual([AF_INET, SOCK_DGRAM, IPPROTO_UDP]);
    }
  });
});

describe('sock_bind', () => {
  it('EINVAL: NULL address, second bind; EADDRNOTAVAIL: not local; EADDRINUSE: taken', () => {
    const kw = kpiWorld();
    const a = sock(kw.ka);
    expect(sock_bind(a, null)).toBe(EINVAL);
    expect(sock_bind(a, sockaddrIn('198.18.0.99', 5000))).toBe(EADDRNOTAVAIL);
    expect(sock_bind(a, sockaddrIn('198.18.0.1', 5000))).toBe(0);
    expect(sock_bind(a, sockaddrIn('198.18.0.1', 5001))).toBe(EINVAL); // a second bind
    const b = sock(kw.ka);
    expect(sock_bind(b, sockaddrIn('198.18.0.1', 5000))).toBe(EADDRINUSE);
    expect(sock_bind(b, sockaddrIn('0.0.0.0', 5000))).toBe(EADDRINUSE); // wildcard vs specific
    const c = sock(kw.ka, SOCK_STREAM, 6);
    expect(sock_bind(c, sockaddrIn('198.18.0.1', 5002))).toBe(EINVAL); // sa_len 16 on an AF_INET6 socket
  });

  it('SO_REUSEPORT on both sockets allows an exact duplicate; port 0 picks an ephemeral port', () => {
    const kw = kpiWorld();
    const a = sock(kw.ka, SOCK_DGRAM), b = sock(kw.ka, SOCK_DGRAM);
    expect(setsockoptInt(a, SOL_SOCKET, SO_REUSEPORT, 1)).toBe(0);
    expect(setsockoptInt(b, SOL_SOCKET, SO_REUSEPORT, 1)).toBe(0);
    expect(sock_bind(a, sockaddrIn('198.18.0.1', 6000))).toBe(0);
    expect(sock_bind(b, sockaddrIn('198.18.0.1', 6000))).toBe(0);
    const c = sock(kw.ka, SOCK_DGRAM);
    expect(sock_bind(c, sockaddrIn('0.0.0.0', 0))).toBe(0);
    const name = sockaddrStorage();
    expect(sock_getsockname(c, name, 128)).toBe(0);
    const r = readSockaddr(name.subarray(0, 16));
    expect(r.ok && r.value.port).toBeGreaterThanOrEqual(49152);
  });
});

describe('sock_listen', () => {
  it('EOPNOTSUPP (102) on UDP, EINVAL when connected; backlog <= 0 means 128', async () => {
    const kw = kpiWorld();
    expect(sock_listen(sock(kw.kb, SOCK_DGRAM), 5)).toBe(EOPNOTSUPP);
    const ls = sock(kw.kb);
    expect(sock_bind(ls, sockaddrIn('0.0.0.0', 7200))).toBe(0);
    expect(sock_listen(ls, 0)).toBe(0);
    expect(raw(ls).so_qlimit).toBe(128);
    expect(sock_listen(ls, 1000)).toBe(0);
    expect(raw(ls).so_qlimit).toBe(128);
    expect(sock_listen(ls, 3)).toBe(0);
    expect(raw(ls).so_qlimit).toBe(3);
    const { client } = await tcpPair(kw);
    expect(sock_listen(client, 5)).toBe(EINVAL);
  });
});

describe('sock_getsockname / sock_getpeername', () => {
  it('copy MIN(len, sa_len) bytes; ENOTCONN before connecting; EINVAL for len < 0', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    const buf = sockaddrStorage();
    expect(sock_getsockname(s, buf, 128)).toBe(0);
    expect([...buf.subarray(0, 16)]).toEqual([...sockaddrIn('0.0.0.0', 0)]); // unbound INET: 0.0.0.0:0
    expect(sock_getpeername(s, buf, 128)).toBe(ENOTCONN);
    expect(sock_getsockname(s, buf, -1)).toBe(EINVAL);
    expect(sock_getsockname(s, null, 16)).toBe(EINVAL);
    expect(sock_getsockname(s, new Uint8Array(4), 16)).toBe(EINVAL); // longer than the array
    sock_close(s);

    const { client, server } = await tcpPair(kw, { family: 6 });
    const peer = new Uint8Array(28).fill(0xee);
    expect(sock_getpeername(server, peer, 28)).toBe(0);
    const r = readSockaddr(peer);
    expect(r.ok && r.value.addr.toString()).toBe('2001:db8::1');
    const short = new Uint8Array(6).fill(0xee);
    expect(sock_getpeername(client, short, 4)).toBe(0); // truncated silently, no length out
    expect([...short]).toEqual([28, AF_INET6, 0x1b, 0xbc, 0xee, 0xee]);
    const mine = sockaddrStorage();
    expect(sock_getsockname(client, mine, 128)).toBe(0);
    expect(mine[0]).toBe(28);
    expect(readSockaddr(mine.subarray(0, 28)).ok).toBe(true);
    expect(sock_getsockname(server, mine, 28)).toBe(0);
    expect(mine.subarray(0, 28)).toEqual(sockaddrIn6('2001:db8::2', 7100));
  });
});

describe('small accessors', () => {
  it('sock_isconnected follows SS_ISCONNECTED, sock_isnonblocking FIONBIO, sock_setpriv SS_PRIV', async () => {
    const kw = kpiWorld();
    listener(kw, 7300);
    const s = sock(kw.ka);
    expect(sock_ioctl(s, FIONBIO, { value: 1 })).toBe(0);
    expect(sock_isnonblocking(s)).toBe(1);
    expect(sock_connect(s, addrB(kw, 7300), 0)).toBe(36); // EINPROGRESS
    expect(sock_isconnected(s)).toBe(0); // connecting is not connected
    kw.w.sim.runUntil(() => sock_isconnected(s) === 1, 1000);
    expect(sock_isconnected(s)).toBe(1);
    expect(sock_ioctl(s, FIONBIO, { value: 0 })).toBe(0);
    expect(sock_isnonblocking(s)).toBe(0);
    expect(sock_setpriv(s, 1)).toBe(0);
    expect(raw(s).so_state & SS_PRIV).toBe(SS_PRIV);
    expect(sock_setpriv(s, 0)).toBe(0);
    expect(raw(s).so_state & SS_PRIV).toBe(0);
  });
});

describe('sock_getaddr / sock_freeaddr', () => {
  it('a new sockaddr of sa_len bytes; ENOTCONN for the peer of an unconnected socket; EINVAL for NULL', async () => {
    const { sock_getaddr, sock_freeaddr } = await import('../../kpi/index.js');
    const kw = kpiWorld();
    const s = sock(kw.ka);
    const out: Box<Uint8Array | null> = { value: null };
    expect(sock_getaddr(s, null, 0)).toBe(EINVAL);
    expect(sock_getaddr(null, out, 0)).toBe(EINVAL);
    expect(sock_getaddr(s, out, 1)).toBe(ENOTCONN);
    expect(out.value).toBeNull();
    expect(sock_getaddr(s, out, 0)).toBe(0);
    expect(out.value).toEqual(sockaddrIn('0.0.0.0', 0));
    const { client } = await tcpPair(kw, { family: 6 });
    expect(sock_getaddr(client, out, 1)).toBe(0);
    expect(out.value).toEqual(sockaddrIn6('2001:db8::2', 7100));
    sock_freeaddr(out.value);
  });
});
