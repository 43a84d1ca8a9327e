// CFData / CFMutableData (CFData.h; swift-corelibs CFData.c): a byte buffer as a CF object.
// Immutable CFData copies its bytes at creation (CFDataCreateWithBytesNoCopy wraps them).
// CFMutableData: capacity 0 = growable, a non-zero capacity is a fixed maximum (exceeding it is a
// programming error: throws, where CF aborts). Range errors and negative lengths throw too.
// Equality: same length and bytes; the hash covers the first 80 bytes only (as CF).

import { CFType, _CFRuntimeRegisterClass, kCFNotFound } from './cf-base.js';
import type { CFAllocatorRef, CFHashCode, CFIndex, CFOptionFlags, CFRange, CFTypeID } from './cf-base.js';

export class CFData extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFData');
  get _cfTypeID(): CFTypeID { return CFData.typeID; }
  /** @internal storage; only [0, _len) is data. */
  _buf: Uint8Array;
  /** @internal */ _len: number;
  /** @internal */ readonly _mutable: boolean;
  /** @internal 0 = growable. */ readonly _capacity: number;

  /** @internal Use CFDataCreate*. */
  constructor(buf: Uint8Array, len: number, mutable: boolean, capacity: number) {
    super();
    this._buf = buf;
    this._len = len;
    this._mutable = mutable;
    this._capacity = capacity;
  }

  /** The bytes as a view (valid until the data is mutated). Port convenience. */
  get bytes(): Uint8Array { return this._buf.subarray(0, this._len); }

  override _cfEqual(other: CFType): boolean {
    if (!(other instanceof CFData) || other._len !== this._len) return false;
    for (let i = 0; i < this._len; i++) if (this._buf[i] !== other._buf[i]) return false;
    return true;
  }

  override _cfHash(): CFHashCode {
    // FNV-1a over the length and the first 80 bytes.
    let h = 0x811c9dc5 ^ this._len;
    const n = Math.min(80, this._len);
    for (let i = 0; i < n; i++) h = Math.imul(h ^ this._buf[i]!, 0x01000193);
    return h >>> 0;
  }

  override _cfDescription(): string {
    const hex = Array.from(this._buf.subarray(0, Math.min(this._len, 64)), (b) => b.toString(16).padStart(2, '0')).join('');
    return `<CFData ${this._serial} [length = ${this._len}] {${hex}${this._len > 64 ? '...' : ''}}>`;
  }

  protected override _cfFinalize(): void {
    this._buf = new Uint8Array(0);
    this._len = 0;
  }
}
export type CFDataRef = CFData;
export type CFMutableDataRef = CFData;

/** CFDataSearchFlags. */
export const kCFDataSearchBackwards = 1;
export const kCFDataSearchAnchored = 2;

function checkLen(n: number, fn: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${fn}: negative or non-integer length ${n}`);
}
function checkRange(d: CFData, r: CFRange, fn: string): void {
  if (!Number.isInteger(r.location) || !Number.isInteger(r.length) || r.location < 0 || r.length < 0 ||
      r.location + r.length > d._len) {
    throw new RangeError(`${fn}: range {${r.location}, ${r.length}} out of bounds for length ${d._len}`);
  }
}
function mutableOnly(d: CFData, fn: string): void {
  if (!d._mutable) throw new TypeError(`${fn}: data is immutable`);
}

/** CFDataCreate(alloc, bytes, length): an immutable copy of the first `length` bytes (all when omitted). */
export function CFDataCreate(_alloc: CFAllocatorRef, bytes: Uint8Array | readonly number[] | null, length?: CFIndex): CFData {
  const src = bytes === null ? new Uint8Array(0) : bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  const n = length ?? src.length;
  checkLen(n, 'CFDataCreate');
  if (n > src.length) throw new RangeError(`CFDataCreate: length ${n} exceeds the ${src.length} bytes given`);
  return new CFData(src.slice(0, n), n, false, 0);
}

/**
 * CFDataCreateWithBytesNoCopy(alloc, bytes, length, bytesDeallocator): wraps `bytes` without a copy
 * (the caller must not change them afterwards). The deallocator is irrelevant under GC.
 */
export function CFDataCreateWithBytesNoCopy(_alloc: CFAllocatorRef, bytes: Uint8Array, length?: CFIndex, _dealloc: CFAllocatorRef = null): CFData {
  const n = length ?? bytes.length;
  checkLen(n, 'CFDataCreateWithBytesNoCopy');
  if (n > bytes.length) throw new RangeError('CFDataCreateWithBytesNoCopy: length exceeds the bytes given');
  return new CFData(bytes, n, false, 0);
}

/** CFDataCreateCopy(alloc, data): an immutable copy (of mutable or immutable data). */
export function CFDataCreateCopy(_alloc: CFAllocatorRef, data: CFData): CFData {
  return new CFData(data._buf.slice(0, data._len), data._len, false, 0);
}

/** CFDataCreateMutable(alloc, capacity): empty; capacity 0 = growable, else a fixed maximum. */
export function CFDataCreateMutable(_alloc: CFAllocatorRef, capacity: CFIndex): CFData {
  checkLen(capacity, 'CFDataCreateMutable');
  return new CFData(new Uint8Array(capacity > 0 ? capacity : 16), 0, true, capacity);
}

/** CFDataCreateMutableCopy(alloc, capacity, data): a mutable copy; capacity as CFDataCreateMutable (must fit). */
export function CFDataCreateMutableCopy(_alloc: CFAllocatorRef, capacity: CFIndex, data: CFData): CFData {
  checkLen(capacity, 'CFDataCreateMutableCopy');
  if (capacity > 0 && data._len > capacity) throw new RangeError('CFDataCreateMutableCopy: capacity smaller than the data');
  const buf = new Uint8Array(Math.max(capacity, data._len, 16));
  buf.set(data._buf.subarray(0, data._len));
  return new CFData(buf, data._len, true, capacity);
}

/** CFDataGetLength. */
export function CFDataGetLength(data: CFData): CFIndex { return data._len; }

/** CFDataGetBytePtr: a view of the bytes (invalidated by later mutation of mutable data). */
export function CFDataGetBytePtr(data: CFData): Uint8Array { return data._buf.subarray(0, data._len); }

/** CFDataGetMutableBytePtr: a writable view of the bytes of mutable data. */
export function CFDataGetMutableBytePtr(data: CFData): Uint8Array {
  mutableOnly(data, 'CFDataGetMutableBytePtr');
  return data._buf.subarray(0, data._len);
}

/** CFDataGetBytes(data, range, buffer): copies the range into `buffer` (from index 0). */
export function CFDataGetBytes(data: CFData, range: CFRange, buffer: Uint8Array): void {
  checkRange(data, range, 'CFDataGetBytes');
  if (buffer.length < range.length) throw new RangeError('CFDataGetBytes: buffer too small');
  buffer.set(data._buf.subarray(range.location, range.location + range.length));
}

function ensure(data: CFData, need: number, fn: string): void {
  if (data._capacity > 0 && need > data._capacity) throw new RangeError(`${fn}: fixed-capacity CFMutableData is full (capacity ${data._capacity})`);
  if (need <= data._buf.length) return;
  const nb = new Uint8Array(Math.max(need, data._buf.length * 2));
  nb.set(data._buf.subarray(0, data._len));
  data._buf = nb;
}

/** CFDataSetLength: truncates or zero-extends. */
export function CFDataSetLength(data: CFData, length: CFIndex): void {
  mutableOnly(data, 'CFDataSetLength');
  checkLen(length, 'CFDataSetLength');
  ensure(data, length, 'CFDataSetLength');
  if (length > data._len) data._buf.fill(0, data._len, length);
  data._len = length;
}

/** CFDataIncreaseLength: zero-extends by `extra`. */
export function CFDataIncreaseLength(data: CFData, extra: CFIndex): void {
  checkLen(extra, 'CFDataIncreaseLength');
  CFDataSetLength(data, data._len + extra);
}

/** CFDataReplaceBytes(data, range, newBytes, newLength). */
export function CFDataReplaceBytes(data: CFData, range: CFRange, newBytes: Uint8Array | null, newLength?: CFIndex): void {
  mutableOnly(data, 'CFDataReplaceBytes');
  checkRange(data, range, 'CFDataReplaceBytes');
  const src = newBytes ?? new Uint8Array(0);
  const n = newLength ?? src.length;
  checkLen(n, 'CFDataReplaceBytes');
  if (n > src.length) throw new RangeError('CFDataReplaceBytes: newLength exceeds the bytes given');
  const ins = src.slice(0, n); // copy first: src may alias data
  const newLen = data._len - range.length + n;
  ensure(data, newLen, 'CFDataReplaceBytes');
  const tail = data._buf.slice(range.location + range.length, data._len);
  data._buf.set(ins, range.location);
  data._buf.set(tail, range.location + n);
  data._len = newLen;
}

/** CFDataAppendBytes(data, bytes, length). */
export function CFDataAppendBytes(data: CFData, bytes: Uint8Array, length?: CFIndex): void {
  CFDataReplaceBytes(data, { location: data._len, length: 0 }, bytes, length ?? bytes.length);
}

/** CFDataDeleteBytes(data, range). */
export function CFDataDeleteBytes(data: CFData, range: CFRange): void {
  CFDataReplaceBytes(data, range, null, 0);
}

/**
 * CFDataFind(data, dataToFind, searchRange, compareOptions): the range of the first (or, with
 * kCFDataSearchBackwards, last) occurrence; kCFDataSearchAnchored matches only at the start (end
 * when backwards). Not found, or an empty needle/haystack: {kCFNotFound, 0}.
 */
export function CFDataFind(data: CFData, needle: CFData, searchRange: CFRange, opts: CFOptionFlags): CFRange {
  checkRange(data, searchRange, 'CFDataFind');
  const nf = { location: kCFNotFound, length: 0 };
  const n = needle._len;
  if (n === 0 || searchRange.length === 0 || n > searchRange.length) return nf;
  const lo = searchRange.location, hi = searchRange.location + searchRange.length - n;
  const back = (opts & kCFDataSearchBackwards) !== 0, anchored = (opts & kCFDataSearchAnchored) !== 0;
  const at = (i: number): boolean => {
    for (let j = 0; j < n; j++) if (data._buf[i + j] !== needle._buf[j]) return false;
    return true;
  };
  if (anchored) {
    const i = back ? hi : lo;
    return at(i) ? { location: i, length: n } : nf;
  }
  if (back) { for (let i = hi; i >= lo; i--) if (at(i)) return { location: i, length: n }; }
  else { for (let i = lo; i <= hi; i++) if (at(i)) return { location: i, length: n }; }
  return nf;
}

/** CFDataGetTypeID. */
export function CFDataGetTypeID(): CFTypeID { return CFData.typeID; }
