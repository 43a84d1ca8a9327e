// What the socket layer tells the layers above it (kpi/, cfsocket/, a node:net adapter): an event
// mask per socket, delivered through a SocketListener after the entry point that caused it,
// never re-entrantly, several wakeups of one socket coalesced into one call.
//
// sorwakeup/sowwakeup (socket.ts) → Socket.post → SocketLayer wake queue → (end of the entry
// point) SocketLayer.runDeferred → listener.onSocketEvent(so, events, hints).

import type { Socket } from './socket.js';

/**
 * Event bits. `In`/`Out` say a read/write wakeup happened (sorwakeup/sowwakeup: data appended,
 * space freed, connected, shut down...); they are not readiness: upcalls in XNU ignore low-water
 * marks, and so do these. The other bits describe the state at delivery time. Values are poll(2)'s.
 */
export const Ev = {
  /** A read wakeup: data or a connection arrived, the read side was shut, an error was posted. */
  In: 0x1,
  /** A write wakeup: space freed, connected, the write side was shut, an error was posted. */
  Out: 0x4,
  /** so_error is set (not consumed by delivery). */
  Err: 0x8,
  /** Both directions are shut (CANTRCVMORE and CANTSENDMORE). */
  HUp: 0x10,
  /** The read side is shut (CANTRCVMORE): end of file. */
  RdHUp: 0x2000,
} as const;

/** Which of the socket's two upcalls a listener stands for (SB_UPCALL on so_rcv / so_snd). */
export const UPCALL_READ = 0x1;
export const UPCALL_WRITE = 0x2;
export const UPCALL_BOTH = UPCALL_READ | UPCALL_WRITE;

export interface SocketListener {
  /**
   * Called after the entry point in which something happened to `so` (never from inside a socket
   * or protocol function). `events` is a mask of Ev bits; `hints` the SO_FILT_HINT_* bits
   * (connected, disconnected, cantrcvmore...) accumulated since the previous call, for
   * sock_catchevents. The listener may call any so* function on any socket.
   */
  onSocketEvent(so: Socket, events: number, hints: number): void;
}
