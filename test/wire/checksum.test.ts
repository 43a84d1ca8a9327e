// Internet checksum: RFC 1071 worked example, real Linux packets, chunked accumulation, RFC 1624.

import { describe, expect, it } from 'vitest';
import {
  ChecksumAccumulator, checksumAdd, fold16, incrementalUpdate16, internetChecksum, l4Checksum,
  pseudoHeaderSum4, pseudoHeaderSum6,
} from '../../stack/wire/index.js';
import { hex } from './fixtures/hex.js';
import { PING4_REQUEST, TCP4_SYN, TCP6_DATA, UDP6 } from './fixtures/linux-lo.js';

describe('internetChecksum', () => {
  it('matches the RFC 1071 §3 example (sum ddf2, checksum 220d)', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(fold16(checksumAdd(0, b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b, 0, b.length)).toBe(0x220d);
  });

  it('verifies to 0 over a Linux IPv4 header', () => {
    expect(internetChecksum(PING4_REQUEST, 0, 20)).toBe(0);
    expect(internetChecksum(PING4_REQUEST, 20, 28)).toBe(0); // ICMP covers the whole message
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(hex('01'), 0, 1)).toBe(~0x0100 & 0xffff);
    expect(internetChecksum(new Uint8Array(0), 0, 0)).toBe(0xffff);
  });

  it('folds sums beyond 2^32', () => {
    expect(fold16(0x1_0000_0000)).toBe(1);
    expect(fold16(2 ** 52)).toBe(fold16(1 << 4)); // 2^52 = 2^(16*3+4) ≡ 2^4
    expect(fold16(0xffff)).toBe(0xffff);
  });
});

describe('pseudo-headers and l4Checksum', () => {
  it('verifies a Linux TCP/IPv4 SYN', () => {
    const ps = pseudoHeaderSum4(TCP4_SYN, 12, TCP4_SYN, 16, 6, TCP4_SYN.length - 20);
    expect(l4Checksum(TCP4_SYN, 20, TCP4_SYN.length - 20, ps)).toBe(0);
  });

  it('verifies Linux UDP and TCP over IPv6 (odd payload length)', () => {
    let ps = pseudoHeaderSum6(UDP6, 8, UDP6, 24, 17, 11);
    expect(l4Checksum(UDP6, 40, 11, ps)).toBe(0);
    ps = pseudoHeaderSum6(TCP6_DATA, 8, TCP6_DATA, 24, 6, TCP6_DATA.length - 40);
    expect(l4Checksum(TCP6_DATA, 40, TCP6_DATA.length - 40, ps)).toBe(0);
  });

  it('IPv6 pseudo-header carries a 32-bit length', () => {
    const z = new Uint8Array(16);
    expect(pseudoHeaderSum6(z, 0, z, 0, 17, 0x1_0002)).toBe(1 + 2 + 17);
  });
});

describe('ChecksumAccumulator', () => {
  it('gives the one-shot result when fed in odd-sized chunks', () => {
    const b = TCP6_DATA;
    const whole = internetChecksum(b, 0, b.length);
    for (const sizes of [[1], [3, 5], [7, 1, 1, 2], [2], [13]]) {
      const acc = new ChecksumAccumulator();
      let off = 0;
      for (let k = 0; off < b.length; k++) {
        const n = Math.min(sizes[k % sizes.length]!, b.length - off);
        acc.add(b, off, n);
        off += n;
      }
      expect(acc.finish()).toBe(whole);
    }
  });

  it('seeds with a pseudo-header sum and takes aligned words', () => {
    const ps = pseudoHeaderSum4(TCP4_SYN, 12, TCP4_SYN, 16, 6, 40);
    const acc = new ChecksumAccumulator().reset(ps).add(TCP4_SYN, 20, 17).add(TCP4_SYN, 37, 23);
    expect(acc.finish()).toBe(0);
    const w = new ChecksumAccumulator().addWord32(0x12345678).addWord16(0x9abc);
    expect(w.partial).toBe(fold16(0x1234 + 0x5678 + 0x9abc));
  });
});

describe('incrementalUpdate16 (RFC 1624)', () => {
  it('keeps an IPv4 header valid after a TTL decrement', () => {
    const b = PING4_REQUEST.slice(0, 20);
    const oldWord = (b[8]! << 8) | b[9]!;
    b[8] = b[8]! - 1;
    const newWord = (b[8]! << 8) | b[9]!;
    const c = incrementalUpdate16((b[10]! << 8) | b[11]!, oldWord, newWord);
    b[10] = c >> 8; b[11] = c & 0xff;
    expect(internetChecksum(b, 0, 20)).toBe(0);
    b[10] = 0; b[11] = 0;
    expect(c).toBe(internetChecksum(b, 0, 20));
  });
});
