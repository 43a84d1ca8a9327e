// CFData/CFMutableData and the CF object conventions (Create Rule, retain counts, type IDs,
// CFEqual/CFHash).

import { describe, expect, it } from 'vitest';
import {
  CFDataAppendBytes, CFDataCreate, CFDataCreateCopy, CFDataCreateMutable, CFDataCreateMutableCopy, CFDataDeleteBytes, CFDataFind,
  CFDataGetBytePtr, CFDataGetBytes, CFDataGetLength, CFDataGetTypeID, CFDataIncreaseLength, CFDataReplaceBytes, CFDataSetLength,
  CFEqual, CFGetRetainCount, CFGetTypeID, CFHash, CFRelease, CFRetain, CFRunLoopGetTypeID, CFSocketGetTypeID,
  kCFDataSearchAnchored, kCFDataSearchBackwards, kCFNotFound,
} from '../../cfsocket/index.js';

describe('CF conventions', () => {
  it('Create Rule: a new object has one reference; retain/release count; over-release throws', () => {
    const d = CFDataCreate(null, [1, 2, 3]);
    expect(CFGetRetainCount(d)).toBe(1);
    expect(CFRetain(d)).toBe(d);
    expect(CFGetRetainCount(d)).toBe(2);
    CFRelease(d);
    CFRelease(d);
    expect(() => CFRelease(d)).toThrow();
  });

  it('type IDs are distinct per class; CFEqual/CFHash compare bytes (hash over the first 80)', () => {
    const a = CFDataCreate(null, new Uint8Array(100).fill(1)), b = CFDataCreateCopy(null, a);
    expect(CFGetTypeID(a)).toBe(CFDataGetTypeID());
    expect(new Set([CFDataGetTypeID(), CFRunLoopGetTypeID(), CFSocketGetTypeID()]).size).toBe(3);
    expect(CFEqual(a, b)).toBe(true);
    expect(CFHash(a)).toBe(CFHash(b));
    const c = CFDataCreateMutableCopy(null, 0, a);
    CFDataGetBytePtr(c)[99] = 2;
    expect(CFEqual(a, c)).toBe(false);
    expect(CFHash(a)).toBe(CFHash(c)); // byte 99 is beyond the hashed prefix
  });
});

describe('CFData', () => {
  it('immutable data copies its bytes', () => {
    const src = new Uint8Array([1, 2, 3, 4]);
    const d = CFDataCreate(null, src, 3);
    src[0] = 9;
    expect([...CFDataGetBytePtr(d)]).toEqual([1, 2, 3]);
    const out = new Uint8Array(2);
    CFDataGetBytes(d, { location: 1, length: 2 }, out);
    expect([...out]).toEqual([2, 3]);
    expect(() => CFDataGetBytes(d, { location: 2, length: 2 }, out)).toThrow(RangeError);
    expect(() => CFDataSetLength(d, 1)).toThrow(TypeError);
  });

  it('mutable data: append, set/increase length (zero fill), replace, delete; fixed capacity', () => {
    const m = CFDataCreateMutable(null, 0);
    CFDataAppendBytes(m, new Uint8Array([1, 2, 3]));
    CFDataIncreaseLength(m, 2);
    expect([...CFDataGetBytePtr(m)]).toEqual([1, 2, 3, 0, 0]);
    CFDataReplaceBytes(m, { location: 1, length: 2 }, new Uint8Array([7, 7, 7]));
    expect([...CFDataGetBytePtr(m)]).toEqual([1, 7, 7, 7, 0, 0]);
    CFDataDeleteBytes(m, { location: 0, length: 4 });
    expect([...CFDataGetBytePtr(m)]).toEqual([0, 0]);
    CFDataSetLength(m, 0);
    expect(CFDataGetLength(m)).toBe(0);
    for (let i = 0; i < 1000; i++) CFDataAppendBytes(m, new Uint8Array([i & 0xff]));
    expect(CFDataGetLength(m)).toBe(1000);
    const f = CFDataCreateMutable(null, 4);
    CFDataAppendBytes(f, new Uint8Array(4));
    expect(() => CFDataAppendBytes(f, new Uint8Array(1))).toThrow(/full/);
    expect(() => CFDataSetLength(m, -1)).toThrow(RangeError);
  });

  it('CFDataFind: forwards, backwards, anchored, not found', () => {
    const d = CFDataCreate(null, [1, 2, 3, 1, 2, 3]);
    const n = CFDataCreate(null, [1, 2]);
    const all = { location: 0, length: 6 };
    expect(CFDataFind(d, n, all, 0)).toEqual({ location: 0, length: 2 });
    expect(CFDataFind(d, n, all, kCFDataSearchBackwards)).toEqual({ location: 3, length: 2 });
    expect(CFDataFind(d, n, { location: 1, length: 5 }, kCFDataSearchAnchored).location).toBe(kCFNotFound);
    expect(CFDataFind(d, CFDataCreate(null, [2, 3]), all, kCFDataSearchAnchored | kCFDataSearchBackwards)).toEqual({ location: 4, length: 2 });
    expect(CFDataFind(d, CFDataCreate(null, []), all, 0)).toEqual({ location: kCFNotFound, length: 0 });
  });
});
