// The kernel socket KPI's core (bsd/kern/kpi_socket.c): the kernel context a stack is driven
// through (KpiKernel, kpiKernel), socket_t (KpiSocket), the C types (errno_t, sock_upcall,
// struct msghdr), and the two mechanisms every sock_* function rests on:
//
//   sleeping  XNU sleeps in sbwait/msleep; the socket layer here never blocks and answers
//             EWOULDBLOCK where XNU would sleep. A blocking call then registers a Sleeper on its
//             socket and returns a Promise of its errno; every wakeup the socket reports retries
//             the so* call, a stack Timer (virtual time in a simulation) bounds the sleep with
//             SO_RCVTIMEO/SO_SNDTIMEO, and sock_interrupt ends it with EINTR. No polling.
//   upcalls   the socket layer reports wakeups as Ev bits (stack/socket/socket-events.ts); KpiSocket
//             is the socket's one SocketListener and turns them into sock_upcall(so, cookie, 1)
//             calls, gated as the seed documents or, with behaviour 'xnu', as XNU's code does.
//
// API call → sock_* (sock-conn/io/opt.ts) → so* → EWOULDBLOCK → Sleeper → Promise
// packet/timer → so* state change → sorwakeup/sowwakeup → SocketLayer.runDeferred
//   → KpiSocket.onSocketEvent → sleepers retry (resolve) → sock_catchevents → sock_upcall

import type { Stack, Socket, SocketListener, TimerTarget, Instant } from '../stack/index.js';
import {
  soreadable, sowriteable, Ev, UPCALL_BOTH, Timer, SO_FILT_HINT_CONNECTED, SO_FILT_HINT_DISCONNECTED, EINVAL,
} from '../stack/index.js';
import { SOCK_UPCALL_WAITF } from './darwin-constants.js';
import type { AssocTable } from './assoc.js';

/** A Darwin errno (0 = success). Never -1, never thrown. */
export type errno_t = number;

/** What a call that XNU may block in returns: the errno, or a Promise of it while it sleeps. */
export type KpiResult = errno_t | Promise<errno_t>;

/** A C out-parameter (`int *`, `socket_t *`, `size_t *`): the callee writes `value`. */
export interface Box<T> { value: T }

/**
 * sock_upcall: `(so, cookie, waitf) => void`, called when the socket is ready (§4); waitf is
 * always MBUF_DONTWAIT (1): the callback must not block (it may call any sock_* function).
 * Declared with method syntax so that callbacks with a specific cookie type are accepted.
 */
export type sock_upcall = { bivarianceHack(so: socket_t, cookie: unknown, waitf: number): void }['bivarianceHack'];

/** sock_evupcall (sock_catchevents): `(so, cookie, event)` with the SO_FILT_HINT_* bits that occurred. */
export type sock_evupcall = { bivarianceHack(so: socket_t, cookie: unknown, event: number): void }['bivarianceHack'];

/**
 * struct msghdr. msg_iov is the iovec array (each Uint8Array is one iov_base/iov_len); msg_iovlen,
 * when present, limits how many of them are used (default: all). msg_name/msg_namelen and
 * msg_control/msg_controllen as in C: on receive msg_namelen is NOT updated (XNU copies
 * MIN(msg_namelen, sa_len) bytes) and msg_controllen becomes the control bytes copied; msg_flags
 * receives the output flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_RCVMORE, MSG_HAVEMORE).
 */
export interface msghdr {
  msg_name: Uint8Array | null;
  msg_namelen: number;
  msg_iov: Uint8Array[] | null;
  msg_iovlen?: number;
  msg_control: Uint8Array | null;
  msg_controllen: number;
  msg_flags: number;
}

/** A msghdr with the given iovecs and, optionally, an address and a control buffer. */
export function newMsghdr(
  iov: Uint8Array[] | null = null,
  opts: { name?: Uint8Array | null; control?: Uint8Array | null } = {},
): msghdr {
  const name = opts.name ?? null;
  const control = opts.control ?? null;
  return {
    msg_name: name, msg_namelen: name === null ? 0 : name.length,
    msg_iov: iov, msg_control: control, msg_controllen: control === null ? 0 : control.length, msg_flags: 0,
  };
}

/**
 * Which behaviour the KPI follows where the seed (kpi_socket.h documentation) and XNU's code differ
 * (README.md "Kernel socket KPI", "Documented vs XNU behaviour"):
 *   'documented'  the seed: upcalls gated by the low-water marks, MSG_USEUPCALL honoured, ... (default)
 *   'xnu'         XNU's code on arm64 (current macOS): upcall on every wakeup, MSG_USEUPCALL → ENOTSUP
 *   'xnu-x86_64'  as 'xnu', but simple upcall registration installs the read upcall only
 */
export type KpiBehaviour = 'documented' | 'xnu' | 'xnu-x86_64';

export interface KpiKernelOptions {
  readonly behaviour?: KpiBehaviour;
}

/** Counters of the KPI layer of one kernel. */
export class KpiStats {
  /** Calls that went to sleep (returned a pending Promise). */
  sleeps = 0;
  /** Sleeps ended by SO_RCVTIMEO/SO_SNDTIMEO/linger/connectwait timers. */
  sleepTimeouts = 0;
  /** Sleeps ended by sock_interrupt (EINTR). */
  sleepInterrupts = 0;
  /** Sleeps ended because sock_close closed the socket under them (EBADF). */
  sleepsClosed = 0;
  /** sock_upcall invocations. */
  upcalls = 0;
  /** sock_catchevents callback invocations. */
  eventUpcalls = 0;
}

const kernels = new WeakMap<Stack, KpiKernel>();

/**
 * The KPI context of a stack: C's global kernel made explicit. One per stack (a second call
 * returns the same kernel; asking for a different behaviour then is a programming error and
 * throws). sock_socket is its method; every other sock_* function is a free function taking the
 * socket_t, which knows its kernel.
 */
export function kpiKernel(stack: Stack, opts: KpiKernelOptions = {}): KpiKernel {
  const have = kernels.get(stack);
  if (have !== undefined) {
    if (opts.behaviour !== undefined && opts.behaviour !== have.behaviour) {
      throw new Error(`kpiKernel: stack '${stack.name}' already has a KPI kernel with behaviour '${have.behaviour}'`);
    }
    return have;
  }
  const k = new KpiKernel(stack, opts.behaviour ?? 'documented');
  kernels.set(stack, k);
  return k;
}

export class KpiKernel {
  readonly stats = new KpiStats();
  /** Sockets created or accepted through this kernel and not yet closed. */
  readonly sockets = new Set<KpiSocket>();

  /** @internal Use kpiKernel(stack). */
  constructor(readonly stack: Stack, readonly behaviour: KpiBehaviour) {}

  get documented(): boolean { return this.behaviour === 'documented'; }
  /** The stack's name (for descriptions and logs). */
  get name(): string { return this.stack.name; }
  get now(): Instant { return this.stack.env.clock.now(); }

  /**
   * sock_socket(domain, type, protocol, callback, cookie, &new_so) (§3.1). EINVAL without
   * new_so; socreate's EAFNOSUPPORT / EPROTOTYPE / EPROTONOSUPPORT / ENOBUFS. The socket is
   * blocking, unbound, with the protocol's default buffers; `callback` (may be null) is installed
   * as by sock_setupcall.
   */
  sock_socket(
    domain: number, type: number, protocol: number, callback: sock_upcall | null, cookie: unknown,
    new_so: Box<socket_t | null> | null,
  ): errno_t {
    if (new_so === null || new_so === undefined) return EINVAL;
    new_so.value = null;
    const r = this.stack.sockets.socreate(domain, type, protocol);
    if (!r.ok) return r.error;
    const ks = new KpiSocket(this, r.value, domain, type, protocol);
    if (callback !== null && callback !== undefined) ks.setSimpleUpcall(callback, cookie);
    new_so.value = ks;
    return 0;
  }

  /** @internal Wraps an accepted child. */
  adopt(so: Socket, head: KpiSocket): KpiSocket {
    return new KpiSocket(this, so, head.createdDomain, head.createdType, head.createdProtocol);
  }
}

/**
 * Returned by a Sleeper's step while the call must keep sleeping. Not an errno (and not ERESTART,
 * -1, which the socket layer never returns either).
 */
export const PENDING = -1000;

/** How one blocking call sleeps and how it ends (one per sleeping call). */
export interface SleepSpec {
  /**
   * Ev bits whose wakeups wake the sleeper: Ev.In for so_rcv (sbwait), Ev.Out for so_snd, both
   * for so_timeo sleepers (connect, accept, linger, connectwait).
   */
  readonly mask: number;
  /**
   * Timeout in µs (0: none). With `restart`, it bounds each sleep (XNU re-reads sb_timeo and
   * sleeps again after every wakeup that does not finish the call); without, it is one deadline.
   */
  timeo(): number;
  readonly restart: boolean;
  /** Whether sock_interrupt may end it (PCATCH): false for a buffer with SB_NOINTR. */
  interruptible(): boolean;
  /** Retries the operation: its final errno, or PENDING. */
  step(): number;
  /** Final errno when the sleep ends without the operation finishing. */
  end(why: 'timeout' | 'interrupt' | 'closed'): number;
}

/** A sleeping call: its spec, its timer, its Promise. */
class Sleeper implements TimerTarget {
  private readonly timer = new Timer(this);
  private resolve!: (e: number) => void;
  readonly promise: Promise<number>;
  done = false;
  /** Inside its own step/end (which may close the socket and so reach this sleeper again). */
  private busy = false;

  constructor(readonly ks: KpiSocket, readonly spec: SleepSpec) {
    this.promise = new Promise<number>((r) => { this.resolve = r; });
    this.arm();
  }

  private arm(): void {
    const t = this.spec.timeo();
    if (t > 0) this.ks.kernel.stack.timers.schedule(this.timer, this.ks.kernel.now + t);
  }

  wake(ev: number): void {
    if (this.done || this.busy || (ev & this.spec.mask) === 0) return;
    this.busy = true;
    let e: number;
    try { e = this.spec.step(); } finally { this.busy = false; }
    if (e !== PENDING) this.finish(e);
    else if (this.spec.restart) this.arm();
  }

  onTimer(): void {
    if (this.done || this.busy) return;
    this.ks.kernel.stats.sleepTimeouts++;
    this.end('timeout');
  }

  interrupt(): boolean {
    if (this.done || this.busy || !this.spec.interruptible()) return false;
    this.ks.kernel.stats.sleepInterrupts++;
    this.end('interrupt');
    return true;
  }

  close(): void {
    if (this.done || this.busy) return;
    this.ks.kernel.stats.sleepsClosed++;
    this.end('closed');
  }

  private end(why: 'timeout' | 'interrupt' | 'closed'): void {
    this.busy = true;
    let e: number;
    try { e = this.spec.end(why); } finally { this.busy = false; }
    this.finish(e);
  }

  private finish(e: number): void {
    this.done = true;
    this.ks.kernel.stack.timers.cancel(this.timer);
    this.ks.forgetSleeper(this);
    this.resolve(e);
  }
}

/**
 * socket_t: a socket created by sock_socket or sock_accept, with no file descriptor. It carries
 * its kernel, its upcall registrations, its sleeping calls and its retain count.
 */
export class KpiSocket implements SocketListener {
  /** Read and write upcalls (one function for both after sock_socket/sock_setupcall). */
  rcb: sock_upcall | null = null;
  rcookie: unknown = null;
  wcb: sock_upcall | null = null;
  wcookie: unknown = null;
  /** sock_catchevents registration. */
  ecb: sock_evupcall | null = null;
  ecookie: unknown = null;
  emask = 0;
  /** sock_retain holds outstanding. */
  retaincnt = 0;
  /** sock_close was called while retained: sock_release closes at the last hold. */
  fdClosed = false;
  /** sock_close is running (lingering): a second close is a no-op. */
  closing = false;
  /** Closed: every call answers EINVAL (the C equivalent is a use after free). */
  dead = false;
  /** @internal The connectx bookkeeping (kpi/assoc.ts), created on first use by assocTableOf. */
  assocTable: AssocTable | null = null;
  private sleepers: Sleeper[] = [];

  constructor(
    readonly kernel: KpiKernel,
    /** The socket layer's socket. */
    readonly so: Socket,
    /** The arguments of sock_socket (a child: its listener's), for sock_gettype. */
    readonly createdDomain: number,
    readonly createdType: number,
    readonly createdProtocol: number,
  ) {
    so.setListener(this, UPCALL_BOTH);
    kernel.sockets.add(this);
  }

  get now(): Instant { return this.kernel.now; }

  /** Calls sleeping on this socket. */
  get sleeping(): number { return this.sleepers.length; }

  /**
   * sock_setupcall's registration: arm64 (and the documented behaviour) installs the function as
   * both the read and the write upcall, x86_64 as the read upcall only (§3.1). Null removes both.
   */
  setSimpleUpcall(cb: sock_upcall | null, cookie: unknown): void {
    this.rcb = cb;
    this.rcookie = cookie;
    const writeToo = cb !== null && this.kernel.behaviour !== 'xnu-x86_64';
    this.wcb = writeToo ? cb : null;
    this.wcookie = writeToo ? cookie : null;
  }

  /** Puts the calling operation to sleep: its Promise settles with the final errno. */
  sleep(spec: SleepSpec): Promise<number> {
    const s = new Sleeper(this, spec);
    this.sleepers.push(s);
    this.kernel.stats.sleeps++;
    return s.promise;
  }

  /** @internal */
  forgetSleeper(s: Sleeper): void {
    const i = this.sleepers.indexOf(s);
    if (i >= 0) this.sleepers.splice(i, 1);
  }

  /** Ends every interruptible sleep with EINTR (sock_interrupt); returns how many ended. */
  interruptSleepers(): number {
    let n = 0;
    for (const s of this.sleepers.slice()) if (s.interrupt()) n++;
    return n;
  }

  /** Lets every sleeper retry once, then ends those still sleeping (sock_close). */
  closeSleepers(): void {
    for (const s of this.sleepers.slice()) s.wake(Ev.In | Ev.Out);
    for (const s of this.sleepers.slice()) s.close();
  }

  /** Marks the socket closed and forgets it. */
  markDead(): void {
    this.dead = true;
    this.rcb = this.wcb = null;
    this.ecb = null;
    this.kernel.sockets.delete(this);
  }

  // ---- SocketListener: wakeups → sleepers, event upcall, sock_upcall ----

  onSocketEvent(_so: Socket, events: number, hints: number): void {
    if (this.dead) return;
    if (this.sleepers.length > 0) for (const s of this.sleepers.slice()) s.wake(events);
    if (this.dead) return;
    const ecb = this.ecb;
    if (ecb !== null && (hints & this.emask) !== 0) {
      this.kernel.stats.eventUpcalls++;
      ecb(this, this.ecookie, hints & this.emask);
      if (this.dead) return;
    }
    this.deliverUpcalls(events, hints);
  }

  /**
   * The sock_upcall calls for one delivery. 'xnu': the read upcall for every read wakeup and the
   * write upcall for every write wakeup, whatever the low-water marks (uipc_socket2.c sowakeup).
   * 'documented': the read upcall only when the socket is readable (data at or above SO_RCVLOWAT,
   * a connection to accept, EOF, an error) or connected/disconnected, the write upcall only when it
   * is writable (space at or above SO_SNDLOWAT, shut, an error). One function registered for both
   * directions is called once per delivery (wakeups coalesce; the KPI promises no count).
   */
  private deliverUpcalls(events: number, hints: number): void {
    const rcb = this.rcb, wcb = this.wcb;
    let r = rcb !== null && (events & Ev.In) !== 0;
    let w = wcb !== null && (events & Ev.Out) !== 0;
    if (!r && !w) return;
    if (this.kernel.documented) {
      if (r) r = soreadable(this.so) || (hints & (SO_FILT_HINT_CONNECTED | SO_FILT_HINT_DISCONNECTED)) !== 0;
      if (w) w = sowriteable(this.so);
    }
    const rcookie = this.rcookie, wcookie = this.wcookie;
    if (r) {
      this.kernel.stats.upcalls++;
      rcb!(this, rcookie, SOCK_UPCALL_WAITF);
    }
    if (w && !(r && wcb === rcb && wcookie === rcookie) && !this.dead && this.wcb === wcb) {
      this.kernel.stats.upcalls++;
      wcb!(this, wcookie, SOCK_UPCALL_WAITF);
    }
  }

  toString(): string { return `kpi:${this.so.toString()}`; }
}

/** socket_t as kpi_socket.h names it. */
export type socket_t = KpiSocket;

/** Whether `so` is a usable socket_t (not NULL, not closed): XNU's `if (sock == NULL) return EINVAL`. */
export function isLive(so: socket_t | null | undefined): so is KpiSocket {
  return so !== null && so !== undefined && !so.dead;
}

