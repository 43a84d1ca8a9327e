import { describe, expect, it } from 'vitest';
import { SeededRng, CryptoRng } from '../../stack/random/rng.js';

describe('SeededRng', () => {
  it('replays the same sequence for the same seed and differs for another', () => {
    const a = new SeededRng(42), b = new SeededRng(42), c = new SeededRng(43);
    const sa = Array.from({ length: 16 }, () => a.nextU32());
    expect(Array.from({ length: 16 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 16 }, () => c.nextU32())).not.toEqual(sa);
    expect(sa.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });

  it('below(n) stays in range and covers it roughly uniformly', () => {
    const r = new SeededRng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[r.below(10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    for (let i = 0; i < 1000; i++) {
      const x = r.below(16384);
      expect(x >= 0 && x < 16384).toBe(true);
    }
    expect(r.below(1)).toBe(0);
  });

  it('nextFloat is in [0, 1) and fill writes every byte position', () => {
    const r = new SeededRng(9);
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
    const seen = new Uint8Array(7);
    for (let i = 0; i < 50; i++) {
      const buf = new Uint8Array(7);
      r.fill(buf);
      buf.forEach((v, j) => { seen[j]! |= v; });
    }
    expect([...seen].every((v) => v !== 0)).toBe(true);
  });

  it('fork gives an independent but reproducible stream', () => {
    const a = new SeededRng(5).fork(), b = new SeededRng(5).fork();
    expect(a.nextU32()).toBe(b.nextU32());
  });
});

describe('CryptoRng', () => {
  it('produces varied uint32s and fills large buffers', () => {
    const r = new CryptoRng();
    const xs = new Set(Array.from({ length: 600 }, () => r.nextU32()));
    expect(xs.size).toBeGreaterThan(590);
    const big = new Uint8Array(70_000);
    r.fill(big);
    expect(big.subarray(66_000).some((v) => v !== 0)).toBe(true);
  });
});
