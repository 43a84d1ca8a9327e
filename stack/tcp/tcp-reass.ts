// The TCP receive reassembly queue (BSD tcp_reass, bsd/netinet/tcp_input.c): out-of-order
// segments held until the gap before them fills, with memory caps (profile.reassMaxBytes /
// reassMaxSegments). Sits between tcp_input and the socket buffer:
//   tcp_input (segment in window, not at rcv_nxt or queue non-empty) → insert → takeInOrder
//   → sbappend (socket/);  SACK blocks (tcp-sack.ts) can be rebuilt from blocks().
// Entries are a sorted doubly linked list of pooled records, walked from the tail (new data
// usually lands at the end). Overlaps follow BSD: the new segment is trimmed against its
// predecessor (the old data is kept), and successors it covers are trimmed or removed (the new
// data is kept there). Mbufs are trimmed with mAdj and freed with mFreem; nothing is copied.

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mAdj } from '../mbuf/chain.js';
import { type Seq, seqAdd, seqGt, seqLt, seqSub } from '../wire/seq.js';

export type ReassInsertResult = 'queued' | 'duplicate' | 'partial-duplicate' | 'dropped-full';

/** One queued segment: [seq, seq + len) of payload in `m`, possibly followed by a FIN. */
class ReassEntry {
  seq: Seq = 0;
  len = 0;
  fin = false;
  m: Mbuf | null = null;
  prev: ReassEntry | null = null;
  next: ReassEntry | null = null;
}

export class TcpReassQueue {
  private head: ReassEntry | null = null;
  private tail: ReassEntry | null = null;
  /** Spare records, linked through `next`. */
  private spare: ReassEntry | null = null;
  /** Payload bytes queued. */
  bytes = 0;
  /** Entries queued (a FIN without data counts as one). */
  segments = 0;
  /**
   * The first duplicated range [dupStart, dupEnd) found by the last insert() (data below rcv_nxt
   * or already queued), for an RFC 2883 D-SACK; dupStart === dupEnd when there was none.
   */
  dupStart: Seq = 0;
  dupEnd: Seq = 0;

  constructor(readonly maxBytes: number, readonly maxSegments: number) {}

  get isEmpty(): boolean { return this.head === null; }

  /**
   * Queues `len` payload bytes at `seq` held in chain `m` (headers trimmed), plus a FIN after them
   * when `fin`. The queue owns `m` from here on, whatever the result:
   *  - 'duplicate': nothing new (all below rcvNxt or already queued); `m` was freed.
   *  - 'partial-duplicate': queued after trimming bytes that were already received or queued.
   *  - 'queued': queued whole.
   *  - 'dropped-full': queuing would pass maxBytes or maxSegments; `m` was freed. A segment that
   *    starts at rcvNxt (after trimming) is always accepted: it lets takeInOrder make progress.
   */
  insert(seq: Seq, m: Mbuf, len: number, fin: boolean, rcvNxt: Seq): ReassInsertResult {
    this.dupStart = this.dupEnd = 0;
    let dup = false;

    // Data below rcv_nxt was delivered already.
    if (seqLt(seq, rcvNxt)) {
      const cut = seqSub(rcvNxt, seq);
      if (cut > len || (cut === len && !fin)) {
        this.noteDup(seq, seqAdd(seq, len));
        mFreem(m);
        return 'duplicate';
      }
      this.noteDup(seq, rcvNxt);
      mAdj(m, cut);
      seq = rcvNxt;
      len -= cut;
      dup = true;
    }
    if (len === 0 && !fin) {
      mFreem(m);
      return 'duplicate';
    }

    // The predecessor: the last entry starting at or before seq.
    let p = this.tail;
    while (p !== null && seqGt(p.seq, seq)) p = p.prev;
    if (p !== null) {
      const over = seqSub(seqAdd(p.seq, p.len), seq);
      if (over > 0) {
        // "If there is a preceding segment, it may provide some of our data already. If so, drop
        // the data from the incoming segment. If it provides all of our data, drop us."
        if (over >= len) {
          this.noteDup(seq, seqAdd(seq, len));
          mFreem(m);
          if (fin && over === len && !p.fin) {
            p.fin = true; // the FIN is new even though the data is not
            return 'partial-duplicate';
          }
          return 'duplicate';
        }
        this.noteDup(seq, seqAdd(seq, over));
        mAdj(m, over);
        seq = seqAdd(seq, over);
        len -= over;
        dup = true;
      }
    }

    // Memory caps (BSD tcp_reass_qsize / XNU tcp_reass_qlen), with the rcv_nxt exemption.
    if (seq !== rcvNxt && (this.bytes + len > this.maxBytes || this.segments + 1 > this.maxSegments)) {
      mFreem(m);
      return 'dropped-full';
    }

    // "While we overlap succeeding segments trim them or, if they are completely covered,
    // dequeue them."
    const end = seqAdd(seq, len);
    let q = p !== null ? p.next : this.head;
    while (q !== null && seqLt(q.seq, end)) {
      const i = seqSub(end, q.seq);
      if (i < q.len) {
        this.noteDup(q.seq, end);
        mAdj(q.m!, i);
        q.seq = end;
        q.len -= i;
        this.bytes -= i;
        dup = true;
        break;
      }
      const qEnd = seqAdd(q.seq, q.len);
      if (q.len > 0) this.noteDup(q.seq, qEnd);
      if (q.fin && qEnd === end) fin = true;
      dup = true;
      const nq: ReassEntry | null = q.next;
      this.remove(q);
      q = nq;
    }

    const e = this.record();
    e.seq = seq;
    e.len = len;
    e.fin = fin;
    e.m = m;
    this.linkAfter(p, e);
    this.bytes += len;
    this.segments++;
    return dup ? 'partial-duplicate' : 'queued';
  }

  /**
   * Pops every entry contiguous from rcvNxt into one chain (linked, not copied; later heads lose
   * their packet headers and the first one's pktLen becomes the total) and reports the total
   * length and whether a FIN was reached. Entries past a FIN can only be bogus and are freed.
   * Returns false, with out = { m: null, len: 0, fin: false }, when nothing starts at rcvNxt.
   */
  takeInOrder(rcvNxt: Seq, out: { m: Mbuf | null; len: number; fin: boolean }): boolean {
    out.m = null;
    out.len = 0;
    out.fin = false;
    let last: Mbuf | null = null;
    let nxt = rcvNxt;
    let any = false;
    while (this.head !== null) {
      const e = this.head;
      if (seqGt(e.seq, nxt)) break;
      if (seqLt(e.seq, nxt)) {
        // Only if the caller moved rcv_nxt past queued data on its own.
        const cut = seqSub(nxt, e.seq);
        if (cut > e.len || (cut === e.len && !e.fin)) {
          this.remove(e);
          continue;
        }
        mAdj(e.m!, cut);
        e.seq = nxt;
        e.len -= cut;
        this.bytes -= cut;
      }
      const m = e.m!;
      const len = e.len;
      const fin = e.fin;
      e.m = null;
      this.remove(e);
      any = true;
      if (len > 0) {
        if (last === null) {
          out.m = m;
        } else {
          if (m.hasPkthdr) m.clearPkthdr();
          last.next = m;
        }
        last = m;
        while (last.next !== null) last = last.next;
      } else {
        mFreem(m);
      }
      out.len += len;
      nxt = seqAdd(nxt, len);
      if (fin) {
        out.fin = true;
        this.flush();
        break;
      }
    }
    if (out.m !== null && out.m.hasPkthdr) out.m.pktLen = out.len;
    return any;
  }

  /** Frees every queued segment. */
  flush(): void {
    while (this.head !== null) this.remove(this.head);
  }

  /**
   * Writes the queued data as maximal contiguous blocks [start, end), lowest first, into
   * outStarts/outEnds; returns how many were written (at most the arrays' length). FIN-only
   * entries are not data and are skipped.
   */
  blocks(outStarts: Uint32Array, outEnds: Uint32Array): number {
    const max = outStarts.length < outEnds.length ? outStarts.length : outEnds.length;
    let k = -1;
    for (let e = this.head; e !== null; e = e.next) {
      if (e.len === 0) continue;
      const end = seqAdd(e.seq, e.len);
      if (k >= 0 && outEnds[k] === e.seq) {
        outEnds[k] = end;
        continue;
      }
      if (k + 1 >= max) break;
      k++;
      outStarts[k] = e.seq;
      outEnds[k] = end;
    }
    return k + 1;
  }

  private noteDup(s: Seq, e: Seq): void {
    if (this.dupStart === this.dupEnd && s !== e) {
      this.dupStart = s;
      this.dupEnd = e;
    }
  }

  private record(): ReassEntry {
    const r = this.spare;
    if (r === null) return new ReassEntry();
    this.spare = r.next;
    r.next = null;
    return r;
  }

  private linkAfter(p: ReassEntry | null, e: ReassEntry): void {
    const n = p !== null ? p.next : this.head;
    e.prev = p;
    e.next = n;
    if (p !== null) p.next = e; else this.head = e;
    if (n !== null) n.prev = e; else this.tail = e;
  }

  /** Unlinks `e`, frees its mbufs, returns the record to the spares. */
  private remove(e: ReassEntry): void {
    if (e.prev !== null) e.prev.next = e.next; else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev; else this.tail = e.prev;
    this.bytes -= e.len;
    this.segments--;
    if (e.m !== null) mFreem(e.m);
    e.m = null;
    e.prev = null;
    e.len = 0;
    e.fin = false;
    e.next = this.spare;
    this.spare = e;
  }
}
