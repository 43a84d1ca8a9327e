// Packet-level tests of the newer input/output paths: passive-open children in the port hash
// (in_pcbinshash), header prediction (tcps_predack / tcps_preddat), XNU's stretch-ACK policy,
// RFC 2883 D-SACK on both sides, data on a SYN (RFC 9293 §3.10.7.2), the RST rate limit
// (badport_bandlim), PAWS (RFC 7323 §5.3) and buffer auto-sizing between two stacks.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, optMss, optSack, optSackOk, optTs, optWs } from './harness.js';
import { BulkTransfer, accept, buildWorld, connectTo, listenOn, recv, send, tcpSocket, sa } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sobind, soclose } from '../../stack/socket/so-ops.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { SOL_SOCKET, SO_RCVBUF, SO_REUSEADDR } from '../../stack/socket/constants.js';
import { EADDRINUSE } from '../../stack/socket/errno.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TF_STRETCHACK } from '../../stack/tcp/tcp-var.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';

const PEER_ISS = 100_000;
const data = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);

interface Conn { h: PacketHost; so: Socket; lis: Socket; rcv: number; snd: number; tsecr: number }

/** A connection accepted on *:80 from PEER:40000 (peer TSval 5000 + n when `ts`). */
function established(o: { ts?: boolean; profile?: TcpProfile; wild?: boolean } = {}): Conn {
  const h = new PacketHost({ seed: 5, profile: o.profile });
  const lis = listenOn(h.stack, o.wild ?? true ? IpAddr.ANY4 : h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  const ts = o.ts ?? false;
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts: [...optMss(1460), ...optWs(0), ...optSackOk(), ...(ts ? optTs(5000, 0) : [])] });
  const synack = h.one();
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, opts: ts ? optTs(5001, synack.tsval) : [] });
  const so = accept(lis)!;
  h.take();
  return { h, so, lis, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, tsecr: synack.tsval };
}

describe('passive-open children are in the port hash (in_pcbinshash)', () => {
  it('while a child lives, binding its port without SO_REUSEADDR is EADDRINUSE; with it, allowed', () => {
    const c = established();
    expect(c.h.stack.tcp.pcbs.bucket(80)!.length).toBe(2);
    soclose(c.lis, c.h.now);
    const s1 = tcpSocket(c.h.stack);
    expect(sobind(s1, sa(IpAddr.ANY4, 80))).toBe(EADDRINUSE);
    const s2 = tcpSocket(c.h.stack);
    expect(sosetopt(s2, SockOpt.set(SOL_SOCKET, SO_REUSEADDR, sooptInt(1)))).toBe(0);
    expect(sobind(s2, sa(IpAddr.ANY4, 80))).toBe(0);
    // The child still gets its segments (exact match before the new wildcard socket).
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(10) });
    expect(recv(c.so, c.h.now).data.length).toBe(10);
  });

  it('the 4-tuple of a live child cannot be inserted twice (EADDRINUSE)', () => {
    const c = established();
    const t = c.h.stack.tcp.pcbs;
    const pcb = t.alloc(null, 4);
    const me = c.h.stack.ip.ifnets[0]!.addrs4[0]!.addr;
    expect(t.insertConnected(pcb, me, 80, IpAddr.of('198.18.0.1'), 40000)).toBe(EADDRINUSE);
    t.detach(pcb);
  });
});

describe('header prediction', () => {
  it('pure in-order data takes the fast path (tcps_preddat); PSH or out-of-order does not', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(1000) });
    expect(c.h.stats.tcps_preddat).toBe(1);
    c.h.inject({ flags: TH.ACK | TH.PSH, seq: c.snd + 1000, ack: c.rcv, payload: data(1000) });
    expect(c.h.stats.tcps_preddat).toBe(2);
    c.h.inject({ flags: TH.ACK, seq: c.snd + 3000, ack: c.rcv, payload: data(1000) });
    expect(c.h.stats.tcps_preddat).toBe(2);
    expect(c.h.stats.tcps_rcvoopack).toBe(1);
    expect(recv(c.so, c.h.now).data.length).toBe(2000);
  });

  it('a pure ACK in congestion avoidance takes the fast path (tcps_predack); one with SACK blocks does not', () => {
    const c = established();
    const tp = tcpcbOf(c.so)!;
    tp.snd_ssthresh = 2 * 1460;
    expect(send(c.so, data(4 * 1460), c.h.now).e).toBe(0);
    c.h.poll();
    const segs = c.h.take();
    expect(segs.length).toBeGreaterThanOrEqual(2);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 1460 });
    expect(c.h.stats.tcps_predack).toBe(1);
    expect(tp.snd_una).toBe((c.rcv + 1460) >>> 0);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 1460, opts: optSack([[c.rcv + 2920, c.rcv + 4380]]) });
    expect(c.h.stats.tcps_predack).toBe(1);
  });
});

describe("XNU stretch ACKs (delayed_ack = 3, maxseg_unacked = 8)", () => {
  const prof = withProfile(XNU_PROFILE, { rcvSsPktCount: 4 });

  it('ACKs every second segment until streaming is detected, then every 8th; PSH is ACKed at once', () => {
    const c = established({ profile: prof });
    const tp = tcpcbOf(c.so)!;
    let seq = c.snd;
    const acks: number[] = [];
    for (let i = 0; i < 40; i++) {
      c.h.inject({ flags: TH.ACK, seq, ack: c.rcv, payload: data(1460) });
      seq += 1460;
      for (const o of c.h.take()) acks.push(i);
      c.h.advance(1);
      recv(c.so, c.h.now);
    }
    // Slow-start wait (4 segments) and enough bytes in 100 ms: then stretch ACKs every 8 segments.
    expect(tp.t_flags & TF_STRETCHACK, acks.join(',')).toBe(TF_STRETCHACK);
    expect(acks.slice(0, 2)).toEqual([1, 3]);
    const late = acks.filter((i) => i >= 16);
    for (let k = 1; k < late.length; k++) expect(late[k]! - late[k - 1]!, acks.join(',')).toBe(8);
    c.h.take();
    c.h.inject({ flags: TH.ACK, seq, ack: c.rcv, payload: data(1460) });
    expect(c.h.take()).toEqual([]);
    // A segment with PSH stops streaming and is acknowledged at once.
    c.h.inject({ flags: TH.ACK | TH.PSH, seq: seq + 1460, ack: c.rcv, payload: data(100) });
    expect(c.h.one().ack).toBe((seq + 1560) >>> 0);
    expect(tp.t_flags & TF_STRETCHACK).toBe(0);
  });

  it('an out-of-order segment resets stretching (TF_RCVUNACK_WAITSS)', () => {
    const c = established({ profile: prof });
    const tp = tcpcbOf(c.so)!;
    let seq = c.snd;
    for (let i = 0; i < 24; i++) {
      c.h.inject({ flags: TH.ACK, seq, ack: c.rcv, payload: data(1460) });
      seq += 1460;
      c.h.advance(1);
    }
    expect(tp.t_flags & TF_STRETCHACK).toBe(TF_STRETCHACK);
    c.h.inject({ flags: TH.ACK, seq: seq + 1460, ack: c.rcv, payload: data(1460) });
    expect(tp.t_flags & TF_STRETCHACK).toBe(0);
    expect(tp.rcv_waitforss).toBe(0);
  });
});

describe('D-SACK (RFC 2883)', () => {
  it('a segment overlapping queued out-of-order data is reported with the overlap as the first block', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd + 1000, ack: c.rcv, payload: data(1000) });
    c.h.take();
    c.h.inject({ flags: TH.ACK, seq: c.snd + 500, ack: c.rcv, payload: data(1000) });
    const a = c.h.one();
    expect(a.ack).toBe(c.snd);
    expect(a.optText).toBe(`nop,nop,sack 2 {${c.snd + 1000}:${c.snd + 1500}}{${c.snd + 500}:${c.snd + 2000}}`);
  });

  it('a SACK block between the old snd_una and the new ACK counts as a D-SACK on the sender', () => {
    const c = established();
    const tp = tcpcbOf(c.so)!;
    expect(send(c.so, data(4 * 1460), c.h.now).e).toBe(0);
    c.h.poll();
    c.h.take();
    // No SACK block has arrived yet: the scoreboard is built on the first one.
    expect(tp.scoreboard).toBeNull();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 2920, opts: optSack([[c.rcv + 1460, c.rcv + 2920]]) });
    expect(tp.scoreboard?.dsack).toBe(1);
    expect(tp.scoreboard?.rangeCount).toBe(0);
  });
});

describe('data on a SYN (RFC 9293 §3.10.7.2)', () => {
  it('is queued, acknowledged only with the SYN, and delivered once the handshake completes', () => {
    const h = new PacketHost({ seed: 9 });
    const lis = listenOn(h.stack, IpAddr.ANY4, 80);
    h.inject({ flags: TH.SYN, seq: PEER_ISS, opts: optMss(1460), payload: data(5, 0x68) });
    const sa1 = h.one();
    expect(sa1.ack).toBe(PEER_ISS + 1);
    expect(h.stats.tcps_rcvsyndata).toBe(1);
    h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: sa1.seq + 1 });
    const child = accept(lis)!;
    expect(h.one().ack).toBe(PEER_ISS + 6);
    expect(Array.from(recv(child, h.now).data)).toEqual([0x68, 0x68, 0x68, 0x68, 0x68]);
    // The peer's retransmission of the same bytes is a duplicate, not new data.
    h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: sa1.seq + 1, payload: data(5, 0x68) });
    expect(recv(child, h.now).data.length).toBe(0);
  });
});

describe('RST rate limit (badport_bandlim)', () => {
  it('answers at most rstRateLimit segments to closed ports per second, counting the rest', () => {
    const h = new PacketHost({ profile: withProfile(XNU_PROFILE, { rstRateLimit: 5 }) });
    for (let i = 0; i < 8; i++) h.inject({ flags: TH.SYN, seq: i, dport: 81 });
    expect(h.take().length).toBe(5);
    expect(h.stats.tcps_rstratelimited).toBe(3);
    h.advance(1000);
    h.inject({ flags: TH.SYN, seq: 1, dport: 81 });
    expect(h.one().flags).toBe(TH.RST | TH.ACK);
  });
});

describe('PAWS (RFC 7323 §5.3)', () => {
  it('drops a segment whose TSval is older than TS.Recent, counts tcps_pawsdrop and ACKs', () => {
    const c = established({ ts: true });
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(100), opts: optTs(6000, c.tsecr) });
    expect(recv(c.so, c.h.now).data.length).toBe(100);
    c.h.advance(200);
    c.h.take();
    c.h.inject({ flags: TH.ACK, seq: c.snd + 100, ack: c.rcv, payload: data(100), opts: optTs(5500, c.tsecr) });
    expect(c.h.stats.tcps_pawsdrop).toBe(1);
    const a = c.h.one();
    expect(a.ack).toBe(c.snd + 100);
    expect(recv(c.so, c.h.now).data.length).toBe(0);
  });
});

describe('buffer auto-sizing (tcp_autorcvbuf / autosndbuf)', () => {
  const run = (rcvbuf: number) => {
    const w = buildWorld({ seed: 11, impairments: { delayMs: 10 } });
    const lis = listenOn(w.b.stack, w.b.v4, 5001);
    if (rcvbuf > 0) sosetopt(lis, SockOpt.set(SOL_SOCKET, SO_RCVBUF, sooptInt(rcvbuf)));
    const cl = connectTo(w.a.stack, w.b.v4, 5001, w.sim.now);
    let srv: Socket | null = null;
    w.sim.runUntil(() => (srv = accept(lis)) !== null, 5000);
    if (srv === null) throw new Error('no connection');
    const x = new BulkTransfer(w.sim.clock, cl, srv as Socket, 8 * 1024 * 1024, 65536);
    w.sim.runUntil(() => x.done, 60_000);
    expect(x.done && x.mismatches === 0).toBe(true);
    return { w, srv: srv as Socket, cl };
  };

  it('grows so_rcv and so_snd toward the ceilings when the window is the limit', () => {
    const { w, srv, cl } = run(0);
    expect(w.b.stack.tcp.stats.tcps_rcvbuf_grown).toBeGreaterThan(0);
    expect(srv.so_rcv.sb_hiwat).toBeGreaterThan(XNU_PROFILE.recvSpace);
    expect(srv.so_rcv.sb_hiwat).toBeLessThanOrEqual(XNU_PROFILE.autoRecvBufMax);
    expect(w.a.stack.tcp.stats.tcps_sndbuf_grown).toBeGreaterThan(0);
    expect(cl.so_snd.sb_hiwat).toBeGreaterThan(XNU_PROFILE.sendSpace);
  });

  it('leaves a buffer the user sized with SO_RCVBUF alone (SB_USRSIZE)', () => {
    const { w, srv } = run(200_000);
    expect(w.b.stack.tcp.stats.tcps_rcvbuf_grown).toBe(0);
    expect(srv.so_rcv.sb_hiwat).toBe(200_000);
  });
});
