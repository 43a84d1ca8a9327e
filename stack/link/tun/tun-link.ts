// TunLink: the Link over a Linux TUN device, through our Node-API addon (tun-native.ts).
// ingress: kernel → read() per ready packet into a slot of the shared rx buffer (native, one batch
//   per uv_poll wakeup) → onBatch → one mbuf per packet (zero-copy over the slot, or copied) →
//   LinkReceiver.receiveBatch once per wakeup.
// egress: Ifnet.flush → transmit(batch) → copy each chain (with its virtio_net_hdr) into the
//   shared tx buffer → one native write call per batch (sequential write()s inside).
//
// Zero-copy receive: the rx buffer is `ringSlots` slots (each one packet, 64 KB + header with
// offloads) plus `batchMax` overflow slots. A free-slot stack lives in a shared Int32Array: native
// pops a slot per read; a packet larger than `copyBelow` becomes an mbuf over an external Cluster
// on its slot, which goes back on the stack when the stack frees the last reference (ClusterOwner).
// When every ring slot is held (say, by socket buffers), native reads into the overflow slots and
// this file copies those packets into pool clusters before returning, so the device never stalls.

import { M_EXT, MHLEN, MT_DATA, Cluster, mCopydata, mFreem, mLength } from '../../mbuf/index.js';
import type { ClusterOwner, Mbuf } from '../../mbuf/index.js';
import { CSUM_NEEDS } from '../../mbuf/index.js';
import type { Clock, Instant } from '../../time/index.js';
import { LinkStats } from '../link.js';
import type { Link, LinkCaps, LinkReceiver } from '../link.js';
import {
  CTL_FREE_BASE, CTL_FREE_COUNT, CTL_RX_ERRNO, CTL_RX_WAKEUPS, CTL_TX_ERRNO, CTL_TX_ERRORS,
  loadTunAddon, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TunAddonMissing,
} from './tun-native.js';
import type { TunAddon } from './tun-native.js';
import { describeOpenError, TunError } from './tun-errors.js';
import { applyVnetHdr, buildVnetHdr, VNET_ERR_UNSUPPORTED, VNET_HDR_LEN, VNET_OK } from './virtio-net-hdr.js';

/** Largest packet the kernel hands over or takes with offloads (a GSO super-packet). */
export const TUN_TSO_MAX_BYTES = 65535;
const OFFLOAD_FLAGS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
/** Packets up to this size in a single mbuf are copied into the tx buffer with a loop. */
const SMALL_TX_COPY = 256;
// Linux errno values, as the addon reports them.
const EINVAL = 22;
const EBADF = 9;
const EBADFD = 77;

export interface TunLinkOptions {
  /** Interface name (at most 15 bytes; a `%d` lets the kernel pick a number). */
  readonly name: string;
  /** IP MTU the stack uses on this link (default 1500). The kernel side is set by device-setup.ts. */
  readonly mtu?: number;
  /** 'auto' (default): offloads when the kernel accepts TUNSETOFFLOAD; 'on': required; 'off': no virtio header at all. */
  readonly offload?: 'auto' | 'on' | 'off';
  /** Stamps received batches. */
  readonly clock: Clock;
  /** Most packets read per wakeup (one JS call each); default 64. */
  readonly batchMax?: number;
  /** Ring slots lent to the stack as zero-copy clusters; default 128 with offloads, 512 without. */
  readonly ringSlots?: number;
  /** Packets of at most this many bytes are copied into the pool (cheaper than holding a slot); default MHLEN. */
  readonly copyBelow?: number;
  /** Told once when the device fails (read error, device removed); the link stops reading then. */
  readonly onError?: (e: TunError) => void;
}

/** Counters specific to the TUN device (LinkStats carries the common ones). */
export class TunStats {
  /** Readiness wakeups that read at least one packet (one JS call each). */
  rxWakeups = 0;
  /** Packets handed up as mbufs over their read slot (no copy). */
  rxZeroCopy = 0;
  /** Packets copied into the pool because they were small (<= copyBelow). */
  rxCopiedSmall = 0;
  /** Packets copied because every ring slot was held by the stack (read into an overflow slot). */
  rxCopiedOverflow = 0;
  /** Native write calls (each writes one output batch or part of it). */
  txCalls = 0;
  /** write() failures reported by the device (counted in LinkStats as queue-full or malformed too). */
  txErrors = 0;
  /** errno of the last failed write, 0 when none. */
  lastTxErrno = 0;
}

export class TunLink implements Link, ClusterOwner {
  readonly name: string;
  readonly caps: LinkCaps;
  readonly stats = new LinkStats();
  readonly tunStats = new TunStats();
  /** Whether the virtio_net_hdr is on (the device was opened with IFF_VNET_HDR). */
  readonly vnetHdr: boolean;
  /** Called after every received batch was handed up (the real-time driver re-arms its timer there). */
  afterReceive: (() => void) | null = null;

  private receiver: LinkReceiver | null = null;
  private closed = false;
  private readonly vnetLen: number;
  private readonly slotSize: number;
  private readonly ringSlots: number;
  private readonly batchMax: number;
  private readonly copyBelow: number;
  private readonly rxBuf: ArrayBuffer;
  private readonly rxU8: Uint8Array;
  private readonly ctl: Int32Array;
  private readonly meta: Int32Array;
  private readonly clusters: Cluster[] = [];
  private readonly batch: Mbuf[] = [];
  private readonly txU8: Uint8Array;
  private readonly txMeta: Int32Array;
  private readonly txMax: number;
  private lastTxErrors = 0;
  private lastWakeups = 0;

  private constructor(
    private readonly addon: TunAddon,
    private readonly handle: object,
    name: string,
    offloads: boolean,
    vnet: boolean,
    private readonly clock: Clock,
    private readonly opts: TunLinkOptions,
  ) {
    this.name = name;
    this.vnetHdr = vnet;
    this.vnetLen = vnet ? VNET_HDR_LEN : 0;
    const mtu = opts.mtu ?? 1500;
    this.caps = offloads
      ? { mtu, tsoMaxBytes: TUN_TSO_MAX_BYTES, txCsumOffload: true, rxCsumValid: true }
      : { mtu, tsoMaxBytes: 0, txCsumOffload: false, rxCsumValid: false };
    const biggest = offloads ? TUN_TSO_MAX_BYTES + 1 : mtu;
    this.slotSize = (this.vnetLen + biggest + 63) & ~63;
    this.ringSlots = opts.ringSlots ?? (offloads ? 128 : 512);
    this.batchMax = opts.batchMax ?? 64;
    this.copyBelow = opts.copyBelow ?? MHLEN;
    this.rxBuf = new ArrayBuffer((this.ringSlots + this.batchMax) * this.slotSize);
    this.rxU8 = new Uint8Array(this.rxBuf);
    this.ctl = new Int32Array(CTL_FREE_BASE + this.ringSlots);
    this.meta = new Int32Array(2 * this.batchMax);
    for (let s = 0; s < this.ringSlots; s++) {
      this.clusters.push(new Cluster(this.rxU8, s * this.slotSize, this.slotSize, this));
      // Highest slot at the bottom of the stack, so slot 0 is used first.
      this.ctl[CTL_FREE_BASE + s] = this.ringSlots - 1 - s;
    }
    this.ctl[CTL_FREE_COUNT] = this.ringSlots;
    const txBytes = offloads ? 4 << 20 : Math.max(256 << 10, 256 * (this.slotSize + 8));
    const txBuf = new ArrayBuffer(txBytes);
    this.txU8 = new Uint8Array(txBuf);
    this.txMax = 1024;
    this.txMeta = new Int32Array(2 * this.txMax);
    addon.start(handle, this.rxBuf, this.ctl, this.meta, txBuf, this.txMeta, this.slotSize, this.ringSlots, this.batchMax, this.onBatch);
  }

  /**
   * Opens (creates, or attaches to a persistent) TUN device `opts.name` and starts reading.
   * Throws TunError with a one-line message naming the fix (no device, no CAP_NET_ADMIN, name in use...).
   */
  static open(opts: TunLinkOptions): TunLink {
    const addon = loadTunAddon();
    if (addon instanceof TunAddonMissing) throw new TunError(addon.code, addon.message);
    const mode = opts.offload ?? 'auto';
    let r;
    try {
      r = addon.open(opts.name, mode !== 'off', mode === 'off' ? 0 : OFFLOAD_FLAGS);
    } catch (e) {
      throw describeOpenError(e, opts.name);
    }
    const offloads = r.offload === OFFLOAD_FLAGS;
    if (mode === 'on' && !offloads) {
      addon.close(r.handle);
      throw new TunError('ENOTSUP', `the kernel refused TUN offloads (TUNSETOFFLOAD csum/tso4/tso6) on ${r.name}: run with --offload off`);
    }
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      addon.close(r.handle);
      throw new TunError('EINVAL', `TUN MTU must be an integer in [68, 65535], got ${mtu}`);
    }
    return new TunLink(addon, r.handle, r.name, offloads, mode !== 'off', opts.clock, opts);
  }

  get isClosed(): boolean { return this.closed; }

  /** Ring slots currently lent to the stack as zero-copy clusters. */
  get slotsInUse(): number { return this.ringSlots - this.ctl[CTL_FREE_COUNT]!; }

  setReceiver(rx: LinkReceiver | null): void { this.receiver = rx; }

  /** Stops reading and closes the fd; a device this process created disappears with it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }

  // ---- receive ----

  /** ClusterOwner: the stack freed the last reference to a slot's cluster; the slot can be read into again. */
  releaseCluster(c: Cluster): void {
    this.freeSlot((c.start / this.slotSize) | 0);
  }

  private freeSlot(slot: number): void {
    const ctl = this.ctl;
    const n = ctl[CTL_FREE_COUNT]!;
    if (slot < 0 || slot >= this.ringSlots || n >= this.ringSlots) return; // overflow slot, or a double release
    ctl[CTL_FREE_BASE + n] = slot;
    ctl[CTL_FREE_COUNT] = n + 1;
  }

  private readonly onBatch = (count: number, errno: number): void => {
    if (count > 0 && !this.closed) this.receive(count);
    if (errno !== 0 && !this.closed) {
      const gone = errno === EBADF || errno === EBADFD;
      const e = new TunError(`E${errno}`, `TUN device ${this.name} failed (errno ${errno}${gone ? ': the device was removed' : ''}); it no longer receives`);
      this.opts.onError?.(e);
    }
    const w = this.ctl[CTL_RX_WAKEUPS]!;
    this.tunStats.rxWakeups += w - this.lastWakeups;
    this.lastWakeups = w;
    if (this.afterReceive !== null) this.afterReceive();
  };

  private receive(count: number): void {
    const rx = this.receiver;
    const meta = this.meta;
    const st = this.stats;
    if (rx === null) {
      for (let i = 0; i < count; i++) {
        st.dropNoReceiver++;
        this.freeSlot(meta[2 * i]!);
      }
      return;
    }
    const pool = rx.pool;
    const u8 = this.rxU8;
    const vnet = this.vnetLen;
    const ts = this.tunStats;
    const batch = this.batch;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const slot = meta[2 * i]!;
      const base = slot * this.slotSize;
      const len = meta[2 * i + 1]! - vnet;
      if (len < 20) { // shorter than any IP header (or only a virtio header)
        st.dropMalformed++;
        this.freeSlot(slot);
        continue;
      }
      const ring = slot < this.ringSlots;
      let m: Mbuf | null;
      if (ring && len > this.copyBelow) {
        m = pool.getHdr(MT_DATA);
        if (m === null) {
          st.dropNoBuffers++;
          this.freeSlot(slot);
          continue;
        }
        // The cluster spans just this packet, so socket buffers charge (sb_mbcnt) what it holds,
        // not the whole 64 KB slot: a 1448-byte segment must not eat 64 KB of window.
        const c = this.clusters[slot]!;
        c.size = vnet + len;
        pool.attachExternal(m, c);
        m.data = base + vnet;
        ts.rxZeroCopy++;
      } else {
        m = pool.getPacket(len, MT_DATA);
        if (m === null) {
          st.dropNoBuffers++;
          this.freeSlot(slot);
          continue;
        }
        const dst = m.buf;
        const d = m.data, s = base + vnet;
        if (len <= 256) for (let j = 0; j < len; j++) dst[d + j] = u8[s + j]!;
        else dst.set(u8.subarray(s, s + len), d);
        if (ring) {
          this.freeSlot(slot);
          ts.rxCopiedSmall++;
        } else {
          ts.rxCopiedOverflow++;
        }
      }
      m.len = len;
      m.pktLen = len;
      if (vnet !== 0) applyVnetHdr(u8, base, m);
      st.rxPackets++;
      st.rxBytes += len;
      batch[k++] = m;
    }
    if (k > 0) rx.receiveBatch(batch, k, this.clock.now());
  }

  // ---- transmit ----

  transmit(batch: readonly Mbuf[], count: number, _now: Instant): void {
    const st = this.stats;
    const caps = this.caps;
    const tx = this.txU8;
    const txMeta = this.txMeta;
    const vnet = this.vnetLen;
    let pos = 0;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      const len = m.hasPkthdr ? m.pktLen : mLength(m);
      st.txPackets++;
      st.txBytes += len;
      if (this.closed) {
        st.dropNoReceiver++;
        mFreem(m);
        continue;
      }
      if (m.gsoType !== 0 ? caps.tsoMaxBytes === 0 : (m.csumFlags & CSUM_NEEDS) !== 0 && !caps.txCsumOffload) {
        st.dropOffloadUnsupported++;
        mFreem(m);
        continue;
      }
      if (m.gsoType !== 0 ? len > caps.tsoMaxBytes : len > caps.mtu) {
        st.dropTooBig++;
        mFreem(m);
        continue;
      }
      const need = vnet + len;
      if (k === this.txMax || pos + need > tx.length) {
        this.flushTx(k);
        pos = 0;
        k = 0;
      }
      if (m.next === null && len <= m.len && len <= SMALL_TX_COPY) {
        // One small mbuf (ACKs, small messages): a loop, no view allocated as mCopydata would.
        const src = m.buf;
        const s = m.data, d = pos + vnet;
        for (let j = 0; j < len; j++) tx[d + j] = src[s + j]!;
      } else if (!mCopydata(m, 0, len, tx, pos + vnet)) {
        st.dropMalformed++;
        mFreem(m);
        continue;
      }
      if (vnet !== 0) {
        const r = buildVnetHdr(tx, pos, len, m);
        if (r !== VNET_OK) {
          if (r === VNET_ERR_UNSUPPORTED) st.dropOffloadUnsupported++;
          else st.dropMalformed++;
          mFreem(m);
          continue;
        }
      }
      mFreem(m);
      txMeta[2 * k] = pos;
      txMeta[2 * k + 1] = need;
      k++;
      pos = (pos + need + 7) & ~7;
    }
    if (k > 0) this.flushTx(k);
  }

  private flushTx(k: number): void {
    if (k === 0) return;
    this.tunStats.txCalls++;
    this.addon.write(this.handle, k);
    const errs = this.ctl[CTL_TX_ERRORS]!;
    const failed = errs - this.lastTxErrors;
    if (failed > 0) {
      this.lastTxErrors = errs;
      const errno = this.ctl[CTL_TX_ERRNO]!;
      this.tunStats.txErrors += failed;
      this.tunStats.lastTxErrno = errno;
      if (errno === EINVAL) this.stats.dropMalformed += failed;
      else this.stats.dropQueueFull += failed;
    }
  }

  /** errno of the last failed read (0 when none). */
  get lastRxErrno(): number { return this.ctl[CTL_RX_ERRNO]!; }
}

/** True when `m` is an mbuf over one of a TunLink's receive slots (tests). */
export function isTunSlotMbuf(m: Mbuf, link: TunLink): boolean {
  return (m.flags & M_EXT) !== 0 && m.ext !== null && m.ext.owner === link;
}
