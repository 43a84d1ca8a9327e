// sock_connect, sock_connectwait and sock_accept (xnu-sockets.md §3.3, §3.5, §5.3): nonblocking
// numbers vs blocking Promises, EINPROGRESS/EALREADY, ECONNREFUSED, ETIMEDOUT in virtual time,
// EISCONN, EOPNOTSUPP on a listener, connectwait's EINVAL/EDOM/EINPROGRESS, accept's ENOTSUP,
// EWOULDBLOCK, peer-address copy, inheritance of FIONBIO, and interruption (EINTR).

import { describe, expect, it } from 'vitest';
import {
  EALREADY, ECONNABORTED, ECONNREFUSED, EDOM, ENETUNREACH, sockaddrIn6, EINPROGRESS, EINTR, EINVAL, EISCONN, ENOTSUP, EOPNOTSUPP,
  ETIMEDOUT, EWOULDBLOCK, FIONBIO, IPPROTO_TCP, MSG_DONTWAIT, MSG_USEUPCALL, SOCK_DGRAM, SOL_SOCKET,
  SO_ERROR, TCP_CONNECTIONTIMEOUT, getsockoptInt, readSockaddr, setsockoptInt, sock_accept, sock_close,
  sock_connect, sock_connectwait, sock_interrupt, sock_ioctl, sock_isconnected, sock_isnonblocking,
  sock_listen, sock_shutdown, sockaddrIn, SHUT_RD, SO_RCVTIMEO, setsockoptTimeval,
} from '../../kpi/index.js';
import type { Box, socket_t } from '../../kpi/index.js';
import { addrB, isPending, kpiWorld, listener, raw, run, runFor, sock, tcpPair } from './kpi-harness.js';

describe('sock_connect', () => {
  it('MSG_DONTWAIT: EINPROGRESS, then EALREADY while connecting, then EISCONN', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EINPROGRESS);
    expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EALREADY);
    // A blocking connect while connecting: soconnect's EISCONN (connection-oriented), at once.
    expect(sock_connect(s, addrB(kw), 0)).toBe(EISCONN);
    await runFor(kw, 50);
    expect(sock_isconnected(s)).toBe(1);
    expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EISCONN);
  });

  it('FIONBIO makes it nonblocking too; a blocking connect returns a Promise of 0', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 10 } });
    listener(kw);
    const nb = sock(kw.ka);
    sock_ioctl(nb, FIONBIO, { value: 1 });
    expect(sock_connect(nb, addrB(kw), 0)).toBe(EINPROGRESS);
    const b = sock(kw.ka);
    const p = sock_connect(b, addrB(kw), 0);
    expect(isPending(p)).toBe(true);
    const t0 = kw.w.sim.now;
    expect(await run(kw, p)).toBe(0);
    expect(kw.w.sim.now - t0).toBe(20_000); // one round trip of virtual time
    expect(sock_isconnected(b)).toBe(1);
  });

  it('ECONNREFUSED from a RST (blocking: the Promise; nonblocking: so_error once)', async () => {
    const kw = kpiWorld();
    const b = sock(kw.ka);
    expect(await run(kw, sock_connect(b, addrB(kw, 9), 0))).toBe(ECONNREFUSED);
    const nb = sock(kw.ka);
    expect(sock_connect(nb, addrB(kw, 9), MSG_DONTWAIT)).toBe(EINPROGRESS);
    await runFor(kw, 50);
    const err = { value: -1 };
    expect(getsockoptInt(nb, SOL_SOCKET, SO_ERROR, err)).toBe(0);
    expect(err.value).toBe(ECONNREFUSED);
    expect(getsockoptInt(nb, SOL_SOCKET, SO_ERROR, err)).toBe(0);
    expect(err.value).toBe(0); // one-shot
  });

  it('ETIMEDOUT after TCP_CONNECTIONTIMEOUT of virtual time (SO_RCVTIMEO is not consulted)', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(setsockoptInt(s, IPPROTO_TCP, TCP_CONNECTIONTIMEOUT, 3)).toBe(0);
    expect(setsockoptTimeval(s, SO_RCVTIMEO, 0, 100_000)).toBe(0);
    const t0 = kw.w.sim.now;
    expect(await run(kw, sock_connect(s, sockaddrIn('198.18.0.77', 80), 0), 60_000)).toBe(ETIMEDOUT);
    const took = (kw.w.sim.now - t0) / 1e6;
    expect(took).toBeGreaterThanOrEqual(3);
    expect(took).toBeLessThan(4);
  });

  it('EOPNOTSUPP (102) on a listening socket; UDP connects at once (a number, 0)', () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    expect(sock_connect(ls, sockaddrIn('198.18.0.1', 80), 0)).toBe(EOPNOTSUPP);
    const u = sock(kw.ka, SOCK_DGRAM);
    expect(sock_connect(u, addrB(kw, 53), 0)).toBe(0);
    expect(sock_isconnected(u)).toBe(1);
    expect(sock_connect(u, addrB(kw, 54), 0)).toBe(0); // a UDP association is replaced
  });

  it('ENETUNREACH at once when no route leads to the destination (TCP and UDP, blocking or not)', () => {
    const kw = kpiWorld();
    expect(sock_connect(sock(kw.ka), sockaddrIn('203.0.113.1', 80), 0)).toBe(ENETUNREACH);
    expect(sock_connect(sock(kw.ka), sockaddrIn('203.0.113.1', 80), MSG_DONTWAIT)).toBe(ENETUNREACH);
    expect(sock_connect(sock(kw.ka, SOCK_DGRAM), sockaddrIn('203.0.113.1', 53), 0)).toBe(ENETUNREACH);
    expect(sock_connect(sock(kw.ka, 1, 6), sockaddrIn6('2001:db9::1', 80), 0)).toBe(ENETUNREACH);
    // On-link destinations without a host are routable: the connect starts.
    expect(sock_connect(sock(kw.ka), sockaddrIn('198.18.0.77', 80), MSG_DONTWAIT)).toBe(EINPROGRESS);
  });

  it('sock_interrupt ends a blocking connect with EINTR; the connect carries on', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 20 } });
    listener(kw);
    const s = sock(kw.ka);
    const p = sock_connect(s, addrB(kw), 0);
    expect(isPending(p)).toBe(true);
    await runFor(kw, 5);
    expect(sock_interrupt(s)).toBe(1);
    expect(await p).toBe(EINTR);
    await runFor(kw, 100);
    expect(sock_isconnected(s)).toBe(1);
  });
});

describe('sock_connectwait', () => {
  it('EINVAL when never connecting, 0 when connected, EDOM for a bad timeval', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 50 } });
    listener(kw);
    const s = sock(kw.ka);
    expect(sock_connectwait(s, { tv_sec: 1, tv_usec: 0 })).toBe(EINVAL);
    expect(sock_connectwait(s, null)).toBe(EINVAL);
    expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EINPROGRESS);
    expect(sock_connectwait(s, { tv_sec: -1, tv_usec: 0 })).toBe(EDOM);
    expect(sock_connectwait(s, { tv_sec: 0, tv_usec: 1_000_000 })).toBe(EDOM);
    expect(sock_connectwait(s, { tv_sec: 328, tv_usec: 0 })).toBe(EDOM); // > SHRT_MAX / hz
    // Still connecting after 30 ms (RTT 100 ms): EINPROGRESS.
    const t0 = kw.w.sim.now;
    expect(await run(kw, sock_connectwait(s, { tv_sec: 0, tv_usec: 30_000 }))).toBe(EINPROGRESS);
    expect(kw.w.sim.now - t0).toBe(30_000);
    expect(await run(kw, sock_connectwait(s, { tv_sec: 5, tv_usec: 0 }))).toBe(0);
    expect(sock_connectwait(s, { tv_sec: 5, tv_usec: 0 })).toBe(0); // connected: 0 at once
  });

  it('returns the connect error (cleared), even when FIONBIO is set', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    sock_ioctl(s, FIONBIO, { value: 1 });
    expect(sock_connect(s, addrB(kw, 9), 0)).toBe(EINPROGRESS);
    const p = sock_connectwait(s, { tv_sec: 0, tv_usec: 0 }); // zero: no limit
    expect(isPending(p)).toBe(true);
    expect(await run(kw, p)).toBe(ECONNREFUSED);
    expect(raw(s).so_error).toBe(0);
  });
});

describe('sock_accept', () => {
  it('EINVAL: not listening, NULL new_so; ENOTSUP (45) for other flags', () => {
    const kw = kpiWorld();
    const s = sock(kw.kb);
    const out: Box<socket_t | null> = { value: null };
    expect(sock_accept(s, null, 0, MSG_DONTWAIT, null, null, out)).toBe(EINVAL);
    const ls = listener(kw);
    expect(sock_accept(ls, null, 0, 0, null, null, null)).toBe(EINVAL);
    expect(sock_accept(ls, null, 0, 0x40 /* MSG_WAITALL */, null, null, out)).toBe(ENOTSUP);
    expect(sock_accept(ls, null, 0, MSG_DONTWAIT, null, null, out)).toBe(EWOULDBLOCK);
  });

  it('MSG_USEUPCALL: accepted when documented, ENOTSUP (45) with behaviour xnu', () => {
    const doc = kpiWorld();
    const out: Box<socket_t | null> = { value: null };
    expect(sock_accept(listener(doc), null, 0, MSG_DONTWAIT | MSG_USEUPCALL, null, null, out)).toBe(EWOULDBLOCK);
    const xnu = kpiWorld({ behaviour: 'xnu' });
    expect(sock_accept(listener(xnu), null, 0, MSG_DONTWAIT | MSG_USEUPCALL, null, null, out)).toBe(ENOTSUP);
  });

  it('nonblocking: EWOULDBLOCK until a connection completes, then the child and its address', async () => {
    const kw = kpiWorld();
    const ls = listener(kw, 7400, 6);
    sock_ioctl(ls, FIONBIO, { value: 1 });
    const out: Box<socket_t | null> = { value: null };
    expect(sock_accept(ls, null, 0, 0, null, null, out)).toBe(EWOULDBLOCK);
    const c = sock(kw.ka, 1, 6);
    expect(sock_connect(c, addrB(kw, 7400, 6), MSG_DONTWAIT)).toBe(EINPROGRESS);
    await runFor(kw, 20);
    const from = new Uint8Array(28);
    expect(sock_accept(ls, from, 28, 0, null, null, out)).toBe(0);
    const r = readSockaddr(from);
    expect(r.ok && r.value.addr.toString()).toBe('2001:db8::1');
    expect(sock_isconnected(out.value)).toBe(1);
    expect(sock_isnonblocking(out.value)).toBe(1); // children inherit SS_NBIO
    const small = new Uint8Array(8).fill(9);
    expect(sock_accept(ls, small, 8, 0, null, null, out)).toBe(EWOULDBLOCK);
    expect(sock_accept(ls, small, 9, 0, null, null, out)).toBe(EINVAL); // longer than the array
  });

  it('blocking: a Promise that settles with the first completed connection (FIFO)', async () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    const out: Box<socket_t | null> = { value: null };
    const from = new Uint8Array(16);
    const p = sock_accept(ls, from, 16, 0, null, null, out);
    expect(isPending(p)).toBe(true);
    const c1 = sock(kw.ka);
    const c2 = sock(kw.ka);
    sock_connect(c1, addrB(kw), MSG_DONTWAIT);
    sock_connect(c2, addrB(kw), MSG_DONTWAIT);
    expect(await run(kw, p)).toBe(0);
    expect(sock_isnonblocking(out.value)).toBe(0);
    const name = new Uint8Array(16);
    const { sock_getsockname } = await import('../../kpi/index.js');
    expect(sock_getsockname(c1, name, 16)).toBe(0);
    expect(from).toEqual(name);
    expect(await run(kw, sock_accept(ls, null, 0, 0, null, null, out))).toBe(0);
  });

  it('accept ignores SO_RCVTIMEO; sock_interrupt gives EINTR; a shut listener gives ECONNABORTED', async () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    setsockoptTimeval(ls, SO_RCVTIMEO, 0, 10_000);
    const out: Box<socket_t | null> = { value: null };
    const p = sock_accept(ls, null, 0, 0, null, null, out);
    await runFor(kw, 1000);
    expect(sock_interrupt(ls)).toBe(1);
    expect(await p).toBe(EINTR);
    // A listener that cannot receive: CANTRCVMORE turns into ECONNABORTED.
    expect(sock_shutdown(ls, SHUT_RD)).toBe(57); // ENOTCONN: a listener is not connected
    raw(ls).so_state |= 0x20; // SS_CANTRCVMORE, as a protocol would set it
    expect(sock_accept(ls, null, 0, 0, null, null, out)).toBe(ECONNABORTED);
  });

  it('a child reset before accept is returned anyway with 0 (§3.5 step 8)', async () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    const c = sock(kw.ka);
    expect(await run(kw, sock_connect(c, addrB(kw), 0))).toBe(0);
    const { setsockoptLinger, SO_LINGER } = await import('../../kpi/index.js');
    setsockoptLinger(c, SO_LINGER, 1, 0);
    sock_close(c); // RST
    await runFor(kw, 50);
    const out: Box<socket_t | null> = { value: null };
    expect(sock_accept(ls, null, 0, MSG_DONTWAIT, null, null, out)).toBe(0);
    expect(sock_isconnected(out.value)).toBe(0);
    const err = { value: 0 };
    expect(getsockoptInt(out.value, SOL_SOCKET, SO_ERROR, err)).toBe(0);
    expect(err.value).toBe(54); // ECONNRESET, revealed by the first look
  });

  it('sock_close on a listener aborts queued connections: the peers see ECONNRESET', async () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    const c1 = sock(kw.ka), c2 = sock(kw.ka);
    expect(await run(kw, sock_connect(c1, addrB(kw), 0))).toBe(0);
    expect(await run(kw, sock_connect(c2, addrB(kw), 0))).toBe(0);
    expect(raw(ls).so_comp.length).toBe(2);
    sock_close(ls);
    await runFor(kw, 50);
    for (const c of [c1, c2]) {
      const err = { value: 0 };
      expect(getsockoptInt(c, SOL_SOCKET, SO_ERROR, err)).toBe(0);
      expect(err.value).toBe(54);
      expect(sock_isconnected(c)).toBe(0);
    }
  });

  it('a tcpPair helper round trip works for IPv6 too', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw, { family: 6 });
    expect(sock_isconnected(client)).toBe(1);
    expect(sock_isconnected(server)).toBe(1);
    sock_close(client);
    sock_close(server);
    expect(sock_listen(client, 1)).toBe(EINVAL);
  });
});
