// CFRunLoopSource (CFRunLoop.h; swift-corelibs CFRunLoop.c __CFRunLoopSource): version-0 sources
// that are signalled and version-1 (port-based) sources that receive messages.
//
// CFRunLoopSourceSignal only marks a source; CFRunLoopWakeUp wakes the waiting run. Nothing runs
// outside a run: a signalled source waits for a run in one of its modes. A run performs every
// signalled version-0 source in increasing `order` (ties: earlier signal first).

import { CFType, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFAllocatorRef, CFHashCode, CFIndex, CFTypeID } from './cf-base.js';
import { _CFRunLoopRelease, _CFRunLoopRetain } from './cf-runloop-mode.js';
import type { CFRunLoopMode } from './cf-runloop-mode.js';
import type { CFRunLoop } from './cf-runloop-run.js';

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
  _CFRunLoopRetain(src);
  src._valid = false;
  src._signalled = false;
  src._pending = 0;
  for (const [rl, modes] of [...src._in]) {
    for (const m of [...modes]) rl._removeSourceFromMode(src, m);
    rl._commonItems.delete(src);
  }
  src._in.clear();
  _CFRunLoopRelease(src);
}
