// struct sockopt and its copy helpers (bsd/kern/uipc_socket.c sooptcopyin/sooptcopyout): option
// values travel as raw bytes in Darwin's in-memory layout, ints little-endian as on every Darwin
// host, so the KPI passes a caller's optval through unchanged. Getters truncate silently to the
// caller's size and report the copied size in sopt_valsize.
//
//   int            : 4 bytes
//   struct linger  : 0 l_onoff (int), 4 l_linger (int)                         8 bytes
//   struct timeval : 0 tv_sec (int64), 8 tv_usec (int32), 4 bytes padding     16 bytes (user64_timeval)

import { EINVAL } from './errno.js';

export const SOPT_GET = 0;
export const SOPT_SET = 1;

export const TIMEVAL_LEN = 16;
export const LINGER_LEN = 8;

export class SockOpt {
  constructor(
    /** SOPT_GET or SOPT_SET. */
    public sopt_dir: number,
    public sopt_level: number,
    public sopt_name: number,
    /** SET: the value; GET: the caller's buffer (may be null for a size-0 get). */
    public sopt_val: Uint8Array | null,
    /** SET: bytes supplied; GET: buffer size in, bytes copied out. */
    public sopt_valsize: number = sopt_val === null ? 0 : sopt_val.length,
  ) {}

  static get(level: number, name: number, size: number): SockOpt {
    return new SockOpt(SOPT_GET, level, name, new Uint8Array(size), size);
  }
  static set(level: number, name: number, val: Uint8Array): SockOpt {
    return new SockOpt(SOPT_SET, level, name, val, val.length);
  }
  /** The value bytes a GET produced. */
  result(): Uint8Array {
    return this.sopt_val === null ? new Uint8Array(0) : this.sopt_val.subarray(0, this.sopt_valsize);
  }
}

/**
 * sooptcopyin: the first min(valsize, len) bytes of the value, or EINVAL when fewer than `minlen`
 * bytes were supplied. Longer values are truncated and accepted, as XNU does.
 */
export function sooptcopyin(sopt: SockOpt, len: number, minlen: number, out: { value: Uint8Array }): number {
  const val = sopt.sopt_val;
  if (val === null || sopt.sopt_valsize < minlen || val.length < minlen) return EINVAL;
  const n = Math.min(sopt.sopt_valsize, len, val.length);
  out.value = val.subarray(0, n);
  return 0;
}

/** Reads an int option (4 bytes, little-endian); EINVAL when shorter. */
export function sooptcopyinInt(sopt: SockOpt, out: { value: number }): number {
  const val = sopt.sopt_val;
  if (val === null || sopt.sopt_valsize < 4 || val.length < 4) return EINVAL;
  out.value = readInt(val, 0);
  return 0;
}

/** sooptcopyout: copies min(valsize, bytes.length) bytes and sets sopt_valsize to that count. */
export function sooptcopyout(sopt: SockOpt, bytes: Uint8Array): number {
  const val = sopt.sopt_val;
  const n = val === null ? 0 : Math.min(sopt.sopt_valsize, bytes.length, val.length);
  if (val !== null && n > 0) val.set(bytes.subarray(0, n), 0);
  sopt.sopt_valsize = n;
  return 0;
}

/** Copies out an int option. */
export function sooptcopyoutInt(sopt: SockOpt, v: number): number {
  return sooptcopyout(sopt, sooptInt(v));
}

/** An int option value. */
export function sooptInt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeInt(b, 0, v);
  return b;
}

/** A struct linger value. */
export function sooptLinger(onoff: number, linger: number): Uint8Array {
  const b = new Uint8Array(LINGER_LEN);
  writeInt(b, 0, onoff);
  writeInt(b, 4, linger);
  return b;
}

/** A struct timeval value (64-bit layout). */
export function sooptTimeval(sec: number, usec: number): Uint8Array {
  const b = new Uint8Array(TIMEVAL_LEN);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, BigInt(Math.trunc(sec)), true);
  dv.setInt32(8, usec | 0, true);
  return b;
}

export function readInt(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24));
}

export function writeInt(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

/** Decodes a struct linger. */
export function readLinger(b: Uint8Array): { onoff: number; linger: number } {
  return { onoff: readInt(b, 0), linger: readInt(b, 4) };
}

/** Decodes a struct timeval (64-bit layout); sec as a double (exact below 2^53). */
export function readTimeval(b: Uint8Array): { sec: number; usec: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { sec: Number(dv.getBigInt64(0, true)), usec: dv.getInt32(8, true) };
}
