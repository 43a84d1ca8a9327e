// CFRunLoop's time (CFRunLoop.h CFAbsoluteTimeGetCurrent; swift-corelibs CFRunLoop.c) for a port
// that runs on Node's event loop.
//
// Each loop has a CFRunLoopClock. The default is real time (Date and setTimeout);
// kpiKernelClock(kernel) binds a loop to a KPI kernel's stack clock so a simulation stays in
// virtual time and deterministic.

import { kCFAbsoluteTimeIntervalSince1970 } from './cf-base.js';
import type { CFAbsoluteTime } from './cf-base.js';
import type { KpiKernel } from '../kpi/index.js';
import { kpiTimer } from '../kpi/index.js';

/** What a run loop needs of time: the current CFAbsoluteTime and one-shot wake-ups. */
export interface CFRunLoopClock {
  /** The current time in seconds (CFAbsoluteTime for the real clock). */
  now(): CFAbsoluteTime;
  /** Calls `cb` once at `at` (soon when `at` has passed); returns a function that cancels it. */
  schedule(at: CFAbsoluteTime, cb: () => void): () => void;
}

const MAX_TIMEOUT_MS = 0x7fffffff;

/** Real time: Date.now() and setTimeout (CFAbsoluteTime = Unix time - 978307200). */
export const kCFRunLoopRealClock: CFRunLoopClock = {
  now: () => Date.now() / 1000 - kCFAbsoluteTimeIntervalSince1970,
  schedule(at, cb) {
    const ms = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil((at - this.now()) * 1000)));
    // A wake-up clamped to MAX_TIMEOUT_MS comes early; the run re-checks and waits again.
    const h = setTimeout(cb, ms);
    return () => clearTimeout(h);
  },
};

/**
 * A clock bound to a KPI kernel: now = kernel.now in seconds (a simulation's virtual time; its
 * epoch is the simulation's start), wake-ups = KPI timers (kpiTimer, on the stack's own timer
 * queue), so kpiRun/kpiRunUntil (kpi/sock-sim.ts) advance run loops together with the network.
 */
export function kpiKernelClock(kernel: KpiKernel): CFRunLoopClock {
  return {
    now: () => kernel.now / 1e6,
    schedule(at, cb) {
      const t = kpiTimer(kernel, () => cb());
      t.schedule(Math.max(kernel.now, Math.ceil(at * 1e6)));
      return () => t.cancel();
    },
  };
}

/** CFAbsoluteTimeGetCurrent (real time). */
export function CFAbsoluteTimeGetCurrent(): CFAbsoluteTime { return kCFRunLoopRealClock.now(); }
