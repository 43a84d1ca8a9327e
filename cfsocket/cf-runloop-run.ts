// CFRunLoop, the loop and its run (CFRunLoop.h; swift-corelibs CFRunLoop.c CFRunLoopRunSpecific,
// __CFRunLoopRun) on Node's event loop.
//
// * A run performs, per iteration: the blocks for the mode; every signalled version-0 source in
//   increasing `order` (ties: earlier signal first), stopping after the first if
//   returnAfterSourceHandled; then, unless a source was handled or the run polls (seconds <= 0), it
//   *waits*: an await on a Promise resolved by CFRunLoopWakeUp, by the earliest timer of the mode,
//   by a version-1 source's message, or by the run's deadline (through the loop's clock, never a
//   busy loop); then it fires the due timers and services one ready version-1 source. Result, in
//   CF's order: HandledSource, TimedOut, Stopped, Finished (mode empty).
// * Runs nest strictly: a callout may return a Promise (e.g. it runs the loop again in another mode
//   and awaits that), and the outer run awaits it before going on, exactly as the C stack would.
//   A second run of the same loop started while a run is active and no callout is executing is a
//   concurrent run (another "thread" on this loop): refused with kCFRunLoopRunFinished and a log.
// * CFRunLoopGetCurrent's "current thread" is the async context (runloop-context.ts): a run and
//   the callouts it makes, also across their awaits, see the running loop; other code sees main.

import { CFType, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFAbsoluteTime, CFTimeInterval, CFTypeID } from './cf-base.js';
import { kCFRunLoopRealClock } from './cf-runloop-clock.js';
import type { CFRunLoopClock } from './cf-runloop-clock.js';
import { __CFRunLoopMode, _CFRunLoopRelease, _CFRunLoopRetain, kCFRunLoopCommonModes, kCFRunLoopDefaultMode } from './cf-runloop-mode.js';
import type { CFRunLoopMode } from './cf-runloop-mode.js';
import type { CFRunLoopSource } from './cf-runloop-source.js';
import { CFRunLoopTimerInvalidate, _CFRunLoopTimerNextSeq } from './cf-runloop-timer.js';
import type { CFRunLoopTimer } from './cf-runloop-timer.js';
import { loopOfContext, runInLoopContext } from './runloop-context.js';

export const kCFRunLoopRunFinished = 1;
export const kCFRunLoopRunStopped = 2;
export const kCFRunLoopRunTimedOut = 3;
export const kCFRunLoopRunHandledSource = 4;
export type CFRunLoopRunResult = 1 | 2 | 3 | 4;

/** Run timeouts above this mean "forever" (TIMER_INTERVAL_LIMIT). */
const TIMER_INTERVAL_LIMIT = 504911232.0;

interface Frame { readonly mode: __CFRunLoopMode; stopped: boolean }
interface Block { readonly modes: Set<string> | 'common'; readonly fn: () => void | Promise<void> }

let mainLoop: CFRunLoop | null = null;

export class CFRunLoop extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFRunLoop');
  get _cfTypeID(): CFTypeID { return CFRunLoop.typeID; }
  /** @internal */ readonly _modes = new Map<string, __CFRunLoopMode>();
  /** @internal */ readonly _commonModes = new Set<string>([kCFRunLoopDefaultMode]);
  /** @internal items added with kCFRunLoopCommonModes. */ readonly _commonItems = new Set<CFRunLoopSource | CFRunLoopTimer>();
  /** @internal */ readonly _frames: Frame[] = [];
  /** @internal callouts executing (a run started now nests). */ _calloutDepth = 0;
  /** @internal */ _blocks: Block[] = [];
  /** @internal resolves the current wait. */ private _waiter: (() => void) | null = null;
  /** @internal a wake-up posted during an iteration (the wake-up port holds one message). */ private _wakePending = false;
  /** @internal */ private _ignoreWakeUps = true;
  /** @internal */ private _concurrentLogged = false;

  /** @internal Use CFRunLoopGetMain/GetCurrent or CFRunLoopCreateWithClock. */
  constructor(public _clock: CFRunLoopClock) {
    super();
    this._modes.set(kCFRunLoopDefaultMode, new __CFRunLoopMode(kCFRunLoopDefaultMode));
  }

  override _cfDescription(): string {
    return `<CFRunLoop ${this._serial} [${this._frames.length > 0 ? `running ${this._frames[this._frames.length - 1]!.mode.name}` : 'idle'}] {modes = ${[...this._modes.keys()].join(', ')}}>`;
  }

  /** @internal */
  _mode(name: string, create: boolean): __CFRunLoopMode | undefined {
    let m = this._modes.get(name);
    if (m === undefined && create) {
      m = new __CFRunLoopMode(name);
      this._modes.set(name, m);
    }
    return m;
  }

  /** @internal */
  get _currentMode(): __CFRunLoopMode | null { return this._frames.length > 0 ? this._frames[this._frames.length - 1]!.mode : null; }

  /** @internal Whether the loop is waiting (CFRunLoopIsWaiting). */
  get _isWaiting(): boolean { return this._waiter !== null; }

  /** @internal CFRunLoopWakeUp. */
  _wakeUp(): void {
    if (this._waiter !== null) {
      const w = this._waiter;
      this._waiter = null;
      w();
    } else if (!this._ignoreWakeUps) {
      this._wakePending = true;
    }
  }

  /** @internal A wake that re-arms the wait (timer changes, version-1 messages): never lost. */
  _wakeInternal(): void {
    if (this._waiter !== null) this._wakeUp();
    else if (this._frames.length > 0) this._wakePending = true;
  }

  /** @internal */
  _addSourceToMode(src: CFRunLoopSource, name: string): void {
    const m = this._mode(name, true)!;
    const set = src._version === 0 ? m.sources0 : m.sources1;
    if (set.has(src)) return;
    set.add(src);
    _CFRunLoopRetain(src);
    let modes = src._in.get(this);
    if (modes === undefined) src._in.set(this, modes = new Set());
    modes.add(name);
    src._ctx.schedule?.(src._ctx.info, this, name);
  }

  /** @internal */
  _removeSourceFromMode(src: CFRunLoopSource, name: string): void {
    const m = this._modes.get(name);
    if (m === undefined) return;
    const set = src._version === 0 ? m.sources0 : m.sources1;
    if (!set.delete(src)) return;
    const modes = src._in.get(this);
    modes?.delete(name);
    if (modes !== undefined && modes.size === 0) src._in.delete(this);
    (src._ctx.cancel as ((info: unknown, rl: CFRunLoop, mode: string) => void) | null | undefined)?.(src._ctx.info, this, name);
    _CFRunLoopRelease(src);
  }

  /** @internal */
  _addTimerToMode(t: CFRunLoopTimer, name: string): void {
    const m = this._mode(name, true)!;
    if (m.timers.has(t)) return;
    m.timers.add(t);
    t._modes.add(name);
    _CFRunLoopRetain(t);
    this._wakeInternal();
  }

  /** @internal */
  _removeTimerFromMode(t: CFRunLoopTimer, name: string): void {
    const m = this._modes.get(name);
    if (m === undefined || !m.timers.delete(t)) return;
    t._modes.delete(name);
    if (t._modes.size === 0) t._rl = null;
    _CFRunLoopRelease(t);
  }

  /** @internal Blocks for `mode` now. */
  private _blocksFor(mode: __CFRunLoopMode): boolean {
    return this._blocks.some((b) => this._blockMatches(b, mode));
  }

  private _blockMatches(b: Block, mode: __CFRunLoopMode): boolean {
    return b.modes === 'common' ? this._commonModes.has(mode.name) : b.modes.has(mode.name);
  }

  /** @internal Empty: no sources, no timers, no blocks for the mode. */
  _isEmpty(mode: __CFRunLoopMode): boolean {
    return mode.sources0.size === 0 && mode.sources1.size === 0 && mode.timers.size === 0 && !this._blocksFor(mode);
  }

  /**
   * Runs a callout (inside the run's async context, so this loop is current for it, also after its
   * awaits); awaits it when it returns a Promise.
   */
  private async _callout(fn: () => void | Promise<void>): Promise<void> {
    this._calloutDepth++;
    try {
      const r = fn();
      if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') await r;
    } finally {
      this._calloutDepth--;
    }
  }

  private async _doBlocks(mode: __CFRunLoopMode): Promise<boolean> {
    if (this._blocks.length === 0) return false;
    const run = this._blocks.filter((b) => this._blockMatches(b, mode));
    if (run.length === 0) return false;
    this._blocks = this._blocks.filter((b) => !this._blockMatches(b, mode));
    for (const b of run) await this._callout(b.fn);
    return true;
  }

  private async _doSources0(mode: __CFRunLoopMode, stopAfterHandle: boolean): Promise<boolean> {
    const ready: CFRunLoopSource[] = [];
    for (const s of mode.sources0) if (s._valid && s._signalled) ready.push(s);
    if (ready.length === 0) return false;
    ready.sort((a, b) => a._order - b._order || a._signalSeq - b._signalSeq);
    let handled = false;
    for (const s of ready) {
      if (!s._signalled) continue;
      s._signalled = false;
      if (!s._valid) continue;
      const perform = s._ctx.perform;
      if (perform) {
        _CFRunLoopRetain(s);
        try { await this._callout(() => perform(s._ctx.info)); } finally { _CFRunLoopRelease(s); }
      }
      handled = true;
      if (stopAfterHandle) break;
    }
    return handled;
  }

  private _earliestTimer(mode: __CFRunLoopMode): number {
    let t = Infinity;
    for (const tm of mode.timers) if (tm._valid && tm._fireDate < t) t = tm._fireDate;
    return t;
  }

  private async _doTimers(mode: __CFRunLoopMode): Promise<boolean> {
    const now = this._clock.now();
    const due = [...mode.timers].filter((t) => t._valid && !t._firing && t._fireDate <= now);
    if (due.length === 0) return false;
    due.sort((a, b) => a._fireDate - b._fireDate || a._seq - b._seq);
    for (const t of due) {
      if (!t._valid || t._fireDate > now) continue;
      const oldFire = t._fireDate;
      t._firing = true;
      _CFRunLoopRetain(t);
      try {
        await this._callout(() => t._cb(t, t._ctx.info));
      } finally {
        t._firing = false;
        if (t._valid) {
          if (t._interval <= 0) {
            CFRunLoopTimerInvalidate(t);
          } else if (t._fireDate === oldFire) {
            // Next tick strictly in the future; missed ticks are skipped, not replayed.
            const n = this._clock.now();
            const k = Math.max(1, Math.floor((n - oldFire) / t._interval) + 1);
            t._fireDate = oldFire + k * t._interval;
            t._seq = _CFRunLoopTimerNextSeq();
          }
        }
        _CFRunLoopRelease(t);
      }
    }
    return true;
  }

  private _readyV1(mode: __CFRunLoopMode): CFRunLoopSource | null {
    let best: CFRunLoopSource | null = null;
    for (const s of mode.sources1) if (s._valid && s._pending > 0 && (best === null || s._order < best._order)) best = s;
    return best;
  }

  /** Waits for a wake-up, the mode's earliest timer, a version-1 message or the deadline. */
  private _wait(mode: __CFRunLoopMode, deadline: number): Promise<void> {
    if (this._wakePending) {
      this._wakePending = false;
      return Promise.resolve();
    }
    const at = Math.min(deadline, this._earliestTimer(mode));
    return new Promise<void>((resolve) => {
      let cancel: (() => void) | null = null;
      const done = (): void => {
        if (cancel !== null) { cancel(); cancel = null; }
        if (this._waiter === done) this._waiter = null;
        resolve();
      };
      this._waiter = done;
      if (at !== Infinity) cancel = this._clock.schedule(at, () => { cancel = null; if (this._waiter === done) this._waiter = null; resolve(); });
    });
  }

  /** @internal CFRunLoopRunSpecific. */
  async _runSpecific(modeName: string | null, seconds: number, returnAfterSourceHandled: boolean): Promise<CFRunLoopRunResult> {
    if (modeName === null || modeName === kCFRunLoopCommonModes) return kCFRunLoopRunFinished;
    const mode = this._modes.get(modeName);
    if (mode === undefined || this._isEmpty(mode)) return kCFRunLoopRunFinished;
    if (this._frames.length > 0 && this._calloutDepth === 0) {
      if (!this._concurrentLogged) {
        this._concurrentLogged = true;
        console.error('CFRunLoopRunInMode: the run loop is already running (concurrent, not nested, run refused)');
      }
      return kCFRunLoopRunFinished;
    }
    const frame: Frame = { mode, stopped: false };
    this._frames.push(frame);
    const savedDepth = this._calloutDepth;
    this._calloutDepth = 0;
    try {
      // The run and its callouts belong to this loop's "thread": CFRunLoopGetCurrent answers it.
      return await runInLoopContext(this, () => this._run(frame, seconds, returnAfterSourceHandled));
    } finally {
      this._calloutDepth = savedDepth;
      this._frames.pop();
      this._ignoreWakeUps = true;
      this._wakePending = false;
    }
  }

  private async _run(frame: Frame, seconds: number, returnAfter: boolean): Promise<CFRunLoopRunResult> {
    const mode = frame.mode;
    if (frame.stopped) return kCFRunLoopRunStopped;
    if (mode.stopped) { mode.stopped = false; return kCFRunLoopRunStopped; }
    const deadline = seconds <= 0 || Number.isNaN(seconds) ? 0 : seconds > TIMER_INTERVAL_LIMIT ? Infinity : this._clock.now() + seconds;
    for (;;) {
      this._ignoreWakeUps = false;
      await this._doBlocks(mode);
      let handled = await this._doSources0(mode, returnAfter);
      if (handled) await this._doBlocks(mode);
      const poll = handled || deadline === 0;
      if (!poll && this._readyV1(mode) === null && !(this._earliestTimer(mode) <= this._clock.now())) {
        await this._wait(mode, deadline);
      }
      this._ignoreWakeUps = true;
      await this._doTimers(mode);
      if (!(handled && returnAfter)) {
        const v1 = this._readyV1(mode);
        if (v1 !== null) {
          v1._pending--;
          const perform = v1._ctx.perform;
          _CFRunLoopRetain(v1);
          try { if (perform) await this._callout(() => perform(v1._ctx.info)); } finally { _CFRunLoopRelease(v1); }
          handled = true;
        }
      }
      await this._doBlocks(mode);
      if (handled && returnAfter) return kCFRunLoopRunHandledSource;
      if (deadline !== Infinity && this._clock.now() >= deadline) return kCFRunLoopRunTimedOut;
      if (frame.stopped) return kCFRunLoopRunStopped;
      if (mode.stopped) { mode.stopped = false; return kCFRunLoopRunStopped; }
      if (this._isEmpty(mode)) return kCFRunLoopRunFinished;
    }
  }
}
export type CFRunLoopRef = CFRunLoop;

export function CFRunLoopGetTypeID(): CFTypeID { return CFRunLoop.typeID; }

/** CFRunLoopGetMain: the process's main run loop (real clock unless CFRunLoopSetClock changed it). */
export function CFRunLoopGetMain(): CFRunLoop {
  if (mainLoop === null) mainLoop = new CFRunLoop(kCFRunLoopRealClock);
  return mainLoop;
}

/**
 * CFRunLoopGetCurrent: the run loop of the "current thread". Node has one thread; a loop created
 * with CFRunLoopCreateWithClock stands for another thread's loop. The "thread" is the async
 * context: code started by a run of a loop (its callouts, also after they await) gets that loop,
 * the innermost run's loop when runs nest; any other code (top level, timers and I/O not started
 * from a run) gets the main loop.
 */
export function CFRunLoopGetCurrent(): CFRunLoop {
  return loopOfContext() ?? CFRunLoopGetMain();
}

/** A new run loop on `clock` (port-specific: stands for the run loop of another thread). */
export function CFRunLoopCreateWithClock(clock: CFRunLoopClock = kCFRunLoopRealClock): CFRunLoop {
  return new CFRunLoop(clock);
}

/** Replaces a loop's clock (port-specific); only while it is not running. Returns whether it did. */
export function CFRunLoopSetClock(rl: CFRunLoop, clock: CFRunLoopClock): boolean {
  if (rl._frames.length > 0) return false;
  rl._clock = clock;
  return true;
}

/** The loop's clock (port-specific). */
export function CFRunLoopGetClock(rl: CFRunLoop): CFRunLoopClock { return rl._clock; }

/** The loop's current time on its clock (port-specific; CFAbsoluteTimeGetCurrent for the loop). */
export function CFRunLoopGetTime(rl: CFRunLoop): CFAbsoluteTime { return rl._clock.now(); }

/** CFRunLoopIsWaiting: true while a run is blocked waiting. */
export function CFRunLoopIsWaiting(rl: CFRunLoop): boolean { return rl._isWaiting; }

/**
 * CFRunLoopRunInMode(mode, seconds, returnAfterSourceHandled) on the current run loop (or on `rl`,
 * port-specific fourth argument). Resolves to kCFRunLoopRunFinished (mode empty or unknown, or the
 * common-modes name), kCFRunLoopRunStopped, kCFRunLoopRunTimedOut or kCFRunLoopRunHandledSource.
 * seconds <= 0 performs one full pass.
 */
export function CFRunLoopRunInMode(
  mode: CFRunLoopMode | null, seconds: CFTimeInterval, returnAfterSourceHandled: boolean, rl: CFRunLoop = CFRunLoopGetCurrent(),
): Promise<CFRunLoopRunResult> {
  return rl._runSpecific(mode, seconds, returnAfterSourceHandled);
}

/** CFRunLoopRun: runs the current loop (or `rl`) in the default mode until stopped or the mode is empty. */
export async function CFRunLoopRun(rl: CFRunLoop = CFRunLoopGetCurrent()): Promise<void> {
  for (;;) {
    const r = await rl._runSpecific(kCFRunLoopDefaultMode, 1.0e10, false);
    if (r === kCFRunLoopRunStopped || r === kCFRunLoopRunFinished) return;
  }
}

/** CFRunLoopStop: stops the innermost run of `rl`; no effect when it is not running. */
export function CFRunLoopStop(rl: CFRunLoop): void {
  const f = rl._frames[rl._frames.length - 1];
  if (f === undefined) return;
  f.stopped = true;
  rl._wakeUp();
}

/** CFRunLoopWakeUp: ends the current wait of `rl` (the run then re-checks its sources and timers). */
export function CFRunLoopWakeUp(rl: CFRunLoop): void { rl._wakeUp(); }
