// The socket layer of one stack: the protocol switch (domains × types × protocols → Protosw, as
// bsd/kern/uipc_domain.c pffindproto/pffindtype), socreate (bsd/kern/uipc_socket.c
// socreate_internal), the table of live sockets, the global counters, and the deferred delivery
// of wakeups to socket listeners (one Deferred registered with the StackContext).
//
// API call or packet → protocol/so* → sorwakeup/sowwakeup → Socket.post → enqueueWakeup
//   → (end of entry point) runDeferred → listener.onSocketEvent(so, events, hints)

import type { Deferred, StackContext } from '../context.js';
import type { Instant } from '../time/instant.js';
import type { Result } from '../result.js';
import { ok, err } from '../result.js';
import type { Protosw } from './protosw.js';
import { Socket, sostatebits } from './socket.js';
import { SocketStats } from './socket-stats.js';
import { AF_INET, AF_INET6, SB_MAX, SOCK_RAW } from './constants.js';
import { EAFNOSUPPORT, EPROTONOSUPPORT, EPROTOTYPE } from './errno.js';

export interface SocketLayerOptions {
  /** sb_max: the largest SO_SNDBUF/SO_RCVBUF (default 8 MiB). */
  sbMax?: number;
  /** somaxconn: the backlog limit and the value listen(<= 0) gets (default 128). */
  somaxconn?: number;
}

export class SocketLayer implements Deferred {
  readonly stats = new SocketStats();
  readonly sbMax: number;
  readonly somaxconn: number;
  /** Registered protocols per domain, in registration order (the domain's dom_protosw). */
  private readonly domains = new Map<number, Protosw[]>();
  private readonly live = new Map<number, Socket>();
  private nextId = 1;
  // The wake queue: wakeq[0..wakeLen) in posting order. Two arrays swapped per run, never
  // truncated (setting length would free and regrow the backing store on every entry point);
  // delivered slots are nulled so the queue keeps no socket alive.
  private wakeq: (Socket | null)[] = [];
  private wakeLen = 0;
  private spare: (Socket | null)[] = [];

  constructor(readonly ctx: StackContext, opts: SocketLayerOptions = {}) {
    this.sbMax = opts.sbMax ?? SB_MAX;
    this.somaxconn = opts.somaxconn ?? 128;
    this.domains.set(AF_INET, []);
    this.domains.set(AF_INET6, []);
    ctx.addDeferred(this);
  }

  /** Adds a protocol to its domain's switch (net_add_proto). The first of a type is its default. */
  addProtocol(pr: Protosw): void {
    let list = this.domains.get(pr.pr_domain);
    if (list === undefined) {
      list = [];
      this.domains.set(pr.pr_domain, list);
    }
    list.push(pr);
  }

  /** pffindproto: the entry for (domain, protocol, type); a raw wildcard entry for SOCK_RAW. */
  pffindproto(dom: number, protocol: number, type: number): Protosw | null {
    const list = this.domains.get(dom);
    if (list === undefined) return null;
    let maybe: Protosw | null = null;
    for (const pr of list) {
      if (pr.pr_protocol === protocol && pr.pr_type === type) return pr;
      if (type === SOCK_RAW && pr.pr_type === SOCK_RAW && pr.pr_protocol === 0 && maybe === null) maybe = pr;
    }
    return maybe;
  }

  /** pffindtype: the first entry of `type` in the domain (protocol 0 picks the default). */
  pffindtype(dom: number, type: number): Protosw | null {
    const list = this.domains.get(dom);
    if (list === undefined) return null;
    for (const pr of list) if (pr.pr_type === type) return pr;
    return null;
  }

  /**
   * socreate: a new socket of (domain, type, protocol), attached to its protocol. Errors (§3.1):
   * EAFNOSUPPORT unknown domain; EPROTOTYPE the protocol exists but not for this type;
   * EPROTONOSUPPORT no such protocol (or no protocol for the type); the protocol's attach error
   * (ENOBUFS...). The new socket is blocking, unbound, with the protocol's default buffers.
   */
  socreate(dom: number, type: number, proto: number): Result<Socket, number> {
    const prp = proto !== 0 ? this.pffindproto(dom, proto, type) : this.pffindtype(dom, type);
    if (prp === null) {
      this.stats.socreateNoProto++;
      if (!this.domains.has(dom)) return err(EAFNOSUPPORT);
      if (proto !== 0 && this.findprotonotype(dom, proto)) return err(EPROTOTYPE);
      return err(EPROTONOSUPPORT);
    }
    if (prp.pr_type !== type) {
      this.stats.socreateNoProto++;
      return err(EPROTOTYPE);
    }
    const so = this.soalloc(prp);
    const e = prp.pr_usrreqs.pru_attach(so, proto);
    if (e !== 0) {
      this.stats.attachFailed++;
      so.so_rcv.sbrelease();
      so.so_snd.sbrelease();
      this.release(so);
      return err(e);
    }
    this.stats.socreated++;
    return ok(so);
  }

  /** @internal A socket object registered with the layer, not yet attached (socreate, sonewconn). */
  soalloc(prp: Protosw): Socket {
    const so = new Socket(this, prp, this.nextId++);
    this.live.set(so.id, so);
    this.stats.active++;
    return so;
  }

  /** @internal Removes a released socket from the table (sofree, failed attach). */
  release(so: Socket): void {
    if (this.live.delete(so.id)) {
      this.stats.active--;
      this.stats.sofreed++;
    }
  }

  /** The socket with this id, if it still exists. */
  socketById(id: number): Socket | undefined {
    return this.live.get(id);
  }

  /** Every live socket (netstat). */
  sockets(): IterableIterator<Socket> {
    return this.live.values();
  }

  /** @internal Queues `so` for delivery at the end of the current entry point. */
  enqueueWakeup(so: Socket): void {
    so.onWakeQueue = true;
    this.wakeq[this.wakeLen++] = so;
    this.ctx.requestWork();
  }

  hasDeferred(): boolean {
    return this.wakeLen > 0;
  }

  /**
   * Delivers the pending events of every queued socket: one listener call per socket, with the
   * Ev bits posted since the last delivery plus the Err/RdHUp/HUp bits of its state now. Events
   * posted by listeners during this run are queued for the next run (requestWork makes sure there
   * is one), so delivery never recurses. A listener that throws does not stop delivery to the
   * others; the first exception is rethrown after the queue is done.
   */
  runDeferred(_now: Instant): void {
    const q = this.wakeq;
    const n = this.wakeLen;
    this.wakeq = this.spare;
    this.wakeLen = 0;
    this.spare = q;
    let thrown: unknown = undefined;
    let didThrow = false;
    for (let i = 0; i < n; i++) {
      const so = q[i]!;
      q[i] = null;
      so.onWakeQueue = false;
      const ev = so.pendingEvents;
      const hints = so.pendingHints;
      so.pendingEvents = 0;
      so.pendingHints = 0;
      const l = so.listenerOrNull;
      if (l === null || (ev | hints) === 0) continue;
      this.stats.upcalls++;
      so.so_upcallusecount++;
      try {
        l.onSocketEvent(so, ev | sostatebits(so), hints);
      } catch (e) {
        this.stats.listenerExceptions++;
        if (!didThrow) { didThrow = true; thrown = e; }
      } finally {
        so.so_upcallusecount--;
      }
    }
    if (didThrow) throw thrown;
  }

  /** pffindprotonotype: whether the domain has the protocol under any type. */
  private findprotonotype(dom: number, proto: number): boolean {
    const list = this.domains.get(dom);
    return list !== undefined && list.some((pr) => pr.pr_protocol === proto);
  }
}
