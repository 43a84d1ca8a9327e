// Packet-level tests of ECN (RFC 3168) as XNU does it (stack/tcp/tcp-ecn.ts), the test playing the
// peer: negotiation both ways by default and not when the sysctls or TCP_ENABLE_ECN say so, the SYN
// and SYN-ACK retransmitted without ECN, ECT(0) on new data only, CE → ECE on pure ACKs until CWR,
// ECE → one window reduction per window and CWR on the next new data, the counters,
// TCPCI_OPT_ECN, TCP_ENABLE_ECN's semantics and errnos, and the sysctl knobs.

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER, TH, fmt, optMss, optSackOk, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, recv, sa, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { soabort } from '../../stack/socket/so-listen.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_IP, IPPROTO_TCP, IP_TOS } from '../../stack/socket/constants.js';
import { ECONNRESET, EINVAL } from '../../stack/socket/errno.js';
import { TCP_CONNECTION_INFO, TCP_ENABLE_ECN, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TCPCI_OPT_ECN, TCP_CONNECTION_INFO_LEN } from '../../stack/tcp/tcp-info.js';
import { FREEBSD_PROFILE, XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlGet, sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { tcpEcnEnabled } from '../../stack/tcp/tcp-ecn.js';

const PEER_ISS = 100_000;
const MSS = 1460;
const ECT0 = 2;
const CE = 3;
const ECN_SYN = TH.SYN | TH.ECE | TH.CWR;
const SYN_OPTS = [...optMss(MSS), ...optWs(0), ...optSackOk()];
const NEWRENO = withProfile(XNU_PROFILE, { congestionControl: 'newreno' });
const ECN_OFF = withProfile(XNU_PROFILE, { ecnInitiateOut: 0, ecnNegotiateIn: 0 });

const ecnOf = (o: Out): number => o.tos & 3;
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);

function profileWith(name: string, value: number, base: TcpProfile = XNU_PROFILE): TcpProfile {
  const r = sysctlSet(base, name, value);
  if (!r.ok) throw new Error(r.message);
  return r.profile;
}

const setOpt = (so: Socket, name: number, v: number): number => sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
function getOpt(so: Socket, name: number): number {
  const o = SockOpt.get(IPPROTO_TCP, name, 4);
  expect(sogetopt(so, o)).toBe(0);
  return readInt(o.result(), 0);
}
function ciOptions(so: Socket): number {
  const o = SockOpt.get(IPPROTO_TCP, TCP_CONNECTION_INFO, TCP_CONNECTION_INFO_LEN);
  expect(sogetopt(so, o)).toBe(0);
  return new DataView(o.result().slice().buffer).getUint32(4, true);
}

/** A passive connection: the peer's SYN carries `synFlags`; returns the SYN-ACK too. */
interface Passive { h: PacketHost; so: Socket; lis: Socket; synack: Out; rcv: number; snd: number }
function passive(o: { profile?: TcpProfile; synFlags?: number; lisSetup?: (lis: Socket) => void } = {}): Passive {
  const h = new PacketHost({ seed: 21, profile: o.profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  o.lisSetup?.(lis);
  h.inject({ flags: o.synFlags ?? ECN_SYN, seq: PEER_ISS, win: 65535, opts: SYN_OPTS });
  const synack = h.one();
  h.advance(20);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535 });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, lis, synack, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

/** An active open to PEER:80; the SYN-ACK carries `synackFlags`. Returns the SYN and the handshake ACK. */
interface Active { h: PacketHost; so: Socket; syn: Out; ack: Out; rcv: number; snd: number }
function active(o: { profile?: TcpProfile; synackFlags?: number; before?: (so: Socket) => void } = {}): Active {
  const h = new PacketHost({ seed: 22, profile: o.profile });
  const so = tcpSocket(h.stack);
  o.before?.(so);
  expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
  h.poll();
  const syn = h.one();
  h.advance(20);
  h.inject({ sport: 80, dport: syn.sport, flags: o.synackFlags ?? (TH.SYN | TH.ACK | TH.ECE), seq: PEER_ISS, ack: syn.seq + 1, win: 65535, opts: SYN_OPTS });
  const ack = h.one();
  return { h, so, syn, ack, rcv: (syn.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

/** The peer sends `len` bytes at its next sequence number with `tos` and `flags`. */
function peerData(c: Passive, len: number, o: { tos?: number; flags?: number } = {}): void {
  c.h.inject({ flags: o.flags ?? (TH.ACK | TH.PSH), seq: c.snd, ack: c.rcv, win: 65535, payload: data(len), tos: o.tos ?? 0 });
  c.snd += len;
}

describe('negotiation (RFC 3168 §6.1.1) with XNU\'s default policy: initiate and accept', () => {
  it('active open: the first SYN carries ECE|CWR; an ECE SYN-ACK turns ECN on; new data goes out ECT(0)', () => {
    const c = active();
    expect(c.syn.flags).toBe(ECN_SYN);
    expect(ecnOf(c.syn)).toBe(0);
    expect(c.ack.flags).toBe(TH.ACK);
    expect(ecnOf(c.ack)).toBe(0);
    expect(c.h.stats.tcps_ecn_client_setup).toBe(1);
    expect(c.h.stats.tcps_ecn_client_success).toBe(1);
    expect(tcpEcnEnabled(tcpcbOf(c.so)!)).toBe(true);
    expect(ciOptions(c.so) & TCPCI_OPT_ECN).toBe(TCPCI_OPT_ECN);
    expect(send(c.so, data(3000), c.h.now).n).toBe(3000);
    c.h.poll();
    const out = c.h.take();
    expect(out.map((s) => s.payload.length)).toEqual([MSS, MSS, 80]);
    expect(out.map(ecnOf)).toEqual([ECT0, ECT0, ECT0]);
    expect(out.every((s) => (s.flags & (TH.ECE | TH.CWR)) === 0)).toBe(true);
  });

  it('active open: a SYN-ACK without ECE (or with ECE|CWR) means no ECN: no ECT, tcps_ecn_not_supported', () => {
    for (const flags of [TH.SYN | TH.ACK, TH.SYN | TH.ACK | TH.ECE | TH.CWR]) {
      const c = active({ synackFlags: flags });
      expect(c.syn.flags).toBe(ECN_SYN);
      expect(c.h.stats.tcps_ecn_not_supported).toBe(1);
      expect(c.h.stats.tcps_ecn_client_success).toBe(0);
      expect(tcpEcnEnabled(tcpcbOf(c.so)!)).toBe(false);
      expect(ciOptions(c.so) & TCPCI_OPT_ECN).toBe(0);
      send(c.so, data(100), c.h.now);
      c.h.poll();
      expect(ecnOf(c.h.one())).toBe(0);
    }
  });

  it('passive open: an ECN-setup SYN gets an ECE SYN-ACK (no CWR); a plain SYN a plain SYN-ACK', () => {
    const c = passive();
    expect(c.synack.flags).toBe(TH.SYN | TH.ACK | TH.ECE);
    expect(ecnOf(c.synack)).toBe(0);
    expect(c.h.stats.tcps_ecn_server_setup).toBe(1);
    expect(c.h.stats.tcps_ecn_server_success).toBe(1);
    expect(tcpEcnEnabled(tcpcbOf(c.so)!)).toBe(true);
    expect(ciOptions(c.so) & TCPCI_OPT_ECN).toBe(TCPCI_OPT_ECN);
    send(c.so, data(100), c.h.now);
    c.h.poll();
    expect(ecnOf(c.h.one())).toBe(ECT0);

    const p = passive({ synFlags: TH.SYN });
    expect(p.synack.flags).toBe(TH.SYN | TH.ACK);
    expect(p.h.stats.tcps_ecn_server_setup).toBe(0);
    expect(ciOptions(p.so) & TCPCI_OPT_ECN).toBe(0);
    send(p.so, data(100), p.h.now);
    p.h.poll();
    expect(ecnOf(p.h.one())).toBe(0);
  });

  it('an Accurate ECN SYN (AE|CWR|ECE) falls back to classic ECN; ECE or CWR alone is no setup', () => {
    const h = new PacketHost({ seed: 23 });
    listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    h.inject({ flags: ECN_SYN, ae: true, seq: PEER_ISS, win: 65535 });
    expect(h.one().flags).toBe(TH.SYN | TH.ACK | TH.ECE);
    h.inject({ sport: 40001, flags: TH.SYN | TH.ECE, seq: PEER_ISS, win: 65535 });
    expect(h.one().flags).toBe(TH.SYN | TH.ACK);
    h.inject({ sport: 40002, flags: TH.SYN | TH.CWR, seq: PEER_ISS, win: 65535 });
    expect(h.one().flags).toBe(TH.SYN | TH.ACK);
  });

  it('the FreeBSD profile (net.inet.tcp.ecn.enable=2) answers ECN but never initiates it', () => {
    const a = active({ profile: FREEBSD_PROFILE, synackFlags: TH.SYN | TH.ACK });
    expect(a.syn.flags).toBe(TH.SYN);
    expect(a.h.stats.tcps_ecn_client_setup).toBe(0);
    const p = passive({ profile: FREEBSD_PROFILE });
    expect(p.synack.flags).toBe(TH.SYN | TH.ACK | TH.ECE);
    expect(tcpEcnEnabled(tcpcbOf(p.so)!)).toBe(true);
  });
});

describe('negotiation turned off by the sysctls', () => {
  it('ecn_initiate_out=0 / ecn_negotiate_in=0: plain SYN; an ECN SYN gets a plain SYN-ACK', () => {
    const a = active({ profile: ECN_OFF, synackFlags: TH.SYN | TH.ACK });
    expect(a.syn.flags).toBe(TH.SYN);
    expect(a.h.stats.tcps_ecn_client_setup).toBe(0);
    expect(a.h.stats.tcps_ecn_not_supported).toBe(0);
    const p = passive({ profile: ECN_OFF });
    expect(p.synack.flags).toBe(TH.SYN | TH.ACK);
    expect(p.h.stats.tcps_ecn_server_setup).toBe(0);
    expect(tcpEcnEnabled(tcpcbOf(p.so)!)).toBe(false);
    expect(ciOptions(p.so) & TCPCI_OPT_ECN).toBe(0);
  });

  it('XNU quirk kept: a child that got an ECN-setup SYN marks its data ECT(0) even when it did not answer ECN', () => {
    // tcp_input sets TE_SETUPRECEIVED|TE_SENDIPECT on any ECN-setup SYN; only TE_ENABLE_ECN decides
    // whether the SYN-ACK answers, and nothing clears TE_SENDIPECT when it does not.
    const p = passive({ profile: ECN_OFF });
    send(p.so, data(100), p.h.now);
    p.h.poll();
    const d = p.h.one();
    expect(ecnOf(d)).toBe(ECT0);
    // ECN is not on, so a CE mark is not echoed (only counted) and an ECE changes nothing.
    peerData(p, 10, { tos: CE });
    expect(p.h.stats.tcps_ecn_fallback_ce).toBe(1);
    expect(p.h.stats.tcps_ecn_recv_ce).toBe(0);
  });

  it('one knob per direction: initiate-only and accept-only', () => {
    // XNU's sysctl handler: ecn_negotiate_in=0 from the default sets both to 0, then
    // ecn_initiate_out=1 turns outbound back on.
    const initOnly = profileWith('net.inet.tcp.ecn_initiate_out', 1, profileWith('net.inet.tcp.ecn_negotiate_in', 0));
    expect([initOnly.ecnInitiateOut, initOnly.ecnNegotiateIn]).toEqual([1, 0]);
    expect(active({ profile: initOnly }).syn.flags).toBe(ECN_SYN);
    expect(passive({ profile: initOnly }).synack.flags).toBe(TH.SYN | TH.ACK);
    const acceptOnly = profileWith('net.inet.tcp.ecn.enable', 2);
    expect(active({ profile: acceptOnly, synackFlags: TH.SYN | TH.ACK }).syn.flags).toBe(TH.SYN);
    expect(passive({ profile: acceptOnly }).synack.flags).toBe(TH.SYN | TH.ACK | TH.ECE);
  });
});

describe('retransmitted SYN and SYN-ACK go without ECN (tcp_send_ecn_flags_on_syn)', () => {
  it('SYN: the retransmission has no ECE|CWR (tcps_ecn_lost_syn); a late ECE SYN-ACK still enables ECN, without ECT', () => {
    const h = new PacketHost({ seed: 24 });
    const so = tcpSocket(h.stack);
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    expect(syn.flags).toBe(ECN_SYN);
    h.advance(1000);
    const again = h.one();
    expect(again.flags).toBe(TH.SYN);
    expect(again.seq).toBe(syn.seq);
    expect(h.stats.tcps_ecn_lost_syn).toBe(1);
    h.advance(1000);
    expect(h.one().flags).toBe(TH.SYN);
    expect(h.stats.tcps_ecn_lost_syn).toBe(2);
    h.inject({ sport: 80, dport: syn.sport, flags: TH.SYN | TH.ACK | TH.ECE, seq: PEER_ISS, ack: syn.seq + 1, win: 65535, opts: SYN_OPTS });
    expect(h.one().flags).toBe(TH.ACK);
    // RFC 3168 §6.1.1: having sent an ECN-setup SYN, it must handle ECE; but it sent a non-ECN one
    // too, so it never sets ECT.
    const tp = tcpcbOf(so)!;
    expect(tcpEcnEnabled(tp)).toBe(true);
    expect(h.stats.tcps_ecn_not_supported).toBe(0);
    send(so, data(100), h.now);
    h.poll();
    expect(ecnOf(h.one())).toBe(0);
  });

  it('SYN-ACK: the retransmission has no ECE, ECN is off (tcps_ecn_lost_synack, server success taken back)', () => {
    const h = new PacketHost({ seed: 25 });
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    h.inject({ flags: ECN_SYN, seq: PEER_ISS, win: 65535, opts: SYN_OPTS });
    const sa1 = h.one();
    expect(sa1.flags).toBe(TH.SYN | TH.ACK | TH.ECE);
    expect(h.stats.tcps_ecn_server_success).toBe(1);
    h.advance(1000);
    const sa2 = h.one();
    expect(sa2.flags).toBe(TH.SYN | TH.ACK);
    expect(h.stats.tcps_ecn_lost_synack).toBe(1);
    expect(h.stats.tcps_ecn_server_success).toBe(0);
    h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: sa2.seq + 1, win: 65535 });
    const so = accept(lis)!;
    expect(tcpEcnEnabled(tcpcbOf(so)!)).toBe(false);
    h.take();
    send(so, data(100), h.now);
    h.poll();
    expect(ecnOf(h.one())).toBe(0);
  });
});

describe('ECT(0) marks new data only', () => {
  it('not the handshake, not pure ACKs, not FIN-only segments, not retransmissions', () => {
    const c = passive();
    peerData(c, 100);
    const ackOut = c.h.take();
    expect(ackOut.length).toBe(1);
    expect(ackOut[0]!.payload.length).toBe(0);
    expect(ecnOf(ackOut[0]!)).toBe(0);
    send(c.so, data(MSS), c.h.now);
    c.h.poll();
    const d = c.h.one();
    expect(ecnOf(d)).toBe(ECT0);
    // No ACK: the RTO retransmits the segment, without ECT.
    c.h.advance(1500);
    const rx = c.h.take();
    expect(rx.length).toBeGreaterThan(0);
    expect(rx[0]!.seq).toBe(d.seq);
    expect(ecnOf(rx[0]!)).toBe(0);
    // Everything acknowledged, then a FIN alone: no ECT either.
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: (c.rcv + MSS) >>> 0, win: 65535 });
    c.h.take();
    soshutdown(c.so, 1, c.h.now);
    c.h.poll();
    const fin = c.h.one();
    expect(fin.flags & TH.FIN).toBe(TH.FIN);
    expect(ecnOf(fin)).toBe(0);
  });

  it('the application\'s IP_TOS keeps its DSCP bits but never sets the ECN field of a TCP segment', () => {
    const c = passive();
    expect(sosetopt(c.so, SockOpt.set(IPPROTO_IP, IP_TOS, sooptInt(0xb9)))).toBe(0);
    send(c.so, data(100), c.h.now);
    c.h.poll();
    expect(c.h.one().tos).toBe(0xb8 | ECT0);
    peerData(c, 10);
    expect(c.h.one().tos).toBe(0xb8);
  });
});

describe('CE → ECE on pure ACKs until CWR (RFC 3168 §6.1.3)', () => {
  it('echoes ECE on every pure ACK after a CE mark, not on data, and stops at the first CWR', () => {
    const c = passive();
    peerData(c, 100, { tos: CE });
    const a1 = c.h.one();
    expect(a1.flags).toBe(TH.ACK | TH.ECE);
    expect(ecnOf(a1)).toBe(0);
    expect(c.h.stats.tcps_ecn_recv_ce).toBe(1);
    expect(c.h.stats.tcps_ecn_sent_ece).toBe(1);
    // Later data without CE: still ECE (until CWR).
    peerData(c, 100);
    expect(c.h.one().flags).toBe(TH.ACK | TH.ECE);
    // XNU sets ECE only when the segment carries no data.
    send(c.so, data(200), c.h.now);
    c.h.poll();
    const d = c.h.one();
    expect(d.payload.length).toBe(200);
    expect(d.flags & TH.ECE).toBe(0);
    // CWR ends the echo; the ACK of the CWR segment already has no ECE.
    peerData(c, 100, { flags: TH.ACK | TH.PSH | TH.CWR });
    expect(c.h.one().flags).toBe(TH.ACK);
    peerData(c, 100);
    expect(c.h.one().flags).toBe(TH.ACK);
    expect(c.h.stats.tcps_ecn_sent_ece).toBe(2);
    expect(recv(c.so, c.h.now).data.length).toBe(400);
  });

  it('CE on a pure ACK or on data outside the window is not echoed', () => {
    const c = passive();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, win: 65535, tos: CE });
    expect(c.h.stats.tcps_ecn_recv_ce).toBe(0);
    // An old duplicate below last_ack_sent.
    peerData(c, 100);
    c.h.take();
    c.h.inject({ flags: TH.ACK | TH.PSH, seq: c.snd - 100, ack: c.rcv, win: 65535, payload: data(100), tos: CE });
    const dupAck = c.h.take();
    expect(dupAck.every((s) => (s.flags & TH.ECE) === 0)).toBe(true);
    expect(c.h.stats.tcps_ecn_recv_ce).toBe(0);
  });

  it('counts the connection\'s marks when it closes (tcps_ecn_conn_recv_ce, _nopl_ce)', () => {
    const c = passive();
    peerData(c, 100, { tos: CE });
    soabort(c.so, c.h.now);
    expect(c.h.stats.tcps_ecn_conn_recv_ce).toBe(1);
    expect(c.h.stats.tcps_ecn_conn_nopl_ce).toBe(1);
    expect(c.h.stats.tcps_ecn_conn_recv_ece).toBe(0);
  });
});

describe('ECE → one window reduction per window, CWR on the next new data (RFC 3168 §6.1.2)', () => {
  /** Writes 30 full segments on a passive ECN connection; returns what went out at once. */
  function sender(profile: TcpProfile): { c: Passive; out: Out[] } {
    const c = passive({ profile });
    expect(send(c.so, data(30 * MSS), c.h.now).n).toBe(30 * MSS);
    c.h.poll();
    return { c, out: c.h.take() };
  }
  const ackTo = (c: Passive, upto: number, ece: boolean): Out[] => {
    c.h.inject({ flags: TH.ACK | (ece ? TH.ECE : 0), seq: c.snd, ack: (c.rcv + upto) >>> 0, win: 65535 });
    return c.h.take();
  };

  it('NewReno halves: ssthresh = cwnd = FlightSize/2; further ECEs in the window do nothing; CWR once', () => {
    const { c, out } = sender(NEWRENO);
    const tp = tcpcbOf(c.so)!;
    expect(out.length).toBe(10); // IW10
    expect(out.every((s) => ecnOf(s) === ECT0 && (s.flags & TH.CWR) === 0)).toBe(true);
    expect(ackTo(c, MSS, true)).toEqual([]);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(1);
    expect(tp.snd_ssthresh).toBe(5 * MSS);
    expect(tp.snd_cwnd).toBe(5 * MSS);
    expect(tp.inRecovery).toBe(true);
    expect(tp.snd_recover).toBe((c.rcv + 10 * MSS) >>> 0);
    // More ECE within the window: no second reduction, no growth; 5 segments outstanding = cwnd.
    for (let k = 2; k <= 5; k++) expect(ackTo(c, k * MSS, true)).toEqual([]);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(1);
    expect(tp.snd_cwnd).toBe(5 * MSS);
    // Room for one: the first new data segment carries CWR (and ECT), the next does not.
    const n1 = ackTo(c, 6 * MSS, false);
    expect(n1.map((s) => [s.seq, s.flags & TH.CWR, ecnOf(s)])).toEqual([[(c.rcv + 10 * MSS) >>> 0, TH.CWR, ECT0]]);
    const n2 = ackTo(c, 7 * MSS, true);
    expect(n2.map((s) => s.flags & TH.CWR)).toEqual([0]);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(1);
    expect(c.h.stats.tcps_partialack).toBe(0);
    expect(c.h.stats.tcps_sndrexmitpack).toBe(0);
    // The ACK of the recovery point ends the window; a later ECE reduces again.
    ackTo(c, 10 * MSS, false);
    expect(tp.inRecovery).toBe(false);
    ackTo(c, 11 * MSS, true);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(2);
    expect(tp.inRecovery).toBe(true);
  });

  it('XNU quirk kept: an ECE on the ACK that reaches the recovery point ends the window and reduces again', () => {
    // process_ACK leaves fast recovery (ack >= snd_recover) before it looks at ECE, and a receiver
    // still echoes ECE on that ACK: the CWR went out on the first segment after the recovery point.
    const { c } = sender(NEWRENO);
    const tp = tcpcbOf(c.so)!;
    ackTo(c, MSS, true);
    expect(tp.snd_cwnd).toBe(5 * MSS);
    const n = ackTo(c, 6 * MSS, false);
    expect(n.map((s) => s.flags & TH.CWR)).toEqual([TH.CWR]);
    ackTo(c, 10 * MSS, true);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(2);
    expect(tp.inRecovery).toBe(true);
    expect(tp.snd_recover).toBe((c.rcv + 11 * MSS) >>> 0);
    expect(tp.snd_cwnd).toBeLessThan(5 * MSS);
  });

  it('CUBIC (XNU\'s default) reduces by its beta: cwnd = ssthresh = 0.7 x cwnd', () => {
    const { c } = sender(XNU_PROFILE);
    const tp = tcpcbOf(c.so)!;
    const before = tp.snd_cwnd;
    ackTo(c, MSS, true);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(1);
    expect(tp.snd_ssthresh).toBe(Math.max(Math.floor(before * 0.7), 2 * MSS));
    expect(tp.snd_cwnd).toBe(tp.snd_ssthresh);
  });

  it('an ECE that acknowledges everything outstanding reduces and ends the window at once', () => {
    const c = passive({ profile: NEWRENO });
    send(c.so, data(4 * MSS), c.h.now);
    c.h.poll();
    expect(c.h.take().length).toBe(4);
    const tp = tcpcbOf(c.so)!;
    ackTo(c, 4 * MSS, true);
    expect(c.h.stats.tcps_ecn_recv_ece).toBe(1);
    expect(tp.snd_cwnd).toBe(2 * MSS);
    expect(tp.inRecovery).toBe(false);
    send(c.so, data(MSS), c.h.now);
    c.h.poll();
    expect(fmt(c.h.one())).toMatch(/\[P\.W\]/);
  });

  it('an ECE is ignored without ECN, and on a connection that sends no ECT', () => {
    const p = passive({ synFlags: TH.SYN, profile: NEWRENO });
    send(p.so, data(4 * MSS), p.h.now);
    p.h.poll();
    p.h.take();
    const cw = tcpcbOf(p.so)!.snd_cwnd;
    p.h.inject({ flags: TH.ACK | TH.ECE, seq: p.snd, ack: (p.rcv + MSS) >>> 0, win: 65535 });
    expect(p.h.stats.tcps_ecn_recv_ece).toBe(0);
    expect(tcpcbOf(p.so)!.snd_cwnd).toBeGreaterThanOrEqual(cw);
  });

  it('a fast retransmit also owes CWR on the next new data', () => {
    const { c } = sender(NEWRENO);
    for (let k = 0; k < 3; k++) ackTo(c, 0, false);
    expect(c.h.stats.tcps_sndfastrexmit).toBe(1);
    // Recovery: new data only after the window deflates; the first new segment carries CWR.
    let cwrSeen = false;
    for (let k = 1; k <= 10 && !cwrSeen; k++) {
      for (const s of ackTo(c, k * MSS, false)) if (s.seq >= ((c.rcv + 10 * MSS) >>> 0) && (s.flags & TH.CWR) !== 0) cwrSeen = true;
    }
    expect(cwrSeen).toBe(true);
  });
});

describe('TCP_ENABLE_ECN (XNU tcp_usrreq.c)', () => {
  it('reads 0 by default, 1 after any non-zero value, 0 after 0; errnos as every int option', () => {
    const h = new PacketHost();
    const so = tcpSocket(h.stack);
    expect(getOpt(so, TCP_ENABLE_ECN)).toBe(0);
    expect(setOpt(so, TCP_ENABLE_ECN, 7)).toBe(0);
    expect(getOpt(so, TCP_ENABLE_ECN)).toBe(1);
    expect(setOpt(so, TCP_ENABLE_ECN, 0)).toBe(0);
    expect(getOpt(so, TCP_ENABLE_ECN)).toBe(0);
    // A short option value: EINVAL (sooptcopyin).
    expect(sosetopt(so, SockOpt.set(IPPROTO_TCP, TCP_ENABLE_ECN, new Uint8Array(2)))).toBe(EINVAL);
    // Once the tcpcb is gone: getsockopt ECONNRESET; setsockopt is refused first by the socket
    // layer (both directions shut: EINVAL).
    soconnect(so, sa(PEER, 80), h.now);
    h.poll();
    const syn = h.one();
    h.inject({ sport: 80, dport: syn.sport, flags: TH.RST | TH.ACK, seq: 0, ack: syn.seq + 1 });
    expect(sogetopt(so, SockOpt.get(IPPROTO_TCP, TCP_ENABLE_ECN, 4))).toBe(ECONNRESET);
    expect(setOpt(so, TCP_ENABLE_ECN, 1)).toBe(EINVAL);
  });

  it('1 initiates ECN with the system setting off; 0 keeps it off with the setting on', () => {
    const on = active({ profile: ECN_OFF, before: (so) => expect(setOpt(so, TCP_ENABLE_ECN, 1)).toBe(0) });
    expect(on.syn.flags).toBe(ECN_SYN);
    expect(tcpEcnEnabled(tcpcbOf(on.so)!)).toBe(true);
    const off = active({ synackFlags: TH.SYN | TH.ACK, before: (so) => expect(setOpt(so, TCP_ENABLE_ECN, 0)).toBe(0) });
    expect(off.syn.flags).toBe(TH.SYN);
    expect(off.h.stats.tcps_ecn_client_setup).toBe(0);
  });

  it('is not inherited by a listener\'s children (tcp_create_server_socket copies no ecn_flags)', () => {
    const p = passive({ profile: ECN_OFF, lisSetup: (lis) => expect(setOpt(lis, TCP_ENABLE_ECN, 1)).toBe(0) });
    expect(p.synack.flags).toBe(TH.SYN | TH.ACK);
    expect(getOpt(p.so, TCP_ENABLE_ECN)).toBe(0);
    const q = passive({ lisSetup: (lis) => expect(setOpt(lis, TCP_ENABLE_ECN, 0)).toBe(0) });
    expect(q.synack.flags).toBe(TH.SYN | TH.ACK | TH.ECE);
  });
});

describe('the ECN sysctls', () => {
  const g = (p: TcpProfile, n: string): unknown => { const r = sysctlGet(p, n); return r.ok ? r.value : r.message; };

  it('XNU defaults: ecn_initiate_out 2, ecn_negotiate_in 2 (both read tcp_ecn_outbound), ecn 1, ecn.enable 1', () => {
    expect(['net.inet.tcp.ecn_initiate_out', 'net.inet.tcp.ecn_negotiate_in', 'net.inet.tcp.ecn', 'net.inet.tcp.ecn.enable']
      .map((n) => g(XNU_PROFILE, n))).toEqual([2, 2, 1, 1]);
    expect(['net.inet.tcp.ecn_initiate_out', 'net.inet.tcp.ecn', 'net.inet.tcp.ecn.enable'].map((n) => g(FREEBSD_PROFILE, n)))
      .toEqual([0, 0, 2]);
    expect(g(XNU_PROFILE, 'net.inet.tcp.ecn.maxretries')).toBe(0);
  });

  it('sysctl_change_ecn_setting: both names write tcp_ecn_outbound; ecn_negotiate_in follows only to or from 2', () => {
    const off = profileWith('net.inet.tcp.ecn_negotiate_in', 0);
    expect([off.ecnInitiateOut, off.ecnNegotiateIn]).toEqual([0, 0]);
    const odd = profileWith('net.inet.tcp.ecn_negotiate_in', 1, off);
    expect([odd.ecnInitiateOut, odd.ecnNegotiateIn]).toEqual([1, 0]);
    expect(g(odd, 'net.inet.tcp.ecn_negotiate_in')).toBe(1);
    const back = profileWith('net.inet.tcp.ecn_initiate_out', 2, odd);
    expect([back.ecnInitiateOut, back.ecnNegotiateIn]).toEqual([2, 2]);
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.ecn_initiate_out', 3)).toMatchObject({ ok: false, kind: 'bad-value' });
    const e0 = profileWith('net.inet.tcp.ecn', 0);
    expect([e0.ecnInitiateOut, e0.ecnNegotiateIn, g(e0, 'net.inet.tcp.ecn.enable')]).toEqual([0, 0, 0]);
    const fb = profileWith('net.inet.tcp.ecn.enable', 2);
    expect([fb.ecnInitiateOut, fb.ecnNegotiateIn, g(fb, 'net.inet.tcp.ecn')]).toEqual([0, 1, 0]);
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.ecn.enable', 4)).toMatchObject({ ok: false, kind: 'bad-value' });
  });
});
