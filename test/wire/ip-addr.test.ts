// IpAddr methods that hot paths call per packet (isUnspecified and writeTo are plain loops).

import { describe, expect, it } from 'vitest';
import { IpAddr } from '../../stack/wire/ip-addr.js';

describe('IpAddr.isUnspecified', () => {
  it('is true exactly for the all-zero address of either family', () => {
    expect(IpAddr.ANY4.isUnspecified).toBe(true);
    expect(IpAddr.ANY6.isUnspecified).toBe(true);
    expect(IpAddr.of('0.0.0.0').isUnspecified).toBe(true);
    expect(IpAddr.of('::').isUnspecified).toBe(true);
    for (const t of ['0.0.0.1', '1.0.0.0', '0.0.1.0', '255.255.255.255', '::1', '1::', '::ffff:0:0', '0:0:0:0:0:0:0:100']) {
      expect([t, IpAddr.of(t).isUnspecified]).toEqual([t, false]);
    }
  });

  it('looks at every byte', () => {
    for (const len of [4, 16] as const) {
      for (let i = 0; i < len; i++) {
        const b = new Uint8Array(len);
        b[i] = 0x80;
        expect([len, i, IpAddr.fromBytes(b, 0, len).isUnspecified]).toEqual([len, i, false]);
      }
    }
  });
});

describe('IpAddr.writeTo', () => {
  it('writes exactly the address bytes at the offset and throws RangeError past the end, like TypedArray.set', () => {
    for (const t of ['198.18.0.1', '2001:db8::1']) {
      const a = IpAddr.of(t);
      const buf = new Uint8Array(40).fill(0xee);
      a.writeTo(buf, 3);
      const want = new Uint8Array(40).fill(0xee);
      want.set(a.bytes, 3);
      expect(buf).toEqual(want);
      expect(() => a.writeTo(new Uint8Array(a.bytes.length + 1), 2)).toThrow(RangeError);
      expect(() => new Uint8Array(a.bytes.length + 1).set(a.bytes, 2)).toThrow(RangeError);
      const unchanged = new Uint8Array(a.bytes.length + 1);
      try { a.writeTo(unchanged, 2); } catch { /* expected */ }
      expect(unchanged).toEqual(new Uint8Array(a.bytes.length + 1));
    }
  });
});
