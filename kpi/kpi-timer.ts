// A timer on a KPI kernel's clock (XNU's timeout/thread_call, minimally): a callback run at an
// instant of kernel.now. Built on the stack's TimerQueue, so a simulation keeps it in virtual time
// (kpiRun/kpiRunUntil advance it with the network) and a real-time driver fires it from its poll.
// For layers above the KPI (cfsocket/'s run-loop clock) that must not reach into the stack.

import { Timer } from '../stack/index.js';
import type { Instant, TimerTarget } from '../stack/index.js';
import type { KpiKernel } from './sock-core.js';

/** One re-armable timer of a kernel. Arming allocates nothing; the callback runs once per arming. */
export class KpiTimer implements TimerTarget {
  private readonly timer = new Timer(this);

  /** @internal Use kpiTimer(kernel, target). */
  constructor(readonly kernel: KpiKernel, private readonly target: (now: Instant) => void) {}

  /** Whether it is armed. */
  get armed(): boolean { return this.timer.armed; }

  /** The instant it is armed for, or null. */
  get deadline(): Instant | null { return this.timer.armed ? this.timer.deadline : null; }

  /**
   * Arms it for the instant `at` (µs, kernel.now's clock), moving it if armed. A past instant
   * fires at the stack's next timer run (at once in a simulation). Timers due at the same instant
   * fire in the order they were armed.
   */
  schedule(at: Instant): void {
    const stack = this.kernel.stack;
    stack.timers.schedule(this.timer, Math.max(Math.ceil(at), 0));
    // Outside the stack's entry points a real-time driver does not know of the new deadline until
    // told: request a poll, which re-reads pollAt (a simulation reads it anyway).
    stack.requestWork();
  }

  /** Arms it `delayUs` µs from now (negative: now). */
  scheduleIn(delayUs: number): void { this.schedule(this.kernel.now + Math.max(0, delayUs)); }

  /** Disarms it (no effect when idle). */
  cancel(): void { this.kernel.stack.timers.cancel(this.timer); }

  /** @internal TimerTarget. */
  onTimer(_t: Timer, now: Instant): void { this.target(now); }
}

/**
 * A timer that calls `target(now)` when it fires, on `kernel`'s clock (kernel.now, µs). Idle until
 * schedule/scheduleIn.
 */
export function kpiTimer(kernel: KpiKernel, target: (now: Instant) => void): KpiTimer {
  return new KpiTimer(kernel, target);
}
