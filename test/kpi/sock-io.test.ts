// sock_send / sock_receive (xnu-sockets.md §3.6, §3.7, §5): argument errors, state errors in
// XNU's order (EPIPE before so_error, ECONNRESET once then EOF/EPIPE), UDP addressing and
// truncation, nonblocking numbers vs blocking Promises, MSG_DONTWAIT not making sends
// nonblocking, SO_RCVTIMEO / SO_SNDTIMEO in virtual time with partial success, MSG_WAITALL,
// interruption and sock_nointerrupt.

import { describe, expect, it } from 'vitest';
import {
  ECONNRESET, EDESTADDRREQ, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOTCONN, EPIPE, EWOULDBLOCK, FIONBIO,
  FIONREAD, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SHUT_WR, SOCK_DGRAM, SOL_SOCKET, SO_ERROR,
  SO_LINGER, SO_RCVBUF, SO_RCVTIMEO, SO_SNDBUF, SO_SNDTIMEO, getsockoptInt, newMsghdr, readSockaddr,
  setsockoptInt, setsockoptLinger, setsockoptTimeval, sock_bind, sock_close, sock_connect, sock_interrupt,
  sock_ioctl, sock_nointerrupt, sock_receive, sock_send, sock_shutdown, sockaddrIn,
} from '../../kpi/index.js';
import type { msghdr, socket_t } from '../../kpi/index.js';
import { addrB, isPending, kpiWorld, raw, recvNow, run, runFor, runUntil, sendAll, smallBuffers, sock, tcpPair } from './kpi-harness.js';
import type { KpiWorld } from './kpi-harness.js';

const bytes = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe('argument checks', () => {
  it('sock_send: EINVAL without msg or iovecs, or with a bad msg_iovlen or control length', async () => {
    const kw = kpiWorld();
    const { client } = await tcpPair(kw);
    const sent = { value: 7 };
    expect(sock_send(client, null, 0, sent)).toBe(EINVAL);
    expect(sent.value).toBe(0);
    expect(sock_send(client, newMsghdr(null), 0, sent)).toBe(EINVAL);
    expect(sock_send(client, newMsghdr([]), 0, sent)).toBe(EINVAL);
    expect(sock_send(client, { ...newMsghdr([bytes(4)]), msg_iovlen: 2 }, 0, sent)).toBe(EINVAL);
    expect(sock_send(client, newMsghdr([bytes(4)], { control: new Uint8Array(11) }), 0, sent)).toBe(EINVAL);
    expect(sock_send(client, newMsghdr([bytes(4)], { control: new Uint8Array(225) }), 0, sent)).toBe(EINVAL); // > MLEN
    expect(sock_send(client, { ...newMsghdr([bytes(4)]), msg_iovlen: 0 }, 0, sent)).toBe(EINVAL);
  });

  it('sock_receive: EINVAL without msg, iovecs, or with an empty first iovec', async () => {
    const kw = kpiWorld();
    const { client } = await tcpPair(kw);
    const n = { value: 7 };
    expect(sock_receive(client, null, 0, n)).toBe(EINVAL);
    expect(n.value).toBe(0);
    expect(sock_receive(client, newMsghdr([]), 0, n)).toBe(EINVAL);
    expect(sock_receive(client, newMsghdr([new Uint8Array(0), new Uint8Array(5)]), 0, n)).toBe(EINVAL);
  });
});

describe('TCP state errors', () => {
  it('ENOTCONN on an unconnected stream socket (send and receive)', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(sock_send(s, newMsghdr([bytes(3)]), 0, null)).toBe(ENOTCONN);
    expect(sock_receive(s, newMsghdr([new Uint8Array(3)]), 0, null)).toBe(ENOTCONN);
  });

  it('EPIPE after SHUT_WR; the peer reads the data then EOF (0 bytes)', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(await sendAll(kw, client, bytes(10))).toEqual([0, 10]);
    expect(sock_shutdown(client, SHUT_WR)).toBe(0);
    expect(sock_send(client, newMsghdr([bytes(1)]), 0, null)).toBe(EPIPE);
    expect(sock_shutdown(client, SHUT_WR)).toBe(ENOTCONN); // already shut
    const buf = new Uint8Array(64);
    const n = { value: -1 };
    expect(await run(kw, sock_receive(server, newMsghdr([buf]), 0, n))).toBe(0);
    expect(buf.subarray(0, n.value)).toEqual(bytes(10));
    expect(await run(kw, sock_receive(server, newMsghdr([buf]), 0, n))).toBe(0);
    expect(n.value).toBe(0); // EOF
  });

  it('after a RST: a send gets EPIPE (checked first), then ECONNRESET once, then EOF', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(setsockoptLinger(server, SO_LINGER, 1, 0)).toBe(0);
    sock_close(server); // linger 0: RST
    await runFor(kw, 20);
    expect(raw(client).so_error).toBe(ECONNRESET);
    expect(sock_send(client, newMsghdr([bytes(1)]), 0, null)).toBe(EPIPE);
    expect(recvNow(client)[0]).toBe(ECONNRESET);
    expect(recvNow(client)).toEqual([0, new Uint8Array(0)]);
    expect(sock_send(client, newMsghdr([bytes(1)]), 0, null)).toBe(EPIPE);
  });
});

describe('UDP', () => {
  async function udpPair(kw: KpiWorld): Promise<{ a: socket_t; b: socket_t }> {
    const a = sock(kw.ka, SOCK_DGRAM), b = sock(kw.kb, SOCK_DGRAM);
    expect(sock_bind(a, sockaddrIn('0.0.0.0', 5300))).toBe(0);
    expect(sock_bind(b, sockaddrIn('0.0.0.0', 5301))).toBe(0);
    return { a, b };
  }

  it('EDESTADDRREQ without an address, EISCONN with one when connected, EMSGSIZE above SO_SNDBUF', async () => {
    const kw = kpiWorld();
    const { a } = await udpPair(kw);
    expect(sock_send(a, newMsghdr([bytes(5)]), 0, null)).toBe(EDESTADDRREQ);
    expect(sock_send(a, newMsghdr([bytes(9217)], { name: addrB(kw, 5301) }), 0, null)).toBe(EMSGSIZE);
    const sent = { value: 0 };
    expect(sock_send(a, newMsghdr([bytes(9216)], { name: addrB(kw, 5301) }), 0, sent)).toBe(0);
    expect(sent.value).toBe(9216);
    expect(sock_connect(a, addrB(kw, 5301), 0)).toBe(0);
    expect(sock_send(a, newMsghdr([bytes(5)], { name: addrB(kw, 5301) }), 0, null)).toBe(EISCONN);
    expect(sock_send(a, newMsghdr([bytes(5)]), MSG_DONTWAIT, sent)).toBe(0);
  });

  it('msg_name gets MIN(msg_namelen, sa_len) bytes and msg_namelen is unchanged; MSG_TRUNC; FIONREAD counts the address', async () => {
    const kw = kpiWorld();
    const { a, b } = await udpPair(kw);
    for (const n of [100, 30]) {
      expect(sock_send(a, newMsghdr([bytes(n)], { name: addrB(kw, 5301) }), 0, null)).toBe(0);
    }
    await runFor(kw, 5);
    const fionread = { value: 0 };
    expect(sock_ioctl(b, FIONREAD, fionread)).toBe(0);
    expect(fionread.value).toBe(100 + 16 + 30 + 16);
    const nread = { value: 0 };
    expect(getsockoptInt(b, SOL_SOCKET, 0x1020 /* SO_NREAD */, nread)).toBe(0);
    expect(nread.value).toBe(100);
    const name = new Uint8Array(32).fill(0xff);
    const msg: msghdr = newMsghdr([new Uint8Array(40)], { name });
    msg.msg_namelen = 16;
    const got = { value: 0 };
    expect(sock_receive(b, msg, 0, got)).toBe(0);
    expect(got.value).toBe(40); // the bytes copied, not the datagram's length
    expect(msg.msg_flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(msg.msg_namelen).toBe(16);
    const r = readSockaddr(name.subarray(0, 16));
    expect(r.ok && `${r.value.addr.toString()}:${r.value.port}`).toBe('198.18.0.1:5300');
    expect(name[16]).toBe(0xff);
    const short: msghdr = newMsghdr([new Uint8Array(64)], { name: new Uint8Array(4) });
    expect(sock_receive(b, short, 0, got)).toBe(0);
    expect([got.value, short.msg_flags & MSG_TRUNC, short.msg_name![0], short.msg_name![1]]).toEqual([30, 0, 16, 2]);
    expect(sock_receive(b, newMsghdr([new Uint8Array(8)]), MSG_DONTWAIT, got)).toBe(EWOULDBLOCK);
  });
});

describe('blocking and nonblocking receive', () => {
  it('no data: a number with MSG_DONTWAIT or FIONBIO, a Promise otherwise that settles when data arrives', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 5 } });
    const { client, server } = await tcpPair(kw);
    const buf = new Uint8Array(100);
    expect(sock_receive(server, newMsghdr([buf]), MSG_DONTWAIT, null)).toBe(EWOULDBLOCK);
    sock_ioctl(server, FIONBIO, { value: 1 });
    expect(sock_receive(server, newMsghdr([buf]), 0, null)).toBe(EWOULDBLOCK);
    sock_ioctl(server, FIONBIO, { value: 0 });
    const n = { value: -1 };
    const p = sock_receive(server, newMsghdr([buf]), 0, n);
    expect(isPending(p)).toBe(true);
    expect(n.value).toBe(0);
    await runFor(kw, 100);
    expect(await sendAll(kw, client, bytes(42))).toEqual([0, 42]);
    const t0 = kw.w.sim.now;
    expect(await run(kw, p)).toBe(0);
    expect(n.value).toBe(42);
    expect(kw.w.sim.now - t0).toBe(5000); // settled when the segment arrived
    expect(buf.subarray(0, 42)).toEqual(bytes(42));
  });

  it('SO_RCVTIMEO: EWOULDBLOCK (35) after exactly the timeout of virtual time', async () => {
    const kw = kpiWorld();
    const { server } = await tcpPair(kw);
    expect(setsockoptTimeval(server, SO_RCVTIMEO, 0, 250_000)).toBe(0);
    const t0 = kw.w.sim.now;
    expect(await run(kw, sock_receive(server, newMsghdr([new Uint8Array(8)]), 0, null))).toBe(EWOULDBLOCK);
    expect(kw.w.sim.now - t0).toBe(250_000);
    expect(kw.kb.stats.sleepTimeouts).toBe(1);
  });

  it('SO_RCVLOWAT: a blocking receive sleeps until that many bytes are queued', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(setsockoptInt(client, 6, 1, 1)).toBe(0); // TCP_NODELAY: one segment per send
    expect(setsockoptInt(server, SOL_SOCKET, 0x1004 /* SO_RCVLOWAT */, 250)).toBe(0);
    const n = { value: -1 };
    const p = sock_receive(server, newMsghdr([new Uint8Array(1000)]), 0, n);
    for (let i = 0; i < 2; i++) {
      await sendAll(kw, client, 100);
      await runFor(kw, 10);
    }
    let settled = false;
    void Promise.resolve(p).then(() => { settled = true; });
    await runFor(kw, 1);
    expect(settled).toBe(false);
    await sendAll(kw, client, 100);
    expect(await run(kw, p)).toBe(0);
    expect(n.value).toBe(300);
    // MSG_DONTWAIT takes what is there regardless of the mark.
    await sendAll(kw, client, 10);
    await runFor(kw, 10);
    expect(sock_receive(server, newMsghdr([new Uint8Array(1000)]), MSG_DONTWAIT, n)).toBe(0);
    expect(n.value).toBe(10);
  });

  it('MSG_WAITALL waits for the whole request; a timeout before it fits copies nothing (EWOULDBLOCK)', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    const buf = new Uint8Array(3000);
    const n = { value: -1 };
    const p = sock_receive(server, newMsghdr([buf.subarray(0, 1000), buf.subarray(1000)]), MSG_WAITALL, n);
    expect(isPending(p)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await sendAll(kw, client, bytes(700, i));
      await runFor(kw, 10);
      expect(kw.w.sim.now).toBeGreaterThan(0);
    }
    await sendAll(kw, client, bytes(900, 3));
    expect(await run(kw, p)).toBe(0);
    expect(n.value).toBe(3000);
    expect(buf.subarray(2100, 3000)).toEqual(bytes(900, 3));
    // SO_RCVTIMEO 100 ms with 500 of 1000 bytes queued: soreceive's first wait (so_should_wait)
    // times out before anything is copied, so EWOULDBLOCK and the 500 bytes stay queued.
    expect(setsockoptTimeval(server, SO_RCVTIMEO, 0, 100_000)).toBe(0);
    await sendAll(kw, client, bytes(500));
    const q = sock_receive(server, newMsghdr([new Uint8Array(1000)]), MSG_WAITALL, n);
    expect(isPending(q)).toBe(true);
    const t0 = kw.w.sim.now;
    expect(await run(kw, q)).toBe(EWOULDBLOCK);
    expect(n.value).toBe(0);
    expect(kw.w.sim.now - t0).toBe(100_000);
    expect(recvNow(server)[1].length).toBe(500);
  });

  it('sock_interrupt: EINTR, unless sock_nointerrupt; MSG_PEEK leaves the data', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    const p = sock_receive(server, newMsghdr([new Uint8Array(8)]), 0, null);
    expect(sock_interrupt(server)).toBe(1);
    expect(await p).toBe(EINTR);
    expect(sock_nointerrupt(server, 1)).toBe(0);
    const n = { value: 0 };
    const q = sock_receive(server, newMsghdr([new Uint8Array(8)]), 0, n);
    expect(sock_interrupt(server)).toBe(0);
    await sendAll(kw, client, bytes(8));
    expect(await run(kw, q)).toBe(0);
    expect(n.value).toBe(8);
    await sendAll(kw, client, bytes(5));
    await runFor(kw, 5);
    const peek = new Uint8Array(5);
    expect(sock_receive(server, newMsghdr([peek]), MSG_PEEK, n)).toBe(0);
    expect([n.value, ...peek]).toEqual([5, ...bytes(5)]);
    expect(recvNow(server)[1]).toEqual(bytes(5));
  });
});

describe('blocking and nonblocking send', () => {
  /** A pair whose path holds little: 4 KB send buffer on a, 4 KB receive buffer on b. */
  const smallPair = (kw: KpiWorld): Promise<{ client: socket_t; server: socket_t }> =>
    tcpPair(kw, { port: 7500, before: smallBuffers(4096) });

  it('FIONBIO: a short count (0) and then EWOULDBLOCK (a number) when the buffer is full', async () => {
    const kw = kpiWorld();
    const { client } = await smallPair(kw);
    sock_ioctl(client, FIONBIO, { value: 1 });
    const sent = { value: 0 };
    let total = 0;
    for (let i = 0; i < 20; i++) {
      const e = sock_send(client, newMsghdr([bytes(3000)]), 0, sent);
      expect(typeof e).toBe('number');
      if (e === EWOULDBLOCK) { expect(sent.value).toBe(0); break; }
      expect(e).toBe(0);
      total += sent.value;
      await runFor(kw, 5);
    }
    expect(total).toBeGreaterThan(4096);
    expect(total).toBeLessThan(3 * 4096);
  });

  it('MSG_DONTWAIT does NOT make a send nonblocking: a Promise that settles once the peer reads', async () => {
    const kw = kpiWorld();
    const { client, server } = await smallPair(kw);
    const data = bytes(50_000);
    const sent = { value: -1 };
    const p = sock_send(client, newMsghdr([data]), MSG_DONTWAIT, sent);
    expect(isPending(p)).toBe(true);
    await runFor(kw, 200);
    let settled = false;
    void Promise.resolve(p).then(() => { settled = true; });
    await runFor(kw, 1);
    expect(settled).toBe(false);
    // The server drains; the send completes with everything.
    const got: number[] = [];
    const buf = new Uint8Array(8192);
    const n = { value: 0 };
    for (let i = 0; i < 100 && got.length < data.length; i++) {
      const e = await run(kw, sock_receive(server, newMsghdr([buf]), 0, n));
      expect(e).toBe(0);
      got.push(...buf.subarray(0, n.value));
    }
    expect(await p).toBe(0);
    expect(sent.value).toBe(50_000);
    expect(new Uint8Array(got)).toEqual(data);
  });

  it('SO_SNDTIMEO: after a partial send the call returns 0 with the count; with nothing sent, EWOULDBLOCK', async () => {
    const kw = kpiWorld();
    const { client } = await smallPair(kw);
    expect(setsockoptTimeval(client, SO_SNDTIMEO, 0, 300_000)).toBe(0);
    const sent = { value: -1 };
    const t0 = kw.w.sim.now;
    expect(await run(kw, sock_send(client, newMsghdr([bytes(40_000)]), 0, sent))).toBe(0);
    expect(sent.value).toBeGreaterThan(4096);
    expect(sent.value).toBeLessThan(40_000);
    expect(kw.w.sim.now - t0).toBeGreaterThanOrEqual(300_000);
    expect(await run(kw, sock_send(client, newMsghdr([bytes(10_000)]), 0, sent))).toBe(EWOULDBLOCK);
    expect(sent.value).toBe(0);
  });

  it('an interrupted send returns 0 with the partial count', async () => {
    const kw = kpiWorld();
    const { client } = await smallPair(kw);
    const sent = { value: -1 };
    const p = sock_send(client, newMsghdr([bytes(40_000)]), 0, sent);
    await runFor(kw, 100);
    expect(sock_interrupt(client)).toBe(1);
    expect(await p).toBe(0);
    expect(sent.value).toBeGreaterThan(0);
    expect(sent.value).toBeLessThan(40_000);
  });

  it('so_error is returned (and cleared) by the next send; SO_ERROR reads it once', async () => {
    const kw = kpiWorld();
    const { client } = await tcpPair(kw);
    raw(client).so_error = 65; // as an ICMP error would post it
    expect(sock_send(client, newMsghdr([bytes(1)]), 0, null)).toBe(65);
    const e = { value: -1 };
    expect(getsockoptInt(client, SOL_SOCKET, SO_ERROR, e)).toBe(0);
    expect(e.value).toBe(0);
  });

  it('zero-length stream sends succeed with 0', async () => {
    const kw = kpiWorld();
    const { client } = await tcpPair(kw);
    const sent = { value: -1 };
    expect(sock_send(client, newMsghdr([new Uint8Array(0)]), 0, sent)).toBe(0);
    expect(sent.value).toBe(0);
    await runUntil(kw, () => true);
    sock_close(client);
  });
});

describe('sock_shutdown', () => {
  it('EINVAL for a bad `how`; ENOTCONN when not connected (TCP, UDP, a listener) or already shut', async () => {
    const kw = kpiWorld();
    expect(sock_shutdown(sock(kw.ka), SHUT_WR)).toBe(ENOTCONN);
    expect(sock_shutdown(sock(kw.ka, SOCK_DGRAM), SHUT_WR)).toBe(ENOTCONN);
    const { ls, client } = await tcpPair(kw);
    expect(sock_shutdown(ls, 2)).toBe(ENOTCONN);
    expect(sock_shutdown(client, 3)).toBe(EINVAL);
    expect(sock_shutdown(client, -1)).toBe(EINVAL);
    expect(sock_shutdown(client, 0)).toBe(0);
    expect(sock_shutdown(client, 0)).toBe(ENOTCONN);
    expect(sock_shutdown(client, 2)).toBe(ENOTCONN); // the read side is already shut
    expect(sock_shutdown(client, 1)).toBe(0);
  });
});
