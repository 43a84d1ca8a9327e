// Timers: a binary min-heap of deadlines. Owners embed a Timer and implement TimerTarget, so arming
// a timer allocates nothing and fires without a closure (style: no per-packet closures).
// A timer is either armed (in the heap, heapIndex >= 0) or idle; re-arming moves it in place.

import type { Instant } from './instant.js';

export interface TimerTarget {
  /** Called by TimerQueue.fireDue when `timer`'s deadline has passed. */
  onTimer(timer: Timer, now: Instant): void;
}

export class Timer {
  deadline: Instant = 0;
  /** Position in the owning heap, or -1 when idle. */
  heapIndex = -1;
  /** Insertion order, so equal deadlines fire in the order they were armed (determinism). */
  seq = 0;
  constructor(readonly target: TimerTarget, readonly kind: number = 0) {}
  get armed(): boolean { return this.heapIndex >= 0; }
}

export class TimerQueue {
  private readonly heap: Timer[] = [];
  private nextSeq = 0;

  get size(): number { return this.heap.length; }

  /** Arms `t` for `deadline`, moving it if it was already armed. */
  schedule(t: Timer, deadline: Instant): void {
    t.deadline = deadline;
    t.seq = this.nextSeq++;
    if (t.heapIndex >= 0) {
      this.siftUp(t.heapIndex);
      this.siftDown(t.heapIndex);
      return;
    }
    t.heapIndex = this.heap.length;
    this.heap.push(t);
    this.siftUp(t.heapIndex);
  }

  cancel(t: Timer): void {
    const i = t.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop()!;
    t.heapIndex = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftUp(i);
      this.siftDown(last.heapIndex);
    }
  }

  /** The earliest deadline, or null when nothing is armed. */
  nextDeadline(): Instant | null {
    const top = this.heap[0];
    return top === undefined ? null : top.deadline;
  }

  /**
   * Fires every timer whose deadline is <= now, earliest first. A target may re-arm its timer; one
   * re-armed for a time <= now fires again in this call only up to `limit` total firings (bounded loop).
   * Returns how many fired.
   */
  fireDue(now: Instant, limit = 100_000): number {
    let n = 0;
    while (n < limit) {
      const top = this.heap[0];
      if (top === undefined || top.deadline > now) break;
      this.cancel(top);
      n++;
      top.target.onTimer(top, now);
    }
    return n;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(t, parent)) break;
      h[i] = parent; parent.heapIndex = i;
      i = p;
    }
    h[i] = t; t.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.less(child, t)) break;
      h[i] = child; child.heapIndex = i;
      i = c;
    }
    h[i] = t; t.heapIndex = i;
  }
}
