// CFSocket addresses, connect and send (CFSocket.h; swift-corelibs CFSocket.c CFSocketSetAddress,
// CFSocketConnectToAddress, CFSocketSendData, CFSocketCopyAddress) over the KPI.
//
// Node cannot block: a connect or send that has to wait returns a Promise of its CFSocketError.

import {
  EINPROGRESS, MSG_DONTWAIT, SO_SNDTIMEO,
  newMsghdr, setsockoptTimeval, sock_bind, sock_connect, sock_connectwait, sock_getaddr, sock_listen, sock_send,
} from '../kpi/index.js';
import type { Box, socket_t } from '../kpi/index.js';
import { CFRetain } from './cf-base.js';
import type { CFTimeInterval } from './cf-base.js';
import { CFDataCreate } from './cf-data.js';
import type { CFData } from './cf-data.js';
import { _CFSocketPeerAddressCached } from './cf-socket-manager.js';
import { kCFSocketError, kCFSocketSuccess, kCFSocketTimeout } from './cf-socket-object.js';
import type { CFSocket, CFSocketError } from './cf-socket-object.js';

/** CFSocketSetAddress's listen backlog. */
const LISTEN_BACKLOG = 256;
/** sock_connectwait refuses more than SHRT_MAX / hz seconds; longer waits are done in steps. */
const CONNECTWAIT_STEP_S = 300;

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
  const a = _CFSocketPeerAddressCached(s);
  return a === null ? null : CFRetain(a);
}
