// Sequence-number arithmetic around the 2^32 wrap (RFC 9293 §3.4).

import { describe, expect, it } from 'vitest';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../stack/wire/index.js';

describe('seq', () => {
  it('wraps on add and measures signed distance', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(0xffffffff);
    expect(seqSub(0, 0xffffffff)).toBe(1);
    expect(seqSub(0xffffffff, 0)).toBe(-1);
    expect(seqSub(5, 5)).toBe(0);
  });

  it('compares across the wrap', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqLe(7, 7) && seqGe(7, 7)).toBe(true);
    expect(seqLt(7, 7) || seqGt(7, 7)).toBe(false);
    expect(seqMax(0xfffffff0, 0x10)).toBe(0x10);
    expect(seqMin(0xfffffff0, 0x10)).toBe(0xfffffff0);
  });

  it('seqInRange is the half-open window [lo, hi)', () => {
    expect(seqInRange(0xfffffffe, 0xfffffff0, 0x10)).toBe(true);
    expect(seqInRange(0x0f, 0xfffffff0, 0x10)).toBe(true);
    expect(seqInRange(0x10, 0xfffffff0, 0x10)).toBe(false);
    expect(seqInRange(0xfffffff0, 0xfffffff0, 0x10)).toBe(true);
    expect(seqInRange(5, 5, 5)).toBe(false);
  });
});
