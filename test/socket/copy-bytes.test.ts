// copyBytes / copyToIov (stack/socket/copy-bytes.ts), used by sosend and soreceive: against a
// byte-at-a-time model over random iovec lists (zero-length iovecs included), positions and
// lengths on both sides of the small-copy threshold, and copies that run past the list's end.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyBytes, copyToIov } from '../../stack/socket/copy-bytes.js';

/** The model: the iovecs as one flat array, written byte by byte, excess dropped. */
function model(lens: readonly number[], pos: number, src: Uint8Array, srcOff: number, len: number): Uint8Array[] {
  const out = lens.map((n) => new Uint8Array(n).fill(0xee));
  let p = pos;
  for (let k = 0; k < len; k++, p++) {
    let q = p;
    let i = 0;
    while (i < out.length && q >= out[i]!.length) { q -= out[i]!.length; i++; }
    if (i === out.length) break;
    out[i]![q] = src[srcOff + k]!;
  }
  return out;
}

const src = Uint8Array.from({ length: 400 }, (_, i) => (i * 7 + 3) & 0xff);

describe('copy-bytes', () => {
  it('copyBytes copies short and long ranges, leaving the rest of dst alone', () => {
    for (const len of [0, 1, 31, 32, 33, 200]) {
      const dst = new Uint8Array(300).fill(0xee);
      copyBytes(dst, 5, src, 11, len);
      const want = new Uint8Array(300).fill(0xee);
      want.set(src.subarray(11, 11 + len), 5);
      expect([len, dst]).toEqual([len, want]);
    }
  });

  it('copyToIov matches the flat model', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.nat({ max: 80 })), { minLength: 1, maxLength: 5 }),
      fc.nat({ max: 200 }), fc.nat({ max: 100 }), fc.nat({ max: 120 }),
      (lens, pos, srcOff, len) => {
        const iov = lens.map((n) => new Uint8Array(n).fill(0xee));
        copyToIov(iov, pos, src, srcOff, len);
        expect(iov).toEqual(model(lens, pos, src, srcOff, len));
      },
    ), { numRuns: 500 });
  });

  it('consecutive copyToIov calls at the running position fill the iovecs in order (soreceive)', () => {
    const iov = [new Uint8Array(3), new Uint8Array(0), new Uint8Array(40), new Uint8Array(5)];
    let pos = 0;
    for (const n of [2, 1, 0, 35, 10]) {
      copyToIov(iov, pos, src, pos, n);
      pos += n;
    }
    expect(Array.from(iov.flatMap((v) => Array.from(v)))).toEqual(Array.from(src.subarray(0, 48)));
  });
});
