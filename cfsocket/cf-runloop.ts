// CFRunLoop (CFRunLoop.h; swift-corelibs CFRunLoop.c __CFRunLoopRun) on Node's event loop.
//
// Node has one thread and cannot block, so a *run* is asynchronous: CFRunLoopRunInMode returns a
// Promise of its CFRunLoopRunResult and CFRunLoopRun a Promise<void>. Everything else keeps CF's
// observable contract:
//
// * A run loop owns named modes; each holds version-0 sources, version-1 sources, timers. New loops
//   have kCFRunLoopDefaultMode, which is also the only initial common mode. Items added with
//   kCFRunLoopCommonModes go into every common mode (present and future, CFRunLoopAddCommonMode).
// * A run performs, per iteration: the blocks for the mode; every signalled version-0 source in
//   increasing `order` (ties: earlier signal first), stopping after the first if
//   returnAfterSourceHandled; then, unless a source was handled or the run polls (seconds <= 0), it
//   *waits*: an await on a Promise resolved by CFRunLoopWakeUp, by the earliest timer of the mode,
//   by a version-1 source's message, or by the run's deadline (through the loop's clock, never a
//   busy loop); then it fires the due timers and services one ready version-1 source. Result, in
//   CF's order: HandledSource, TimedOut, Stopped, Finished (mode empty).
// * CFRunLoopSourceSignal only marks a source; CFRunLoopWakeUp wakes the waiting run. Nothing runs
//   outside a run: a signalled source waits for a run in one of its modes.
// * Runs nest strictly: a callout may return a Promise (e.g. it runs the loop again in another mode
//   and awaits that), and the outer run awaits it before going on, exactly as the C stack would.
//   A second run of the same loop started while a run is active and no callout is executing is a
//   concurrent run (another "thread" on this loop): refused with kCFRunLoopRunFinished and a log.
// * CFRunLoopGetCurrent's "current thread" is the async context (runloop-context.ts): a run and
//   the callouts it makes, also across their awaits, see the running loop; other code sees main.
// * Time: each loop has a CFRunLoopClock. The default is real time (Date and setTimeout);
//   kpiKernelClock(kernel) binds a loop to a KPI kernel's stack clock so a simulation stays in
//   virtual time and deterministic.

import { CFType, _CFRuntimeRegisterClass, kCFAbsoluteTimeIntervalSince1970 } from './cf-base.js';
import type { CFAbsoluteTime, CFAllocatorRef, CFHashCode, CFIndex, CFOptionFlags, CFTimeInterval, CFTypeID } from './cf-base.js';
import type { KpiKernel } from '../kpi/index.js';
import { kpiTimer } from '../kpi/index.js';
import { loopOfContext, runInLoopContext } from './runloop-context.js';

export type CFRunLoopMode = string;
export type CFStringRef = string;

export const kCFRunLoopDefaultMode: CFRunLoopMode = 'kCFRunLoopDefaultMode';
export const kCFRunLoopCommonModes: CFRunLoopMode = 'kCFRunLoopCommonModes';

export const kCFRunLoopRunFinished = 1;
export const kCFRunLoopRunStopped = 2;
export const kCFRunLoopRunTimedOut = 3;
export const kCFRunLoopRunHandledSource = 4;
export type CFRunLoopRunResult = 1 | 2 | 3 | 4;

/** Run timeouts above this mean "forever" (TIMER_INTERVAL_LIMIT). */
const TIMER_INTERVAL_LIMIT = 504911232.0;

// ---- clocks ----

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

// ---- sources ----

/** Context of a version-0 source (CFRunLoopSourceContext). */
export interface CFRunLoopSourceContext {
  version: 0;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
  equal?: ((a: unknown, b: unknown) => boolean) | null;
  hash?: ((info: unknown) => CFHashCode) | null;
  schedule?: ((info: unknown, rl: CFRunLoop, mode: CFRunLoopMode) => void) | null;
  cancel?: ((info: unknown, rl: CFRunLoopSource | CFRunLoop, mode: CFRunLoopMode) => void) | null;
  perform: ((info: unknown) => void | Promise<void>) | null;
}

/**
 * Context of a version-1 (port-based) source. A port is modelled as a count of pending messages:
 * CFRunLoopSourceSignalPort(src) posts one (and wakes the loops that contain the source, as a Mach
 * message would); a run services one ready version-1 source per iteration, calling perform once
 * per message. schedule/cancel are port-specific additions (CF's version 1 has getPort instead).
 */
export interface CFRunLoopSourceContext1 {
  version: 1;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
  equal?: ((a: unknown, b: unknown) => boolean) | null;
  hash?: ((info: unknown) => CFHashCode) | null;
  schedule?: ((info: unknown, rl: CFRunLoop, mode: CFRunLoopMode) => void) | null;
  cancel?: ((info: unknown, rl: CFRunLoop, mode: CFRunLoopMode) => void) | null;
  perform: ((info: unknown) => void | Promise<void>) | null;
}

let signalSeq = 0;

export class CFRunLoopSource extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFRunLoopSource');
  get _cfTypeID(): CFTypeID { return CFRunLoopSource.typeID; }
  /** @internal */ _valid = true;
  /** @internal */ _signalled = false;
  /** @internal when signalled (tie-break among equal orders). */ _signalSeq = 0;
  /** @internal version-1: messages waiting. */ _pending = 0;
  /** @internal the (run loop, mode) pairs it is in. */ readonly _in = new Map<CFRunLoop, Set<string>>();

  /** @internal */
  constructor(readonly _order: CFIndex, readonly _ctx: CFRunLoopSourceContext | CFRunLoopSourceContext1) { super(); }

  get _version(): 0 | 1 { return this._ctx.version; }

  protected override _cfFinalize(): void {
    this._ctx.release?.(this._ctx.info);
  }

  override _cfDescription(): string {
    const d = this._ctx.copyDescription?.(this._ctx.info);
    return `<CFRunLoopSource ${this._serial} [${this._valid ? 'valid' : 'invalid'}] {order = ${this._order}, signalled = ${this._signalled}${d ? `, info = ${d}` : ''}}>`;
  }
}
export type CFRunLoopSourceRef = CFRunLoopSource;

/** CFRunLoopSourceCreate(alloc, order, context): retains the info (context.retain) once. */
export function CFRunLoopSourceCreate(_alloc: CFAllocatorRef, order: CFIndex, context: CFRunLoopSourceContext | CFRunLoopSourceContext1): CFRunLoopSource {
  const ctx = { ...context };
  if (ctx.retain) ctx.info = ctx.retain(ctx.info);
  return new CFRunLoopSource(order, ctx);
}

export function CFRunLoopSourceGetTypeID(): CFTypeID { return CFRunLoopSource.typeID; }
export function CFRunLoopSourceGetOrder(src: CFRunLoopSource): CFIndex { return src._order; }
export function CFRunLoopSourceIsValid(src: CFRunLoopSource): boolean { return src._valid; }

/** CFRunLoopSourceGetContext: a copy of the context. */
export function CFRunLoopSourceGetContext(src: CFRunLoopSource): CFRunLoopSourceContext | CFRunLoopSourceContext1 {
  return { ...src._ctx };
}

/** CFRunLoopSourceSignal: marks a valid version-0 source ready. Does not wake any run loop. */
export function CFRunLoopSourceSignal(src: CFRunLoopSource): void {
  if (!src._valid || src._version !== 0) return;
  if (!src._signalled) src._signalSeq = ++signalSeq;
  src._signalled = true;
}

/** CFRunLoopSourceIsSignalled (SPI in CF). */
export function CFRunLoopSourceIsSignalled(src: CFRunLoopSource): boolean { return src._signalled; }

/**
 * A message arrived for a version-1 source (port-specific: the Mach port receive): one more
 * perform is due; every run loop containing the source is woken.
 */
export function CFRunLoopSourceSignalPort(src: CFRunLoopSource): void {
  if (!src._valid || src._version !== 1) return;
  src._pending++;
  for (const rl of src._in.keys()) rl._wakeInternal();
}

/** CFRunLoopSourceInvalidate: invalid, unsignalled, removed from every mode of every loop (cancel each). */
export function CFRunLoopSourceInvalidate(src: CFRunLoopSource): void {
  if (!src._valid) return;
  CFRetain_(src);
  src._valid = false;
  src._signalled = false;
  src._pending = 0;
  for (const [rl, modes] of [...src._in]) {
    for (const m of [...modes]) rl._removeSourceFromMode(src, m);
    rl._commonItems.delete(src);
  }
  src._in.clear();
  CFRelease_(src);
}

// Local retain/release without importing the checks (sources may be finalized at the end).
function CFRetain_(cf: CFType): void { cf._rc++; }
function CFRelease_(cf: CFType): void { if (--cf._rc === 0) cf._cfDealloc(); }

// ---- timers ----

export interface CFRunLoopTimerContext {
  version: 0;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
}
export type CFRunLoopTimerCallBack = (timer: CFRunLoopTimer, info: unknown) => void | Promise<void>;

let timerSeq = 0;

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
  CFRetain_(t);
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
  CFRelease_(t);
}

// ---- run loops ----

class Mode {
  readonly sources0 = new Set<CFRunLoopSource>();
  readonly sources1 = new Set<CFRunLoopSource>();
  readonly timers = new Set<CFRunLoopTimer>();
  /** CFRunLoopStop of a mode (_CFRunLoopStopMode). */
  stopped = false;
  constructor(readonly name: string) {}
}

interface Frame { readonly mode: Mode; stopped: boolean }
interface Block { readonly modes: Set<string> | 'common'; readonly fn: () => void | Promise<void> }

let mainLoop: CFRunLoop | null = null;

export class CFRunLoop extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFRunLoop');
  get _cfTypeID(): CFTypeID { return CFRunLoop.typeID; }
  /** @internal */ readonly _modes = new Map<string, Mode>();
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
    this._modes.set(kCFRunLoopDefaultMode, new Mode(kCFRunLoopDefaultMode));
  }

  override _cfDescription(): string {
    return `<CFRunLoop ${this._serial} [${this._frames.length > 0 ? `running ${this._frames[this._frames.length - 1]!.mode.name}` : 'idle'}] {modes = ${[...this._modes.keys()].join(', ')}}>`;
  }

  /** @internal */
  _mode(name: string, create: boolean): Mode | undefined {
    let m = this._modes.get(name);
    if (m === undefined && create) {
      m = new Mode(name);
      this._modes.set(name, m);
    }
    return m;
  }

  /** @internal */
  get _currentMode(): Mode | null { return this._frames.length > 0 ? this._frames[this._frames.length - 1]!.mode : null; }

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
    CFRetain_(src);
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
    CFRelease_(src);
  }

  /** @internal */
  _addTimerToMode(t: CFRunLoopTimer, name: string): void {
    const m = this._mode(name, true)!;
    if (m.timers.has(t)) return;
    m.timers.add(t);
    t._modes.add(name);
    CFRetain_(t);
    this._wakeInternal();
  }

  /** @internal */
  _removeTimerFromMode(t: CFRunLoopTimer, name: string): void {
    const m = this._modes.get(name);
    if (m === undefined || !m.timers.delete(t)) return;
    t._modes.delete(name);
    if (t._modes.size === 0) t._rl = null;
    CFRelease_(t);
  }

  /** @internal Blocks for `mode` now. */
  private _blocksFor(mode: Mode): boolean {
    return this._blocks.some((b) => this._blockMatches(b, mode));
  }

  private _blockMatches(b: Block, mode: Mode): boolean {
    return b.modes === 'common' ? this._commonModes.has(mode.name) : b.modes.has(mode.name);
  }

  /** @internal Empty: no sources, no timers, no blocks for the mode. */
  _isEmpty(mode: Mode): boolean {
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

  private async _doBlocks(mode: Mode): Promise<boolean> {
    if (this._blocks.length === 0) return false;
    const run = this._blocks.filter((b) => this._blockMatches(b, mode));
    if (run.length === 0) return false;
    this._blocks = this._blocks.filter((b) => !this._blockMatches(b, mode));
    for (const b of run) await this._callout(b.fn);
    return true;
  }

  private async _doSources0(mode: Mode, stopAfterHandle: boolean): Promise<boolean> {
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
        CFRetain_(s);
        try { await this._callout(() => perform(s._ctx.info)); } finally { CFRelease_(s); }
      }
      handled = true;
      if (stopAfterHandle) break;
    }
    return handled;
  }

  private _earliestTimer(mode: Mode): number {
    let t = Infinity;
    for (const tm of mode.timers) if (tm._valid && tm._fireDate < t) t = tm._fireDate;
    return t;
  }

  private async _doTimers(mode: Mode): Promise<boolean> {
    const now = this._clock.now();
    const due = [...mode.timers].filter((t) => t._valid && !t._firing && t._fireDate <= now);
    if (due.length === 0) return false;
    due.sort((a, b) => a._fireDate - b._fireDate || a._seq - b._seq);
    for (const t of due) {
      if (!t._valid || t._fireDate > now) continue;
      const oldFire = t._fireDate;
      t._firing = true;
      CFRetain_(t);
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
            t._seq = ++timerSeq;
          }
        }
        CFRelease_(t);
      }
    }
    return true;
  }

  private _readyV1(mode: Mode): CFRunLoopSource | null {
    let best: CFRunLoopSource | null = null;
    for (const s of mode.sources1) if (s._valid && s._pending > 0 && (best === null || s._order < best._order)) best = s;
    return best;
  }

  /** Waits for a wake-up, the mode's earliest timer, a version-1 message or the deadline. */
  private _wait(mode: Mode, deadline: number): Promise<void> {
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
          CFRetain_(v1);
          try { if (perform) await this._callout(() => perform(v1._ctx.info)); } finally { CFRelease_(v1); }
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

/** CFRunLoopIsWaiting: true while a run is blocked waiting. */
export function CFRunLoopIsWaiting(rl: CFRunLoop): boolean { return rl._isWaiting; }

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
