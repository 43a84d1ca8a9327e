// Clocks: the stack reads time only through a Clock it was given.
// RealClock is the one place under stack/ that reads the machine's monotonic clock.

import type { Instant } from './instant.js';
import { US_PER_MS } from './instant.js';

export interface Clock {
  now(): Instant;
  /** Microseconds since the Unix epoch, for pcap timestamps and TCP timestamp origins only. */
  wallMicros(): number;
}

/** Virtual time: moves only when told to. Used by simulations, packetdrill scripts and tests. */
export class VirtualClock implements Clock {
  private t: Instant;
  /** Wall-clock origin so pcaps from a simulation carry plausible dates; fixed, so output is reproducible. */
  constructor(start: Instant = 0, private readonly epochMicros = 1_700_000_000_000_000) {
    this.t = start;
  }
  now(): Instant { return this.t; }
  wallMicros(): number { return this.epochMicros + this.t; }
  /** Moves time forward to `t`; moving backwards is ignored (time is monotonic). */
  advanceTo(t: Instant): void { if (t > this.t) this.t = t; }
  advanceMs(ms: number): void { this.t += Math.round(ms * US_PER_MS); }
}

/** Real time from performance.now(): monotonic, microsecond resolution. */
export class RealClock implements Clock {
  private readonly origin = performance.now();
  private readonly epochAtOrigin = Date.now() * 1000;
  now(): Instant { return Math.floor((performance.now() - this.origin) * US_PER_MS); }
  wallMicros(): number { return this.epochAtOrigin + this.now(); }
}
