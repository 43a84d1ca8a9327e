// TCP option bytes for the fuzzer: every option kind the stack knows (EOL, NOP, MSS, window scale,
// SACK-permitted, SACK, timestamps, MPTCP) and some it does not (MD5, user timeout, TCP Fast Open,
// AccECN, unassigned kinds), each with good and bad lengths; values chosen around the
// connection's real state (MSS 0 and 1, window scale above 14, SACK blocks over nonsense ranges,
// timestamps older than ts_recent or echoing the future).

import type { FuzzRng } from './fuzz-rng.js';
import type { ConnTarget } from './live-targets.js';
import { put16, put32 } from './wire-build.js';

type Opt = number[];

function u16(v: number): number[] { return [(v >>> 8) & 0xff, v & 0xff]; }
function u32(v: number): number[] { const b = new Uint8Array(4); put32(b, 0, v >>> 0); return [...b]; }

/** A SACK block [left, right) chosen to be valid, reversed, empty, outside what was sent, or random. */
function sackBlock(r: FuzzRng, c: ConnTarget | null): number[] {
  if (c === null) return [...u32(r.u32()), ...u32(r.u32())];
  const una = c.sndUna, span = (c.sndMax - c.sndUna) >>> 0;
  const a = r.below(span + 1), b = r.below(span + 1);
  const lo = Math.min(a, b), hi = Math.max(a, b);
  const [left, right] = r.weighted<() => [number, number]>([
    [30, () => [una + lo, una + hi]],
    [10, () => [una + hi, una + lo]],
    [8, () => [una + lo, una + lo]],
    [10, () => [una - r.int(1, 100_000), una]],
    [10, () => [c.sndMax, c.sndMax + r.int(1, 100_000)]],
    [8, () => [una, una + 0x80000000]],
    [6, () => [una - 0x40000000, una + 0x40000000]],
    [8, () => [c.rcvNxt, c.rcvNxt + r.int(0, 5000)]],
    [10, () => [r.u32(), r.u32()]],
  ])();
  return [...u32(left >>> 0), ...u32(right >>> 0)];
}

function tsValue(r: FuzzRng, c: ConnTarget | null): number {
  const recent = c?.tsRecent ?? r.u32();
  return r.weighted<() => number>([
    [25, () => recent + r.int(0, 3)],
    [10, () => recent + r.int(4, 100_000)],
    [10, () => recent - r.int(1, 1000)],
    [8, () => recent + 0x80000000],
    [7, () => 0],
    [10, () => r.u32i()],
  ])() >>> 0;
}

function tsEcr(r: FuzzRng, c: ConnTarget | null): number {
  const now = c?.tsNow ?? r.u32();
  return r.weighted<() => number>([
    [30, () => now - r.int(0, 200)],
    [15, () => now + r.int(1, 10_000_000)],
    [10, () => now + 0x80000000],
    [10, () => 0],
    [10, () => r.u32i()],
  ])() >>> 0;
}

/** One option, well formed or not. */
function oneOption(r: FuzzRng, c: ConnTarget | null): Opt {
  return r.weighted<() => Opt>([
    [8, () => [1]],
    [3, () => [0]],
    [10, () => [2, 4, ...u16(r.pick([0, 1, 8, 64, 88, 216, 536, 1220, 1440, 1460, 8960, 65535, r.below(65536)]))]],
    [3, () => [2, r.pick([0, 1, 2, 3, 5, 6, 40]), ...u16(r.below(65536))]],
    [8, () => [3, 3, r.pick([0, 1, 7, 8, 14, 15, 16, 30, 255, r.below(256)])]],
    [3, () => [3, r.pick([0, 1, 2, 4, 5]), r.below(256), r.below(256)]],
    [5, () => [4, 2]],
    [2, () => [4, r.pick([0, 1, 3, 4]), 0, 0]],
    [10, () => {
      const n = r.weighted([[10, 1], [8, 2], [6, 3], [5, 4], [2, 0], [1, 5]] as const);
      const blocks: number[] = [];
      for (let i = 0; i < n; i++) blocks.push(...sackBlock(r, c));
      return [5, 2 + 8 * n, ...blocks];
    }],
    [3, () => [5, r.pick([3, 7, 9, 11, 17, 34, 255]), ...sackBlock(r, c)]],
    [12, () => [8, 10, ...u32(tsValue(r, c)), ...u32(tsEcr(r, c))]],
    [3, () => [8, r.pick([0, 1, 2, 6, 9, 11, 18]), ...u32(tsValue(r, c)), ...u32(tsEcr(r, c))]],
    [4, () => { const len = r.int(2, 24); return [30, len, (r.below(16) << 4) | r.below(16), ...r.bytes(Math.max(0, len - 3))]; }],
    [2, () => [19, 18, ...r.bytes(16)]],
    [2, () => [28, 4, ...u16(r.below(65536))]],
    [2, () => { const len = r.pick([2, 6, 10, 18]); return [34, len, ...r.bytes(len - 2)]; }],
    [2, () => [r.pick([172, 174]), r.pick([2, 5, 8, 11]), ...r.bytes(9)]],
    [5, () => { const len = r.int(2, 12); return [r.int(9, 255), len, ...r.bytes(len - 2)]; }],
    [3, () => [r.below(256), 0]],
    [3, () => [r.below(256), 1]],
    [2, () => [r.below(256), r.int(20, 255), ...r.bytes(4)]],
  ])();
}

/** Option bytes for a segment on `c` (null: no connection, e.g. a SYN to a listener). */
export function tcpOptions(r: FuzzRng, c: ConnTarget | null): Uint8Array {
  const n = r.weighted([[30, 0], [30, 1], [22, 2], [12, 3], [6, r.int(4, 8)]] as const);
  const bytes: number[] = [];
  for (let i = 0; i < n; i++) bytes.push(...oneOption(r, c));
  // Mostly within the 40 bytes a header can hold; tcpSeg cuts the rest.
  return Uint8Array.from(bytes.slice(0, r.chance(0.9) ? 40 : 60));
}

/** The options a real SYN carries (MSS, SACK-permitted, timestamps, window scale), then maybe damaged. */
export function synOptions(r: FuzzRng): Uint8Array {
  const b = new Uint8Array(20);
  b.set([2, 4], 0);
  put16(b, 2, r.pick([1460, 1440, 1220, 536, 0, 1, 65535]));
  b.set([4, 2, 8, 10], 4);
  put32(b, 8, r.u32());
  put32(b, 12, 0);
  b.set([1, 3, 3, r.pick([0, 6, 7, 14, 15, 255])], 16);
  if (r.chance(0.3)) b[r.below(20)] = r.below(256);
  return b;
}
