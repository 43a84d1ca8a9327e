// Packet-level tests (the test plays the peer) of XNU's tail loss probes and early retransmit
// (stack/tcp/tcp-tlp.ts): the PTO value and its exact firing time, the probe (last segment or new
// data), recovery of a one- and two-segment tail without an RTO, the cases with no probe (disabled,
// FreeBSD, no SACK, SYN_SENT, fast recovery, the ACK first), the PTO clamped to the RTO, and the
// ACK side (tcps_tlp_recoverlastpkt, a probe judged unnecessary by its TSecr).

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, optMss, optSack, optSackOk, optTs, optWs, PEER } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, sa, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { FREEBSD_PROFILE, XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlGet, sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { TF_SENT_TLPROBE, TF_TLP_IS_RETRANS, TT_PERSIST, TT_PTO, TT_REXMT } from '../../stack/tcp/tcp-var.js';
import { tcpPtoUs } from '../../stack/tcp/tcp-tlp.js';
import { TCPS_SYN_SENT } from '../../stack/tcp/tcp-fsm.js';

const PEER_ISS = 100_000;
const MSS = 1460;

interface Conn { h: PacketHost; so: Socket; rcv: number; snd: number; ts: boolean }

/** A connection accepted from the peer whose handshake ACK came `rttMs` after the SYN-ACK (SRTT). */
function established(o: { rttMs?: number; ts?: boolean; sack?: boolean; profile?: TcpProfile } = {}): Conn {
  const h = new PacketHost({ seed: 11, profile: o.profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  const ts = o.ts ?? false;
  const opts = [...optMss(MSS), ...optWs(0), ...(o.sack ?? true ? optSackOk() : []), ...(ts ? optTs(5000, 0) : [])];
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts });
  const synack = h.one();
  h.advance(o.rttMs ?? 50);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535, opts: ts ? optTs(peerTs(h), synack.tsval) : [] });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, ts };
}

const peerTs = (h: PacketHost): number => 5000 + Math.floor(h.nowMs);
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);
const seqOf = (c: Conn, i: number, mss = MSS): number => (c.rcv + i * mss) >>> 0;
const segs = (o: Out[]): [number, number][] => o.map((s) => [s.seq, s.payload.length]);

/** Writes `n` bytes and returns what went out at once. */
function write(c: Conn, n: number): Out[] {
  expect(send(c.so, data(n), c.h.now).n).toBe(n);
  c.h.poll();
  return c.h.take();
}

/** An ACK from the peer (with SACK blocks, or timestamps echoing `ecr`). */
function ack(c: Conn, a: number, o: { sack?: [number, number][]; ecr?: number } = {}): void {
  const opts = [...(o.ecr !== undefined ? [1, 1, ...optTs(peerTs(c.h), o.ecr)] : []), ...(o.sack ? [1, 1, ...optSack(o.sack)] : [])];
  c.h.inject({ flags: TH.ACK, seq: c.snd, ack: a >>> 0, win: 65535, opts });
}

/** Nothing leaves until `ms` after now, exactly; returns what leaves then. */
function nextAt(c: Conn, ms: number): Out[] {
  c.h.advance(ms - 0.001);
  expect(c.h.take()).toEqual([]);
  c.h.advance(0.001);
  return c.h.take();
}

describe('the probe timeout (XNU tcp_output: 2 x SRTT + 2 ms, or + delayed-ACK time for one segment)', () => {
  it('one segment outstanding: PTO = 2 x SRTT + 100 ms (the peer may delay the ACK of a lone segment)', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    expect(segs(write(c, 500))).toEqual([[seqOf(c, 0), 500]]);
    expect(tcpPtoUs(c.h.stack.tcp, tp)).toBe(200_000);
    expect(tp.t_timer[TT_PTO]).toBe(c.h.now + 200_000);
    const probe = nextAt(c, 200);
    expect(segs(probe)).toEqual([[seqOf(c, 0), 500]]);
    expect(c.h.stats.tcps_pto).toBe(1);
    expect(c.h.stats.tcps_rexmttimeo).toBe(0);
    expect(tp.t_flags & (TF_SENT_TLPROBE | TF_TLP_IS_RETRANS)).toBe(TF_SENT_TLPROBE | TF_TLP_IS_RETRANS);
    // The probe restarted the retransmission timer (RTO 50 + 4 x 25 + 200 = 350 ms).
    expect(tp.t_timer[TT_REXMT]).toBe(c.h.now + 350_000);
  });

  it('more than one segment outstanding: PTO = 2 x SRTT + 2 ms; the probe resends the last MSS of the flight', () => {
    const c = established({ rttMs: 50 });
    expect(segs(write(c, MSS + 500))).toEqual([[seqOf(c, 0), MSS], [seqOf(c, 1), 500]]);
    // XNU: snd_nxt = snd_max - min(snd_max - snd_una, t_maxseg), not a segment boundary.
    expect(segs(nextAt(c, 102))).toEqual([[(seqOf(c, 1) + 500 - MSS) >>> 0, MSS]]);
    expect(c.h.stats.tcps_sndrexmitpack).toBe(1);
  });

  it('every new segment re-arms it; an ACK of part of the flight does not', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 4 * MSS);
    const armed = tp.t_timer[TT_PTO]!;
    c.h.advance(40);
    ack(c, seqOf(c, 2));
    expect(tp.t_timer[TT_PTO]).toBe(armed);
    write(c, MSS); // new data at 40 ms: PTO from now
    expect(tp.t_timer[TT_PTO]).toBe(c.h.now + tcpPtoUs(c.h.stack.tcp, tp));
  });

  it('is the RTO when 2 x SRTT + delayed-ACK time is longer; at the same tick the probe wins and the RTO moves', () => {
    // A steady 300 ms path: RTTVAR decays until RTO = SRTT + 4 x RTTVAR + 200 drops below 2 x 300 + 100.
    const c = established({ rttMs: 300 });
    const tp = tcpcbOf(c.so)!;
    for (let i = 0; i < 6; i++) {
      write(c, 100);
      c.h.advance(300);
      ack(c, tp.snd_max);
    }
    expect(tp.t_rxtcur).toBeLessThan(700_000);
    write(c, 100);
    expect(tcpPtoUs(c.h.stack.tcp, tp)).toBe(tp.t_rxtcur);
    expect(tp.t_timer[TT_PTO]).toBe(tp.t_timer[TT_REXMT]);
    const rto = tp.t_rxtcur;
    const probe = nextAt(c, rto / 1000);
    expect(probe.length).toBe(1);
    expect(c.h.stats.tcps_pto).toBe(1);
    expect(c.h.stats.tcps_rexmttimeo).toBe(0);
    expect(tp.t_timer[TT_REXMT]).toBe(c.h.now + rto);
  });
});

describe('tail loss recovered without a retransmission timeout', () => {
  it('the last segment: the probe resends it, its ACK covers everything, cwnd comes down once', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    expect(write(c, 10 * MSS).length).toBe(10);
    c.h.advance(50);
    ack(c, seqOf(c, 9));
    // PTO armed with the last new segment at 0 ms: 2 x 50 + 2 ms.
    expect(segs(nextAt(c, 52))).toEqual([[seqOf(c, 9), MSS]]);
    expect(tp.t_tlphighrxt).toBe(seqOf(c, 10));
    const cwnd = tp.snd_cwnd;
    c.h.advance(50);
    ack(c, seqOf(c, 10));
    expect(c.h.stats.tcps_tlp_recoverlastpkt).toBe(1);
    // CUBIC's reduction (XNU tcp_enter_fast_recovery then EXIT_FASTRECOVERY): ssthresh = 0.7 x cwnd.
    expect(tp.snd_ssthresh).toBe(Math.floor((cwnd * 7) / 10));
    expect(tp.snd_cwnd).toBeLessThanOrEqual(tp.snd_ssthresh + MSS);
    expect(tp.inRecovery).toBe(false);
    expect(tp.t_flags & TF_SENT_TLPROBE).toBe(0);
    expect([tp.t_timer[TT_REXMT], tp.t_timer[TT_PTO]]).toEqual([0, 0]);
    c.h.advance(5000);
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_rexmttimeo).toBe(0);
  });

  it('the last two segments: the SACK of the probe lowers the threshold to one duplicate ACK (tcps_tlp_recovery)', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    c.h.advance(50);
    ack(c, seqOf(c, 8));
    expect(segs(nextAt(c, 52))).toEqual([[seqOf(c, 9), MSS]]);
    c.h.advance(50);
    // The probe arrives out of order: one duplicate ACK SACKing it starts fast retransmit at once.
    ack(c, seqOf(c, 8), { sack: [[seqOf(c, 9), seqOf(c, 10)]] });
    expect(segs(c.h.take())).toEqual([[seqOf(c, 8), MSS]]);
    expect(c.h.stats.tcps_tlp_recovery).toBe(1);
    expect(c.h.stats.tcps_sack_recovery_episode).toBe(1);
    expect(tp.inRecovery).toBe(true);
    expect(tp.t_timer[TT_PTO]).toBe(0);
    c.h.advance(50);
    ack(c, seqOf(c, 10));
    expect(tp.inRecovery).toBe(false);
    expect(tp.snd_una).toBe(seqOf(c, 10));
    c.h.advance(5000);
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_rexmttimeo).toBe(0);
    expect(c.h.stats.tcps_tlp_recoverlastpkt).toBe(0);
  });

  it('new data waits in the buffer: the probe is the next new segment, not a retransmission', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    expect(write(c, 20 * MSS).length).toBe(10); // IW10
    expect(segs(nextAt(c, 102))).toEqual([[seqOf(c, 10), MSS]]);
    expect(c.h.stats.tcps_pto).toBe(1);
    expect(c.h.stats.tcps_sndrexmitpack).toBe(0);
    expect(tp.t_flags & (TF_SENT_TLPROBE | TF_TLP_IS_RETRANS)).toBe(TF_SENT_TLPROBE);
    // cwnd was raised by one MSS for the probe only.
    expect(tp.snd_cwnd).toBe(10 * MSS);
    c.h.advance(50);
    ack(c, seqOf(c, 11));
    expect(c.h.stats.tcps_tlp_recoverlastpkt).toBe(0);
    expect(tp.t_flags & TF_SENT_TLPROBE).toBe(0);
    expect(c.h.take().length).toBeGreaterThan(1); // the window opens: no one-segment limit any more
  });

  it('an unanswered probe is followed by the RTO, from the probe (tcps_rto_after_pto)', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    expect(segs(nextAt(c, 102))).toEqual([[seqOf(c, 9), MSS]]);
    expect(segs(nextAt(c, 350))).toEqual([[seqOf(c, 0), MSS]]);
    expect(c.h.stats.tcps_rto_after_pto).toBe(1);
    expect(c.h.stats.tcps_tailloss_rto).toBe(1);
    expect(tp.t_rxtshift).toBe(1);
    // No further probe while backing off.
    expect(tp.t_timer[TT_PTO]).toBe(0);
    c.h.advance(600);
    expect(c.h.stats.tcps_pto).toBe(1);
  });
});

describe('while a probe is outstanding, and around the persist timer', () => {
  it('output is one segment per call until an ACK ends the probe episode (XNU tcp_output)', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    c.h.advance(50);
    ack(c, seqOf(c, 9)); // cwnd grows; only the last segment is outstanding
    // The PTO armed with the last new segment (102 ms) stands: an ACK does not recompute it.
    expect(segs(nextAt(c, 52))).toEqual([[seqOf(c, 9), MSS]]);
    expect(segs(write(c, 5 * MSS))).toEqual([[seqOf(c, 10), MSS]]);
    c.h.advance(10);
    ack(c, seqOf(c, 10));
    expect(tp.t_flags & TF_SENT_TLPROBE).toBe(0);
    expect(c.h.take().length).toBe(4); // the rest of the write at once
  });

  it('a window closed by the peer stops the PTO with the retransmission timer; the persist timer probes', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    c.h.advance(20);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: seqOf(c, 5), win: 0 });
    expect([tp.t_timer[TT_PTO], tp.t_timer[TT_REXMT]]).toEqual([0, 0]);
    expect(tp.t_timer[TT_PERSIST]).not.toBe(0);
    c.h.advance(6000);
    const out = c.h.take();
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((o) => o.payload.length === 1)).toBe(true); // window probes only
    expect(c.h.stats.tcps_pto).toBe(0);
    expect(c.h.stats.tcps_persisttimeo).toBeGreaterThan(0);
  });
});

describe('the ACK of a probe (XNU tcp_bad_rexmt_check)', () => {
  it('timestamps: an ACK echoing the original segment shows the probe was not needed: no reduction', () => {
    const c = established({ rttMs: 50, ts: true });
    const tp = tcpcbOf(c.so)!;
    const mss = tp.t_maxseg;
    const orig = write(c, 10 * mss);
    expect(orig.length).toBe(10);
    const probe = nextAt(c, 102);
    expect(segs(probe)).toEqual([[seqOf(c, 9, mss), mss]]);
    const ssthresh = tp.snd_ssthresh;
    ack(c, seqOf(c, 10, mss), { ecr: orig[9]!.tsval });
    expect(c.h.stats.tcps_tlp_recoverlastpkt).toBe(0);
    expect(tp.snd_ssthresh).toBe(ssthresh);
    expect(tp.t_flags & TF_SENT_TLPROBE).toBe(0);
  });

  it('timestamps: an ACK echoing the probe means the last segment was lost: reduction', () => {
    const c = established({ rttMs: 50, ts: true });
    const tp = tcpcbOf(c.so)!;
    const mss = tp.t_maxseg;
    write(c, 10 * mss);
    const probe = nextAt(c, 102);
    c.h.advance(50);
    ack(c, seqOf(c, 10, mss), { ecr: probe[0]!.tsval });
    expect(c.h.stats.tcps_tlp_recoverlastpkt).toBe(1);
    expect(tp.snd_ssthresh).toBeLessThan(10 * mss);
  });
});

describe('no probe', () => {
  it('net.inet.tcp.enable_tlp=0: the tail waits for the RTO as before', () => {
    const r = sysctlSet(XNU_PROFILE, 'net.inet.tcp.enable_tlp', '0');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.enable_tlp')).toEqual({ ok: true, value: 1 });
    const c = established({ rttMs: 50, profile: r.profile });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    expect(tp.t_timer[TT_PTO]).toBe(0);
    c.h.advance(50);
    ack(c, seqOf(c, 9)); // RTT 50 ms again: RTTVAR 18.75, RTO 50 + 75 + 200 = 325 ms from here
    expect(segs(nextAt(c, 325))).toEqual([[seqOf(c, 9), MSS]]);
    expect(c.h.stats.tcps_pto).toBe(0);
    expect(c.h.stats.tcps_rexmttimeo).toBe(1);
  });

  it('the FreeBSD profile (its default stack has no TLP)', () => {
    expect(FREEBSD_PROFILE.tailLossProbe).toBe(false);
    const c = established({ rttMs: 50, profile: FREEBSD_PROFILE });
    const tp = tcpcbOf(c.so)!;
    write(c, 5 * MSS);
    expect(tp.t_timer[TT_PTO]).toBe(0);
    // FreeBSD's RTO from the 50 ms sample: 50 + 4 x 25 + 200 ms slop.
    expect(segs(nextAt(c, 350))).toEqual([[seqOf(c, 0), MSS]]);
    expect(c.h.stats.tcps_pto).toBe(0);
    expect(c.h.stats.tcps_rexmttimeo).toBe(1);
  });

  it('without SACK', () => {
    const c = established({ rttMs: 50, sack: false });
    write(c, 10 * MSS);
    expect(tcpcbOf(c.so)!.t_timer[TT_PTO]).toBe(0);
    expect(segs(nextAt(c, 350))).toEqual([[seqOf(c, 0), MSS]]);
    expect(c.h.stats.tcps_pto).toBe(0);
  });

  it('in SYN_SENT: the SYN is retransmitted by the RTO only', () => {
    const h = new PacketHost({ seed: 5 });
    const so = tcpSocket(h.stack);
    expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
    h.poll();
    // The first SYN sets up ECN (XNU's default); its retransmission goes without ECE|CWR.
    expect(h.one().flags).toBe(TH.SYN | TH.ECE | TH.CWR);
    const tp = tcpcbOf(so)!;
    expect(tp.t_state).toBe(TCPS_SYN_SENT);
    expect(tp.t_timer[TT_PTO]).toBe(0);
    h.advance(999.999);
    expect(h.take()).toEqual([]);
    h.advance(0.001);
    expect(h.one().flags).toBe(TH.SYN);
    expect(h.stats.tcps_pto).toBe(0);
  });

  it('in fast recovery: the PTO is cancelled when recovery starts; silence ends in the RTO', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    c.h.advance(20);
    for (let k = 2; k <= 4; k++) ack(c, seqOf(c, 0), { sack: [[seqOf(c, 1), seqOf(c, k)]] });
    expect(segs(c.h.take())).toEqual([[seqOf(c, 0), MSS]]);
    expect(tp.inRecovery).toBe(true);
    expect(tp.t_timer[TT_PTO]).toBe(0);
    c.h.advance(2000);
    expect(c.h.stats.tcps_pto).toBe(0);
    expect(c.h.stats.tcps_rexmttimeo).toBeGreaterThanOrEqual(1);
  });

  it('the ACK comes first: the PTO is cancelled with the retransmission timer', () => {
    const c = established({ rttMs: 50 });
    const tp = tcpcbOf(c.so)!;
    write(c, 10 * MSS);
    c.h.advance(50);
    ack(c, seqOf(c, 5));
    c.h.advance(50); // 100 ms: the PTO (102 ms) has not fired yet
    ack(c, seqOf(c, 10));
    expect([tp.t_timer[TT_REXMT], tp.t_timer[TT_PTO]]).toEqual([0, 0]);
    c.h.advance(3000);
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_pto).toBe(0);
  });
});

describe('early retransmit (RFC 5827, XNU tcp_early_rexmt_check)', () => {
  it('two segments outstanding, nothing more to send: one duplicate ACK retransmits (no SACK needed)', () => {
    const c = established({ rttMs: 50, sack: false });
    write(c, 2 * MSS);
    c.h.advance(50);
    ack(c, seqOf(c, 0));
    expect(segs(c.h.take())).toEqual([[seqOf(c, 0), MSS]]);
    expect(c.h.stats.tcps_early_rexmt).toBe(1);
    expect(c.h.stats.tcps_sndfastrexmit).toBe(1);
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.early_rexmt')).toEqual({ ok: true, value: 1 });
  });

  it('not with more segments outstanding, nor with the FreeBSD profile or net.inet.tcp.early_rexmt=0', () => {
    const many = established({ rttMs: 50, sack: false });
    write(many, 4 * MSS);
    many.h.advance(50);
    ack(many, seqOf(many, 0));
    expect(many.h.take()).toEqual([]);
    const off = sysctlSet(XNU_PROFILE, 'net.inet.tcp.early_rexmt', '0');
    expect(off.ok).toBe(true);
    for (const profile of [FREEBSD_PROFILE, off.ok ? off.profile : XNU_PROFILE]) {
      const c = established({ rttMs: 50, sack: false, profile: withProfile(profile, {}) });
      write(c, 2 * MSS);
      c.h.advance(50);
      ack(c, seqOf(c, 0));
      expect(c.h.take()).toEqual([]);
      expect(c.h.stats.tcps_early_rexmt).toBe(0);
    }
  });
});
