// CFSocket's manager (the select()-based manager thread of swift-corelibs CFSocket.c) over the KPI:
// readiness, background I/O, and the socket's run loop source that delivers the callbacks.
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
  MSG_DONTWAIT, SOCK_STREAM, SOL_SOCKET, SO_ERROR, EWOULDBLOCK, POLLIN, POLLOUT,
  getsockoptInt, newMsghdr, sock_accept, sock_getaddr, sock_poll, sock_receive,
} from '../kpi/index.js';
import type { Box, socket_t } from '../kpi/index.js';
import { CFRelease, CFRetain } from './cf-base.js';
import type { CFAllocatorRef, CFIndex, CFOptionFlags } from './cf-base.js';
import { CFDataCreate } from './cf-data.js';
import type { CFData } from './cf-data.js';
import {
  CFRunLoopContainsSource, CFRunLoopCopyCurrentMode, CFRunLoopIsWaiting, CFRunLoopSourceCreate, CFRunLoopSourceSignal,
  CFRunLoopWakeUp,
} from './cf-runloop.js';
import type { CFRunLoop, CFRunLoopSource } from './cf-runloop.js';
import {
  CFSocketInvalidate, kCFSocketAcceptCallBack, kCFSocketAutomaticallyReenableWriteCallBack, kCFSocketConnectCallBack,
  kCFSocketDataCallBack, kCFSocketLeaveErrors, kCFSocketReadCallBack, kCFSocketWriteCallBack,
} from './cf-socket-object.js';
import type { CFSocket } from './cf-socket-object.js';
import { CFSocketNativeHandleCreate } from './native.js';

/** Largest chunk of one background read: stream / anything else (MAX_CONNECTION_ORIENTED_DATA_SIZE, MAX_DATA_SIZE). */
const MAX_STREAM_CHUNK = 32768;
const MAX_DATA_CHUNK = 65535;

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

/** @internal The upcall: only notes the socket (the work happens in the next manager pass). */
export function _CFSocketUpcall(_so: socket_t, cookie: unknown, _waitf: number): void {
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
    if (stream) addr = _CFSocketPeerAddressCached(s);
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

/** @internal The peer's address, asked once and cached on the socket. */
export function _CFSocketPeerAddressCached(s: CFSocket): CFData | null {
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

// ---- the source and callback types ----

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
