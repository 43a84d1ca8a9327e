// Packet-level tests on an established connection (the test plays the peer): RFC 5961 RST/SYN/ACK
// checks with the challenge-ACK rate limit, ACK of unsent data, delayed ACKs, zero-window probes,
// the retransmission backoff, keepalive, out-of-order data with SACK blocks, urgent data, close
// semantics (RST on unread data and linger 0), TIME_WAIT (RFC 1337), and hostile headers.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, fmt, optMss, optSack, optSackOk, optTs, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, recv, send } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soclose, soshutdown, soioctl } from '../../stack/socket/so-ops.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt, sooptLinger } from '../../stack/socket/sockopt.js';
import {
  IPPROTO_TCP, MSG_OOB, SIOCATMARK, SOL_SOCKET, SO_KEEPALIVE, SO_LINGER, SS_CANTRCVMORE,
} from '../../stack/socket/constants.js';
import { ECONNRESET, EINVAL, EPIPE, ETIMEDOUT, EWOULDBLOCK } from '../../stack/socket/errno.js';
import { TCP_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPINTVL, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { TCPS_CLOSE_WAIT, TCPS_LISTEN, TCPS_TIME_WAIT, tcpStateNames } from '../../stack/tcp/tcp-fsm.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';

const PEER_ISS = 100_000;

interface Conn { h: PacketHost; so: Socket; lis: Socket; iss: number; rcv: number; snd: number; ts: boolean }

/**
 * A connection accepted from the peer. `snd` is the next sequence number the peer sends, `iss`
 * our ISS. With `ts` the peer uses timestamps (TSval = 5000 + ms).
 */
function established(o: { win?: number; ts?: boolean; sack?: boolean; profile?: TcpProfile; seed?: number } = {}): Conn {
  const h = new PacketHost({ seed: o.seed ?? 3, profile: o.profile });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  const ts = o.ts ?? false;
  const opts = [...optMss(1460), ...optWs(0), ...(o.sack ?? true ? optSackOk() : []), ...(ts ? optTs(5000, 0) : [])];
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts });
  const synack = h.one();
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: o.win ?? 65535, opts: ts ? optTs(5001, synack.tsval) : [] });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  h.take();
  return { h, so, lis, iss: synack.seq, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, ts };
}

/** The connections' tcpcbs (not the listener's). */
const conns = (h: PacketHost) => h.stack.tcp.tcpcbs().filter((t) => t.t_state !== TCPS_LISTEN);

const data = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);

describe('RFC 5961 §3: RST', () => {
  it('an exactly matching RST resets: ECONNRESET once, then EOF; sends get EPIPE', () => {
    const c = established();
    c.h.inject({ flags: TH.RST, seq: c.snd });
    expect(c.h.take()).toEqual([]);
    expect(c.so.so_error).toBe(ECONNRESET);
    expect(send(c.so, data(1), c.h.now).e).toBe(EPIPE);
    expect(recv(c.so, c.h.now).e).toBe(ECONNRESET);
    const r = recv(c.so, c.h.now);
    expect([r.e, r.data.length]).toEqual([0, 0]);
    expect(tcpcbOf(c.so)).toBeNull();
  });

  it('an in-window RST that is not exact gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>', () => {
    const c = established();
    c.h.inject({ flags: TH.RST, seq: c.snd + 1000 });
    const a = c.h.one();
    expect([a.flags, a.seq, a.ack]).toEqual([TH.ACK, c.rcv, c.snd]);
    expect(c.so.so_error).toBe(0);
    expect(c.h.stats.tcps_rstchallenge).toBe(1);
  });

  it('an out-of-window RST is dropped silently', () => {
    const c = established();
    c.h.inject({ flags: TH.RST, seq: c.snd + 10_000_000 });
    expect(c.h.take()).toEqual([]);
    expect(c.h.stats.tcps_badrst).toBe(1);
  });
});

describe('RFC 5961 §4/§7: SYN in a synchronized state, rate limit', () => {
  it('answers each SYN with a challenge ACK, at most challengeAckLimit per second on the connection', () => {
    const c = established();
    for (let i = 0; i < 12; i++) c.h.inject({ flags: TH.SYN, seq: c.snd + 5 + i });
    const acks = c.h.take();
    expect(acks.length).toBe(10);
    for (const a of acks) expect([a.flags, a.seq, a.ack]).toEqual([TH.ACK, c.rcv, c.snd]);
    expect(c.h.stats.tcps_synchallenge).toBe(12);
    expect(c.h.stats.tcps_challengeack_limited).toBe(2);
    c.h.advance(1000);
    c.h.inject({ flags: TH.SYN, seq: c.snd });
    expect(c.h.one().flags).toBe(TH.ACK);
    expect(c.so.so_error).toBe(0);
  });
});

describe('ACK acceptability', () => {
  it('an ACK for data never sent is answered with an ACK and dropped (tcps_rcvacktoomuch)', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 5000, payload: data(10) });
    const a = c.h.one();
    expect([a.flags, a.ack]).toEqual([TH.ACK, c.snd]);
    expect(c.h.stats.tcps_rcvacktoomuch).toBe(1);
    expect(c.so.so_rcv.sb_cc).toBe(0);
  });

  it('an ACK older than SND.UNA - MAX.SND.WND gets a (rate-limited) challenge ACK', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv - 200_000, payload: data(10) });
    expect(c.h.one().flags).toBe(TH.ACK);
    expect(c.h.stats.tcps_rcvackoutofwindow).toBe(1);
    expect(c.so.so_rcv.sb_cc).toBe(0);
  });
});

describe('delayed ACK', () => {
  it('holds the ACK of one segment for delAckMs (100 ms) and ACKs every second segment at once', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(100) });
    expect(c.h.take()).toEqual([]);
    c.h.advance(99);
    expect(c.h.take()).toEqual([]);
    c.h.advance(1);
    const a = c.h.one();
    expect([a.ack, a.atMs]).toEqual([c.snd + 100, 100]);
    expect(c.h.stats.tcps_delack).toBe(1);
    c.h.inject({ flags: TH.ACK, seq: c.snd + 100, ack: c.rcv, payload: data(1460) });
    expect(c.h.take()).toEqual([]);
    c.h.inject({ flags: TH.ACK, seq: c.snd + 1560, ack: c.rcv, payload: data(1460) });
    expect(c.h.one().ack).toBe(c.snd + 100 + 2920);
  });

  it('a GRO super-segment larger than the MSS is accepted whole and ACKed at once', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(8 * 1460, 0x42) });
    expect(c.h.one().ack).toBe(c.snd + 8 * 1460);
    expect(recv(c.so, c.h.now).data.length).toBe(8 * 1460);
  });
});

describe('out-of-order data and SACK (RFC 2018, RFC 5681 §4.2)', () => {
  it('acknowledges out-of-order data at once with a SACK block, and everything once the hole fills', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd + 1000, ack: c.rcv, payload: data(500) });
    const d1 = c.h.one();
    expect(d1.ack).toBe(c.snd);
    expect(d1.optText).toBe(`nop,nop,sack 1 {${c.snd + 1000}:${c.snd + 1500}}`);
    c.h.inject({ flags: TH.ACK, seq: c.snd + 2000, ack: c.rcv, payload: data(100) });
    // The most recent block first (RFC 2018 §4).
    expect(c.h.one().optText).toBe(`nop,nop,sack 2 {${c.snd + 2000}:${c.snd + 2100}}{${c.snd + 1000}:${c.snd + 1500}}`);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(1000) });
    const a = c.h.one();
    expect(a.ack).toBe(c.snd + 1500);
    expect(a.optText).toBe(`nop,nop,sack 1 {${c.snd + 2000}:${c.snd + 2100}}`);
    expect(c.h.stats.tcps_rcvoopack).toBe(2);
    expect(recv(c.so, c.h.now).data.length).toBe(1500);
  });
});

describe('zero window and persist', () => {
  it('probes a zero window with one byte after persistMinMs (5 s), backing off, and resumes when it opens', () => {
    const c = established({ win: 0 });
    expect(send(c.so, data(3000), c.h.now).e).toBe(0);
    c.h.poll();
    expect(c.h.take()).toEqual([]);
    c.h.advance(4999);
    expect(c.h.take()).toEqual([]);
    c.h.advance(1);
    const p1 = c.h.one();
    expect([p1.seq, p1.payload.length, p1.atMs]).toEqual([c.rcv, 1, 5000]);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, win: 0 });
    expect(c.h.take()).toEqual([]);
    c.h.advance(20_000);
    const probes = c.h.take();
    expect(probes.length).toBeGreaterThanOrEqual(1);
    for (const p of probes) expect([p.seq, p.payload.length]).toEqual([c.rcv, 1]);
    expect(c.h.stats.tcps_sndprobe).toBeGreaterThanOrEqual(2);
    // The window opens: everything goes (the probed byte included).
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, win: 65535 });
    const segs = c.h.take();
    // Two full segments and the 80-byte tail: XNU's Nagle lets the last piece of the buffer follow
    // a full-sized segment (TF_MAXSEGSNT) even with data in flight.
    expect(segs.map((s) => s.payload.length)).toEqual([1460, 1460, 80]);
    expect(segs[0]!.seq).toBe(c.rcv);
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv + 3000, win: 65535 });
    expect(c.h.take()).toEqual([]);
  });
});

describe('retransmission timeout (RFC 6298)', () => {
  it('backs off exponentially (profile.backoff) and drops with ETIMEDOUT after maxRxtShift retransmissions', () => {
    const c = established();
    expect(send(c.so, data(100), c.h.now).e).toBe(0);
    c.h.poll();
    const times: number[] = [c.h.one().atMs];
    for (let i = 0; i < 2000 && c.so.so_error === 0; i++) {
      c.h.advance(100);
      for (const o of c.h.take()) if (o.payload.length > 0) times.push(o.atMs);
    }
    expect(c.so.so_error).toBe(ETIMEDOUT);
    // XNU sends a tail loss probe first (SACK is on): at PTO = 2 x SRTT (0) + the 100 ms delayed-ACK
    // time for a lone segment, which is below the RTO; the retransmission timer restarts from it.
    expect(times.length).toBe(2 + XNU_PROFILE.maxRxtShift);
    expect(Math.abs(times[1]! - times[0]! - XNU_PROFILE.delAckMs)).toBeLessThanOrEqual(100);
    expect(c.h.stats.tcps_pto).toBe(1);
    expect(c.h.stats.tcps_rto_after_pto).toBe(1);
    const gaps = times.slice(2).map((t, i) => t - times[i + 1]!);
    // XNU: RTO(shift) = base RTO × backoff[shift] + slop (base 30 ms here: the handshake RTT was 0),
    // so the gaps grow with the table (×1,2,4,...,64) and stay at 64 × base + slop.
    const tp = tcpcbOf(c.so);
    expect(tp).toBeNull();
    const expected = XNU_PROFILE.backoff.slice(0, XNU_PROFILE.maxRxtShift).map((m) => m * 30 + 200);
    for (let i = 0; i < gaps.length; i++) expect(Math.abs(gaps[i]! - expected[i]!), JSON.stringify(gaps)).toBeLessThanOrEqual(100);
    expect(c.h.stats.tcps_timeoutdrop).toBe(1);
    expect(c.h.stats.tcps_rexmttimeo).toBe(XNU_PROFILE.maxRxtShift);
  });
});

describe('keepalive', () => {
  it('sends TCP_KEEPCNT probes <SEQ=SND.UNA-1> every TCP_KEEPINTVL after TCP_KEEPALIVE idle, then drops with ETIMEDOUT', () => {
    const c = established();
    const setInt = (level: number, name: number, v: number) => expect(sosetopt(c.so, SockOpt.set(level, name, sooptInt(v)))).toBe(0);
    setInt(SOL_SOCKET, SO_KEEPALIVE, 1);
    setInt(IPPROTO_TCP, TCP_KEEPALIVE, 2);
    setInt(IPPROTO_TCP, TCP_KEEPINTVL, 1);
    setInt(IPPROTO_TCP, TCP_KEEPCNT, 3);
    const probes: Out[] = [];
    for (let i = 0; i < 100 && c.so.so_error === 0; i++) {
      c.h.advance(100);
      probes.push(...c.h.take());
    }
    expect(c.so.so_error).toBe(ETIMEDOUT);
    const ka = probes.filter((p) => (p.flags & TH.RST) === 0);
    expect(ka.map((p) => Math.round(p.atMs / 100) * 100)).toEqual([2000, 3000, 4000]);
    for (const p of ka) expect([p.seq, p.ack, p.payload.length]).toEqual([c.iss, c.snd, 0]);
    expect(probes.at(-1)!.flags & TH.RST).toBe(TH.RST);
    expect(c.h.stats.tcps_keepdrops).toBe(1);
  });

  it('a probe that is answered keeps the connection up', () => {
    const c = established();
    sosetopt(c.so, SockOpt.set(SOL_SOCKET, SO_KEEPALIVE, sooptInt(1)));
    sosetopt(c.so, SockOpt.set(IPPROTO_TCP, TCP_KEEPALIVE, sooptInt(1)));
    for (let i = 0; i < 5; i++) {
      c.h.advance(1000);
      for (const p of c.h.take()) c.h.inject({ flags: TH.ACK, seq: c.snd, ack: (p.seq + 1) >>> 0 });
    }
    expect(c.so.so_error).toBe(0);
    expect(c.h.stats.tcps_keepprobe).toBeGreaterThanOrEqual(4);
  });
});

describe('urgent data (BSD out-of-band byte)', () => {
  it('pulls the urgent byte out of the stream; MSG_OOB reads it once; SIOCATMARK marks its place', () => {
    const c = established();
    const payload = new Uint8Array([1, 2, 3, 4, 0x99]);
    c.h.inject({ flags: TH.ACK | TH.URG | TH.PSH, seq: c.snd, ack: c.rcv, urp: 5, payload });
    expect(c.so.so_oobmark).toBe(4);
    const oob = recv(c.so, c.h.now, 10, MSG_OOB);
    expect([oob.e, Array.from(oob.data)]).toEqual([0, [0x99]]);
    expect(recv(c.so, c.h.now, 10, MSG_OOB).e).toBe(EINVAL);
    const r = recv(c.so, c.h.now, 100);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4]);
    const mark = { value: 0 };
    soioctl(c.so, SIOCATMARK, mark);
    expect(mark.value).toBe(1);
  });

  it('MSG_OOB before any urgent data is EINVAL; sending MSG_OOB sets URG with the pointer past the byte', () => {
    const c = established();
    expect(recv(c.so, c.h.now, 10, MSG_OOB).e).toBe(EINVAL);
    expect(send(c.so, new Uint8Array([7, 8, 9]), c.h.now, MSG_OOB).e).toBe(0);
    c.h.poll();
    const s = c.h.one();
    expect(s.flags & TH.URG).toBe(TH.URG);
    expect(s.urp).toBe(3);
    expect(c.h.stats.tcps_sndurg).toBeGreaterThan(0);
    void EWOULDBLOCK;
  });
});

describe('closing', () => {
  it('close with unread data sends RST, not FIN', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(10) });
    c.h.take();
    soclose(c.so, c.h.now);
    c.h.poll();
    const r = c.h.one();
    expect([r.flags & TH.RST, r.seq]).toEqual([TH.RST, c.rcv]);
    expect(conns(c.h).length).toBe(0);
  });

  it('SO_LINGER with linger 0 sends RST on close', () => {
    const c = established();
    expect(sosetopt(c.so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptLinger(1, 0)))).toBe(0);
    soclose(c.so, c.h.now);
    c.h.poll();
    expect(c.h.one().flags & TH.RST).toBe(TH.RST);
  });

  it('half-close: FIN after shutdown(SHUT_WR), data still received, then FIN from the peer → TIME_WAIT for 2*MSL', () => {
    const profile = withProfile(XNU_PROFILE, { mslMs: 1000 });
    const c = established({ profile });
    expect(soshutdown(c.so, 1, c.h.now)).toBe(0);
    c.h.poll();
    const fin = c.h.one();
    expect(fmt(fin)).toContain('[F.]');
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: fin.seq + 1, payload: data(20) });
    expect(recv(c.so, c.h.now).data.length).toBe(20);
    c.h.take();
    c.h.inject({ flags: TH.ACK | TH.FIN, seq: c.snd + 20, ack: fin.seq + 1 });
    expect(c.h.one().ack).toBe(c.snd + 21);
    const tp = conns(c.h)[0]!;
    expect(tcpStateNames[tp.t_state]).toBe('TIME_WAIT');
    // RFC 1337: a RST in TIME_WAIT is ignored.
    c.h.inject({ flags: TH.RST, seq: c.snd + 21 });
    expect(tp.t_state).toBe(TCPS_TIME_WAIT);
    expect(c.h.stats.tcps_rstintimewait).toBe(1);
    // A retransmitted FIN is acknowledged again.
    c.h.inject({ flags: TH.ACK | TH.FIN, seq: c.snd + 20, ack: fin.seq + 1 });
    expect(c.h.one().ack).toBe(c.snd + 21);
    soclose(c.so, c.h.now);
    c.h.advance(1999);
    expect(conns(c.h).length).toBe(1);
    c.h.advance(2);
    expect(conns(c.h).length).toBe(0);
  });

  it('a FIN from the peer gives EOF and CLOSE_WAIT; close then sends FIN (LAST_ACK) and the ACK frees everything', () => {
    const c = established();
    c.h.inject({ flags: TH.ACK | TH.FIN, seq: c.snd, ack: c.rcv });
    expect(c.h.one().ack).toBe(c.snd + 1);
    expect(c.so.so_state & SS_CANTRCVMORE).toBe(SS_CANTRCVMORE);
    expect(tcpcbOf(c.so)!.t_state).toBe(TCPS_CLOSE_WAIT);
    soclose(c.so, c.h.now);
    c.h.poll();
    const fin = c.h.one();
    expect(fin.flags).toBe(TH.FIN | TH.ACK);
    c.h.inject({ flags: TH.ACK, seq: c.snd + 1, ack: fin.seq + 1 });
    expect(conns(c.h).length).toBe(0);
    let live = 0;
    for (const _ of c.h.stack.sockets.sockets()) live++;
    expect(live).toBe(1); // the listener only
  });
});

describe('TIME_WAIT reuse (RFC 6191)', () => {
  it('a new SYN with a higher sequence number takes over the 4-tuple from TIME_WAIT', () => {
    const c = established({ sack: false });
    soclose(c.so, c.h.now);
    c.h.poll();
    const fin = c.h.one();
    c.h.inject({ flags: TH.ACK | TH.FIN, seq: c.snd, ack: fin.seq + 1 });
    c.h.take();
    expect(c.h.stack.tcp.tcpcbs().some((t) => t.t_state === TCPS_TIME_WAIT)).toBe(true);
    c.h.inject({ flags: TH.SYN, seq: c.snd + 100_000, opts: optMss(1460) });
    const sa = c.h.one();
    expect(sa.flags).toBe(TH.SYN | TH.ACK);
    expect(c.h.stats.tcps_tw_recycled).toBe(1);
  });
});

describe('hostile segments are counted and never throw', () => {
  it('bad data offset, truncated header, overrunning options, bad checksum', () => {
    const c = established();
    const before = c.h.stats.tcps_rcvtotal;
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, dataOffWords: 3 });
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, dataOffWords: 15 });
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, truncate: 30 });
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, opts: [2, 40, 1, 1], payload: data(4) });
    c.h.inject({ flags: TH.ACK, seq: c.snd + 4, ack: c.rcv, badSum: true, payload: data(4) });
    c.h.inject({ flags: TH.ACK, seq: c.snd + 4, ack: c.rcv, opts: [8, 10, 0, 0], payload: data(4) });
    const st = c.h.stats;
    expect(st.tcps_rcvbadoff).toBe(2);
    expect(st.tcps_rcvbadsum).toBe(1);
    expect(st.tcps_rcvbadopt).toBe(2);
    // The truncated header never reaches TCP as such (IP drops the short datagram) or is counted short.
    expect(st.tcps_rcvtotal - before).toBeGreaterThanOrEqual(5);
    expect(c.so.so_error).toBe(0);
    // Options are ignored past a malformed one, the data is kept (BSD tcp_dooptions).
    expect(recv(c.so, c.h.now).data.length).toBe(8);
  });
});

void optSack;
