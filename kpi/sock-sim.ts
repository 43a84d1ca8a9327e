// Running KPI code written with `await` on a simulated network. A Simulation runs synchronously,
// while a sleeping sock_* call settles its Promise from inside the stack and the caller's
// continuation runs later as a microtask. kpiRunUntil interleaves the two: it advances virtual time
// one instant at a time (everything due at that instant) and, between instants, lets pending
// continuations run; so a continuation runs at the virtual time its call completed, and its own
// sock_* calls are processed at that same instant. Deterministic: no real timer is involved.
//
// (On a real TUN link no driver is needed: the real-time driver polls the stack from Node's event
// loop and continuations run between its turns.)

import type { Instant } from '../stack/index.js';

/** What kpiRunUntil needs of a Simulation (stack/link/simulation.ts). */
export interface SimulationLike {
  readonly now: Instant;
  nextEventAt(): Instant | null;
  runUntil(t: Instant): void;
}

/** Resolves after every queued microtask (Promise continuation) has run. */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => { setImmediate(resolve); });
}

/**
 * Runs `sim` until `pred()` holds (checked after continuations ran at each instant) or `maxMs` of
 * virtual time pass; resolves to whether it held. With nothing left to do before the deadline the
 * clock jumps to it (as Simulation.runUntil does).
 */
export async function kpiRunUntil(sim: SimulationLike, pred: () => boolean, maxMs: number): Promise<boolean> {
  const deadline = sim.now + Math.round(maxMs * 1000);
  for (;;) {
    await settle();
    if (pred()) return true;
    const next = sim.nextEventAt();
    if (next === null || next > deadline) {
      sim.runUntil(deadline);
      await settle();
      return pred();
    }
    sim.runUntil(next);
  }
}

/**
 * Runs `sim` until `p` settles (or `maxMs` of virtual time pass: then rejects) and returns its value:
 * `const e = await kpiRun(world.sim, sock_receive(so, msg, 0, len), 5000)`.
 */
export async function kpiRun<T>(sim: SimulationLike, p: T | Promise<T>, maxMs: number): Promise<T> {
  let settled = false;
  let value: T | undefined;
  let failure: unknown = undefined;
  let failed = false;
  Promise.resolve(p).then(
    (v) => { settled = true; value = v; },
    (e: unknown) => { settled = true; failed = true; failure = e; },
  );
  const ok = await kpiRunUntil(sim, () => settled, maxMs);
  if (!ok) throw new Error(`kpiRun: not settled within ${maxMs} ms of virtual time (now ${sim.now} us)`);
  if (failed) throw failure;
  return value as T;
}
