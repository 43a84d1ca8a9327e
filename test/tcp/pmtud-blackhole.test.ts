// Packet-level tests (the test plays the peer) for PMTU black-hole detection as XNU does it
// (tcp_timers TCPT_REXMT, tcp_pmtud_revert_segment_size, tcp_bad_rexmt_check, IP_DF from
// TF_PMTUD): the second RTO of a full-size segment lowers t_maxopd to 1200 and clears DF, the
// transfer then completes; the reverts (an ACK echoing a TSval from before the switch, RTOs past
// the 4th, TCP_DISABLE_BLACKHOLE_DETECTION); the knobs that turn it off; and its interaction with
// TCP_MAXSEG, ICMP needfrag and the spurious-RTO undo.
// Tail loss probes (tcp-tlp.ts) are on, as in XNU by default, and every connection here negotiated
// SACK: a lost flight first draws the probe, one PTO (tcpPtoUs: 2 x SRTT + 2 ms, or + the delayed-ACK
// time for a lone segment) after the send, resending its last MSS with t_rxtshift left at 0; the
// retransmission timer restarts from the probe, so the 1st and 2nd RTO come one RTO after the probe
// and one backed-off RTO after that.

import { describe, expect, it } from 'vitest';
import { ME, PEER, PacketHost, TH, fmt, optMss, optSackOk, optTs, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, send } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP } from '../../stack/socket/constants.js';
import { EINVAL } from '../../stack/socket/errno.js';
import { TCP_DISABLE_BLACKHOLE_DETECTION, TCP_MAXSEG, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TF_BLACKHOLE, TF_PMTUD, TF_SENT_TLPROBE, TF_TLP_IS_RETRANS, TT_PTO, TT_REXMT } from '../../stack/tcp/tcp-var.js';
import { tcpPtoUs } from '../../stack/tcp/tcp-tlp.js';
import type { Tcpcb } from '../../stack/tcp/tcp-var.js';
import { FREEBSD_PROFILE, withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlGet, sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { initialWindowBytes } from '../../stack/tcp/tcp-cc-newreno.js';
import { emitIpv4 } from '../../stack/wire/ipv4.js';
import { internetChecksum } from '../../stack/wire/checksum.js';
import { set16, set32 } from '../../stack/wire/bytes.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';

const PEER_ISS = 100_000;

interface Conn { h: PacketHost; so: Socket; tp: Tcpcb; rcv: number; snd: number }

/** A connection accepted from the peer (MSS 1460, SACK; with `ts` timestamps too, peer TSval 5000 + ms). */
function established(o: { ts?: boolean; profile?: TcpProfile } = {}): Conn {
  const h = new PacketHost({ seed: 11, profile: o.profile });
  const lis = listenOn(h.stack, ME, 80);
  const ts = o.ts ?? false;
  h.inject({ flags: TH.SYN, seq: PEER_ISS, opts: [...optMss(1460), ...optWs(0), ...optSackOk(), ...(ts ? optTs(5000, 0) : [])] });
  const synack = h.one();
  h.advance(50);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, opts: ts ? optTs(peerTs(h), synack.tsval) : [] });
  const so = accept(lis)!;
  h.take();
  return { h, so, tp: tcpcbOf(so)!, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

const peerTs = (h: PacketHost): number => 5000 + Math.floor(h.nowMs);
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);

/** A segment sent, with its IPv4 DF bit. */
interface Seg { s: Out; df: boolean }

/** Every TCP segment sent since the last call, each with the DF bit of its IPv4 header. */
function takeDf(h: PacketHost): Seg[] {
  const df = h.link.out.filter((b) => (b[0]! >>> 4) === 4 && b[9] === 6).map((b) => (b[6]! & 0x40) !== 0);
  const segs = h.take();
  expect(segs.length).toBe(df.length);
  return segs.map((s, i) => ({ s, df: df[i]! }));
}

/** Runs the clock in 10 ms steps until a segment goes out (at most `maxMs`); what was sent. */
function nextSend(h: PacketHost, maxMs = 120_000): Seg[] {
  for (let t = 0; t < maxMs; t += 10) {
    h.advance(10);
    const s = takeDf(h);
    if (s.length > 0) return s;
  }
  throw new Error('nothing sent');
}

/** Nothing leaves until exactly `ms` from now; what leaves then. */
function nextAt(h: PacketHost, ms: number): Seg[] {
  h.advance(ms - 0.001);
  expect(desc(takeDf(h))).toEqual([]);
  h.advance(0.001);
  return takeDf(h);
}

const ack = (c: Conn, through: number, opts: number[] = []): void =>
  c.h.inject({ flags: TH.ACK, seq: c.snd, ack: (c.rcv + through) >>> 0, opts });

const desc = (segs: Seg[]): string[] => segs.map((x) => `${fmt(x.s)} df=${x.df}`);

/**
 * The tail loss probe for the flight `orig` just sent, when the profile has TLP on (none is armed
 * otherwise: []): exactly one PTO after the send, the last MSS of the flight again (nothing new to
 * send), counted in tcps_pto, t_rxtshift still 0, the retransmission timer restarted from it.
 */
function tlpProbe(c: Conn, orig: Seg[]): Seg[] {
  const { h, tp } = c;
  if (!h.stack.tcp.profile.tailLossProbe) {
    expect(tp.t_timer[TT_PTO]).toBe(0);
    return [];
  }
  const pto = tcpPtoUs(h.stack.tcp, tp);
  expect(tp.t_timer[TT_PTO]).toBe(h.now + pto);
  const pto0 = h.stats.tcps_pto;
  const probe = nextAt(h, pto / 1000);
  const first = orig[0]!.s.seq;
  const last = orig[orig.length - 1]!;
  const end = (last.s.seq + last.s.payload.length) >>> 0;
  const len = Math.min((end - first) >>> 0, tp.t_maxseg);
  expect(probe.map((x) => [x.s.seq, x.s.payload.length, x.df]), desc(probe).join('\n')).toEqual([[(end - len) >>> 0, len, true]]);
  expect(h.stats.tcps_pto).toBe(pto0 + 1);
  expect(tp.t_flags & (TF_SENT_TLPROBE | TF_TLP_IS_RETRANS)).toBe(TF_SENT_TLPROBE | TF_TLP_IS_RETRANS);
  expect(tp.t_rxtshift).toBe(0);
  expect(tp.t_timer[TT_REXMT]).toBe(h.now + tp.t_rxtcur);
  return probe;
}

/**
 * Sends `n` bytes and loses everything: the tail loss probe (see tlpProbe), then the 1st RTO exactly
 * one RTO after the probe and the 2nd one backed-off RTO later, whose retransmission is returned.
 */
function loseTwice(c: Conn, n: number): { orig: Seg[]; probe: Seg[]; rx1: Seg[]; rx2: Seg[] } {
  const { h, tp } = c;
  send(c.so, data(n), h.now);
  h.poll();
  const orig = takeDf(h);
  const probe = tlpProbe(c, orig);
  const rx1 = nextAt(h, tp.t_rxtcur / 1000);
  expect(tp.t_rxtshift).toBe(1);
  const rx2 = nextAt(h, tp.t_rxtcur / 1000);
  expect(tp.t_rxtshift).toBe(2);
  return { orig, probe, rx1, rx2 };
}

describe('PMTU black-hole detection (XNU tcp_timers TCPT_REXMT)', () => {
  it('the 2nd RTO of a full-size segment retransmits 1200 bytes without DF; the transfer completes', () => {
    // With TLP on (the XNU default) the tail loss probe goes out first and the RTOs follow it.
    const c = establishedNoTs();
    const { tp, h } = c;
    expect(h.stack.tcp.profile.tailLossProbe).toBe(true);
    expect(tp.t_maxseg).toBe(1460);
    expect(tp.t_flags & TF_PMTUD).toBe(TF_PMTUD);
    send(c.so, data(4 * 1460), h.now);
    h.poll();
    const orig = takeDf(h);
    expect(orig.map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df])).toEqual(
      [[0, 1460, true], [1460, 1460, true], [2920, 1460, true], [4380, 1460, true]]);
    // The path drops them all and sends no ICMP. SRTT 50 ms (the handshake), RTTVAR 25 ms: RTO
    // 50 + 4 x 25 + 200 (slop) = 350 ms; four segments outstanding: PTO = 2 x 50 + 2 = 102 ms.
    expect([tcpPtoUs(h.stack.tcp, tp), tp.t_rxtcur]).toEqual([102_000, 350_000]);
    // The tail loss probe at 102 ms: the last segment again, full-size with DF; no RTO yet.
    const probe = nextAt(h, 102);
    expect(probe.map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df]), desc(probe).join('\n')).toEqual([[4380, 1460, true]]);
    expect([h.stats.tcps_pto, h.stats.tcps_rexmttimeo, tp.t_rxtshift]).toEqual([1, 0, 0]);
    expect(h.stats.tcps_pmtud_blackhole_activated).toBe(0);
    // First RTO, 350 ms after the probe (which restarted the timer): the same full-size segment, with DF.
    const rx1 = nextAt(h, 350);
    expect(rx1.map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df]), desc(rx1).join('\n')).toEqual([[0, 1460, true]]);
    expect(tp.t_rxtshift).toBe(1);
    expect([h.stats.tcps_pto, h.stats.tcps_rexmttimeo, h.stats.tcps_rto_after_pto]).toEqual([1, 1, 1]);
    expect(h.stats.tcps_pmtud_blackhole_activated).toBe(0);
    // Second RTO (t_rxtshift == 2), backed off to 2 x 150 + 200 = 500 ms later: t_maxopd
    // 1460 -> 1200, DF off, one segment.
    expect(tp.t_rxtcur).toBe(500_000);
    const rx2 = nextAt(h, 500);
    expect(rx2.map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df]), desc(rx2).join('\n')).toEqual([[0, 1200, false]]);
    expect(tp.t_rxtshift).toBe(2);
    expect([tp.t_maxopd, tp.t_maxseg, tp.t_pmtud_saved_maxopd]).toEqual([1200, 1200, 1460]);
    expect(tp.t_flags & (TF_PMTUD | TF_BLACKHOLE)).toBe(TF_BLACKHOLE);
    expect(h.stats.tcps_pmtud_blackhole_activated).toBe(1);
    expect(rx2[0]!.s.atMs - rx1[0]!.s.atMs).toBeGreaterThan(rx1[0]!.s.atMs - orig[0]!.s.atMs);
    // The 1200-byte segments get through: everything else follows at 1200, without DF.
    let acked = 1200;
    ack(c, acked);
    const after: Seg[] = takeDf(h);
    for (let i = 0; i < 20 && acked < 4 * 1460; i++) {
      for (const x of after.splice(0)) {
        expect(x.df).toBe(false);
        expect(x.s.payload.length).toBeLessThanOrEqual(1200);
        acked = x.s.seq - c.rcv + x.s.payload.length;
      }
      ack(c, acked);
      after.push(...takeDf(h));
    }
    expect(acked).toBe(4 * 1460);
    expect(tp.snd_una).toBe((c.rcv + 4 * 1460) >>> 0);
    // Still lowered (XNU keeps it for the connection), nothing reverted.
    expect(tp.t_maxseg).toBe(1200);
    expect(h.stats.tcps_pmtudbh_reverted).toBe(0);
    expect(h.stats.tcps_sndrexmitbad).toBe(0);
    // The one probe; the ACKs came at once, so no other PTO fired.
    expect([h.stats.tcps_pto, h.stats.tcps_tlp_recoverlastpkt]).toEqual([1, 0]);
    // New data: 1200-byte segments without DF.
    send(c.so, data(2400), h.now);
    h.poll();
    expect(takeDf(h).map((x) => [x.s.payload.length, x.df])).toEqual([[1200, false], [1200, false]]);
  });

  it('with timestamps the options keep their share: t_maxopd 1200, t_maxseg 1188', () => {
    // A lone segment: the probe resends it at PTO = 2 x 50 + 100 ms (delayed-ACK time), then the RTOs.
    const c = established({ ts: true });
    expect(c.tp.t_maxseg).toBe(1448);
    const { orig, probe, rx1, rx2 } = loseTwice(c, 1448);
    expect([probe[0]!.s.atMs - orig[0]!.s.atMs, rx1[0]!.s.atMs - probe[0]!.s.atMs]).toEqual([200, 350]);
    expect(rx1.map((x) => [x.s.payload.length, x.df])).toEqual([[1448, true]]);
    expect(rx2.map((x) => [x.s.payload.length, x.df])).toEqual([[1188, false]]);
    expect([c.tp.t_maxopd, c.tp.t_maxseg, c.tp.t_pmtud_saved_maxopd]).toEqual([1200, 1188, 1460]);
    // The ACK of the small segment echoes its TSval (after the switch): no revert.
    ack(c, 1188, [1, 1, ...optTs(peerTs(c.h), rx2[0]!.s.tsval)]);
    expect(c.tp.t_pmtud_start_ts).toBe(0);
    expect(c.h.stats.tcps_pmtudbh_reverted).toBe(0);
    expect(takeDf(c.h).map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df])).toEqual([[1188, 260, false]]);
  });

  it('a segment no larger than the black-hole MSS is not a black-hole symptom', () => {
    // The probe (at 200 ms: one segment outstanding) and both RTOs resend it whole, with DF.
    const c = establishedNoTs();
    const { orig, probe, rx2 } = loseTwice(c, 1000);
    expect(probe[0]!.s.atMs - orig[0]!.s.atMs).toBe(200);
    expect(rx2.map((x) => [x.s.payload.length, x.df])).toEqual([[1000, true]]);
    expect(c.tp.t_maxseg).toBe(1460);
    expect(c.h.stats.tcps_pmtud_blackhole_activated).toBe(0);
  });

  it('net.inet.tcp.pmtud_blackhole_mss sets the lowered t_maxopd', () => {
    // Probe first (loseTwice), then the 2nd RTO at the configured size.
    const r = sysctlSet(XNU_PROFILE, 'net.inet.tcp.pmtud_blackhole_mss', '1300');
    expect(r.ok).toBe(true);
    const c = established({ profile: r.ok ? r.profile : XNU_PROFILE });
    const { rx2 } = loseTwice(c, 1460);
    expect(rx2.map((x) => [x.s.payload.length, x.df])).toEqual([[1300, false]]);
  });
});

describe('reverting to the saved MSS', () => {
  it('an ACK echoing a TSval from before the switch restores 1460 and DF (and the RTO was spurious)', () => {
    // Two full-size segments lost: the tail loss probe resends the second (102 ms), then the RTOs.
    const c = established({ ts: true });
    const { tp, h } = c;
    const { orig, probe, rx2 } = loseTwice(c, 2 * 1448);
    expect(orig.length).toBe(2);
    expect(probe.map((x) => [x.s.seq - c.rcv, x.s.payload.length])).toEqual([[1448, 1448]]);
    expect(rx2.map((x) => x.s.payload.length)).toEqual([1188]);
    const startTs = tp.t_pmtud_start_ts;
    expect(startTs).toBeGreaterThan(orig[0]!.s.tsval);
    // The first full-size segment was only delayed: its ACK arrives, echoing the original TSval.
    ack(c, 1448, [1, 1, ...optTs(peerTs(h), orig[0]!.s.tsval)]);
    expect(h.stats.tcps_sndrexmitbad).toBe(1);
    expect(h.stats.tcps_pmtudbh_reverted).toBe(1);
    expect([tp.t_maxopd, tp.t_maxseg]).toEqual([1460, 1448]);
    expect(tp.t_flags & (TF_PMTUD | TF_BLACKHOLE)).toBe(TF_PMTUD);
    expect(tp.t_pmtud_start_ts).toBe(0);
    // tcp_bad_rexmt_restore_state, then cwnd_init for the restored MSS (the initial window), then
    // the ACK's own slow-start increase.
    expect(tp.snd_cwnd).toBe(initialWindowBytes(1448, XNU_PROFILE.initialWindowSegments) + 1448);
    ack(c, 2 * 1448, [1, 1, ...optTs(peerTs(h), orig[1]!.s.tsval)]);
    takeDf(h);
    send(c.so, data(2 * 1448), h.now);
    h.poll();
    expect(takeDf(h).map((x) => [x.s.payload.length, x.df])).toEqual([[1448, true], [1448, true]]);
  });

  it('only the first ACK after the switch can revert: a later one with an old TSecr changes nothing', () => {
    // The tail loss probe (the third segment again) precedes the two RTOs, as in loseTwice.
    const c = established({ ts: true });
    const { tp, h } = c;
    const { orig, rx2 } = loseTwice(c, 3 * 1448);
    ack(c, 1188, [1, 1, ...optTs(peerTs(h), rx2[0]!.s.tsval)]);
    takeDf(h);
    ack(c, 2 * 1448, [1, 1, ...optTs(peerTs(h), orig[1]!.s.tsval)]);
    expect(h.stats.tcps_pmtudbh_reverted).toBe(0);
    expect(tp.t_maxseg).toBe(1188);
  });

  it('more RTOs at the lowered MSS (t_rxtshift > 4) restore it: it was no black hole', () => {
    // The probe precedes rx1 (loseTwice); once t_rxtshift > 0 no probe is armed, so only RTOs follow.
    const c = establishedNoTs();
    const { tp, h } = c;
    const { rx1, rx2 } = loseTwice(c, 1460);
    const rx3 = nextSend(h);
    const rx4 = nextSend(h);
    const rx5 = nextSend(h);
    const rx6 = nextSend(h);
    expect([rx1, rx2, rx3, rx4, rx5, rx6].map((r) => r.map((x) => [x.s.payload.length, x.df]))).toEqual([
      [[1460, true]], [[1200, false]], [[1200, false]], [[1200, false]], [[1460, true]], [[1460, true]],
    ]);
    expect(h.stats.tcps_pmtud_blackhole_activated).toBe(1);
    expect(h.stats.tcps_pmtudbh_reverted).toBe(1);
    expect(tp.t_rxtshift).toBe(6);
    expect([tp.t_maxopd, tp.t_maxseg]).toEqual([1460, 1460]);
    expect(tp.t_flags & (TF_PMTUD | TF_BLACKHOLE)).toBe(TF_PMTUD);
    // The backoff went on undisturbed: 1, 2, 4, 8, 16, 32 times the base RTO.
    const gaps = [rx2, rx3, rx4, rx5, rx6].map((r, i) => r[0]!.s.atMs - [rx1, rx2, rx3, rx4, rx5][i]![0]!.s.atMs);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeGreaterThan(1.5);
    ack(c, 1460);
    expect(tp.snd_una).toBe((c.rcv + 1460) >>> 0);
  });

  it('TCP_DISABLE_BLACKHOLE_DETECTION: 0/1 only; set while lowered it reverts at once; set before, nothing happens', () => {
    // Each loss starts with the tail loss probe (loseTwice); the option does not affect it.
    const c = establishedNoTs();
    expect(getInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION)).toBe(0);
    expect(setInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION, 2)).toBe(EINVAL);
    expect(setInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION, -1)).toBe(EINVAL);
    loseTwice(c, 1460);
    expect(c.tp.t_maxseg).toBe(1200);
    expect(setInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION, 1)).toBe(0);
    expect(getInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION)).toBe(1);
    expect(c.tp.t_maxseg).toBe(1460);
    expect(c.h.stats.tcps_pmtudbh_reverted).toBe(1);
    expect(nextSend(c.h).map((x) => [x.s.payload.length, x.df])).toEqual([[1460, true]]);

    const d = establishedNoTs();
    expect(setInt(d.so, TCP_DISABLE_BLACKHOLE_DETECTION, 1)).toBe(0);
    const { rx2 } = loseTwice(d, 1460);
    expect(rx2.map((x) => [x.s.payload.length, x.df])).toEqual([[1460, true]]);
    expect(d.h.stats.tcps_pmtud_blackhole_activated).toBe(0);
  });
});

describe('turned off', () => {
  const fullSizeTwice = (profile: TcpProfile): Seg[] => {
    // XNU profiles send the tail loss probe first; FreeBSD's has TLP off and none is armed (tlpProbe).
    const c = established({ profile });
    const { rx2 } = loseTwice(c, 1460);
    expect(c.tp.t_maxseg).toBe(1460);
    expect(c.h.stats.tcps_pmtud_blackhole_activated).toBe(0);
    return rx2;
  };

  it('by net.inet.tcp.pmtud_blackhole_detection=0 or the profile: the retransmissions stay full-size with DF', () => {
    const r = sysctlSet(XNU_PROFILE, 'net.inet.tcp.pmtud_blackhole_detection', 0);
    expect(r.ok && sysctlGet(r.profile, 'net.inet.tcp.pmtud_blackhole_detection')).toEqual({ ok: true, value: 0 });
    expect(fullSizeTwice(r.ok ? r.profile : XNU_PROFILE).map((x) => [x.s.payload.length, x.df])).toEqual([[1460, true]]);
    expect(fullSizeTwice(withProfile(XNU_PROFILE, { pmtudBlackholeDetect: false })).map((x) => [x.s.payload.length, x.df]))
      .toEqual([[1460, true]]);
  });

  it('in the FreeBSD profile by default (net.inet.tcp.pmtud_blackhole_detection 0, MSS 1200 / v6 1220)', () => {
    const g = (n: string) => { const r = sysctlGet(FREEBSD_PROFILE, n); return r.ok ? r.value : null; };
    expect([g('net.inet.tcp.pmtud_blackhole_detection'), g('net.inet.tcp.pmtud_blackhole_mss'), g('net.inet.tcp.v6pmtud_blackhole_mss')])
      .toEqual([0, 1200, 1220]);
    const x = (n: string) => { const r = sysctlGet(XNU_PROFILE, n); return r.ok ? r.value : null; };
    expect([x('net.inet.tcp.pmtud_blackhole_detection'), x('net.inet.tcp.pmtud_blackhole_mss'), x('net.inet.tcp.v6pmtud_blackhole_mss')])
      .toEqual([1, 1200, 0]);
    expect(fullSizeTwice(FREEBSD_PROFILE).map((x) => [x.s.payload.length, x.df])).toEqual([[1460, true]]);
    // XNU reads the int for truth: 2 is on; not a number is refused.
    const on = sysctlSet(FREEBSD_PROFILE, 'net.inet.tcp.pmtud_blackhole_detection', 2);
    expect(on.ok && on.profile.pmtudBlackholeDetect).toBe(true);
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.pmtud_blackhole_detection', 'x')).toMatchObject({ ok: false, kind: 'bad-value' });
  });
});

describe('interactions', () => {
  it('TCP_MAXSEG at or below the black-hole MSS: the next step is mssdflt (512); the revert keeps TCP_MAXSEG', () => {
    // The 1000-byte segment draws the probe (lone segment, 200 ms) before the two RTOs.
    const c = establishedNoTs();
    expect(setInt(c.so, TCP_MAXSEG, 1000)).toBe(0);
    const { rx1, rx2 } = loseTwice(c, 1000);
    expect(rx1.map((x) => x.s.payload.length)).toEqual([1000]);
    expect(rx2.map((x) => [x.s.payload.length, x.df])).toEqual([[512, false]]);
    expect(c.tp.t_pmtud_saved_maxopd).toBe(1000);
    // TCP_MAXSEG can lower it further meanwhile; the revert never goes above what it allows.
    expect(setInt(c.so, TCP_MAXSEG, 400)).toBe(0);
    expect(setInt(c.so, TCP_DISABLE_BLACKHOLE_DETECTION, 1)).toBe(0);
    expect([c.tp.t_maxopd, c.tp.t_maxseg]).toEqual([400, 400]);
    expect(getInt(c.so, TCP_MAXSEG)).toBe(400);
  });

  it('ICMP needfrag while lowered: a smaller MTU lowers it further and sets DF again; the revert stays below it', () => {
    // After the probe and two RTOs (loseTwice); with t_rxtshift > 0 no further probe is armed.
    const c = establishedNoTs();
    const { tp, h } = c;
    loseTwice(c, 1460);
    expect(tp.t_maxseg).toBe(1200);
    // A router reports MTU 1000 for the first (DF) transmission still in [snd_una, snd_max).
    h.injectBytes(needfrag(c, c.rcv, 1000));
    expect(h.stack.ip.pathMtu(PEER)).toBe(1000);
    expect(h.stats.tcps_mturesent).toBe(1);
    expect(tp.t_maxseg).toBe(960);
    // tcp_mtudisc's route lookup turns TF_PMTUD back on; the black-hole state stays.
    expect(tp.t_flags & (TF_PMTUD | TF_BLACKHOLE)).toBe(TF_PMTUD | TF_BLACKHOLE);
    // Resent at once from snd_una within the one-segment window of the RTO episode.
    expect(takeDf(h).map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df])).toEqual([[0, 960, true], [960, 240, true]]);
    // Still lost: at t_rxtshift 5 the revert restores DF but not more than the path allows.
    for (let i = 0; i < 3; i++) nextSend(h);
    expect(tp.t_rxtshift).toBe(5);
    expect(h.stats.tcps_pmtudbh_reverted).toBe(1);
    expect([tp.t_maxopd, tp.t_maxseg]).toEqual([960, 960]);
    expect(tp.t_flags & (TF_PMTUD | TF_BLACKHOLE)).toBe(TF_PMTUD);
  });

  it('an ICMP needfrag with a larger MTU changes no size while lowered (XNU: t_maxopd <= mss returns)', () => {
    // Lowered after the probe and two RTOs (loseTwice).
    const c = establishedNoTs();
    loseTwice(c, 1460);
    c.h.injectBytes(needfrag(c, c.rcv, 1400));
    expect(c.tp.t_maxseg).toBe(1200);
    expect(c.h.stats.tcps_mturesent).toBe(0);
    expect(c.tp.t_pmtud_saved_maxopd).toBe(1460);
  });

  it('SACK recovery after the switch works at the lowered size', () => {
    // Lowered after the probe and two RTOs (loseTwice); the ACKs below come at once, before any PTO.
    const c = establishedNoTs();
    const { tp, h } = c;
    loseTwice(c, 1460);
    // The 1200-byte retransmission and everything after it get through until the window has grown.
    let acked = 1200;
    send(c.so, data(20 * 1200), h.now);
    for (let i = 0; i < 50 && acked < 1460 + 20 * 1200; i++) {
      ack(c, acked);
      for (const x of takeDf(h)) acked = Math.max(acked, x.s.seq - c.rcv + x.s.payload.length);
    }
    ack(c, acked);
    expect(acked).toBe(1460 + 20 * 1200);
    expect(tp.snd_cwnd).toBeGreaterThanOrEqual(6 * 1200);
    // 6 new segments at 1200 without DF; the first is lost, the peer SACKs the next three.
    send(c.so, data(6 * 1200), h.now);
    h.poll();
    const segs = takeDf(h);
    expect(segs.map((x) => [x.s.payload.length, x.df])).toEqual(Array(6).fill([1200, false]));
    const base = acked;
    for (let k = 2; k <= 4; k++) {
      h.inject({ flags: TH.ACK, seq: c.snd, ack: (c.rcv + base) >>> 0, opts: [1, 1, 5, 10, ...be32(c.rcv + base + 1200), ...be32(c.rcv + base + k * 1200)] });
    }
    const fr = takeDf(h);
    expect(fr.map((x) => [x.s.seq - c.rcv, x.s.payload.length, x.df])[0]).toEqual([base, 1200, false]);
    expect(h.stats.tcps_sack_recovery_episode).toBe(1);
    ack(c, base + 6 * 1200);
    expect(tp.snd_una).toBe((c.rcv + base + 6 * 1200) >>> 0);
    expect(tp.t_maxseg).toBe(1200);
  });
});

// ---- helpers ----

function establishedNoTs(profile?: TcpProfile): Conn {
  return established({ ts: false, profile });
}

const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

const setInt = (so: Socket, name: number, v: number): number => sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
function getInt(so: Socket, name: number): number {
  const o = SockOpt.get(IPPROTO_TCP, name, 4);
  expect(sogetopt(so, o)).toBe(0);
  return readInt(o.result(), 0);
}

/** An ICMP fragmentation-needed from a router quoting a segment we sent with sequence `seq`. */
function needfrag(c: Conn, seq: number, mtu: number): Uint8Array {
  const quoted = new Uint8Array(40);
  emitIpv4({
    src: ME, dst: PEER, protocol: 6, ttl: 64, tos: 0, ident: 9, dontFrag: true, moreFrags: false, fragOffset: 0,
    payloadLen: 20 + 1460,
  }, quoted, 0);
  set16(quoted, 20, 80);
  set16(quoted, 22, 40000);
  set32(quoted, 24, seq >>> 0);
  set32(quoted, 28, c.snd);
  quoted[32] = 5 << 4;
  quoted[33] = TH.ACK;
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
