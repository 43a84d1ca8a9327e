// sock_close, sock_retain / sock_release (xnu-sockets.md §3.9, §7.1, §11.7-8): FIN vs RST (unread
// data, linger 0), the linger wait of a blocking socket in virtual time (a Promise that settles
// when the FIN is acknowledged or the linger time passes), a nonblocking socket not waiting,
// sleepers ended by the close, retained sockets closed by the last release.

import { describe, expect, it } from 'vitest';
import {
  EBADF, ECONNRESET, EINVAL, FIONBIO, SOL_SOCKET, SO_ERROR, SO_LINGER, SO_LINGER_SEC, getsockoptInt,
  newMsghdr, setsockoptLinger, sock_accept, sock_close, sock_interrupt, sock_ioctl, sock_isconnected, sock_receive,
  sock_release, sock_retain, sock_send,
} from '../../kpi/index.js';
import type { socket_t } from '../../kpi/index.js';
import { isPending, kpiWorld, recvNow, run, runFor, sendAll, smallBuffers, tcpPair } from './kpi-harness.js';
import type { KpiWorld } from './kpi-harness.js';

function soError(so: socket_t): number {
  const e = { value: -1 };
  expect(getsockoptInt(so, SOL_SOCKET, SO_ERROR, e)).toBe(0);
  return e.value;
}

describe('how a connection ends', () => {
  it('no unread data: FIN; the peer reads what was sent, then EOF', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    await sendAll(kw, client, 100);
    expect(sock_close(client)).toBeUndefined();
    await runFor(kw, 20);
    expect(recvNow(server)[1].length).toBe(100);
    expect(recvNow(server)).toEqual([0, new Uint8Array(0)]);
    expect(soError(server)).toBe(0);
  });

  it('unread data in the receive buffer: RST; the peer sees ECONNRESET', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    await sendAll(kw, server, 10);
    await runFor(kw, 10);
    sock_close(client); // 10 bytes never read
    await runFor(kw, 20);
    expect(soError(server)).toBe(ECONNRESET);
  });

  it('SO_LINGER with linger 0: RST, and sock_close does not wait', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(setsockoptLinger(client, SO_LINGER, 1, 0)).toBe(0);
    expect(sock_close(client)).toBeUndefined();
    await runFor(kw, 20);
    expect(recvNow(server)[0]).toBe(ECONNRESET);
  });
});

describe('linger', () => {
  /** A pair whose send side cannot drain: 8 KB buffers, the server never reads. */
  async function stuck(kw: KpiWorld): Promise<{ client: socket_t; server: socket_t }> {
    const p = await tcpPair(kw, { before: smallBuffers(8192) });
    sock_ioctl(p.client, FIONBIO, { value: 1 });
    while (sock_send(p.client, newMsghdr([new Uint8Array(2000)]), 0, null) === 0) await runFor(kw, 5);
    sock_ioctl(p.client, FIONBIO, { value: 0 });
    return p;
  }

  it('a blocking socket waits up to the linger time (ticks of 10 ms), then closes anyway', async () => {
    const kw = kpiWorld();
    const { client } = await stuck(kw);
    expect(setsockoptLinger(client, SO_LINGER, 1, 50)).toBe(0); // 0.5 s
    const t0 = kw.w.sim.now;
    const p = sock_close(client);
    expect(isPending(p)).toBe(true);
    expect(sock_isconnected(client)).toBe(1); // lingering
    // The close happens inside the stack at the deadline, awaited or not (plain synchronous run).
    kw.w.sim.runUntil(t0 + 499_999);
    expect(client.dead).toBe(false);
    kw.w.sim.runUntil(t0 + 500_000);
    expect(client.dead).toBe(true);
    await run(kw, p);
    expect(kw.ka.sockets.has(client)).toBe(false);
  });

  it('the wait ends early when the FIN is acknowledged (SO_LINGER_SEC in seconds)', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 30 } });
    const { client } = await tcpPair(kw);
    await sendAll(kw, client, 1000);
    expect(setsockoptLinger(client, SO_LINGER_SEC, 1, 5)).toBe(0);
    const t0 = kw.w.sim.now;
    const p = sock_close(client);
    expect(isPending(p)).toBe(true);
    await run(kw, p);
    const took = kw.w.sim.now - t0;
    expect(took).toBeGreaterThanOrEqual(60_000); // a round trip for the FIN's ACK
    expect(took).toBeLessThan(200_000);
  });

  it('a nonblocking socket does not wait; sock_interrupt cuts a lingering close short', async () => {
    const kw = kpiWorld();
    const a = await stuck(kw);
    expect(setsockoptLinger(a.client, SO_LINGER, 1, 500)).toBe(0);
    sock_ioctl(a.client, FIONBIO, { value: 1 });
    expect(sock_close(a.client)).toBeUndefined();
    expect(a.client.dead).toBe(true);

    const kw2 = kpiWorld({ seed: 5 });
    const b = await stuck(kw2);
    expect(setsockoptLinger(b.client, SO_LINGER, 1, 500)).toBe(0);
    const p = sock_close(b.client);
    expect(isPending(p)).toBe(true);
    await runFor(kw2, 100);
    expect(sock_interrupt(b.client)).toBe(1);
    await p;
    expect(b.client.dead).toBe(true);
  });
});

describe('sleepers and holds', () => {
  it('sleepers on a closed socket: a receive sees the EOF the disconnect made, an accept ends with EBADF', async () => {
    const kw = kpiWorld();
    const { ls, client } = await tcpPair(kw);
    const n = { value: -1 };
    const p = sock_receive(client, newMsghdr([new Uint8Array(10)]), 0, n);
    expect(isPending(p)).toBe(true);
    sock_close(client); // soisdisconnecting wakes the reader with CANTRCVMORE
    expect(await p).toBe(0);
    expect(n.value).toBe(0);
    const q = sock_accept(ls, null, 0, 0, null, null, { value: null });
    expect(isPending(q)).toBe(true);
    sock_close(ls);
    expect(await q).toBe(EBADF);
    expect(kw.kb.stats.sleepsClosed).toBe(1);
    expect(sock_receive(client, newMsghdr([new Uint8Array(10)]), 0, n)).toBe(EINVAL);
    expect(sock_close(client)).toBeUndefined(); // twice: a no-op
  });

  it('sock_retain keeps a closed socket alive until the last sock_release', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    sock_retain(client);
    sock_retain(client);
    expect(sock_close(client)).toBeUndefined();
    expect(client.dead).toBe(false);
    expect(await sendAll(kw, client, 5)).toEqual([0, 5]); // still usable
    sock_release(client);
    expect(client.dead).toBe(false);
    sock_release(client);
    expect(client.dead).toBe(true);
    await runFor(kw, 20);
    expect(recvNow(server)[1].length).toBe(5);
    expect(recvNow(server)).toEqual([0, new Uint8Array(0)]); // FIN
    // Retain/release without close leaves the socket open.
    const { client: c2 } = await tcpPair(kw, { port: 7101 });
    sock_retain(c2);
    sock_release(c2);
    sock_release(c2); // more releases than retains: ignored
    expect(c2.dead).toBe(false);
  });
});
