// Measuring a chain and validating byte counts. mLength and mLast are public (re-exported by
// chain.ts); isCount and hasBytes are internal to stack/mbuf.

import type { Mbuf } from './mbuf.js';

/** Sum of m_len over the m_next chain. */
export function mLength(m: Mbuf | null): number {
  let n = 0;
  for (; m !== null; m = m.next) n += m.len;
  return n;
}

/** The last mbuf of a chain. */
export function mLast(m: Mbuf): Mbuf {
  while (m.next !== null) m = m.next;
  return m;
}

/** A usable byte count or offset: a non-negative safe integer (rejects NaN, fractions, Infinity). */
export const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** True when the chain from `m` holds at least `n` bytes; stops walking as soon as it knows. */
export function hasBytes(m: Mbuf | null, n: number): boolean {
  let left = n;
  for (; m !== null && left > 0; m = m.next) left -= m.len;
  return left <= 0;
}
