// Packet-level tests of the end of a retransmission backoff as XNU does it: TCP_RESET_REXMT_STATE
// (bsd/netinet/tcp_var.h: t_rxtshift = 0, t_rxtstart = 0) on every ACK of new data, applied in
// tcp_input.c process_ACK right after tcp_compute_rtt together with
//   TCPT_RANGESET(t_rxtcur, TCP_REXMTVAL(tp), t_rttmin, TCPTV_REXMTMAX, TCP_ADD_REXMTSLOP(tp))
// whether or not Karn's rule let the ACK give an RTT sample. Exact virtual times (1-ms steps).
// XNU profile: rtoMin 30 ms, slop 200 ms, tcp_backoff 1, 2, 4, 8, ..., tcp_syn_backoff 1, 1, 1, ...

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER, TH, optMss, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, sa, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TT_REXMT } from '../../stack/tcp/tcp-var.js';
import { tcpTimerArmed } from '../../stack/tcp/tcp-timers.js';

const PEER_ISS = 100_000;
const MSS = 1460;
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x5a);

/** Advances 1 ms at a time for `ms`, returning the data segments sent as [ms, seq] pairs. */
function run(h: PacketHost, ms: number): [number, number][] {
  const r: [number, number][] = [];
  for (let t = 0; t < ms; t++) {
    h.advance(1);
    for (const o of h.take()) if (o.payload.length > 0) r.push([Math.round(o.atMs), o.seq]);
  }
  return r;
}

/**
 * A connection accepted at 100 ms from a peer without SACK or timestamps (no tail loss probe, RTT
 * only from the timed segment): one 100-ms sample, SRTT 100 ms, RTTVAR 50 ms, RTO 300 + 200 ms.
 */
function established(): { h: PacketHost; so: Socket; rcv: number } {
  const h = new PacketHost({ seed: 11 });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts: [...optMss(MSS), ...optWs(0)] });
  const synack = h.one();
  h.advance(100);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535 });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, rcv: (synack.seq + 1) >>> 0 };
}

describe('XNU TCP_RESET_REXMT_STATE: an ACK of new data ends the backoff, RTT sample or not', () => {
  it('after two RTOs, an ACK of the retransmitted segment (Karn: no sample) restarts the backoff from the base RTO', () => {
    const { h, so, rcv } = established();
    const tp = tcpcbOf(so)!;
    expect(tp.rtt.samples).toBe(1);
    expect(tp.t_rxtcur).toBe(500_000);
    const seq = (i: number): number => (rcv + i * MSS) >>> 0;
    send(so, data(3 * MSS), h.now);
    h.poll();
    expect(h.take().map((o) => o.seq)).toEqual([seq(0), seq(1), seq(2)]);
    // t = 100: RTOs 500 ms (300 + 200), then 300 x 2 + 200 = 800 ms.
    expect(run(h, 1300)).toEqual([[600, seq(0)], [1400, seq(0)]]);
    expect(tp.t_rxtshift).toBe(2);
    expect(tp.t_rxtstart).not.toBe(0);
    expect(tp.t_rxtcur).toBe(1_400_000); // 300 x 4 + 200: the next timeout would be at 2800
    // The 2nd RTO of a full-size segment also entered PMTU black-hole detection (MSS 1200).
    expect(h.stats.tcps_pmtud_blackhole_activated).toBe(1);
    expect(tp.t_maxseg).toBe(1200);
    const rttupdated = h.stats.tcps_rttupdated;
    // t = 1450: the peer ACKs segment 0. It was retransmitted, so Karn's rule forbids a sample.
    h.advance(50);
    h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: seq(1), win: 65535 });
    expect(h.stats.tcps_rttupdated).toBe(rttupdated);
    expect(tp.rtt.samples).toBe(1);
    expect(h.stats.tcps_sndrexmitbad).toBe(0);
    // TCP_RESET_REXMT_STATE, and t_rxtcur = TCP_REXMTVAL (300 ms) + slop, not the backed-off 1.4 s.
    expect(tp.t_rxtshift).toBe(0);
    expect(tp.t_rxtstart).toBe(0);
    expect(tp.t_rxtcur).toBe(500_000);
    expect(tcpTimerArmed(tp, TT_REXMT)).toBe(true);
    // cwnd 2 segments after the RTO's 1: go-back-N resends the rest in 1200-byte segments.
    expect(h.take().map((o) => [o.seq, o.payload.length])).toEqual([[seq(1), 1200], [(seq(1) + 1200) >>> 0, 1200]]);
    // The timer restarted at 1450 with 500 ms: a fresh backoff, 500 then 800 ms (before: 2850, 5450).
    expect(run(h, 1300)).toEqual([[1950, seq(1)], [2750, seq(1)]]);
    expect(tp.t_rxtshift).toBe(2);
    expect(tp.t_rxtcur).toBe(1_400_000);
    // The black-hole MSS stays: its revert needs t_rxtshift > 4 within one backoff, which the ACK
    // restarted (XNU); counting on across the ACK would have reverted it at the 3rd RTO after it.
    expect(h.stats.tcps_pmtudbh_reverted).toBe(0);
    expect(tp.t_maxseg).toBe(1200);
  });

  it('a SYN-ACK after a SYN retransmission (no sample) sets the RTO to TCP_REXMTVAL + slop: 1 s + 200 ms', () => {
    const h = new PacketHost({ seed: 12 });
    const so = tcpSocket(h.stack);
    expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
    h.poll();
    const syn = h.one();
    expect(syn.flags & TH.SYN).toBe(TH.SYN);
    // tcp_syn_backoff[1] = 1: the SYN goes again after 1 s.
    h.advance(1000);
    const syn2 = h.one();
    expect([syn2.flags & TH.SYN, syn2.seq, syn2.atMs]).toEqual([TH.SYN, syn.seq, 1000]);
    const tp = tcpcbOf(so)!;
    expect(tp.t_rxtshift).toBe(1);
    // t = 1050: SYN-ACK without timestamps; the SYN was retransmitted, so no RTT sample.
    h.advance(50);
    h.inject({ sport: 80, dport: syn.sport, flags: TH.SYN | TH.ACK, seq: PEER_ISS, ack: syn.seq + 1, win: 65535, opts: optMss(MSS) });
    expect(tp.rtt.samples).toBe(0);
    expect(tp.t_rxtshift).toBe(0);
    expect(tp.t_rxtcur).toBe(1_200_000);
    h.take();
    // Data at 1050: the RTO fires 1.2 s later, then 1 s x 2 + 200 ms (slop in ESTABLISHED).
    send(so, data(100), h.now);
    h.poll();
    const first: Out[] = h.take();
    expect(first.map((o) => o.payload.length)).toEqual([100]);
    const sent = run(h, 3400).map(([t]) => t);
    expect(sent).toEqual([2250, 4450]);
    expect(tp.t_rxtcur).toBe(4_200_000);
  });
});
