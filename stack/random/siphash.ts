// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit PRF
// over bytes with a 128-bit key. Used where an attacker must not predict or steer a value from
// public inputs: TCP ISNs (tcp/tcp-isn.ts, RFC 6528 §3), and later SYN cookies and ephemeral ports
// (RFC 6056 §3.3.3-3.3.4).
//
// JavaScript has no 64-bit integers outside BigInt, which allocates; every 64-bit lane here is kept
// as two uint32 halves (h = bits 63..32, l = bits 31..0) in instance fields, so hashing allocates
// nothing and two hashers never share state.

/** Reads a little-endian uint32 from `b` at `o`; bytes past the end read as 0. */
function le32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

export class SipHash24 {
  // The key as two 64-bit little-endian words k0 = key[0..8), k1 = key[8..16).
  private k0h = 0; private k0l = 0; private k1h = 0; private k1l = 0;
  // The four state lanes v0..v3.
  private v0h = 0; private v0l = 0; private v1h = 0; private v1l = 0;
  private v2h = 0; private v2l = 0; private v3h = 0; private v3l = 0;

  /** Bits 63..32 of the last hash() result. */
  hi = 0;
  /** Bits 31..0 of the last hash() result (also what hash() returns). */
  lo = 0;

  /** `key` must hold exactly 16 bytes (k0 = bytes 0..7, k1 = bytes 8..15, little-endian). */
  constructor(key: Uint8Array) {
    this.setKey(key);
  }

  setKey(key: Uint8Array): void {
    if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
    this.k0l = le32(key, 0); this.k0h = le32(key, 4);
    this.k1l = le32(key, 8); this.k1h = le32(key, 12);
  }

  /**
   * SipHash-2-4 of data[off, off+len). Returns the low 32 bits of the 64-bit result as an unsigned
   * number; `hi` and `lo` hold both halves afterwards. The 8 output bytes of the reference
   * implementation are lo's 4 bytes then hi's, least significant first.
   */
  hash(data: Uint8Array, off = 0, len = data.length - off): number {
    // Initialization: v0 = k0 ^ "somepseudorandomlygeneratedbytes" split into four constants.
    this.v0h = (this.k0h ^ 0x736f6d65) >>> 0; this.v0l = (this.k0l ^ 0x70736575) >>> 0;
    this.v1h = (this.k1h ^ 0x646f7261) >>> 0; this.v1l = (this.k1l ^ 0x6e646f6d) >>> 0;
    this.v2h = (this.k0h ^ 0x6c796765) >>> 0; this.v2l = (this.k0l ^ 0x6e657261) >>> 0;
    this.v3h = (this.k1h ^ 0x74656462) >>> 0; this.v3l = (this.k1l ^ 0x79746573) >>> 0;

    // Compression: each full 8-byte little-endian word m is absorbed as v3 ^= m, c=2 rounds, v0 ^= m.
    const end = off + len;
    const full = off + (len - (len & 7));
    let p = off;
    for (; p < full; p += 8) this.absorb(le32(data, p + 4), le32(data, p));

    // Last word: the 0..7 remaining bytes, with (len mod 256) in the top byte.
    let ml = 0, mh = (len & 0xff) << 24;
    const rest = end - p;
    for (let i = 0; i < rest; i++) {
      const b = data[p + i] ?? 0;
      if (i < 4) ml |= b << (8 * i);
      else mh |= b << (8 * (i - 4));
    }
    this.absorb(mh >>> 0, ml >>> 0);

    // Finalization: v2 ^= 0xff, d=4 rounds, result v0 ^ v1 ^ v2 ^ v3.
    this.v2l = (this.v2l ^ 0xff) >>> 0;
    this.round(); this.round(); this.round(); this.round();
    this.hi = (this.v0h ^ this.v1h ^ this.v2h ^ this.v3h) >>> 0;
    this.lo = (this.v0l ^ this.v1l ^ this.v2l ^ this.v3l) >>> 0;
    return this.lo;
  }

  private absorb(mh: number, ml: number): void {
    this.v3h = (this.v3h ^ mh) >>> 0; this.v3l = (this.v3l ^ ml) >>> 0;
    this.round(); this.round();
    this.v0h = (this.v0h ^ mh) >>> 0; this.v0l = (this.v0l ^ ml) >>> 0;
  }

  /**
   * One SipRound:
   *   v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
   *   v2 += v3; v3 <<<= 16; v3 ^= v2;
   *   v0 += v3; v3 <<<= 21; v3 ^= v0;
   *   v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
   * 64-bit addition carries from the low half: (a + b) of two uint32 exceeds 2^32 - 1 exactly when
   * the carry is set; rotation by r < 32 moves bits across the halves; by 32 it swaps them.
   */
  private round(): void {
    let v0h = this.v0h, v0l = this.v0l, v1h = this.v1h, v1l = this.v1l;
    let v2h = this.v2h, v2l = this.v2l, v3h = this.v3h, v3l = this.v3l;
    let s: number, t: number;

    // v0 += v1
    s = v0l + v1l; v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) >>> 0; v0l = s >>> 0;
    // v1 <<<= 13; v1 ^= v0
    t = ((v1h << 13) | (v1l >>> 19)) >>> 0; v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0; v1h = t;
    v1h = (v1h ^ v0h) >>> 0; v1l = (v1l ^ v0l) >>> 0;
    // v0 <<<= 32
    t = v0h; v0h = v0l; v0l = t;

    // v2 += v3
    s = v2l + v3l; v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) >>> 0; v2l = s >>> 0;
    // v3 <<<= 16; v3 ^= v2
    t = ((v3h << 16) | (v3l >>> 16)) >>> 0; v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0; v3h = t;
    v3h = (v3h ^ v2h) >>> 0; v3l = (v3l ^ v2l) >>> 0;

    // v0 += v3
    s = v0l + v3l; v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) >>> 0; v0l = s >>> 0;
    // v3 <<<= 21; v3 ^= v0
    t = ((v3h << 21) | (v3l >>> 11)) >>> 0; v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0; v3h = t;
    v3h = (v3h ^ v0h) >>> 0; v3l = (v3l ^ v0l) >>> 0;

    // v2 += v1
    s = v2l + v1l; v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) >>> 0; v2l = s >>> 0;
    // v1 <<<= 17; v1 ^= v2
    t = ((v1h << 17) | (v1l >>> 15)) >>> 0; v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0; v1h = t;
    v1h = (v1h ^ v2h) >>> 0; v1l = (v1l ^ v2l) >>> 0;
    // v2 <<<= 32
    t = v2h; v2h = v2l; v2l = t;

    this.v0h = v0h; this.v0l = v0l; this.v1h = v1h; this.v1l = v1l;
    this.v2h = v2h; this.v2l = v2l; this.v3h = v3h; this.v3l = v3l;
  }
}

/**
 * The reference implementation's 8 output bytes as 16 lowercase hex digits, least significant byte
 * first (the order of the paper's and vectors.h's test vectors). Allocates: tests and cold paths.
 */
export function sipHash24Hex(key: Uint8Array, data: Uint8Array): string {
  const h = new SipHash24(key);
  h.hash(data);
  let s = '';
  for (let i = 0; i < 4; i++) s += ((h.lo >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  for (let i = 0; i < 4; i++) s += ((h.hi >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}
