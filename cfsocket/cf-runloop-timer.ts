// CFRunLoopTimer (CFRunLoop.h; swift-corelibs CFRunLoop.c __CFRunLoopTimer): one-shot and
// repeating timers on the clock of the run loop they are added to.
//
// A run fires the due timers of its mode after its wait (earliest fire date first); a repeating
// timer then moves to its next tick strictly in the future (missed ticks are skipped).

import { CFType, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFAbsoluteTime, CFAllocatorRef, CFIndex, CFOptionFlags, CFTimeInterval, CFTypeID } from './cf-base.js';
import { _CFRunLoopRelease, _CFRunLoopRetain } from './cf-runloop-mode.js';
import type { CFRunLoop } from './cf-runloop-run.js';

export interface CFRunLoopTimerContext {
  version: 0;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
}
export type CFRunLoopTimerCallBack = (timer: CFRunLoopTimer, info: unknown) => void | Promise<void>;

let timerSeq = 0;

/** @internal The next insertion sequence number (a timer moved or re-armed goes after its equals). */
export function _CFRunLoopTimerNextSeq(): number { return ++timerSeq; }

export class CFRunLoopTimer extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFRunLoopTimer');
  get _cfTypeID(): CFTypeID { return CFRunLoopTimer.typeID; }
  /** @internal */ _valid = true;
  /** @internal */ _fireDate: number;
  /** @internal insertion order among equal fire dates. */ _seq = ++timerSeq;
  /** @internal the one run loop it may be in. */ _rl: CFRunLoop | null = null;
  /** @internal */ readonly _modes = new Set<string>();
  /** @internal */ _firing = false;
  /** @internal */ _ctx: CFRunLoopTimerContext;

  /** @internal */
  constructor(fireDate: number, readonly _interval: number, readonly _order: CFIndex, readonly _cb: CFRunLoopTimerCallBack, ctx: CFRunLoopTimerContext) {
    super();
    this._fireDate = fireDate;
    this._ctx = ctx;
  }

  override _cfDescription(): string {
    return `<CFRunLoopTimer ${this._serial} [${this._valid ? 'valid' : 'invalid'}] {interval = ${this._interval}, next fire date = ${this._fireDate}}>`;
  }
}
export type CFRunLoopTimerRef = CFRunLoopTimer;

/**
 * CFRunLoopTimerCreate(alloc, fireDate, interval, flags, order, callout, context). interval <= 0:
 * one-shot (invalidated after it fires); NaN interval throws (CF aborts). Fire dates are on the
 * clock of the run loop the timer is added to (CFAbsoluteTime for the real clock).
 */
export function CFRunLoopTimerCreate(
  _alloc: CFAllocatorRef, fireDate: CFAbsoluteTime, interval: CFTimeInterval, _flags: CFOptionFlags, order: CFIndex,
  callout: CFRunLoopTimerCallBack, context: CFRunLoopTimerContext | null = null,
): CFRunLoopTimer {
  if (Number.isNaN(interval)) throw new RangeError('CFRunLoopTimerCreate: interval is NaN');
  const ctx: CFRunLoopTimerContext = context ? { ...context } : { version: 0, info: null };
  if (ctx.retain) ctx.info = ctx.retain(ctx.info);
  return new CFRunLoopTimer(Number.isNaN(fireDate) ? 0 : fireDate, interval > 0 ? interval : 0, order, callout, ctx);
}

/** CFRunLoopTimerCreateWithHandler(alloc, fireDate, interval, flags, order, block). */
export function CFRunLoopTimerCreateWithHandler(
  alloc: CFAllocatorRef, fireDate: CFAbsoluteTime, interval: CFTimeInterval, flags: CFOptionFlags, order: CFIndex,
  block: (timer: CFRunLoopTimer) => void | Promise<void>,
): CFRunLoopTimer {
  return CFRunLoopTimerCreate(alloc, fireDate, interval, flags, order, (t) => block(t));
}

export function CFRunLoopTimerGetTypeID(): CFTypeID { return CFRunLoopTimer.typeID; }
export function CFRunLoopTimerGetNextFireDate(t: CFRunLoopTimer): CFAbsoluteTime { return t._valid ? t._fireDate : 0; }
export function CFRunLoopTimerGetInterval(t: CFRunLoopTimer): CFTimeInterval { return t._interval; }
export function CFRunLoopTimerDoesRepeat(t: CFRunLoopTimer): boolean { return t._interval > 0; }
export function CFRunLoopTimerGetOrder(t: CFRunLoopTimer): CFIndex { return t._order; }
export function CFRunLoopTimerIsValid(t: CFRunLoopTimer): boolean { return t._valid; }
export function CFRunLoopTimerGetContext(t: CFRunLoopTimer): CFRunLoopTimerContext { return { ...t._ctx }; }

/** CFRunLoopTimerSetNextFireDate: moves the timer (the run loop re-arms its wait). */
export function CFRunLoopTimerSetNextFireDate(t: CFRunLoopTimer, fireDate: CFAbsoluteTime): void {
  if (!t._valid) return;
  t._fireDate = fireDate;
  t._seq = ++timerSeq;
  t._rl?._wakeInternal();
}

/** CFRunLoopTimerInvalidate: removed from its run loop's modes; the context info is released. */
export function CFRunLoopTimerInvalidate(t: CFRunLoopTimer): void {
  if (!t._valid) return;
  _CFRunLoopRetain(t);
  t._valid = false;
  const rl = t._rl;
  if (rl !== null) {
    for (const m of [...t._modes]) rl._removeTimerFromMode(t, m);
    rl._commonItems.delete(t);
    rl._wakeInternal();
  }
  const info = t._ctx.info;
  const rel = t._ctx.release;
  t._ctx = { version: 0, info: null };
  rel?.(info);
  _CFRunLoopRelease(t);
}
