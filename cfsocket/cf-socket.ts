// CFSocket (CFSocket.h; the select()-based manager of swift-corelibs CFSocket.c) over the KPI.
//
// What plays the part of CF's manager thread (reference/corefoundation.md §4.3):
//   * each CFSocket installs sock_setupcalls upcalls on its socket_t. An upcall does nothing but
//     note the socket and schedule one manager pass (setImmediate): callouts never run inside an
//     upcall, and background I/O never runs inside the stack's entry points.
//   * a manager pass is select()'s answer: for each noted socket whose read or write side is
//     *armed* and ready (BSD readiness, see sockReadable/sockWritable), it disarms that side
//     (arming is one-shot), does the background work (one recv of up to 32768/65535 bytes for the
//     data type, one accept for the accept type, SO_ERROR for write/connect), queues the result,
//     marks read/write signalled, signals the socket's version-0 run loop source and wakes one run
//     loop that has it.
//   * the source's perform delivers: connect → read/accept/data (one queued item) → write, then
//     invalidates after an empty data chunk (stream sockets), re-signals if items remain, and
//     re-arms the types that fired and have their auto-re-enable flag.
// Arming (CFSocketEnableCallBacks, scheduling, re-enable) also queues a pass: readiness is level-
// triggered, a socket already readable when armed fires at once.

import {
  EINPROGRESS, IPPROTO_TCP, IPPROTO_UDP, MSG_DONTWAIT, PF_INET, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_ERROR,
  SO_SNDTIMEO, EWOULDBLOCK, POLLIN, POLLOUT,
  getsockoptInt, newMsghdr, setsockoptTimeval, sock_accept, sock_bind, sock_connect, sock_connectwait, sock_getaddr,
  sock_gettype, sock_listen, sock_poll, sock_receive, sock_send, sock_setupcalls,
} from '../kpi/index.js';
import type { Box, socket_t } from '../kpi/index.js';
import { CFRelease, CFRetain, CFType, _CFAllocatorKernel, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFAllocatorRef, CFHashCode, CFIndex, CFOptionFlags, CFTimeInterval, CFTypeID } from './cf-base.js';
import { CFDataCreate, CFData } from './cf-data.js';
import {
  CFRunLoop, CFRunLoopContainsSource, CFRunLoopCopyCurrentMode, CFRunLoopIsWaiting, CFRunLoopSource,
  CFRunLoopSourceCreate, CFRunLoopSourceInvalidate, CFRunLoopSourceSignal, CFRunLoopWakeUp,
} from './cf-runloop.js';
import { CFSocketNativeHandleClose, CFSocketNativeHandleCreate, CFSocketNativeHandleGetSocket } from './native.js';
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

/** Largest chunk of one background read: stream / anything else (MAX_CONNECTION_ORIENTED_DATA_SIZE, MAX_DATA_SIZE). */
const MAX_STREAM_CHUNK = 32768;
const MAX_DATA_CHUNK = 65535;
/** CFSocketSetAddress's listen backlog. */
const LISTEN_BACKLOG = 256;
/** sock_connectwait refuses more than SHRT_MAX / hz seconds; longer waits are done in steps. */
const CONNECTWAIT_STEP_S = 300;

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

// ---- readiness (what select() would report) ----

/**
 * BSD soreadable for a KPI socket (sock_poll's POLLIN): data at or above SO_RCVLOWAT, EOF, a
 * completed connection on a listener, or a pending error. False for a closed socket.
 */
export function sockReadable(so: socket_t): boolean {
  return (sock_poll(so) & POLLIN) !== 0;
}

/**
 * BSD sowriteable (sock_poll's POLLOUT): CANTSENDMORE or an error, else connected (or
 * connectionless) with sbspace >= SO_SNDLOWAT. (An unconnected stream socket is not writable,
 * unlike Linux's poll.) False for a closed socket.
 */
export function sockWritable(so: socket_t): boolean {
  return (sock_poll(so) & POLLOUT) !== 0;
}

// ---- the object ----

const byNative = new Map<CFSocketNativeHandle, CFSocket>();

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

// ---- the manager ----

const noted: CFSocket[] = [];
let passScheduled = false;

function note(s: CFSocket): void {
  if (!s._noted) {
    s._noted = true;
    noted.push(s);
  }
  if (!passScheduled) {
    passScheduled = true;
    setImmediate(managerPass);
  }
}

/** The upcall: only notes the socket (the work happens in the next manager pass). */
function upcall(_so: socket_t, cookie: unknown, _waitf: number): void {
  const s = cookie as CFSocket;
  if (s._valid && (s._readArmed || s._writeArmed)) note(s);
}

function managerPass(): void {
  passScheduled = false;
  const batch = noted.splice(0, noted.length);
  for (const s of batch) s._noted = false;
  // Writable sockets first, then readable ones (as one select() round).
  for (const s of batch) if (s._valid && s._writeArmed && sockWritable(s._so!)) handleWrite(s);
  for (const s of batch) if (s._valid && s._readArmed && sockReadable(s._so!)) handleRead(s);
}

function handleWrite(s: CFSocket): void {
  s._writeArmed = false;
  if ((s._flags & kCFSocketLeaveErrors) === 0) {
    const err: Box<number> = { value: 0 };
    if (getsockoptInt(s._so, SOL_SOCKET, SO_ERROR, err) === 0) s._errorCode = err.value;
  }
  s._writeSignalled = true;
  signalAndWake(s);
}

function reenableInBackground(s: CFSocket, type: number): boolean {
  return (s._flags & type) !== 0 && (s._disabled & type) === 0;
}

function handleRead(s: CFSocket): void {
  s._readArmed = false;
  const so = s._so!;
  const rt = s._readType;
  if (rt === kCFSocketDataCallBack) {
    const stream = s._socketType === SOCK_STREAM;
    const buf = new Uint8Array(stream ? MAX_STREAM_CHUNK : MAX_DATA_CHUNK);
    const name = stream ? null : new Uint8Array(128);
    const msg = newMsghdr([buf], { name });
    const n: Box<number> = { value: 0 };
    const e = sock_receive(so, msg, MSG_DONTWAIT, n) as number;
    if (e === EWOULDBLOCK) { // readiness without data (a spurious wakeup): stay armed
      s._readArmed = true;
      return;
    }
    const len = e === 0 ? n.value : 0;
    s._dataQueue.push(CFDataCreate(null, buf, len));
    let addr: CFData | null = null;
    if (stream) addr = peerAddressCached(s);
    else if (e === 0 && name !== null && name[0]! > 0) addr = CFDataCreate(null, name, Math.min(name[0]!, name.length));
    s._addressQueue.push(addr ?? CFDataCreate(null, null, 0));
    s._readSignalled = true;
    if (len > 0 && reenableInBackground(s, kCFSocketDataCallBack)) arm(s, true, false);
  } else if (rt === kCFSocketAcceptCallBack) {
    const from = new Uint8Array(128);
    const child: Box<socket_t | null> = { value: null };
    const e = sock_accept(so, from, from.length, MSG_DONTWAIT, null, null, child) as number;
    if (e !== 0 || child.value === null) {
      // CF's manager stops producing accept callbacks after a failed accept until re-enabled;
      // here the listener is re-armed (only a spurious wakeup or an aborted connection fails).
      if (reenableInBackground(s, kCFSocketAcceptCallBack)) arm(s, true, false);
      return;
    }
    s._acceptQueue.push(CFSocketNativeHandleCreate(child.value));
    s._addressQueue.push(from[0]! > 0 ? CFDataCreate(null, from, from[0]!) : CFDataCreate(null, null, 0));
    s._readSignalled = true;
    if (reenableInBackground(s, kCFSocketAcceptCallBack)) arm(s, true, false);
  } else {
    if ((s._disabled & kCFSocketReadCallBack) !== 0) return;
    s._readSignalled = true;
  }
  signalAndWake(s);
}

/** Signals the socket's source and wakes one run loop that has it (CF's choice and rotation). */
function signalAndWake(s: CFSocket): void {
  const src = s._source;
  if (src === null) return;
  CFRunLoopSourceSignal(src);
  const rls = s._runLoops;
  if (rls.length === 0) return;
  const inCurrent = (rl: CFRunLoop): boolean => {
    const m = CFRunLoopCopyCurrentMode(rl);
    return m !== null && CFRunLoopContainsSource(rl, src, m);
  };
  const pick = rls.find((rl) => CFRunLoopIsWaiting(rl) && inCurrent(rl)) ?? rls.find(inCurrent) ?? rls[0]!;
  const i = rls.indexOf(pick);
  rls.splice(i, 1);
  rls.push(pick);
  CFRunLoopWakeUp(pick);
}

/** Puts the socket into the manager's read and/or write set. */
function arm(s: CFSocket, read: boolean, write: boolean): void {
  if (read) s._readArmed = true;
  if (write) s._writeArmed = true;
  if (read || write) note(s);
}

/** __CFSocketEnableCallBacks: `force` clears the disabled bits; otherwise disabled types stay off. */
function enableCallBacks(s: CFSocket, types: number, force: boolean): void {
  if (!s._valid || s._scheduleCount === 0) return;
  types &= s._cbTypes;
  if (force) s._disabled &= ~types;
  else {
    if ((s._disabled & s._readType) !== 0 && s._readType !== 0) types &= ~3;
    types &= ~(s._disabled & ~3);
  }
  const wantConnect = (s._cbTypes & kCFSocketConnectCallBack) !== 0;
  const write = ((types & kCFSocketWriteCallBack) !== 0 && (s._connected || !wantConnect)) ||
    ((types & kCFSocketConnectCallBack) !== 0 && !s._connected);
  const read = (types & 3) !== 0;
  arm(s, read, write);
}

function peerAddressCached(s: CFSocket): CFData | null {
  if (s._peerAddress === null && s._valid && s._so !== null) {
    const sa: Box<Uint8Array | null> = { value: null };
    if (sock_getaddr(s._so, sa, 1) === 0 && sa.value !== null && sa.value.length > 0) s._peerAddress = CFDataCreate(null, sa.value);
  }
  return s._peerAddress;
}

// ---- the run loop source ----

function schedule(s: CFSocket, rl: CFRunLoop): void {
  if (!s._valid) return;
  s._runLoops.push(rl);
  s._scheduleCount++;
  if (s._scheduleCount === 1) enableCallBacks(s, s._cbTypes, true);
}

function cancel(s: CFSocket, rl: CFRunLoop): void {
  if (s._scheduleCount > 0) s._scheduleCount--;
  if (s._scheduleCount === 0) {
    s._readArmed = false;
    s._writeArmed = false;
  }
  const i = s._runLoops.indexOf(rl);
  if (i >= 0) s._runLoops.splice(i, 1);
}

async function perform(s: CFSocket): Promise<void> {
  if (!s._valid) return;
  CFRetain(s);
  try {
    const readSig = s._readSignalled, writeSig = s._writeSignalled;
    const rt = s._readType;
    let chunk: CFData | null = null, address: CFData | null = null, acceptFd = -1;
    if (readSig && rt === kCFSocketDataCallBack && s._dataQueue.length > 0) {
      chunk = s._dataQueue.shift()!;
      address = s._addressQueue.shift() ?? null;
    } else if (readSig && rt === kCFSocketAcceptCallBack && s._acceptQueue.length > 0) {
      acceptFd = s._acceptQueue.shift()!;
      address = s._addressQueue.shift() ?? null;
    }
    s._readSignalled = false;
    s._writeSignalled = false;
    let errorCode = 0, connectSig = false;
    if (writeSig) {
      errorCode = s._errorCode;
      s._errorCode = 0;
      connectSig = !s._connected;
      s._connected = true;
    }
    const cb = s._callout, info = s._ctx.info;
    if ((s._cbTypes & kCFSocketConnectCallBack) !== 0 && connectSig && cb !== null) {
      await cb(s, kCFSocketConnectCallBack, null, errorCode !== 0 ? errorCode : null, info);
    }
    if (s._valid && cb !== null) {
      if (chunk !== null) await cb(s, kCFSocketDataCallBack, address, chunk, info);
      else if (acceptFd >= 0) await cb(s, kCFSocketAcceptCallBack, address, acceptFd, info);
      else if (readSig && rt === kCFSocketReadCallBack) await cb(s, kCFSocketReadCallBack, null, null, info);
    }
    if (s._valid && cb !== null && (s._cbTypes & kCFSocketWriteCallBack) !== 0 && writeSig && errorCode === 0) {
      await cb(s, kCFSocketWriteCallBack, null, null, info);
    }
    if (chunk !== null && chunk._len === 0 && s._socketType === SOCK_STREAM) CFSocketInvalidate(s);
    if (!s._valid) return;
    if (s._dataQueue.length > 0 || s._acceptQueue.length > 0) {
      s._readSignalled = true;
      signalAndWake(s);
    }
    // Re-arm what fired and has its auto-re-enable flag (respecting CFSocketDisableCallBacks).
    let again = 0;
    if (readSig && rt !== 0 && (s._flags & rt) !== 0) again |= rt;
    if (writeSig && (s._flags & kCFSocketAutomaticallyReenableWriteCallBack) !== 0) again |= kCFSocketWriteCallBack;
    // Data and accept are re-armed by the manager itself (after each background read/accept).
    if (rt === kCFSocketDataCallBack || rt === kCFSocketAcceptCallBack) again &= ~3;
    if (again !== 0) enableCallBacks(s, again, false);
  } finally {
    CFRelease(s);
  }
}

// ---- creation ----

/**
 * CFSocketCreateWithNative(alloc, sock, callBackTypes, callout, context): wraps the KPI socket
 * behind a native handle (CFSocketNativeHandleCreate). An existing CFSocket for the same handle is
 * returned (retained) and the other arguments are ignored. -1 gives an already invalid CFSocket;
 * an unknown handle gives null. Its upcalls are replaced by CF's (sock_setupcalls).
 */
export function CFSocketCreateWithNative(
  _alloc: CFAllocatorRef, sock: CFSocketNativeHandle, callBackTypes: CFOptionFlags, callout: CFSocketCallBack | null,
  context: CFSocketContext | null = null,
): CFSocket | null {
  if (sock === -1) return new CFSocket(-1, null);
  const existing = byNative.get(sock);
  if (existing !== undefined && existing._valid) return CFRetain(existing);
  const so = CFSocketNativeHandleGetSocket(sock);
  if (so === null) return null;
  const s = new CFSocket(sock, so);
  const type: Box<number> = { value: 0 };
  sock_gettype(so, null, type, null);
  s._socketType = type.value;
  s._cbTypes = callBackTypes & 0xf;
  s._flags = (s._cbTypes & 3) | kCFSocketCloseOnInvalidate;
  s._connected = s._socketType !== SOCK_STREAM || s._readType === kCFSocketAcceptCallBack;
  s._callout = callout;
  if (context !== null) {
    const info = context.retain ? context.retain(context.info) : context.info;
    s._ctx = { version: 0, info, retain: context.retain ?? null, release: context.release ?? null, copyDescription: context.copyDescription ?? null };
  }
  sock_setupcalls(so, upcall, s, upcall, s);
  byNative.set(sock, s);
  CFRetain(s); // the native-handle table's reference, dropped by CFSocketInvalidate
  return s;
}

/**
 * CFSocketCreate(alloc, protocolFamily, socketType, protocol, callBackTypes, callout, context):
 * family <= 0 → PF_INET; for PF_INET only, type <= 0 → SOCK_STREAM and protocol <= 0 → TCP
 * (stream) or UDP (datagram). The socket is made on the KPI kernel the allocator names (NULL: the
 * default allocator; CFAllocatorCreateForKernel/CFAllocatorSetDefault); null when that is no kernel
 * or sock_socket fails.
 */
export function CFSocketCreate(
  alloc: CFAllocatorRef, protocolFamily: number, socketType: number, protocol: number, callBackTypes: CFOptionFlags,
  callout: CFSocketCallBack | null, context: CFSocketContext | null = null,
): CFSocket | null {
  const kernel = _CFAllocatorKernel(alloc);
  if (kernel === null) return null;
  let family = protocolFamily, type = socketType, proto = protocol;
  if (family <= 0) family = PF_INET;
  if (family === PF_INET) {
    if (type <= 0) type = SOCK_STREAM;
    if (proto <= 0) proto = type === SOCK_STREAM ? IPPROTO_TCP : type === SOCK_DGRAM ? IPPROTO_UDP : proto;
  }
  const box: Box<socket_t | null> = { value: null };
  if (kernel.sock_socket(family, type, proto, null, null, box) !== 0 || box.value === null) return null;
  const fd = CFSocketNativeHandleCreate(box.value);
  const s = CFSocketCreateWithNative(alloc, fd, callBackTypes, callout, context);
  if (s === null) void CFSocketNativeHandleClose(fd);
  return s;
}

/**
 * CFSocketCreateWithSocketSignature: CFSocketCreate then CFSocketSetAddress (bind + listen 256);
 * null if either fails. (Options that must precede bind, SO_REUSEADDR, cannot be set this way.)
 */
export function CFSocketCreateWithSocketSignature(
  alloc: CFAllocatorRef, signature: CFSocketSignature, callBackTypes: CFOptionFlags, callout: CFSocketCallBack | null,
  context: CFSocketContext | null = null,
): CFSocket | null {
  const s = CFSocketCreate(alloc, signature.protocolFamily, signature.socketType, signature.protocol, callBackTypes, callout, context);
  if (s === null) return null;
  if (signature.address === null || CFSocketSetAddress(s, signature.address) !== kCFSocketSuccess) {
    CFSocketInvalidate(s);
    CFRelease(s);
    return null;
  }
  return s;
}

/**
 * CFSocketCreateConnectedToSocketSignature: CFSocketCreate then CFSocketConnectToAddress with
 * `timeout`; null on any failure (including kCFSocketTimeout). A negative timeout returns at once
 * (background connect, reported by the connect callback once a source is scheduled); otherwise
 * a Promise.
 */
export function CFSocketCreateConnectedToSocketSignature(
  alloc: CFAllocatorRef, signature: CFSocketSignature, callBackTypes: CFOptionFlags, callout: CFSocketCallBack | null,
  context: CFSocketContext | null, timeout: CFTimeInterval,
): CFSocket | null | Promise<CFSocket | null> {
  const s = CFSocketCreate(alloc, signature.protocolFamily, signature.socketType, signature.protocol, callBackTypes, callout, context);
  if (s === null) return null;
  const fail = (): null => { CFSocketInvalidate(s); CFRelease(s); return null; };
  if (signature.address === null) return fail();
  const r = CFSocketConnectToAddress(s, signature.address, timeout);
  if (typeof r === 'number') return r === kCFSocketSuccess ? s : fail();
  return r.then((e) => (e === kCFSocketSuccess ? s : fail()));
}

// ---- configuration and I/O ----

/**
 * CFSocketSetAddress(s, address): bind, then listen(256) when bind succeeded (a listen failure,
 * e.g. on UDP, is ignored). kCFSocketError for an invalid socket, an empty address or a failed
 * bind (the errno is lost, as in CF).
 */
export function CFSocketSetAddress(s: CFSocket, address: CFData | null): CFSocketError {
  if (!s._valid || address === null || address._len === 0) return kCFSocketError;
  if (sock_bind(s._so, address.bytes.slice()) !== 0) return kCFSocketError;
  sock_listen(s._so, LISTEN_BACKLOG);
  return kCFSocketSuccess;
}

/**
 * CFSocketConnectToAddress(s, address, timeout):
 *   timeout < 0   background connect: kCFSocketSuccess at once (a number) unless connect fails
 *                 outright; the connect callback reports the outcome (null or the errno).
 *   timeout > 0   a Promise: success, kCFSocketError (refused, unreachable...) or kCFSocketTimeout
 *                 after `timeout` seconds (the attempt is not cancelled).
 *   timeout == 0  a Promise of a plain blocking connect.
 */
export function CFSocketConnectToAddress(s: CFSocket, address: CFData | null, timeout: CFTimeInterval): CFSocketError | Promise<CFSocketError> {
  if (!s._valid || address === null || address._len === 0) return kCFSocketError;
  const so = s._so!;
  const addr = address.bytes.slice();
  if (timeout === 0) {
    const r = sock_connect(so, addr, 0);
    const done = (e: number): CFSocketError | Promise<CFSocketError> =>
      e === 0 ? kCFSocketSuccess : e === EINPROGRESS ? waitConnect(so, Infinity) : kCFSocketError;
    return typeof r === 'number' ? Promise.resolve(done(r)) : r.then(done);
  }
  const e = sock_connect(so, addr, MSG_DONTWAIT) as number;
  if (e !== 0 && e !== EINPROGRESS) return timeout < 0 ? kCFSocketError : Promise.resolve(kCFSocketError);
  if (timeout < 0) return kCFSocketSuccess;
  if (e === 0) return Promise.resolve(kCFSocketSuccess);
  return waitConnect(so, Number.isFinite(timeout) ? timeout : Infinity);
}

/** Waits (sock_connectwait, in steps) up to `seconds` for a connect in progress. */
async function waitConnect(so: socket_t, seconds: number): Promise<CFSocketError> {
  let left = seconds;
  for (;;) {
    const step = left === Infinity ? CONNECTWAIT_STEP_S : Math.min(left, CONNECTWAIT_STEP_S);
    const sec = Math.floor(step);
    let usec = Math.min(999_999, Math.round((step - sec) * 1e6));
    if (sec === 0 && usec === 0) usec = 1; // a zero timeval would wait without limit
    const e = await sock_connectwait(so, { tv_sec: sec, tv_usec: usec });
    if (e === 0) return kCFSocketSuccess;
    if (e !== EINPROGRESS) return kCFSocketError;
    if (left !== Infinity) {
      left -= step;
      if (left <= 0) return kCFSocketTimeout;
    }
  }
}

/**
 * CFSocketSendData(s, address, data, timeout): sets SO_SNDTIMEO to `timeout` (<= 0: no limit; it
 * stays set), then one send (sendto when `address` is non-empty). kCFSocketSuccess when at least
 * one byte went out (a partial send counts), else kCFSocketError (also for an empty CFData and a
 * send that timed out: never kCFSocketTimeout, as in CF). A number when the send finished at once,
 * a Promise while it waits for buffer space.
 */
export function CFSocketSendData(s: CFSocket, address: CFData | null, data: CFData | null, timeout: CFTimeInterval): CFSocketError | Promise<CFSocketError> {
  if (!s._valid || data === null) return kCFSocketError;
  const so = s._so!;
  const t = timeout > 0 && Number.isFinite(timeout) ? timeout : 0;
  const sec = Math.floor(t);
  setsockoptTimeval(so, SO_SNDTIMEO, sec, Math.min(999_999, Math.round((t - sec) * 1e6)));
  const name = address !== null && address._len > 0 ? address.bytes.slice() : null;
  const sent: Box<number> = { value: 0 };
  const r = sock_send(so, newMsghdr([data.bytes.slice()], { name }), 0, sent);
  const result = (e: number): CFSocketError => (e === 0 && sent.value > 0 ? kCFSocketSuccess : kCFSocketError);
  return typeof r === 'number' ? result(r) : r.then(result);
}

/**
 * CFSocketCopyAddress: the local address (Darwin sockaddr bytes in a CFData; Create Rule). The
 * first successful answer is cached forever (an unbound socket caches its wildcard address).
 */
export function CFSocketCopyAddress(s: CFSocket): CFData | null {
  if (s._address === null && s._valid) {
    const sa: Box<Uint8Array | null> = { value: null };
    if (sock_getaddr(s._so, sa, 0) === 0 && sa.value !== null && sa.value.length > 0) s._address = CFDataCreate(null, sa.value);
  }
  return s._address === null ? null : CFRetain(s._address);
}

/** CFSocketCopyPeerAddress: the peer's address (cached once known; null while not connected). */
export function CFSocketCopyPeerAddress(s: CFSocket): CFData | null {
  const a = peerAddressCached(s);
  return a === null ? null : CFRetain(a);
}

/**
 * CFSocketCreateRunLoopSource(alloc, s, order): the socket's single run loop source (created on the
 * first call with this order; later calls return it again, retained) or null for an invalid socket.
 */
export function CFSocketCreateRunLoopSource(alloc: CFAllocatorRef, s: CFSocket, order: CFIndex): CFRunLoopSource | null {
  if (!s._valid) return null;
  if (s._source !== null && s._source._valid) return CFRetain(s._source);
  if (s._source !== null) CFRelease(s._source);
  const src = CFRunLoopSourceCreate(alloc, order, {
    version: 0,
    info: s,
    retain: (i) => CFRetain(i as CFSocket),
    release: (i) => CFRelease(i as CFSocket),
    copyDescription: (i) => (i as CFSocket)._cfDescription(),
    equal: (a, b) => a === b,
    hash: (i) => (i as CFSocket)._cfHash(),
    schedule: (i, rl) => schedule(i as CFSocket, rl),
    cancel: (i, rl) => cancel(i as CFSocket, rl as CFRunLoop),
    perform: (i) => perform(i as CFSocket),
  });
  s._source = src;
  return CFRetain(src); // one reference for the socket, one for the caller
}

/** CFSocketGetSocketFlags. Defaults: the read type's auto-re-enable flag | kCFSocketCloseOnInvalidate. */
export function CFSocketGetSocketFlags(s: CFSocket): CFOptionFlags { return s._flags; }

/** CFSocketSetSocketFlags: replaces the flags. */
export function CFSocketSetSocketFlags(s: CFSocket, flags: CFOptionFlags): void { s._flags = flags & 0xff; }

/**
 * CFSocketDisableCallBacks: the types stay off until CFSocketEnableCallBacks. Does nothing unless
 * the socket is valid and its source is scheduled in some run loop.
 */
export function CFSocketDisableCallBacks(s: CFSocket, callBackTypes: CFOptionFlags): void {
  if (!s._valid || s._scheduleCount === 0) return;
  const types = callBackTypes & s._cbTypes;
  s._disabled |= types;
  if ((types & kCFSocketWriteCallBack) !== 0 || ((types & kCFSocketConnectCallBack) !== 0 && !s._connected)) s._writeArmed = false;
  if ((types & 3) !== 0) s._readArmed = false;
}

/**
 * CFSocketEnableCallBacks: arms the types once (clearing their disabled state). Does nothing
 * unless the socket is valid and scheduled; scheduling the source enables every type.
 */
export function CFSocketEnableCallBacks(s: CFSocket, callBackTypes: CFOptionFlags): void {
  enableCallBacks(s, callBackTypes & 0xf, true);
}

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
  const registered = byNative.get(fd) === s;
  if (registered) byNative.delete(fd);
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

// ---- the socket name registry (CFSocketRegisterValue & co.): stubs ----
// CF talks to a TCP name server (default port 2454) that no longer exists; these answer failure.

let nameRegistryPort = 2454;
export const kCFSocketCommandKey = 'Command';
export const kCFSocketNameKey = 'Name';
export const kCFSocketValueKey = 'Value';
export const kCFSocketResultKey = 'Result';
export const kCFSocketErrorKey = 'Error';
export const kCFSocketRegisterCommand = 'Register';
export const kCFSocketRetrieveCommand = 'Retrieve';
export function CFSocketSetDefaultNameRegistryPortNumber(port: number): void { nameRegistryPort = port & 0xffff; }
export function CFSocketGetDefaultNameRegistryPortNumber(): number { return nameRegistryPort; }
export function CFSocketRegisterValue(_ns: CFSocketSignature | null, _t: CFTimeInterval, _name: string, _value: unknown): CFSocketError { return kCFSocketError; }
export function CFSocketCopyRegisteredValue(_ns: CFSocketSignature | null, _t: CFTimeInterval, _name: string, _value: Box<unknown> | null, _addr: Box<CFData | null> | null): CFSocketError { return kCFSocketError; }
export function CFSocketRegisterSocketSignature(_ns: CFSocketSignature | null, _t: CFTimeInterval, _name: string, _sig: CFSocketSignature): CFSocketError { return kCFSocketError; }
export function CFSocketCopyRegisteredSocketSignature(_ns: CFSocketSignature | null, _t: CFTimeInterval, _name: string, _sig: CFSocketSignature | null, _addr: Box<CFData | null> | null): CFSocketError { return kCFSocketError; }
export function CFSocketUnregister(_ns: CFSocketSignature | null, _t: CFTimeInterval, _name: string): CFSocketError { return kCFSocketError; }
