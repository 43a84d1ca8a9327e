// Byte-level mutation of a generated packet: bit flips, bytes and 16/32-bit fields set to boundary
// values (mostly in the headers, where they matter), truncation, extension, insertion and deletion
// of bytes. Afterwards the checksums are usually made right again (packet-layout.ts), so that the
// damage reaches the code behind the checksum checks instead of always stopping at them.

import type { FuzzRng } from './fuzz-rng.js';
import { INTERESTING_16, INTERESTING_32, INTERESTING_8 } from './fuzz-rng.js';
import type { FuzzPacket } from './fuzz-packet.js';
import { fixChecksums, quotedTupleKeyOf, tupleKeyOf } from './packet-layout.js';
import { concat, put16, put32 } from './wire-build.js';

/** An offset biased towards the first 80 bytes (IP and transport headers). */
function headerOffset(r: FuzzRng, len: number): number {
  if (len <= 0) return 0;
  return r.chance(0.8) ? r.below(Math.min(len, 80)) : r.below(len);
}

type Op = 'flip' | 'byte' | 'word' | 'dword' | 'truncate' | 'extend' | 'insert' | 'delete';

function mutateOnce(r: FuzzRng, p: Uint8Array): { op: Op; bytes: Uint8Array } {
  const op = r.weighted<Op>([
    [25, 'flip'], [15, 'byte'], [12, 'word'], [8, 'dword'], [12, 'truncate'], [10, 'extend'], [9, 'insert'], [9, 'delete'],
  ]);
  const b = p.slice();
  switch (op) {
    case 'flip': {
      const n = r.int(1, 8);
      for (let i = 0; i < n && b.length > 0; i++) { const o = headerOffset(r, b.length); b[o] = b[o]! ^ (1 << r.below(8)); }
      return { op, bytes: b };
    }
    case 'byte': if (b.length > 0) b[headerOffset(r, b.length)] = r.chance(0.6) ? r.pick(INTERESTING_8) : r.below(256); return { op, bytes: b };
    case 'word': if (b.length >= 2) put16(b, Math.min(headerOffset(r, b.length), b.length - 2), r.pick(INTERESTING_16)); return { op, bytes: b };
    case 'dword': if (b.length >= 4) put32(b, Math.min(headerOffset(r, b.length), b.length - 4), r.pick(INTERESTING_32)); return { op, bytes: b };
    case 'truncate': return { op, bytes: b.slice(0, r.chance(0.5) ? headerOffset(r, b.length) : r.below(b.length + 1)) };
    case 'extend': return { op, bytes: concat([b, r.chance(0.5) ? r.bytes(r.int(1, 64)) : new Uint8Array(r.int(1, 300))]) };
    case 'insert': {
      const o = headerOffset(r, b.length);
      return { op, bytes: concat([b.subarray(0, o), r.bytes(r.int(1, 16)), b.subarray(o)]) };
    }
    case 'delete': {
      const o = headerOffset(r, b.length);
      return { op, bytes: concat([b.subarray(0, o), b.subarray(Math.min(b.length, o + r.int(1, 16)))]) };
    }
  }
}

/**
 * A mutated copy of `pkt`: 1-3 mutations, then (mostly) checksums fixed. No audit survives a
 * mutation; the taints gain whatever 4-tuple the mutated packet now carries.
 */
export function mutatePacket(r: FuzzRng, pkt: FuzzPacket): FuzzPacket {
  let bytes = pkt.bytes;
  const ops: string[] = [];
  const n = r.weighted([[70, 1], [20, 2], [10, 3]] as const);
  for (let i = 0; i < n; i++) {
    const m = mutateOnce(r, bytes);
    bytes = m.bytes;
    ops.push(m.op);
  }
  if (r.chance(0.75)) fixChecksums(bytes);
  const taints = [...pkt.taints];
  for (const k of [tupleKeyOf(bytes), quotedTupleKeyOf(bytes)]) if (k !== null && !taints.includes(k)) taints.push(k);
  return { to: pkt.to, bytes, kind: `${pkt.kind}+mut:${ops.join(',')}`, audit: null, taints };
}
