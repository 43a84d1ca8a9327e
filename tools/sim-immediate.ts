// Virtual setImmediate for simulated runs. The services (tools/services) do bounded work per socket
// event and continue "on the next turn of the event loop" with setImmediate. A simulation runs
// synchronously in virtual time, so a real setImmediate would fire only after the run has ended
// (the service would stall, and the run would depend on the host's event loop). While installed,
// this replaces setImmediate/clearImmediate with a queue that the Simulation polls like any other
// participant, at the current virtual time, in FIFO order: the continuation runs at the same
// virtual instant, deterministically. Installed only around a synchronous run (try/finally), so
// no other code can observe the replacement.

import type { Pollable } from '../stack/link/link.js';
import type { Instant } from '../stack/time/instant.js';

class VirtualImmediate {
  cancelled = false;
  constructor(readonly cb: (...args: unknown[]) => void, readonly args: unknown[]) {}
  // The parts of NodeJS.Immediate a caller may touch.
  hasRef(): boolean { return false; }
  ref(): this { return this; }
  unref(): this { return this; }
}

export class VirtualImmediates implements Pollable {
  /** Continuations run so far (a report may print it). */
  ran = 0;
  private queue: VirtualImmediate[] = [];
  private saved: { set: typeof setImmediate; clear: typeof clearImmediate } | null = null;

  constructor(private readonly clock: { now(): Instant }) {}

  /** Replaces the global setImmediate/clearImmediate until uninstall(). */
  install(): void {
    if (this.saved !== null) return;
    const g = globalThis as { setImmediate: typeof setImmediate; clearImmediate: typeof clearImmediate };
    const saved = { set: g.setImmediate, clear: g.clearImmediate };
    this.saved = saved;
    g.setImmediate = ((cb: (...args: unknown[]) => void, ...args: unknown[]) => {
      const h = new VirtualImmediate(cb, args);
      this.queue.push(h);
      return h;
    }) as unknown as typeof setImmediate;
    g.clearImmediate = ((h: unknown) => {
      if (h instanceof VirtualImmediate) h.cancelled = true;
      else saved.clear(h as NodeJS.Immediate);
    }) as typeof clearImmediate;
  }

  /** Restores the real functions; continuations still queued are dropped. */
  uninstall(): void {
    if (this.saved === null) return;
    const g = globalThis as { setImmediate: typeof setImmediate; clearImmediate: typeof clearImmediate };
    g.setImmediate = this.saved.set;
    g.clearImmediate = this.saved.clear;
    this.saved = null;
    this.queue = [];
  }

  pollAt(): Instant | null {
    return this.queue.length > 0 ? this.clock.now() : null;
  }

  /** Runs the continuations queued before this call (those they queue wait for the next poll). */
  poll(_now: Instant): void {
    const q = this.queue;
    this.queue = [];
    for (const h of q) {
      if (h.cancelled) continue;
      this.ran++;
      h.cb(...h.args);
    }
  }
}
