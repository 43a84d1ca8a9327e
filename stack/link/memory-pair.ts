// MemoryLinkPair: two Links wired back to back, for unit tests of one stack talking to another
// without a network in between. transmit() only queues (a stack is never re-entered by its own
// send); the pair is a Pollable whose poll() delivers everything queued so far, one receiveBatch
// per direction, copying each packet into the receiver's pool and freeing the sender's chain.
// Offloads the caps advertise (TSO, checksum fill) are resolved on delivery, as a TUN would.

import { mFreem, mLength } from '../mbuf/index.js';
import type { Mbuf } from '../mbuf/index.js';
import type { Instant } from '../time/index.js';
import { LinkStats, resolveCaps } from './link.js';
import type { Link, LinkCaps, LinkReceiver, Pollable } from './link.js';
import { countOffloadFailure, OFFLOAD_ERR_NO_BUFFERS, OffloadEngine } from './offload.js';

export interface MemoryLinkPairOptions {
  /** Caps of both ends (defaults: 1500-byte MTU, no offloads). */
  readonly caps?: Partial<LinkCaps>;
  /** Link names, default ['mem-a', 'mem-b']. */
  readonly names?: readonly [string, string];
  /** Most packets queued per direction between polls; beyond, tail drop ('queue-full'). Default 4096. */
  readonly queueLimit?: number;
}

/** One end of a MemoryLinkPair. Its `stats` count what it sent (tx*) and what it received (rx*). */
export class MemoryLink implements Link {
  readonly stats = new LinkStats();
  /** @internal Set by the pair. */
  peer!: MemoryLink;
  /** @internal Packets sent by this end, not yet delivered to the peer. */
  queue: Mbuf[] = [];
  /** @internal */
  queued = 0;
  /** @internal When the oldest queued packet was sent. */
  queuedSince: Instant = 0;
  /** @internal The array the other queue array swaps with while a delivery runs. */
  spare: Mbuf[] = [];
  /** @internal The batch array handed to this end's receiver. */
  readonly rxBatch: Mbuf[] = [];
  receiver: LinkReceiver | null = null;

  constructor(readonly name: string, readonly caps: LinkCaps, private readonly queueLimit: number) {}

  transmit(batch: readonly Mbuf[], count: number, now: Instant): void {
    const caps = this.caps;
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      const len = mLength(m);
      this.stats.txPackets++;
      this.stats.txBytes += len;
      // A GSO packet on a link without TSO is caught (and counted) on delivery.
      if (m.gsoType === 0 ? len > caps.mtu : caps.tsoMaxBytes > 0 && len > caps.tsoMaxBytes) {
        this.stats.dropTooBig++;
        mFreem(m);
        continue;
      }
      if (this.queued >= this.queueLimit) {
        this.stats.dropQueueFull++;
        mFreem(m);
        continue;
      }
      if (this.queued === 0) this.queuedSince = now;
      this.queue[this.queued++] = m;
    }
  }

  setReceiver(rx: LinkReceiver | null): void { this.receiver = rx; }
}

export class MemoryLinkPair implements Pollable {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  private readonly offload = new OffloadEngine();
  private polling = false;

  constructor(opts: MemoryLinkPairOptions = {}) {
    const caps = resolveCaps(opts.caps);
    const limit = opts.queueLimit ?? 4096;
    if (!(limit >= 1)) throw new Error(`queueLimit must be >= 1, got ${limit}`);
    const [na, nb] = opts.names ?? ['mem-a', 'mem-b'];
    this.a = new MemoryLink(na, caps, limit);
    this.b = new MemoryLink(nb, caps, limit);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  /** Packets queued in both directions. */
  get pending(): number { return this.a.queued + this.b.queued; }

  pollAt(): Instant | null {
    const qa = this.a.queued > 0, qb = this.b.queued > 0;
    if (qa && qb) return this.a.queuedSince < this.b.queuedSince ? this.a.queuedSince : this.b.queuedSince;
    if (qa) return this.a.queuedSince;
    if (qb) return this.b.queuedSince;
    return null;
  }

  /** Delivers what was queued before this call (a→b, then b→a); what receivers send meanwhile waits for the next poll. */
  poll(now: Instant): void {
    if (this.polling) return; // a receiver polling us from inside receiveBatch
    this.polling = true;
    // Take both queues first, so packets a receiver sends back while handling its batch stay queued.
    const a = this.a, b = this.b;
    const qa = a.queue, na = a.queued, qb = b.queue, nb = b.queued;
    a.queue = a.spare; a.queued = 0;
    b.queue = b.spare; b.queued = 0;
    try {
      this.deliver(a, qa, na, now);
      this.deliver(b, qb, nb, now);
    } finally {
      a.spare = qa;
      b.spare = qb;
      this.polling = false;
    }
  }

  private deliver(from: MemoryLink, pending: Mbuf[], n: number, now: Instant): void {
    if (n === 0) return;
    const to = from.peer;
    const rx = to.receiver;
    const out = to.rxBatch;
    const caps = from.caps;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const m = pending[i]!;
      if (rx === null) {
        to.stats.dropNoReceiver++;
        mFreem(m);
        continue;
      }
      const k = this.offload.materialize(m, rx.pool, caps, out, count);
      mFreem(m);
      if (k < 0) {
        // Running out of the receiver's buffers is the receiver's drop; a bad packet is the sender's.
        countOffloadFailure(k === OFFLOAD_ERR_NO_BUFFERS ? to.stats : from.stats, k);
        continue;
      }
      for (let j = count; j < count + k; j++) {
        const p = out[j]!;
        if (to.caps.rxCsumValid) this.offload.markRxChecksum(p);
        to.stats.rxPackets++;
        to.stats.rxBytes += p.len;
      }
      count += k;
    }
    if (count > 0) rx!.receiveBatch(out, count, now);
  }
}
