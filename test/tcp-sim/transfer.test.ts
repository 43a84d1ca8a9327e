// Bulk TCP transfers between two stacks on the simulated network, in virtual time: several MB in
// each direction, byte-exact (sha256 and a byte-by-byte check against the seeded stream), over a
// clean link and under loss, reordering, duplication, corruption, delay with jitter, a 576-byte
// MTU, IPv6 at 1280, a bottleneck with a small queue, TSO emulation (also under loss), a long fat
// pipe (window scaling), TCP_MAXSEG, a slow reader (zero windows, persist probes, a lost window
// update), a receiver short of mbufs, both directions at once, and 200-1000 concurrent
// connections (incl. a SYN burst past the backlog). Every run ends with both sockets closed, the
// tcpcbs in CLOSED or TIME_WAIT, retransmissions within bounds, and after TIME_WAIT no PCB,
// socket or mbuf left. Each test prints its seed; SIM_SEED=n replays. TUNSTACK_SOAK=1 adds the
// large soak variants (256 MB, 20 × 16 MB, 5000 connections).

import { describe, expect, it } from 'vitest';
import type { Impairments } from '../../stack/link/sim-network.js';
import { SOL_SOCKET, SO_RCVBUF } from '../../stack/socket/constants.js';
import { EINVAL } from '../../stack/errno.js';
import { BulkEndpoint, Connector, EchoConn, connect, listen } from './apps.js';
import {
  BASE_SEED, FAST_PROFILE, SOAK, TCP_MAXSEG, countersSummary, sa, setInt, setTcpInt, stat, tcpPcbCount, tcpcbOf, tcpWorld,
} from './harness.js';
import type { TcpcbLike } from './harness.js';
import { describeRun, leakProblems, runTransfer, settle, transferProblems } from './scenarios.js';
import type { TransferRun, TransferSpec } from './scenarios.js';

const KB = 1024;
const MB = 1024 * 1024;
const OFFLOAD = { tsoMaxBytes: 65536, txCsumOffload: true, rxCsumValid: true } as const;

/** Runs the spec and checks delivery, final states and (after TIME_WAIT) leaks. */
function check(spec: TransferSpec): TransferRun {
  const r = runTransfer({ profile: FAST_PROFILE, ...spec });
  const why = () => `${describeRun(r)}\n${countersSummary(r.world)}`;
  expect(transferProblems(r, spec), why()).toEqual([]);
  expect(settle(r), why()).toEqual([]);
  // Loss recovery resends what was lost, not the whole window: with SACK, retransmitted bytes stay
  // far below the data (≤ 10% loss here), so half the data plus 128 KB is a loose bound.
  const rexmit = stat(r.world.a.stack, 'tcps_sndrexmitbyte') + stat(r.world.b.stack, 'tcps_sndrexmitbyte');
  expect(rexmit, `retransmitted ${rexmit} bytes for ${spec.aToB + spec.bToA}\n${why()}`)
    .toBeLessThanOrEqual(128 * KB + (spec.aToB + spec.bToA) / 2);
  r.acceptor.close();
  // TIME_WAIT is 2 * 500 ms here; FIN_WAIT_2 and every other timer are far shorter than 5 minutes.
  r.world.sim.runUntil(() => tcpPcbCount(r.world.a.stack) === 0 && tcpPcbCount(r.world.b.stack) === 0, 300_000);
  expect(leakProblems(r.world), why()).toEqual([]);
  return r;
}

const lossy = (loss: number): Impairments => ({ loss, delayMs: 5 });

describe('bulk transfer, byte-exact', () => {
  it(`4 MB a→b over a clean link (seed ${BASE_SEED})`, () => {
    const r = check({ seed: BASE_SEED, aToB: 4 * MB, bToA: 0 });
    expect(stat(r.world.a.stack, 'tcps_sndbyte')).toBeGreaterThanOrEqual(4 * MB);
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack')).toBe(0);
  });

  it(`4 MB b→a over a clean link (seed ${BASE_SEED + 1})`, () => {
    check({ seed: BASE_SEED + 1, aToB: 0, bToA: 4 * MB });
  });

  it(`2 MB each way at once (seed ${BASE_SEED + 2})`, () => {
    check({ seed: BASE_SEED + 2, aToB: 2 * MB, bToA: 2 * MB, impairments: { delayMs: 2 } });
  });

  it(`2 MB over IPv6 with a 1280-byte MTU (seed ${BASE_SEED + 3})`, () => {
    const r = check({ seed: BASE_SEED + 3, family: 6, mtu: 1280, aToB: 2 * MB, bToA: 64 * KB, impairments: { delayMs: 3 } });
    // Segments fit the link: TCP sized them from the MSS, IP did not fragment.
    expect(r.world.a.stack.ip.ip6stat.ip6s_fragmented).toBe(0);
  });

  it(`1 MB over IPv4 with a 576-byte MTU (seed ${BASE_SEED + 4})`, () => {
    const r = check({ seed: BASE_SEED + 4, family: 4, mtu: 576, aToB: 1 * MB, bToA: 32 * KB, impairments: { delayMs: 3 } });
    expect(r.world.a.stack.ip.ipstat.ips_fragmented).toBe(0);
    expect(r.world.b.stack.ip.ipstat.ips_fragmented).toBe(0);
  });

  it(`4 MB with TSO and checksum offload emulated (seed ${BASE_SEED + 5})`, () => {
    const r = check({ seed: BASE_SEED + 5, caps: OFFLOAD, aToB: 4 * MB, bToA: 256 * KB, impairments: { delayMs: 1 } });
    expect(stat(r.world.a.stack, 'tcps_tso_segs'), countersSummary(r.world)).toBeGreaterThan(0);
  });

  it(`2 MB through a 20 Mbit/s bottleneck with a 32 KB queue (seed ${BASE_SEED + 6})`, () => {
    const r = check({
      seed: BASE_SEED + 6, aToB: 2 * MB, bToA: 0,
      impairments: { delayMs: 10, bandwidthBps: 20_000_000, queueLimitBytes: 32 * KB },
    });
    // Tail drops at the queue are recovered from.
    expect(r.world.net.port('b').stats.dropQueueFull + r.world.net.port('a').stats.dropQueueFull).toBeGreaterThan(0);
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack')).toBeGreaterThan(0);
  });
});

describe('performance sanity (virtual time)', () => {
  it(`window scaling keeps more than 64 KB in flight on a 100 ms, 100 Mbit/s path (seed ${BASE_SEED + 7})`, () => {
    const r = check({ seed: BASE_SEED + 7, aToB: 4 * MB, bToA: 0, impairments: { delayMs: 50, bandwidthBps: 100_000_000 } });
    // 64 KB per 100 ms round trip would need 6.4 s; the default buffers (≥ 370 KB) allow well under 3 s.
    expect(r.elapsedMs, countersSummary(r.world)).toBeLessThan(3000);
  });

  it(`TCP_MAXSEG lowers the segment size (seed ${BASE_SEED + 8})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 8, impairments: { delayMs: 2 }, profile: FAST_PROFILE });
    const acceptor = listen(w.b.stack, { family: 4, port: 5001 }, (st, so) => new BulkEndpoint(st, so, { expectSeed: 3 }));
    const c = connect(w.a.stack, {
      family: 4, to: sa(w.b, 4, 5001),
      // §6.5: it can only lower the MSS, which is 512 (TCP_MSS) until negotiated.
      before: (so) => { expect([setTcpInt(so, TCP_MAXSEG, 536), setTcpInt(so, TCP_MAXSEG, 100)]).toEqual([EINVAL, EINVAL]); },
    }, (st, so) => new Connector(st, so));
    expect(w.sim.runUntil(() => c.connectErrno === 0, 1000)).toBe(true);
    expect(setTcpInt(c.so, TCP_MAXSEG, 536)).toBe(0);
    const port = w.net.port('a');
    const tx0 = port.stats.txPackets, bytes0 = port.stats.txBytes;
    const sender = new BulkEndpoint(w.a.stack, c.so, { sendBytes: 200 * KB, sendSeed: 3 }).attach();
    expect(w.sim.runUntil(() => sender.closed && acceptor.apps[0]?.closed === true, 10_000)).toBe(true);
    expect(acceptor.apps[0]!.received).toBe(200 * KB);
    expect(acceptor.apps[0]!.mismatchAt).toBe(-1);
    // At least 200 KB / 536 data segments, each at most 536 + 40 header bytes + 12 of timestamps.
    expect(stat(w.a.stack, 'tcps_sndpack')).toBeGreaterThanOrEqual(Math.ceil(200 * KB / 536));
    expect((port.stats.txBytes - bytes0) / (port.stats.txPackets - tx0)).toBeLessThanOrEqual(536 + 52);
  });
});

describe('bulk transfer under impairments', () => {
  it(`2 MB with 1% loss (seed ${BASE_SEED + 10})`, () => {
    const r = check({ seed: BASE_SEED + 10, aToB: 2 * MB, bToA: 16 * KB, impairments: lossy(0.01) });
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack')).toBeGreaterThan(0);
  });

  it(`1 MB with 5% loss (seed ${BASE_SEED + 11})`, () => {
    const r = check({ seed: BASE_SEED + 11, aToB: 1 * MB, bToA: 16 * KB, impairments: lossy(0.05) });
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack')).toBeGreaterThan(0);
  });

  it(`2 MB with 20% reordering (seed ${BASE_SEED + 12})`, () => {
    const r = check({ seed: BASE_SEED + 12, aToB: 2 * MB, bToA: 0, impairments: { reorder: 0.2, reorderDelayMs: 4, delayMs: 3 } });
    expect(stat(r.world.b.stack, 'tcps_rcvoopack')).toBeGreaterThan(0);
  });

  it(`2 MB with 10% duplication (seed ${BASE_SEED + 13})`, () => {
    const r = check({ seed: BASE_SEED + 13, aToB: 2 * MB, bToA: 0, impairments: { duplicate: 0.1, delayMs: 2 } });
    expect(stat(r.world.b.stack, 'tcps_rcvduppack')).toBeGreaterThan(0);
  });

  it(`1 MB with 3% corruption (seed ${BASE_SEED + 14})`, () => {
    const r = check({ seed: BASE_SEED + 14, aToB: 1 * MB, bToA: 16 * KB, impairments: { corrupt: 0.03, delayMs: 2 } });
    // Flipped bits are caught by the IP or TCP checksum; none reaches the byte stream.
    const bad = stat(r.world.b.stack, 'tcps_rcvbadsum') + r.world.b.stack.ip.ipstat.ips_badsum +
      stat(r.world.a.stack, 'tcps_rcvbadsum') + r.world.a.stack.ip.ipstat.ips_badsum;
    expect(bad).toBeGreaterThan(0);
  });

  it(`2 MB with TSO emulated and 2% loss, IPv6 (seed ${BASE_SEED + 17})`, () => {
    const r = check({
      seed: BASE_SEED + 17, family: 6, caps: OFFLOAD, aToB: 2 * MB, bToA: 256 * KB,
      impairments: { loss: 0.02, delayMs: 5, jitterMs: 2 },
    });
    expect(stat(r.world.a.stack, 'tcps_tso_segs')).toBeGreaterThan(0);
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack')).toBeGreaterThan(0);
  });

  it(`1 MB with 30 ms delay and 20 ms jitter (seed ${BASE_SEED + 15})`, () => {
    check({ seed: BASE_SEED + 15, aToB: 1 * MB, bToA: 64 * KB, impairments: { delayMs: 30, jitterMs: 20 } });
  });

  it(`1 MB with everything at once, IPv6 (seed ${BASE_SEED + 16})`, () => {
    check({
      seed: BASE_SEED + 16, family: 6, mtu: 1280, aToB: 1 * MB, bToA: 256 * KB,
      impairments: { loss: 0.02, reorder: 0.1, duplicate: 0.05, corrupt: 0.02, delayMs: 8, jitterMs: 6 },
    });
  });
});

describe('flow control', () => {
  it(`a slow reader forces zero windows; the persist timer probes and the stream completes (seed ${BASE_SEED + 20})`, () => {
    const spec: TransferSpec = {
      seed: BASE_SEED + 20, aToB: 64 * KB, bToA: 0, impairments: { delayMs: 5 },
      // 8 KB every 12 s out of a 16 KB receive buffer: the window is shut for longer than the
      // persist timer's 5 s minimum each time, so zero-window probes must be sent.
      slowServer: { bytes: 8 * KB, everyMs: 12_000 },
    };
    // A small fixed receive buffer (children inherit SO_RCVBUF and lose auto-sizing).
    const r = runTransferWithRcvbuf(spec, 16 * KB);
    const why = () => `${describeRun(r)}\n${countersSummary(r.world)}`;
    expect(transferProblems(r, spec), why()).toEqual([]);
    expect(settle(r), why()).toEqual([]);
    r.acceptor.close();
    const a = r.world.a.stack, b = r.world.b.stack;
    expect(stat(a, 'tcps_persisttimeo'), why()).toBeGreaterThan(0);
    expect(stat(a, 'tcps_sndprobe'), why()).toBeGreaterThan(0);
    // (The receiver may take a probe byte into buffer space its scaled window rounded down to 0,
    // as BSD does, so tcps_rcvwinprobe is not required to move.)
    r.world.sim.runUntil(() => tcpPcbCount(a) === 0 && tcpPcbCount(b) === 0, 300_000);
    expect(leakProblems(r.world), why()).toEqual([]);
  });

  it(`a window update lost while the window is shut is recovered by the persist probe (seed ${BASE_SEED + 21})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 21, impairments: { delayMs: 5 }, profile: FAST_PROFILE });
    const acceptor = listen(w.b.stack, {
      family: 4, port: 5001, before: (so) => { expect(setInt(so, SOL_SOCKET, SO_RCVBUF, 16 * KB)).toBe(0); },
    }, (st, so) => new BulkEndpoint(st, so, { expectSeed: 77, read: 'manual' }));
    connect(w.a.stack, { family: 4, to: sa(w.b, 4, 5001) }, (st, so) => new BulkEndpoint(st, so, { sendBytes: 48 * KB, sendSeed: 77 }));
    w.sim.runFor(1000); // the buffer fills and the window closes
    const server = acceptor.apps[0]!;
    expect(server.so.so_rcv.sb_cc).toBeGreaterThan(16 * KB - 1448);
    w.net.port('a').setImpairments({ loss: 1 }); // the window update will be lost
    server.read(16 * KB);
    w.sim.runFor(50);
    w.net.port('a').setImpairments({ delayMs: 5 });
    // Nothing else tells the sender the window opened: only its persist probes can.
    let rounds = 0;
    while (server.received < 48 * KB && rounds++ < 100) {
      w.sim.runFor(1000);
      server.read(16 * KB);
    }
    const why = `received ${server.received} after ${rounds} s\n${countersSummary(w)}`;
    expect(server.received, why).toBe(48 * KB);
    expect(server.mismatchAt).toBe(-1);
    expect(stat(w.a.stack, 'tcps_persisttimeo'), why).toBeGreaterThan(0);
    // The first persist interval is at most 60 s (persistMaxMs).
    expect(rounds, why).toBeLessThan(70);
  });
});

describe('memory pressure', () => {
  for (const [kb, k] of [[256, 0], [512, 1]] as const) {
    it(`a receiver whose mbuf pool holds only ${kb} KB of clusters still completes a 4 MB transfer (seed ${BASE_SEED + 25 + k})`, () => {
      // The advertised window (≥ 556 KB) exceeds what the receiver can buffer: packets are lost at
      // the link copy (no buffers), out-of-order data fills the pool, and the retransmission that
      // would fill the hole needs a cluster too. XNU frees reassembly queues when mbufs run short
      // (m_drain → tcp_drain); a stack that keeps them deadlocks until ETIMEDOUT.
      const spec: TransferSpec = { seed: BASE_SEED + 25 + k, aToB: 4 * MB, bToA: 0, impairments: { delayMs: 5 } };
      const w = tcpWorld({
        seed: spec.seed, impairments: spec.impairments, profile: FAST_PROFILE,
        poolLimits: { b: { maxClusterBytes: kb * KB } },
      });
      const acceptor = listen(w.b.stack, { family: 4, port: 5001 }, (st, so) => new BulkEndpoint(st, so, { expectSeed: 91 }));
      const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, 5001) }, (st, so) =>
        new BulkEndpoint(st, so, { sendBytes: 4 * MB, sendSeed: 91 }));
      const done = w.sim.runUntil(() => client.closed && acceptor.apps[0]?.closed === true, 600_000);
      const server = acceptor.apps[0];
      const why = `done=${done} t=${w.sim.now / 1000} ms received=${server?.received} client errors=[${client.errors}] ` +
        `server errors=[${server?.errors}] pool drops=${w.b.stack.pool.stats.drops}\n${countersSummary(w)}`;
      expect(w.b.stack.pool.stats.drops, why).toBeGreaterThan(0); // the pressure was real
      expect(stat(w.b.stack, 'tcps_drain_flushed'), why).toBeGreaterThan(0); // tcp_drain freed out-of-order data
      expect(done, why).toBe(true);
      expect([server?.received, server?.mismatchAt, client.errors, server?.errors], why).toEqual([4 * MB, -1, [], []]);
      acceptor.close();
      w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0 && tcpPcbCount(w.b.stack) === 0, 300_000);
      expect(leakProblems(w), why).toEqual([]);
    });
  }
});

/** runTransfer with SO_RCVBUF set on the server's listener (inherited by the child). */
function runTransferWithRcvbuf(spec: TransferSpec, rcvbuf: number): TransferRun {
  // runTransfer has no listener hook; build the same scenario by hand.
  const w = tcpWorld({ seed: spec.seed, impairments: spec.impairments, profile: FAST_PROFILE });
  const family = spec.family ?? 4;
  const seeds = { ab: (spec.seed * 2 + 1) >>> 0, ba: (spec.seed * 2 + 2) >>> 0 };
  const acceptor = listen(w.b.stack, {
    family, port: 5001,
    before: (so) => { expect(setInt(so, SOL_SOCKET, SO_RCVBUF, rcvbuf)).toBe(0); },
  }, (st, so) => new BulkEndpoint(st, so, { sendBytes: spec.bToA, sendSeed: seeds.ba, expectSeed: seeds.ab, read: 'manual' }));
  const start = w.sim.now;
  const client = connect(w.a.stack, { family, to: sa(w.b, family, 5001) }, (st, so) =>
    new BulkEndpoint(st, so, { sendBytes: spec.aToB, sendSeed: seeds.ab, expectSeed: seeds.ba }));
  w.sim.runUntil(() => client.connectErrno !== null && acceptor.apps.length > 0, 60_000);
  const server = acceptor.apps[0] ?? null;
  const clientTp: TcpcbLike | null = tcpcbOf(client.so);
  const serverTp: TcpcbLike | null = server === null ? null : tcpcbOf(server.so);
  const done = () => client.closed && server !== null && server.closed;
  const { bytes, everyMs } = spec.slowServer!;
  for (let i = 0; i < 100_000 && !done() && w.sim.now - start < 3_600_000_000; i++) {
    w.sim.runFor(everyMs);
    server?.read(bytes);
  }
  return { world: w, client, server, acceptor, clientTp, serverTp, finished: done(), elapsedMs: (w.sim.now - start) / 1000 };
}

describe('many connections', () => {
  it(`1000 concurrent connections each echo 512 bytes, all close, nothing leaks (seed ${BASE_SEED + 30})`, () => {
    const N = 1000, PORTS = 10, SIZE = 512;
    // 10 ms each way: every connection is still open when the last one starts.
    const w = tcpWorld({ seed: BASE_SEED + 30, impairments: { delayMs: 10 }, profile: FAST_PROFILE });
    const a = w.a.stack, b = w.b.stack;
    const baseA = a.pool.stats.mbufsInUse, baseB = b.pool.stats.mbufsInUse;
    // Ten listeners, 100 connections each: no listen queue (backlog 128) ever overflows.
    const acceptors = Array.from({ length: PORTS }, (_, i) =>
      listen(b, { family: 4, port: 8000 + i, backlog: 128 }, (st, so) => new EchoConn(st, so)));
    const clients: BulkEndpoint[] = [];
    for (let i = 0; i < N; i++) {
      const seed = (BASE_SEED + 30) * 7919 + i;
      clients.push(connect(a, { family: 4, to: sa(w.b, 4, 8000 + (i % PORTS)) }, (st, so) =>
        new BulkEndpoint(st, so, { sendBytes: SIZE, sendSeed: seed, expectSeed: seed })));
    }
    const allClosed = () => clients.every((c) => c.closed);
    const ok = w.sim.runUntil(allClosed, 120_000);
    const accepted = acceptors.reduce((s, x) => s + x.apps.length, 0);
    const bad = clients.map((c, i) => ({ i, c })).filter(({ c }) =>
      c.connectErrno !== 0 || c.received !== SIZE || c.mismatchAt >= 0 || !c.eof || c.errors.length > 0);
    const why = () => `closed=${ok} accepted=${accepted} bad=${bad.length} first bad: ` +
      bad.slice(0, 3).map(({ i, c }) => `#${i} connect=${c.connectErrno} received=${c.received} eof=${c.eof} errors=${c.errors}`).join('; ') +
      `\n${countersSummary(w)}`;
    expect(ok, why()).toBe(true);
    expect(bad.length, why()).toBe(0);
    expect(accepted, why()).toBe(N);
    for (const acc of acceptors) for (const e of acc.apps) expect(e.echoed).toBe(SIZE);
    expect(stat(b, 'tcps_listendrop'), why()).toBe(0);
    expect(stat(a, 'tcps_connects')).toBe(N);
    expect(stat(b, 'tcps_accepts')).toBe(N);
    // Every connection overlapped: the last connect happened before the first one finished.
    const firstClose = Math.min(...clients.map((x) => x.closedAtUs));
    expect(clients.every((c) => c.connectedAtUs >= 0 && c.connectedAtUs < firstClose)).toBe(true);
    // The server closed after the clients' FINs, so the clients' side holds TIME_WAIT; let it expire.
    for (const acc of acceptors) acc.close();
    w.sim.runUntil(() => tcpPcbCount(a) === 0 && tcpPcbCount(b) === 0, 60_000);
    expect(tcpPcbCount(a), why()).toBe(0);
    expect(tcpPcbCount(b), why()).toBe(0);
    a.drain();
    b.drain();
    expect(a.pool.stats.mbufsInUse).toBe(baseA);
    expect(b.pool.stats.mbufsInUse).toBe(baseB);
    expect(a.pool.stats.clusterBytesInUse).toBe(0);
    expect(b.pool.stats.clusterBytesInUse).toBe(0);
    expect([...a.sockets.sockets()].length).toBe(0);
    expect([...b.sockets.sockets()].length).toBe(0);
  });
});

describe('many connections under stress', () => {
  /** Opens n echo clients a → b (ports spread over `ports` listeners) and runs until all closed. */
  function echoStorm(seed: number, n: number, ports: number, size: number, impairments: Impairments, maxMs: number) {
    const w = tcpWorld({ seed, impairments, profile: FAST_PROFILE });
    const acceptors = Array.from({ length: ports }, (_, i) =>
      listen(w.b.stack, { family: 4, port: 9000 + i, backlog: 128 }, (st, so) => new EchoConn(st, so)));
    const clients = Array.from({ length: n }, (_, i) => {
      const s = seed * 31 + i;
      return connect(w.a.stack, { family: 4, to: sa(w.b, 4, 9000 + (i % ports)) }, (st, so) =>
        new BulkEndpoint(st, so, { sendBytes: size, sendSeed: s, expectSeed: s }));
    });
    const finished = w.sim.runUntil(() => clients.every((c) => c.closed), maxMs);
    const bad = clients.filter((c) => c.connectErrno !== 0 || c.received !== size || c.mismatchAt >= 0 || !c.eof || c.errors.length > 0);
    const why = () => `finished=${finished} bad=${bad.length}: ` +
      bad.slice(0, 3).map((c) => `connect=${c.connectErrno} received=${c.received} eof=${c.eof} errors=${c.errors}`).join('; ') +
      `\n${countersSummary(w)}`;
    return { w, acceptors, clients, finished, bad, why };
  }

  it(`200 concurrent 8 KB echoes under 5% loss and jitter all complete (seed ${BASE_SEED + 31})`, () => {
    const r = echoStorm(BASE_SEED + 31, 200, 4, 8 * KB, { loss: 0.05, delayMs: 10, jitterMs: 5 }, 600_000);
    expect(r.finished, r.why()).toBe(true);
    expect(r.bad.length, r.why()).toBe(0);
    for (const acc of r.acceptors) acc.close();
    r.w.sim.runUntil(() => tcpPcbCount(r.w.a.stack) === 0 && tcpPcbCount(r.w.b.stack) === 0, 600_000);
    expect(leakProblems(r.w), r.why()).toEqual([]);
  });

  it(`a burst of 600 SYNs at one backlog-128 listener: overflow is dropped, SYN retransmission gets everyone in (seed ${BASE_SEED + 32})`, () => {
    const r = echoStorm(BASE_SEED + 32, 600, 1, 256, { delayMs: 5 }, 120_000);
    expect(r.finished, r.why()).toBe(true);
    expect(r.bad.length, r.why()).toBe(0);
    // The listen queue did overflow (silently, as XNU: no RST), and nobody was refused.
    expect(stat(r.w.b.stack, 'tcps_listendrop'), r.why()).toBeGreaterThan(0);
    expect(stat(r.w.a.stack, 'tcps_rexmttimeo'), r.why()).toBeGreaterThan(0);
    expect(r.acceptors[0]!.apps.length).toBe(600);
    for (const acc of r.acceptors) acc.close();
    r.w.sim.runUntil(() => tcpPcbCount(r.w.a.stack) === 0 && tcpPcbCount(r.w.b.stack) === 0, 600_000);
    expect(leakProblems(r.w), r.why()).toEqual([]);
  });
});

describe.runIf(SOAK)('soak (TUNSTACK_SOAK=1)', () => {
  it(`256 MB a→b clean, 64 MB each way with 2% loss and reordering, 16 MB at 10% loss (seeds ${BASE_SEED + 100}..+2)`, () => {
    check({ seed: BASE_SEED + 100, aToB: 256 * MB, bToA: 0, maxMs: 3_600_000 });
    check({
      seed: BASE_SEED + 101, aToB: 64 * MB, bToA: 64 * MB, maxMs: 3_600_000,
      impairments: { loss: 0.02, reorder: 0.1, delayMs: 10, jitterMs: 5 },
    });
    check({ seed: BASE_SEED + 102, aToB: 16 * MB, bToA: 4 * MB, maxMs: 3_600_000, impairments: lossy(0.1) });
  }, 3_600_000);

  it(`20 seeds × 16 MB under mixed impairments, IPv4 576 and IPv6 1280 (seeds ${BASE_SEED + 110}..+19)`, () => {
    for (let i = 0; i < 20; i++) {
      const v6 = i % 2 === 1;
      check({
        seed: BASE_SEED + 110 + i, family: v6 ? 6 : 4, mtu: v6 ? 1280 : 576, aToB: 16 * MB, bToA: 2 * MB, maxMs: 3_600_000,
        impairments: { loss: 0.03, reorder: 0.1, duplicate: 0.05, corrupt: 0.02, delayMs: 15, jitterMs: 10 },
      });
    }
  }, 3_600_000);

  it(`5000 concurrent connections, 2 KB echoes each, under 1% loss (seed ${BASE_SEED + 130})`, () => {
    const N = 5000, PORTS = 50;
    const w = tcpWorld({ seed: BASE_SEED + 130, impairments: { loss: 0.01, delayMs: 10 }, profile: FAST_PROFILE });
    const acceptors = Array.from({ length: PORTS }, (_, i) =>
      listen(w.b.stack, { family: 4, port: 8000 + i }, (st, so) => new EchoConn(st, so)));
    const clients = Array.from({ length: N }, (_, i) => connect(w.a.stack, { family: 4, to: sa(w.b, 4, 8000 + (i % PORTS)) },
      (st, so) => new BulkEndpoint(st, so, { sendBytes: 2048, sendSeed: i, expectSeed: i })));
    expect(w.sim.runUntil(() => clients.every((c) => c.closed), 600_000), countersSummary(w)).toBe(true);
    expect(clients.filter((c) => c.received !== 2048 || c.mismatchAt >= 0 || c.errors.length > 0).length).toBe(0);
    for (const acc of acceptors) acc.close();
    w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0 && tcpPcbCount(w.b.stack) === 0, 600_000);
    expect(leakProblems(w)).toEqual([]);
  }, 3_600_000);
});
