// Model-based properties of the SACK scoreboard: a bitmap of SACKed octets over a window that may
// straddle 2^32 follows the same blocks and cumulative ACKs. After every step sackedBytes equals
// the model (so never exceeds snd_max - snd_una), pipe equals RFC 6675 SetPipe computed octet by
// octet (so is >= 0), and NextSeg returns the lowest lost, unSACKed, unretransmitted octet.

import { describe, it } from 'vitest';
import fc from 'fast-check';
import { SackScoreboard } from '../../stack/tcp/tcp-sack.js';
import { seqAdd } from '../../stack/wire/seq.js';

const W = 3000;

type Step =
  | { kind: 'sack'; blocks: [number, number][] }
  | { kind: 'ack'; by: number }
  | { kind: 'query'; rxt: number };

// Offsets and lengths on a 100-byte grid half the time, so blocks touch and byte counts hit the
// (DupThresh - 1) * SMSS boundary exactly.
const offArb = fc.oneof(fc.integer({ min: -300, max: W + 300 }), fc.integer({ min: -3, max: W / 100 + 3 }).map((x) => x * 100));
const lenArb = fc.oneof(fc.integer({ min: -50, max: 800 }), fc.integer({ min: 0, max: 8 }).map((x) => x * 100));
const blockArb = fc.tuple(offArb, lenArb).map(([s, l]): [number, number] => [s, s + l]);
const smssArb = fc.oneof(fc.integer({ min: 100, max: 1000 }), fc.integer({ min: 1, max: 10 }).map((x) => x * 100));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.array(blockArb, { minLength: 1, maxLength: 4 }).map((blocks) => ({ kind: 'sack' as const, blocks })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 600 }).map((by) => ({ kind: 'ack' as const, by })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: W }).map((rxt) => ({ kind: 'query' as const, rxt })) },
);
const baseArb = fc.oneof(fc.constant(0xffffffff - 1000), fc.constant(0xfffff000), fc.nat({ max: 0xffffffff }));

/** SetPipe and IsLost over the model, octet by octet (offsets relative to the base). */
function modelPipe(map: Uint8Array, una: number, rxt: number, smss: number): { pipe: number; lost: boolean[] } {
  const lost: boolean[] = new Array<boolean>(W).fill(false);
  let bytes = 0, runs = 0;
  for (let o = W - 1; o >= una; o--) {
    // state for octet o: SACKed octets strictly above it
    lost[o] = runs >= 3 || bytes > 2 * smss;
    if (map[o]) {
      bytes++;
      if (o + 1 >= W || !map[o + 1]) runs++;
    }
  }
  let pipe = 0;
  for (let o = una; o < W; o++) {
    if (map[o]) continue;
    if (!lost[o]) pipe++;
    if (o < rxt) pipe++;
  }
  return { pipe, lost };
}

describe('SackScoreboard properties', () => {
  it('agrees with a bitmap model of SACKed octets', () => {
    fc.assert(fc.property(baseArb, smssArb, fc.array(stepArb, { maxLength: 25 }), (base, smss, steps) => {
      const sb = new SackScoreboard();
      const map = new Uint8Array(W);
      let una = 0;
      const max = seqAdd(base, W);
      const s = (o: number): number => seqAdd(base, o);
      const check = (rxtOff: number): void => {
        let n = 0;
        for (let o = una; o < W; o++) n += map[o]!;
        if (sb.sackedBytes !== n) throw new Error(`sackedBytes ${sb.sackedBytes} != model ${n}`);
        if (sb.sackedBytes > W - una || sb.sackedBytes < 0) throw new Error('sackedBytes out of range');
        const rxt = Math.max(una, rxtOff);
        const m = modelPipe(map, una, rxt, smss);
        const p = sb.pipe(s(una), max, s(rxt), smss);
        if (p !== m.pipe || p < 0) throw new Error(`pipe ${p} != model ${m.pipe}`);
        // NextSeg rule 1: lowest octet >= rxt, unSACKed, lost, below the highest SACKed octet.
        let hi = -1;
        for (let o = W - 1; o >= una; o--) if (map[o]) { hi = o; break; }
        let want = -1;
        for (let o = rxt; o < hi; o++) if (!map[o] && m.lost[o]) { want = o; break; }
        const out = { start: 0, end: 0 };
        const got = sb.nextSeg(s(una), max, s(rxt), smss, out);
        if (got !== (want >= 0)) throw new Error(`nextSeg ${got}, model ${want}`);
        if (got) {
          if (out.start !== s(want)) throw new Error(`nextSeg start ${out.start} != ${s(want)}`);
          const len = (out.end - out.start) >>> 0;
          if (len < 1 || len > smss) throw new Error('nextSeg length');
          for (let o = want; o < want + len; o++) if (map[o]) throw new Error('nextSeg covers SACKed data');
        }
        for (let o = una; o < W; o += 97) if (sb.isSacked(s(o)) !== (map[o] === 1)) throw new Error('isSacked');
      };
      for (const st of steps) {
        if (st.kind === 'ack') {
          una = Math.min(W, una + st.by);
          sb.ackedThrough(s(una));
          check(una);
        } else if (st.kind === 'query') {
          check(st.rxt);
        } else {
          const bl = st.blocks.map(([a, b]) => [s(a), s(b)] as [number, number]);
          sb.update(s(una), max, bl);
          st.blocks.forEach(([a, b], i) => {
            if (!(a < b)) return;
            if (i === 0) {
              if (a < una) return; // D-SACK below the ACK
              const nx = st.blocks[1];
              if (nx !== undefined && a >= nx[0] && b <= nx[1]) return; // D-SACK inside the second block
            }
            if (a < una || b > W) return;
            map.fill(1, a, b);
          });
          check(una);
        }
      }
    }), { numRuns: 150 });
  });

  it('never reports more SACKed bytes than are outstanding when it overflows', () => {
    fc.assert(fc.property(baseArb, fc.array(blockArb, { maxLength: 60 }), (base, blocks) => {
      const sb = new SackScoreboard(4);
      const max = seqAdd(base, W);
      for (const [a, b] of blocks) {
        sb.update(base, max, [[seqAdd(base, a), seqAdd(base, b)]]);
        if (sb.sackedBytes < 0 || sb.sackedBytes > W) throw new Error('sackedBytes out of range');
        if (sb.rangeCount > 4) throw new Error('cap exceeded');
        let sum = 0;
        for (let i = 0; i < sb.rangeCount; i++) sum += (sb.endAt(i) - sb.startAt(i)) >>> 0;
        if (sum !== sb.sackedBytes) throw new Error('sackedBytes != sum of ranges');
        if (sb.pipe(base, max, base, 500) < 0) throw new Error('negative pipe');
      }
    }), { numRuns: 200 });
  });
});
