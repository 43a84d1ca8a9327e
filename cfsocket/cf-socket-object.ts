// CFSocket (CFSocket.h; swift-corelibs CFSocket.c) over the KPI: the constants and callback types,
// the object itself, its native-handle table, invalidation and the plain accessors.
//
// The manager (cf-socket-manager.ts) does readiness and background I/O; creation is in
// cf-socket-create.ts, addresses, connect and send in cf-socket-io.ts.

import { sock_setupcalls } from '../kpi/index.js';
import type { socket_t } from '../kpi/index.js';
import { CFRelease, CFRetain, CFType, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFHashCode, CFOptionFlags, CFTypeID } from './cf-base.js';
import type { CFData } from './cf-data.js';
import { CFRunLoopSourceInvalidate, CFRunLoopWakeUp } from './cf-runloop.js';
import type { CFRunLoop, CFRunLoopSource } from './cf-runloop.js';
import { CFSocketNativeHandleClose } from './native.js';
import type { CFSocketNativeHandle } from './native.js';

// ---- constants (CFSocket.h) ----

export type CFSocketError = number;
export const kCFSocketSuccess = 0;
export const kCFSocketError = -1;
export const kCFSocketTimeout = -2;

export type CFSocketCallBackType = number;
export const kCFSocketNoCallBack = 0;
export const kCFSocketReadCallBack = 1;
export const kCFSocketAcceptCallBack = 2;
export const kCFSocketDataCallBack = 3;
export const kCFSocketConnectCallBack = 4;
export const kCFSocketWriteCallBack = 8;

export const kCFSocketAutomaticallyReenableReadCallBack = 1;
export const kCFSocketAutomaticallyReenableAcceptCallBack = 2;
export const kCFSocketAutomaticallyReenableDataCallBack = 3;
export const kCFSocketAutomaticallyReenableWriteCallBack = 8;
export const kCFSocketLeaveErrors = 64;
export const kCFSocketCloseOnInvalidate = 128;

// ---- types ----

/**
 * CFSocketCallBack(s, type, address, data, info). `data`: connect → null on success or the errno
 * (a number, C's pointer to an SInt32); accept → the new native handle (a number; the callee owns
 * it: wrap it or CFSocketNativeHandleClose it); data → a CFData (length 0: end of stream or
 * error); otherwise null. `address`/`data` CFDatas are valid during the callout only (copy to keep).
 * A callout may return a Promise; the run loop awaits it.
 */
export type CFSocketCallBack = (
  s: CFSocket, type: CFSocketCallBackType, address: CFData | null, data: CFData | number | null, info: unknown,
) => void | Promise<void>;

export interface CFSocketContext {
  version: number;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
}

export interface CFSocketSignature {
  protocolFamily: number;
  socketType: number;
  protocol: number;
  address: CFData | null;
}

// ---- the object ----

/** @internal The CFSocket of each native handle (CFSocketCreateWithNative finds it again). */
export const _CFSocketsByNative = new Map<CFSocketNativeHandle, CFSocket>();

export class CFSocket extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFSocket');
  get _cfTypeID(): CFTypeID { return CFSocket.typeID; }

  /** @internal */ _valid: boolean;
  /** @internal */ _fd: CFSocketNativeHandle;
  /** @internal */ _so: socket_t | null;
  /** @internal SO_TYPE at creation. */ _socketType = 0;
  /** @internal low 4 bits of the callback types. */ _cbTypes = 0;
  /** @internal */ _flags = 0;
  /** @internal */ _disabled = 0;
  /** @internal */ _callout: CFSocketCallBack | null = null;
  /** @internal */ _ctx: CFSocketContext = { version: 0, info: null, retain: null, release: null, copyDescription: null };
  /** @internal */ _source: CFRunLoopSource | null = null;
  /** @internal one entry per (run loop, mode) it is scheduled in. */ _runLoops: CFRunLoop[] = [];
  /** @internal */ _scheduleCount = 0;
  /** @internal in the manager's read / write set. */ _readArmed = false;
  /** @internal */ _writeArmed = false;
  /** @internal */ _readSignalled = false;
  /** @internal */ _writeSignalled = false;
  /** @internal connected in CF's sense (connect callback done or not applicable). */ _connected = false;
  /** @internal SO_ERROR taken at the last write readiness. */ _errorCode = 0;
  /** @internal data/accept queues (one entry per callout). */ _dataQueue: CFData[] = [];
  /** @internal */ _addressQueue: CFData[] = [];
  /** @internal */ _acceptQueue: CFSocketNativeHandle[] = [];
  /** @internal */ _address: CFData | null = null;
  /** @internal */ _peerAddress: CFData | null = null;
  /** @internal noted by an upcall or an arm, awaiting a manager pass. */ _noted = false;

  /** @internal Use CFSocketCreate*. */
  constructor(fd: CFSocketNativeHandle, so: socket_t | null) {
    super();
    this._fd = fd;
    this._so = so;
    this._valid = so !== null;
  }

  override _cfEqual(other: CFType): boolean { return this === other; }
  override _cfHash(): CFHashCode { return (this._fd >>> 0) ^ this._serial; }
  override _cfDescription(): string {
    const d = this._ctx.copyDescription?.(this._ctx.info);
    return `<CFSocket ${this._serial} [${this._valid ? 'valid' : 'invalid'}] {native = ${this._fd}, type = ${this._socketType}, ` +
      `callback types = 0x${this._cbTypes.toString(16)}, flags = 0x${this._flags.toString(16)}, disabled = 0x${this._disabled.toString(16)}, ` +
      `scheduled = ${this._scheduleCount}${d ? `, info = ${d}` : ''}}>`;
  }

  get _readType(): number { return this._cbTypes & 3; }
}
export type CFSocketRef = CFSocket;

export function CFSocketGetTypeID(): CFTypeID { return CFSocket.typeID; }

// ---- accessors and invalidation ----

/** CFSocketGetSocketFlags. Defaults: the read type's auto-re-enable flag | kCFSocketCloseOnInvalidate. */
export function CFSocketGetSocketFlags(s: CFSocket): CFOptionFlags { return s._flags; }

/** CFSocketSetSocketFlags: replaces the flags. */
export function CFSocketSetSocketFlags(s: CFSocket, flags: CFOptionFlags): void { s._flags = flags & 0xff; }

/**
 * CFSocketInvalidate: stops all callbacks; drops it from the native-handle table; closes the
 * socket (CFSocketNativeHandleClose) when kCFSocketCloseOnInvalidate is set (else the handle and
 * socket stay open, without CF's upcalls); discards queued data and closes queued accepted
 * handles; wakes its run loops; calls the context release; invalidates the run loop source
 * (removing it from every mode: a run with nothing else to do ends with kCFRunLoopRunFinished).
 * Idempotent, safe inside the socket's own callout.
 */
export function CFSocketInvalidate(s: CFSocket): void {
  if (!s._valid) return;
  CFRetain(s);
  s._valid = false;
  s._readSignalled = s._writeSignalled = false;
  s._readArmed = s._writeArmed = false;
  const fd = s._fd, so = s._so;
  const registered = _CFSocketsByNative.get(fd) === s;
  if (registered) _CFSocketsByNative.delete(fd);
  if (so !== null) sock_setupcalls(so, null, null, null, null);
  if ((s._flags & kCFSocketCloseOnInvalidate) !== 0 && fd >= 0) void CFSocketNativeHandleClose(fd);
  s._fd = -1;
  s._so = null;
  s._peerAddress = null;
  s._dataQueue = [];
  s._addressQueue = [];
  for (const child of s._acceptQueue.splice(0)) void CFSocketNativeHandleClose(child);
  s._scheduleCount = 0;
  const rls = s._runLoops;
  s._runLoops = [];
  const src = s._source;
  s._source = null;
  const info = s._ctx.info, release = s._ctx.release;
  s._ctx = { version: 0, info: null, retain: null, release: null, copyDescription: null };
  s._callout = null;
  for (const rl of rls) CFRunLoopWakeUp(rl);
  release?.(info);
  if (src !== null) {
    CFRunLoopSourceInvalidate(src);
    CFRelease(src);
  }
  if (registered) CFRelease(s);
  CFRelease(s);
}

/** CFSocketIsValid. */
export function CFSocketIsValid(s: CFSocket): boolean { return s._valid; }

/** CFSocketGetNative: the native handle, -1 once invalidated. */
export function CFSocketGetNative(s: CFSocket): CFSocketNativeHandle { return s._valid ? s._fd : -1; }

/**
 * CFSocketGetContext(s, context): copies the context into `context` (whose version must be 0);
 * after invalidation every field is null. Returns the context too (port convenience).
 */
export function CFSocketGetContext(s: CFSocket, context: CFSocketContext = { version: 0, info: null }): CFSocketContext {
  if (context.version !== 0) throw new RangeError('CFSocketGetContext: context version not initialized to 0');
  context.info = s._ctx.info;
  context.retain = s._ctx.retain ?? null;
  context.release = s._ctx.release ?? null;
  context.copyDescription = s._ctx.copyDescription ?? null;
  return context;
}
