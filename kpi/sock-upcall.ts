// Upcall registration (kpi_socket.c sock_setupcall/sock_setupcalls/sock_catchevents; §3.12, §4).
// The calls themselves are made by KpiSocket.onSocketEvent (sock-core.ts) from the socket layer's
// deferred wakeup delivery: after the entry point that caused them, never re-entrantly, with
// waitf = MBUF_DONTWAIT (1). An upcall may call any sock_* function.

import type { errno_t, sock_evupcall, sock_upcall, socket_t } from './sock-core.js';
import { isLive } from './sock-core.js';
import { EINVAL } from '../stack/index.js';

/**
 * sock_setupcall(so, callback, context): replaces the socket's upcall (read and write on arm64 and
 * in the documented behaviour, read only with behaviour 'xnu-x86_64'); a null callback removes
 * them. Does not wait for an upcall in progress.
 */
export function sock_setupcall(so: socket_t | null, callback: sock_upcall | null, context: unknown): errno_t {
  if (!isLive(so)) return EINVAL;
  so.setSimpleUpcall(callback ?? null, context);
  return 0;
}

/**
 * sock_setupcalls(so, rcallback, rcontext, wcallback, wcontext) (private KPI): separate read and
 * write upcalls; a null callback removes that direction's.
 */
export function sock_setupcalls(
  so: socket_t | null, rcallback: sock_upcall | null, rcontext: unknown, wcallback: sock_upcall | null, wcontext: unknown,
): errno_t {
  if (!isLive(so)) return EINVAL;
  so.rcb = rcallback ?? null;
  so.rcookie = so.rcb === null ? null : rcontext;
  so.wcb = wcallback ?? null;
  so.wcookie = so.wcb === null ? null : wcontext;
  return 0;
}

/**
 * sock_catchevents(so, ecallback, econtext, emask) (private KPI): `ecallback(so, econtext, event)`
 * with the SO_FILT_HINT_* bits of `emask` that occurred (CONNECTED, DISCONNECTED, CANTRCVMORE,
 * CANTSENDMORE, CONNINFO_UPDATED...), coalesced per delivery. A null callback removes it.
 */
export function sock_catchevents(so: socket_t | null, ecallback: sock_evupcall | null, econtext: unknown, emask: number): errno_t {
  if (!isLive(so)) return EINVAL;
  so.ecb = ecallback ?? null;
  so.ecookie = so.ecb === null ? null : econtext;
  so.emask = so.ecb === null ? 0 : emask >>> 0;
  return 0;
}
