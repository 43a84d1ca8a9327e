// Shared fast-check generators for the mbuf model properties (test/mbuf and test/kpi): offsets and
// lengths relative to the chain's length at the moment an operation runs, and payload bytes.

import fc from 'fast-check';

/**
 * An offset or length relative to what the chain holds when the op runs (`len`): anywhere in
 * [0, len], or near len (a little short, exactly, or a little past it).
 */
export type Pos = { mode: 'in'; n: number } | { mode: 'end'; n: number };

export const posArb: fc.Arbitrary<Pos> = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 5000 }).map((n) => ({ mode: 'in' as const, n })) },
  { weight: 2, arbitrary: fc.integer({ min: -6, max: 4 }).map((n) => ({ mode: 'end' as const, n })) },
);

/** The concrete value of `p` for a chain of `len` bytes. */
export const at = (p: Pos, len: number): number => (p.mode === 'in' ? p.n % (len + 1) : Math.max(0, len + p.n));

export const bytesArb = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max, size: 'max' });
