// CFSocket (CFSocket.h; the select()-based manager of swift-corelibs CFSocket.c) over the KPI: the
// public module, re-exporting the parts that live in cf-socket-*.ts, plus the name registry stubs.
//   cf-socket-object.ts   constants, callback types, the object, invalidation, accessors
//   cf-socket-manager.ts  readiness, the manager (background I/O), the run loop source, enabling
//   cf-socket-io.ts       addresses, connect, send
//   cf-socket-create.ts   CFSocketCreate*

import type { Box } from '../kpi/index.js';
import type { CFTimeInterval } from './cf-base.js';
import type { CFData } from './cf-data.js';
import { kCFSocketError } from './cf-socket-object.js';
import type { CFSocketError, CFSocketSignature } from './cf-socket-object.js';

export {
  CFSocket, CFSocketGetContext, CFSocketGetNative, CFSocketGetSocketFlags, CFSocketGetTypeID, CFSocketInvalidate,
  CFSocketIsValid, CFSocketSetSocketFlags,
  kCFSocketAcceptCallBack, kCFSocketAutomaticallyReenableAcceptCallBack, kCFSocketAutomaticallyReenableDataCallBack,
  kCFSocketAutomaticallyReenableReadCallBack, kCFSocketAutomaticallyReenableWriteCallBack, kCFSocketCloseOnInvalidate,
  kCFSocketConnectCallBack, kCFSocketDataCallBack, kCFSocketError, kCFSocketLeaveErrors, kCFSocketNoCallBack,
  kCFSocketReadCallBack, kCFSocketSuccess, kCFSocketTimeout, kCFSocketWriteCallBack,
} from './cf-socket-object.js';
export type {
  CFSocketCallBack, CFSocketCallBackType, CFSocketContext, CFSocketError, CFSocketRef, CFSocketSignature,
} from './cf-socket-object.js';
export {
  CFSocketCreateRunLoopSource, CFSocketDisableCallBacks, CFSocketEnableCallBacks, sockReadable, sockWritable,
} from './cf-socket-manager.js';
export {
  CFSocketConnectToAddress, CFSocketCopyAddress, CFSocketCopyPeerAddress, CFSocketSendData, CFSocketSetAddress,
} from './cf-socket-io.js';
export {
  CFSocketCreate, CFSocketCreateConnectedToSocketSignature, CFSocketCreateWithNative, CFSocketCreateWithSocketSignature,
} from './cf-socket-create.js';

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