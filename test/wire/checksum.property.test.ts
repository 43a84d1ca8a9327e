// The checksum against a straightforward reference (sum 16-bit words, fold, complement), in one
// piece and in chunks of random (odd) sizes; RFC 1624 updates against recomputation.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChecksumAccumulator, incrementalUpdate16, internetChecksum } from '../../stack/wire/index.js';
import { fcParams } from './arbitraries.js';

function reference(b: Uint8Array, seed = 0): number {
  let s = seed;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) + (i + 1 < b.length ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

describe('checksum properties', () => {
  it('internetChecksum equals the reference on any range', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (b, x, y) => {
      const off = b.length === 0 ? 0 : x % b.length;
      const len = (b.length - off) === 0 ? 0 : y % (b.length - off + 1);
      expect(internetChecksum(b, off, len)).toBe(reference(b.subarray(off, off + len)));
    }), fcParams);
  });

  it('ChecksumAccumulator over random chunk sizes equals the reference', () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 400 }), fc.array(fc.integer({ min: 0, max: 17 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 0, max: 0xffff }),
      (b, sizes, seed) => {
        const acc = new ChecksumAccumulator().reset(seed);
        let off = 0;
        for (let k = 0; off < b.length; k++) {
          const n = Math.min(sizes[k % sizes.length]! || 1, b.length - off);
          acc.add(b, off, n);
          off += n;
        }
        expect(acc.finish()).toBe(reference(b, seed));
      }), fcParams);
  });

  it('incrementalUpdate16 agrees with recomputation', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff }),
      (h, word, nw) => {
        if (word === 5) return; // bytes 10-11 hold the checksum itself
        h[10] = 0; h[11] = 0;
        const c = internetChecksum(h, 0, 20);
        h[10] = c >> 8; h[11] = c & 0xff;
        const old = (h[2 * word]! << 8) | h[2 * word + 1]!;
        h[2 * word] = nw >> 8; h[2 * word + 1] = nw & 0xff;
        const inc = incrementalUpdate16(c, old, nw);
        h[10] = 0; h[11] = 0;
        const full = internetChecksum(h, 0, 20);
        // Equal except that RFC 1624 may give -0 (0xffff) where recomputation gives +0 only for all-zero data.
        expect(inc === full || (inc === 0xffff && full === 0)).toBe(true);
        h[10] = inc >> 8; h[11] = inc & 0xff;
        expect(internetChecksum(h, 0, 20)).toBe(0);
      }), fcParams);
  });
});
