// The socket (struct socket, bsd/sys/socketvar.h) and the state changes protocols make on it
// (bsd/kern/uipc_socket2.c): soisconnecting/soisconnected/soisdisconnecting/soisdisconnected,
// socantsendmore/socantrcvmore, sorwakeup/sowwakeup, soreserve, sofree, readiness predicates.
// The operations an API calls (sobind, sosend, soreceive, ...) live in so-*.ts beside this file.
//
// Wakeups never call out: sorwakeup/sowwakeup record Ev bits on the socket and queue it on its
// SocketLayer, which delivers them to the socket's listener at the end of the entry point.

import type { StackContext } from '../context.js';
import type { Protosw } from './protosw.js';
import { PR_CONNREQUIRED } from './protosw.js';
import { SockBuf } from './sockbuf.js';
import { SocketCounters } from './socket-stats.js';
import type { SocketListener } from './socket-events.js';
import { Ev, UPCALL_BOTH, UPCALL_READ, UPCALL_WRITE } from './socket-events.js';
import type { SocketLayer } from './socket-layer.js';
import {
  SB_RECV, SB_UPCALL, SOF_NOTSENT_LOWAT, SO_FILT_HINT_CANTRCVMORE, SO_FILT_HINT_CANTSENDMORE,
  SO_FILT_HINT_CONNECTED, SO_FILT_HINT_CONNINFO_UPDATED, SO_FILT_HINT_DISCONNECTED,
  SS_CANTRCVMORE, SS_CANTSENDMORE, SS_COMP, SS_INCOMP, SS_ISCONFIRMING, SS_ISCONNECTED,
  SS_ISCONNECTING, SS_ISDISCONNECTED, SS_ISDISCONNECTING, SS_NOFDREF,
} from './constants.js';
import { MCLBYTES } from '../mbuf/constants.js';
import { ENOBUFS } from './errno.js';

export class Socket {
  /** so_type: SOCK_STREAM, SOCK_DGRAM... */
  readonly so_type: number;
  /** The domain (AF_INET / AF_INET6), from the protocol entry. */
  readonly so_domain: number;
  /** SS_* state bits. */
  so_state = 0;
  /** SO_* option bits (SO_REUSEADDR, SO_BROADCAST, SO_LINGER...); getsockopt returns them raw. */
  so_options = 0;
  /** SOF_* flags (SOF_NOSIGPIPE, SOF_UPCALLCLOSEWAIT, SOF_BINDRANDOMPORT...). */
  so_flags = 0;
  /** The pending asynchronous error: reported once, then cleared (§6.2). */
  so_error = 0;
  /** Linger time in clock ticks (1/100 s), a C short as in XNU. */
  so_linger = 0;
  /** Process group for SIGIO (SIOCSPGRP); stored only. */
  so_pgid = 0;
  /** Bytes before the urgent mark (TCP). */
  so_oobmark = 0;
  readonly so_rcv = new SockBuf(SB_RECV);
  readonly so_snd = new SockBuf();
  /** The protocol's control block (an InPcb for UDP); null once detached. */
  so_pcb: unknown = null;

  // Listen queues (a listener's children; bsd/kern/uipc_socket2.c sonewconn).
  /** The listener this child is queued on, until accepted. */
  so_head: Socket | null = null;
  /** Children still connecting (SS_INCOMP). */
  readonly so_incomp: Socket[] = [];
  /** Children connected and not yet accepted (SS_COMP), oldest first. */
  readonly so_comp: Socket[] = [];
  /** Incomplete children (= so_incomp.length). */
  so_incqlen = 0;
  /** Incomplete plus complete children. */
  so_qlen = 0;
  /** Backlog: sonewconn refuses when so_qlen >= so_qlimit. */
  so_qlimit = 0;

  /** Listener calls in progress on this socket (SO_UPCALLCLOSEWAIT bookkeeping). */
  so_upcallusecount = 0;
  readonly counters = new SocketCounters();

  /** @internal Ev bits and hints waiting for deferred delivery. */
  pendingEvents = 0;
  pendingHints = 0;
  /** @internal On the layer's wake queue. */
  onWakeQueue = false;
  private listener: SocketListener | null = null;

  constructor(
    /** The layer that created the socket: wake queue, stats, sb_max, context. */
    readonly layer: SocketLayer,
    /** so_proto */
    readonly so_proto: Protosw,
    /** A number unique within the layer, for tables and logs. */
    readonly id: number,
  ) {
    this.so_type = so_proto.pr_type;
    this.so_domain = so_proto.pr_domain;
  }

  get ctx(): StackContext { return this.layer.ctx; }

  get listenerOrNull(): SocketListener | null { return this.listener; }

  /**
   * Installs (or with null removes) the object told about this socket's events. `which` says
   * which upcalls it stands for: UPCALL_READ sets SB_UPCALL on so_rcv (read wakeups delivered),
   * UPCALL_WRITE on so_snd (write wakeups). XNU's x86_64 sock_setupcall is read-only, arm64 both.
   * Replacing a listener does not wait for a call in progress (sock_setupcall semantics).
   */
  setListener(l: SocketListener | null, which: number = UPCALL_BOTH): void {
    this.listener = l;
    if (l === null) {
      this.so_rcv.sb_flags &= ~SB_UPCALL;
      this.so_snd.sb_flags &= ~SB_UPCALL;
      this.pendingEvents = 0;
      this.pendingHints = 0;
      return;
    }
    if ((which & UPCALL_READ) !== 0) this.so_rcv.sb_flags |= SB_UPCALL;
    else this.so_rcv.sb_flags &= ~SB_UPCALL;
    if ((which & UPCALL_WRITE) !== 0) this.so_snd.sb_flags |= SB_UPCALL;
    else this.so_snd.sb_flags &= ~SB_UPCALL;
  }

  /** @internal Records events/hints and queues the socket for delivery. */
  post(events: number, hints: number): void {
    if (this.listener === null) return;
    if ((this.pendingEvents | this.pendingHints) !== 0) this.layer.stats.upcallsCoalesced++;
    this.pendingEvents |= events;
    this.pendingHints |= hints;
    if (!this.onWakeQueue) this.layer.enqueueWakeup(this);
  }

  /**
   * Asks for the listener to be called again with `events` at the end of the current entry point
   * (or at the stack's next poll): for a listener that stopped after a bounded amount of work and
   * has more to do. Deterministic in simulation, unlike a real-time continuation.
   */
  requestRecheck(events: number): void { this.post(events, 0); }

  toString(): string { return `so#${this.id}`; }
}

// ---- wakeups (bsd/kern/uipc_socket2.c sorwakeup/sowwakeup/soevent) ----

/** A read wakeup: delivered as Ev.In when the read upcall is installed (SB_UPCALL on so_rcv). */
export function sorwakeup(so: Socket): void {
  so.layer.stats.wakeups++;
  if ((so.so_rcv.sb_flags & SB_UPCALL) !== 0) so.post(Ev.In, 0);
}

/** A write wakeup: delivered as Ev.Out when the write upcall is installed (SB_UPCALL on so_snd). */
export function sowwakeup(so: Socket): void {
  so.layer.stats.wakeups++;
  if ((so.so_snd.sb_flags & SB_UPCALL) !== 0) so.post(Ev.Out, 0);
}

/** soevent: records SO_FILT_HINT_* bits for the listener (sock_catchevents). */
export function soevent(so: Socket, hints: number): void {
  so.post(0, hints);
}

// ---- connection state (bsd/kern/uipc_socket2.c) ----

export function soisconnecting(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.so_state |= SS_ISCONNECTING;
}

/**
 * The connection is established. A child on its listener's incomplete queue moves to the
 * completed queue and wakes the LISTENER (read side only; the child has no upcall yet);
 * otherwise both directions of the socket itself wake (active open, UDP connect).
 */
export function soisconnected(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISCONFIRMING);
  so.so_state |= SS_ISCONNECTED;
  const head = so.so_head;
  if (head !== null && (so.so_state & SS_INCOMP) !== 0) {
    const i = head.so_incomp.indexOf(so);
    if (i >= 0) head.so_incomp.splice(i, 1);
    head.so_incqlen--;
    so.so_state &= ~SS_INCOMP;
    head.so_comp.push(so);
    so.so_state |= SS_COMP;
    sorwakeup(head);
    return;
  }
  sorwakeup(so);
  sowwakeup(so);
  soevent(so, SO_FILT_HINT_CONNECTED | SO_FILT_HINT_CONNINFO_UPDATED);
}

export function soisdisconnecting(so: Socket): void {
  so.so_state &= ~SS_ISCONNECTING;
  so.so_state |= SS_ISDISCONNECTING | SS_CANTRCVMORE | SS_CANTSENDMORE;
  sowwakeup(so);
  sorwakeup(so);
}

export function soisdisconnected(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.so_state |= SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED;
  soevent(so, SO_FILT_HINT_DISCONNECTED | SO_FILT_HINT_CONNINFO_UPDATED);
  sowwakeup(so);
  sorwakeup(so);
}

/** The write side is shut (shutdown(SHUT_WR), protocol close): CANTSENDMORE and a write wakeup. */
export function socantsendmore(so: Socket): void {
  so.so_state |= SS_CANTSENDMORE;
  soevent(so, SO_FILT_HINT_CANTSENDMORE);
  sowwakeup(so);
}

/** The read side is shut (FIN received, shutdown(SHUT_RD)): CANTRCVMORE and a read wakeup. */
export function socantrcvmore(so: Socket): void {
  so.so_state |= SS_CANTRCVMORE;
  soevent(so, SO_FILT_HINT_CANTRCVMORE);
  sorwakeup(so);
}

/** Posts an asynchronous error (ICMP, RST...) and wakes both sides, as udp_notify does. */
export function soseterror(so: Socket, error: number): void {
  so.so_error = error;
  sorwakeup(so);
  sowwakeup(so);
}

// ---- buffers ----

/**
 * soreserve: sizes both buffers (ENOBUFS above sb_max) and sets the default low-water marks:
 * receive 1, send MCLBYTES (2048) clamped to the send hiwat.
 */
export function soreserve(so: Socket, sndcc: number, rcvcc: number): number {
  const sbMax = so.layer.sbMax;
  if (!so.so_snd.sbreserve(sndcc, sbMax)) return ENOBUFS;
  so.so_snd.sb_idealsize = sndcc;
  if (!so.so_rcv.sbreserve(rcvcc, sbMax)) {
    so.so_snd.sbrelease();
    return ENOBUFS;
  }
  so.so_rcv.sb_idealsize = rcvcc;
  if (so.so_rcv.sb_lowat === 0) so.so_rcv.sb_lowat = 1;
  if (so.so_snd.sb_lowat === 0) so.so_snd.sb_lowat = MCLBYTES;
  if (so.so_snd.sb_lowat > so.so_snd.sb_hiwat) so.so_snd.sb_lowat = so.so_snd.sb_hiwat;
  return 0;
}

// ---- readiness (select/kqueue predicates, bsd/sys/socketvar.h) ----

/** soreadable: rcv.cc >= rcv.lowat, CANTRCVMORE, a completed connection queued, or so_error. */
export function soreadable(so: Socket): boolean {
  return so.so_rcv.sb_cc >= so.so_rcv.sb_lowat || (so.so_state & SS_CANTRCVMORE) !== 0 ||
    so.so_comp.length > 0 || so.so_error !== 0;
}

/**
 * sowriteable: CANTSENDMORE, so_error, or (connected or connectionless) with
 * sbspace(snd) >= snd.lowat (and the protocol's TCP_NOTSENT_LOWAT check when set).
 */
export function sowriteable(so: Socket): boolean {
  if ((so.so_state & SS_CANTSENDMORE) !== 0 || so.so_error !== 0) return true;
  if ((so.so_state & SS_ISCONNECTED) === 0 && (so.so_proto.pr_flags & PR_CONNREQUIRED) !== 0) return false;
  if (so.so_snd.sbspace() < so.so_snd.sb_lowat) return false;
  const check = so.so_proto.pr_usrreqs.pru_notsent_lowat_check;
  if ((so.so_flags & SOF_NOTSENT_LOWAT) !== 0 && check !== undefined) return check.call(so.so_proto.pr_usrreqs, so);
  return true;
}

/** The Ev bits describing the socket now (what a poll would report). */
export function sopoll(so: Socket): number {
  let ev = 0;
  if (soreadable(so)) ev |= Ev.In;
  if (sowriteable(so)) ev |= Ev.Out;
  return ev | sostatebits(so);
}

/** Err / RdHUp / HUp bits from the socket's state. */
export function sostatebits(so: Socket): number {
  let ev = 0;
  if (so.so_error !== 0) ev |= Ev.Err;
  if ((so.so_state & SS_CANTRCVMORE) !== 0) {
    ev |= Ev.RdHUp;
    if ((so.so_state & SS_CANTSENDMORE) !== 0) ev |= Ev.HUp;
  }
  return ev;
}

// ---- release ----

/**
 * sofree: releases the socket once the protocol has dropped its control block and no descriptor
 * holds it (SS_NOFDREF). A child still on a listener's completed queue is kept for accept; one on
 * the incomplete queue is unlinked. Both buffers are flushed; the socket leaves the layer.
 */
export function sofree(so: Socket): void {
  if (so.so_pcb !== null || (so.so_state & SS_NOFDREF) === 0) return;
  const head = so.so_head;
  if (head !== null) {
    if ((so.so_state & SS_COMP) !== 0) return;
    if ((so.so_state & SS_INCOMP) !== 0) soqremque(so);
  }
  so.so_rcv.sbrelease();
  so.so_snd.sbrelease();
  so.setListener(null);
  so.layer.release(so);
}

/** soqremque: takes a child off its listener's queue (either one) and clears so_head. */
export function soqremque(so: Socket): void {
  const head = so.so_head;
  if (head === null) return;
  if ((so.so_state & SS_INCOMP) !== 0) {
    const i = head.so_incomp.indexOf(so);
    if (i >= 0) head.so_incomp.splice(i, 1);
    head.so_incqlen--;
  } else if ((so.so_state & SS_COMP) !== 0) {
    const i = head.so_comp.indexOf(so);
    if (i >= 0) head.so_comp.splice(i, 1);
  }
  head.so_qlen--;
  so.so_state &= ~(SS_INCOMP | SS_COMP);
  so.so_head = null;
}
