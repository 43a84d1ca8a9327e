// What ICMPv4 and ICMPv6 share: the error rate limiter (BSD icmplim / RFC 4443 §2.4(f)), building
// an error message around a quote of the offending packet, the RFC 1191 plateau table, the mapping
// of ICMP types/codes to the transport-neutral IpCtlInfo kinds and handing such an error to the
// transport, lowering the path MTU (RFC 1191, RFC 8201), and turning an echo reply into what the
// echo listener gets.
// Used by: icmp.ts, icmp6.ts (error generation, error input, echo replies), ip-layer.ts (the limiter).

import type { Mbuf, MbufPool } from '../mbuf/index.js';
import { mCopydata, mFreem } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { get16 } from '../wire/bytes.js';
import { emitIcmpMessage, ICMP_HEADER_LEN } from '../wire/icmp-header.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { EchoReply, IpLayer } from './ip-layer.js';
import type { IpCtlInfo, IpInputInfo, IpProtocol } from './protocol.js';

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
 * Builds an ICMP/ICMPv6 error: type, code, `word` in bytes 4..7, then the first `quoteLen` bytes of
 * `orig`, with the checksum seeded with `pseudoSum` (0 for ICMPv4), in a fresh packet with
 * `leading` bytes of room for the IP header. Null when the pool is exhausted.
 */
export function buildIcmpMessage(
  pool: MbufPool, type: number, code: number, word: number, orig: Mbuf | null, quoteLen: number, leading: number,
  pseudoSum: number,
): Mbuf | null {
  const len = ICMP_HEADER_LEN + quoteLen;
  const n = pool.getPacket(leading + len);
  if (n === null) return null;
  n.data = n.start + leading;
  const b = n.buf, q = n.data + ICMP_HEADER_LEN;
  if (quoteLen > 0 && (orig === null || !mCopydata(orig, 0, quoteLen, b, q))) {
    pool.free(n);
    return null;
  }
  // The quote is already in place behind the header: emitIcmpMessage does not copy it again.
  emitIcmpMessage(b, n.data, type, code, word >>> 0, b.subarray(q, q + quoteLen), pseudoSum);
  n.len = len;
  n.pktLen = len;
  return n;
}

/**
 * What the echo listener gets for an echo reply (ICMP header at info.l4Off): a copy of its data.
 * Frees `m`.
 */
export function takeEchoReply(m: Mbuf, info: IpInputInfo, ident: number, seq: number): EchoReply {
  const payload = new Uint8Array(info.l4Len - ICMP_HEADER_LEN);
  mCopydata(m, info.l4Off + ICMP_HEADER_LEN, payload.length, payload, 0);
  const src = IpAddr.fromBytes(m.buf, info.srcOff, info.family === 4 ? 4 : 16);
  mFreem(m);
  return { family: info.family, src, ident, seq, payload, hopLimit: info.ttlOrHopLimit };
}

/**
 * Hands an ICMP error about a packet we sent (from `src` to `dst`, transport bytes `quoted`) to
 * its transport `t`. TCP and UDP headers both start with the source and destination ports.
 */
export function ctlNotify(
  t: IpProtocol, family: IpCtlInfo['family'], kind: CtlKind, type: number, code: number, mtu: number,
  src: IpAddr, dst: IpAddr, quoted: Uint8Array, now: Instant,
): void {
  t.ctlinput({
    family, kind, icmpType: type, icmpCode: code, mtu, src, dst, srcPort: get16(quoted, 0), dstPort: get16(quoted, 2), quoted,
  }, now);
}

/** RFC 1191 §7 table of common MTU plateaus, largest first. */
export const MTU_PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68] as const;

/** RFC 1191 §5: the largest plateau strictly below `len` (68 when none is). */
export function plateauBelow(len: number): number {
  for (const p of MTU_PLATEAUS) if (p < len) return p;
  return 68;
}

/**
 * RFC 1191 / RFC 8201: lowers the path MTU towards `dst` to `mtu`, capped at the route MTU, when an
 * error quoting a packet we sent from `src` says so (`src` null: a transport that matched the
 * error to one of its connections vouches for it). False (nothing learned) when `src` is not
 * ours, there is no route, or the estimate would not go down.
 */
export function lowerPathMtu(ip: IpLayer, src: IpAddr | null, dst: IpAddr, mtu: number, now: Instant): boolean {
  const r = src === null || ip.isLocalAddress(src) ? ip.routes.lookupAddr(dst) : null;
  if (r === null) return false;
  const ifp = ip.ifnets[r.ifindex - 1]!;
  const routeMtu = r.mtu !== 0 && r.mtu < ifp.mtu ? r.mtu : ifp.mtu;
  if (mtu > routeMtu) mtu = routeMtu;
  if (mtu >= ip.mtuFor(r, ifp, dst.family, dst.bytes, 0)) return false;
  ip.pmtu.set(dst, mtu, now);
  return true;
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
