// What a run loop's modes hold (CFRunLoop.h; swift-corelibs CFRunLoop.c CFRunLoopAddSource & co.):
// adding and removing sources and timers, common modes, blocks, and the mode queries.
//
// Items added with kCFRunLoopCommonModes go into every common mode, present and future
// (CFRunLoopAddCommonMode). A timer belongs to one run loop.

import type { CFAbsoluteTime } from './cf-base.js';
import { kCFRunLoopCommonModes } from './cf-runloop-mode.js';
import type { CFRunLoopMode } from './cf-runloop-mode.js';
import type { CFRunLoop } from './cf-runloop-run.js';
import { CFRunLoopSource } from './cf-runloop-source.js';
import type { CFRunLoopTimer } from './cf-runloop-timer.js';

/** CFRunLoopCopyCurrentMode: the mode of the innermost run, or null when not running. */
export function CFRunLoopCopyCurrentMode(rl: CFRunLoop): CFRunLoopMode | null { return rl._currentMode?.name ?? null; }

/** CFRunLoopCopyAllModes: every mode created so far. */
export function CFRunLoopCopyAllModes(rl: CFRunLoop): CFRunLoopMode[] { return [...rl._modes.keys()]; }

/** CFRunLoopAddCommonMode: `mode` joins the common modes and receives every common item. */
export function CFRunLoopAddCommonMode(rl: CFRunLoop, mode: CFRunLoopMode): void {
  if (mode === kCFRunLoopCommonModes || rl._commonModes.has(mode)) return;
  rl._commonModes.add(mode);
  rl._mode(mode, true);
  for (const item of [...rl._commonItems]) {
    if (item instanceof CFRunLoopSource) rl._addSourceToMode(item, mode);
    else rl._addTimerToMode(item, mode);
  }
}

/** CFRunLoopAddSource: ignored for an invalid source; common modes = every common mode. */
export function CFRunLoopAddSource(rl: CFRunLoop, src: CFRunLoopSource, mode: CFRunLoopMode): void {
  if (!src._valid) return;
  if (mode === kCFRunLoopCommonModes) {
    if (rl._commonItems.has(src)) return;
    rl._commonItems.add(src);
    for (const m of [...rl._commonModes]) rl._addSourceToMode(src, m);
  } else {
    rl._addSourceToMode(src, mode);
  }
}

/** CFRunLoopRemoveSource (cancel is called once per mode it leaves). */
export function CFRunLoopRemoveSource(rl: CFRunLoop, src: CFRunLoopSource, mode: CFRunLoopMode): void {
  if (mode === kCFRunLoopCommonModes) {
    if (!rl._commonItems.delete(src)) return;
    for (const m of [...rl._commonModes]) rl._removeSourceFromMode(src, m);
  } else {
    rl._removeSourceFromMode(src, mode);
  }
}

/** CFRunLoopContainsSource (common modes: whether it was added as a common item). */
export function CFRunLoopContainsSource(rl: CFRunLoop, src: CFRunLoopSource, mode: CFRunLoopMode): boolean {
  if (mode === kCFRunLoopCommonModes) return rl._commonItems.has(src);
  const m = rl._modes.get(mode);
  return m !== undefined && (m.sources0.has(src) || m.sources1.has(src));
}

/** CFRunLoopAddTimer: a timer belongs to one run loop (adding it to another is ignored). */
export function CFRunLoopAddTimer(rl: CFRunLoop, t: CFRunLoopTimer, mode: CFRunLoopMode): void {
  if (!t._valid) return;
  if (t._rl !== null && t._rl !== rl) return;
  t._rl = rl;
  if (mode === kCFRunLoopCommonModes) {
    if (rl._commonItems.has(t)) return;
    rl._commonItems.add(t);
    for (const m of [...rl._commonModes]) rl._addTimerToMode(t, m);
  } else {
    rl._addTimerToMode(t, mode);
  }
}

export function CFRunLoopRemoveTimer(rl: CFRunLoop, t: CFRunLoopTimer, mode: CFRunLoopMode): void {
  if (t._rl !== rl) return;
  if (mode === kCFRunLoopCommonModes) {
    if (!rl._commonItems.delete(t)) return;
    for (const m of [...rl._commonModes]) rl._removeTimerFromMode(t, m);
  } else {
    rl._removeTimerFromMode(t, mode);
  }
}

export function CFRunLoopContainsTimer(rl: CFRunLoop, t: CFRunLoopTimer, mode: CFRunLoopMode): boolean {
  if (mode === kCFRunLoopCommonModes) return rl._commonItems.has(t);
  return rl._modes.get(mode)?.timers.has(t) ?? false;
}

/** CFRunLoopGetNextTimerFireDate: the earliest valid timer of the mode, or 0. */
export function CFRunLoopGetNextTimerFireDate(rl: CFRunLoop, mode: CFRunLoopMode): CFAbsoluteTime {
  const m = rl._modes.get(mode);
  if (m === undefined) return 0;
  let t = Infinity;
  for (const tm of m.timers) if (tm._valid && tm._fireDate < t) t = tm._fireDate;
  return t === Infinity ? 0 : t;
}

/**
 * CFRunLoopPerformBlock(rl, mode or modes, block): queued for the next iteration of a run in a
 * matching mode; does not wake the loop.
 */
export function CFRunLoopPerformBlock(rl: CFRunLoop, modes: CFRunLoopMode | readonly CFRunLoopMode[], block: () => void | Promise<void>): void {
  const list = typeof modes === 'string' ? [modes] : [...modes];
  if (list.includes(kCFRunLoopCommonModes)) rl._blocks.push({ modes: 'common', fn: block });
  else rl._blocks.push({ modes: new Set(list), fn: block });
}
