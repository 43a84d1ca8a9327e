// SACK: the receiver's block list (RFC 2018 §4 ordering, merging, D-SACK RFC 2883) and the
// sender's scoreboard (RFC 6675 update / IsLost / NextSeg / SetPipe), including sequence wrap.

import { describe, expect, it } from 'vitest';
import { SackRcvBlocks, SackScoreboard } from '../../stack/tcp/tcp-sack.js';
import { seqAdd } from '../../stack/wire/seq.js';

const blocksOf = (r: SackRcvBlocks): [number, number][] => Array.from({ length: r.count }, (_, i) => r.get(i));

describe('SackRcvBlocks', () => {
  it('puts the block holding the newest segment first and merges touching blocks', () => {
    const r = new SackRcvBlocks();
    r.noteArrival(1000, 2000);
    expect(blocksOf(r)).toEqual([[1000, 2000]]);
    r.noteArrival(3000, 4000);
    expect(blocksOf(r)).toEqual([[3000, 4000], [1000, 2000]]);
    r.noteArrival(5000, 6000);
    expect(blocksOf(r)).toEqual([[5000, 6000], [3000, 4000], [1000, 2000]]);
    r.noteArrival(2000, 3000); // fills the gap: one block, first
    expect(blocksOf(r)).toEqual([[1000, 4000], [5000, 6000]]);
    r.noteArrival(5500, 5600); // a duplicate inside a block moves it to the front
    expect(blocksOf(r)).toEqual([[5000, 6000], [1000, 4000]]);
    r.noteArrival(3500, 5200); // overlaps both
    expect(blocksOf(r)).toEqual([[1000, 6000]]);
    r.noteArrival(7000, 7000); // empty: ignored
    expect(r.count).toBe(1);
  });

  it('drops or trims blocks when rcv_nxt advances', () => {
    const r = new SackRcvBlocks();
    r.noteArrival(5000, 6000);
    r.noteArrival(1000, 2000);
    r.noteArrival(3000, 4000);
    r.advance(2000);
    expect(blocksOf(r)).toEqual([[3000, 4000], [5000, 6000]]);
    r.advance(5500);
    expect(blocksOf(r)).toEqual([[5500, 6000]]);
    r.advance(6000);
    expect(r.count).toBe(0);
  });

  it('keeps at most `capacity` blocks, forgetting the least recent', () => {
    const r = new SackRcvBlocks(4);
    for (let i = 1; i <= 6; i++) r.noteArrival(i * 1000, i * 1000 + 500);
    expect(blocksOf(r)).toEqual([[6000, 6500], [5000, 5500], [4000, 4500], [3000, 3500]]);
  });

  it('fills caller arrays, a pending D-SACK block first and only once (RFC 2883 §4)', () => {
    const r = new SackRcvBlocks();
    r.noteArrival(3000, 4000);
    r.noteArrival(5000, 6000);
    r.noteDuplicate(500, 600);
    expect(r.dsackPending).toBe(true);
    const s = new Uint32Array(4), e = new Uint32Array(4);
    expect(r.fill(s, e, 3)).toBe(3);
    expect([...s.subarray(0, 3)]).toEqual([500, 5000, 3000]);
    expect([...e.subarray(0, 3)]).toEqual([600, 6000, 4000]);
    expect(r.fill(s, e, 3)).toBe(2);
    expect([...s.subarray(0, 2)]).toEqual([5000, 3000]);
    const inter = new Uint32Array(8);
    r.noteDuplicate(100, 200);
    expect(r.fillInterleaved(inter, 1)).toBe(1);
    expect([...inter.subarray(0, 2)]).toEqual([100, 200]);
    expect(r.fillInterleaved(inter, 4)).toBe(2);
    expect([...inter.subarray(0, 4)]).toEqual([5000, 6000, 3000, 4000]);
    r.clear();
    expect(r.fill(s, e, 4)).toBe(0);
  });

  it('merges across the 2^32 wrap', () => {
    const r = new SackRcvBlocks();
    r.noteArrival(0xfffffc00, 0xffffff00);
    r.noteArrival(0x00000100, 0x00000200);
    r.noteArrival(0xffffff00, 0x00000100);
    expect(blocksOf(r)).toEqual([[0xfffffc00, 0x00000200]]);
    r.advance(0x00000080);
    expect(blocksOf(r)).toEqual([[0x00000080, 0x00000200]]);
  });
});

describe('SackScoreboard', () => {
  const SMSS = 1000;
  const UNA = 1000, MAX = 11_000; // ten segments outstanding: 1000..11000

  it('records blocks, merges them and returns the newly SACKed bytes', () => {
    const sb = new SackScoreboard();
    expect(sb.update(UNA, MAX, [[2000, 3000]])).toBe(1000);
    expect(sb.update(UNA, MAX, [[3000, 4000], [2000, 3000]])).toBe(1000);
    expect(sb.rangeCount).toBe(1);
    expect(sb.update(UNA, MAX, [[6000, 7000], [2000, 4000]])).toBe(1000);
    expect(sb.update(UNA, MAX, [[3500, 6500]])).toBe(2000);
    expect(sb.rangeCount).toBe(1);
    expect([sb.startAt(0), sb.endAt(0)]).toEqual([2000, 7000]);
    expect(sb.sackedBytes).toBe(5000);
    expect(sb.highSacked).toBe(7000);
    expect(sb.isSacked(1999)).toBe(false);
    expect(sb.isSacked(2000)).toBe(true);
    expect(sb.isSacked(7000)).toBe(false);
  });

  it('ignores blocks outside [snd_una, snd_max] and counts D-SACKs without treating them as new', () => {
    const sb = new SackScoreboard();
    expect(sb.update(UNA, MAX, [[10_000, 12_000]])).toBe(0); // beyond snd_max
    expect(sb.update(UNA, MAX, [[5000, 4000]])).toBe(0); // inverted
    expect(sb.rangeCount).toBe(0);
    expect(sb.dsack).toBe(0);
    // D-SACK below the cumulative ACK, followed by a normal block.
    expect(sb.update(3000, MAX, [[1000, 2000], [4000, 5000]])).toBe(1000);
    expect(sb.dsack).toBe(1);
    // D-SACK inside the second block (a duplicate of SACKed data).
    expect(sb.update(3000, MAX, [[4200, 4300], [4000, 5000]])).toBe(0);
    expect(sb.dsack).toBe(2);
    // Below snd_una but not first: just ignored.
    expect(sb.update(3000, MAX, [[6000, 7000], [1000, 2000]])).toBe(1000);
    expect(sb.dsack).toBe(2);
  });

  it('discards and trims what the cumulative ACK covers', () => {
    const sb = new SackScoreboard();
    sb.update(UNA, MAX, [[2000, 3000], [4000, 6000], [8000, 9000]]);
    expect(sb.sackedBytes).toBe(4000);
    sb.ackedThrough(5000);
    expect(sb.rangeCount).toBe(2);
    expect([sb.startAt(0), sb.endAt(0)]).toEqual([5000, 6000]);
    expect(sb.sackedBytes).toBe(2000);
    expect(sb.holeCount).toBe(1); // the range at snd_una has no hole below it
    sb.ackedThrough(9000);
    expect(sb.rangeCount).toBe(0);
    expect(sb.sackedBytes).toBe(0);
    expect(sb.highSacked).toBe(9000);
  });

  it('IsLost: more than (DupThresh-1)*SMSS bytes or DupThresh discontiguous ranges above', () => {
    const sb = new SackScoreboard();
    sb.update(UNA, MAX, [[2000, 3000]]);
    expect(sb.isLost(1000, SMSS)).toBe(false);
    sb.update(UNA, MAX, [[2000, 4000]]);
    expect(sb.isLost(1000, SMSS)).toBe(false); // exactly 2*SMSS: not more than
    sb.update(UNA, MAX, [[2000, 5000]]);
    expect(sb.isLost(1000, SMSS)).toBe(true); // third duplicate ACK's worth
    expect(sb.isLost(1999, SMSS)).toBe(true);
    expect(sb.isLost(2500, SMSS)).toBe(true); // 2499 bytes above
    expect(sb.isLost(3000, SMSS)).toBe(false);

    const small = new SackScoreboard();
    small.update(UNA, MAX, [[2000, 2100], [3000, 3100]]);
    expect(small.isLost(1000, SMSS)).toBe(false);
    small.update(UNA, MAX, [[4000, 4100]]);
    expect(small.isLost(1000, SMSS)).toBe(true); // three discontiguous SACKed ranges
    expect(small.isLost(2500, SMSS)).toBe(false);
  });

  it('NextSeg rule 1 returns the lowest lost hole above HighRxt; rule 3 any hole', () => {
    const sb = new SackScoreboard();
    const out = { start: 0, end: 0 };
    // Segments 2000..5000 SACKed: the first segment is lost.
    sb.update(UNA, MAX, [[2000, 5000]]);
    expect(sb.nextSeg(UNA, MAX, UNA, SMSS, out)).toBe(true);
    expect(out).toEqual({ start: 1000, end: 2000 });
    // After retransmitting it (HighRxt past it) nothing else is lost below the highest SACK.
    expect(sb.nextSeg(UNA, MAX, 2000, SMSS, out)).toBe(false);
    expect(sb.nextSeg(UNA, MAX, 2000, SMSS, out, true)).toBe(false);

    // Holes at 1000..2000, 3000..4000 (+ small 5000..5500), SACKed 2000..3000, 4000..5000, 5500..8000.
    const sb2 = new SackScoreboard();
    sb2.update(UNA, MAX, [[2000, 3000], [4000, 5000], [5500, 8000]]);
    expect(sb2.nextSeg(UNA, MAX, UNA, SMSS, out)).toBe(true);
    expect(out).toEqual({ start: 1000, end: 2000 });
    expect(sb2.nextSeg(UNA, MAX, 1500, SMSS, out)).toBe(true); // half retransmitted
    expect(out).toEqual({ start: 1500, end: 2000 });
    expect(sb2.nextSeg(UNA, MAX, 2000, SMSS, out)).toBe(true); // 3500 bytes above: lost
    expect(out).toEqual({ start: 3000, end: 4000 });
    expect(sb2.nextSeg(UNA, MAX, 4000, SMSS, out)).toBe(true); // 2500 bytes above: lost
    expect(out).toEqual({ start: 5000, end: 5500 });
    sb2.update(UNA, MAX, [[5500, 7000]]); // no change: already SACKed
    const sb3 = new SackScoreboard();
    sb3.update(UNA, MAX, [[2000, 3000], [4000, 4500]]);
    expect(sb3.nextSeg(UNA, MAX, 2000, SMSS, out)).toBe(false); // 500 bytes above 3000: not lost
    expect(sb3.nextSeg(UNA, MAX, 2000, SMSS, out, true)).toBe(true); // rule 3
    expect(out).toEqual({ start: 3000, end: 4000 });
    // A hole larger than SMSS is returned one SMSS at a time.
    const sb4 = new SackScoreboard();
    sb4.update(UNA, MAX, [[4000, 8000]]);
    expect(sb4.nextSeg(UNA, MAX, UNA, SMSS, out)).toBe(true);
    expect(out).toEqual({ start: 1000, end: 2000 });
    expect(sb4.nextSeg(UNA, MAX, 2000, SMSS, out)).toBe(true);
    expect(out).toEqual({ start: 2000, end: 3000 });
  });

  it('SetPipe counts unSACKed octets not lost, plus those retransmitted', () => {
    const sb = new SackScoreboard();
    expect(sb.pipe(UNA, MAX, UNA, SMSS)).toBe(10_000); // nothing SACKed: the whole flight
    sb.update(UNA, MAX, [[2000, 5000]]);
    // Hole 1000..2000 lost, 5000..11000 in flight.
    expect(sb.pipe(UNA, MAX, UNA, SMSS)).toBe(6000);
    expect(sb.pipe(UNA, MAX, 2000, SMSS)).toBe(7000); // the retransmission is in flight
    const sb2 = new SackScoreboard();
    sb2.update(UNA, MAX, [[2000, 3000], [4000, 4500]]);
    // Hole 1000..2000: 1500 bytes SACKed above, 2 ranges: not lost. Hole 3000..4000 not lost.
    expect(sb2.pipe(UNA, MAX, UNA, SMSS)).toBe(10_000 - 1500);
    sb2.update(UNA, MAX, [[6000, 6100]]);
    // Now 3 ranges above the first hole: lost (1000 bytes leave the pipe).
    expect(sb2.pipe(UNA, MAX, UNA, SMSS)).toBe(10_000 - 1600 - 1000);
  });

  it('caps the ranges it tracks, forgetting the highest', () => {
    const sb = new SackScoreboard(4);
    for (let i = 0; i < 4; i++) sb.update(UNA, MAX, [[2000 + 2000 * i, 2500 + 2000 * i]]);
    expect(sb.rangeCount).toBe(4);
    expect(sb.update(UNA, 20_000, [[12_000, 12_500]])).toBe(0); // highest: not recorded
    expect(sb.overflows).toBe(1);
    expect(sb.update(UNA, 20_000, [[1200, 1300]])).toBe(0); // 100 new, 500 forgotten above
    expect(sb.overflows).toBe(2);
    expect(sb.rangeCount).toBe(4);
    expect(sb.highSacked).toBe(6500);
    expect(sb.sackedBytes).toBe(100 + 3 * 500);
    sb.clear();
    expect([sb.rangeCount, sb.sackedBytes]).toEqual([0, 0]);
  });

  it('works across the 2^32 wrap', () => {
    const una = 0xfffff000, max = seqAdd(una, 10_000);
    const sb = new SackScoreboard();
    expect(sb.update(una, max, [[seqAdd(una, 1000), seqAdd(una, 5000)]])).toBe(4000);
    expect(sb.startAt(0)).toBe(0xfffff3e8);
    expect(sb.endAt(0)).toBe(0x00000388);
    expect(sb.isLost(una, SMSS)).toBe(true);
    const out = { start: 0, end: 0 };
    expect(sb.nextSeg(una, max, una, SMSS, out)).toBe(true);
    expect(out).toEqual({ start: una, end: seqAdd(una, 1000) });
    expect(sb.pipe(una, max, una, SMSS)).toBe(5000);
    sb.ackedThrough(seqAdd(una, 3000));
    expect(sb.sackedBytes).toBe(2000);
  });

  it('accepts the interleaved edge layout of TcpOptionsScratch', () => {
    const sb = new SackScoreboard();
    const edges = Uint32Array.of(500, 600, 3000, 4000, 5000, 6000, 0, 0);
    expect(sb.updateInterleaved(3000, MAX, edges, 3)).toBe(2000);
    expect(sb.dsack).toBe(1);
    expect(sb.rangeCount).toBe(2);
  });
});
