// TCP connection lifecycle between two stacks on the simulated network, as the socket layer shows
// it (xnu-sockets.md §3, §5, §6, §7, §11): simultaneous open and close, half-close with data still
// flowing, refused and timed-out connects (SYN retransmissions on the profile's synBackoff
// schedule), the backlog, accept of children that got data or a RST before accept, embryonic and
// orphaned connections (keep-init, FIN_WAIT_2 timer), TIME_WAIT lasting 2*MSL and its reuse,
// Nagle vs TCP_NODELAY, and keepalive dropping a dead peer after exactly TCP_KEEPCNT probes.
// Resets are in lifecycle-resets.test.ts.

import { describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sobind, soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import {
  IPPROTO_TCP, SHUT_RD, SHUT_RDWR, SHUT_WR, SOL_SOCKET, SO_KEEPALIVE, SO_REUSEADDR, SS_ISCONNECTING,
} from '../../stack/socket/constants.js';
import { EADDRINUSE, ECONNREFUSED, ECONNRESET, ENOTCONN, EPIPE, ETIMEDOUT } from '../../stack/errno.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { BulkEndpoint, Connector, EchoConn, connect, listen } from './apps.js';
import {
  BASE_SEED, FAST_PROFILE, TCP_CONNECTIONTIMEOUT, TCP_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPINTVL,
  TCP_MAXSEG, TCP_NODELAY, countersSummary, getInt, sa, setInt, setLinger, setTcpInt, stat,
  stalledSender, stateName, tcpPcbCount, tcpSocket, tcpcbOf, tcpWorld,
} from './harness.js';
import { PORT, establish, recv, send, st, txTimes } from './socket-calls.js';
import { leakProblems } from './scenarios.js';

describe('opening', () => {
  it(`simultaneous open: two bound sockets connecting to each other at the same instant (seed ${BASE_SEED + 200})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 200, impairments: { delayMs: 10 }, profile: FAST_PROFILE });
    const a = connect(w.a.stack, { family: 4, to: sa(w.b, 4, 6002), bindPort: 6001 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 50_000, sendSeed: 11, expectSeed: 22 }));
    const b = connect(w.b.stack, { family: 4, to: sa(w.a, 4, 6001), bindPort: 6002 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 50_000, sendSeed: 22, expectSeed: 11 }));
    expect([a.connectErrno, b.connectErrno]).toEqual([null, null]);
    const seen = new Set<string>();
    const ok = w.sim.runUntil(() => {
      seen.add(`${st(a)}/${st(b)}`);
      return a.closed && b.closed;
    }, 30_000);
    const why = `${[...seen].join(' → ')}\n${countersSummary(w)}`;
    expect(ok, why).toBe(true);
    expect([a.connectErrno, b.connectErrno], why).toEqual([0, 0]);
    // RFC 9293 §3.5 figure 8: both sides pass through SYN_RECEIVED.
    expect(seen.has('SYN_RECEIVED/SYN_RECEIVED'), why).toBe(true);
    expect([a.received, b.received, a.mismatchAt, b.mismatchAt, a.errors.length, b.errors.length]).toEqual([50_000, 50_000, -1, -1, 0, 0]);
    expect(stat(w.a.stack, 'tcps_connects')).toBe(1);
    expect(stat(w.b.stack, 'tcps_connects')).toBe(1);
  });

  it(`connect to a closed port fails with ECONNREFUSED, IPv4 and IPv6 (seed ${BASE_SEED + 201})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 201, impairments: { delayMs: 5 } });
    for (const family of [4, 6] as const) {
      const c = connect(w.a.stack, { family, to: sa(w.b, family, 9) }, (s, so) => new Connector(s, so));
      const t0 = w.sim.now;
      expect(w.sim.runUntil(() => c.connectErrno !== null, 5000)).toBe(true);
      expect(c.connectErrno, countersSummary(w)).toBe(ECONNREFUSED);
      // One round trip (2 × 5 ms), no retransmission.
      expect((w.sim.now - t0) / 1000).toBeLessThan(15);
      // so_error was consumed by the connect result.
      expect(c.so.so_error).toBe(0);
      soclose(c.so, w.sim.now);
    }
    expect(stat(w.b.stack, 'tcps_noport')).toBe(2);
    expect(stat(w.a.stack, 'tcps_conndrops')).toBe(2);
    w.sim.runFor(1000);
    expect(tcpPcbCount(w.a.stack)).toBe(0);
  });

  const synSchedule = (p: TcpProfile, timeoutMs: number): number[] => {
    // Retransmission k (k = 0, 1, ...) fires rtoInitial × synBackoff[k] after the previous send.
    const out: number[] = [];
    let t = 0;
    for (let k = 0; k < p.synBackoff.length && k < p.maxRxtShift; k++) {
      t += p.rtoInitialMs * p.synBackoff[k]!;
      if (t >= timeoutMs) break;
      out.push(t);
    }
    return out;
  };

  it(`SYNs into the void: retransmitted on the synBackoff schedule, ETIMEDOUT at TCP_CONNECTIONTIMEOUT (seed ${BASE_SEED + 202})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 202 });
    w.net.port('b').setImpairments({ loss: 1 });
    const c = connect(w.a.stack, {
      family: 4, to: sa(w.b, 4, PORT),
      before: (so) => expect(setTcpInt(so, TCP_CONNECTIONTIMEOUT, 10)).toBe(0),
    }, (s, so) => new Connector(s, so));
    const t0 = w.sim.now / 1000;
    const times = txTimes(w, 'a', 30_000, () => c.connectErrno !== null).map((t) => t - t0);
    const failedAt = w.sim.now / 1000 - t0;
    const expected = [0, ...synSchedule(XNU_PROFILE, 10_000)]; // 0, 1, 2, 3, 4, 5, 7 s
    const why = `SYNs at ${times.join(', ')} ms; failed at ${failedAt} ms with ${c.connectErrno}\n${countersSummary(w)}`;
    expect(c.connectErrno, why).toBe(ETIMEDOUT);
    expect(times.length, why).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(times[i]! - expected[i]!), why).toBeLessThanOrEqual(1);
    expect(Math.abs(failedAt - 10_000), why).toBeLessThanOrEqual(1);
    expect(stat(w.a.stack, 'tcps_rexmttimeo'), why).toBe(expected.length - 1);
  });

  it(`SYNs into the void with the default profile: 10 retransmissions, ETIMEDOUT at keepInit 75 s (seed ${BASE_SEED + 203})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 203 });
    w.net.port('b').setImpairments({ loss: 1 });
    const c = connect(w.a.stack, { family: 6, to: sa(w.b, 6, PORT) }, (s, so) => new Connector(s, so));
    const t0 = w.sim.now / 1000;
    const times = txTimes(w, 'a', 200_000, () => c.connectErrno !== null).map((t) => t - t0);
    const failedAt = w.sim.now / 1000 - t0;
    const expected = [0, ...synSchedule(XNU_PROFILE, XNU_PROFILE.keepInitMs)]; // 0,1,2,3,4,5,7,11,19,35,67 s
    const why = `SYNs at ${times.join(', ')} ms; failed at ${failedAt} ms with ${c.connectErrno}`;
    expect(expected.length).toBe(11);
    expect(c.connectErrno, why).toBe(ETIMEDOUT);
    expect(times.length, why).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(times[i]! - expected[i]!), why).toBeLessThanOrEqual(1);
    expect(Math.abs(failedAt - XNU_PROFILE.keepInitMs), why).toBeLessThanOrEqual(1);
  });

  it(`a profile's shorter keepInit bounds the connect the same way (seed ${BASE_SEED + 204})`, () => {
    const p = withProfile(XNU_PROFILE, { name: 'short-keepinit', keepInitMs: 20_000 });
    const w = tcpWorld({ seed: BASE_SEED + 204, profile: p });
    w.net.port('b').setImpairments({ loss: 1 });
    const c = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    const t0 = w.sim.now / 1000;
    const times = txTimes(w, 'a', 100_000, () => c.connectErrno !== null).map((t) => t - t0);
    const expected = [0, ...synSchedule(p, p.keepInitMs)]; // 0,1,2,3,4,5,7,11,19 s
    const why = `SYNs at ${times.join(', ')} ms; failed at ${w.sim.now / 1000 - t0} ms`;
    expect(c.connectErrno, why).toBe(ETIMEDOUT);
    expect(times.length, why).toBe(expected.length);
    expect(Math.abs(w.sim.now / 1000 - t0 - 20_000), why).toBeLessThanOrEqual(1);
  });
});

describe('accept', () => {
  it(`data and FIN that arrived before accept are all read after it, with no upcall needed (§3.5) (seed ${BASE_SEED + 205})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 205, impairments: { delayMs: 3 }, profile: FAST_PROFILE });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new BulkEndpoint(s, so, { expectSeed: 9 }));
    acceptor.accepting = false;
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 100_000, sendSeed: 9 }));
    // Everything (100 KB and the FIN) sits in the unaccepted child.
    expect(w.sim.runUntil(() => acceptor.so.so_comp[0]?.so_rcv.sb_cc === 100_000, 2000), countersSummary(w)).toBe(true);
    w.sim.runFor(50);
    expect(stateName(tcpcbOf(acceptor.so.so_comp[0]!))).toBe('CLOSE_WAIT');
    acceptor.accepting = true;
    expect(acceptor.acceptAll()).toBe(1);
    const server = acceptor.apps[0]!;
    expect([server.received, server.eof, server.mismatchAt, server.closed]).toEqual([100_000, true, -1, true]);
    expect(w.sim.runUntil(() => client.closed, 2000)).toBe(true);
    expect(client.errors).toEqual([]);
  });

  it(`a child reset before accept is still handed out; its first receive reports ECONNRESET (§7.3) (seed ${BASE_SEED + 206})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 206, impairments: { delayMs: 3 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new Connector(s, so));
    acceptor.accepting = false;
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    expect(w.sim.runUntil(() => acceptor.so.so_comp.length === 1 && client.connectErrno === 0, 1000)).toBe(true);
    setLinger(client.so, 1, 0);
    client.close();
    w.sim.runFor(50);
    expect(acceptor.so.so_comp.length).toBe(1);
    acceptor.accepting = true;
    expect(acceptor.acceptAll()).toBe(1);
    const child = acceptor.apps[0]!.so;
    expect(recv(w, child)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, child)).toEqual({ e: 0, n: 0 });
    expect(send(w, child, 1).e).toBe(EPIPE);
    soclose(child, w.sim.now);
    acceptor.close();
    w.sim.runFor(100);
    expect(tcpPcbCount(w.b.stack)).toBe(0);
  });

  it(`closing a socket in SYN_SENT sends nothing more and frees it at once (§7.1) (seed ${BASE_SEED + 207})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 207 });
    w.net.port('b').setImpairments({ loss: 1 });
    const c = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    w.sim.runFor(1500); // the SYN and one retransmission
    const tx = w.net.port('a').stats.txPackets;
    expect(tx).toBe(2);
    c.close();
    w.sim.runFor(120_000);
    expect(w.net.port('a').stats.txPackets).toBe(tx);
    expect(tcpPcbCount(w.a.stack)).toBe(0);
  });

  it('the IPPROTO_TCP option names are Darwin\'s', () => {
    expect([TCP_NODELAY, TCP_MAXSEG, TCP_KEEPALIVE, TCP_CONNECTIONTIMEOUT, TCP_KEEPINTVL, TCP_KEEPCNT])
      .toEqual([0x01, 0x02, 0x10, 0x20, 0x101, 0x102]);
  });
});

describe('embryonic and orphaned connections', () => {
  /** A client whose handshake's final ACK never reaches b: b's child stays SYN_RECEIVED. */
  function embryo(seed: number) {
    const w = tcpWorld({ seed, impairments: { delayMs: 10 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new Connector(s, so));
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    w.sim.runFor(15); // the SYN is at b, the SYN-ACK on its way back
    w.net.port('b').setImpairments({ loss: 1 });
    expect(w.sim.runUntil(() => client.connectErrno === 0, 100)).toBe(true);
    w.sim.runFor(20);
    expect(acceptor.so.so_incomp.length).toBe(1);
    expect(acceptor.so.so_qlen).toBe(1);
    return { w, acceptor, client };
  }

  it(`a handshake that never completes is dropped by keep-init and leaves the listen queue (seed ${BASE_SEED + 250})`, () => {
    const { w, acceptor } = embryo(BASE_SEED + 250);
    const t0 = w.sim.now;
    expect(w.sim.runUntil(() => acceptor.so.so_qlen === 0, 200_000), countersSummary(w)).toBe(true);
    const heldMs = (w.sim.now - t0) / 1000;
    // SYN-ACK retransmissions back off; keep-init (75 s) bounds the embryo's life.
    expect(heldMs, countersSummary(w)).toBeLessThanOrEqual(XNU_PROFILE.keepInitMs + 50);
    expect(acceptor.so.so_incomp.length).toBe(0);
    expect(acceptor.apps.length).toBe(0);
    expect(tcpPcbCount(w.b.stack)).toBe(1); // the listener only
    // BSD tcp_drop counts a connection that had received a SYN as tcps_drops (and sends a RST).
    expect(stat(w.b.stack, 'tcps_drops'), countersSummary(w)).toBe(1);
  });

  it(`a RST to an embryonic child drops it silently: the listener never sees it (§7.2) (seed ${BASE_SEED + 251})`, () => {
    const { w, acceptor, client } = embryo(BASE_SEED + 251);
    w.net.port('b').setImpairments({ delayMs: 10 });
    setLinger(client.so, 1, 0);
    client.close();
    expect(w.sim.runUntil(() => acceptor.so.so_qlen === 0, 1000), countersSummary(w)).toBe(true);
    expect(acceptor.apps.length).toBe(0);
    expect(acceptor.so.so_error).toBe(0);
    expect(stat(w.b.stack, 'tcps_rstinsynrcvd'), countersSummary(w)).toBe(1);
    expect(tcpPcbCount(w.b.stack)).toBe(1);
  });

  it(`a closed socket stuck in FIN_WAIT_2 is freed by the FIN_WAIT_2 timer (seed ${BASE_SEED + 252})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 252, impairments: { delayMs: 3 } });
    const { client, server } = establish(w);
    const tp = tcpcbOf(client.so)!;
    client.close(); // FIN acknowledged, but the server never closes
    expect(w.sim.runUntil(() => stateName(tp) === 'FIN_WAIT_2', 1000)).toBe(true);
    const t0 = w.sim.now;
    expect(w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0, 200_000), countersSummary(w)).toBe(true);
    const heldMs = (w.sim.now - t0) / 1000;
    expect(Math.abs(heldMs - XNU_PROFILE.finWait2TimeoutMs), `FIN_WAIT_2 held ${heldMs} ms`).toBeLessThanOrEqual(10);
    expect(stat(w.a.stack, 'tcps_finwait2_drops')).toBe(1);
    expect(st(server)).toBe('CLOSE_WAIT');
  });

  it(`after shutdown(SHUT_WR) a send is EPIPE and the read side still works (seed ${BASE_SEED + 253})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 253, impairments: { delayMs: 3 } });
    const { client, server } = establish(w);
    expect(soshutdown(client.so, SHUT_WR, w.sim.now)).toBe(0);
    expect(send(w, client.so, 10).e).toBe(EPIPE);
    expect(soshutdown(client.so, SHUT_WR, w.sim.now)).toBe(ENOTCONN); // §3.8: already shut
    expect(send(w, server.so, 3000)).toEqual({ e: 0, sent: 3000 });
    w.sim.runFor(100);
    expect(recv(w, client.so)).toEqual({ e: 0, n: 3000 });
    expect(recv(w, server.so)).toEqual({ e: 0, n: 0 });
  });
});

describe('regressions found by the lifecycle property', () => {
  it('zero window with one unsent byte and nothing in flight: the persist timer must run, or close leaks the connection (replay of seed 1245498211)', () => {
    // Found by property.test.ts (TUNSTACK_SOAK=1, SIM_SEED=20261121). a shuts its read side and
    // sends 65482 bytes; b shuts both sides (its window drops to 0). The ACK that takes the last
    // in-flight byte leaves 1 byte unsent behind a zero window; a answers with a pure ACK and arms
    // no timer (FreeBSD tcp_output: "if you send a 0-length packet, but there is data in the socket
    // buffer, and neither the rexmt or persist timer is already set, then activate the persist
    // timer"). After both close, a sits in LAST_ACK forever: PCB, socket and a cluster leak.
    const w = tcpWorld({ seed: 1245498211, profile: FAST_PROFILE, impairments: { loss: 0.001, delayMs: 2, jitterMs: 7 } });
    const mk = (st: Stack, so: Socket) => new BulkEndpoint(st, so, { sendBytes: 0, closeOnEof: false });
    const a = connect(w.a.stack, { family: 4, to: sa(w.b, 4, 7002), bindPort: 7001 }, mk);
    const b = connect(w.b.stack, { family: 4, to: sa(w.a, 4, 7001), bindPort: 7002 }, mk);
    expect(w.sim.runUntil(() => a.connectErrno !== null, 120_000)).toBe(true);
    expect(soshutdown(a.so, SHUT_RD, w.sim.now)).toBe(0);
    for (const n of [23956, 35413, 6113]) expect(send(w, a.so, n)).toEqual({ e: 0, sent: n });
    expect(soshutdown(b.so, SHUT_RDWR, w.sim.now)).toBe(0);
    w.sim.runFor(5000);
    a.kick(); b.kick();
    a.close(); b.close();
    const tp = tcpcbOf(a.so);
    w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0 && tcpPcbCount(w.b.stack) === 0, 3_600_000);
    expect(leakProblems(w), `a: ${stateName(tp)}\n${countersSummary(w)}`).toEqual([]);
  });
  it('same stall while ESTABLISHED: the peer only shut its read side (replay of seed 1)', () => {
    // Found by property.test.ts (TUNSTACK_SOAK=1, SIM_SEED=33): a sends 18756 bytes, shuts its read
    // side, sends 18550 + 28207 more; b shuts its read side (window 0). a is left ESTABLISHED with
    // 1 byte unsent, nothing in flight, snd_wnd 0 and neither REXMT nor PERSIST armed.
    const w = tcpWorld({ seed: 1, profile: FAST_PROFILE, impairments: { loss: 0.001, delayMs: 0, jitterMs: 4 } });
    const mk = (st: Stack, so: Socket) => new BulkEndpoint(st, so, { sendBytes: 0, closeOnEof: false });
    const a = connect(w.a.stack, { family: 4, to: sa(w.b, 4, 7002), bindPort: 7001 }, mk);
    const b = connect(w.b.stack, { family: 4, to: sa(w.a, 4, 7001), bindPort: 7002 }, mk);
    expect(w.sim.runUntil(() => a.connectErrno !== null, 120_000)).toBe(true);
    expect(send(w, a.so, 18756)).toEqual({ e: 0, sent: 18756 });
    expect(soshutdown(a.so, SHUT_RD, w.sim.now)).toBe(0);
    for (const n of [18550, 28207]) expect(send(w, a.so, n)).toEqual({ e: 0, sent: n });
    expect(soshutdown(b.so, SHUT_RD, w.sim.now)).toBe(0);
    w.sim.runFor(5000);
    expect(stalledSender(a.so), countersSummary(w)).toBe(null);
  });
});

describe('backlog', () => {
  it(`connections beyond the backlog wait (SYN dropped) and complete once accept makes room (seed ${BASE_SEED + 210})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 210, impairments: { delayMs: 5 }, profile: FAST_PROFILE });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT, backlog: 2 }, (s, so) => new Connector(s, so));
    acceptor.accepting = false;
    const clients = Array.from({ length: 5 }, () =>
      connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so)));
    w.sim.runFor(500);
    const why = () => `connect results ${clients.map((c) => c.connectErrno).join(',')}\n${countersSummary(w)}`;
    expect(clients.filter((c) => c.connectErrno === 0).length, why()).toBe(2);
    expect(clients.filter((c) => c.connectErrno === null && (c.so.so_state & SS_ISCONNECTING) !== 0).length, why()).toBe(3);
    expect(acceptor.so.so_qlen).toBe(2);
    expect(acceptor.so.so_comp.length).toBe(2);
    expect(stat(w.b.stack, 'tcps_listendrop'), why()).toBeGreaterThanOrEqual(3);
    // Accept what is queued: the SYN retransmissions (1 s) find room.
    acceptor.accepting = true;
    acceptor.acceptAll();
    expect(w.sim.runUntil(() => clients.every((c) => c.connectErrno !== null), 20_000), why()).toBe(true);
    expect(clients.map((c) => c.connectErrno), why()).toEqual([0, 0, 0, 0, 0]);
    expect(w.sim.runUntil(() => acceptor.apps.length === 5, 1000), why()).toBe(true);
  });
});

describe('closing', () => {
  it(`simultaneous close: both FINs cross, both sides pass CLOSING into TIME_WAIT (seed ${BASE_SEED + 220})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 220, impairments: { delayMs: 10 }, profile: FAST_PROFILE });
    const { client, server } = establish(w);
    const tpa = tcpcbOf(client.so)!, tpb = tcpcbOf(server.so)!;
    expect([stateName(tpa), stateName(tpb)]).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    client.close();
    server.close();
    const seen = new Set<string>();
    w.sim.runUntil(() => {
      seen.add(`${stateName(tpa)}/${stateName(tpb)}`);
      return stateName(tpa) === 'TIME_WAIT' && stateName(tpb) === 'TIME_WAIT';
    }, 5000);
    const why = [...seen].join(' → ');
    expect(seen.has('CLOSING/CLOSING'), why).toBe(true);
    expect([stateName(tpa), stateName(tpb)], why).toEqual(['TIME_WAIT', 'TIME_WAIT']);
    expect(w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0, 5000)).toBe(true);
  });

  it(`half-close: after shutdown(SHUT_WR) the other side keeps sending 1 MB, then closes (seed ${BASE_SEED + 221})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 221, impairments: { delayMs: 5, bandwidthBps: 20_000_000 }, profile: FAST_PROFILE });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 1 << 20, sendSeed: 3, expectSeed: 4, afterSend: 'shutdown', closeOnEof: true }));
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 10_000, sendSeed: 4, expectSeed: 3, afterSend: 'shutdown' }));
    // The client's FIN is acknowledged while the server's megabyte is still arriving.
    const tp = () => tcpcbOf(client.so);
    const halfClosed = w.sim.runUntil(() => stateName(tp()) === 'FIN_WAIT_2', 5000);
    const server = acceptor.apps[0]!;
    expect(halfClosed, countersSummary(w)).toBe(true);
    expect(client.received).toBeLessThan(1 << 20);
    expect(w.sim.runUntil(() => server.eof, 5000)).toBe(true);
    expect(server.received).toBe(10_000);
    expect(stateName(tcpcbOf(server.so))).toBe('CLOSE_WAIT');
    // Writing in CLOSE_WAIT is allowed and the data arrives in FIN_WAIT_2.
    expect(w.sim.runUntil(() => client.closed, 30_000), countersSummary(w)).toBe(true);
    expect([client.received, client.mismatchAt, client.eof, client.errors], countersSummary(w)).toEqual([1 << 20, -1, true, []]);
    expect(server.errors).toEqual([]);
    // The client's shutdown came first, then all the server's data: the order of the timeline.
    expect(client.sendDoneAtUs).toBeLessThan(server.sendDoneAtUs);
    expect(server.eofAtUs).toBeLessThan(client.eofAtUs);
  });

  it(`TIME_WAIT lasts 2*MSL (MSL 500 ms) and then the PCB is freed (seed ${BASE_SEED + 222})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 222, impairments: { delayMs: 3 }, profile: FAST_PROFILE });
    const { client, server } = establish(w);
    const tp = tcpcbOf(client.so)!;
    client.close(); // active close: the client ends in TIME_WAIT
    expect(w.sim.runUntil(() => st(server) === 'CLOSE_WAIT', 1000)).toBe(true);
    server.close();
    expect(w.sim.runUntil(() => stateName(tp) === 'TIME_WAIT', 1000)).toBe(true);
    const t0 = w.sim.now;
    expect(tcpPcbCount(w.a.stack)).toBe(1);
    expect(w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0, 10_000)).toBe(true);
    const heldMs = (w.sim.now - t0) / 1000;
    expect(Math.abs(heldMs - 2 * FAST_PROFILE.mslMs), `TIME_WAIT held ${heldMs} ms`).toBeLessThanOrEqual(1);
  });

  it(`TIME_WAIT holds the port: bind is EADDRINUSE, with SO_REUSEADDR connect on the same 4-tuple is EADDRINUSE until 2*MSL (seed ${BASE_SEED + 223})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 223, impairments: { delayMs: 3 }, profile: FAST_PROFILE });
    listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new BulkEndpoint(s, so, { sendBytes: 0 }));
    const first = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT), bindPort: 40000 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 1000 }));
    const tp = tcpcbOf(first.so);
    expect(w.sim.runUntil(() => first.closed, 2000)).toBe(true);
    // The client closed first (shutdown then EOF): its side is in TIME_WAIT now.
    expect(w.sim.runUntil(() => stateName(tp) === 'TIME_WAIT', 100)).toBe(true);
    expect(tcpPcbCount(w.a.stack)).toBe(1);
    const s1 = tcpSocket(w.a.stack, 4);
    // §6.4: without SO_REUSEADDR a TIME_WAIT PCB on the port makes bind fail.
    expect(sobind(s1, encodeSockaddr({ addr: IpAddr.ANY4, port: 40000 }))).toBe(EADDRINUSE);
    expect(setInt(s1, SOL_SOCKET, SO_REUSEADDR, 1)).toBe(0);
    expect(sobind(s1, encodeSockaddr({ addr: IpAddr.ANY4, port: 40000 }))).toBe(0);
    // XNU tcp_connect: the same 4-tuple in TIME_WAIT is EADDRINUSE (the TF_RCVD_CC shortcut is T/TCP, never set).
    expect(soconnect(s1, sa(w.b, 4, PORT), w.sim.now)).toBe(EADDRINUSE);
    soclose(s1, w.sim.now);
    // After 2*MSL the TIME_WAIT PCB is gone and the same 4-tuple connects.
    w.sim.runFor(2 * FAST_PROFILE.mslMs + 10);
    expect(tcpPcbCount(w.a.stack)).toBe(0);
    const again = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT), bindPort: 40000 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 1000 }));
    expect(w.sim.runUntil(() => again.closed, 2000), countersSummary(w)).toBe(true);
    expect([again.connectErrno, again.errors]).toEqual([0, []]);
  });

  /** One run of the TIME_WAIT reuse scenario; returns the problems seen (empty when it worked). */
  function reuseAfterServerClose(seed: number): string[] {
    const w = tcpWorld({ seed, impairments: { delayMs: 3 }, profile: withProfile(XNU_PROFILE, { mslMs: 30_000 }) });
    // The server closes first this time, so it is the one holding TIME_WAIT.
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 1000, afterSend: 'close', read: 'events' }));
    const first = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT), bindPort: 40001 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 0 }));
    expect(w.sim.runUntil(() => first.closed && acceptor.apps[0]?.closed === true, 2000)).toBe(true);
    w.sim.runFor(100);
    expect(tcpPcbCount(w.a.stack)).toBe(0); // the client closed passively: LAST_ACK → CLOSED
    expect(tcpPcbCount(w.b.stack)).toBe(2); // listener + TIME_WAIT
    const second = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT), bindPort: 40001 }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 0 }));
    // Well inside the 60 s TIME_WAIT: only a recycle (not the expiry) can let it through.
    w.sim.runUntil(() => second.closed, 5000);
    const got = `${second.connectErrno}/${second.received}/${second.errors.join(',')}/recycled=${stat(w.b.stack, 'tcps_tw_recycled')}`;
    return got === '0/1000//recycled=1' ? [] : [`seed ${seed}: connect/received/errors ${got}\n${countersSummary(w)}`];
  }

  it(`a SYN reusing a 4-tuple the server holds in TIME_WAIT is accepted (RFC 6191 with timestamps), for every seed (seeds ${BASE_SEED + 224}..+7)`, () => {
    // RFC 6191 accepts the SYN when its TSval exceeds TS.Recent of the old incarnation; that holds
    // for every seed only if the client's timestamp offset is the same for the same 4-tuple
    // (RFC 7323 §5.4: a keyed hash of the 4-tuple, not a fresh random number per connection).
    const problems: string[] = [];
    for (let i = 0; i < 8; i++) problems.push(...reuseAfterServerClose(BASE_SEED + 224 + i));
    expect(problems).toEqual([]);
  });
});

describe('Nagle', () => {
  /** Two 10-byte writes back to back, then wait for their 20-byte echo; returns the wait in ms. */
  function writeWriteRead(nodelay: boolean, seed: number): number {
    const w = tcpWorld({ seed, impairments: { delayMs: 5 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => {
      expect(setTcpInt(so, TCP_NODELAY, 1)).toBe(0); // the echo side never delays
      return new EchoConn(s, so);
    });
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    expect(w.sim.runUntil(() => client.connectErrno === 0 && acceptor.apps.length === 1, 1000)).toBe(true);
    w.sim.runFor(500); // quiet: every ACK delivered
    if (nodelay) {
      expect(setTcpInt(client.so, TCP_NODELAY, 1)).toBe(0);
      // §6.1: boolean TCP options read back as the raw flag bit (TF_NODELAY = 4).
      expect(getInt(client.so, IPPROTO_TCP, TCP_NODELAY)).toEqual({ error: 0, value: 4 });
    }
    const t0 = w.sim.now;
    expect(send(w, client.so, 10).e).toBe(0);
    expect(send(w, client.so, 10).e).toBe(0);
    expect(w.sim.runUntil(() => client.so.so_rcv.sb_cc >= 20, 2000), countersSummary(w)).toBe(true);
    return (w.sim.now - t0) / 1000;
  }

  it(`with Nagle the second small write waits for the first one's ACK; TCP_NODELAY sends it at once (seed ${BASE_SEED + 245})`, () => {
    // RTT 10 ms. Nagle: the second write leaves when the echo of the first (carrying its ACK)
    // arrives, so the answer takes two round trips. TCP_NODELAY: one round trip.
    expect(writeWriteRead(false, BASE_SEED + 245)).toBe(20);
    expect(writeWriteRead(true, BASE_SEED + 245)).toBe(10);
  });
});

describe('keepalive', () => {
  const keepOpts = (so: Socket) => {
    expect(setInt(so, SOL_SOCKET, SO_KEEPALIVE, 1)).toBe(0);
    expect(setTcpInt(so, TCP_KEEPALIVE, 2)).toBe(0);
    expect(setTcpInt(so, TCP_KEEPINTVL, 1)).toBe(0);
    expect(setTcpInt(so, TCP_KEEPCNT, 3)).toBe(0);
  };

  it(`probes an idle peer that answers: the connection stays up (seed ${BASE_SEED + 240})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 240, impairments: { delayMs: 5 } });
    const { client } = establish(w, 4, PORT, keepOpts);
    w.sim.runFor(10_000);
    expect(stat(w.a.stack, 'tcps_keepprobe')).toBeGreaterThanOrEqual(3);
    expect(stat(w.a.stack, 'tcps_keepdrops')).toBe(0);
    expect(client.so.so_error).toBe(0);
    expect(st(client)).toBe('ESTABLISHED');
  });

  it(`a keepalive probe to a peer that lost the connection gets a RST: ECONNRESET (seed ${BASE_SEED + 242})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 242, impairments: { delayMs: 5 } });
    const { client, server } = establish(w, 4, PORT, keepOpts);
    w.sim.runFor(100);
    // b forgets the connection without a's knowledge (its RST is lost), then the path heals.
    w.net.port('a').setImpairments({ loss: 1 });
    setLinger(server.so, 1, 0);
    server.close();
    w.sim.runFor(50);
    w.net.port('a').setImpairments({ delayMs: 5 });
    const t0 = w.sim.now;
    expect(w.sim.runUntil(() => client.so.so_error !== 0, 10_000), countersSummary(w)).toBe(true);
    // The first probe (2 s of idle) draws the RST.
    expect((w.sim.now - t0) / 1000).toBeLessThan(2100);
    expect(stat(w.a.stack, 'tcps_keepprobe')).toBe(1);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
  });

  it(`drops a dead peer with ETIMEDOUT after exactly TCP_KEEPCNT probes at KEEPALIVE + KEEPCNT × KEEPINTVL (seed ${BASE_SEED + 241})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 241, impairments: { delayMs: 5 } });
    const { client } = establish(w);
    w.sim.runFor(100); // quiet: nothing more in flight
    // Setting TCP_KEEPALIVE on an established connection restarts the keep timer (§6.5).
    keepOpts(client.so);
    const t0 = w.sim.now / 1000;
    w.net.port('b').setImpairments({ loss: 1 }); // the peer is gone
    const times = txTimes(w, 'a', 20_000, () => client.so.so_error !== 0).map((t) => Math.round(t - t0));
    const droppedAt = w.sim.now / 1000 - t0;
    const why = `probes at ${times.join(', ')} ms, dropped at ${droppedAt} ms\n${countersSummary(w)}`;
    expect(client.so.so_error, why).toBe(ETIMEDOUT);
    expect(stat(w.a.stack, 'tcps_keepprobe'), why).toBe(3);
    expect(stat(w.a.stack, 'tcps_keepdrops'), why).toBe(1);
    // Three probes, then the RST tcp_drop sends when it gives up.
    expect(times, why).toEqual([2000, 3000, 4000, 5000]);
    expect(Math.abs(droppedAt - 5000), why).toBeLessThanOrEqual(1);
    expect(recv(w, client.so)).toEqual({ e: ETIMEDOUT, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    expect(send(w, client.so, 1).e).toBe(EPIPE);
  });
});
