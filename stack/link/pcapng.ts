// pcapng capture (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface Description
// Block per tapped link (LINKTYPE_RAW, microsecond timestamps) and an Enhanced Packet Block per
// packet with its direction in epb_flags. Written little-endian into a ByteSink; the stack does no
// I/O, so whoever owns the sink (a test, the CLI) decides where the bytes go.
// withPcap(link) is a debugging tap: it copies every packet sent and received into the capture and
// forwards the batch unchanged. Packets are recorded as the stack hands them over, so a TSO
// super-packet or a CSUM_NEEDS packet shows as such (as tcpdump on a Linux host with offloads does).

import { mCopydata, mLength } from '../mbuf/index.js';
import type { Mbuf, MbufPool } from '../mbuf/index.js';
import type { Clock, Instant } from '../time/index.js';
import type { Link, LinkCaps, LinkReceiver } from './link.js';

export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** Collects chunks in memory; bytes() joins them. */
export class MemoryByteSink implements ByteSink {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

export const LINKTYPE_RAW = 101;
export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** epb_flags direction bits (pcapng §4.3.1). */
export const EPB_DIR_UNKNOWN = 0;
export const EPB_DIR_INBOUND = 1;
export const EPB_DIR_OUTBOUND = 2;

const OPT_ENDOFOPT = 0;
const OPT_SHB_USERAPPL = 4;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_EPB_FLAGS = 2;
/** Largest packet recorded in full; longer ones are truncated (caplen < origlen). */
const SNAPLEN = 262_144;

const pad4 = (n: number): number => (n + 3) & ~3;

export interface PcapngWriterOptions {
  /** shb_userappl text (default 'tunstack'). */
  readonly application?: string;
}

export class PcapngWriter {
  private interfaces = 0;

  /** Writes the Section Header Block at once. */
  constructor(private readonly sink: ByteSink, opts: PcapngWriterOptions = {}) {
    const app = new TextEncoder().encode(opts.application ?? 'tunstack');
    const optLen = 4 + pad4(app.length) + 4;
    const total = 28 + optLen;
    const b = new Uint8Array(total);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, PCAPNG_SHB, true);
    dv.setUint32(4, total, true);
    dv.setUint32(8, PCAPNG_BYTE_ORDER_MAGIC, true);
    dv.setUint16(12, 1, true);
    dv.setUint16(14, 0, true);
    dv.setInt32(16, -1, true); // section length: -1 (not specified), 64-bit
    dv.setInt32(20, -1, true);
    let o = 24;
    o = putOption(b, dv, o, OPT_SHB_USERAPPL, app);
    dv.setUint32(o, OPT_ENDOFOPT, true);
    dv.setUint32(total - 4, total, true);
    sink.write(b);
  }

  /** Writes an Interface Description Block; returns the interface id packets refer to. */
  addInterface(name: string, linkType = LINKTYPE_RAW): number {
    const nm = new TextEncoder().encode(name);
    const optLen = 4 + pad4(nm.length) + 4 + 4 + 4;
    const total = 20 + optLen;
    const b = new Uint8Array(total);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, PCAPNG_IDB, true);
    dv.setUint32(4, total, true);
    dv.setUint16(8, linkType, true);
    dv.setUint16(10, 0, true);
    dv.setUint32(12, SNAPLEN, true);
    let o = 16;
    o = putOption(b, dv, o, OPT_IF_NAME, nm);
    o = putOption(b, dv, o, OPT_IF_TSRESOL, Uint8Array.of(6)); // if_tsresol 6: microseconds
    dv.setUint32(o, OPT_ENDOFOPT, true);
    dv.setUint32(total - 4, total, true);
    this.sink.write(b);
    return this.interfaces++;
  }

  /** Records the packet `m` (its m_next chain) on interface `ifId` at `wallMicros` (µs since the epoch). */
  writePacket(ifId: number, wallMicros: number, m: Mbuf, direction = EPB_DIR_UNKNOWN): void {
    const orig = mLength(m);
    const b = this.epb(ifId, wallMicros, orig, direction);
    mCopydata(m, 0, Math.min(orig, SNAPLEN), b, 28);
    this.sink.write(b);
  }

  /** Records a packet given as bytes. */
  writeBytes(ifId: number, wallMicros: number, bytes: Uint8Array, direction = EPB_DIR_UNKNOWN): void {
    const b = this.epb(ifId, wallMicros, bytes.length, direction);
    b.set(bytes.length > SNAPLEN ? bytes.subarray(0, SNAPLEN) : bytes, 28);
    this.sink.write(b);
  }

  /** An Enhanced Packet Block with everything but the packet bytes (at offset 28) filled in. */
  private epb(ifId: number, wallMicros: number, orig: number, direction: number): Uint8Array {
    if (!(ifId >= 0 && ifId < this.interfaces)) throw new Error(`pcapng: unknown interface ${ifId}`);
    const cap = Math.min(orig, SNAPLEN);
    const optLen = direction !== EPB_DIR_UNKNOWN ? 8 + 4 : 4;
    const total = 32 + pad4(cap) + optLen;
    const b = new Uint8Array(total);
    const dv = new DataView(b.buffer);
    const ts = Math.max(0, Math.floor(wallMicros));
    dv.setUint32(0, PCAPNG_EPB, true);
    dv.setUint32(4, total, true);
    dv.setUint32(8, ifId, true);
    dv.setUint32(12, Math.floor(ts / 0x100000000), true);
    dv.setUint32(16, ts >>> 0, true);
    dv.setUint32(20, cap, true);
    dv.setUint32(24, orig, true);
    let o = 28 + pad4(cap);
    if (direction !== EPB_DIR_UNKNOWN) {
      dv.setUint16(o, OPT_EPB_FLAGS, true);
      dv.setUint16(o + 2, 4, true);
      dv.setUint32(o + 4, direction & 3, true);
      o += 8;
    }
    dv.setUint32(o, OPT_ENDOFOPT, true);
    dv.setUint32(total - 4, total, true);
    return b;
  }
}

function putOption(b: Uint8Array, dv: DataView, o: number, code: number, value: Uint8Array): number {
  dv.setUint16(o, code, true);
  dv.setUint16(o + 2, value.length, true);
  b.set(value, o + 4);
  return o + 4 + pad4(value.length);
}

/**
 * A Link that records every packet `inner` transmits (outbound) and receives (inbound) into
 * `writer`, on its own interface named after the link, with timestamps from clock.wallMicros().
 */
export function withPcap(inner: Link, writer: PcapngWriter, clock: Clock): Link {
  return new PcapLink(inner, writer, clock);
}

class PcapLink implements Link {
  private readonly ifId: number;
  constructor(private readonly inner: Link, private readonly writer: PcapngWriter, private readonly clock: Clock) {
    this.ifId = writer.addInterface(inner.name);
  }
  get name(): string { return this.inner.name; }
  get caps(): LinkCaps { return this.inner.caps; }
  transmit(batch: readonly Mbuf[], count: number, now: Instant): void {
    const ts = this.clock.wallMicros();
    for (let i = 0; i < count; i++) this.writer.writePacket(this.ifId, ts, batch[i]!, EPB_DIR_OUTBOUND);
    this.inner.transmit(batch, count, now);
  }
  setReceiver(rx: LinkReceiver | null): void {
    this.inner.setReceiver(rx === null ? null : new PcapReceiver(rx, this.writer, this.ifId, this.clock));
  }
}

class PcapReceiver implements LinkReceiver {
  constructor(
    private readonly rx: LinkReceiver,
    private readonly writer: PcapngWriter,
    private readonly ifId: number,
    private readonly clock: Clock,
  ) {}
  get pool(): MbufPool { return this.rx.pool; }
  receiveBatch(batch: Mbuf[], count: number, now: Instant): void {
    const ts = this.clock.wallMicros();
    for (let i = 0; i < count; i++) this.writer.writePacket(this.ifId, ts, batch[i]!, EPB_DIR_INBOUND);
    this.rx.receiveBatch(batch, count, now);
  }
}
