// A LinkReceiver placed between a host's SimNetwork port and its interface. It hands the packets
// of each batch to the stack one at a time and keeps a copy of the one being processed, so that an
// exception escaping the stack is attributed to exactly one packet (printed in hex). It recognises
// the forged packets among them (ForgedPackets, by content): an audited one (invalid on purpose)
// must move its drop counter; a TCP segment is judged, as it arrives, for whether it may disturb the
// connection it lands on (live-targets.ts tcpSegmentMayAct).

import type { Mbuf, MbufPool } from '../../stack/mbuf/index.js';
import type { LinkReceiver } from '../../stack/link/link.js';
import type { Stack } from '../../stack/stack.js';
import type { Instant } from '../../stack/time/instant.js';
import { AUDIT_COUNTERS } from './fuzz-packet.js';
import type { AuditName } from './fuzz-packet.js';
import type { HostName } from './live-targets.js';
import { tcpSegmentMayAct } from './live-targets.js';
import { hex } from './wire-build.js';

/** Bytes of a packet that identify it (its headers and then some): legitimate packets differ from forged ones there. */
const KEY_BYTES = 160;

/** A 52-bit content key (two FNV-1a variants) of b[off, off + len): finds forged packets among the delivered ones. */
function contentKey(b: Uint8Array, off: number, len: number): number {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ len;
  const n = Math.min(len, KEY_BYTES);
  for (let i = 0; i < n; i++) {
    const x = b[off + i]!;
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ x, 0x5bd1e995);
  }
  return (h1 >>> 0) * 0x100000 + ((h2 >>> 12) & 0xfffff);
}

export interface Forged {
  /** The drop counter it must move, if it is invalid on purpose. */
  readonly audit: AuditName | null;
  /** A TCP segment to judge on arrival (see the header). */
  readonly judge: boolean;
  serial: number;
}

/** Forged packets in flight, by content; forgotten after `ttl` registrations (they arrive long before). */
export class ForgedPackets {
  private readonly byHash = new Map<number, Forged>();
  private readonly lengths = new Map<number, number>();
  private serial = 0;
  constructor(private readonly ttl = 20_000) {}

  add(bytes: Uint8Array, audit: AuditName | null, judge: boolean): void {
    if (audit === null && !judge) return;
    const s = ++this.serial;
    this.byHash.set(contentKey(bytes, 0, bytes.length), { audit, judge, serial: s });
    this.lengths.set(bytes.length, s);
    if (s % 1024 === 0) this.prune();
  }

  lookup(b: Uint8Array, off: number, len: number): Forged | null {
    if (!this.lengths.has(len)) return null;
    return this.byHash.get(contentKey(b, off, len)) ?? null;
  }

  private prune(): void {
    const min = this.serial - this.ttl;
    for (const [k, v] of this.byHash) if (v.serial < min) this.byHash.delete(k);
    for (const [k, v] of this.lengths) if (v < min) this.lengths.delete(k);
  }
}

export interface TapReport {
  readonly host: HostName;
  /** Packets handed to the stack. */
  delivered: number;
  /** Audited packets seen, and those whose counter did not move. */
  audited: number;
  readonly auditFailures: string[];
}

export class DeliveryTap implements LinkReceiver {
  readonly report: TapReport;
  private readonly one: Mbuf[] = [];
  private readonly last = new Uint8Array(65536);
  private lastLen = 0;
  /** True while a packet is inside the stack (an exception then belongs to it). */
  private inside = false;

  /** Receives the 4-tuple key of every connection a forged segment may disturb (set by the run). */
  onTaint: (key: string) => void = () => {};

  constructor(
    readonly host: HostName,
    private readonly inner: LinkReceiver,
    private readonly stack: Stack,
    private readonly forged: ForgedPackets,
  ) {
    this.report = { host, delivered: 0, audited: 0, auditFailures: [] };
  }

  get pool(): MbufPool { return this.inner.pool; }

  /** The packet being processed when an exception escaped, in hex, or null. */
  get packetInFlight(): string | null { return this.inside ? hex(this.last.subarray(0, this.lastLen)) : null; }

  receiveBatch(batch: Mbuf[], count: number, now: Instant): void {
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      // SimNetwork delivers each packet as one contiguous mbuf.
      const len = Math.min(m.len, this.last.length);
      this.last.set(m.buf.subarray(m.data, m.data + len), 0);
      this.lastLen = len;
      const f = this.forged.lookup(this.last, 0, len);
      const audit = f === null ? null : f.audit;
      const read = audit === null ? null : AUDIT_COUNTERS[audit];
      if (f !== null && f.judge) {
        const key = tcpSegmentMayAct(this.stack, this.last.subarray(0, len));
        if (key !== null) this.onTaint(key);
      }
      const before = read === null ? 0 : read(this.stack);
      this.one[0] = m;
      this.inside = true;
      this.inner.receiveBatch(this.one, 1, now);
      this.inside = false;
      this.report.delivered++;
      if (read !== null) {
        this.report.audited++;
        if (read(this.stack) <= before && this.report.auditFailures.length < 20) {
          this.report.auditFailures.push(`${this.host}: ${audit} did not move for ${hex(this.last.subarray(0, len), 200)}`);
        }
      }
    }
  }
}
