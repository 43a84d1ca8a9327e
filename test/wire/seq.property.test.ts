// Sequence comparisons against a BigInt modular reference (RFC 9293 §3.4).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../stack/wire/index.js';
import { fcParams } from './arbitraries.js';

const M = 1n << 32n;
const mod = (x: bigint): bigint => ((x % M) + M) % M;
/** Signed distance a - b in [-2^31, 2^31). */
const dist = (a: number, b: number): bigint => {
  const d = mod(BigInt(a) - BigInt(b));
  return d >= 1n << 31n ? d - M : d;
};
const u32 = fc.integer({ min: 0, max: 0xffffffff });
// Values near 0 and 2^32 exercise the wrap more often.
const seqArb = fc.oneof(u32, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0xffffffc0, max: 0xffffffff }));

describe('seq properties', () => {
  it('add and sub are modular', () => {
    fc.assert(fc.property(seqArb, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), seqArb, (a, n, b) => {
      expect(seqAdd(a, n)).toBe(Number(mod(BigInt(a) + BigInt(n))));
      expect(seqSub(a, b)).toBe(Number(dist(a, b)));
      expect(seqAdd(b, seqSub(a, b))).toBe(a);
    }), fcParams);
  });

  it('comparisons follow the signed distance', () => {
    fc.assert(fc.property(seqArb, seqArb, (a, b) => {
      const d = dist(a, b);
      expect(seqLt(a, b)).toBe(d < 0n);
      expect(seqLe(a, b)).toBe(d <= 0n);
      expect(seqGt(a, b)).toBe(d > 0n);
      expect(seqGe(a, b)).toBe(d >= 0n);
      expect(seqMax(a, b)).toBe(d > 0n ? a : b);
      expect(seqMin(a, b)).toBe(d < 0n ? a : b);
      if (d !== 0n && d !== -(1n << 31n)) expect(seqLt(a, b)).toBe(seqGt(b, a));
    }), fcParams);
  });

  it('seqInRange is membership in [lo, lo + (hi - lo) mod 2^32)', () => {
    fc.assert(fc.property(seqArb, seqArb, seqArb, (x, lo, hi) => {
      expect(seqInRange(x, lo, hi)).toBe(mod(BigInt(x) - BigInt(lo)) < mod(BigInt(hi) - BigInt(lo)));
    }), fcParams);
    fc.assert(fc.property(seqArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (lo, wnd, k) => {
      // For windows below 2^31 it agrees with lo <= x < lo + wnd written with seqLe/seqLt.
      const x = seqAdd(lo, k);
      expect(seqInRange(x, lo, seqAdd(lo, wnd))).toBe(seqLe(lo, x) && seqLt(x, seqAdd(lo, wnd)));
    }), fcParams);
  });
});
