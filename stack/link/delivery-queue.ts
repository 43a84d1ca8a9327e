// The in-flight queue of a SimNetwork: packets waiting for their delivery time, in a binary
// min-heap ordered by (deliverAt, seq). seq is a counter taken at enqueue, so packets due at the
// same microsecond leave in the order they were queued and a run replays exactly from its seed.
// Records are pooled: the steady state allocates nothing per packet.

import type { Mbuf } from '../mbuf/index.js';
import type { Instant } from '../time/index.js';

export class InFlight<P> {
  deliverAt: Instant = 0;
  seq = 0;
  /** Receiving port. */
  port: P | null = null;
  /** The packet, in the network's pool. */
  m: Mbuf | null = null;
  /** Bit to flip on delivery (corrupt impairment), or -1. */
  corruptBit = -1;
}

export class DeliveryQueue<P> {
  private readonly heap: InFlight<P>[] = [];
  private readonly free: InFlight<P>[] = [];
  private nextSeq = 0;

  get size(): number { return this.heap.length; }

  /** The earliest delivery time, or null when nothing is in flight. */
  peekTime(): Instant | null {
    const top = this.heap[0];
    return top === undefined ? null : top.deliverAt;
  }

  push(deliverAt: Instant, port: P, m: Mbuf, corruptBit: number): void {
    const r = this.free.pop() ?? new InFlight<P>();
    r.deliverAt = deliverAt;
    r.seq = this.nextSeq++;
    r.port = port;
    r.m = m;
    r.corruptBit = corruptBit;
    const h = this.heap;
    let i = h.length;
    h.push(r);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!less(r, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = r;
  }

  /** Removes and returns the earliest record if it is due at or before `now`. Hand it back with release(). */
  popDue(now: Instant): InFlight<P> | null {
    const h = this.heap;
    const top = h[0];
    if (top === undefined || top.deliverAt > now) return null;
    const last = h.pop()!;
    if (last !== top) {
      const n = h.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(h[r]!, h[l]!) ? r : l;
        if (!less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Returns a record to the free list (its references cleared). */
  release(r: InFlight<P>): void {
    r.port = null;
    r.m = null;
    if (this.free.length < 4096) this.free.push(r);
  }
}

function less<P>(a: InFlight<P>, b: InFlight<P>): boolean {
  return a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.seq < b.seq);
}
