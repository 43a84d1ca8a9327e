// Malformed and hostile TCP segments fed straight into one stack's interface (a capturing link,
// test/ip/helpers.ts), against a listening socket and an established connection whose peer is
// this test: bad data offsets, options overrunning the header, zero-length options, RSTs and
// SYNs outside or inside the window (RFC 5961 challenge ACKs and their rate limit), ACKs for
// unsent data, random garbage, and a fast-check flood of random headers. The stack never throws,
// each drop moves its counter, and the connection survives whatever it should survive.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { host, ipv6 } from '../ip/helpers.js';
import type { Host } from '../ip/helpers.js';
import { emitIpv4 } from '../../stack/wire/ipv4.js';
import { l4Checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../stack/wire/checksum.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../../stack/wire/tcp.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import type { Socket } from '../../stack/socket/socket.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { soclose } from '../../stack/socket/so-ops.js';
import { MSG_DONTWAIT, SS_ISCONNECTED } from '../../stack/socket/constants.js';
import { ECONNRESET } from '../../stack/errno.js';
import { Connector, listen } from './apps.js';
import type { Acceptor } from './apps.js';
import { BASE_SEED, stat, stateName, tcpPcbCount, tcpStats, tcpcbOf } from './harness.js';

const ME = '198.18.0.2';
const PEER = '198.18.0.1';
const ME_A = IpAddr.of(ME), PEER_A = IpAddr.of(PEER);
const ME6 = IpAddr.of('2001:db8::2'), PEER6 = IpAddr.of('2001:db8::1');
const LPORT = 80;
const PEER_PORT = 40000;
const PEER_ISS = 1_000_000;

// ---- building segments ----

export interface SegSpec {
  readonly sport?: number;
  readonly dport?: number;
  readonly seq: number;
  readonly ack?: number;
  readonly flags: number;
  readonly win?: number;
  /** Raw option bytes; padded with zeros (EOL) to a multiple of 4 unless dataOffWords is given. */
  readonly opts?: readonly number[];
  readonly payload?: Uint8Array;
  /** Data offset field as sent (words), overriding the real header length. */
  readonly dataOffWords?: number;
  readonly badSum?: boolean;
  /** IPv4 (default) or IPv6 (2001:db8::1 → 2001:db8::2). */
  readonly family?: 4 | 6;
}

let ipId = 1;

/** An IPv4 (or IPv6) packet PEER → ME carrying the TCP segment `s` (checksum right unless badSum). */
export function packet(s: SegSpec): Uint8Array {
  const v6 = s.family === 6;
  const opts = [...(s.opts ?? [])];
  if (s.dataOffWords === undefined) while (opts.length % 4 !== 0) opts.push(0);
  const payload = s.payload ?? new Uint8Array(0);
  const tlen = 20 + opts.length + payload.length;
  const ihl = v6 ? 40 : 20;
  const buf = new Uint8Array(ihl + tlen);
  if (v6) {
    buf.set(ipv6({ src: PEER6.toString(), dst: ME6.toString(), nxt: 6, plen: tlen }), 0);
  } else {
    emitIpv4({
      src: PEER_A, dst: ME_A, protocol: 6, ttl: 64, tos: 0, ident: ipId++ & 0xffff, dontFrag: true,
      moreFrags: false, fragOffset: 0, payloadLen: tlen,
    }, buf, 0);
  }
  const t = buf.subarray(ihl);
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  dv.setUint16(0, s.sport ?? PEER_PORT);
  dv.setUint16(2, s.dport ?? LPORT);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, (s.ack ?? 0) >>> 0);
  t[12] = ((s.dataOffWords ?? (20 + opts.length) / 4) & 0xf) << 4;
  t[13] = s.flags & 0xff;
  dv.setUint16(14, s.win ?? 65535);
  t.set(opts, 20);
  t.set(payload, 20 + opts.length);
  const pseudo = v6 ? pseudoHeaderSum6(PEER6.bytes, 0, ME6.bytes, 0, 6, tlen) : pseudoHeaderSum4(PEER_A.bytes, 0, ME_A.bytes, 0, 6, tlen);
  const sum = l4Checksum(t, 0, tlen, pseudo);
  dv.setUint16(16, s.badSum === true ? sum ^ 0x1234 : sum);
  return buf;
}

interface Out { seq: number; ack: number; flags: number; win: number; len: number; sport: number; dport: number }

/** The TCP segments the stack sent since the last call. */
function sent(h: Host): Out[] {
  return h.link.take().filter((p) => (p[0]! >> 4 === 4 && p[9] === 6) || (p[0]! >> 4 === 6 && p[6] === 6)).map((p) => {
    const v6 = p[0]! >> 4 === 6;
    const hl = v6 ? 40 : (p[0]! & 15) * 4;
    const total = v6 ? 40 + ((p[4]! << 8) | p[5]!) : (p[2]! << 8) | p[3]!;
    const t = p.subarray(hl, total);
    const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
    return {
      sport: dv.getUint16(0), dport: dv.getUint16(2), seq: dv.getUint32(4), ack: dv.getUint32(8),
      flags: t[13]!, win: dv.getUint16(14), len: t.length - (t[12]! >> 4) * 4,
    };
  });
}

// ---- the fixture: a listener and one established connection with this test as the peer ----

interface Fixture {
  h: Host;
  acceptor: Acceptor<Connector>;
  child: Socket;
  /** The stack's next sequence number (its ISS + 1) and ours. */
  sndNxt: number;
  rcvNxt: number;
  family: 4 | 6;
}

function fixture(seed: number, family: 4 | 6 = 4): Fixture {
  const h = host({ addrs: [`${ME}/24`, '2001:db8::2/64'], seed });
  const acceptor = listen(h.stack, { family, port: LPORT }, (s, so) => new Connector(s, so));
  h.inject(packet({ family, seq: PEER_ISS, flags: TH_SYN, opts: [2, 4, 0x05, 0xb4] }));
  h.poll();
  const synack = sent(h).find((o) => (o.flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK));
  if (synack === undefined) throw new Error('no SYN-ACK from the listener');
  expect(synack.ack).toBe(PEER_ISS + 1);
  h.inject(packet({ family, seq: PEER_ISS + 1, ack: synack.seq + 1, flags: TH_ACK }));
  h.poll();
  expect(acceptor.apps.length).toBe(1);
  sent(h);
  return { h, acceptor, child: acceptor.apps[0]!.so, sndNxt: (synack.seq + 1) >>> 0, rcvNxt: PEER_ISS + 1, family };
}

/** A segment on the fixture's connection at its current sequence numbers (fields overridable). */
const onConn = (f: Fixture, s: Partial<SegSpec> & { flags: number }): Uint8Array =>
  packet({ family: f.family, seq: f.rcvNxt, ack: f.sndNxt, ...s });

const established = (f: Fixture): boolean =>
  (f.child.so_state & SS_ISCONNECTED) !== 0 && f.child.so_error === 0 && stateName(tcpcbOf(f.child)) === 'ESTABLISHED';

/** Counter deltas around `fn`. */
function delta(f: Fixture, fn: () => void): (name: string) => number {
  const before = { ...tcpStats(f.h.stack) };
  fn();
  const after = tcpStats(f.h.stack);
  return (name) => (after[name] ?? 0) - (before[name] ?? 0);
}

/** Sends 5 bytes on the connection and checks they arrive: the connection still works. */
function stillWorks(f: Fixture): void {
  const data = Uint8Array.of(1, 2, 3, 4, 5);
  f.h.inject(onConn(f, { flags: TH_ACK | TH_PUSH, payload: data }));
  f.rcvNxt = (f.rcvNxt + 5) >>> 0;
  const msg = new SoRecvMsg();
  const buf = new Uint8Array(64);
  expect(soreceive(f.child, [buf], MSG_DONTWAIT, msg, f.h.now())).toBe(0);
  expect(Array.from(buf.subarray(0, msg.len))).toEqual([1, 2, 3, 4, 5]);
  f.h.advance(500); // delayed ACK
  const acks = sent(f.h);
  expect(acks.some((o) => o.ack === f.rcvNxt)).toBe(true);
}

describe('malformed segments', () => {
  it(`data offset below five words is dropped and counted (seed ${BASE_SEED + 300})`, () => {
    const f = fixture(BASE_SEED + 300);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, dataOffWords: 4, payload: new Uint8Array(8) })));
    expect(d('tcps_rcvbadoff')).toBe(1);
    expect(sent(f.h)).toEqual([]);
    expect(established(f)).toBe(true);
    stillWorks(f);
  });

  it(`data offset beyond the segment is dropped and counted (seed ${BASE_SEED + 301})`, () => {
    const f = fixture(BASE_SEED + 301);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, dataOffWords: 15 })));
    expect(d('tcps_rcvbadoff')).toBe(1);
    expect(sent(f.h)).toEqual([]);
    stillWorks(f);
  });

  it(`an option whose length overruns the header is counted and does not break the connection (seed ${BASE_SEED + 302})`, () => {
    const f = fixture(BASE_SEED + 302);
    // NOP NOP then an MSS option (length 4) with only two bytes left in the header.
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, opts: [1, 1, 2, 4], dataOffWords: 6 })));
    expect(d('tcps_rcvbadopt')).toBe(1);
    expect(established(f)).toBe(true);
    stillWorks(f);
  });

  it(`a zero-length option cannot loop the parser (seed ${BASE_SEED + 303})`, () => {
    const f = fixture(BASE_SEED + 303);
    for (const kind of [8, 5, 3, 99]) {
      const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, opts: [kind, 0, 0, 0] })));
      expect(d('tcps_rcvbadopt'), `kind ${kind}`).toBe(1);
    }
    // And a length of 1 (less than kind + length).
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, opts: [30, 1, 0, 0] })));
    expect(d('tcps_rcvbadopt')).toBe(1);
    stillWorks(f);
  });

  it(`a bad checksum is dropped and counted (seed ${BASE_SEED + 304})`, () => {
    const f = fixture(BASE_SEED + 304);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, badSum: true })));
    expect(d('tcps_rcvbadsum')).toBe(1);
    expect(established(f)).toBe(true);
  });

  it(`a corrupted segment is a checksum drop even when the damage hit the data offset (XNU checks the sum first) (seed ${BASE_SEED + 306})`, () => {
    const f = fixture(BASE_SEED + 306);
    // XNU tcp_input verifies th_sum before looking at th_off: line noise is tcps_rcvbadsum, and
    // tcps_rcvbadoff is left for well-formed-but-lying headers.
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, dataOffWords: 3, payload: new Uint8Array(8), badSum: true })));
    expect([d('tcps_rcvbadsum'), d('tcps_rcvbadoff')]).toEqual([1, 0]);
  });

  it(`segments shorter than a TCP header are dropped and counted (seed ${BASE_SEED + 305})`, () => {
    const f = fixture(BASE_SEED + 305);
    for (const n of [0, 1, 8, 19]) {
      const full = onConn(f, { flags: TH_ACK });
      const p = full.slice(0, 20 + n);
      p[2] = (20 + n) >> 8; p[3] = (20 + n) & 0xff; // IP total length
      p[10] = 0; p[11] = 0;
      emitIpv4({
        src: PEER_A, dst: ME_A, protocol: 6, ttl: 64, tos: 0, ident: ipId++, dontFrag: true, moreFrags: false,
        fragOffset: 0, payloadLen: n,
      }, p, 0);
      const d = delta(f, () => f.h.inject(p));
      expect(d('tcps_rcvshort'), `${n} bytes`).toBe(1);
    }
    stillWorks(f);
  });
});

describe('RFC 5961 blind-attack defences', () => {
  it(`a RST outside the window is dropped silently (seed ${BASE_SEED + 310})`, () => {
    const f = fixture(BASE_SEED + 310);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 50_000_000) >>> 0, ack: 0 })));
    expect(d('tcps_badrst')).toBe(1);
    expect(sent(f.h)).toEqual([]);
    expect(established(f)).toBe(true);
    stillWorks(f);
  });

  it(`a RST inside the window but not at RCV.NXT gets a challenge ACK (seed ${BASE_SEED + 311})`, () => {
    const f = fixture(BASE_SEED + 311);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 1000) >>> 0, ack: 0 })));
    expect(d('tcps_rstchallenge')).toBe(1);
    expect(d('tcps_challengeacks')).toBe(1);
    f.h.poll();
    expect(sent(f.h)).toEqual([expect.objectContaining({ flags: TH_ACK, seq: f.sndNxt, ack: f.rcvNxt, len: 0 })]);
    expect(established(f)).toBe(true);
    stillWorks(f);
  });

  it(`a RST exactly at RCV.NXT resets the connection: ECONNRESET (seed ${BASE_SEED + 312})`, () => {
    const f = fixture(BASE_SEED + 312);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, ack: 0 })));
    expect(d('tcps_rstreset')).toBe(1);
    expect(f.child.so_error).toBe(ECONNRESET);
    expect(sent(f.h)).toEqual([]);
  });

  it(`a SYN on an established connection, in or out of the window, gets a challenge ACK (seed ${BASE_SEED + 313})`, () => {
    const f = fixture(BASE_SEED + 313);
    for (const seq of [f.rcvNxt, (f.rcvNxt + 100) >>> 0, (f.rcvNxt - 100_000) >>> 0, (f.rcvNxt + 80_000_000) >>> 0]) {
      f.h.advance(1100); // stay under the challenge-ACK rate limit
      sent(f.h);
      const d = delta(f, () => f.h.inject(packet({ seq, flags: TH_SYN, opts: [2, 4, 0x05, 0xb4] })));
      f.h.poll();
      expect(d('tcps_synchallenge'), `seq ${seq}`).toBe(1);
      expect(sent(f.h), `seq ${seq}`).toEqual([expect.objectContaining({ flags: TH_ACK, seq: f.sndNxt, ack: f.rcvNxt })]);
      expect(established(f)).toBe(true);
    }
    stillWorks(f);
  });

  it(`an ACK for data never sent is dropped and answered with an ACK (seed ${BASE_SEED + 314})`, () => {
    const f = fixture(BASE_SEED + 314);
    const d = delta(f, () => f.h.inject(onConn(f, { flags: TH_ACK, ack: (f.sndNxt + 100_000) >>> 0, payload: Uint8Array.of(9, 9) })));
    f.h.poll();
    expect(d('tcps_rcvacktoomuch') + d('tcps_rcvackoutofwindow')).toBe(1);
    const out = sent(f.h);
    expect(out).toEqual([expect.objectContaining({ flags: TH_ACK, seq: f.sndNxt, ack: f.rcvNxt, len: 0 })]);
    // The data rode on an unacceptable ACK: not delivered.
    expect(f.child.so_rcv.sb_cc).toBe(0);
    expect(established(f)).toBe(true);
    stillWorks(f);
  });

  it(`challenge ACKs are rate limited per connection (profile challengeAckLimit per second) (seed ${BASE_SEED + 315})`, () => {
    const f = fixture(BASE_SEED + 315);
    const d = delta(f, () => {
      for (let i = 0; i < 30; i++) f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 1000 + i) >>> 0, ack: 0 }));
      f.h.poll();
    });
    const acks = sent(f.h).length;
    expect(acks).toBe(10); // XNU_PROFILE.challengeAckLimit
    expect(d('tcps_challengeacks')).toBe(10);
    expect(d('tcps_challengeack_limited')).toBe(20);
    expect(established(f)).toBe(true);
    // A second later the budget is back.
    f.h.advance(1001);
    sent(f.h);
    f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 1000) >>> 0, ack: 0 }));
    f.h.poll();
    expect(sent(f.h).length).toBe(1);
  });

  it(`an ACK to a listener is answered with a RST at SEG.ACK (seed ${BASE_SEED + 316})`, () => {
    const f = fixture(BASE_SEED + 316);
    f.h.inject(packet({ sport: 41000, seq: 5, ack: 777_777, flags: TH_ACK }));
    f.h.poll();
    expect(sent(f.h)).toEqual([expect.objectContaining({ flags: TH_RST, seq: 777_777, dport: 41000 })]);
    expect(f.acceptor.apps.length).toBe(1);
  });
});

describe('IPv6', () => {
  it(`bad checksum, out-of-window RST, in-window RST, SYN and an exact RST over IPv6 (seed ${BASE_SEED + 340})`, () => {
    const f = fixture(BASE_SEED + 340, 6);
    let d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, badSum: true })));
    expect(d('tcps_rcvbadsum')).toBe(1);
    d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 50_000_000) >>> 0, ack: 0 })));
    expect(d('tcps_badrst')).toBe(1);
    d = delta(f, () => { f.h.inject(onConn(f, { flags: TH_RST, seq: (f.rcvNxt + 10) >>> 0, ack: 0 })); f.h.poll(); });
    expect(d('tcps_rstchallenge')).toBe(1);
    expect(sent(f.h)).toEqual([expect.objectContaining({ flags: TH_ACK, seq: f.sndNxt, ack: f.rcvNxt })]);
    f.h.advance(1100);
    sent(f.h);
    d = delta(f, () => { f.h.inject(packet({ family: 6, seq: 12345, flags: TH_SYN })); f.h.poll(); });
    expect(d('tcps_synchallenge')).toBe(1);
    expect(established(f)).toBe(true);
    stillWorks(f);
    d = delta(f, () => f.h.inject(onConn(f, { flags: TH_RST, ack: 0 })));
    expect(d('tcps_rstreset')).toBe(1);
    expect(f.child.so_error).toBe(ECONNRESET);
  });
});

// ---- random input ----

const segArb = fc.record({
  target: fc.constantFrom('conn', 'listener', 'closed-port', 'other-peer-port'),
  flags: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(TH_SYN, TH_RST, TH_ACK, TH_FIN | TH_ACK, TH_RST | TH_ACK, TH_SYN | TH_FIN)),
  seqMode: fc.constantFrom('exact', 'near', 'random'),
  seqOff: fc.integer({ min: -70_000, max: 70_000 }),
  rawSeq: fc.integer({ min: 0, max: 0xffffffff }),
  ackMode: fc.constantFrom('exact', 'near', 'random'),
  ackOff: fc.integer({ min: -70_000, max: 70_000 }),
  rawAck: fc.integer({ min: 0, max: 0xffffffff }),
  win: fc.integer({ min: 0, max: 65535 }),
  opts: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
  dataOffWords: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }),
  payloadLen: fc.integer({ min: 0, max: 300 }),
  badSum: fc.boolean(),
  advanceMs: fc.constantFrom(0, 0, 0, 1, 50, 300, 1500),
});

describe('random input', () => {
  it(`random garbage after a valid IPv4 header never throws (seed ${BASE_SEED + 320})`, () => {
    const f = fixture(BASE_SEED + 320);
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.constantFrom(LPORT, PEER_PORT, 1234), (junk, port) => {
      const buf = new Uint8Array(20 + junk.length);
      emitIpv4({
        src: PEER_A, dst: ME_A, protocol: 6, ttl: 64, tos: 0, ident: ipId++ & 0xffff, dontFrag: false,
        moreFrags: false, fragOffset: 0, payloadLen: junk.length,
      }, buf, 0);
      buf.set(junk, 20);
      if (junk.length >= 4) { buf[22] = port >> 8; buf[23] = port & 0xff; }
      const before = stat(f.h.stack, 'tcps_rcvtotal');
      f.h.inject(buf);
      f.h.advance(1);
      sent(f.h);
      expect(stat(f.h.stack, 'tcps_rcvtotal')).toBe(before + 1);
    }), { seed: BASE_SEED + 320, numRuns: 500 });
  });

  it(`a flood of random TCP headers against a listener and an established connection, IPv4 and IPv6 (seed ${BASE_SEED + 321})`, () => {
    fc.assert(fc.property(fc.array(segArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 1 << 30 }), fc.constantFrom<4 | 6>(4, 6), (segs, hostSeed, family) => {
      const f = fixture(hostSeed, family);
      let injected = 0;
      for (const s of segs) {
        const base = s.target === 'conn' ? f.rcvNxt : PEER_ISS + 7;
        const seq = s.seqMode === 'exact' ? base : s.seqMode === 'near' ? (base + s.seqOff) >>> 0 : s.rawSeq;
        const ack = s.ackMode === 'exact' ? f.sndNxt : s.ackMode === 'near' ? (f.sndNxt + s.ackOff) >>> 0 : s.rawAck;
        const sport = s.target === 'other-peer-port' ? PEER_PORT + 1 : PEER_PORT;
        const dport = s.target === 'closed-port' ? 81 : LPORT;
        f.h.inject(packet({
          family, sport, dport, seq, ack, flags: s.flags, win: s.win, opts: s.opts, dataOffWords: s.dataOffWords,
          payload: new Uint8Array(s.payloadLen).fill(0xab), badSum: s.badSum,
        }));
        injected++;
        f.h.advance(s.advanceMs);
        sent(f.h);
      }
      // Every segment was counted on arrival.
      expect(stat(f.h.stack, 'tcps_rcvtotal')).toBeGreaterThanOrEqual(injected + 2);
      // The connection is alive (ESTABLISHED, or CLOSE_WAIT after an exact FIN), or it was reset
      // by a RST that matched it exactly and the socket says so.
      const so = f.child;
      const state = stateName(tcpcbOf(so));
      const alive = (so.so_state & SS_ISCONNECTED) !== 0 && (state === 'ESTABLISHED' || state === 'CLOSE_WAIT');
      const reset = (so.so_state & SS_ISCONNECTED) === 0 && (so.so_error === ECONNRESET || tcpcbOf(so) === null);
      expect(alive || reset, `state ${state}, so_state ${so.so_state.toString(16)}, so_error ${so.so_error}`).toBe(true);
      // The listener still takes new connections.
      const before = f.acceptor.apps.length;
      f.h.inject(packet({ family, sport: 50_000, seq: 42, flags: TH_SYN, opts: [2, 4, 0x05, 0xb4] }));
      f.h.poll();
      const sa = sent(f.h).find((o) => o.dport === 50_000 && (o.flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK));
      expect(sa).toBeDefined();
      f.h.inject(packet({ family, sport: 50_000, seq: 43, ack: (sa!.seq + 1) >>> 0, flags: TH_ACK }));
      f.h.poll();
      expect(f.acceptor.apps.length).toBe(before + 1);
      // Tear down: close everything, let every timer run, nothing leaks.
      for (const app of f.acceptor.apps) soclose(app.so, f.h.now());
      f.acceptor.close();
      // Up to 5 virtual hours: FIN retransmission, FIN_WAIT_2, TIME_WAIT, persist-idle limits.
      for (let i = 0; i < 300 && tcpPcbCount(f.h.stack) !== 0; i++) {
        f.h.advance(60_000);
        sent(f.h);
      }
      expect(tcpPcbCount(f.h.stack)).toBe(0);
      f.h.stack.drain();
      expect(f.h.stack.pool.stats.mbufsInUse).toBe(0);
    }), { seed: BASE_SEED + 321, numRuns: 300 });
  });
});
