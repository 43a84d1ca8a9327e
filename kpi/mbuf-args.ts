// Argument checks shared by the mbuf KPI files (internal: not re-exported by kpi-mbuf.ts).

/** INT_MAX / INT32_MAX: the bound mbuf_copydata and mbuf_pkthdr_setlen apply. */
export const INT32_MAX = 0x7fffffff;

/** A usable byte count or offset: a non-negative safe integer (rejects NaN, fractions, Infinity). */
export const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** errno_t: 0 or a Darwin errno (kept internal: the socket KPI exports the public name). */
export type errno_t = number;
