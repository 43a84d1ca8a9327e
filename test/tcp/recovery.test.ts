// Packet-level tests (the test plays the peer) for loss-recovery refinements and the XNU socket
// options that expose them: RFC 6675 NextSeg rule (4) rescue retransmission, XNU's spurious-RTO
// detection and undo (tcp_detect_bad_rexmt / tcp_bad_rexmt_restore_state), TCP_RXT_CONNDROPTIME,
// TCP_CONNECTION_INFO and TCP_NOTIMEWAIT.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, fmt, optMss, optSack, optSackOk, optTs, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soshutdown } from '../../stack/socket/so-ops.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP } from '../../stack/socket/constants.js';
import { EINVAL, ENOPROTOOPT, ETIMEDOUT } from '../../stack/socket/errno.js';
import { TCP_CONNECTION_INFO, TCP_NOTIMEWAIT, TCP_RXT_CONNDROPTIME, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import {
  TCPCI_FLAG_LOSSRECOVERY, TCPCI_OPT_SACK, TCPCI_OPT_TIMESTAMPS, TCPCI_OPT_WSCALE, TCP_CONNECTION_INFO_LEN,
} from '../../stack/tcp/tcp-info.js';
import { TCPS_ESTABLISHED, TCPS_LISTEN, TCPS_TIME_WAIT } from '../../stack/tcp/tcp-fsm.js';
import { initialWindowBytes } from '../../stack/tcp/tcp-cc-newreno.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';

const PEER_ISS = 100_000;
const MSS = 1460;

interface Conn { h: PacketHost; so: Socket; lis: Socket; rcv: number; snd: number; ts: boolean; sent: number }

/**
 * A connection accepted from the peer; `rttMs` delays the handshake's final ACK (the first RTT
 * sample). With `ts` the peer's TSvals are 5000 + (ms since start).
 */
function established(o: { ts?: boolean; sack?: boolean; rttMs?: number; profile?: TcpProfile } = {}): Conn {
  const h = new PacketHost({ seed: 7, profile: o.profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  const ts = o.ts ?? false;
  const opts = [...optMss(MSS), ...optWs(0), ...(o.sack ?? true ? optSackOk() : []), ...(ts ? optTs(5000, 0) : [])];
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts });
  const synack = h.one();
  if (o.rttMs !== undefined) h.advance(o.rttMs);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535, opts: ts ? optTs(peerTs(h), synack.tsval) : [] });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  const sent = 1 + h.take().length;
  return { h, so, lis, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, ts, sent };
}

const peerTs = (h: PacketHost): number => 5000 + Math.floor(h.nowMs);

/**
 * XNU sends a tail loss probe before the first RTO of an unanswered SACK flight: waits for it
 * (steps of `stepMs`) and checks it resent the last segment [lastSeq, lastSeq + len).
 */
function expectProbe(c: Conn, lastSeq: number, len: number, stepMs: number): Out {
  let rx: Out[] = [];
  for (let i = 0; i < 400 && rx.length === 0; i++) { c.h.advance(stepMs); rx = c.h.take(); }
  expect(rx.map((s) => [s.seq, s.payload.length])).toEqual([[lastSeq >>> 0, len]]);
  expect(c.h.stats.tcps_pto).toBe(1);
  expect(tcpcbOf(c.so)!.t_rxtshift).toBe(0);
  return rx[0]!;
}
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x5a);
const seqOf = (c: Conn, i: number): number => (c.rcv + i * MSS) >>> 0;

function getInfo(so: Socket, size = TCP_CONNECTION_INFO_LEN): { e: number; b: Uint8Array; dv: DataView } {
  const o = SockOpt.get(IPPROTO_TCP, TCP_CONNECTION_INFO, size);
  const e = sogetopt(so, o);
  const b = o.result().slice();
  return { e, b, dv: new DataView(b.buffer) };
}
const setInt = (so: Socket, name: number, v: number): number => sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
function getInt(so: Socket, name: number): number {
  const o = SockOpt.get(IPPROTO_TCP, name, 4);
  expect(sogetopt(so, o)).toBe(0);
  return readInt(o.result(), 0);
}
const u64 = (dv: DataView, off: number): number => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32;

describe('RFC 6675 NextSeg rule (4): rescue retransmission', () => {
  it('retransmits the tail once after a partial ACK when rules (1)-(3) have nothing; RescueRxt blocks a second', () => {
    const c = established();
    const tp = tcpcbOf(c.so)!;
    expect(send(c.so, data(10 * MSS), c.h.now).n).toBe(10 * MSS);
    c.h.poll();
    const sent = c.h.take();
    expect(sent.map((s) => s.seq)).toEqual([...Array(10).keys()].map((i) => seqOf(c, i)));
    // Segments 0 and 9 are lost; the peer SACKs 1..3 with three duplicate ACKs.
    const dup = (blocks: [number, number][]): void =>
      c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, win: 65535, opts: [1, 1, ...optSack(blocks)] });
    dup([[seqOf(c, 1), seqOf(c, 2)]]);
    dup([[seqOf(c, 1), seqOf(c, 3)]]);
    expect(c.h.take()).toEqual([]);
    dup([[seqOf(c, 1), seqOf(c, 4)]]);
    const fr = c.h.take();
    expect(fr.map((s) => [s.seq, s.payload.length])).toEqual([[seqOf(c, 0), MSS]]);
    expect(c.h.stats.tcps_sack_recovery_episode).toBe(1);
    // More duplicate ACKs SACK up to segment 8: nothing is lost below the highest SACKed octet
    // (segment 0 was retransmitted) and no new data exists; the rescue waits for HighACK > RescueRxt.
    for (let k = 5; k <= 9; k++) dup([[seqOf(c, 1), seqOf(c, k)]]);
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_sack_rescue).toBe(0);
    // The retransmission of segment 0 arrives: partial ACK up to segment 9 (below the recovery point).
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 9), win: 65535 });
    const rescue = c.h.take();
    expect(rescue.map((s) => [s.seq, s.payload.length])).toEqual([[seqOf(c, 9), MSS]]);
    expect(c.h.stats.tcps_sack_rescue).toBe(1);
    expect(c.h.stats.tcps_partialack).toBe(1);
    // HighRxt is not moved by the rescue (RFC 6675: "HighRxt MUST NOT be updated").
    expect(tp.snd_highrxt).toBe(seqOf(c, 9));
    // A further duplicate ACK finds RescueRxt = RecoveryPoint: no second rescue in this episode.
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 9), win: 65535 });
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_sack_rescue).toBe(1);
    // The full ACK ends recovery.
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 10), win: 65535 });
    expect(tp.snd_una).toBe(seqOf(c, 10));
    expect(tp.inRecovery).toBe(false);
  });
});

describe('spurious RTO detection and undo (XNU tcp_bad_rexmt_check)', () => {
  it('timestamps: an ACK whose TSecr predates the first retransmission undoes the RTO', () => {
    const c = established({ ts: true, rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    const mss = tp.t_maxseg; // 1448 beside timestamps
    send(c.so, data(3 * mss), c.h.now);
    c.h.poll();
    const orig = c.h.take();
    expect(orig.length).toBe(3);
    const cwnd0 = tp.snd_cwnd, ssthresh0 = tp.snd_ssthresh;
    // The ACK is delayed past the PTO (a probe resends segment 2) and past the RTO: segment 0 is
    // retransmitted with a later TSval.
    expectProbe(c, c.rcv + 2 * mss, mss, 10);
    let rx: Out[] = [];
    for (let i = 0; i < 40 && rx.length === 0; i++) { c.h.advance(100); rx = c.h.take(); }
    expect(rx.map((s) => s.seq)).toEqual([c.rcv]);
    expect(rx[0]!.tsval).toBeGreaterThan(orig[0]!.tsval);
    expect(tp.t_rxtshift).toBe(1);
    expect(tp.snd_cwnd).toBe(mss);
    expect(tp.snd_nxt).toBe((c.rcv + mss) >>> 0);
    // The delayed ACK of the original flight arrives, echoing the original TSval.
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: (c.rcv + 2 * mss) >>> 0, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), orig[1]!.tsval)] });
    expect(c.h.stats.tcps_sndrexmitbad).toBe(1);
    expect(tp.t_rxtshift).toBe(0);
    expect(tp.snd_ssthresh).toBe(ssthresh0);
    // RFC 4015 as XNU: cwnd = FlightSize + min(acked, IW), at least IW; snd_nxt back at snd_max.
    const iw = initialWindowBytes(tp.t_maxseg, XNU_PROFILE.initialWindowSegments);
    expect(cwnd0).toBe(iw);
    expect(tp.snd_cwnd).toBeGreaterThanOrEqual(iw);
    expect(tp.snd_nxt).toBe(tp.snd_max);
    // No go-back-N: segment 1 is not sent again.
    expect(c.h.take().filter((s) => s.payload.length > 0)).toEqual([]);
  });

  it('timestamps: an ACK echoing the retransmission TSval is a genuine recovery (nothing undone)', () => {
    const c = established({ ts: true, rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    const mss = tp.t_maxseg;
    send(c.so, data(3 * mss), c.h.now);
    c.h.poll();
    c.h.take();
    expectProbe(c, c.rcv + 2 * mss, mss, 10);
    let rx: Out[] = [];
    for (let i = 0; i < 40 && rx.length === 0; i++) { c.h.advance(100); rx = c.h.take(); }
    expect(rx.map((s) => s.seq)).toEqual([c.rcv]);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: (c.rcv + mss) >>> 0, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), rx[0]!.tsval)] });
    expect(c.h.stats.tcps_sndrexmitbad).toBe(0);
    expect(tp.snd_cwnd).toBeLessThan(3 * mss);
  });

  it('without timestamps: an ACK within SRTT/2 of the first RTO undoes it (cwnd and ssthresh restored)', () => {
    const c = established({ ts: false, rttMs: 400 });
    const tp = tcpcbOf(c.so)!;
    expect(tp.rtt.srttUs).toBe(400_000);
    send(c.so, data(3 * MSS), c.h.now);
    c.h.poll();
    expect(c.h.take().length).toBe(3);
    const cwnd0 = tp.snd_cwnd, ssthresh0 = tp.snd_ssthresh;
    // The probe (PTO 2 x 400 + 2 ms) resends segment 2 first; the RTO follows from it.
    expectProbe(c, seqOf(c, 2), MSS, 10);
    let rx: Out[] = [];
    for (let i = 0; i < 300 && rx.length === 0; i++) { c.h.advance(10); rx = c.h.take(); }
    expect(rx.map((s) => s.seq)).toEqual([c.rcv]);
    c.h.advance(100);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 3), win: 65535 });
    expect(c.h.stats.tcps_sndrexmitbad).toBe(1);
    // snd_cwnd_prev / snd_ssthresh_prev come back; the ACK then grows cwnd as usual (slow start).
    expect(tp.snd_ssthresh).toBe(ssthresh0);
    expect(tp.snd_cwnd).toBeGreaterThanOrEqual(cwnd0);
    expect(tp.t_rxtshift).toBe(0);
  });

  it('without timestamps: an ACK later than SRTT/2 after the RTO is not judged spurious', () => {
    const c = established({ ts: false, rttMs: 400 });
    const tp = tcpcbOf(c.so)!;
    send(c.so, data(3 * MSS), c.h.now);
    c.h.poll();
    c.h.take();
    expectProbe(c, seqOf(c, 2), MSS, 10);
    let rx: Out[] = [];
    for (let i = 0; i < 300 && rx.length === 0; i++) { c.h.advance(10); rx = c.h.take(); }
    expect(rx.map((s) => s.seq)).toEqual([c.rcv]);
    c.h.advance(300);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 3), win: 65535 });
    expect(c.h.stats.tcps_sndrexmitbad).toBe(0);
    expect(tp.snd_cwnd).toBeLessThan(3 * MSS);
  });
});

describe('TCP_RXT_CONNDROPTIME', () => {
  it('drops the connection once retransmissions have gone on that long (seconds, XNU semantics)', () => {
    const c = established({ rttMs: 20 });
    expect(getInt(c.so, TCP_RXT_CONNDROPTIME)).toBe(0);
    expect(setInt(c.so, TCP_RXT_CONNDROPTIME, -1)).toBe(EINVAL);
    expect(sosetopt(c.so, SockOpt.set(IPPROTO_TCP, TCP_RXT_CONNDROPTIME, new Uint8Array(2)))).toBe(EINVAL);
    expect(setInt(c.so, TCP_RXT_CONNDROPTIME, 3)).toBe(0);
    expect(getInt(c.so, TCP_RXT_CONNDROPTIME)).toBe(3);
    send(c.so, data(100), c.h.now);
    c.h.poll();
    c.h.take();
    const segs: Out[] = [];
    for (let i = 0; i < 600 && tcpcbOf(c.so) !== null; i++) { c.h.advance(100); segs.push(...c.h.take()); }
    expect(tcpcbOf(c.so)).toBeNull();
    expect(c.so.so_error).toBe(ETIMEDOUT);
    const rexmits = segs.filter((s) => s.payload.length > 0);
    const rst = segs.find((s) => (s.flags & TH.RST) !== 0)!;
    expect(rst).toBeDefined();
    // Dropped at the first RTO at least 3 s after the first retransmission, long before the
    // maxRxtShift limit (which takes minutes with XNU's backoff).
    const span = rst.atMs - rexmits[0]!.atMs;
    expect(span).toBeGreaterThanOrEqual(3000);
    expect(span).toBeLessThan(10_000);
    expect(c.h.stats.tcps_timeoutdrop).toBe(1);
  });
});

describe('TCP_CONNECTION_INFO', () => {
  it('returns struct tcp_connection_info (112 bytes, little-endian) with XNU fields and counters', () => {
    const c = established({ ts: true, rttMs: 30 });
    const tp = tcpcbOf(c.so)!;
    let tx = c.sent; // the SYN-ACK and whatever followed the handshake
    send(c.so, data(1000), c.h.now);
    c.h.poll();
    tx += c.h.take().length;
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 0) + 1000, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), tp.ts_recent)], payload: data(300) });
    // Out of order: 200 bytes after a 100-byte hole.
    c.h.inject({ flags: TH.ACK, seq: c.snd + 400, ack: seqOf(c, 0) + 1000, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), tp.ts_recent)], payload: data(200) });
    tx += c.h.take().length;
    const { e, b, dv } = getInfo(c.so);
    expect(e).toBe(0);
    expect(b.length).toBe(TCP_CONNECTION_INFO_LEN);
    expect(b[0]).toBe(TCPS_ESTABLISHED);
    expect(b[1]).toBe(tp.snd_scale);
    expect(b[2]).toBe(tp.rcv_scale);
    expect(b[3]).toBe(0);
    expect(dv.getUint32(4, true)).toBe(TCPCI_OPT_TIMESTAMPS | TCPCI_OPT_SACK | TCPCI_OPT_WSCALE);
    expect(dv.getUint32(8, true)).toBe(0);
    expect(dv.getUint32(12, true)).toBe(0); // nothing outstanding: REXMT off
    expect(dv.getUint32(16, true)).toBe(tp.t_maxseg);
    expect(dv.getUint32(20, true)).toBe(Math.min(tp.snd_ssthresh, 0xffffffff));
    expect(dv.getUint32(24, true)).toBe(tp.snd_cwnd);
    expect(dv.getUint32(28, true)).toBe(tp.snd_wnd);
    expect(dv.getUint32(32, true)).toBe(0);
    expect(dv.getUint32(36, true)).toBe(tp.rcv_wnd);
    expect(dv.getUint32(40, true)).toBe(Math.floor(tp.rtt.lastRttUs / 1000));
    expect(dv.getUint32(44, true)).toBe(Math.floor(tp.rtt.srttUs / 1000));
    expect(dv.getUint32(48, true)).toBe(Math.floor(tp.rtt.rttvarUs / 1000));
    expect(dv.getUint32(52, true)).toBe(0); // TFO bits
    expect(u64(dv, 56)).toBe(tx);
    expect(u64(dv, 64)).toBe(1000);
    expect(u64(dv, 72)).toBe(0);
    expect(u64(dv, 80)).toBe(3); // handshake ACK + two data segments
    expect(u64(dv, 88)).toBe(500);
    expect(u64(dv, 96)).toBe(200);
    expect(u64(dv, 104)).toBe(0);
  });

  it('counts retransmissions and flags loss recovery while backing off; short buffers get the leading bytes', () => {
    const c = established({ rttMs: 20 });
    send(c.so, data(500), c.h.now);
    c.h.poll();
    c.h.take();
    // The tail loss probe resends the segment first (not loss recovery: no RTO, no fast recovery).
    expectProbe(c, seqOf(c, 0), 500, 10);
    expect(getInfo(c.so).dv.getUint32(8, true) & TCPCI_FLAG_LOSSRECOVERY).toBe(0);
    let rx: Out[] = [];
    for (let i = 0; i < 40 && rx.length === 0; i++) { c.h.advance(100); rx = c.h.take(); }
    expect(rx.length).toBe(1);
    const full = getInfo(c.so);
    expect(full.dv.getUint32(8, true) & TCPCI_FLAG_LOSSRECOVERY).toBe(TCPCI_FLAG_LOSSRECOVERY);
    expect(full.dv.getUint32(12, true)).toBe(Math.floor(tcpcbOf(c.so)!.t_rxtcur / 1000));
    // Probe and RTO retransmission, 500 bytes each.
    expect(u64(full.dv, 72)).toBe(1000);
    expect(u64(full.dv, 104)).toBe(2);
    expect(full.dv.getUint32(32, true)).toBe(500);
    // XNU copies min(valsize, sizeof) bytes (sooptcopyout): no EINVAL, just truncation.
    const short = getInfo(c.so, 8);
    expect(short.e).toBe(0);
    expect(short.b).toEqual(full.b.subarray(0, 8));
  });

  it('a listener or unconnected socket reports only its state; the option is get-only', () => {
    const h = new PacketHost();
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    const li = getInfo(lis);
    expect([li.e, li.b.length, li.b[0]]).toEqual([0, TCP_CONNECTION_INFO_LEN, TCPS_LISTEN]);
    expect(li.b.subarray(1).every((x) => x === 0)).toBe(true);
    const so = tcpSocket(h.stack);
    expect(getInfo(so).b[0]).toBe(0);
    expect(setInt(so, TCP_CONNECTION_INFO, 1)).toBe(ENOPROTOOPT);
  });
});

describe('TCP_NOTIMEWAIT', () => {
  function closeActively(c: Conn): void {
    expect(soshutdown(c.so, 1, c.h.now)).toBe(0);
    c.h.poll();
    const fin = c.h.one();
    expect(fmt(fin)).toContain('[F.]');
    c.h.inject({ flags: TH.ACK | TH.FIN, seq: c.snd, ack: fin.seq + 1 });
    expect(c.h.one().ack).toBe(c.snd + 1); // the last ACK still goes out
  }

  it('closes at once instead of entering TIME_WAIT; accepted sockets inherit it from the listener', () => {
    const profile = withProfile(XNU_PROFILE, {});
    const h = new PacketHost({ seed: 7, profile });
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    expect(setInt(lis, TCP_NOTIMEWAIT, 1)).toBe(0);
    expect(getInt(lis, TCP_NOTIMEWAIT)).toBe(1);
    h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts: optMss(MSS) });
    const synack = h.one();
    h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535 });
    const so = accept(lis)!;
    h.take();
    expect(getInt(so, TCP_NOTIMEWAIT)).toBe(1);
    closeActively({ h, so, lis, rcv: synack.seq + 1, snd: PEER_ISS + 1, ts: false, sent: 0 });
    expect(h.stack.tcp.tcpcbs().filter((t) => t.t_state !== TCPS_LISTEN)).toEqual([]);
    expect(tcpcbOf(so)).toBeNull();
  });

  it('off by default: the same close ends in TIME_WAIT', () => {
    const c = established();
    expect(getInt(c.so, TCP_NOTIMEWAIT)).toBe(0);
    closeActively(c);
    expect(tcpcbOf(c.so)!.t_state).toBe(TCPS_TIME_WAIT);
  });
});
