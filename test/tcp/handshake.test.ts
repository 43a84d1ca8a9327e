// Packet-level tests of connection establishment: XNU's SYN and SYN-ACK option layouts, the
// passive open through the listen queue, RST for closed ports (RFC 9293 §3.10.7.1), SYN
// retransmission with XNU's SYN backoff and ETIMEDOUT at keep-init, ECONNREFUSED.

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER, TH, fmt, optMss, optSackOk, optTs, optWs } from './harness.js';
import { accept, listenOn, sa, tcpSocket } from './helpers.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { ECONNREFUSED, ETIMEDOUT } from '../../stack/socket/errno.js';
import { SS_ISCONNECTED } from '../../stack/socket/constants.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';

const FULL_SYN_OPTS = [...optMss(1460), ...optWs(6), ...optSackOk(), ...optTs(1000, 0)];

function listening(seed = 1) {
  const h = new PacketHost({ seed });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  return { h, lis };
}

describe('passive open', () => {
  it('answers a SYN with a SYN-ACK in XNU layout (mss, nop, wscale, nop, nop, TS, sackOK, eol) and completes on the ACK', () => {
    const { h, lis } = listening();
    h.inject({ flags: TH.SYN, seq: 1000, win: 65535, opts: FULL_SYN_OPTS });
    const sa1 = h.one();
    expect(sa1.flags).toBe(TH.SYN | TH.ACK);
    expect(sa1.ack).toBe(1001);
    expect(sa1.sport).toBe(80);
    expect(sa1.dport).toBe(40000);
    expect(sa1.csumOk).toBe(true);
    // MSS from the 1500-byte link; wscale from the 4 MB auto-sized receive buffer.
    expect(sa1.optText).toMatch(/^mss 1460,nop,wscale 7,nop,nop,TS val \d+ ecr 1000,sackOK,eol$/);
    expect(sa1.opts.length).toBe(24);
    expect(sa1.win).toBe(65535);
    expect(lis.so_incomp.length).toBe(1);
    expect(accept(lis)).toBeNull();
    h.inject({ flags: TH.ACK, seq: 1001, ack: sa1.seq + 1, opts: optTs(1001, sa1.tsval) });
    expect(lis.so_comp.length).toBe(1);
    const child = accept(lis)!;
    expect(child.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(h.stats.tcps_accepts).toBe(1);
    // With timestamps both ways, t_maxseg leaves room for them.
    expect(tcpcbOf(child)!.t_maxseg).toBe(1460 - 12);
  });

  it('offers only what the peer offered: a bare SYN gets a SYN-ACK with just the MSS', () => {
    const { h } = listening();
    h.inject({ flags: TH.SYN, seq: 5, opts: optMss(536) });
    const o = h.one();
    expect(o.optText).toBe('mss 1460');
    h.inject({ flags: TH.SYN, seq: 5, sport: 40001 });
    expect(h.one().optText).toBe('mss 1460');
  });

  it('drops the SYN (no RST) when the backlog is full, counting tcps_listendrop', () => {
    const h = new PacketHost();
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80, 1);
    h.inject({ flags: TH.SYN, seq: 1, sport: 40001 });
    expect(h.one().flags).toBe(TH.SYN | TH.ACK);
    h.inject({ flags: TH.SYN, seq: 1, sport: 40002 });
    expect(h.take()).toEqual([]);
    expect(h.stats.tcps_listendrop).toBe(1);
    expect(lis.so_qlen).toBe(1);
  });

  it('answers an ACK to a listener with <SEQ=SEG.ACK><CTL=RST> and ignores a RST', () => {
    const { h } = listening();
    h.inject({ flags: TH.ACK, seq: 10, ack: 777 });
    const r = h.one();
    expect(r.flags).toBe(TH.RST);
    expect(r.seq).toBe(777);
    h.inject({ flags: TH.RST, seq: 10 });
    expect(h.take()).toEqual([]);
  });
});

describe('closed port (RFC 9293 §3.10.7.1)', () => {
  it('SYN → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; ACK → <SEQ=SEG.ACK><CTL=RST>; RST → nothing', () => {
    const h = new PacketHost();
    h.inject({ flags: TH.SYN, seq: 100, dport: 81 });
    let r = h.one();
    expect([r.flags, r.seq, r.ack, r.sport, r.dport]).toEqual([TH.RST | TH.ACK, 0, 101, 81, 40000]);
    h.inject({ flags: TH.ACK | TH.PSH, seq: 100, ack: 5555, dport: 81, payload: new Uint8Array(10) });
    r = h.one();
    expect([r.flags, r.seq]).toEqual([TH.RST, 5555]);
    h.inject({ flags: TH.FIN, seq: 100, dport: 81, payload: new Uint8Array(3) });
    r = h.one();
    expect([r.flags, r.seq, r.ack]).toEqual([TH.RST | TH.ACK, 0, 104]);
    h.inject({ flags: TH.RST, seq: 1, dport: 81 });
    expect(h.take()).toEqual([]);
    expect(h.stats.tcps_noport).toBe(4);
  });

  it('profile.blackhole 1 suppresses the RST for SYNs only; 2 for everything', () => {
    const h1 = new PacketHost({ profile: withProfile(XNU_PROFILE, { blackhole: 1 }) });
    h1.inject({ flags: TH.SYN, seq: 1, dport: 81 });
    expect(h1.take()).toEqual([]);
    h1.inject({ flags: TH.ACK, seq: 1, ack: 9, dport: 81 });
    expect(h1.one().flags).toBe(TH.RST);
    const h2 = new PacketHost({ profile: withProfile(XNU_PROFILE, { blackhole: 2 }) });
    h2.inject({ flags: TH.ACK, seq: 1, ack: 9, dport: 81 });
    expect(h2.take()).toEqual([]);
  });
});

describe('active open', () => {
  it('sends a 24-byte SYN: mss 1460, nop, wscale, nop, nop, TS, sackOK, eol, eol', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
    h.poll();
    const syn = h.one();
    // XNU initiates ECN by default: the first SYN is an ECN-setup SYN (RFC 3168 §6.1.1).
    expect(syn.flags).toBe(TH.SYN | TH.ECE | TH.CWR);
    expect(syn.optText).toMatch(/^mss 1460,nop,wscale 7,nop,nop,TS val \d+ ecr 0,sackOK,eol$/);
    expect(Array.from(syn.opts.subarray(20))).toEqual([4, 2, 0, 0]);
    expect(syn.csumOk).toBe(true);
    expect(h.stats.tcps_connattempt).toBe(1);
  });

  it('a RST|ACK to the SYN refuses the connection: ECONNREFUSED', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    h.inject({ sport: 80, dport: syn.sport, flags: TH.RST | TH.ACK, seq: 0, ack: syn.seq + 1 });
    expect(so.so_error).toBe(ECONNREFUSED);
    expect(tcpcbOf(so)).toBeNull();
  });

  it('a RST whose ACK does not cover the SYN is ignored; an unacceptable ACK gets a RST', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    h.inject({ sport: 80, dport: syn.sport, flags: TH.RST | TH.ACK, seq: 0, ack: syn.seq + 5 });
    expect(h.take()).toEqual([]);
    expect(so.so_error).toBe(0);
    h.inject({ sport: 80, dport: syn.sport, flags: TH.SYN | TH.ACK, seq: 9, ack: syn.seq + 7 });
    const r = h.one();
    expect([r.flags, r.seq]).toEqual([TH.RST, (syn.seq + 7) >>> 0]);
    expect(tcpcbOf(so)).not.toBeNull();
  });

  it('retransmits the SYN on XNU\'s SYN backoff (1 s ×1,1,1,1,1,2,4,8,16,32) and gives up at keep-init (75 s) with ETIMEDOUT', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const times: number[] = [];
    for (let i = 0; i < 200 && so.so_error === 0; i++) {
      for (const o of h.take()) if (o.flags & TH.SYN) times.push(Math.round(o.atMs));
      h.advance(500);
    }
    for (const o of h.take()) if (o.flags & TH.SYN) times.push(Math.round(o.atMs));
    expect(so.so_error).toBe(ETIMEDOUT);
    expect(times.map((t) => Math.round(t / 500) * 500)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000]);
    expect(h.stats.tcps_keeptimeo).toBe(1);
  });

  it('TCP_CONNECTIONTIMEOUT / a shorter keepInit ends the attempt sooner', () => {
    const h = new PacketHost({ profile: withProfile(XNU_PROFILE, { keepInitMs: 3000 }) });
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.advance(2999);
    expect(so.so_error).toBe(0);
    h.advance(2);
    expect(so.so_error).toBe(ETIMEDOUT);
  });

  it('completes on the SYN-ACK, ACKs it, and takes the peer\'s MSS, window scale and SACK-permitted', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    h.advance(10);
    h.inject({
      sport: 80, dport: syn.sport, flags: TH.SYN | TH.ACK, seq: 5000, ack: syn.seq + 1, win: 1000,
      opts: [...optMss(1200), ...optWs(3), ...optSackOk(), ...optTs(77, syn.tsval)],
    });
    const ack = h.one();
    expect(fmt(ack)).toContain('[.]');
    expect(ack.ack).toBe(5001);
    expect(ack.tsecr).toBe(77);
    const tp = tcpcbOf(so)!;
    expect(so.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(tp.t_maxseg).toBe(1200 - 12);
    expect(tp.snd_scale).toBe(3);
    expect(tp.snd_wnd).toBe(1000); // a SYN-ACK's window is never scaled
    expect(tp.rtt.srttUs).toBe(10_000);
  });
});
