// The real-time driver: binds a sans-IO stack to Node's event loop. The only place under stack/
// that arms real timers. The stack says when it next needs time (pollAt) and signals new work
// (onWork, e.g. after an API call queued output); the driver polls it then.

import type { Clock } from './clock.js';
import type { Instant } from './instant.js';

export interface Drivable {
  pollAt(): Instant | null;
  poll(now: Instant): void;
  /** Registers the callback the stack invokes when work appears outside an entry point. */
  onWork(cb: (() => void) | null): void;
}

export interface RunningDriver {
  /** Stops polling; pending timers are cancelled. */
  stop(): void;
}

/** Drives `target` with real time from `clock` until stop() is called. */
export function driveRealTime(target: Drivable, clock: Clock): RunningDriver {
  let timer: NodeJS.Timeout | undefined;
  let armedFor: Instant | null = null;
  let immediate: NodeJS.Immediate | undefined;
  let stopped = false;

  const tick = (): void => {
    immediate = undefined;
    if (stopped) return;
    target.poll(clock.now());
    arm();
  };

  const arm = (): void => {
    const next = target.pollAt();
    if (next === null) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      armedFor = null;
      return;
    }
    const delayMs = Math.max(0, (next - clock.now()) / 1000);
    if (delayMs === 0) {
      schedule();
      return;
    }
    if (armedFor === next && timer !== undefined) return;
    if (timer !== undefined) clearTimeout(timer);
    armedFor = next;
    // setTimeout has millisecond granularity; round up so we never poll early in a busy loop.
    timer = setTimeout(() => { timer = undefined; armedFor = null; tick(); }, Math.ceil(delayMs));
  };

  const schedule = (): void => {
    if (immediate === undefined && !stopped) immediate = setImmediate(tick);
  };

  target.onWork(schedule);
  schedule();
  return {
    stop(): void {
      stopped = true;
      target.onWork(null);
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
  };
}
