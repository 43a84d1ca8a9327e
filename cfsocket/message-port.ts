// CFMessagePort (CFMessagePort.h; CF-1153.18 CFMessagePort.c) over AF_UNIX sockets (cfsocket/ipc/).
// README.md "CFMessagePort" describes the design and the deviations.
//
// * Local ports receive: a name is registered in the per-user socket directory (ipc/registry.ts);
//   requests are queued per port and delivered one per run-loop iteration through a version-1
//   source (CFMessagePortCreateRunLoopSource), or serially on a dispatch queue.
// * Remote ports send: one connection per remote (cached per name, as CF's remote table). A
//   request carries +c, its reply -c (per-remote conversation counter).
// * Calls that block in C return Promises here: CreateLocal, CreateRemote and SetName (name
//   registration and look-up are a round trip), and SendRequest (Promise of the status code; the
//   reply goes into a `{ value }` out-box, as C's CFDataRef *returnData). SendRequest runs the
//   current run loop re-entrantly in `replyMode` while it waits, as CF does.
// * Death: a remote whose connection closes (the local port was invalidated, or its process died)
//   is invalidated from Node's event loop — its invalidation callback runs then, as macOS runs
//   dead-name handling on a private dispatch queue — and a SendRequest waiting on it returns
//   kCFMessagePortBecameInvalidError.
// * A local port never learns that a client went away (CF: no message reaches the server).
//   tunstack_CFMessagePortSetInvalidatesWhenClientLeaves opts a port into learning it: remotes
//   announce themselves with a hello frame, and the close of such a connection invalidates the port.

import { CFRelease, CFRetain, CFType, _CFRuntimeRegisterClass } from './cf-base.js';
import type { CFAllocatorRef, CFIndex, CFTimeInterval, CFTypeID } from './cf-base.js';
import { CFData, CFDataCreate, CFDataCreateWithBytesNoCopy, CFDataGetLength } from './cf-data.js';
import {
  CFRunLoopAddSource, CFRunLoopCopyCurrentMode, CFRunLoopGetCurrent, CFRunLoopRemoveSource, CFRunLoopRunInMode,
  CFRunLoopSourceCreate, CFRunLoopSourceInvalidate, CFRunLoopSourceSignalPort, CFRunLoopWakeUp, kCFRunLoopRunFinished,
} from './cf-runloop.js';
import type { CFRunLoop, CFRunLoopMode, CFRunLoopSource } from './cf-runloop.js';
import type { IpcConnection } from './ipc/connection.js';
import { FLAG_HELLO, FLAG_REPLY_WANTED, MAX_MESSAGE_BYTES } from './ipc/frame.js';
import type { Frame } from './ipc/frame.js';
import { connectName, registerName } from './ipc/registry.js';
import type { IpcListener } from './ipc/registry.js';
import type { dispatch_queue_t } from './message-port-dispatch.js';
import { sanitizeName } from './message-port-name.js';

// ---- constants (CFMessagePort.h) ----

export const kCFMessagePortSuccess = 0;
export const kCFMessagePortSendTimeout = -1;
export const kCFMessagePortReceiveTimeout = -2;
export const kCFMessagePortIsInvalid = -3;
export const kCFMessagePortTransportError = -4;
export const kCFMessagePortBecameInvalidError = -5;
/** Largest message in either direction (CF: 0x60000000; port: 64 MB, see ipc/frame.ts). */
export const kCFMessagePortMaxMessageSize = MAX_MESSAGE_BYTES;

/** Send timeouts at or above this (10 days, CF's cutoff) block indefinitely. */
const SEND_FOREVER = 86400 * 10;
/** Order of a remote's reply source (CF: -100). */
const REPLY_SOURCE_ORDER = -100;

// ---- types ----

export interface CFMessagePortContext {
  version: 0;
  info: unknown;
  retain?: ((info: unknown) => unknown) | null;
  release?: ((info: unknown) => void) | null;
  copyDescription?: ((info: unknown) => string) | null;
}

/**
 * CFMessagePortCallBack: returns the reply (CF releases it after sending: return a reference you
 * own, e.g. a fresh CFDataCreate) or null (the requester receives an empty CFData). `data` is
 * valid during the callout only (retain it to keep it). Port extension: may return a Promise
 * (e.g. it sends a request of its own); the run loop waits for it as the C stack would.
 */
export type CFMessagePortCallBack =
  (local: CFMessagePort, msgid: number, data: CFData, info: unknown) => CFData | null | Promise<CFData | null>;
export type CFMessagePortInvalidationCallBack = (ms: CFMessagePort, info: unknown) => void;

/** A C out-parameter. */
export interface CFMessagePortBox<T> { value: T }

interface Incoming { readonly conn: IpcConnection; readonly frame: Frame; readonly size: number }
interface ReplySlot { state: 'pending' | 'replied' | 'invalid'; data: CFData | null; wake: (() => void) | null }

// ---- the object ----

/** Local ports by name, remote ports by name (non-retaining, as CF's tables). */
const localPorts = new Map<string, CFMessagePort>();
const remotePorts = new Map<string, CFMessagePort>();
const pendingLocal = new Map<string, Promise<CFMessagePort | null>>();
const pendingRemote = new Map<string, Promise<CFMessagePort | null>>();

export class CFMessagePort extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFMessagePort');
  get _cfTypeID(): CFTypeID { return CFMessagePort.typeID; }
  /** @internal */ _valid = true;
  /** @internal */ _name: string | null;
  /** @internal */ _icallout: CFMessagePortInvalidationCallBack | null = null;
  /** @internal local */ _callout: CFMessagePortCallBack | null = null;
  /** @internal local */ _ctx: CFMessagePortContext = { version: 0, info: null, retain: null, release: null, copyDescription: null };
  /** @internal local */ _listener: IpcListener | null = null;
  /** @internal local: requests received, not yet delivered. */ readonly _queue: Incoming[] = [];
  /** @internal local */ _source: CFRunLoopSource | null = null;
  /** @internal local */ _dispatchQueue: dispatch_queue_t | null = null;
  /** @internal local: connections whose remote said hello (clients, not registration probes). */
  readonly _clients = new Set<IpcConnection>();
  /** @internal local: tunstack extension, see tunstack_CFMessagePortSetInvalidatesWhenClientLeaves. */
  _invalidatesWhenClientLeaves = false;
  /** @internal remote */ _conn: IpcConnection | null = null;
  /** @internal remote: conversation counter. */ _conv = 0;
  /** @internal remote */ readonly _awaiting = new Map<number, ReplySlot>();
  /** @internal remote */ _replySource: CFRunLoopSource | null = null;
  /** @internal remote: how many waiting SendRequests use the reply source per (loop, mode). */
  readonly _replyUses = new Map<CFRunLoop, Map<string, number>>();

  /** @internal Use CFMessagePortCreateLocal/Remote. */
  constructor(readonly _remote: boolean, name: string | null) {
    super();
    this._name = name;
  }

  override _cfDescription(): string {
    return `<CFMessagePort ${this._serial} [${this._valid ? 'valid' : 'invalid'}] {${this._remote ? 'remote' : 'local'}, name = ${this._name ?? '(null)'}}>`;
  }

  /** Deallocation invalidates first (CF __CFMessagePortDeallocate). */
  protected override _cfFinalize(): void { CFMessagePortInvalidate(this); }
}
export type CFMessagePortRef = CFMessagePort;

export function CFMessagePortGetTypeID(): CFTypeID { return CFMessagePort.typeID; }

// ---- creation ----

/**
 * CFMessagePortCreateLocal(alloc, name, callout, context, &shouldFreeInfo). Resolves to the port,
 * or null when the name is unusable or registered by another process (or a stale registration
 * could not be replaced). A name already used by a local port of *this* process yields that port
 * (retained; CF ignores the new callout and context) with shouldFreeInfo left true, telling the
 * caller to dispose of its info; a new port sets it false. A NULL name gives an unnamed port that
 * cannot receive until CFMessagePortSetName names it.
 */
export async function CFMessagePortCreateLocal(
  _alloc: CFAllocatorRef, name: string | null, callout: CFMessagePortCallBack, context: CFMessagePortContext | null,
  shouldFreeInfo: CFMessagePortBox<boolean> | null,
): Promise<CFMessagePort | null> {
  if (shouldFreeInfo !== null) shouldFreeInfo.value = true;
  let key: string | null = null;
  if (name !== null) {
    const s = sanitizeName(name);
    if (s === null) return null;
    key = s.name;
    const existing = localPorts.get(key) ?? await pendingLocal.get(key) ?? null;
    if (existing !== null) return existing._valid ? CFRetain(existing) : null;
    if (localPorts.has(key)) return CFMessagePortCreateLocal(_alloc, name, callout, context, shouldFreeInfo);
  }
  const ms = new CFMessagePort(false, key);
  ms._callout = callout;
  if (key !== null) {
    const pending = registerLocal(ms, key);
    pendingLocal.set(key, pending);
    try {
      if ((await pending) === null) return null;
    } finally {
      pendingLocal.delete(key);
    }
  }
  if (context !== null) {
    ms._ctx = { version: 0, info: context.retain ? context.retain(context.info) : context.info, retain: context.retain ?? null,
      release: context.release ?? null, copyDescription: context.copyDescription ?? null };
  }
  if (key !== null) localPorts.set(key, ms);
  if (shouldFreeInfo !== null) shouldFreeInfo.value = false;
  return ms;
}

async function registerLocal(ms: CFMessagePort, key: string): Promise<CFMessagePort | null> {
  const r = await registerName(new TextEncoder().encode(key), {
    onFrame: (conn, f) => localReceive(ms, conn, f),
    // A client went away. CF's server never learns; with the extension on, it is invalidated.
    // 'local' closes are our own (invalidation, SetName dropping the old name, a corrupt stream).
    onClose: (conn, why) => {
      if (ms._clients.delete(conn) && why !== 'local' && ms._invalidatesWhenClientLeaves) CFMessagePortInvalidate(ms);
    },
  });
  if (r.kind !== 'ok') return null;
  ms._listener = r.listener;
  return ms;
}

/**
 * CFMessagePortCreateRemote(alloc, name): resolves to a remote port connected to the local port
 * registered under `name`, or null when there is none (no waiting, no retry). A remote for the
 * same name already held by this process is returned retained (null if it became invalid).
 */
export async function CFMessagePortCreateRemote(_alloc: CFAllocatorRef, name: string | null): Promise<CFMessagePort | null> {
  if (name === null) return null;
  const s = sanitizeName(name);
  if (s === null) return null;
  const key = s.name;
  const existing = remotePorts.get(key) ?? await pendingRemote.get(key) ?? null;
  if (existing !== null) return existing._valid ? CFRetain(existing) : null;
  const ms = new CFMessagePort(true, key);
  const pending = (async (): Promise<CFMessagePort | null> => {
    const conn = await connectName(s.bytes, {
      onFrame: (_c, f) => remoteReceive(ms, f),
      onClose: () => { if (ms._conn !== null) CFMessagePortInvalidate(ms); },
    });
    if (conn === null) return null;
    conn.sendNow(FLAG_HELLO, 0, 1, null);
    ms._conn = conn;
    return ms;
  })();
  pendingRemote.set(key, pending);
  try {
    if ((await pending) === null) return null;
  } finally {
    pendingRemote.delete(key);
  }
  if (ms._conn!.isClosed) { CFMessagePortInvalidate(ms); return null; }
  remotePorts.set(key, ms);
  return ms;
}

// ---- examining and configuring ----

export function CFMessagePortIsRemote(ms: CFMessagePort): boolean { return ms._remote; }

/** CFMessagePortIsValid. (Death of the other end invalidates a remote as soon as it is seen.) */
export function CFMessagePortIsValid(ms: CFMessagePort): boolean { return ms._valid; }

/** CFMessagePortGetName (Get Rule): the sanitized name, or null. */
export function CFMessagePortGetName(ms: CFMessagePort): string | null { return ms._name; }

/**
 * CFMessagePortSetName(ms, name): resolves false for remote ports, a dispatch queue attached,
 * unusable names, a name used by another local port of this process, or a failed registration;
 * true for the current name (no-op) or after re-registering under the new name (the old name is
 * released: remotes connected through it see the port die, as when CF releases the old port).
 */
export async function CFMessagePortSetName(ms: CFMessagePort, name: string | null): Promise<boolean> {
  if (ms._remote || !ms._valid || ms._dispatchQueue !== null || name === null) return false;
  const s = sanitizeName(name);
  if (s === null) return false;
  if (s.name === ms._name) return true;
  if (localPorts.has(s.name) || pendingLocal.has(s.name)) return false;
  const oldListener = ms._listener;
  const pending = registerLocal(ms, s.name);
  pendingLocal.set(s.name, pending);
  let ok: boolean;
  try { ok = (await pending) !== null; } finally { pendingLocal.delete(s.name); }
  if (!ok) { ms._listener = oldListener; return false; }
  if (!ms._valid) { ms._listener?.close(); ms._listener = null; return false; }
  oldListener?.close();
  if (ms._name !== null && localPorts.get(ms._name) === ms) localPorts.delete(ms._name);
  ms._name = s.name;
  localPorts.set(s.name, ms);
  return true;
}

/** CFMessagePortGetContext(ms, &context): copies the context out (zeros for a remote port). */
export function CFMessagePortGetContext(ms: CFMessagePort, context: CFMessagePortContext): void {
  context.version = 0;
  context.info = ms._ctx.info;
  context.retain = ms._ctx.retain ?? null;
  context.release = ms._ctx.release ?? null;
  context.copyDescription = ms._ctx.copyDescription ?? null;
}

export function CFMessagePortGetInvalidationCallBack(ms: CFMessagePort): CFMessagePortInvalidationCallBack | null {
  return ms._icallout;
}

/**
 * tunstack extension (no CF counterpart): when `flag` is true, the local port `ms` is invalidated,
 * running its invalidation callback, as soon as one of its clients goes away: a remote port of it,
 * in this or another process, is invalidated or released, or the process holding one dies. This is
 * the "both ends learn" behaviour for one-server-one-client designs; CF's own server never learns
 * of its clients (the default, false). Returns false (and does nothing) for remote or invalid ports.
 */
export function tunstack_CFMessagePortSetInvalidatesWhenClientLeaves(ms: CFMessagePort, flag: boolean): boolean {
  if (ms._remote || !ms._valid) return false;
  ms._invalidatesWhenClientLeaves = flag;
  return true;
}

/** On an already-invalid port the callback is called at once instead of being stored (CF). */
export function CFMessagePortSetInvalidationCallBack(ms: CFMessagePort, callout: CFMessagePortInvalidationCallBack | null): void {
  if (!ms._valid) {
    if (callout !== null) callout(ms, ms._remote ? null : ms._ctx.info);
    return;
  }
  ms._icallout = callout;
}

/**
 * CFMessagePortInvalidate: idempotent. Marks invalid, leaves the name tables, calls the
 * invalidation callback (info: the context info for a local port, null for a remote), releases a
 * local port's info, invalidates its run-loop source, and closes the transport: a local port stops
 * listening and drops its connections (every remote of it, in any process, is invalidated); a
 * remote closes its connection (the local port never learns, as in CF) and fails its waiting
 * SendRequests with kCFMessagePortBecameInvalidError.
 */
export function CFMessagePortInvalidate(ms: CFMessagePort): void {
  if (!ms._valid) return;
  CFRetain(ms);
  try {
    ms._valid = false;
    ms._dispatchQueue = null;
    const info = ms._remote ? null : ms._ctx.info;
    if (!ms._remote) ms._ctx = { ...ms._ctx, info: null };
    const table = ms._remote ? remotePorts : localPorts;
    if (ms._name !== null && table.get(ms._name) === ms) table.delete(ms._name);
    const icb = ms._icallout;
    if (icb !== null) icb(ms, info);
    if (!ms._remote && ms._ctx.release) ms._ctx.release(info);
    if (ms._source !== null) { CFRunLoopSourceInvalidate(ms._source); CFRelease(ms._source); ms._source = null; }
    // Waiting SendRequests must see the death now, not at their deadline: wake their loops.
    for (const rl of ms._replyUses.keys()) CFRunLoopWakeUp(rl);
    if (ms._replySource !== null) { CFRunLoopSourceInvalidate(ms._replySource); CFRelease(ms._replySource); ms._replySource = null; }
    ms._listener?.close();
    ms._listener = null;
    ms._clients.clear();
    for (const m of ms._queue.splice(0)) m.conn.release(m.size);
    const conn = ms._conn;
    ms._conn = null;
    conn?.close();
    for (const slot of ms._awaiting.values()) settle(slot, 'invalid', null);
    ms._awaiting.clear();
  } finally {
    CFRelease(ms);
  }
}

/**
 * CFMessagePortCreateRunLoopSource(alloc, ms, order): the port's single version-1 source (one
 * request per run-loop iteration), retained for the caller. NULL for invalid or remote ports or
 * with a dispatch queue attached. Requests that arrived before it existed are delivered once it is
 * scheduled.
 */
export function CFMessagePortCreateRunLoopSource(_alloc: CFAllocatorRef, ms: CFMessagePort, order: CFIndex): CFRunLoopSource | null {
  if (!ms._valid || ms._remote || ms._dispatchQueue !== null) return null;
  if (ms._source === null || !ms._source._valid) {
    if (ms._source !== null) CFRelease(ms._source);
    if (ms._name === null) console.error(`CFMessagePortCreateRunLoopSource: ${ms._cfDescription()} is not named yet; no messages are received until it is`);
    const src = CFRunLoopSourceCreate(null, order, { version: 1, info: ms, perform: () => localPerformOne(ms) });
    ms._source = src;
    for (let i = 0; i < ms._queue.length; i++) CFRunLoopSourceSignalPort(src);
  }
  return CFRetain(ms._source);
}

/**
 * CFMessagePortSetDispatchQueue(ms, q): requests are then handled serially on `q` (the callout
 * and the reply run as work items of q on Node's event loop; see message-port-dispatch.ts), with no
 * run loop involved. Ignored (with a log) for invalid or remote ports or when a run-loop source
 * exists. NULL detaches (later requests wait for a queue or a source).
 */
export function CFMessagePortSetDispatchQueue(ms: CFMessagePort, q: dispatch_queue_t | null): void {
  if (!ms._valid || ms._remote || (ms._source !== null && ms._source._valid)) {
    console.error(`CFMessagePortSetDispatchQueue: ${ms._cfDescription()} is invalid, remote, or has a run loop source`);
    return;
  }
  ms._dispatchQueue = q;
  if (q !== null) for (let i = 0; i < ms._queue.length; i++) q._async(() => localPerformOne(ms));
}

// ---- receiving (local) ----

function localReceive(ms: CFMessagePort, conn: IpcConnection, f: Frame): void {
  if ((f.flags & FLAG_HELLO) !== 0) {
    if (f.payload !== null || f.msgid !== 0) { conn.close(); return; }
    ms._clients.add(conn);
    return;
  }
  // Requests carry +c; anything else is a corrupt stream (CF drops it; a stream cannot resync).
  if (f.conv <= 0) { conn.close(); return; }
  if (!ms._valid) return;
  const size = f.payload === null ? 0 : f.payload.length;
  ms._queue.push({ conn, frame: f, size });
  conn.hold(size);
  if (ms._dispatchQueue !== null) ms._dispatchQueue._async(() => localPerformOne(ms));
  else if (ms._source !== null) CFRunLoopSourceSignalPort(ms._source);
}

/** Delivers one queued request: callout, then the reply (unless one-way or the requester left). */
async function localPerformOne(ms: CFMessagePort): Promise<void> {
  if (!ms._valid) return;
  const m = ms._queue.shift();
  if (m === undefined) return;
  m.conn.release(m.size);
  const { frame } = m;
  const data = CFDataCreateWithBytesNoCopy(null, frame.payload ?? new Uint8Array(0));
  // CF brackets the callout with retain/release only when there is a retain callback.
  const ctx = ms._ctx;
  const release = ctx.retain ? ctx.release ?? null : null;
  const info = ctx.retain ? ctx.retain(ctx.info) : ctx.info;
  let reply: CFData | null = null;
  try {
    const r = ms._callout!(ms, frame.msgid, data, info);
    reply = r instanceof Promise ? await r : r;
  } catch (e) {
    console.error(`CFMessagePort ${ms._name ?? ''}: callout threw; replying with empty data`, e);
  } finally {
    if (release !== null) release(info);
    CFRelease(data);
  }
  let bytes: Uint8Array | null = reply === null ? null : reply.bytes;
  if (bytes !== null && bytes.length > MAX_MESSAGE_BYTES) {
    console.error(`CFMessagePort ${ms._name ?? ''}: reply of ${bytes.length} bytes exceeds the maximum; sending empty data`);
    bytes = new Uint8Array(0);
  }
  // CF always builds the reply; with no reply port (one-way) it goes nowhere.
  if ((frame.flags & FLAG_REPLY_WANTED) !== 0 && !m.conn.isClosed) {
    // CF sends replies with a zero timeout and drops them when the requester's queue is full.
    if (m.conn.backlog <= MAX_MESSAGE_BYTES) m.conn.sendNow(0, frame.msgid, -frame.conv, bytes);
    else console.error(`CFMessagePort ${ms._name ?? ''}: requester is not reading; reply dropped`);
  }
  if (reply !== null) CFRelease(reply);
}

// ---- sending (remote) ----

function remoteReceive(ms: CFMessagePort, f: Frame): void {
  if (f.conv >= 0) { CFMessagePortInvalidate(ms); return; }   // not a reply: corrupt stream
  const slot = ms._awaiting.get(-f.conv);
  if (slot === undefined) return;   // nobody waits (timed out): discarded, as in CF
  ms._awaiting.delete(-f.conv);
  settle(slot, 'replied', CFDataCreate(null, f.payload ?? new Uint8Array(0)));
  if (ms._replySource !== null) CFRunLoopSourceSignalPort(ms._replySource);
}

function settle(slot: ReplySlot, state: 'replied' | 'invalid', data: CFData | null): void {
  if (slot.state !== 'pending') return;
  slot.state = state;
  slot.data = data;
  const w = slot.wake;
  slot.wake = null;
  w?.();
}

/**
 * CFMessagePortSendRequest(remote, msgid, data, sendTimeout, rcvTimeout, replyMode, returnData).
 * Resolves to the status. replyMode null: one-way, kCFMessagePortSuccess once queued. Otherwise
 * waits for the reply by running the current run loop in replyMode (every source of that mode can
 * fire meanwhile; use a private mode to avoid re-entrancy) until the reply arrives, rcvTimeout
 * passes (kCFMessagePortReceiveTimeout) or the port dies (kCFMessagePortBecameInvalidError); the
 * reply goes to returnData.value (caller owns it; a NULL reply arrives as empty data). Send side:
 * kCFMessagePortSendTimeout when the connection stays full (the peer is not reading) for
 * sendTimeout, kCFMessagePortTransportError for data over the maximum or a failed write,
 * kCFMessagePortIsInvalid for an invalid port or a local one.
 */
export async function CFMessagePortSendRequest(
  remote: CFMessagePort, msgid: number, data: CFData | null, sendTimeout: CFTimeInterval, rcvTimeout: CFTimeInterval,
  replyMode: CFRunLoopMode | null, returnData: CFMessagePortBox<CFData | null> | null,
): Promise<number> {
  if (data !== null && CFDataGetLength(data) > MAX_MESSAGE_BYTES) {
    console.error(`CFMessagePortSendRequest: ${CFDataGetLength(data)} bytes exceed the maximum of ${MAX_MESSAGE_BYTES}`);
    return kCFMessagePortTransportError;
  }
  if (!remote._valid || !remote._remote || remote._conn === null) return kCFMessagePortIsInvalid;
  const conn = remote._conn;
  remote._conv = remote._conv >= 0x7fffffff ? 1 : remote._conv + 1;
  const conv = remote._conv;
  const oneWay = replyMode === null;
  let slot: ReplySlot | null = null;
  const rl = CFRunLoopGetCurrent();
  if (!oneWay) {
    slot = { state: 'pending', data: null, wake: null };
    remote._awaiting.set(conv, slot);
    useReplySource(remote, rl, replyMode);
  }
  try {
    const ms = !(sendTimeout < SEND_FOREVER) && !Number.isNaN(sendTimeout) ? Infinity
      : sendTimeout * 1000 < 1 || Number.isNaN(sendTimeout) ? 0 : sendTimeout * 1000;
    const sent = await conn.send(oneWay ? 0 : FLAG_REPLY_WANTED, msgid, conv, data === null ? null : data.bytes, ms);
    if (sent !== 'ok') {
      remote._awaiting.delete(conv);
      return sent === 'timeout' ? kCFMessagePortSendTimeout : kCFMessagePortTransportError;
    }
    if (oneWay || slot === null) return kCFMessagePortSuccess;
    await waitForReply(remote, slot, rl, replyMode, rcvTimeout);
    remote._awaiting.delete(conv);
    if (slot.state === 'replied') {
      if (returnData !== null) returnData.value = slot.data;
      else if (slot.data !== null) CFRelease(slot.data);
      return kCFMessagePortSuccess;
    }
    return remote._valid ? kCFMessagePortReceiveTimeout : kCFMessagePortBecameInvalidError;
  } finally {
    if (!oneWay) unuseReplySource(remote, rl, replyMode);
  }
}

async function waitForReply(remote: CFMessagePort, slot: ReplySlot, rl: CFRunLoop, mode: CFRunLoopMode, rcvTimeout: number): Promise<void> {
  const clock = rl._clock;
  const deadline = clock.now() + (Number.isNaN(rcvTimeout) ? 0 : rcvTimeout);
  for (let first = true; slot.state === 'pending' && remote._valid; first = false) {
    const remaining = deadline - clock.now();
    if (remaining <= 0 && !first) break;
    // A run of this loop already in progress that we are not nested in (another request waiting
    // concurrently, or an unrelated run): C would be on another thread; wait beside it instead.
    const concurrent = CFRunLoopCopyCurrentMode(rl) !== null && rl._calloutDepth === 0;
    const r = concurrent ? kCFRunLoopRunFinished : await CFRunLoopRunInMode(mode, Math.max(0, remaining), true, rl);
    if (r === kCFRunLoopRunFinished && slot.state === 'pending' && remote._valid && remaining > 0) {
      await new Promise<void>((resolve) => {
        const cancel = clock.schedule(deadline, () => { slot.wake = null; resolve(); });
        slot.wake = () => { cancel(); resolve(); };
      });
    }
  }
}

function useReplySource(remote: CFMessagePort, rl: CFRunLoop, mode: string): void {
  if (remote._replySource === null) {
    remote._replySource = CFRunLoopSourceCreate(null, REPLY_SOURCE_ORDER, { version: 1, info: remote, perform: null });
  }
  let modes = remote._replyUses.get(rl);
  if (modes === undefined) remote._replyUses.set(rl, modes = new Map());
  const n = modes.get(mode) ?? 0;
  modes.set(mode, n + 1);
  if (n === 0) CFRunLoopAddSource(rl, remote._replySource, mode);
}

function unuseReplySource(remote: CFMessagePort, rl: CFRunLoop, mode: string): void {
  const modes = remote._replyUses.get(rl);
  const n = modes?.get(mode) ?? 0;
  if (modes === undefined || n === 0) return;
  if (n > 1) { modes.set(mode, n - 1); return; }
  modes.delete(mode);
  if (modes.size === 0) remote._replyUses.delete(rl);
  if (remote._replySource !== null) CFRunLoopRemoveSource(rl, remote._replySource, mode);
}
