// TCP sequence numbers: uint32 values compared modulo 2^32 (RFC 9293 §3.4). Never compare raw
// sequence numbers with < or >; use these helpers.

/** A sequence (or acknowledgment) number: an integer in [0, 2^32). */
export type Seq = number;

/** a + n modulo 2^32; n may be negative. */
export function seqAdd(a: Seq, n: number): Seq {
  return (a + n) >>> 0;
}

/** Signed distance a - b in (-2^31, 2^31]: positive when a is "after" b. */
export function seqSub(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

export function seqLt(a: Seq, b: Seq): boolean { return ((a - b) | 0) < 0; }
export function seqLe(a: Seq, b: Seq): boolean { return ((a - b) | 0) <= 0; }
export function seqGt(a: Seq, b: Seq): boolean { return ((a - b) | 0) > 0; }
export function seqGe(a: Seq, b: Seq): boolean { return ((a - b) | 0) >= 0; }

export function seqMax(a: Seq, b: Seq): Seq { return seqGt(a, b) ? a : b; }
export function seqMin(a: Seq, b: Seq): Seq { return seqLt(a, b) ? a : b; }

/**
 * lo <= x < hi in sequence space, i.e. x lies in the half-open window that starts at lo and spans
 * (hi - lo) mod 2^32 numbers. Matches RFC 9293 §3.10.7.4 "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"
 * with hi = RCV.NXT + RCV.WND. An empty window (lo == hi) contains nothing.
 */
export function seqInRange(x: Seq, lo: Seq, hi: Seq): boolean {
  return ((x - lo) >>> 0) < ((hi - lo) >>> 0);
}
