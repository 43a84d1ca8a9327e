// Packet-level tests for the stack bugs the packetdrill suite (test/drill) found: XNU's Nagle
// exception after a full-sized segment (TF_MAXSEGSNT, `idle` computed once per tcp_output call),
// the SYN-ACK retransmission backoff (tcp_backoff, not tcp_syn_backoff), the ACK that completes a
// simultaneous open, blind ICMP needfrag not touching the path MTU (RFC 5927 §4.1), FreeBSD's SYN
// option alignment (tcp_addoptions) and Tcp.setProfile.

import { describe, expect, it } from 'vitest';
import { ME, PEER, PacketHost, TH, optMss, optSackOk, optTs, optWs } from './harness.js';
import { accept, listenOn, sa, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { SS_ISCONNECTED } from '../../stack/socket/constants.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TCPS_ESTABLISHED, TCPS_SYN_RECEIVED } from '../../stack/tcp/tcp-fsm.js';
import { FREEBSD_PROFILE, withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { emitIpv4 } from '../../stack/wire/ipv4.js';
import { internetChecksum } from '../../stack/wire/checksum.js';
import { set16, set32 } from '../../stack/wire/bytes.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';

const PEER_ISS = 100_000;

interface Conn { h: PacketHost; so: Socket; rcv: number; snd: number }

/** A connection accepted from the peer (no options beyond MSS 1460: t_maxseg 1460). */
function established(profile: TcpProfile = XNU_PROFILE): Conn {
  const h = new PacketHost({ seed: 5, profile });
  const lis = listenOn(h.stack, ME, 80);
  h.inject({ flags: TH.SYN, seq: PEER_ISS, opts: optMss(1460) });
  const synack = h.one();
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1 });
  const so = accept(lis)!;
  h.take();
  return { h, so, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(0x5a);

describe('Nagle after a full-sized segment (XNU tcp_output: idle once per call, TF_MAXSEGSNT)', () => {
  it('a 4000-byte write from idle sends 1460, 1460 and the 1080-byte tail at once, PSH on the tail', () => {
    const c = established();
    expect(send(c.so, bytes(4000), c.h.now).e).toBe(0);
    c.h.poll();
    const segs = c.h.take();
    expect(segs.map((s) => [s.seq - c.rcv, s.payload.length, s.flags & TH.PSH])).toEqual([
      [0, 1460, 0], [1460, 1460, 0], [2920, 1080, TH.PSH],
    ]);
  });

  it('with a runt in flight, a write sends its full segments and its 80-byte tail without waiting', () => {
    const c = established();
    send(c.so, bytes(100), c.h.now);
    c.h.poll();
    expect(c.h.one().payload.length).toBe(100);
    send(c.so, bytes(3000), c.h.now);
    c.h.poll();
    expect(c.h.take().map((s) => [s.seq - c.rcv, s.payload.length])).toEqual([[100, 1460], [1560, 1460], [3020, 80]]);
    // The runt cleared TF_MAXSEGSNT: the next small write waits for the ACK (plain Nagle).
    send(c.so, bytes(50), c.h.now);
    c.h.poll();
    expect(c.h.take()).toEqual([]);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 3100 });
    expect(c.h.take().map((s) => [s.seq - c.rcv, s.payload.length])).toEqual([[3100, 50]]);
  });

  it('a profile without the exception (FreeBSD) holds that tail until the ACK', () => {
    const c = established(FREEBSD_PROFILE);
    send(c.so, bytes(100), c.h.now);
    c.h.poll();
    expect(c.h.one().payload.length).toBe(100);
    send(c.so, bytes(3000), c.h.now);
    c.h.poll();
    expect(c.h.take().map((s) => s.payload.length)).toEqual([1460, 1460]);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 3020 });
    expect(c.h.take().map((s) => [s.seq - c.rcv, s.payload.length])).toEqual([[3020, 80]]);
  });
});

describe('SYN-ACK retransmission (XNU tcp_timers: tcp_syn_backoff only in SYN_SENT)', () => {
  it('backs off on tcp_backoff: resent at 1, 3, 7, 15 s', () => {
    const h = new PacketHost();
    listenOn(h.stack, ME, 80);
    h.inject({ flags: TH.SYN, seq: PEER_ISS, opts: optMss(1460) });
    const times: number[] = [];
    for (let i = 0; i < 32; i++) {
      for (const o of h.take()) if (o.flags === (TH.SYN | TH.ACK)) times.push(Math.round(o.atMs));
      h.advance(500);
    }
    expect(times).toEqual([0, 1000, 3000, 7000, 15000]);
  });
});

describe('simultaneous open (RFC 9293 §3.5 figure 8)', () => {
  it('the peer\'s SYN-ACK in SYN_RECEIVED is answered with <SEQ=ISS+1><ACK=IRS+1><CTL=ACK> and establishes', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
    h.poll();
    const syn = h.one();
    const base = { sport: 80, dport: syn.sport };
    h.inject({ ...base, flags: TH.SYN, seq: 5000, opts: optMss(1460) });
    const synack = h.one();
    expect([synack.flags, synack.seq, synack.ack]).toEqual([TH.SYN | TH.ACK, syn.seq, 5001]);
    expect(tcpcbOf(so)!.t_state).toBe(TCPS_SYN_RECEIVED);
    h.inject({ ...base, flags: TH.SYN | TH.ACK, seq: 5000, ack: syn.seq + 1, opts: optMss(1460) });
    const ack = h.one();
    expect([ack.flags, ack.seq, ack.ack, ack.payload.length]).toEqual([TH.ACK, (syn.seq + 1) >>> 0, 5001, 0]);
    expect(tcpcbOf(so)!.t_state).toBe(TCPS_ESTABLISHED);
    expect(so.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(so.so_error).toBe(0);
  });
});

/** An ICMP fragmentation-needed from a router quoting a full segment we sent with sequence `seq`. */
function needfrag(c: Conn, seq: number, mtu: number): Uint8Array {
  const quoted = new Uint8Array(20 + 20);
  emitIpv4({
    src: ME, dst: PEER, protocol: 6, ttl: 64, tos: 0, ident: 9, dontFrag: true, moreFrags: false, fragOffset: 0,
    payloadLen: 20 + 1460,
  }, quoted, 0);
  set16(quoted, 20, 80);
  set16(quoted, 22, 40000);
  set32(quoted, 24, seq >>> 0);
  set32(quoted, 28, c.snd);
  quoted[32] = 5 << 4;
  quoted[33] = TH.ACK | TH.PSH;
  const icmp = new Uint8Array(8 + quoted.length);
  icmp[0] = 3;
  icmp[1] = 4;
  set16(icmp, 6, mtu);
  icmp.set(quoted, 8);
  set16(icmp, 2, internetChecksum(icmp, 0, icmp.length));
  const pkt = new Uint8Array(20 + icmp.length);
  emitIpv4({
    src: IpAddr.of('198.18.0.254'), dst: ME, protocol: 1, ttl: 64, tos: 0, ident: 77, dontFrag: false,
    moreFrags: false, fragOffset: 0, payloadLen: icmp.length,
  }, pkt, 0);
  pkt.set(icmp, 20);
  return pkt;
}

describe('ICMP needfrag validation (RFC 5927 §4.1; XNU tcp_ctlinput → tcp_handle_msgsize)', () => {
  it('a needfrag quoting a sequence number outside [SND.UNA, SND.MAX) changes neither the path MTU nor the MSS', () => {
    const c = established();
    const ip = c.h.stack.ip;
    send(c.so, bytes(1460), c.h.now);
    c.h.poll();
    expect(c.h.one().payload.length).toBe(1460);
    const ignored = c.h.stats.tcps_icmp_ignored;
    c.h.injectBytes(needfrag(c, c.rcv - 1, 1200));
    expect(c.h.stats.tcps_icmp_ignored).toBe(ignored + 1);
    expect(ip.pathMtu(PEER)).toBe(1500);
    expect(ip.icmpstat.icps_pmtuchanged).toBe(0);
    expect(c.h.take()).toEqual([]);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 1460 });
    expect(tcpcbOf(c.so)!.t_maxseg).toBe(1460);
    send(c.so, bytes(1460), c.h.now);
    c.h.poll();
    expect(c.h.take().map((s) => [s.seq - c.rcv, s.payload.length])).toEqual([[1460, 1460]]);
  });

  it('an in-window needfrag lowers the path MTU (through IpOutput.updatePathMtu) and the MSS, and resends', () => {
    const c = established();
    const ip = c.h.stack.ip;
    send(c.so, bytes(1460), c.h.now);
    c.h.poll();
    c.h.take();
    c.h.injectBytes(needfrag(c, c.rcv, 1200));
    expect(ip.pathMtu(PEER)).toBe(1200);
    expect(ip.icmpstat.icps_pmtuchanged).toBe(1);
    expect(tcpcbOf(c.so)!.t_maxseg).toBe(1160);
    expect(c.h.take().map((s) => [s.seq - c.rcv, s.payload.length])).toEqual([[0, 1160], [1160, 300]]);
  });
});

describe('SYN option alignment (profile.synOptionPadding)', () => {
  const synOpts = (profile: TcpProfile): string => {
    const h = new PacketHost({ profile });
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    expect(syn.opts.length % 4).toBe(0);
    return syn.optText.replace(/TS val \d+ ecr \d+/, 'TS').replace(/wscale \d+/, 'wscale');
  };

  it('bsd-align pads each option like FreeBSD tcp_addoptions (TS at 4n+2, WS odd, SACK-permitted even)', () => {
    expect(synOpts(FREEBSD_PROFILE)).toBe('mss 1460,nop,wscale,sackOK,TS');
    expect(synOpts(withProfile(FREEBSD_PROFILE, { sack: false }))).toBe('mss 1460,nop,wscale,nop,nop,TS');
    expect(synOpts(withProfile(FREEBSD_PROFILE, { rfc1323: false }))).toBe('mss 1460,sackOK,eol');
    expect(synOpts(withProfile(FREEBSD_PROFILE, { sack: false, rfc1323: false }))).toBe('mss 1460');
  });

  it('bsd-align on a SYN-ACK: only what the peer offered, each option aligned', () => {
    const answer = (opts: number[]): string => {
      const h = new PacketHost({ profile: FREEBSD_PROFILE });
      listenOn(h.stack, ME, 80);
      h.inject({ flags: TH.SYN, seq: PEER_ISS, opts });
      return h.one().optText.replace(/TS val \d+ ecr \d+/, 'TS').replace(/wscale \d+/, 'wscale');
    };
    expect(answer([...optMss(1460), ...optSackOk(), ...optTs(1, 0)])).toBe('mss 1460,sackOK,TS');
    expect(answer([...optMss(1460), ...optTs(1, 0)])).toBe('mss 1460,nop,nop,TS');
    expect(answer([...optMss(1460), ...optWs(2)])).toBe('mss 1460,nop,wscale');
  });

  it('layout (XNU) keeps its fixed words: without SACK the layout just loses sackOK', () => {
    expect(synOpts(withProfile(XNU_PROFILE, { sack: false }))).toBe('mss 1460,nop,wscale,nop,nop,TS');
    expect(synOpts(withProfile(XNU_PROFILE, { rfc1323: false }))).toBe('mss 1460,sackOK,eol');
  });

  it('Tcp.setProfile switches the layout for the next SYN', () => {
    const h = new PacketHost();
    h.stack.tcp.setProfile(withProfile(XNU_PROFILE, { synOptionPadding: 'bsd-align', synOptions: ['mss', 'sackOK', 'wscale', 'ts'] }));
    expect(h.stack.tcp.profile.synOptionPadding).toBe('bsd-align');
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    // mss (0..4), sackOK (4..6), NOP to an odd offset, wscale (7..10), NOP,NOP... TS at 4n+2: 10 → TS.
    expect(h.one().optText.replace(/TS val \d+ ecr \d+/, 'TS')).toMatch(/^mss 1460,sackOK,nop,wscale \d+,TS$/);
  });
});
