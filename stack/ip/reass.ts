// The fragment reassembly engine shared by IPv4 (ip-reass.ts) and IPv6 (ip6-reass.ts): BSD's
// ipq/ip6q lists, generalised. Owns the reassembly queues, their timers and the memory caps.
// ingress: ip-input.ts → Ip4Reass.input → Reassembler.insert → (complete) back to ip-input.ts
//          ip6-input.ts → Ip6Reass.input → Reassembler.insert → (complete) back to ip6-input.ts
// timeout: TimerQueue → FragQueue.onTimer → Reassembler.expire → hooks.reassTimedOut (ICMP time exceeded)
//
// Fragments are kept as the received mbuf chains with their headers cut off (no copy), sorted by
// offset in parallel arrays. The headers of the first fragment (offset 0) are saved in the queue
// and put back in front of the reassembled datagram (or of the first fragment, for a time-exceeded
// quote). Overlaps follow the family's policy: IPv4 trims BSD-style (RFC 791 allows overlaps),
// IPv6 discards the whole datagram (RFC 5722) and keeps a tombstone until the timer fires, so
// fragments of it that arrive later are discarded too ("including those not yet received").
//
// Caps (architecture principle 5): at most `maxQueues` datagrams, `maxFragsPerDatagram` fragments
// each, `maxBytes` of mbuf storage in all; over a cap the oldest datagram goes first.

import type { Mbuf } from '../mbuf/index.js';
import { mAdj, mCat, mFreem, mPrepend, MSIZE } from '../mbuf/index.js';
import { Timer } from '../time/timers.js';
import type { TimerQueue, TimerTarget } from '../time/timers.js';
import type { Instant } from '../time/instant.js';

/** The ECN field's Not-ECT and CE codepoints (RFC 3168 §5). */
const IPTOS_ECN_NOTECT = 0;
const IPTOS_ECN_CE = 3;

export interface ReassLimits {
  /** Most datagrams under reassembly at once (BSD maxfragpackets). */
  readonly maxQueues: number;
  /** Most fragments held for one datagram (BSD maxfragsperpacket). */
  readonly maxFragsPerDatagram: number;
  /** Most mbuf storage (mbufs + clusters) held by all queues, in bytes. */
  readonly maxBytes: number;
  /** Reassembly lifetime of a datagram from its first fragment, in µs. */
  readonly ttlUs: number;
}

/**
 * What happened to fragments, reported to the family's counters:
 * - dup: one fragment dropped as an exact duplicate (or fully covered by held data, IPv4);
 * - trim: IPv4 partial overlap trimmed (nfrags = 0) or a held fragment fully covered and freed (nfrags 1);
 * - overlap: IPv6 datagram discarded for an overlap (nfrags = all its fragments);
 * - bad: malformed fragment dropped (nfrags 1), or, IPv6, a datagram with an inconsistent end;
 * - qfull: a datagram evicted to respect maxQueues or maxBytes;
 * - toomany: a datagram dropped for exceeding maxFragsPerDatagram;
 * - dead: a fragment of an IPv6 datagram already discarded;
 * - nobufs: a complete datagram lost because its headers could not be put back;
 * - ecn: one fragment dropped for mixing Not-ECT with ECT/CE in one datagram (RFC 3168 §5.3).
 */
export type ReassEvent = 'dup' | 'trim' | 'overlap' | 'bad' | 'qfull' | 'toomany' | 'dead' | 'nobufs' | 'ecn';

export interface ReassHooks {
  /** `nfrags` fragments were freed (or, for 'trim' with 0, data trimmed) for `ev`. */
  reassEvent(ev: ReassEvent, nfrags: number): void;
  /**
   * A datagram timed out holding `nfrags` fragments. `first` is the first fragment with its saved
   * headers back in front (null when it never arrived or the datagram was a tombstone); the hook owns it.
   */
  reassTimedOut(first: Mbuf | null, nfrags: number, now: Instant): void;
}

/** One datagram under reassembly (struct ipq / ip6q). */
export class FragQueue implements TimerTarget {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly frags: Mbuf[] = [];
  /** Payload offset and end (exclusive) of each fragment, parallel to frags, sorted by offset. */
  readonly offs: number[] = [];
  readonly ends: number[] = [];
  /** Storage accounted for each fragment. */
  readonly sizes: number[] = [];
  /** Payload length, known once the last fragment (MF/M clear) arrived; -1 before. */
  totalLen = -1;
  /** Saved headers of the first fragment (prefixLen bytes, of which keepLen are put back on completion). */
  prefix: Uint8Array | null = null;
  keepLen = 0;
  /** Family-specific datum saved with the prefix (IPv6: offset of the next-header byte to patch). */
  aux = 0;
  /** Storage held by this queue. */
  bytes = 0;
  /** Discarded (IPv6 overlap): fragments of it are dropped until the timer fires. */
  dead = false;
  /** ECN field of the datagram (RFC 3168 §5.3): the first fragment's, raised to CE by any CE fragment. */
  ecn = 0;
  readonly timer: Timer;

  constructor(private readonly owner: Reassembler, alen: number, readonly id: number, readonly proto: number) {
    this.src = new Uint8Array(alen);
    this.dst = new Uint8Array(alen);
    this.timer = new Timer(this);
  }

  onTimer(_t: Timer, now: Instant): void { this.owner.expire(this, now); }
}

/** Storage a chain pins: one MSIZE per mbuf plus each cluster it references (shared ones counted per reference). */
export function chainTrueSize(m: Mbuf | null): number {
  let n = 0;
  for (; m !== null; m = m.next) n += MSIZE + (m.ext !== null ? m.ext.size : 0);
  return n;
}

export class Reassembler {
  private readonly queues: FragQueue[] = [];
  private bytes = 0;
  /** After insert() returned a datagram: its payload length (without the kept prefix). */
  lastTotalLen = 0;
  /** After insert() returned a datagram: the aux value saved with its first fragment. */
  lastAux = 0;
  /** After insert() returned a datagram: its ECN field (CE when any fragment was CE). */
  lastEcn = 0;

  constructor(
    private readonly timers: TimerQueue,
    readonly limits: ReassLimits,
    private readonly hooks: ReassHooks,
    /** 4 or 16. */
    private readonly alen: number,
    /** IPv6 (RFC 5722): any overlap discards the datagram; else IPv4 BSD trimming. */
    private readonly strictOverlap: boolean,
  ) {}

  /** Datagrams under reassembly (tombstones included). */
  get queueCount(): number { return this.queues.length; }
  /** Storage held, in bytes. */
  get bytesHeld(): number { return this.bytes; }

  /**
   * Adds one fragment. `m` holds `prefixLen` bytes of headers (contiguous in the head mbuf, with
   * the addresses at m.buf[srcOff..] and m.buf[dstOff..]) followed by exactly `len` payload bytes
   * at payload offset `off`, whose IP header had the ECN field `ecn`. Takes ownership. Returns the
   * reassembled datagram (the first fragment's first `keepLen` saved header bytes, then totalLen
   * payload bytes; lastEcn says what its ECN field must be) or null.
   */
  insert(
    m: Mbuf, prefixLen: number, keepLen: number, srcOff: number, dstOff: number, id: number, proto: number,
    off: number, len: number, more: boolean, aux: number, ecn: number, now: Instant,
  ): Mbuf | null {
    // RFC 791 / RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes.
    if (len <= 0 || (more && (len & 7) !== 0)) return this.dropOne(m, 'bad');
    let q = this.find(m.buf, srcOff, dstOff, id, proto);
    if (q !== null && q.dead) return this.dropOne(m, 'dead');
    if (q !== null) {
      // RFC 3168 §5.3, as BSD ip_reass / frag6_input compare each fragment with the first one: a CE
      // fragment makes the datagram CE, but CE and Not-ECT may not mix (the later one is dropped).
      if (ecn === IPTOS_ECN_CE) {
        if (q.ecn === IPTOS_ECN_NOTECT) return this.dropOne(m, 'ecn');
        q.ecn = IPTOS_ECN_CE;
      } else if (ecn === IPTOS_ECN_NOTECT && q.ecn !== IPTOS_ECN_NOTECT) {
        return this.dropOne(m, 'ecn');
      }
    }
    if (q === null) {
      if (this.queues.length >= this.limits.maxQueues && this.queues.length > 0) this.evict(this.queues[0]!, 'qfull');
      q = new FragQueue(this, this.alen, id, proto);
      q.ecn = ecn;
      q.src.set(m.buf.subarray(srcOff, srcOff + this.alen));
      q.dst.set(m.buf.subarray(dstOff, dstOff + this.alen));
      this.queues.push(q);
      this.timers.schedule(q.timer, now + this.limits.ttlUs);
    }
    const end = off + len;
    // A fragment must agree with the known end of the datagram (set by the last fragment).
    let inconsistent = more ? q.totalLen >= 0 && end > q.totalLen : (q.totalLen >= 0 && q.totalLen !== end);
    if (!more && !inconsistent && q.frags.length > 0 && q.ends[q.ends.length - 1]! > end) inconsistent = true;
    if (inconsistent) {
      if (!this.strictOverlap) return this.dropOne(m, 'bad');
      this.kill(q, 'bad', m);
      return null;
    }
    if (off === 0 && q.prefix === null) {
      q.prefix = m.buf.slice(m.data, m.data + prefixLen);
      q.keepLen = keepLen;
      q.aux = aux;
    }
    mAdj(m, prefixLen);
    const offs = q.offs, ends = q.ends;
    // i: the first held fragment starting after `off` (BSD: "find a segment which begins after this one does").
    let i = 0;
    while (i < offs.length && offs[i]! <= off) {
      if (offs[i] === off && ends[i] === end) return this.dropOne(m, 'dup');
      i++;
    }
    let start = off;
    if (this.strictOverlap) {
      // RFC 5722 §4: "if any of the fragments being reassembled overlap with any other fragments
      // being reassembled for the same packet, reassembly of that packet must be abandoned".
      if ((i > 0 && ends[i - 1]! > off) || (i < offs.length && offs[i]! < end)) {
        this.kill(q, 'overlap', m);
        return null;
      }
    } else {
      // Data we hold already from off to end (a retransmitted fragment after trimming): a duplicate.
      if (i > 0 && ends[i - 1]! > off) {
        let have = ends[i - 1]!;
        for (let j = i; j < offs.length && offs[j]! <= have && have < end; j++) if (ends[j]! > have) have = ends[j]!;
        if (have >= end) return this.dropOne(m, 'dup');
      }
      // RFC 791 allows overlaps; BSD ip_reass: a preceding fragment may provide some of our data
      // already: drop it from the incoming fragment.
      if (i > 0 && ends[i - 1]! > off) {
        const d = ends[i - 1]! - off;
        if (d >= len) return this.dropOne(m, 'dup');
        mAdj(m, d);
        start += d;
        this.hooks.reassEvent('trim', 0);
      }
      // "While we overlap succeeding fragments trim them or, if they are completely covered, dequeue them."
      while (i < offs.length && offs[i]! < end) {
        const d = end - offs[i]!;
        if (d < ends[i]! - offs[i]!) {
          mAdj(q.frags[i]!, d);
          offs[i] = offs[i]! + d;
          this.hooks.reassEvent('trim', 0);
          break;
        }
        this.removeAt(q, i);
        this.hooks.reassEvent('trim', 1);
      }
    }
    if (q.frags.length >= this.limits.maxFragsPerDatagram) {
      this.kill(q, 'toomany', m);
      return null;
    }
    const size = chainTrueSize(m);
    q.frags.splice(i, 0, m);
    offs.splice(i, 0, start);
    ends.splice(i, 0, end);
    q.sizes.splice(i, 0, size);
    q.bytes += size;
    this.bytes += size;
    if (!more) q.totalLen = end;
    // Memory cap: the oldest datagrams go first, possibly this one.
    while (this.bytes > this.limits.maxBytes && this.queues.length > 0) {
      const victim = this.queues[0]!;
      this.evict(victim, 'qfull');
      if (victim === q) return null;
    }
    return this.complete(q);
  }

  /** Timer: the datagram did not complete in time (RFC 791 / RFC 8200 §4.5). */
  expire(q: FragQueue, now: Instant): void {
    const n = q.frags.length;
    let first: Mbuf | null = null;
    if (!q.dead && n > 0 && q.offs[0] === 0 && q.prefix !== null) {
      // Detach the first fragment and put its headers back for the ICMP quote.
      first = mPrepend(this.detachAt(q, 0), q.prefix.length);
      if (first !== null) first.buf.set(q.prefix, first.data);
    }
    this.release(q);
    this.hooks.reassTimedOut(first, n, now);
  }

  /** Frees every queue (stack teardown and tests). */
  drain(): void {
    while (this.queues.length > 0) this.release(this.queues[0]!);
  }

  private find(buf: Uint8Array, srcOff: number, dstOff: number, id: number, proto: number): FragQueue | null {
    const qs = this.queues;
    const alen = this.alen;
    outer: for (let k = 0; k < qs.length; k++) {
      const q = qs[k]!;
      if (q.id !== id || q.proto !== proto) continue;
      for (let j = 0; j < alen; j++) {
        if (q.src[j] !== buf[srcOff + j] || q.dst[j] !== buf[dstOff + j]) continue outer;
      }
      return q;
    }
    return null;
  }

  private complete(q: FragQueue): Mbuf | null {
    if (q.totalLen < 0 || q.prefix === null) return null;
    const offs = q.offs, ends = q.ends;
    let expect = 0;
    for (let k = 0; k < offs.length; k++) {
      if (offs[k] !== expect) return null;
      expect = ends[k]!;
    }
    if (expect !== q.totalLen) return null;
    const n = q.frags.length;
    const head = mPrepend(this.detachAt(q, 0), q.keepLen);
    if (head === null) {
      this.hooks.reassEvent('nobufs', n);
      this.release(q);
      return null;
    }
    head.buf.set(q.prefix.subarray(0, q.keepLen), head.data);
    while (q.frags.length > 0) mCat(head, this.detachAt(q, 0));
    head.pktLen = q.keepLen + q.totalLen;
    this.lastTotalLen = q.totalLen;
    this.lastAux = q.aux;
    this.lastEcn = q.ecn;
    this.release(q);
    return head;
  }

  private dropOne(m: Mbuf, ev: ReassEvent): null {
    mFreem(m);
    this.hooks.reassEvent(ev, 1);
    return null;
  }

  /** Discards a datagram plus the fragment in hand; IPv6 keeps a tombstone until the timer fires. */
  private kill(q: FragQueue, ev: ReassEvent, m: Mbuf): void {
    mFreem(m);
    const n = q.frags.length + 1;
    if (this.strictOverlap && ev !== 'toomany') {
      this.freeFrags(q);
      q.dead = true;
    } else {
      this.release(q);
    }
    this.hooks.reassEvent(ev, n);
  }

  private evict(q: FragQueue, ev: ReassEvent): void {
    const n = q.frags.length;
    this.release(q);
    this.hooks.reassEvent(ev, n);
  }

  private removeAt(q: FragQueue, i: number): void {
    mFreem(this.detachAt(q, i));
  }

  /** Takes fragment `i` out of the queue without freeing it (its storage is no longer accounted). */
  private detachAt(q: FragQueue, i: number): Mbuf {
    const m = q.frags[i]!;
    const size = q.sizes[i]!;
    q.bytes -= size;
    this.bytes -= size;
    q.frags.splice(i, 1);
    q.offs.splice(i, 1);
    q.ends.splice(i, 1);
    q.sizes.splice(i, 1);
    return m;
  }

  private freeFrags(q: FragQueue): void {
    for (let k = 0; k < q.frags.length; k++) mFreem(q.frags[k]!);
    this.bytes -= q.bytes;
    q.bytes = 0;
    q.frags.length = 0;
    q.offs.length = 0;
    q.ends.length = 0;
    q.sizes.length = 0;
  }

  /** Frees the queue's fragments, disarms its timer and forgets it. */
  private release(q: FragQueue): void {
    this.freeFrags(q);
    this.timers.cancel(q.timer);
    const k = this.queues.indexOf(q);
    if (k >= 0) this.queues.splice(k, 1);
  }
}
