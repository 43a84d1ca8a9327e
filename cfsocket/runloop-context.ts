// The "current thread's run loop" for CFRunLoopGetCurrent. CF keeps it per thread; Node has one
// thread, so it is kept per async context instead: a run of a loop (and every callout it makes,
// including after the callout's awaits) executes inside runInLoopContext(loop, ...), so code
// suspended in one loop's callout never leaks that loop to unrelated code (another loop's
// callouts, top-level code) that runs meanwhile.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { CFRunLoop } from './cf-runloop-run.js';

const current = new AsyncLocalStorage<CFRunLoop>();

/** Runs `fn` with `rl` as the current run loop of its async context (and of everything it awaits). */
export function runInLoopContext<T>(rl: CFRunLoop, fn: () => T): T {
  return current.run(rl, fn);
}

/** The run loop whose run this async context belongs to, or null outside any run. */
export function loopOfContext(): CFRunLoop | null {
  return current.getStore() ?? null;
}
