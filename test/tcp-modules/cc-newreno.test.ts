// NewReno: RFC 5681 with RFC 3465 ABC (L = 2*SMSS) in slow start and byte counting in congestion
// avoidance; halving on loss, the loss window on RTO, undo, RFC 6582 exit, RFC 5681 restart.

import { describe, expect, it } from 'vitest';
import { NewReno, TCP_MAXCWND, initialWindowBytes } from '../../stack/tcp/tcp-cc-newreno.js';
import { ccByName, CC_NAMES } from '../../stack/tcp/tcp-cc-registry.js';
import { Cubic } from '../../stack/tcp/tcp-cc-cubic.js';
import { FakeConn } from './fixtures.js';

const SMSS = 1000;

function conn(iw = 10, smss = SMSS): FakeConn {
  const tp = new FakeConn(smss);
  tp.ccState = NewReno.newState();
  NewReno.connInit(tp, iw, 0);
  return tp;
}

/** One RTT of ACKs: the whole window acknowledged in ACKs of `per` bytes. */
function rttOfAcks(tp: FakeConn, per = SMSS): void {
  const w = tp.snd_cwnd;
  for (let a = 0; a < w; a += per) NewReno.ackReceived(tp, Math.min(per, w - a), 0);
}

describe('initial window', () => {
  it('follows RFC 6928 for IW10 and RFC 3390 for IW <= 4', () => {
    expect(initialWindowBytes(1460, 10)).toBe(14600);
    expect(initialWindowBytes(1000, 10)).toBe(10000);
    expect(initialWindowBytes(9000, 10)).toBe(18000); // max(2*MSS, 14600) caps it
    expect(initialWindowBytes(1460, 4)).toBe(4380);
    expect(initialWindowBytes(536, 4)).toBe(2144);
    expect(initialWindowBytes(1460, 1)).toBe(1460);
  });

  it('connInit sets cwnd = IW and a huge ssthresh', () => {
    const tp = conn(10, 1460);
    expect(tp.snd_cwnd).toBe(14600);
    expect(tp.snd_ssthresh).toBe(TCP_MAXCWND);
    expect(TCP_MAXCWND).toBe(65535 * 16384);
  });
});

describe('NewReno growth', () => {
  it('slow start doubles cwnd per RTT of per-segment ACKs', () => {
    const tp = conn();
    rttOfAcks(tp);
    expect(tp.snd_cwnd).toBe(20_000);
    rttOfAcks(tp);
    expect(tp.snd_cwnd).toBe(40_000);
  });

  it('slow start also doubles with delayed ACKs (ABC counts bytes, L = 2*SMSS)', () => {
    const tp = conn();
    rttOfAcks(tp, 2 * SMSS);
    expect(tp.snd_cwnd).toBe(20_000);
  });

  it('a stretch ACK grows cwnd by at most 2*SMSS (RFC 3465 §2.2)', () => {
    const tp = conn();
    NewReno.ackReceived(tp, 8 * SMSS, 0);
    expect(tp.snd_cwnd).toBe(12_000);
    NewReno.ackReceived(tp, 500, 0);
    expect(tp.snd_cwnd).toBe(12_500);
  });

  it('congestion avoidance adds one SMSS per window of acknowledged bytes', () => {
    const tp = conn();
    tp.snd_ssthresh = 10_000;
    rttOfAcks(tp);
    expect(tp.snd_cwnd).toBe(11_000);
    rttOfAcks(tp);
    expect(tp.snd_cwnd).toBe(12_000);
    for (let i = 0; i < 8; i++) rttOfAcks(tp, 2 * SMSS);
    expect(tp.snd_cwnd).toBe(20_000);
    // Less than a window acknowledged: no growth yet.
    NewReno.ackReceived(tp, 19_000, 0);
    expect(tp.snd_cwnd).toBe(20_000);
    NewReno.ackReceived(tp, 1000, 0);
    expect(tp.snd_cwnd).toBe(21_000);
  });

  it('ignores zero and negative acked counts', () => {
    const tp = conn();
    NewReno.ackReceived(tp, 0, 0);
    NewReno.ackReceived(tp, -5, 0);
    expect(tp.snd_cwnd).toBe(10_000);
  });
});

describe('NewReno congestion signals', () => {
  it('dupack: ssthresh = max(flight/2, 2*SMSS) in whole segments, cwnd = ssthresh', () => {
    const tp = conn();
    tp.snd_cwnd = 20_000;
    tp.flight = 20_000;
    NewReno.congSignal(tp, 'dupack', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([10_000, 10_000]);
    tp.flight = 15_500;
    NewReno.congSignal(tp, 'dupack', 0);
    expect(tp.snd_ssthresh).toBe(7000);
    tp.flight = 3000;
    NewReno.congSignal(tp, 'dupack', 0);
    expect(tp.snd_ssthresh).toBe(2000);
  });

  it('ecn reduces like dupack', () => {
    const tp = conn();
    tp.snd_cwnd = 30_000;
    tp.flight = 30_000;
    NewReno.congSignal(tp, 'ecn', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([15_000, 15_000]);
  });

  it('rto: loss window of 1 SMSS; repeated RTOs keep ssthresh; undo restores', () => {
    const tp = conn();
    tp.snd_cwnd = 20_000;
    tp.snd_ssthresh = 50_000;
    tp.flight = 20_000;
    NewReno.congSignal(tp, 'rto', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([10_000, 1000]);
    tp.flight = 1000;
    NewReno.congSignal(tp, 'rto', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([10_000, 1000]);
    NewReno.congSignal(tp, 'rto-undo', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([50_000, 20_000]);
    // Nothing saved any more: a second undo changes nothing.
    tp.snd_cwnd = 7000;
    NewReno.congSignal(tp, 'rto-undo', 0);
    expect(tp.snd_cwnd).toBe(7000);
  });

  it('slow start after an RTO counts at most 1 SMSS per ACK (RFC 3465 §2.3)', () => {
    const tp = conn();
    tp.flight = 20_000;
    NewReno.congSignal(tp, 'rto', 0);
    NewReno.ackReceived(tp, 2 * SMSS, 0);
    expect(tp.snd_cwnd).toBe(2000);
    // A new loss after the RTO: no undo back to the pre-RTO window.
    tp.flight = 8000;
    NewReno.congSignal(tp, 'dupack', 0);
    NewReno.congSignal(tp, 'rto-undo', 0);
    expect(tp.snd_cwnd).toBe(4000);
  });

  it('postRecovery: cwnd = min(ssthresh, max(flight, SMSS) + SMSS) (RFC 6582 §3.2 step 3)', () => {
    const tp = conn();
    tp.snd_ssthresh = 10_000;
    tp.flight = 3000;
    NewReno.postRecovery(tp, 0);
    expect(tp.snd_cwnd).toBe(4000);
    tp.flight = 20_000;
    NewReno.postRecovery(tp, 0);
    expect(tp.snd_cwnd).toBe(10_000);
    tp.flight = 0;
    NewReno.postRecovery(tp, 0);
    expect(tp.snd_cwnd).toBe(2000);
  });

  it('afterIdle: cwnd = min(cwnd, IW) (RFC 5681 §4.1)', () => {
    const tp = conn();
    tp.snd_cwnd = 50_000;
    NewReno.afterIdle(tp, 5_000_000, 0);
    expect(tp.snd_cwnd).toBe(10_000);
    tp.snd_cwnd = 5000;
    NewReno.afterIdle(tp, 5_000_000, 0);
    expect(tp.snd_cwnd).toBe(5000);
  });

  it('creates its state when handed a foreign one', () => {
    const tp = new FakeConn();
    tp.ccState = { something: 'else' };
    NewReno.connInit(tp, 10, 0);
    expect(tp.snd_cwnd).toBe(10_000);
  });
});

describe('ccByName', () => {
  it('finds both algorithms and nothing else', () => {
    expect(ccByName('newreno')).toBe(NewReno);
    expect(ccByName('cubic')).toBe(Cubic);
    expect(ccByName('CUBIC')).toBe(Cubic);
    expect(ccByName('bbr')).toBeNull();
    expect(CC_NAMES.map((n) => ccByName(n)?.name)).toEqual(['newreno', 'cubic']);
  });
});
