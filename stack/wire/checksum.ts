// Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers. Used by every wire codec and by
// mbuf-chain code that checksums several chunks in sequence (ChecksumAccumulator).

/**
 * Adds the big-endian 16-bit words of buf[off, off+len) to `sum`, as if the range started on an even
 * byte: an odd trailing byte counts as the high byte of a zero-padded word (RFC 1071 §4.1).
 * No folding inside: each word is < 2^16 and a typed array has < 2^33 bytes, so the total stays far
 * below 2^53. The result is not folded; use fold16().
 */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  let i = off;
  const end = off + len;
  const end8 = end - 7;
  let s = 0;
  // Eight bytes per iteration with plain indexing: V8 keeps these as small integers.
  for (; i < end8; i += 8) {
    s += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!)
      + ((buf[i + 4]! << 8) | buf[i + 5]!) + ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) s += buf[i]! << 8;
  return sum + s;
}

/** Folds any non-negative sum below 2^53 into 16 bits with end-around carry (not complemented). */
export function fold16(sum: number): number {
  // Arithmetic first: bit operators would truncate sums above 2^32.
  while (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Swaps the two bytes of a folded 16-bit sum (RFC 1071 §2(B): byte-order independence). */
function swap16(s: number): number {
  return ((s & 0xff) << 8) | (s >>> 8);
}

/**
 * Running checksum over data that arrives in chunks of any length (an mbuf chain). Tracks whether
 * an odd number of bytes has gone by, so the next chunk's bytes land in the right half of each word.
 */
export class ChecksumAccumulator {
  private sum = 0;
  private odd = false;

  /** Starts over, optionally seeded with a partial sum such as a pseudo-header sum. */
  reset(seed = 0): this {
    this.sum = fold16(seed);
    this.odd = false;
    return this;
  }

  /** Adds buf[off, off+len) as the next bytes of the stream. */
  add(buf: Uint8Array, off: number, len: number): this {
    if (len <= 0) return this;
    let s = fold16(checksumAdd(0, buf, off, len));
    // A chunk starting at an odd stream position contributes byte-swapped words (RFC 1071 §2(B)).
    if (this.odd) s = swap16(s);
    this.sum = fold16(this.sum + s);
    if (len & 1) this.odd = !this.odd;
    return this;
  }

  /** Adds an aligned 16-bit word (e.g. a pseudo-header field); does not move the byte position. */
  addWord16(n: number): this {
    this.sum = fold16(this.sum + (n & 0xffff));
    return this;
  }

  /** Adds an aligned 32-bit value as two 16-bit words; does not move the byte position. */
  addWord32(n: number): this {
    this.sum = fold16(this.sum + (n >>> 16) + (n & 0xffff));
    return this;
  }

  /** The folded 16-bit sum so far, not complemented (a "partial checksum"). */
  get partial(): number {
    return this.sum;
  }

  /** The checksum to put in a header: ones' complement of the folded sum. */
  finish(): number {
    return ~this.sum & 0xffff;
  }
}

/** Checksum of buf[off, off+len); 0 when verifying a range that already contains a valid checksum. */
export function internetChecksum(buf: Uint8Array, off: number, len: number): number {
  return ~fold16(checksumAdd(0, buf, off, len)) & 0xffff;
}

/** RFC 9293 §3.1 / RFC 768: IPv4 pseudo-header (src, dst, zero, protocol, L4 length), folded. */
export function pseudoHeaderSum4(
  src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, proto: number, l4len: number,
): number {
  let s = checksumAdd(0, src, srcOff, 4);
  s = checksumAdd(s, dst, dstOff, 4);
  return fold16(s + (proto & 0xff) + (l4len & 0xffff));
}

/** RFC 8200 §8.1: IPv6 pseudo-header (src, dst, 32-bit upper-layer length, next header), folded. */
export function pseudoHeaderSum6(
  src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, nextHeader: number, l4len: number,
): number {
  let s = checksumAdd(0, src, srcOff, 16);
  s = checksumAdd(s, dst, dstOff, 16);
  return fold16(s + (l4len >>> 16) + (l4len & 0xffff) + (nextHeader & 0xff));
}

/**
 * Transport checksum over buf[off, off+len) seeded with a pseudo-header sum. With the checksum field
 * zeroed this is the value to store; over a received segment it is 0 when the checksum verifies.
 */
export function l4Checksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): number {
  return ~fold16(checksumAdd(pseudoSum, buf, off, len)) & 0xffff;
}

/**
 * RFC 1624 eqn. 3: new checksum after one 16-bit word of the covered data changes from oldWord to
 * newWord, HC' = ~(~HC + ~m + m'). Used for TTL/hop-limit decrements when forwarding.
 */
export function incrementalUpdate16(oldCksum: number, oldWord: number, newWord: number): number {
  const s = (~oldCksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold16(s) & 0xffff;
}
