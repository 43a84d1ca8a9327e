// Randomness: every nondeterministic choice in the stack (ISNs, ephemeral ports, IP IDs, flow labels,
// MPTCP keys, fault injection) draws from an injected Rng, so a simulation replays exactly from its seed.

export interface Rng {
  /** Uniform uint32. */
  nextU32(): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
  /** Uniform integer in [0, n) for 0 < n <= 2^32. */
  below(n: number): number;
  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void;
}

abstract class RngBase implements Rng {
  abstract nextU32(): number;
  nextFloat(): number {
    // 53 random bits, as Math.random would give.
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  below(n: number): number {
    if (n <= 1) return 0;
    // Rejection sampling removes modulo bias.
    const limit = 0x100000000 - (0x100000000 % n);
    for (let i = 0; i < 64; i++) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
    return this.nextU32() % n;
  }
  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      const x = this.nextU32();
      out[i] = x & 0xff;
      if (i + 1 < out.length) out[i + 1] = (x >>> 8) & 0xff;
      if (i + 2 < out.length) out[i + 2] = (x >>> 16) & 0xff;
      if (i + 3 < out.length) out[i + 3] = x >>> 24;
    }
  }
}

/**
 * xoshiro128** (Blackman and Vigna): small, fast, good statistical quality; NOT cryptographic.
 * For simulations and tests: the same seed gives the same sequence on every machine.
 */
export class SeededRng extends RngBase {
  private s0: number; private s1: number; private s2: number; private s3: number;
  constructor(readonly seed: number) {
    super();
    // splitmix32 expands the seed so nearby seeds give unrelated streams.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
  /** An independent child stream (for per-link fault injection), derived deterministically. */
  fork(): SeededRng { return new SeededRng(this.nextU32()); }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Cryptographically strong randomness from Web Crypto (global in Node 20; no node:* import). */
export class CryptoRng extends RngBase {
  private readonly buf = new Uint32Array(256);
  private pos = 256;
  nextU32(): number {
    if (this.pos >= this.buf.length) {
      globalThis.crypto.getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }
  override fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, i + 65536));
  }
}
