// sock_poll (readiness as poll bits, kpi/sock-poll.ts) and kpiTimer (a callback at an instant of
// the kernel's clock, kpi/kpi-timer.ts): what cfsocket/ uses instead of reaching into the socket
// layer and the stack's timer queue.

import { describe, expect, it } from 'vitest';
import {
  EINPROGRESS, MSG_DONTWAIT, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, SHUT_WR, SOCK_DGRAM, SOL_SOCKET,
  SO_ERROR, getsockoptInt, kpiKernel, kpiTimer, newMsghdr, setsockoptInt, sock_close, sock_connect, sock_poll, sock_send,
  sock_shutdown,
} from '../../kpi/index.js';
import { Stack, realEnv } from '../../stack/index.js';
import { driveRealTime } from '../../stack/time/node-driver.js';
import { addrB, kpiWorld, listener, recvNow, runFor, runUntil, sock, tcpPair } from './kpi-harness.js';

const SO_RCVLOWAT = 0x1004;

describe('sock_poll', () => {
  it('uses Darwin\'s poll.h values', () => {
    expect([POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL]).toEqual([0x1, 0x2, 0x4, 0x8, 0x10, 0x20]);
  });

  it('NULL or a closed socket: POLLNVAL only', () => {
    const kw = kpiWorld();
    const so = sock(kw.ka);
    sock_close(so);
    expect(sock_poll(null)).toBe(POLLNVAL);
    expect(sock_poll(so)).toBe(POLLNVAL);
  });

  it('an unconnected stream socket is neither readable nor writable; a datagram socket is writable', () => {
    const kw = kpiWorld();
    expect(sock_poll(sock(kw.ka))).toBe(0);
    expect(sock_poll(sock(kw.ka, SOCK_DGRAM))).toBe(POLLOUT);
  });

  it('a listener is readable once a connection completes (before accept)', async () => {
    const kw = kpiWorld();
    const ls = listener(kw);
    expect(sock_poll(ls)).toBe(0);
    const c = sock(kw.ka);
    expect(sock_connect(c, addrB(kw), MSG_DONTWAIT)).toBe(EINPROGRESS);
    expect(sock_poll(c)).toBe(0);
    expect(await runUntil(kw, () => (sock_poll(ls) & POLLIN) !== 0, 1000)).toBe(true);
    expect(sock_poll(c)).toBe(POLLOUT);
  });

  it('connected: POLLOUT; POLLIN with data at or above SO_RCVLOWAT; POLLIN|POLLHUP after the peer\'s FIN', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(sock_poll(client)).toBe(POLLOUT);
    expect(setsockoptInt(client, SOL_SOCKET, SO_RCVLOWAT, 10)).toBe(0);
    expect(sock_send(server, newMsghdr([new Uint8Array(5)]), 0, null)).toBe(0);
    await runFor(kw, 50);
    expect(sock_poll(client)).toBe(POLLOUT); // 5 bytes < SO_RCVLOWAT 10
    expect(sock_send(server, newMsghdr([new Uint8Array(5)]), 0, null)).toBe(0);
    await runFor(kw, 50);
    expect(sock_poll(client)).toBe(POLLIN | POLLOUT);
    expect(recvNow(client)[1].length).toBe(10);
    expect(sock_poll(client)).toBe(POLLOUT);
    expect(sock_shutdown(server, SHUT_WR)).toBe(0);
    await runFor(kw, 50);
    expect(sock_poll(client)).toBe(POLLIN | POLLOUT | POLLHUP);
  });

  it('a pending error: POLLERR (with POLLIN and POLLOUT), gone once SO_ERROR is read', async () => {
    const kw = kpiWorld();
    const c = sock(kw.ka);
    expect(sock_connect(c, addrB(kw, 9), MSG_DONTWAIT)).toBe(EINPROGRESS);
    await runFor(kw, 50);
    const ev = sock_poll(c);
    expect(ev & (POLLERR | POLLIN | POLLOUT)).toBe(POLLERR | POLLIN | POLLOUT);
    expect(getsockoptInt(c, SOL_SOCKET, SO_ERROR, { value: 0 })).toBe(0);
    expect(sock_poll(c) & POLLERR).toBe(0);
  });
});

describe('kpiTimer', () => {
  it('fires at its instant of virtual time, once per arming', async () => {
    const kw = kpiWorld();
    const fired: number[] = [];
    const t = kpiTimer(kw.ka, (now) => fired.push(now));
    expect(t.armed).toBe(false);
    expect(t.deadline).toBeNull();
    const t0 = kw.ka.now;
    t.scheduleIn(30_000);
    expect(t.armed).toBe(true);
    expect(t.deadline).toBe(t0 + 30_000);
    await runFor(kw, 100);
    expect(fired).toEqual([t0 + 30_000]);
    expect(t.armed).toBe(false);
    t.schedule(kw.ka.now + 5_000);
    await runFor(kw, 100);
    expect(fired.length).toBe(2);
  });

  it('cancel disarms; re-arming moves; a past instant fires at the next run', async () => {
    const kw = kpiWorld();
    let n = 0;
    const t = kpiTimer(kw.ka, () => { n++; });
    t.scheduleIn(10_000);
    t.cancel();
    t.cancel();
    await runFor(kw, 50);
    expect(n).toBe(0);
    const t0 = kw.ka.now;
    t.scheduleIn(10_000);
    t.scheduleIn(40_000);
    expect(t.deadline).toBe(t0 + 40_000);
    await runFor(kw, 20);
    expect(n).toBe(0);
    await runFor(kw, 30);
    expect(n).toBe(1);
    t.schedule(0);
    await runFor(kw, 1);
    expect(n).toBe(2);
  });

  it('timers due at the same instant fire in arming order', async () => {
    const kw = kpiWorld();
    const order: string[] = [];
    const a = kpiTimer(kw.ka, () => order.push('a'));
    const b = kpiTimer(kw.ka, () => order.push('b'));
    const at = kw.ka.now + 1_000;
    b.schedule(at);
    a.schedule(at);
    await runFor(kw, 10);
    expect(order).toEqual(['b', 'a']);
  });

  it('on a real-time driver, a timer armed while the stack is idle still fires (the driver is told)', async () => {
    const stack = new Stack({ env: realEnv(), name: 'rt' });
    const k = kpiKernel(stack);
    const d = driveRealTime(stack, stack.env.clock);
    try {
      await new Promise((r) => setTimeout(r, 5)); // the driver's first poll: idle, no deadline
      let fired = false;
      kpiTimer(k, () => { fired = true; }).scheduleIn(10_000);
      for (let i = 0; i < 100 && !fired; i++) await new Promise((r) => setTimeout(r, 5));
      expect(fired).toBe(true);
    } finally {
      d.stop();
    }
  });
});
