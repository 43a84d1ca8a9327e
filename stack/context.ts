// What every layer of a Stack shares: environment, mbuf pool, timer queue, and the end-of-entry
// hook. Layers receive this instead of the Stack itself so that dependencies point downwards.

import type { Env } from './env.js';
import type { MbufPool } from './mbuf/pool.js';
import type { TimerQueue } from './time/timers.js';
import type { Instant } from './time/instant.js';

/** Work a layer postpones to the end of the current entry point (wakeups, upcalls, output flush). */
export interface Deferred {
  hasDeferred(): boolean;
  runDeferred(now: Instant): void;
}

export interface StackContext {
  readonly env: Env;
  readonly pool: MbufPool;
  readonly timers: TimerQueue;
  /** Registers a Deferred; the stack runs every registered one (in registration order) at the end of each entry point. */
  addDeferred(d: Deferred): void;
  /**
   * Says deferred work or output is pending. Inside an entry point (packet batch, poll) it runs
   * at the end of it; otherwise (an API call) the stack's pollAt() becomes "now" and the driver's
   * onWork callback fires, so a simulation or the real driver runs it without delay.
   */
  requestWork(): void;
}
