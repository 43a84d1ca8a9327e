// RFC 6298 estimator with XNU's RTO formula: clamp(max(rtoMin, SRTT + max(G, 4*RTTVAR)) + slop,
// max(rtoMin, lastRtt + 2 ms), rtoMax); backoff multiplies the base and adds the slop once.

import { describe, expect, it } from 'vitest';
import { XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import { RttEstimator } from '../../stack/tcp/tcp-rtt.js';

const ms = (x: number): number => x * 1000;
/** RFC 6298 as written: RTO >= 1 s, no slop, no max below 60 s. */
const RFC = withProfile(XNU_PROFILE, { rtoMinMs: 1000, rexmtSlopMs: 0, rtoMaxMs: 60_000 });

describe('RttEstimator', () => {
  it('uses the initial RTO before any sample', () => {
    const r = new RttEstimator(XNU_PROFILE);
    expect(r.samples).toBe(0);
    expect(r.rtoUs()).toBe(ms(1000));
    expect(r.srttUs).toBe(0);
    expect(r.minRttUs).toBe(0);
  });

  it('first sample: SRTT = R, RTTVAR = R/2 (RFC 6298 §2.2)', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(100));
    expect(r.srttUs).toBe(ms(100));
    expect(r.rttvarUs).toBe(ms(50));
    // XNU: 100 + 4*50 = 300 ms, + 200 ms slop.
    expect(r.rtoUs()).toBe(ms(500));
    const rfc = new RttEstimator(RFC);
    rfc.sample(ms(100));
    expect(rfc.rtoUs()).toBe(ms(1000)); // §2.4: rounded up to 1 s
  });

  it('later samples: RTTVAR from the old SRTT, then SRTT (RFC 6298 §2.3)', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(100));
    r.sample(ms(200));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
    expect(r.rttvarUs).toBe(ms(62.5));
    expect(r.srttUs).toBe(ms(112.5));
    expect(r.rtoUs()).toBe(ms(112.5 + 250 + 200));
    r.sample(ms(50));
    // RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5; SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875
    expect(r.rttvarUs).toBe(ms(62.5));
    expect(r.srttUs).toBe(ms(104.6875));
    expect(r.minRttUs).toBe(ms(50));
    expect(r.lastRttUs).toBe(ms(50));
    expect(r.samples).toBe(3);
  });

  it('clamps to rtoMin + slop on a fast path and to rtoMax on a slow one', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(1));
    expect(r.rtoUs()).toBe(ms(30 + 200));
    const slow = new RttEstimator(XNU_PROFILE);
    slow.sample(ms(30_000));
    expect(slow.rtoUs()).toBe(ms(64_000));
  });

  it('uses G when RTTVAR has decayed, and XNU\'s floor of the last sample + 2 ms', () => {
    const r = new RttEstimator(withProfile(XNU_PROFILE, { rtoMinMs: 0, rexmtSlopMs: 0 }));
    for (let i = 0; i < 200; i++) r.sample(ms(10));
    expect(r.rttvarUs).toBeLessThan(1);
    expect(r.baseRtoUs()).toBeCloseTo(ms(11), 0); // SRTT + G
    expect(r.rtoUs()).toBe(ms(12)); // raised to lastRtt + 2 ms
  });

  it('backs off the base RTO by the table and adds the slop once', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(100)); // base 300 ms
    const b = XNU_PROFILE.backoff;
    expect(r.backoffUs(0, b)).toBe(ms(500));
    expect(r.backoffUs(1, b)).toBe(ms(600 + 200));
    expect(r.backoffUs(3, b)).toBe(ms(2400 + 200));
    expect(r.backoffUs(6, b)).toBe(ms(64 * 300 + 200));
    expect(r.backoffUs(40, b)).toBe(ms(64 * 300 + 200)); // past the table: its last entry
    const big = new RttEstimator(XNU_PROFILE);
    big.sample(ms(2000)); // base 6 s
    expect(big.backoffUs(5, b)).toBe(ms(64_000));
  });

  it('backs off the initial RTO without slop before any sample (SYN)', () => {
    const r = new RttEstimator(XNU_PROFILE);
    expect(r.backoffUs(1, XNU_PROFILE.synBackoff)).toBe(ms(1000));
    expect(r.backoffUs(6, XNU_PROFILE.synBackoff)).toBe(ms(4000));
    expect(r.backoffUs(2, XNU_PROFILE.backoff)).toBe(ms(4000));
    expect(r.backoffUs(12, XNU_PROFILE.backoff)).toBe(ms(64_000));
  });

  it('forgetOnBackoff keeps the RTO and restarts the estimate at the next sample', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(100));
    const before = r.rtoUs();
    r.forgetOnBackoff();
    expect(r.srttUs).toBe(0);
    expect(r.rttvarUs).toBe(ms(75)); // 50 + 100/4
    expect(r.rtoUs()).toBe(before);
    r.forgetOnBackoff(); // a second call before a sample changes nothing
    expect(r.rttvarUs).toBe(ms(75));
    r.sample(ms(400));
    expect(r.srttUs).toBe(ms(400));
    expect(r.rttvarUs).toBe(ms(200));
    expect(r.minRttUs).toBe(ms(100));
  });

  it('reset() forgets everything; bad samples are ignored', () => {
    const r = new RttEstimator(XNU_PROFILE);
    r.sample(ms(100));
    r.sample(-5);
    r.sample(NaN);
    r.sample(Infinity);
    expect(r.samples).toBe(1);
    r.reset();
    expect(r.samples).toBe(0);
    expect(r.rtoUs()).toBe(ms(1000));
    r.sample(0);
    expect(r.srttUs).toBe(0);
    expect(r.rtoUs()).toBe(ms(30 + 200));
  });
});
