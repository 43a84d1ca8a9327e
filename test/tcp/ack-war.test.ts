// RFC 5961 §7 ACK throttling, per connection as XNU does it (tcp_input.c tcp_is_ack_ratelimited)
// or as FreeBSD does it (tcp_subr.c tcp_send_challenge_ack, net.inet.tcp.ack_war_*): the limiter
// itself (window, count, reset), every ACK it governs (ACK beyond SND.MAX, ACK too old, in-window
// RST, SYN), PAWS on pure ACKs, and two stacks whose sequence spaces a forged segment has put out
// of step: without the limit they would ACK each other's ACKs forever.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, buildSeg, optMss, optSackOk, optTs, optWs } from './harness.js';
import { accept, connectTo, listenOn, recv, send } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { Simulation } from '../../stack/link/simulation.js';
import { SimNetwork } from '../../stack/link/sim-network.js';
import type { Link, LinkCaps, LinkReceiver } from '../../stack/link/link.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/chain.js';
import { get16, get32 } from '../../stack/wire/bytes.js';
import { IpCidr } from '../../stack/wire/ip-addr.js';
import type { Instant } from '../../stack/time/instant.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { tcpChallengeAckAllowed } from '../../stack/tcp/tcp-subr.js';
import { TCPS_ESTABLISHED, TCPS_LISTEN } from '../../stack/tcp/tcp-fsm.js';
import type { Tcpcb } from '../../stack/tcp/tcp-var.js';
import { FREEBSD_PROFILE, XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';

const PEER_ISS = 100_000;
const data = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);

interface Conn { h: PacketHost; so: Socket; rcv: number; snd: number; sport: number; tsecr: number }

/** A connection the stack accepted on :80 from the peer's `sport` (peer TSval 5000 + n with `ts`). */
function established(h: PacketHost, lis: Socket, o: { sport?: number; ts?: boolean } = {}): Conn {
  const sport = o.sport ?? 40000;
  const ts = o.ts ?? false;
  const opts = [...optMss(1460), ...optWs(0), ...optSackOk(), ...(ts ? optTs(5000, 0) : [])];
  h.inject({ sport, flags: TH.SYN, seq: PEER_ISS, win: 65535, opts });
  const synack = h.one();
  h.inject({ sport, flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535, opts: ts ? optTs(5001, synack.tsval) : [] });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, sport, tsecr: synack.tsval };
}

function host(profile: TcpProfile = XNU_PROFILE): { h: PacketHost; lis: Socket } {
  const h = new PacketHost({ seed: 9, profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  return { h, lis };
}

const conns = (h: PacketHost): Tcpcb[] => h.stack.tcp.tcpcbs().filter((t) => t.t_state !== TCPS_LISTEN);

describe('the per-connection limiter (tcpChallengeAckAllowed)', () => {
  const allowedAt = (h: PacketHost, tp: Tcpcb, ms: number): boolean => tcpChallengeAckAllowed(h.stack.tcp, tp, ms * 1000);

  it('XNU: challengeAckLimit per window; the window opens with the first ACK after the last ran out', () => {
    const { h, lis } = host();
    established(h, lis);
    const tp = conns(h)[0]!;
    // The first ACK at 500 ms opens a window that lasts until 1500 ms (not a wall-clock second).
    const first: boolean[] = [];
    for (let i = 0; i < 12; i++) first.push(allowedAt(h, tp, 500 + i));
    expect(first).toEqual([...Array(10).fill(true), false, false]);
    expect(allowedAt(h, tp, 1000)).toBe(false);
    expect(allowedAt(h, tp, 1499.999)).toBe(false);
    // 1000 tcp_now ticks later: a new window, the count starts again.
    expect(allowedAt(h, tp, 1500)).toBe(true);
    expect(tp.t_challengeack_count).toBe(1);
    for (let i = 0; i < 9; i++) expect(allowedAt(h, tp, 1600)).toBe(true);
    expect(allowedAt(h, tp, 1600)).toBe(false);
    expect(h.stats.tcps_challengeacks).toBe(20);
    expect(h.stats.tcps_challengeack_limited).toBe(5);
  });

  it('XNU: the window is counted in whole tcp_now milliseconds', () => {
    const { h, lis } = host();
    established(h, lis);
    const tp = conns(h)[0]!;
    expect(allowedAt(h, tp, 100.9)).toBe(true);
    for (let i = 0; i < 9; i++) allowedAt(h, tp, 101);
    expect(allowedAt(h, tp, 1099.999)).toBe(false);
    // tick 1100 - tick 100 = 1000: the window ran out even though 999.1 ms passed.
    expect(allowedAt(h, tp, 1100)).toBe(true);
  });

  it('XNU: a limit of 0 still lets the ACK that opens each window through', () => {
    const { h, lis } = host(withProfile(XNU_PROFILE, { challengeAckLimit: 0 }));
    established(h, lis);
    const tp = conns(h)[0]!;
    expect([allowedAt(h, tp, 10), allowedAt(h, tp, 20), allowedAt(h, tp, 1009)]).toEqual([true, false, false]);
    expect(allowedAt(h, tp, 1010)).toBe(true);
  });

  it('FreeBSD: ack_war_cnt per epoch of ack_war_timewindow, which ends strictly after its length', () => {
    const { h, lis } = host(FREEBSD_PROFILE);
    established(h, lis);
    const tp = conns(h)[0]!;
    const got: boolean[] = [];
    for (let i = 0; i < 7; i++) got.push(allowedAt(h, tp, 300));
    expect(got).toEqual([true, true, true, true, true, false, false]);
    // t_challenge_ack_end < now: at exactly 300 + 1000 ms the epoch still runs.
    expect(allowedAt(h, tp, 1300)).toBe(false);
    expect(allowedAt(h, tp, 1300.001)).toBe(true);
    expect(tp.t_challengeack_count).toBe(1);
  });

  it('FreeBSD: a 0 ack_war_timewindow or ack_war_cnt turns the limit off', () => {
    for (const knob of ['net.inet.tcp.ack_war_timewindow', 'net.inet.tcp.ack_war_cnt']) {
      const r = sysctlSet(FREEBSD_PROFILE, knob, 0);
      if (!r.ok) throw new Error(r.message);
      const { h, lis } = host(r.profile);
      established(h, lis);
      const tp = conns(h)[0]!;
      for (let i = 0; i < 50; i++) expect(allowedAt(h, tp, 100), knob).toBe(true);
      expect(h.stats.tcps_challengeack_limited).toBe(0);
    }
  });

  it('each connection has its own budget', () => {
    const { h, lis } = host();
    established(h, lis, { sport: 40000 });
    established(h, lis, { sport: 40001 });
    const [t1, t2] = conns(h);
    for (let i = 0; i < 10; i++) expect(allowedAt(h, t1!, 50)).toBe(true);
    expect(allowedAt(h, t1!, 50)).toBe(false);
    for (let i = 0; i < 10; i++) expect(allowedAt(h, t2!, 50)).toBe(true);
    expect(allowedAt(h, t2!, 50)).toBe(false);
  });
});

describe('ACKs answering unacceptable segments go through the limit', () => {
  it('an ACK for data never sent (ACK > SND.MAX) is answered at most challengeAckLimit times per window', () => {
    const { h, lis } = host();
    const c = established(h, lis);
    for (let i = 0; i < 25; i++) h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 5000 + i });
    const acks = h.take();
    expect(acks.length).toBe(10);
    for (const a of acks) expect([a.flags, a.seq, a.ack]).toEqual([TH.ACK, c.rcv, c.snd]);
    expect(h.stats.tcps_rcvacktoomuch).toBe(25);
    expect(h.stats.tcps_challengeack_limited).toBe(15);
    h.advance(1000);
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 9000 });
    expect(h.one().ack).toBe(c.snd);
  });

  it('an ACK older than SND.UNA - MAX.SND.WND shares the same budget', () => {
    const { h, lis } = host();
    const c = established(h, lis);
    for (let i = 0; i < 6; i++) h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv - 200_000 });
    for (let i = 0; i < 6; i++) h.inject({ flags: TH.RST, seq: c.snd + 100 + i });
    expect(h.take().length).toBe(10);
    expect(h.stats.tcps_rcvackoutofwindow).toBe(6);
    expect(h.stats.tcps_rstchallenge).toBe(6);
    expect(h.stats.tcps_challengeacks).toBe(10);
    expect(h.stats.tcps_challengeack_limited).toBe(2);
  });

  it('two connections of one stack are limited separately (SYN challenge ACKs)', () => {
    const { h, lis } = host();
    const c1 = established(h, lis, { sport: 40000 });
    const c2 = established(h, lis, { sport: 40001 });
    for (let i = 0; i < 15; i++) {
      h.inject({ sport: 40000, flags: TH.SYN, seq: c1.snd + 10 + i });
      h.inject({ sport: 40001, flags: TH.SYN, seq: c2.snd + 10 + i });
    }
    const out = h.take();
    expect(out.filter((o) => o.dport === 40000).length).toBe(10);
    expect(out.filter((o) => o.dport === 40001).length).toBe(10);
    expect(h.stats.tcps_challengeack_limited).toBe(10);
  });

  it('FreeBSD profile: ack_war_cnt (5) per connection and epoch', () => {
    const { h, lis } = host(FREEBSD_PROFILE);
    const c = established(h, lis);
    for (let i = 0; i < 8; i++) h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 5000 });
    expect(h.take().length).toBe(5);
    h.advance(1001);
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 5000 });
    expect(h.take().length).toBe(1);
  });
});

describe('PAWS (RFC 7323 §5.3) on segments without data', () => {
  it('a pure ACK with an old TSval is dropped without an answer (XNU: goto drop)', () => {
    const { h, lis } = host();
    const c = established(h, lis, { ts: true });
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(10), opts: optTs(6000, c.tsecr) });
    h.advance(200);
    h.take();
    for (let i = 0; i < 5; i++) h.inject({ flags: TH.ACK, seq: c.snd + 10, ack: c.rcv, opts: optTs(5500, c.tsecr) });
    expect(h.take()).toEqual([]);
    expect(h.stats.tcps_pawsdrop).toBe(5);
    // With data it is still answered (dropafterack), as before.
    h.inject({ flags: TH.ACK, seq: c.snd + 10, ack: c.rcv, payload: data(10), opts: optTs(5500, c.tsecr) });
    expect(h.one().ack).toBe(c.snd + 10);
  });

  it('a SYN without data in ESTABLISHED gets its challenge ACK whatever its TSval (checked before PAWS)', () => {
    const { h, lis } = host();
    const c = established(h, lis, { ts: true });
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(10), opts: optTs(6000, c.tsecr) });
    h.advance(200);
    h.take();
    h.inject({ flags: TH.SYN, seq: c.snd + 77, opts: optTs(5500, 0) });
    const a = h.one();
    expect([a.flags, a.seq, a.ack]).toEqual([TH.ACK, c.rcv, c.snd + 10]);
    expect(h.stats.tcps_synchallenge).toBe(1);
    expect(h.stats.tcps_pawsdrop).toBe(0);
  });
});

// ---- two stacks put out of step by a forged segment ----

interface Seg { side: 'a' | 'b'; at: Instant; flags: number; seq: number; ack: number; len: number }

/** Passes a SimPort through, logging every TCP segment its stack sends; can inject toward the stack. */
class TapLink implements Link {
  private rx: LinkReceiver | null = null;
  constructor(private readonly inner: Link, private readonly side: 'a' | 'b', private readonly log: Seg[]) {}
  get name(): string { return this.inner.name; }
  get caps(): LinkCaps { return this.inner.caps; }
  transmit(batch: readonly Mbuf[], count: number, now: Instant): void {
    for (let i = 0; i < count; i++) {
      const b = mToBytes(batch[i]!);
      if ((b[0]! >>> 4) !== 4 || b[9] !== 6) continue;
      const ihl = (b[0]! & 15) * 4;
      const t = ihl;
      const hlen = (b[t + 12]! >>> 4) * 4;
      this.log.push({
        side: this.side, at: now, flags: b[t + 13]!, seq: get32(b, t + 4), ack: get32(b, t + 8),
        len: get16(b, 2) - ihl - hlen,
      });
    }
    this.inner.transmit(batch, count, now);
  }
  setReceiver(rx: LinkReceiver | null): void {
    this.rx = rx;
    this.inner.setReceiver(rx);
  }
  /** Hands an IPv4 packet to the stack as if it had come off the wire. */
  inject(bytes: Uint8Array, now: Instant): void {
    const rx = this.rx!;
    rx.receiveBatch([mFromBytes(rx.pool, bytes, 0)!], 1, now);
  }
}

function tappedWorld(seed: number, profile: TcpProfile) {
  const sim = new Simulation({ seed });
  const net = new SimNetwork({ rng: sim.rng.fork() });
  sim.add(net);
  const log: Seg[] = [];
  const mk = (name: 'a' | 'b', cidr: string) => {
    const c = IpCidr.of(cidr);
    const tap = new TapLink(net.attach(name, [c], { delayMs: 5 }), name, log);
    const stack = new Stack({ env: simEnv(sim.rng.nextU32(), sim.clock), name, tcp: { profile } });
    stack.addInterface(tap, { name: `sim-${name}`, addrs: [c] });
    sim.add(stack);
    return { stack, tap, addr: c.addr };
  };
  return { sim, log, a: mk('a', '198.18.0.1/24'), b: mk('b', '198.18.0.2/24') };
}

const pureAck = (s: Seg): boolean => s.len === 0 && (s.flags & (TH.SYN | TH.FIN | TH.RST)) === 0;

/** Pure ACKs each side sent in each whole second of [from, from + seconds). */
function acksPerSecond(log: readonly Seg[], side: 'a' | 'b', from: Instant, seconds: number): number[] {
  const n = new Array<number>(seconds).fill(0);
  for (const s of log) {
    if (s.side !== side || !pureAck(s) || s.at < from) continue;
    const i = Math.floor((s.at - from) / 1_000_000);
    if (i < seconds) n[i]!++;
  }
  return n;
}

/**
 * A (198.18.0.1) connects to B (198.18.0.2:80) and both exchange a little data; then a segment
 * with 1000 bytes A never sent is injected into B, so B's RCV.NXT runs 1000 ahead of A's
 * SND.MAX. For `seconds` after that B writes 100 bytes every 250 ms and A 20 bytes every second
 * (staying inside the forged range, so A never catches up). Returns the log from the forgery on.
 */
function desync(profile: TcpProfile, seconds: number) {
  const w = tappedWorld(41, profile);
  const lis = listenOn(w.b.stack, w.b.addr, 80);
  const cl = connectTo(w.a.stack, w.b.addr, 80, w.sim.now);
  let srv: Socket | null = null;
  expect(w.sim.runUntil(() => (srv = accept(lis)) !== null, 5000)).toBe(true);
  const sv = srv as unknown as Socket;
  send(cl, data(100), w.sim.now);
  send(sv, data(100), w.sim.now);
  w.sim.runFor(1000);
  expect(recv(cl, w.sim.now).data.length).toBe(100);
  expect(recv(sv, w.sim.now).data.length).toBe(100);
  const ta = tcpcbOf(cl)!, tb = tcpcbOf(sv)!;
  expect(ta.snd_una).toBe(ta.snd_max);
  expect(tb.snd_una).toBe(tb.snd_max);
  const start = w.sim.now;
  w.b.tap.inject(buildSeg({
    sport: ta.t_inpcb.lport, dport: 80, seq: ta.snd_max, ack: tb.snd_max, flags: TH.ACK | TH.PSH,
    win: 65535, payload: data(1000, 0x58),
  }), start);
  expect(tb.rcv_nxt).toBe((ta.snd_max + 1000) >>> 0);
  for (let t = 0; t < seconds * 4; t++) {
    send(sv, data(100), w.sim.now);
    if (t % 4 === 0) send(cl, data(20), w.sim.now);
    w.sim.runFor(250);
  }
  return { w, cl, sv, ta, tb, start };
}

describe('two stacks out of step (a forged in-window segment)', () => {
  const SECONDS = 8;

  it('XNU: each side sends at most challengeAckLimit ACKs per window instead of ACKing every ACK', () => {
    const { w, ta, tb, start } = desync(XNU_PROFILE, SECONDS);
    const limit = XNU_PROFILE.challengeAckLimit;
    const a = acksPerSecond(w.log, 'a', start, SECONDS);
    const b = acksPerSecond(w.log, 'b', start, SECONDS);
    // A answers B's ACKs (all beyond A's SND.MAX) within its budget: a limiter window may straddle
    // two wall-clock seconds, so at most 2 x limit in one second and limit x (seconds + 1) in all.
    for (const n of a) expect(n).toBeLessThanOrEqual(2 * limit);
    expect(a.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(limit * (SECONDS + 1));
    // B answers what A sends (old sequence numbers: "ACK to resynchronize"): A's ACKs and A's few
    // data segments, so B stays bounded by A's budget too.
    const aData = w.log.filter((s) => s.side === 'a' && s.at >= start && s.len > 0).length;
    for (const n of b) expect(n).toBeLessThanOrEqual(2 * limit + aData);
    expect(b.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(limit * (SECONDS + 1) + aData);
    // The budget was what stopped it.
    expect(w.a.stack.tcp.stats.tcps_rcvacktoomuch).toBeGreaterThan(a.reduce((x, y) => x + y, 0));
    expect(w.a.stack.tcp.stats.tcps_challengeack_limited).toBeGreaterThan(0);
    // Still out of step: nothing either side sent since has been acknowledged.
    expect(ta.t_state).toBe(TCPS_ESTABLISHED);
    expect(tb.t_state).toBe(TCPS_ESTABLISHED);
    expect(ta.snd_una).not.toBe(ta.snd_max);
    expect(tb.snd_una).not.toBe(tb.snd_max);
  });

  it('FreeBSD: the same with ack_war_cnt (5) per ack_war_timewindow', () => {
    const { w, start } = desync(FREEBSD_PROFILE, SECONDS);
    const limit = FREEBSD_PROFILE.challengeAckLimit;
    const a = acksPerSecond(w.log, 'a', start, SECONDS);
    for (const n of a) expect(n).toBeLessThanOrEqual(2 * limit);
    expect(a.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(limit * (SECONDS + 1));
  });

  it('without a limit the two ends ACK each other at full speed (what the limit prevents)', () => {
    const unlimited = withProfile(XNU_PROFILE, { challengeAckPolicy: 'freebsd', challengeAckLimit: 0 });
    const { w, start } = desync(unlimited, 2);
    const a = acksPerSecond(w.log, 'a', start, 2);
    const b = acksPerSecond(w.log, 'b', start, 2);
    // Every round trip (10 ms) each live ACK loop sends one ACK each way, and every B write adds a loop.
    expect(a[1]!).toBeGreaterThan(1000);
    expect(b[1]!).toBeGreaterThan(1000);
  });
});
