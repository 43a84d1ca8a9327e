// What ICMPv4 and ICMPv6 error handling share: the rate limiter (BSD icmplim / RFC 4443 §2.4(f)),
// building an error message around a quote of the offending packet, the RFC 1191 plateau table,
// and the mapping of ICMP types/codes to the transport-neutral IpCtlInfo kinds.
// Used by: icmp.ts, icmp6.ts (error generation and error input), ip-layer.ts (the limiter).

import type { Mbuf, MbufPool } from '../mbuf/index.js';
import { mCopydata } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import type { IpCtlInfo } from './protocol.js';
import { ICMP_HLEN, set16, set32 } from './hdr.js';

/**
 * A token bucket: `ratePerSec` tokens per second up to `burst`. take() spends one token. Time is
 * passed in, so a simulation controls refills exactly. A rate <= 0 means no limit.
 */
export class TokenBucket {
  private tokens: number;
  private last: Instant = 0;
  private started = false;

  constructor(public ratePerSec: number, public burst: number) {
    this.tokens = burst;
  }

  /** Spends a token if one is available at `now`. */
  take(now: Instant): boolean {
    if (this.ratePerSec <= 0) return true;
    if (!this.started) {
      this.started = true;
      this.last = now;
    } else if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1_000_000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Changes the rate (and the burst, default one second's worth); refills the bucket. */
  configure(ratePerSec: number, burst = ratePerSec): void {
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.tokens = burst;
  }
}

/**
 * Builds an ICMP/ICMPv6 message: 8-byte header (type, code, zero checksum, `word` in bytes 4..7)
 * followed by the first `quoteLen` bytes of `orig`, in a fresh packet with `leading` bytes of room
 * for the IP header. The caller fills the checksum. Null when the pool is exhausted.
 */
export function buildIcmpMessage(
  pool: MbufPool, type: number, code: number, word: number, orig: Mbuf | null, quoteLen: number, leading: number,
): Mbuf | null {
  const len = ICMP_HLEN + quoteLen;
  const n = pool.getPacket(leading + len);
  if (n === null) return null;
  n.data = n.start + leading;
  const b = n.buf, o = n.data;
  b[o] = type;
  b[o + 1] = code;
  set16(b, o + 2, 0);
  set32(b, o + 4, word >>> 0);
  if (quoteLen > 0 && (orig === null || !mCopydata(orig, 0, quoteLen, b, o + ICMP_HLEN))) {
    pool.free(n);
    return null;
  }
  n.len = len;
  n.pktLen = len;
  return n;
}

/** RFC 1191 §7 table of common MTU plateaus, largest first. */
export const MTU_PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68] as const;

/** RFC 1191 §5: the largest plateau strictly below `len` (68 when none is). */
export function plateauBelow(len: number): number {
  for (const p of MTU_PLATEAUS) if (p < len) return p;
  return 68;
}

export type CtlKind = IpCtlInfo['kind'];

/** ICMPv4 destination-unreachable code → kind (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1); null for an undefined code. */
export function unreachKind4(code: number): CtlKind | null {
  switch (code) {
    case 0: case 6: case 11: return 'unreach-net';      // net unreachable / unknown / for TOS
    case 1: case 7: case 8: case 12: return 'unreach-host'; // host unreachable / unknown / isolated / for TOS
    case 2: return 'unreach-proto';
    case 3: return 'unreach-port';
    case 4: return 'needfrag';
    case 5: return 'source-route-failed';
    case 9: case 10: case 13: case 14: case 15: return 'unreach-admin'; // prohibited, precedence
    default: return null;
  }
}

/** ICMPv6 destination-unreachable code → kind (RFC 4443 §3.1); null for an undefined code. */
export function unreachKind6(code: number): CtlKind | null {
  switch (code) {
    case 0: return 'unreach-net';      // no route to destination
    case 1: case 5: case 6: return 'unreach-admin'; // prohibited, ingress/egress policy, reject route
    case 2: case 3: return 'unreach-host'; // beyond scope of source, address unreachable
    case 4: return 'unreach-port';
    case 7: return 'source-route-failed'; // error in source routing header (RFC 6554)
    default: return null;
  }
}
