// sock_upcall (kpi_socket.h "Callbacks"; xnu-sockets.md §4, §11): when upcalls fire in both
// behaviours: connect completed, a connection to accept (the listener), the accepted child
// (documented: at once; xnu: not until new data), MSG_USEUPCALL, data across SO_RCVLOWAT
// (documented: only at or above it; xnu: every wakeup), space for a write across SO_SNDLOWAT, peer
// close, RST; waitf is always 1; registration read+write vs x86_64 read-only; sock_setupcalls,
// sock_catchevents; upcalls never run re-entrantly and may call the KPI.

import { describe, expect, it } from 'vitest';
import {
  ECONNRESET, EINPROGRESS, ENOTSUP, EWOULDBLOCK, FIONBIO, IPPROTO_TCP, MSG_DONTWAIT, MSG_USEUPCALL, SHUT_RD,
  SOL_SOCKET, SO_FILT_HINT_CANTRCVMORE, SO_FILT_HINT_CONNECTED, SO_FILT_HINT_DISCONNECTED, SO_LINGER,
  SO_RCVLOWAT, SO_SNDLOWAT, TCP_NODELAY, newMsghdr, setsockoptInt, setsockoptLinger, sock_accept,
  sock_catchevents, sock_close, sock_connect, sock_ioctl, sock_send, sock_setupcall, sock_setupcalls,
  sock_shutdown,
} from '../../kpi/index.js';
import type { Box, KpiBehaviour, socket_t } from '../../kpi/index.js';
import {
  UpcallLog, addrB, kpiWorld, listener, recvNow, run, runFor, runUntil, sendAll, smallBuffers, sock, tcpPair,
} from './kpi-harness.js';

const BOTH: KpiBehaviour[] = ['documented', 'xnu'];

describe('connect', () => {
  for (const behaviour of BOTH) {
    it(`${behaviour}: nothing while connecting, an upcall (waitf 1, the cookie) when connected`, async () => {
      const kw = kpiWorld({ behaviour, impairments: { delayMs: 10 } });
      listener(kw);
      const log = new UpcallLog(kw);
      const s = sock(kw.ka, 1, 4, log.cb, { id: 'c' });
      expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EINPROGRESS);
      await runFor(kw, 15);
      expect(log.count).toBe(0);
      await runFor(kw, 10);
      expect(log.count).toBe(1);
      expect(log.calls[0]).toEqual({ t: 20, so: s, cookie: { id: 'c' }, waitf: 1 });
    });
  }

  it('a refused connect fires the upcall too (disconnected)', async () => {
    for (const behaviour of BOTH) {
      const kw = kpiWorld({ behaviour });
      const log = new UpcallLog(kw);
      const s = sock(kw.ka, 1, 4, log.cb, null);
      expect(sock_connect(s, addrB(kw, 9), MSG_DONTWAIT)).toBe(EINPROGRESS);
      await runFor(kw, 10);
      expect(log.count).toBeGreaterThanOrEqual(1);
      expect(s.so.so_error).toBe(61);
    }
  });
});

describe('accept', () => {
  for (const behaviour of BOTH) {
    it(`${behaviour}: the listener's upcall announces the connection; the child's depends on the behaviour`, async () => {
      const kw = kpiWorld({ behaviour });
      const log = new UpcallLog(kw);
      const ls = listener(kw, 7800, 4, log.cb, 'listener');
      const c = sock(kw.ka);
      expect(await run(kw, sock_connect(c, addrB(kw, 7800), 0))).toBe(0);
      expect(await sendAll(kw, c, 10)).toEqual([0, 10]); // arrives before accept
      await runFor(kw, 10);
      expect(log.calls.map((x) => [x.so, x.cookie])).toEqual([[ls, 'listener']]);
      log.clear();
      const child: Box<socket_t | null> = { value: null };
      expect(sock_accept(ls, null, 0, MSG_DONTWAIT, log.cb, 'child', child)).toBe(0);
      await runFor(kw, 10);
      if (behaviour === 'documented') {
        // "when a socket is connected", and the data that came before accept.
        expect(log.calls.map((x) => [x.so, x.cookie, x.waitf])).toEqual([[child.value, 'child', 1]]);
      } else {
        expect(log.count).toBe(0); // XNU: the client must try a read (§11.3)
      }
      expect(recvNow(child.value!)[1].length).toBe(10);
      log.clear();
      await sendAll(kw, c, 5);
      await runFor(kw, 10);
      expect(log.for(child.value!)).toBe(1);
    });
  }

  it('MSG_USEUPCALL (documented): the child gets the listener\'s upcall and cookie; xnu: ENOTSUP', async () => {
    const kw = kpiWorld();
    const log = new UpcallLog(kw);
    const ls = listener(kw, 7801, 4, log.cb, 'L');
    const c = sock(kw.ka);
    expect(await run(kw, sock_connect(c, addrB(kw, 7801), 0))).toBe(0);
    const child: Box<socket_t | null> = { value: null };
    const other = (): void => { throw new Error('the callback argument is not used with MSG_USEUPCALL'); };
    expect(sock_accept(ls, null, 0, MSG_DONTWAIT | MSG_USEUPCALL, other, 'X', child)).toBe(0);
    log.clear();
    await sendAll(kw, c, 3);
    await runFor(kw, 10);
    expect(log.calls.filter((x) => x.so === child.value).map((x) => x.cookie)).toContain('L');

    const kx = kpiWorld({ behaviour: 'xnu' });
    const lx = listener(kx, 7802, 4, new UpcallLog(kx).cb, 'L');
    const cx = sock(kx.ka);
    expect(await run(kx, sock_connect(cx, addrB(kx, 7802), 0))).toBe(0);
    expect(sock_accept(lx, null, 0, MSG_DONTWAIT | MSG_USEUPCALL, null, null, child)).toBe(ENOTSUP);
    expect(sock_accept(lx, null, 0, MSG_DONTWAIT, null, null, child)).toBe(0); // still queued
  });
});

describe('receive across the low-water mark', () => {
  async function trickle(behaviour: KpiBehaviour): Promise<{ times: number[]; cc: number[] }> {
    const kw = kpiWorld({ behaviour });
    const log = new UpcallLog(kw);
    const { client, server } = await tcpPair(kw, { serverCb: log.cb });
    expect(setsockoptInt(client, IPPROTO_TCP, TCP_NODELAY, 1)).toBe(0);
    expect(setsockoptInt(server, SOL_SOCKET, SO_RCVLOWAT, 250)).toBe(0);
    await runFor(kw, 50);
    log.clear();
    const cc: number[] = [];
    const cb = log.cb;
    sock_setupcall(server, (so, cookie, waitf) => { cc.push(so.so.so_rcv.sb_cc); cb(so, cookie, waitf); }, 'srv');
    for (let i = 0; i < 3; i++) {
      await sendAll(kw, client, 100);
      await runFor(kw, 100);
    }
    return { times: log.calls.map((c) => c.t), cc };
  }

  it('documented: only once 250 bytes (SO_RCVLOWAT) are queued', async () => {
    const { cc } = await trickle('documented');
    expect(cc).toEqual([300]);
  });

  it('xnu: on every read wakeup, whatever the low-water mark', async () => {
    const { cc } = await trickle('xnu');
    expect(cc).toEqual([100, 200, 300]);
  });
});

describe('send until the buffer is full, then drains', () => {
  async function fillAndDrain(behaviour: KpiBehaviour): Promise<{ spaces: number[]; lowat: number }> {
    const kw = kpiWorld({ behaviour });
    const spaces: number[] = [];
    const { client, server } = await tcpPair(kw, { before: smallBuffers(8192) });
    expect(setsockoptInt(client, SOL_SOCKET, SO_SNDLOWAT, 6000)).toBe(0);
    sock_ioctl(client, FIONBIO, { value: 1 });
    let e = 0;
    for (let i = 0; i < 50 && e === 0; i++) {
      e = sock_send(client, newMsghdr([new Uint8Array(4000)]), 0, null) as number;
      await runFor(kw, 2);
    }
    expect(e).toBe(EWOULDBLOCK);
    await runFor(kw, 50);
    sock_setupcall(client, (so) => { spaces.push(so.so.so_snd.sbspace()); }, null);
    // Drain in small reads: each read opens the window a little, each ACK frees a little.
    for (let i = 0; i < 200; i++) {
      const [re, got] = recvNow(server, 1000);
      if (re !== 0 || got.length === 0) break;
      await runFor(kw, 5);
    }
    return { spaces, lowat: 6000 };
  }

  it('documented: the write upcall only when space >= SO_SNDLOWAT', async () => {
    const { spaces, lowat } = await fillAndDrain('documented');
    expect(spaces.length).toBeGreaterThan(0);
    expect(spaces.every((s) => s >= lowat)).toBe(true);
  });

  it('xnu: the write upcall on every ACK that frees space, even below SO_SNDLOWAT', async () => {
    const { spaces, lowat } = await fillAndDrain('xnu');
    expect(spaces.some((s) => s < lowat)).toBe(true);
    expect(spaces.length).toBeGreaterThan(2);
  });

  it('xnu-x86_64: simple registration is read-only, so no write upcalls at all', async () => {
    const { spaces } = await fillAndDrain('xnu-x86_64');
    expect(spaces).toEqual([]);
  });
});

describe('peer close and reset', () => {
  for (const behaviour of BOTH) {
    it(`${behaviour}: a FIN fires the upcall (EOF); a RST fires it (ECONNRESET)`, async () => {
      const kw = kpiWorld({ behaviour });
      const log = new UpcallLog(kw);
      const p1 = await tcpPair(kw, { port: 7900, clientCb: log.cb });
      await runFor(kw, 10);
      log.clear();
      sock_close(p1.server); // FIN
      await runFor(kw, 10);
      expect(log.for(p1.client)).toBeGreaterThanOrEqual(1);
      expect(recvNow(p1.client)).toEqual([0, new Uint8Array(0)]);

      const p2 = await tcpPair(kw, { port: 7901, clientCb: log.cb });
      await runFor(kw, 10);
      log.clear();
      setsockoptLinger(p2.server, SO_LINGER, 1, 0);
      sock_close(p2.server); // RST
      await runFor(kw, 10);
      expect(log.for(p2.client)).toBeGreaterThanOrEqual(1);
      expect(log.calls.every((c) => c.waitf === 1)).toBe(true);
      expect(recvNow(p2.client)[0]).toBe(ECONNRESET);
    });
  }
});

describe('registration', () => {
  it('sock_setupcall replaces and removes; SHUT_RD removes the read upcall', async () => {
    const kw = kpiWorld();
    const a = new UpcallLog(kw), b = new UpcallLog(kw);
    const { client, server } = await tcpPair(kw, { serverCb: a.cb });
    await runFor(kw, 10);
    a.clear();
    expect(sock_setupcall(server, b.cb, 'b')).toBe(0);
    await sendAll(kw, client, 10);
    await runFor(kw, 10);
    expect([a.count, b.count]).toEqual([0, 1]);
    expect(sock_setupcall(server, null, null)).toBe(0);
    await sendAll(kw, client, 10);
    await runFor(kw, 10);
    expect(b.count).toBe(1);
    sock_setupcall(server, b.cb, 'b');
    expect(sock_shutdown(server, SHUT_RD)).toBe(0);
    await runFor(kw, 10);
    b.clear();
    await sendAll(kw, client, 10);
    await runFor(kw, 10);
    expect(b.count).toBe(0); // the data is dropped, the read upcall is gone
  });

  it('sock_setupcalls: separate read and write callbacks and cookies', async () => {
    const kw = kpiWorld();
    const r = new UpcallLog(kw), w = new UpcallLog(kw);
    const { client, server } = await tcpPair(kw);
    expect(sock_setupcalls(client, r.cb, 'r', w.cb, 'w')).toBe(0);
    await sendAll(kw, client, 100);
    await runFor(kw, 10);
    expect(w.calls.map((c) => c.cookie)).toContain('w');
    expect(r.count).toBe(0);
    await sendAll(kw, server, 100);
    await runFor(kw, 10);
    expect(r.calls.map((c) => c.cookie)).toEqual(['r']);
    expect(sock_setupcalls(client, null, null, w.cb, 'w')).toBe(0);
    await sendAll(kw, server, 100);
    await runFor(kw, 10);
    expect(r.count).toBe(1);
  });

  it('sock_catchevents: CONNECTED, CANTRCVMORE, DISCONNECTED hints', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    const events: number[] = [];
    const mask = SO_FILT_HINT_CONNECTED | SO_FILT_HINT_CANTRCVMORE | SO_FILT_HINT_DISCONNECTED;
    expect(sock_catchevents(s, (so, cookie, ev) => { expect([so, cookie]).toEqual([s, 'ev']); events.push(ev); }, 'ev', mask)).toBe(0);
    const child: Box<socket_t | null> = { value: null };
    expect(sock_connect(s, addrB(kw), MSG_DONTWAIT)).toBe(EINPROGRESS);
    await runFor(kw, 10);
    expect(events.reduce((a, b) => a | b, 0) & SO_FILT_HINT_CONNECTED).toBe(SO_FILT_HINT_CONNECTED);
    const { sock_accept: acc } = await import('../../kpi/index.js');
    const ls = [...kw.kb.sockets][0]!;
    expect(acc(ls, null, 0, MSG_DONTWAIT, null, null, child)).toBe(0);
    sock_close(child.value); // FIN: CANTRCVMORE
    await runFor(kw, 10);
    expect(events.reduce((a, b) => a | b, 0) & SO_FILT_HINT_CANTRCVMORE).toBe(SO_FILT_HINT_CANTRCVMORE);
    expect(sock_shutdown(s, 1)).toBe(0); // our FIN, acknowledged: DISCONNECTED
    await runFor(kw, 10);
    const all = events.reduce((a, b) => a | b, 0);
    expect(all & mask).toBe(mask);
    expect(events.every((e) => (e & ~mask) === 0)).toBe(true);
  });
});

describe('upcalls and the KPI', () => {
  it('an upcall-driven echo: upcalls run after the entry point, never re-entrantly, and may call sock_*', async () => {
    const kw = kpiWorld({ behaviour: 'xnu' });
    let depth = 0;
    let maxDepth = 0;
    const echo = (so: socket_t): void => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      for (;;) {
        const [e, got] = recvNow(so, 512);
        if (e !== 0 || got.length === 0) break;
        expect(sock_send(so, newMsghdr([got]), 0, null)).toBe(0); // triggers wakeups: deferred
      }
      depth--;
    };
    const ls = listener(kw, 8000, 4, (so) => {
      const child: Box<socket_t | null> = { value: null };
      while (sock_accept(so, null, 0, MSG_DONTWAIT, echo, null, child) === 0) echo(child.value!);
    }, null);
    void ls;
    const c = sock(kw.ka);
    expect(await run(kw, sock_connect(c, addrB(kw, 8000), 0))).toBe(0);
    const msg = new Uint8Array(5000).map((_, i) => i & 0xff);
    expect(await sendAll(kw, c, msg)).toEqual([0, 5000]);
    const back: number[] = [];
    expect(await runUntil(kw, () => {
      const [, got] = recvNow(c);
      back.push(...got);
      return back.length >= 5000;
    }, 1000)).toBe(true);
    expect(new Uint8Array(back)).toEqual(msg);
    expect(maxDepth).toBe(1);
  });
});
