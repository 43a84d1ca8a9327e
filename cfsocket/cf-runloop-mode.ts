// Run loop modes (CFRunLoop.h; swift-corelibs CFRunLoop.c struct __CFRunLoopMode): the mode names
// and what one mode of one loop holds.
//
// A run loop owns named modes; each holds version-0 sources, version-1 sources, timers. New loops
// have kCFRunLoopDefaultMode, which is also the only initial common mode. Items added with
// kCFRunLoopCommonModes go into every common mode (present and future, CFRunLoopAddCommonMode).
// A mode holds one reference to each item in it.

import type { CFType } from './cf-base.js';
import type { CFRunLoopSource } from './cf-runloop-source.js';
import type { CFRunLoopTimer } from './cf-runloop-timer.js';

export type CFRunLoopMode = string;
export type CFStringRef = string;

export const kCFRunLoopDefaultMode: CFRunLoopMode = 'kCFRunLoopDefaultMode';
export const kCFRunLoopCommonModes: CFRunLoopMode = 'kCFRunLoopCommonModes';

/** @internal One mode of one run loop (CF's struct __CFRunLoopMode). */
export class __CFRunLoopMode {
  readonly sources0 = new Set<CFRunLoopSource>();
  readonly sources1 = new Set<CFRunLoopSource>();
  readonly timers = new Set<CFRunLoopTimer>();
  /** CFRunLoopStop of a mode (_CFRunLoopStopMode). */
  stopped = false;
  constructor(readonly name: string) {}
}

// Retain/release without the checks (sources and timers may be finalized at the end).
/** @internal */ export function _CFRunLoopRetain(cf: CFType): void { cf._rc++; }
/** @internal */ export function _CFRunLoopRelease(cf: CFType): void { if (--cf._rc === 0) cf._cfDealloc(); }
