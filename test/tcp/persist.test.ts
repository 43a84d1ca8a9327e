// Packet-level tests of the end of persisting (XNU tcp_timer.c tcp_timers TCPT_PERSIST, FreeBSD
// tcp_timer_persist): a connection probing the zero window of a peer that has gone silent is
// dropped (tcps_persistdrop, ETIMEDOUT, RST) once the backoff is full and the silence has lasted
// the base RTO times tcp_totbackoff (or tcp_maxpersistidle); a peer that answers its probes is
// probed for ever; net.inet.tcp.max_persist_timeout puts a deadline on probing; FreeBSD drops a
// closed socket's persisting connection after TCPTV_PERSMAX of silence. Exact virtual times.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, optMss, optSackOk, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, recv, send } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soclose } from '../../stack/socket/so-ops.js';
import { EINVAL, ETIMEDOUT } from '../../stack/socket/errno.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, readInt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP } from '../../stack/socket/constants.js';
import { PERSIST_TIMEOUT, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TCPS_FIN_WAIT_1 } from '../../stack/tcp/tcp-fsm.js';
import { TT_PERSIST } from '../../stack/tcp/tcp-var.js';
import { tcpTotBackoff } from '../../stack/tcp/tcp-timers.js';
import { FREEBSD_PROFILE, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';

const PEER_ISS = 100_000;

interface Conn { h: PacketHost; so: Socket; rcv: number; snd: number }

/**
 * A connection accepted from the peer, whose handshake ACK (after `rttMs`) closes the window.
 * Time 0 of the harness clock is the SYN; the returned connection is at `rttMs`.
 */
function zeroWindow(profile: TcpProfile = XNU_PROFILE, rttMs = 0): Conn {
  const h = new PacketHost({ seed: 4, profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts: [...optMss(1460), ...optWs(0), ...optSackOk()] });
  const synack = h.one();
  h.advance(rttMs);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 0 });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

const setInt = (so: Socket, name: number, v: number): number => sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
function getInt(so: Socket, name: number): number {
  const o = SockOpt.get(IPPROTO_TCP, name, 4);
  expect(sogetopt(so, o)).toBe(0);
  return readInt(o.result(), 0);
}

const sysctl = (p: TcpProfile, name: string, v: number): TcpProfile => {
  const r = sysctlSet(p, name, v);
  if (!r.ok) throw new Error(r.message);
  return r.profile;
};

/**
 * Advances in 10-ms steps (the resolution of the times checked) for `ms`, answering every probe with
 * `answer` (or not at all); returns what was sent.
 */
function run(c: Conn, ms: number, answer: ((o: Out) => void) | null): Out[] {
  const all: Out[] = [];
  for (let t = 0; t < ms; t += 10) {
    c.h.advance(10);
    for (const o of c.h.take()) {
      all.push(o);
      if (answer !== null && o.payload.length === 1) answer(o);
    }
  }
  return all;
}

describe('persist: a silent peer is dropped (XNU tcp_timers TCPT_PERSIST)', () => {
  it('after the full backoff, once idle for base RTO x tcp_totbackoff: RST at 60 s, ETIMEDOUT', () => {
    // No RTT from the instant handshake: base RTO = rtoMin 30 ms, so every probe interval is the
    // 5 s TCPTV_PERSMIN floor, and 30 ms x 511 = 15.3 s of silence is reached long before the
    // twelfth backoff (t_rxtshift == TCP_MAXRXTSHIFT), which the 12th timeout at 60 s finds.
    const c = zeroWindow();
    expect(tcpTotBackoff(XNU_PROFILE)).toBe(511);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    const out = run(c, 70_000, null);
    const probes = out.filter((o) => o.payload.length === 1);
    expect(probes.map((o) => o.atMs)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55].map((s) => s * 1000));
    for (const p of probes) expect(p.seq).toBe(c.rcv);
    const rst = out.filter((o) => (o.flags & TH.RST) !== 0);
    expect(rst.map((o) => [o.atMs, o.flags, o.seq, o.ack])).toEqual([[60_000, TH.RST | TH.ACK, c.rcv + 1, c.snd]]);
    expect(out.length).toBe(12);
    expect(c.h.stats.tcps_persistdrop).toBe(1);
    expect(c.h.stats.tcps_persisttimeo).toBe(12);
    expect(c.so.so_error).toBe(ETIMEDOUT);
    expect(recv(c.so, c.h.now).e).toBe(ETIMEDOUT);
    expect(tcpcbOf(c.so)).toBeNull();
  });

  it('with a 0.9 s handshake RTT (base RTO 2.7 s) the silence must last 2.7 s x 511 = 1379.7 s', () => {
    const c = zeroWindow(XNU_PROFILE, 900);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    const t0 = c.h.nowMs;
    const out = run(c, 1500_000, null);
    const probes = out.filter((o) => o.payload.length === 1).map((o) => Math.round(o.atMs - t0));
    // 5, 5.4, 10.8, 21.6, 43.2 s apart, then every 60 s (TCPTV_PERSMAX).
    expect(probes.slice(0, 6)).toEqual([5000, 10_400, 21_200, 42_800, 86_000, 146_000]);
    for (let i = 6; i < probes.length; i++) expect(probes[i]! - probes[i - 1]!).toBe(60_000);
    // The first timeout at or after 1379.7 s of silence (the handshake ACK was the last word).
    const rst = out.find((o) => (o.flags & TH.RST) !== 0)!;
    expect(Math.round(rst.atMs - t0)).toBe(1406_000);
    expect(probes.at(-1)).toBe(1346_000);
    expect(c.h.stats.tcps_persistdrop).toBe(1);
    expect(c.so.so_error).toBe(ETIMEDOUT);
  });

  it('a peer that answers the probes (still zero window) is probed for ever: its replies keep t_rcvtime fresh', () => {
    const c = zeroWindow();
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    const out = run(c, 3 * 3600_000, (o) => c.h.inject({ flags: TH.ACK, seq: c.snd, ack: o.seq, win: 0 }));
    expect(out.every((o) => o.payload.length === 1)).toBe(true);
    expect(out.length).toBe(Math.floor((3 * 3600_000) / 5000));
    expect(c.h.stats.tcps_persistdrop).toBe(0);
    expect(tcpcbOf(c.so)!.t_persistshift).toBe(XNU_PROFILE.maxRxtShift);
    // It opens: the data goes, probing is over.
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, win: 65535 });
    expect(c.h.one().payload.length).toBe(100);
    const tp = tcpcbOf(c.so)!;
    expect([tp.t_timer[TT_PERSIST], tp.t_persistshift]).toEqual([0, 0]);
  });

  it('an ACK of new data restarts the persist backoff (XNU TCP_RESET_REXMT_STATE: t_rxtshift = 0)', () => {
    const c = zeroWindow(XNU_PROFILE, 900);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    const t0 = c.h.nowMs;
    // The peer answers the first three probes without taking the byte, and takes the third one's.
    let n = 0;
    const out = run(c, 100_000, (o) => {
      n++;
      c.h.inject({ flags: TH.ACK, seq: c.snd, ack: n === 3 ? o.seq + 1 : o.seq, win: 0 });
    });
    const probes = out.filter((o) => o.payload.length === 1).map((o) => [Math.round(o.atMs - t0), o.seq - c.rcv]);
    // 5, +5.4, +10.8, +21.6 (armed before the byte was taken), then from backoff[0] again: +5, +5.4.
    expect(probes.slice(0, 6)).toEqual([[5000, 0], [10_400, 0], [21_200, 0], [42_800, 1], [47_800, 1], [53_200, 1]]);
  });
});

describe('persist deadlines', () => {
  it('net.inet.tcp.max_persist_timeout drops at the first timeout past the deadline, even if the peer answers', () => {
    const c = zeroWindow(sysctl(XNU_PROFILE, 'net.inet.tcp.max_persist_timeout', 12_000));
    expect(tcpcbOf(c.so)!.t_persist_timeout).toBe(12_000);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    // Probing began now: t_persist_stop = now + 12 s; the timeouts at 5 and 10 s probe, 15 s drops.
    expect(tcpcbOf(c.so)!.t_persist_stop).toBe(c.h.now + 12_000_000);
    const out = run(c, 20_000, (o) => c.h.inject({ flags: TH.ACK, seq: c.snd, ack: o.seq, win: 0 }));
    expect(out.map((o) => [o.atMs, o.payload.length, o.flags & TH.RST])).toEqual([[5000, 1, 0], [10_000, 1, 0], [15_000, 0, TH.RST]]);
    expect(c.h.stats.tcps_persistdrop).toBe(1);
    expect(c.so.so_error).toBe(ETIMEDOUT);
  });

  it('max_persist_timeout: the deadline ends with probing (a window that opens clears it)', () => {
    const c = zeroWindow(sysctl(XNU_PROFILE, 'net.inet.tcp.max_persist_timeout', 12_000));
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    c.h.advance(5000);
    expect(c.h.one().payload.length).toBe(1);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 1, win: 65535 });
    expect(c.h.one().payload.length).toBe(99);
    expect(tcpcbOf(c.so)!.t_persist_stop).toBe(0);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 100, win: 0 });
    // Later probing gets a new deadline from its own start.
    c.h.advance(10_000);
    expect(send(c.so, new Uint8Array(50), c.h.now).e).toBe(0);
    c.h.poll();
    expect(tcpcbOf(c.so)!.t_persist_stop).toBe(c.h.now + 12_000_000);
    expect(c.h.stats.tcps_persistdrop).toBe(0);
  });

  it('PERSIST_TIMEOUT (XNU tcp.h 0x40, seconds) sets this connection\'s deadline; < 0 is EINVAL', () => {
    const c = zeroWindow();
    const tp = tcpcbOf(c.so)!;
    // XNU tcp_ctloutput: get returns t_persist_timeout / TCP_RETRANSHZ; the default sysctl is 0.
    expect(PERSIST_TIMEOUT).toBe(0x40);
    expect(getInt(c.so, PERSIST_TIMEOUT)).toBe(0);
    expect(setInt(c.so, PERSIST_TIMEOUT, -1)).toBe(EINVAL);
    expect(tp.t_persist_timeout).toBe(0);
    expect(setInt(c.so, PERSIST_TIMEOUT, 12)).toBe(0);
    expect(tp.t_persist_timeout).toBe(12_000);
    expect(getInt(c.so, PERSIST_TIMEOUT)).toBe(12);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    // As with the sysctl: probes at 5 and 10 s (answered), the 15-s timeout is past the 12-s deadline.
    expect(tp.t_persist_stop).toBe(c.h.now + 12_000_000);
    const out = run(c, 20_000, (o) => c.h.inject({ flags: TH.ACK, seq: c.snd, ack: o.seq, win: 0 }));
    expect(out.map((o) => [o.atMs, o.payload.length, o.flags & TH.RST])).toEqual([[5000, 1, 0], [10_000, 1, 0], [15_000, 0, TH.RST]]);
    expect(c.h.stats.tcps_persistdrop).toBe(1);
    expect(c.so.so_error).toBe(ETIMEDOUT);
  });

  it('PERSIST_TIMEOUT 0 lifts the sysctl\'s deadline for this connection; the sysctl value reads back in seconds', () => {
    const c = zeroWindow(sysctl(XNU_PROFILE, 'net.inet.tcp.max_persist_timeout', 12_500));
    expect(getInt(c.so, PERSIST_TIMEOUT)).toBe(12); // 12 500 ms: whole seconds, rounded down
    expect(setInt(c.so, PERSIST_TIMEOUT, 0)).toBe(0);
    expect(send(c.so, new Uint8Array(100), c.h.now).e).toBe(0);
    c.h.poll();
    expect(tcpcbOf(c.so)!.t_persist_stop).toBe(0);
    const out = run(c, 30_000, (o) => c.h.inject({ flags: TH.ACK, seq: c.snd, ack: o.seq, win: 0 }));
    expect(out.map((o) => [o.atMs, o.payload.length])).toEqual([5, 10, 15, 20, 25, 30].map((s) => [s * 1000, 1]));
    expect(c.h.stats.tcps_persistdrop).toBe(0);
  });

  it('the sysctl refuses 0 (XNU sysctl_msec_to_ticks: below one tick is EINVAL)', () => {
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.max_persist_timeout', 0).ok).toBe(false);
    expect(XNU_PROFILE.maxPersistTimeoutMs).toBe(0);
  });

  it('FreeBSD: tcp_totbackoff is 2559; a closed socket goes after TCPTV_PERSMAX (60 s) of silence', () => {
    expect(tcpTotBackoff(FREEBSD_PROFILE)).toBe(2559);
    const open = zeroWindow(FREEBSD_PROFILE);
    expect(send(open.so, new Uint8Array(100), open.h.now).e).toBe(0);
    open.h.poll();
    // 30 ms x 2559 = 76.77 s: the timeouts every 5 s drop at the first one after it.
    const a1 = run(open, 200_000, null);
    // FreeBSD's backoff reaches 512: 30 ms x 256 and x 512 pass the 5 s floor, so the timeouts come
    // at 5 .. 40 s, 47.68, 63.04, 78.4 and 93.76 s; the twelfth finds 93.76 s >= 76.77 s of silence.
    expect(a1.filter((o) => o.payload.length === 1).map((o) => o.atMs)).toEqual([
      5000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 47_680, 63_040, 78_400]);
    const o1 = a1.filter((o) => (o.flags & TH.RST) !== 0);
    expect(o1.map((o) => o.atMs)).toEqual([93_760]);

    const closed = zeroWindow(FREEBSD_PROFILE);
    expect(send(closed.so, new Uint8Array(100), closed.h.now).e).toBe(0);
    closed.h.poll();
    const tp = tcpcbOf(closed.so)!;
    expect(soclose(closed.so, closed.h.now)).toBe(0);
    expect(tp.t_state).toBe(TCPS_FIN_WAIT_1);
    const a2 = run(closed, 90_000, null);
    // Closed: the first timeout after 60 s of silence, long before the backoff is full.
    const o2 = a2.filter((o) => (o.flags & TH.RST) !== 0);
    expect(o2.map((o) => o.atMs)).toEqual([63_040]);
    expect(closed.h.stats.tcps_persistdrop).toBe(1);
  });
});
