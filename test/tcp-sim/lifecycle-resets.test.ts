// Connection resets as the socket layer shows them (xnu-sockets.md §6.2, §7.1-7.2, §11.6-11.8):
// ECONNRESET once, then EOF on receive and EPIPE on send, after SO_LINGER 0, close with unread
// data, a RST mid-transfer, in FIN_WAIT_1/FIN_WAIT_2/CLOSE_WAIT, from a peer that lost the
// connection, silently in LAST_ACK, from a closing listener to its queued children, and
// ETIMEDOUT when the peer vanishes. Packet-exact RST handling per state is the core's own suite.

import { describe, expect, it } from 'vitest';
import { soshutdown } from '../../stack/socket/so-ops.js';
import { SHUT_WR, SOL_SOCKET, SO_RCVBUF, SS_ISCONNECTED } from '../../stack/socket/constants.js';
import { ECONNRESET, EPIPE, ETIMEDOUT } from '../../stack/errno.js';
import { XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import { BulkEndpoint, Connector, connect, listen } from './apps.js';
import {
  BASE_SEED, countersSummary, sa, setInt, setLinger, stat, stateName, takeSoError, tcpPcbCount,
  tcpcbOf, tcpWorld,
} from './harness.js';
import { PORT, establish, recv, runUntilDisconnected, send, st } from './socket-calls.js';

describe('resets as the socket sees them', () => {
  it(`SO_LINGER 0 close: the peer gets ECONNRESET once, then EOF on receive, EPIPE on send (seed ${BASE_SEED + 230})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 230, impairments: { delayMs: 2 } });
    const { client, server } = establish(w);
    expect(setLinger(server.so, 1, 0)).toBe(0);
    server.close();
    expect(runUntilDisconnected(w, client.so, 1000)).toBe(true);
    expect(stat(w.a.stack, 'tcps_rstreset'), countersSummary(w)).toBe(1);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    expect(send(w, client.so, 10).e).toBe(EPIPE);
    // The server side freed at once: an abortive close leaves no TIME_WAIT.
    expect(tcpPcbCount(w.b.stack)).toBe(1); // the listener
  });

  it(`after a RST a send returns EPIPE first and ECONNRESET stays pending for the receive (§11.6) (seed ${BASE_SEED + 231})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 231, impairments: { delayMs: 2 } });
    const { client, server } = establish(w);
    setLinger(server.so, 1, 0);
    server.close();
    expect(runUntilDisconnected(w, client.so, 1000)).toBe(true);
    expect(send(w, client.so, 10).e).toBe(EPIPE);
    expect(takeSoError(client.so)).toBe(ECONNRESET); // SO_ERROR reads and clears
    expect(takeSoError(client.so)).toBe(0);
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
  });

  it(`close with unread data sends RST instead of FIN; the peer sees ECONNRESET (seed ${BASE_SEED + 232})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 232, impairments: { delayMs: 2 } });
    const { client, server } = establish(w);
    expect(send(w, client.so, 5000)).toEqual({ e: 0, sent: 5000 });
    w.sim.runUntil(() => server.so.so_rcv.sb_cc === 5000, 1000);
    expect(server.so.so_rcv.sb_cc).toBe(5000);
    server.close();
    expect(runUntilDisconnected(w, client.so, 1000)).toBe(true);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    expect(send(w, client.so, 1).e).toBe(EPIPE);
  });

  it(`RST during a bulk transfer: the sender's next send is EPIPE, its receive ECONNRESET then EOF (seed ${BASE_SEED + 233})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 233, impairments: { delayMs: 5, bandwidthBps: 50_000_000 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new BulkEndpoint(s, so, { expectSeed: 5, closeOnEof: false }));
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 8 << 20, sendSeed: 5, read: 'never' }));
    expect(w.sim.runUntil(() => (acceptor.apps[0]?.received ?? 0) > 1 << 20, 10_000)).toBe(true);
    const server = acceptor.apps[0]!;
    setLinger(server.so, 1, 0);
    server.close();
    expect(w.sim.runUntil(() => client.errors.length > 0, 2000), countersSummary(w)).toBe(true);
    expect(client.errors).toEqual([EPIPE]);
    expect(client.queued).toBeLessThan(8 << 20);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    expect(server.mismatchAt).toBe(-1);
  });

  it(`RST in FIN_WAIT_2 and in CLOSE_WAIT is ECONNRESET too (seed ${BASE_SEED + 234})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 234, impairments: { delayMs: 2 } });
    // FIN_WAIT_2: the client shut its write side, the server resets.
    {
      const { client, server } = establish(w, 4, 5101);
      expect(soshutdown(client.so, SHUT_WR, w.sim.now)).toBe(0);
      expect(w.sim.runUntil(() => st(client) === 'FIN_WAIT_2', 1000)).toBe(true);
      setLinger(server.so, 1, 0);
      server.close();
      expect(runUntilDisconnected(w, client.so, 1000)).toBe(true);
      expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
      expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    }
    // CLOSE_WAIT: the server shut its write side (client got EOF), then the server resets.
    {
      const { client, server } = establish(w, 4, 5102);
      expect(soshutdown(server.so, SHUT_WR, w.sim.now)).toBe(0);
      expect(w.sim.runUntil(() => st(client) === 'CLOSE_WAIT', 1000)).toBe(true);
      expect(recv(w, client.so)).toEqual({ e: 0, n: 0 }); // EOF from the FIN
      setLinger(server.so, 1, 0);
      server.close();
      expect(w.sim.runUntil(() => client.so.so_error !== 0, 1000), countersSummary(w)).toBe(true);
      expect(send(w, client.so, 1).e).toBe(EPIPE);
      expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
      expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    }
  });

  it(`RST in FIN_WAIT_1 (FIN held behind data a zero window keeps back) is ECONNRESET (seed ${BASE_SEED + 238})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 238, impairments: { delayMs: 2 } });
    const acceptor = listen(w.b.stack, {
      family: 4, port: PORT, before: (so) => { expect(setInt(so, SOL_SOCKET, SO_RCVBUF, 8192)).toBe(0); },
    }, (s, so) => new Connector(s, so));
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    expect(w.sim.runUntil(() => client.connectErrno === 0 && acceptor.apps.length === 1, 1000)).toBe(true);
    expect(send(w, client.so, 30_000).e).toBe(0);
    expect(soshutdown(client.so, SHUT_WR, w.sim.now)).toBe(0);
    w.sim.runFor(200);
    expect(st(client)).toBe('FIN_WAIT_1');
    const server = acceptor.apps[0]!;
    setLinger(server.so, 1, 0);
    server.close();
    expect(runUntilDisconnected(w, client.so, 1000), countersSummary(w)).toBe(true);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
  });

  it(`a peer that vanishes mid-transfer: retransmissions back off maxRxtShift times, then ETIMEDOUT (seed ${BASE_SEED + 239})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 239, impairments: { delayMs: 5 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new BulkEndpoint(s, so, { closeOnEof: false }));
    const client = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) =>
      new BulkEndpoint(s, so, { sendBytes: 4 << 20, sendSeed: 1 }));
    expect(w.sim.runUntil(() => (acceptor.apps[0]?.received ?? 0) > 200_000, 5000)).toBe(true);
    w.net.port('b').setImpairments({ loss: 1 });
    const t0 = w.sim.now;
    expect(w.sim.runUntil(() => client.errors.length > 0, 1_000_000), countersSummary(w)).toBe(true);
    w.sim.runFor(1);
    const why = `after ${(w.sim.now - t0) / 1000} ms errors=[${client.errors}]\n${countersSummary(w)}`;
    expect(client.errors, why).toContain(ETIMEDOUT);
    expect(stat(w.a.stack, 'tcps_rexmttimeo'), why).toBe(XNU_PROFILE.maxRxtShift);
    expect(stat(w.a.stack, 'tcps_timeoutdrop'), why).toBe(1);
    // The backoff is capped at rtoMax (64 s): 12 retransmissions take minutes, not hours.
    expect((w.sim.now - t0) / 1000, why).toBeLessThan(13 * XNU_PROFILE.rtoMaxMs);
    expect(tcpPcbCount(w.a.stack)).toBe(0);
  });

  it(`a peer that lost the connection (partition, then its side aborted) answers the next data with RST: ECONNRESET (seed ${BASE_SEED + 235})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 235, impairments: { delayMs: 2 } });
    const { client, server } = establish(w);
    // Cut a off, abort b's side (its RST is lost), then heal: b no longer knows the connection.
    w.net.port('a').setImpairments({ loss: 1 });
    setLinger(server.so, 1, 0);
    server.close();
    w.sim.runFor(100);
    w.net.port('a').setImpairments({ delayMs: 2 });
    expect(client.so.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(send(w, client.so, 100)).toEqual({ e: 0, sent: 100 });
    expect(runUntilDisconnected(w, client.so, 2000), countersSummary(w)).toBe(true);
    expect(recv(w, client.so)).toEqual({ e: ECONNRESET, n: -1 });
    expect(recv(w, client.so)).toEqual({ e: 0, n: 0 });
    // The segment found only b's listener: an ACK to a listener is answered with a RST.
    expect(stat(w.b.stack, 'tcps_sndrst'), countersSummary(w)).toBeGreaterThan(0);
  });

  it(`RST in LAST_ACK closes silently (seed ${BASE_SEED + 236})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 236, impairments: { delayMs: 2 } });
    const { client, server } = establish(w);
    expect(soshutdown(client.so, SHUT_WR, w.sim.now)).toBe(0);
    expect(w.sim.runUntil(() => st(client) === 'FIN_WAIT_2' && st(server) === 'CLOSE_WAIT', 1000)).toBe(true);
    expect(recv(w, server.so)).toEqual({ e: 0, n: 0 });
    // The server's FIN never reaches the client; the client then aborts (RST reaches the server in LAST_ACK).
    w.net.port('a').setImpairments({ loss: 1 });
    const tpb = tcpcbOf(server.so)!;
    server.close();
    w.sim.runFor(10);
    expect(stateName(tpb)).toBe('LAST_ACK');
    setLinger(client.so, 1, 0);
    client.close();
    expect(w.sim.runUntil(() => tcpPcbCount(w.b.stack) === 1, 1000), countersSummary(w)).toBe(true); // only the listener
  });

  it(`closing a listener aborts its queued children, completed and embryonic: the clients see ECONNRESET (seed ${BASE_SEED + 237})`, () => {
    const w = tcpWorld({ seed: BASE_SEED + 237, impairments: { delayMs: 10 } });
    const acceptor = listen(w.b.stack, { family: 4, port: PORT }, (s, so) => new Connector(s, so));
    acceptor.accepting = false;
    const done = Array.from({ length: 3 }, () => connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so)));
    expect(w.sim.runUntil(() => acceptor.so.so_comp.length === 3, 1000)).toBe(true);
    // One more whose final ACK is lost: it stays SYN_RECEIVED on the listener's incomplete queue.
    const embryo = connect(w.a.stack, { family: 4, to: sa(w.b, 4, PORT) }, (s, so) => new Connector(s, so));
    w.sim.runFor(15); // the SYN is at b (10 ms), the SYN-ACK on its way back
    w.net.port('b').setImpairments({ loss: 1 }); // the final ACK will be lost
    expect(w.sim.runUntil(() => embryo.connectErrno === 0, 100)).toBe(true);
    w.sim.runFor(20);
    expect(acceptor.so.so_incomp.length, countersSummary(w)).toBe(1);
    w.net.port('b').setImpairments({ delayMs: 10 });
    acceptor.close();
    const all = [...done, embryo];
    expect(w.sim.runUntil(() => all.every((c) => c.so.so_error !== 0), 1000), countersSummary(w)).toBe(true);
    for (const c of all) {
      expect(recv(w, c.so)).toEqual({ e: ECONNRESET, n: -1 });
      expect(recv(w, c.so)).toEqual({ e: 0, n: 0 });
    }
    expect(tcpPcbCount(w.b.stack)).toBe(0);
  });
});

