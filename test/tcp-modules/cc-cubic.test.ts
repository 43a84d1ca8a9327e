// CUBIC (RFC 9438): the cubic function and K, beta = 0.7 reduction, fast convergence, the
// Reno-friendly region, the 1.5x-per-RTT target clamp, RTO handling, undo, epoch reset after idle.

import { describe, expect, it } from 'vitest';
import {
  CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, Cubic, CubicState, cubicK, cubicW,
} from '../../stack/tcp/tcp-cc-cubic.js';
import { TCP_MAXCWND } from '../../stack/tcp/tcp-cc-newreno.js';
import { FakeConn } from './fixtures.js';

const SMSS = 1000;
const S = 1_000_000; // µs per second

function conn(): FakeConn {
  const tp = new FakeConn(SMSS);
  tp.ccState = Cubic.newState();
  Cubic.connInit(tp, 10, 0);
  return tp;
}
const st = (tp: FakeConn): CubicState => tp.ccState as CubicState;

/** `rtts` rounds of ACKs, each acknowledging the window in SMSS-sized ACKs spread over one RTT. Returns the end time. */
function run(tp: FakeConn, now: number, rtts: number, rttUs: number): number {
  for (let r = 0; r < rtts; r++) {
    const n = Math.max(1, Math.floor(tp.snd_cwnd / SMSS));
    for (let i = 0; i < n; i++) Cubic.ackReceived(tp, SMSS, now + Math.floor((i * rttUs) / n));
    now += rttUs;
  }
  return now;
}

/** A connection that just took a loss at cwnd = `segs` segments. */
function afterLoss(segs: number, srttUs: number): FakeConn {
  const tp = conn();
  tp.snd_cwnd = segs * SMSS;
  tp.flight = tp.snd_cwnd;
  tp.srttUs = srttUs;
  tp.minRttUs = srttUs;
  Cubic.congSignal(tp, 'dupack', 0);
  return tp;
}

describe('RFC 9438 formulas', () => {
  it('has C = 0.4, beta = 0.7, alpha = 3(1-beta)/(1+beta)', () => {
    expect(CUBIC_C).toBe(0.4);
    expect(CUBIC_BETA).toBe(0.7);
    expect(CUBIC_ALPHA).toBeCloseTo(0.9 / 1.7, 12);
  });

  it('K = cbrt((W_max - cwnd_epoch) / C) and W_cubic passes through cwnd_epoch, W_max and beyond', () => {
    const k = cubicK(100, 70);
    expect(k).toBeCloseTo(Math.cbrt(75), 12);
    expect(k).toBeCloseTo(4.2172, 4);
    expect(cubicW(0, k, 100)).toBeCloseTo(70, 9);
    expect(cubicW(k, k, 100)).toBeCloseTo(100, 12);
    expect(cubicW(k + 1, k, 100)).toBeCloseTo(100.4, 9);
    expect(cubicW(k - 1, k, 100)).toBeCloseTo(99.6, 9);
    expect(cubicW(k + 2, k, 100)).toBeCloseTo(103.2, 9);
    expect(cubicW(1, k, 100)).toBeCloseTo(100 - 0.4 * (k - 1) ** 3, 9);
  });
});

describe('Cubic reductions', () => {
  it('starts like NewReno', () => {
    const tp = conn();
    expect(tp.snd_cwnd).toBe(10_000);
    expect(tp.snd_ssthresh).toBe(TCP_MAXCWND);
    for (let i = 0; i < 10; i++) Cubic.ackReceived(tp, SMSS, 0);
    expect(tp.snd_cwnd).toBe(20_000);
    Cubic.ackReceived(tp, 8 * SMSS, 0);
    expect(tp.snd_cwnd).toBe(22_000); // ABC L = 2*SMSS
  });

  it('dupack: ssthresh = cwnd * 0.7, cwnd = ssthresh, W_max = cwnd', () => {
    const tp = afterLoss(100, 100_000);
    expect(tp.snd_ssthresh).toBe(70_000);
    expect(tp.snd_cwnd).toBe(70_000);
    expect(st(tp).wMax).toBe(100_000);
    expect(st(tp).cwndPrior).toBe(100_000);
  });

  it('never sets ssthresh below 2*SMSS', () => {
    const tp = afterLoss(2, 100_000);
    expect(tp.snd_ssthresh).toBe(2000);
  });

  it('fast convergence lowers W_max to cwnd * (1 + beta) / 2 when the loss comes below W_max (§4.7)', () => {
    const tp = afterLoss(100, 100_000);
    tp.snd_cwnd = 80_000;
    Cubic.congSignal(tp, 'dupack', 0);
    expect(st(tp).wMax).toBeCloseTo(68_000, 6);
    expect(tp.snd_ssthresh).toBe(56_000);
    tp.snd_cwnd = 90_000;
    Cubic.congSignal(tp, 'ecn', 0);
    expect(st(tp).wMax).toBe(90_000);
    expect(tp.snd_ssthresh).toBe(63_000);
  });

  it('rto: ssthresh by beta, cwnd = 1 SMSS, first epoch after it has K = 0 and W_max = its cwnd (§4.8)', () => {
    const tp = afterLoss(100, 100_000);
    tp.snd_cwnd = 100_000;
    tp.snd_ssthresh = 80_000;
    Cubic.congSignal(tp, 'rto', 0);
    expect([tp.snd_ssthresh, tp.snd_cwnd]).toEqual([70_000, 1000]);
    Cubic.congSignal(tp, 'rto', 0); // the same data timing out again keeps ssthresh
    expect(tp.snd_ssthresh).toBe(70_000);
    // Slow start counts 1 SMSS per ACK after an RTO.
    Cubic.ackReceived(tp, 2 * SMSS, S);
    expect(tp.snd_cwnd).toBe(2000);
    while (tp.snd_cwnd < tp.snd_ssthresh) Cubic.ackReceived(tp, SMSS, S);
    const cw = tp.snd_cwnd;
    Cubic.ackReceived(tp, SMSS, 2 * S);
    expect(st(tp).k).toBe(0);
    expect(st(tp).wMax).toBe(cw);
    expect(st(tp).epochStart).toBe(2 * S);
  });

  it('rto-undo restores cwnd, ssthresh and W_max (§4.9)', () => {
    const tp = afterLoss(100, 100_000); // W_max 100000, cwnd 70000
    run(tp, S, 10, 100_000);
    const before = { cwnd: tp.snd_cwnd, ss: tp.snd_ssthresh, wMax: st(tp).wMax };
    tp.flight = tp.snd_cwnd;
    Cubic.congSignal(tp, 'rto', 3 * S);
    expect(tp.snd_cwnd).toBe(SMSS);
    Cubic.congSignal(tp, 'rto-undo', 3 * S);
    expect({ cwnd: tp.snd_cwnd, ss: tp.snd_ssthresh, wMax: st(tp).wMax }).toEqual(before);
    // The next epoch aims at the restored W_max again.
    Cubic.ackReceived(tp, SMSS, 4 * S);
    expect(st(tp).k).toBeCloseTo(cubicK(before.wMax / SMSS, tp.snd_cwnd / SMSS), 2);
  });

  it('postRecovery deflates like NewReno', () => {
    const tp = afterLoss(100, 100_000);
    tp.flight = 30_000;
    Cubic.postRecovery(tp, 0);
    expect(tp.snd_cwnd).toBe(31_000);
    tp.flight = 90_000;
    Cubic.postRecovery(tp, 0);
    expect(tp.snd_cwnd).toBe(70_000);
  });
});

describe('Cubic growth', () => {
  it('tracks W_cubic(t) through the concave and plateau regions after a loss', () => {
    const tp = afterLoss(100, 100_000);
    const k = cubicK(100, 70);
    const t0 = S;
    let now = t0;
    for (const until of [1, 2, 3, 4, 5]) {
      now = run(tp, now, Math.round((t0 + until * S - now) / 100_000), 100_000);
      const t = (now - t0) / S;
      expect(Math.abs(tp.snd_cwnd / SMSS - cubicW(t, k, 100)), `t=${t}`).toBeLessThan(0.3);
    }
    // Around K the window sits at W_max, growing slowly (the plateau).
    expect(tp.snd_cwnd).toBeGreaterThan(99_500);
    expect(tp.snd_cwnd).toBeLessThan(101_000);
  });

  it('grows at most 1.5x per RTT (target clamp, §4.2)', () => {
    const tp = conn();
    tp.snd_ssthresh = 10_000; // congestion avoidance from the start, W_max undefined: K = 0
    tp.srttUs = 100_000;
    Cubic.ackReceived(tp, SMSS, 0); // epoch starts
    expect(st(tp).k).toBe(0);
    const cw = tp.snd_cwnd;
    // Ten seconds later W_cubic is ~410 segments; one RTT of ACKs may only take cwnd to 1.5x.
    run(tp, 10 * S, 1, 100_000);
    expect(tp.snd_cwnd).toBeLessThanOrEqual(Math.ceil(1.5 * cw) + 1);
    expect(tp.snd_cwnd).toBeGreaterThan(1.45 * cw);
  });

  it('is Reno-friendly at small BDP: W_est (alpha_cubic, then 1) dominates the cubic curve (§4.3)', () => {
    const tp = afterLoss(20, 1000); // 1 ms RTT, W_max 20, cwnd 14 segments
    const k = cubicK(20, 14);
    let now = S;
    now = run(tp, now, 5, 1000);
    // ~alpha_cubic segments per RTT: 14 + 5 * 0.529 ≈ 16.6 segments, above W_cubic(5 ms) ≈ 14.
    expect(cubicW(0.005, k, 20)).toBeLessThan(14.1);
    expect(tp.snd_cwnd).toBeGreaterThan(16_300);
    expect(tp.snd_cwnd).toBeLessThan(16_900);
    expect(tp.snd_cwnd).toBe(Math.floor(st(tp).wEst));
    // Past cwnd_prior alpha becomes 1: about one segment per RTT.
    now = run(tp, now, 10, 1000);
    const a = tp.snd_cwnd;
    now = run(tp, now, 10, 1000);
    expect(tp.snd_cwnd - a).toBeGreaterThan(9_000);
    expect(tp.snd_cwnd - a).toBeLessThan(11_000);
    expect(tp.snd_cwnd / SMSS).toBeGreaterThan(cubicW((now - S) / S, k, 20));
  });

  it('restarts the epoch after idle, so idle time does not count as growth time', () => {
    const mk = () => {
      const tp = conn(); // cwnd = IW = 10 segments
      tp.snd_ssthresh = 5000;
      tp.srttUs = 100_000;
      run(tp, 0, 1, 100_000); // epoch running
      return tp;
    };
    const idle = mk();
    const cw = idle.snd_cwnd;
    Cubic.afterIdle(idle, 100 * S, 100 * S);
    expect(idle.snd_cwnd).toBe(Math.min(cw, 10_000));
    expect(st(idle).epochStart).toBe(-1);
    const w0 = idle.snd_cwnd;
    run(idle, 100 * S, 1, 100_000);
    expect(idle.snd_cwnd - w0).toBeLessThanOrEqual(1100); // about one Reno segment

    const control = mk(); // no afterIdle: 100 s of "growth time" would push cwnd to the clamp
    const c0 = control.snd_cwnd;
    run(control, 100 * S, 1, 100_000);
    expect(control.snd_cwnd).toBeGreaterThan(1.45 * c0);
  });

  it('applies the restart window after idle (RFC 5681 §4.1)', () => {
    const tp = afterLoss(100, 100_000);
    Cubic.afterIdle(tp, 10 * S, 10 * S);
    expect(tp.snd_cwnd).toBe(10_000);
  });
});
