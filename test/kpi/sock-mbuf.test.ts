// sock_sendmbuf and sock_receivembuf (xnu-sockets.md §3.6, §3.7): the chain is consumed on every
// path, its length comes from the pkthdr and the send is atomic; receivembuf hands over the socket
// buffer's own mbufs (no copy: same Mbuf objects, same clusters), with recvlen in/out semantics,
// MSG_PEEK's empty chain, and MSG_WAITALL beyond the receive buffer.

import { describe, expect, it } from 'vitest';
import {
  EINVAL, EMSGSIZE, ENOTCONN, EWOULDBLOCK, FIONBIO, MSG_PEEK, MSG_WAITALL, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF,
  SO_SNDBUF, SO_RCVTIMEO, newMsghdr, setsockoptInt, setsockoptTimeval, sock_bind, sock_ioctl, sock_receive,
  sock_receivembuf, sock_send, sock_sendmbuf, sockaddrIn,
} from '../../kpi/index.js';
import type { Box, socket_t } from '../../kpi/index.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFromBytes, mLength, mToBytes } from '../../stack/mbuf/index.js';
import { addrB, isPending, kpiWorld, raw, run, runFor, sendAll, smallBuffers, sock, tcpPair } from './kpi-harness.js';
import type { KpiWorld } from './kpi-harness.js';

const bytes = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 13 + seed) & 0xff);

function chain(so: socket_t, data: Uint8Array): Mbuf {
  const m = mFromBytes(so.so.ctx.pool, data);
  expect(m).not.toBeNull();
  return m!;
}

/** The mbufs of a chain (m_next). */
function mbufsOf(m: Mbuf | null): Mbuf[] {
  const out: Mbuf[] = [];
  for (; m !== null; m = m.next) out.push(m);
  return out;
}

describe('sock_sendmbuf', () => {
  it('frees the chain on every path: EINVAL (msg with iovecs), ENOTCONN, EMSGSIZE, nonblocking EWOULDBLOCK', async () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    let m = chain(s, bytes(10));
    expect(sock_sendmbuf(s, newMsghdr([bytes(1)]), m, 0, null)).toBe(EINVAL);
    expect(m.freed).toBe(true);
    m = chain(s, bytes(10));
    expect(sock_sendmbuf(s, newMsghdr([bytes(1)], { control: new Uint8Array(3) }), m, 0, null)).toBe(EINVAL);
    expect(m.freed).toBe(true);
    expect(sock_sendmbuf(s, null, null, 0, null)).toBe(EINVAL);
    m = chain(s, bytes(10));
    expect(sock_sendmbuf(s, null, m, 0, null)).toBe(ENOTCONN);
    expect(m.freed).toBe(true);

    const { client } = await tcpPair(kw);
    expect(setsockoptInt(client, SOL_SOCKET, SO_SNDBUF, 8192)).toBe(0);
    m = chain(client, bytes(9000));
    expect(sock_sendmbuf(client, null, m, 0, null)).toBe(EMSGSIZE); // an mbuf send is atomic
    expect(m.freed).toBe(true);
    sock_ioctl(client, FIONBIO, { value: 1 });
    const sent = { value: -1 };
    // Fill the send buffer (the peer does not read; its window is large, so send fast and often).
    let e = 0;
    for (let i = 0; i < 400 && e === 0; i++) {
      m = chain(client, bytes(8000));
      e = sock_sendmbuf(client, null, m, 0, sent) as number;
      if (e === 0) expect(sent.value).toBe(8000);
    }
    expect(e).toBe(EWOULDBLOCK);
    expect(sent.value).toBe(0);
    expect(m.freed).toBe(true);
  });

  it('sentlen is the pkthdr length; blocking waits for room, then queues the whole chain', async () => {
    const kw2 = kpiWorld({ seed: 3 });
    const { client: c, server } = await tcpPair(kw2, { before: smallBuffers(4096) });
    const child = { value: server };
    const sent = { value: -1 };
    const all: Uint8Array[] = [];
    let pending: Promise<number> | null = null;
    for (let i = 0; i < 10; i++) {
      const data = bytes(3000, i);
      all.push(data);
      const r = sock_sendmbuf(c, null, chain(c, data), 0, sent);
      if (isPending(r)) { pending = r; break; }
      expect(r).toBe(0);
      expect(sent.value).toBe(3000);
      await runFor(kw2, 5);
    }
    expect(pending).not.toBeNull();
    // Drain the receiver; the pending send then completes whole.
    const got: number[] = [];
    const buf = new Uint8Array(65536);
    const n = { value: 0 };
    while (got.length < all.length * 3000) {
      expect(await run(kw2, sock_receive(child.value, newMsghdr([buf]), 0, n))).toBe(0);
      got.push(...buf.subarray(0, n.value));
    }
    expect(await pending!).toBe(0);
    expect(sent.value).toBe(3000);
    const want = new Uint8Array(all.reduce((a, b) => a + b.length, 0));
    let off = 0;
    for (const d of all) { want.set(d, off); off += d.length; }
    expect(new Uint8Array(got)).toEqual(want);
  });
});

describe('sock_receivembuf', () => {
  async function withData(kw: KpiWorld, n: number): Promise<{ client: socket_t; server: socket_t }> {
    const p = await tcpPair(kw);
    expect(await sendAll(kw, p.client, bytes(n))).toEqual([0, n]);
    await runFor(kw, 10);
    expect(raw(p.server).so_rcv.sb_cc).toBe(n);
    return p;
  }

  it('EINVAL: no data/recvlen box, *recvlen <= 0, a msg with iovecs', async () => {
    const kw = kpiWorld();
    const { server } = await withData(kw, 10);
    const data: Box<Mbuf | null> = { value: null };
    expect(sock_receivembuf(server, null, null, 0, { value: 5 })).toBe(EINVAL);
    expect(sock_receivembuf(server, null, data, 0, null)).toBe(EINVAL);
    const len = { value: 0 };
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(EINVAL);
    len.value = -3;
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(EINVAL);
    expect(len.value).toBe(0);
    len.value = 5;
    expect(sock_receivembuf(server, newMsghdr([new Uint8Array(4)]), data, 0, len)).toBe(EINVAL);
    expect(len.value).toBe(0);
  });

  it('zero-copy: the returned chain is the socket buffer\'s own mbufs and clusters', async () => {
    const kw = kpiWorld();
    const { server } = await withData(kw, 3000);
    const queued = mbufsOf(raw(server).so_rcv.sb_mb);
    const clusters = queued.map((m) => m.ext);
    expect(clusters.every((c) => c !== null)).toBe(true);
    const data: Box<Mbuf | null> = { value: null };
    const len = { value: 100_000 };
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(0);
    expect(len.value).toBe(3000);
    const got = mbufsOf(data.value);
    expect(got.length).toBe(queued.length);
    expect(got.every((m, i) => m === queued[i])).toBe(true); // the very same Mbuf objects, moved
    expect(got.every((m, i) => m.ext === clusters[i])).toBe(true);
    expect(mToBytes(data.value)).toEqual(bytes(3000));
    expect(raw(server).so_rcv.sb_cc).toBe(0);
    for (const m of got) m.pool.free(m);
  });

  it('recvlen bounds the chain: a partly consumed mbuf is split sharing its cluster', async () => {
    const kw = kpiWorld();
    const { server } = await withData(kw, 1000);
    const first = raw(server).so_rcv.sb_mb!;
    const cluster = first.ext!;
    const refsBefore = cluster.refs;
    const data: Box<Mbuf | null> = { value: null };
    const len = { value: 100 };
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(0);
    expect(len.value).toBe(100);
    expect(mLength(data.value)).toBe(100);
    expect(data.value!.ext).toBe(cluster); // shares the received cluster (no copy)
    expect(cluster.refs).toBe(refsBefore + 1);
    expect(raw(server).so_rcv.sb_mb!.ext).toBe(cluster);
    expect(raw(server).so_rcv.sb_cc).toBe(900);
    expect(mToBytes(data.value)).toEqual(bytes(1000).subarray(0, 100));
    data.value!.pool.free(data.value!);
    expect(cluster.refs).toBe(refsBefore);
    // The rest.
    len.value = 5000;
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(0);
    expect(len.value).toBe(900);
    expect(mToBytes(data.value)).toEqual(bytes(1000).subarray(100));
  });

  it('MSG_PEEK (as XNU): no chain, recvlen counts the bytes, the data stays queued', async () => {
    const kw = kpiWorld();
    const { server } = await withData(kw, 50);
    const data: Box<Mbuf | null> = { value: null };
    const len = { value: 20 };
    expect(sock_receivembuf(server, null, data, MSG_PEEK, len)).toBe(0);
    expect(data.value).toBeNull();
    expect(len.value).toBe(20);
    expect(raw(server).so_rcv.sb_cc).toBe(50);
  });

  it('blocking: a Promise; nonblocking: EWOULDBLOCK; UDP gives the datagram\'s data mbufs and its address', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    const data: Box<Mbuf | null> = { value: null };
    const len = { value: 10 };
    sock_ioctl(server, FIONBIO, { value: 1 });
    expect(sock_receivembuf(server, null, data, 0, len)).toBe(EWOULDBLOCK);
    sock_ioctl(server, FIONBIO, { value: 0 });
    len.value = 10;
    const p = sock_receivembuf(server, null, data, 0, len);
    expect(isPending(p)).toBe(true);
    await sendAll(kw, client, bytes(4));
    expect(await run(kw, p)).toBe(0);
    expect(len.value).toBe(4);
    expect(mToBytes(data.value)).toEqual(bytes(4));

    const a = sock(kw.ka, SOCK_DGRAM), b = sock(kw.kb, SOCK_DGRAM);
    expect(sock_bind(b, sockaddrIn('0.0.0.0', 5400))).toBe(0);
    expect(sock_send(a, newMsghdr([bytes(700)], { name: addrB(kw, 5400) }), 0, null)).toBe(0);
    const msg = newMsghdr(null, { name: new Uint8Array(16) });
    len.value = 10_000;
    expect(await run(kw, sock_receivembuf(b, msg, data, 0, len))).toBe(0);
    expect(len.value).toBe(700);
    expect(mToBytes(data.value)).toEqual(bytes(700));
    expect(msg.msg_name![1]).toBe(2);
  });

  it('MSG_WAITALL beyond the receive buffer: delivered in parts; a timeout returns 0 with the short count', async () => {
    const kw = kpiWorld();
    const { client: c, server } = await tcpPair(kw, { before: smallBuffers(4096) });
    // 20 000 bytes requested with MSG_WAITALL through a 4 KB buffer: arrives in many parts.
    const n = { value: -1 };
    const buf = new Uint8Array(20_000);
    const p = sock_receive(server, newMsghdr([buf]), MSG_WAITALL, n);
    expect(isPending(p)).toBe(true);
    const sendP = sock_send(c, newMsghdr([bytes(20_000)]), 0, null);
    expect(await run(kw, p)).toBe(0);
    expect(n.value).toBe(20_000);
    expect(buf).toEqual(bytes(20_000));
    expect(await run(kw, sendP)).toBe(0);
    // 6000 of 10 000 arrive, then nothing: SO_RCVTIMEO ends the wait with 0 and the 6000.
    expect(setsockoptTimeval(server, SO_RCVTIMEO, 0, 200_000)).toBe(0);
    const q = sock_receive(server, newMsghdr([new Uint8Array(10_000)]), MSG_WAITALL, n);
    expect(await run(kw, sock_send(c, newMsghdr([bytes(6000)]), 0, null))).toBe(0);
    expect(await run(kw, q)).toBe(0);
    expect(n.value).toBe(6000);
  });
});
