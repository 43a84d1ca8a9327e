// Simulation: the deterministic driver of virtual-time runs. It owns a VirtualClock and a list of
// Pollables (networks, memory pairs, stacks) and repeatedly jumps the clock to the earliest time
// any of them asked for, then polls, in the order they were added, each one whose pollAt has come.
// No real time passes: a ten-second scenario runs as fast as the code it drives.
// A run is bounded by an iteration cap; exceeding it is a harness bug (a participant that keeps
// asking for "now" without making progress), so it throws, naming the seed and the time.

import { SeededRng } from '../random/rng.js';
import { msToUs, VirtualClock } from '../time/index.js';
import type { Instant } from '../time/index.js';
import type { Pollable } from './link.js';

export interface SimulationOptions {
  /** Seed of `rng` (default 1); print it so a failing run can be replayed. */
  readonly seed?: number;
  /** Start time of the virtual clock (default 0). */
  readonly start?: Instant;
  /** Most iterations (one clock step and its polls) per run call before throwing. Default 5,000,000. */
  readonly maxIterations?: number;
}

export class Simulation {
  readonly seed: number;
  readonly clock: VirtualClock;
  /** The run's root random stream: fork it for networks and stacks (`sim.rng.fork()`). */
  readonly rng: SeededRng;
  readonly maxIterations: number;
  private readonly participants: Pollable[] = [];
  /** Iterations of the last run call (for diagnostics). */
  iterations = 0;

  constructor(opts: SimulationOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.rng = new SeededRng(this.seed);
    this.clock = new VirtualClock(opts.start ?? 0);
    this.maxIterations = opts.maxIterations ?? 5_000_000;
  }

  get now(): Instant { return this.clock.now(); }

  /** Adds a participant; polled after those added before it. Returns it, for chaining. */
  add<P extends Pollable>(p: P): P {
    if (!this.participants.includes(p)) this.participants.push(p);
    return p;
  }

  remove(p: Pollable): void {
    const i = this.participants.indexOf(p);
    if (i >= 0) this.participants.splice(i, 1);
  }

  /** The earliest pollAt among participants, or null when all are idle. */
  nextEventAt(): Instant | null {
    let best: Instant | null = null;
    for (const p of this.participants) {
      const t = p.pollAt();
      if (t !== null && (best === null || t < best)) best = t;
    }
    return best;
  }

  /** Runs until the clock reaches `t` (processing everything due up to and at `t`). */
  runUntil(t: Instant): void;
  /** Runs until `pred()` holds (checked before each step) or `maxMs` of virtual time pass; returns whether it held. */
  runUntil(pred: () => boolean, maxMs: number): boolean;
  runUntil(arg: Instant | (() => boolean), maxMs?: number): boolean | void {
    if (typeof arg === 'function') return this.run(this.clock.now() + msToUs(maxMs ?? 0), arg, false);
    this.run(arg, null, false);
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void { this.run(this.clock.now() + msToUs(ms), null, false); }

  /**
   * Runs until no participant wants time (every pollAt is null) or `maxMs` pass. Returns true when
   * idle; the clock then stays at the last event instead of jumping to the deadline.
   */
  runUntilIdle(maxMs: number): boolean { return this.run(this.clock.now() + msToUs(maxMs), null, true); }

  /** Polls, once and in order, every participant whose pollAt <= now. Returns how many were polled. */
  pollDue(): number {
    const now = this.clock.now();
    let n = 0;
    // A participant added during a poll waits for the next step (index bound read per iteration is fine).
    for (let i = 0; i < this.participants.length; i++) {
      const p = this.participants[i]!;
      const t = p.pollAt();
      if (t !== null && t <= now) {
        p.poll(now);
        n++;
      }
    }
    return n;
  }

  private run(deadline: Instant, pred: (() => boolean) | null, stopWhenIdle: boolean): boolean {
    this.iterations = 0;
    for (;;) {
      if (pred !== null && pred()) return true;
      const next = this.nextEventAt();
      if (next === null) {
        if (stopWhenIdle) return true;
        this.clock.advanceTo(deadline);
        return pred === null ? false : pred();
      }
      if (next > deadline) {
        this.clock.advanceTo(deadline);
        return pred === null ? false : pred();
      }
      if (++this.iterations > this.maxIterations) {
        throw new Error(
          `Simulation (seed ${this.seed}) exceeded ${this.maxIterations} iterations at t=${this.clock.now()}us ` +
          `(next event at ${next}us, deadline ${deadline}us): a participant keeps asking for time without progress`,
        );
      }
      this.clock.advanceTo(next); // never backwards: an overdue pollAt is polled at the current time
      this.pollDue();
    }
  }
}
