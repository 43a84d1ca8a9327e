// The fuzzer's random choices, all drawn from one SeededRng (stack/random) so that a seed replays a
// run exactly: integers in a range, picks, weighted picks, coin flips, random bytes, and the
// "interesting" boundary values fuzzers favour over uniform ones.

import { SeededRng } from '../../stack/random/rng.js';

export class FuzzRng {
  private readonly r: SeededRng;

  constructor(readonly seed: number) {
    this.r = new SeededRng(seed);
  }

  u32(): number { return this.r.nextU32(); }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return hi <= lo ? lo : lo + this.r.below(hi - lo + 1);
  }

  /** Uniform integer in [0, n). */
  below(n: number): number { return this.r.below(n); }

  chance(p: number): boolean { return this.r.nextFloat() < p; }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('FuzzRng.pick of an empty list');
    return xs[this.r.below(xs.length)]!;
  }

  /** Picks among [weight, value] pairs in proportion to the weights. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of xs) total += w;
    let x = this.r.nextFloat() * total;
    for (const [w, v] of xs) {
      if (x < w) return v;
      x -= w;
    }
    return xs[xs.length - 1]![1];
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.r.fill(b);
    return b;
  }

  /** A 16-bit value, usually a boundary one. */
  u16i(): number { return this.chance(0.5) ? this.pick(INTERESTING_16) : this.r.nextU32() & 0xffff; }

  /** A 32-bit value, usually a boundary one. */
  u32i(): number { return this.chance(0.5) ? this.pick(INTERESTING_32) : this.r.nextU32(); }

  /** Shuffles `xs` in place (Fisher-Yates) and returns it. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.r.below(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }
}

export const INTERESTING_8 = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff] as const;
export const INTERESTING_16 = [0, 1, 2, 7, 8, 20, 40, 0x7f, 0x80, 0xff, 0x100, 576, 1280, 1499, 1500, 0x7fff, 0x8000, 0xfffe, 0xffff] as const;
export const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0xffff] as const;
