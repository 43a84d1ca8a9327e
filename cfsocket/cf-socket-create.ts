// CFSocket creation (CFSocket.h; swift-corelibs CFSocket.c CFSocketCreate*) over the KPI: wrapping
// a native handle, making a new KPI socket on the allocator's kernel, and the signature variants.
//
// Each CFSocket gets CF's upcalls (cf-socket-manager.ts) and an entry in the native-handle table.

import { IPPROTO_TCP, IPPROTO_UDP, PF_INET, SOCK_DGRAM, SOCK_STREAM, sock_gettype, sock_setupcalls } from '../kpi/index.js';
import type { Box, socket_t } from '../kpi/index.js';
import { CFRelease, CFRetain, _CFAllocatorKernel } from './cf-base.js';
import type { CFAllocatorRef, CFOptionFlags, CFTimeInterval } from './cf-base.js';
import { CFSocketConnectToAddress, CFSocketSetAddress } from './cf-socket-io.js';
import { _CFSocketUpcall } from './cf-socket-manager.js';
import {
  CFSocket, CFSocketInvalidate, _CFSocketsByNative, kCFSocketAcceptCallBack, kCFSocketCloseOnInvalidate, kCFSocketSuccess,
} from './cf-socket-object.js';
import type { CFSocketCallBack, CFSocketContext, CFSocketSignature } from './cf-socket-object.js';
import { CFSocketNativeHandleClose, CFSocketNativeHandleCreate, CFSocketNativeHandleGetSocket } from './native.js';
import type { CFSocketNativeHandle } from './native.js';

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
  const existing = _CFSocketsByNative.get(sock);
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
  sock_setupcalls(so, _CFSocketUpcall, s, _CFSocketUpcall, s);
  _CFSocketsByNative.set(sock, s);
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
