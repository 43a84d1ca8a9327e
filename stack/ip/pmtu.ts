// Path MTU cache: per-destination MTUs learned from ICMP fragmentation-needed (RFC 1191) and
// ICMPv6 packet-too-big (RFC 8201) messages. BSD keeps them as rmx_mtu on cloned host routes; we
// keep a separate bounded table. Entries expire after 10 minutes (RFC 1191 §6.3, RFC 8201 §4:
// "attempt to detect an increase ... no less than 5 minutes ... recommended 10 minutes"), which
// reverts the path to the route MTU.
// Written by: icmp.ts / icmp6.ts (via IpLayer.updatePmtu). Read by: IpLayer.pathMtu, ip-output.ts,
// ip6-output.ts. Expiry runs from one Timer armed at the oldest entry's deadline.
//
// Lookups hash the destination bytes in place (FNV-1a) into a Map of collision chains, so reading
// the cache on the output path allocates nothing.

import { Timer } from '../time/timers.js';
import type { TimerQueue, TimerTarget } from '../time/timers.js';
import type { Instant } from '../time/instant.js';
import { US_PER_SEC } from '../time/instant.js';
import { IpAddr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';

/** RFC 1191 §6.3 / RFC 8201 §4: learned PMTUs age out after 10 minutes. */
export const PMTU_LIFETIME_US = 600 * US_PER_SEC;
export const PMTU_MAX_ENTRIES = 4096;

export class PmtuEntry {
  /** Collision chain within a hash bucket. */
  chain: PmtuEntry | null = null;
  /** Expiry order (all entries share one lifetime, so update order is expiry order). */
  older: PmtuEntry | null = null;
  newer: PmtuEntry | null = null;
  constructor(readonly dst: IpAddr, readonly hash: number, public mtu: number, public expires: Instant) {}
}

function hashBytes(family: IpFamily, buf: Uint8Array, off: number): number {
  let h = family === 4 ? 0x811c9dc5 : 0x01000193;
  const n = family === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ buf[off + i]!, 0x01000193);
  return h >>> 0;
}

export class PmtuCache implements TimerTarget {
  private readonly buckets = new Map<number, PmtuEntry>();
  private oldest: PmtuEntry | null = null;
  private newest: PmtuEntry | null = null;
  private count = 0;
  private readonly timer = new Timer(this);

  constructor(
    private readonly timers: TimerQueue,
    readonly maxEntries = PMTU_MAX_ENTRIES,
    readonly lifetimeUs = PMTU_LIFETIME_US,
  ) {}

  get size(): number { return this.count; }

  /** The learned MTU towards the address at buf[off..], or 0 when none. Allocates nothing. */
  lookup(family: IpFamily, buf: Uint8Array, off: number): number {
    const e = this.find(family, buf, off);
    return e === null ? 0 : e.mtu;
  }

  /** The entry for `dst`, or null. */
  get(dst: IpAddr): PmtuEntry | null { return this.find(dst.family, dst.bytes, 0); }

  /** Records `mtu` for `dst` (bounds are the caller's), restarting its 10-minute lifetime. */
  set(dst: IpAddr, mtu: number, now: Instant): void {
    let e = this.find(dst.family, dst.bytes, 0);
    if (e !== null) {
      e.mtu = mtu;
      e.expires = now + this.lifetimeUs;
      this.unlinkAge(e);
      this.linkNewest(e);
    } else {
      if (this.count >= this.maxEntries && this.oldest !== null) this.delete(this.oldest);
      const h = hashBytes(dst.family, dst.bytes, 0);
      e = new PmtuEntry(IpAddr.fromBytes(dst.bytes, 0, dst.family === 4 ? 4 : 16), h, mtu, now + this.lifetimeUs);
      e.chain = this.buckets.get(h) ?? null;
      this.buckets.set(h, e);
      this.linkNewest(e);
      this.count++;
    }
    this.arm();
  }

  /** Forgets `dst`. Returns whether an entry existed. */
  remove(dst: IpAddr): boolean {
    const e = this.get(dst);
    if (e === null) return false;
    this.delete(e);
    this.arm();
    return true;
  }

  /** Snapshot of the entries, oldest first (display and tests). */
  entries(): { dst: IpAddr; mtu: number; expires: Instant }[] {
    const out: { dst: IpAddr; mtu: number; expires: Instant }[] = [];
    for (let e = this.oldest; e !== null; e = e.newer) out.push({ dst: e.dst, mtu: e.mtu, expires: e.expires });
    return out;
  }

  /** Timer: drops every entry whose lifetime has passed. */
  onTimer(_t: Timer, now: Instant): void {
    while (this.oldest !== null && this.oldest.expires <= now) this.delete(this.oldest);
    this.arm();
  }

  /** Frees every entry and disarms the timer. */
  clear(): void {
    this.buckets.clear();
    this.oldest = this.newest = null;
    this.count = 0;
    this.timers.cancel(this.timer);
  }

  private find(family: IpFamily, buf: Uint8Array, off: number): PmtuEntry | null {
    for (let e = this.buckets.get(hashBytes(family, buf, off)) ?? null; e !== null; e = e.chain) {
      if (e.dst.family === family && e.dst.equalsBytes(buf, off)) return e;
    }
    return null;
  }

  private delete(e: PmtuEntry): void {
    // Unchain from its bucket.
    const head = this.buckets.get(e.hash) ?? null;
    if (head === e) {
      if (e.chain === null) this.buckets.delete(e.hash);
      else this.buckets.set(e.hash, e.chain);
    } else {
      for (let p = head; p !== null; p = p.chain) {
        if (p.chain === e) { p.chain = e.chain; break; }
      }
    }
    e.chain = null;
    this.unlinkAge(e);
    this.count--;
  }

  private unlinkAge(e: PmtuEntry): void {
    if (e.older !== null) e.older.newer = e.newer; else this.oldest = e.newer;
    if (e.newer !== null) e.newer.older = e.older; else this.newest = e.older;
    e.older = e.newer = null;
  }

  private linkNewest(e: PmtuEntry): void {
    e.older = this.newest;
    e.newer = null;
    if (this.newest !== null) this.newest.newer = e; else this.oldest = e;
    this.newest = e;
  }

  private arm(): void {
    if (this.oldest === null) this.timers.cancel(this.timer);
    else if (!this.timer.armed || this.timer.deadline !== this.oldest.expires) this.timers.schedule(this.timer, this.oldest.expires);
  }
}
