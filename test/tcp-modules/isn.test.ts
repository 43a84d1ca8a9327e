// RFC 6528 ISNs: M (4-µs ticks) + F (SipHash of the 4-tuple under a secret from the Rng).

import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../stack/random/rng.js';
import type { Rng } from '../../stack/random/rng.js';
import { SipHash24 } from '../../stack/random/siphash.js';
import { IsnGenerator } from '../../stack/tcp/tcp-isn.js';

const A = Uint8Array.of(198, 18, 0, 1);
const B = Uint8Array.of(198, 18, 0, 2);
const A6 = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 1 ? 0x01 : i === 15 ? 1 : 0));
const B6 = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 1 ? 0x01 : i === 15 ? 2 : 0));

/** An Rng whose fill() writes 0, 1, 2, ... (a known secret). */
class CountingRng extends SeededRng {
  override fill(out: Uint8Array): void { for (let i = 0; i < out.length; i++) out[i] = i; }
}

describe('IsnGenerator', () => {
  it('is M + low 32 bits of SipHash(secret, laddr|lport|faddr|fport)', () => {
    const g = new IsnGenerator(new CountingRng(1));
    const tuple = Uint8Array.of(198, 18, 0, 1, 0x1f, 0x90, 198, 18, 0, 2, 0x9c, 0x40);
    const f = new SipHash24(Uint8Array.from({ length: 16 }, (_, i) => i)).hash(tuple);
    expect(g.isn(A, 8080, B, 40000, 0)).toBe(f);
    expect(g.isn(A, 8080, B, 40000, 4_000_003)).toBe((f + 1_000_000) >>> 0);
  });

  it('increases by one every 4 µs for a given 4-tuple, wrapping mod 2^32', () => {
    const g = new IsnGenerator(new SeededRng(3));
    const t0 = 123_456_789;
    const i0 = g.isn(A, 80, B, 40000, t0);
    expect((g.isn(A, 80, B, 40000, t0 + 4000) - i0) >>> 0).toBe(1000);
    expect((g.isn(A, 80, B, 40000, t0 + 3) - i0) >>> 0).toBeLessThanOrEqual(1);
    // 2^32 ticks later M has wrapped around to the same value.
    expect(g.isn(A, 80, B, 40000, t0 + 4 * 2 ** 32)).toBe(i0);
  });

  it('differs per 4-tuple', () => {
    const g = new IsnGenerator(new SeededRng(5));
    const seen = new Set<number>([
      g.isn(A, 80, B, 40000, 0), g.isn(A, 80, B, 40001, 0), g.isn(A, 81, B, 40000, 0),
      g.isn(B, 80, A, 40000, 0), g.isn(A, 40000, B, 80, 0), g.isn(A6, 80, B6, 40000, 0),
      g.isn(B6, 80, A6, 40000, 0),
    ]);
    expect(seen.size).toBe(7);
  });

  it('is reproducible from the seed and changes with the seed and with rekey()', () => {
    const a = new IsnGenerator(new SeededRng(42));
    const b = new IsnGenerator(new SeededRng(42));
    const c = new IsnGenerator(new SeededRng(43));
    const t = 987_654;
    expect(a.isn(A6, 443, B6, 51000, t)).toBe(b.isn(A6, 443, B6, 51000, t));
    expect(a.isn(A, 443, B, 51000, t)).toBe(b.isn(A, 443, B, 51000, t));
    expect(c.isn(A, 443, B, 51000, t)).not.toBe(a.isn(A, 443, B, 51000, t));
    const before = a.isn(A, 443, B, 51000, t);
    a.rekey();
    expect(a.isn(A, 443, B, 51000, t)).not.toBe(before);
  });

  it('draws its 16-byte secret from the Rng it is given', () => {
    let filled = 0;
    const rng: Rng = Object.assign(new SeededRng(9), { fill(out: Uint8Array) { filled += out.length; out.fill(1); } });
    const g = new IsnGenerator(rng);
    expect(filled).toBe(16);
    g.rekey();
    expect(filled).toBe(32);
  });
});
