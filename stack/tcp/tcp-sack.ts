// Selective acknowledgments (RFC 2018, RFC 2883 D-SACK, RFC 6675 loss recovery), both directions:
//  - SackRcvBlocks: the receiver's list of blocks to report (tcp_input queues an out-of-order
//    segment in tcp-reass.ts → noteArrival; rcv_nxt advances → advance; tcp_output → fill).
//  - SackScoreboard: the sender's record of what the peer holds (tcp_input parses the SACK option
//    → update/updateInterleaved; tcp_output during recovery → nextSeg/pipe).
// Both keep their blocks in fixed Uint32Arrays and allocate nothing per segment (get() excepted).

import { type Seq, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from '../wire/seq.js';

/** Blocks the receiver remembers (it reports at most 4, 3 beside timestamps; RFC 2018 §3). */
export const SACK_RCV_MAX_BLOCKS = 8;
/** Ranges the sender's scoreboard tracks before it starts dropping the highest. */
export const SACK_SCOREBOARD_MAX = 64;
/** RFC 6675 §2 DupThresh. */
export const SACK_DUPTHRESH = 3;

/**
 * Receiver side, RFC 2018 §4: the blocks of out-of-order data held, most recently changed first.
 * Blocks are pairwise disjoint and never adjacent (touching blocks are merged).
 */
export class SackRcvBlocks {
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private n = 0;
  private hasDsack = false;
  private dsackStart = 0;
  private dsackEnd = 0;

  constructor(readonly capacity = SACK_RCV_MAX_BLOCKS) {
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
  }

  /** Blocks held (not counting a pending D-SACK block). */
  get count(): number { return this.n; }
  startAt(i: number): Seq { return this.starts[i]!; }
  endAt(i: number): Seq { return this.ends[i]!; }
  /** Block i as [start, end) (allocates: tests and cold paths). */
  get(i: number): [Seq, Seq] { return [this.starts[i]!, this.ends[i]!]; }

  /**
   * An out-of-order segment [start, end) was queued. RFC 2018 §4: "The first SACK block (i.e., the
   * one immediately following the kind and length fields in the option) MUST specify the
   * contiguous block of data containing the segment which triggered this ACK": the segment is
   * merged with every block it overlaps or touches and the result moves to the front; the other
   * blocks keep their order (most recently reported first, §4). Past capacity the oldest is dropped.
   */
  noteArrival(start: Seq, end: Seq): void {
    if (!seqLt(start, end)) return;
    const st = this.starts, en = this.ends;
    let s = start, e = end, w = 0;
    // Blocks are disjoint and non-adjacent, so one pass suffices: a block touching the union of
    // [s, e) and some block touches one of them.
    for (let i = 0; i < this.n; i++) {
      const bs = st[i]!, be = en[i]!;
      if (seqLe(bs, e) && seqGe(be, s)) {
        s = seqMin(s, bs);
        e = seqMax(e, be);
      } else {
        st[w] = bs; en[w] = be; w++;
      }
    }
    const keep = w < this.capacity ? w : this.capacity - 1;
    for (let i = keep; i > 0; i--) { st[i] = st[i - 1]!; en[i] = en[i - 1]!; }
    st[0] = s; en[0] = e;
    this.n = keep + 1;
  }

  /** rcv_nxt moved: drop blocks at or below it, trim a block it falls inside. */
  advance(rcvNxt: Seq): void {
    const st = this.starts, en = this.ends;
    let w = 0;
    for (let i = 0; i < this.n; i++) {
      const be = en[i]!;
      if (seqLe(be, rcvNxt)) continue;
      const bs = st[i]!;
      st[w] = seqLt(bs, rcvNxt) ? rcvNxt : bs;
      en[w] = be;
      w++;
    }
    this.n = w;
  }

  /**
   * RFC 2883 §4: a duplicate segment [start, end) arrived; the next fill() reports it as the first
   * block (a D-SACK block), once. A later call replaces an unreported one.
   */
  noteDuplicate(start: Seq, end: Seq): void {
    if (!seqLt(start, end)) return;
    this.hasDsack = true;
    this.dsackStart = start;
    this.dsackEnd = end;
  }

  /** True when a D-SACK block waits to be reported. */
  get dsackPending(): boolean { return this.hasDsack; }

  /**
   * Writes up to `max` blocks to outStarts/outEnds (a pending D-SACK block first, which this
   * consumes) and returns how many were written.
   */
  fill(outStarts: Uint32Array, outEnds: Uint32Array, max: number): number {
    let k = 0;
    const lim = Math.min(max, outStarts.length, outEnds.length);
    if (this.hasDsack && k < lim) {
      outStarts[k] = this.dsackStart; outEnds[k] = this.dsackEnd; k++;
      this.hasDsack = false;
    }
    for (let i = 0; i < this.n && k < lim; i++, k++) {
      outStarts[k] = this.starts[i]!; outEnds[k] = this.ends[i]!;
    }
    return k;
  }

  /** As fill(), with edges interleaved (out[2k] = left, out[2k+1] = right) like TcpOptionsScratch.sackBlocks. */
  fillInterleaved(out: Uint32Array, max: number): number {
    let k = 0;
    const lim = Math.min(max, out.length >>> 1);
    if (this.hasDsack && k < lim) {
      out[0] = this.dsackStart; out[1] = this.dsackEnd; k++;
      this.hasDsack = false;
    }
    for (let i = 0; i < this.n && k < lim; i++, k++) {
      out[2 * k] = this.starts[i]!; out[2 * k + 1] = this.ends[i]!;
    }
    return k;
  }

  clear(): void {
    this.n = 0;
    this.hasDsack = false;
  }
}

/**
 * Sender side, RFC 6675: the SACKed ranges above snd_una, sorted, disjoint and non-adjacent.
 * `highRxt` arguments are exclusive: one past the highest octet retransmitted in this recovery
 * (RFC 6675's HighRxt + 1); pass snd_una when nothing has been retransmitted yet.
 */
export class SackScoreboard {
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private n = 0;
  /** snd_una as of the last update/ackedThrough. */
  private una: Seq = 0;
  /** Bytes covered by the ranges. */
  sackedBytes = 0;
  /** D-SACK blocks received (RFC 2883): first blocks below snd_una or inside the second block. */
  dsack = 0;
  /** Ranges dropped (or not recorded) because the scoreboard was full. */
  overflows = 0;

  constructor(readonly capacity = SACK_SCOREBOARD_MAX) {
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
  }

  get rangeCount(): number { return this.n; }
  startAt(i: number): Seq { return this.starts[i]!; }
  endAt(i: number): Seq { return this.ends[i]!; }
  /** One past the highest SACKed octet (RFC 6675 "highest octet covered by any received SACK" + 1); snd_una when empty. */
  get highSacked(): Seq { return this.n > 0 ? this.ends[this.n - 1]! : this.una; }
  /** Holes below highSacked: unSACKed, unacknowledged runs that have SACKed data above them. */
  get holeCount(): number { return this.n > 0 && this.starts[0] === this.una ? this.n - 1 : this.n; }

  /**
   * Processes the blocks of one ACK whose cumulative acknowledgment made snd_una `sndUna` (pass the
   * updated snd_una). Discards what sndUna covers, then records each valid block — sndUna <=
   * start < end <= sndMax (tcp_sack_doack's check) — and returns the bytes newly SACKed. A first
   * block starting below sndUna, or lying inside the second block, is a D-SACK (RFC 2883 §4):
   * counted in `dsack`, never treated as new. Other invalid blocks are ignored.
   */
  update(sndUna: Seq, sndMax: Seq, blocks: readonly (readonly [Seq, Seq])[]): number {
    this.ackedThrough(sndUna);
    let added = 0;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const nx = blocks[i + 1];
      added += this.block(sndUna, sndMax, b[0], b[1], i, nx === undefined ? -1 : nx[0], nx === undefined ? -1 : nx[1]);
    }
    return added;
  }

  /** As update(), with `count` blocks interleaved in `edges` (TcpOptionsScratch.sackBlocks layout). */
  updateInterleaved(sndUna: Seq, sndMax: Seq, edges: ArrayLike<number>, count: number): number {
    this.ackedThrough(sndUna);
    let added = 0;
    for (let i = 0; i < count; i++) {
      const more = i + 1 < count;
      added += this.block(sndUna, sndMax, edges[2 * i]!, edges[2 * i + 1]!, i,
        more ? edges[2 * i + 2]! : -1, more ? edges[2 * i + 3]! : -1);
    }
    return added;
  }

  /** snd_una reached `sndUna`: drop ranges below it, trim one it falls inside. */
  ackedThrough(sndUna: Seq): void {
    this.una = sndUna;
    const st = this.starts, en = this.ends;
    if (this.n === 0 || seqLe(sndUna, st[0]!)) return;
    let k = 0;
    while (k < this.n && seqLe(en[k]!, sndUna)) {
      this.sackedBytes -= seqSub(en[k]!, st[k]!);
      k++;
    }
    if (k < this.n && seqLt(st[k]!, sndUna)) {
      this.sackedBytes -= seqSub(sndUna, st[k]!);
      st[k] = sndUna;
    }
    if (k > 0) {
      for (let i = k; i < this.n; i++) { st[i - k] = st[i]!; en[i - k] = en[i]!; }
      this.n -= k;
    }
  }

  /** True when octet `seq` has been SACKed. */
  isSacked(seq: Seq): boolean {
    for (let i = 0; i < this.n; i++) {
      if (seqLt(seq, this.starts[i]!)) return false;
      if (seqLt(seq, this.ends[i]!)) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): "true when either DupThresh discontiguous SACKed sequences have
   * arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with sequence numbers greater
   * than 'SeqNum' have been SACKed". Each SACKed range above counts as one discontiguous sequence.
   */
  isLost(seq: Seq, smss: number): boolean {
    let cnt = 0, bytes = 0;
    const above = seqAdd(seq, 1);
    for (let i = this.n - 1; i >= 0; i--) {
      const e = this.ends[i]!;
      if (seqLe(e, above)) break;
      const s = this.starts[i]!;
      bytes += seqSub(e, seqGt(s, seq) ? s : above);
      cnt++;
      if (cnt >= SACK_DUPTHRESH || bytes > (SACK_DUPTHRESH - 1) * smss) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 NextSeg(), rule (1): the lowest unSACKed octet S2 with S2 >= highRxt (i.e. above
   * HighRxt), below the highest SACKed octet, and IsLost(S2); writes [S2, S2 + up to SMSS) clipped
   * to its hole into `out` and returns true. With `rule3`, rule (3) instead: the same without
   * IsLost. Rule (2) (new data) and rule (4) (rescue) are the caller's. The caller advances
   * highRxt past what it retransmits.
   */
  nextSeg(sndUna: Seq, sndMax: Seq, highRxt: Seq, smss: number, out: { start: Seq; end: Seq }, rule3 = false): boolean {
    this.ackedThrough(sndUna);
    const rxt = seqMin(seqMax(highRxt, sndUna), sndMax);
    const st = this.starts, en = this.ends;
    for (let i = 0; i < this.n; i++) {
      const hs = i === 0 ? sndUna : en[i - 1]!;
      const he = st[i]!;
      if (seqLe(he, rxt) || seqLe(he, hs)) continue;
      // IsLost is monotone (a lower octet has at least as much SACKed above it), so when the
      // lowest candidate hole is not lost, no higher one is.
      if (!rule3 && !this.holeLost(i, smss)) return false;
      const s = seqMax(hs, rxt);
      out.start = s;
      out.end = seqMin(he, seqAdd(s, smss));
      return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 NextSeg() rule (4), the segment only: up to SMSS unSACKed octets ending with the
   * highest outstanding unSACKed octet below `end` (snd_max, or the last buffer byte when a FIN
   * occupies snd_max) — "one segment of up to SMSS octets that MUST include the highest
   * outstanding unSACKed sequence number". The caller checks HighACK > RescueRxt and records it.
   */
  rescueSeg(sndUna: Seq, end: Seq, smss: number, out: { start: Seq; end: Seq }): boolean {
    this.ackedThrough(sndUna);
    const st = this.starts, en = this.ends;
    // Walk down from the top past the ranges that cover it; the run below is unSACKed.
    let hi = end;
    let lo = sndUna;
    for (let i = this.n - 1; i >= 0; i--) {
      if (seqLt(en[i]!, hi)) {
        lo = en[i]!;
        break;
      }
      if (seqLt(st[i]!, hi)) hi = st[i]!;
    }
    if (seqLt(lo, sndUna)) lo = sndUna;
    if (!seqLt(lo, hi)) return false;
    out.end = hi;
    out.start = seqSub(hi, lo) > smss ? seqAdd(hi, -smss) : lo;
    return true;
  }

  /**
   * RFC 6675 §4 SetPipe(): over every unSACKed octet in [sndUna, sndMax), one for each that is not
   * IsLost (still presumed in the network) plus one for each below highRxt (retransmitted).
   */
  pipe(sndUna: Seq, sndMax: Seq, highRxt: Seq, smss: number): number {
    this.ackedThrough(sndUna);
    const rxt = seqMin(seqMax(highRxt, sndUna), sndMax);
    const st = this.starts, en = this.ends;
    let pipe = 0;
    // Above the highest SACKed octet nothing is lost.
    const tail = this.n > 0 ? en[this.n - 1]! : sndUna;
    const tl = seqSub(sndMax, tail);
    if (tl > 0) {
      pipe += tl;
      const r = seqSub(rxt, tail);
      if (r > 0) pipe += r;
    }
    let cnt = 0, bytes = 0;
    for (let i = this.n - 1; i >= 0; i--) {
      cnt++;
      bytes += seqSub(en[i]!, st[i]!);
      const hs = i === 0 ? sndUna : en[i - 1]!;
      const he = st[i]!;
      const hl = seqSub(he, hs);
      if (hl <= 0) continue;
      if (!(cnt >= SACK_DUPTHRESH || bytes > (SACK_DUPTHRESH - 1) * smss)) pipe += hl;
      const r = seqSub(seqMin(he, rxt), hs);
      if (r > 0) pipe += r;
    }
    return pipe;
  }

  clear(): void {
    this.n = 0;
    this.sackedBytes = 0;
  }

  /** IsLost for every octet of the hole just below range i (ranges i..n-1 are above it). */
  private holeLost(i: number, smss: number): boolean {
    if (this.n - i >= SACK_DUPTHRESH) return true;
    let bytes = 0;
    for (let j = i; j < this.n; j++) bytes += seqSub(this.ends[j]!, this.starts[j]!);
    return bytes > (SACK_DUPTHRESH - 1) * smss;
  }

  /** Validates and records block number `idx`; (ns, ne) is the next block or (-1, -1). */
  private block(una: Seq, max: Seq, s: Seq, e: Seq, idx: number, ns: number, ne: number): number {
    s >>>= 0; e >>>= 0;
    if (!seqLt(s, e)) return 0;
    if (idx === 0) {
      // RFC 2883 §4: a D-SACK block is the first block and reports data below the cumulative
      // ACK, or lies within the second block.
      if (seqLt(s, una) || (ns >= 0 && seqGe(s, ns >>> 0) && seqLe(e, ne >>> 0))) {
        this.dsack++;
        return 0;
      }
    }
    if (seqLt(s, una) || seqGt(e, max)) return 0;
    return this.insert(s, e);
  }

  /** Adds [s, e) (non-empty, inside the window), merging touching ranges; returns bytes newly covered. */
  private insert(s: Seq, e: Seq): number {
    const st = this.starts, en = this.ends;
    const n = this.n;
    let i = 0;
    while (i < n && seqLt(en[i]!, s)) i++;
    let j = i, covered = 0, ms = s, me = e;
    while (j < n && seqLe(st[j]!, e)) {
      covered += seqSub(en[j]!, st[j]!);
      ms = seqMin(ms, st[j]!);
      me = seqMax(me, en[j]!);
      j++;
    }
    const added = seqSub(me, ms) - covered;
    if (j > i) {
      // Ranges i..j-1 become one.
      st[i] = ms; en[i] = me;
      const gone = j - i - 1;
      if (gone > 0) {
        for (let k = j; k < n; k++) { st[k - gone] = st[k]!; en[k - gone] = en[k]!; }
        this.n = n - gone;
      }
      this.sackedBytes += added;
      return added;
    }
    let dropped = 0;
    if (n === this.capacity) {
      this.overflows++;
      // Forgetting a SACKed range is safe (at worst a needless retransmission, as after reneging);
      // forget the highest, which matters least for loss detection.
      if (i === n) return 0;
      dropped = seqSub(en[n - 1]!, st[n - 1]!);
      this.sackedBytes -= dropped;
      this.n = n - 1;
    }
    for (let k = this.n; k > i; k--) { st[k] = st[k - 1]!; en[k] = en[k - 1]!; }
    st[i] = s; en[i] = e;
    this.n++;
    this.sackedBytes += added;
    return added > dropped ? added - dropped : 0;
  }
}

/**
 * A scoreboard with nothing SACKed and no room, for queries on a connection that has not received
 * a SACK block yet (pipe, nextSeg, rescueSeg, isLost answer as for an empty scoreboard). Never
 * updated: only its `una` moves, which an empty board never reads.
 */
export const EMPTY_SCOREBOARD = new SackScoreboard(0);
