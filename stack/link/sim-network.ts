// SimNetwork: an L3 switch joining N simulated hosts, deterministic for a seed. Each host gets a
// port (a Link). A packet a host transmits is copied into the network's own pool (resolving the
// port's offloads, as the kernel behind a TUN would), routed by destination address to the port
// owning it, put through that port's impairments and held in one in-flight min-heap until its
// delivery time; poll() copies due packets into the receiver's pool, one receiveBatch per port.
//
// Impairments are applied on the way TO the host of the port that has them (the switch's egress
// toward it), in this order: mtu → loss → bandwidth queue (tail drop) → ECN marking (CE instead of
// a drop, for ECT packets: by probability or above a queue length, like an AQM) → delay + jitter →
// reorder → duplicate, with corrupt decided per copy and applied while copying into the receiver's pool.
// For a symmetric path impairment, configure both ends. Random draws come from a SeededRng forked
// per port (in attach order) from the network's seed, and only for impairments that are enabled.

import { IpCidr } from '../wire/ip-addr.js';
import type { IpAddr } from '../wire/ip-addr.js';
import { mCopydata, mCopym, mFreem, mLength, MbufPool } from '../mbuf/index.js';
import type { Mbuf, MbufPoolLimits } from '../mbuf/index.js';
import { SeededRng } from '../random/rng.js';
import type { Instant } from '../time/index.js';
import { LinkStats, resolveCaps } from './link.js';
import type { Link, LinkCaps, LinkReceiver, Pollable } from './link.js';
import { countOffloadFailure, OffloadEngine } from './offload.js';
import { DeliveryQueue } from './delivery-queue.js';

/** Per-port impairments, all optional (absent = off). Probabilities are in [0, 1]. */
export interface Impairments {
  /** Probability a packet is dropped ('loss'). */
  readonly loss?: number;
  /** Fixed one-way delay added to every packet. */
  readonly delayMs?: number;
  /** Uniform extra delay in [0, jitterMs) (delivery times round up to a microsecond); packets may overtake each other, as under netem. */
  readonly jitterMs?: number;
  /** Probability a packet is held back an extra reorderDelayMs, so later packets overtake it. */
  readonly reorder?: number;
  /** Extra delay of a reordered packet (default 10 ms). */
  readonly reorderDelayMs?: number;
  /** Probability a packet is delivered twice (the copy right after the original, no extra bandwidth). */
  readonly duplicate?: number;
  /** Probability one uniformly chosen bit of the packet is flipped. */
  readonly corrupt?: number;
  /** Serialization rate of the port toward its host in bits/s (IP bytes, no framing); 0/absent = infinite. */
  readonly bandwidthBps?: number;
  /** With bandwidthBps: most bytes waiting (incl. the one being serialized); beyond, tail drop ('queue-full'). 0/absent = unbounded. */
  readonly queueLimitBytes?: number;
  /** Packets larger are dropped ('too-big') and nothing else is sent: the stacks must fragment. */
  readonly mtu?: number;
  /**
   * ECN marking (RFC 3168 §5), as an AQM router does instead of dropping: the probability a packet
   * whose ECN field is ECT(0) or ECT(1) is marked CE ('ceMarked'). Not-ECT packets are never touched.
   */
  readonly ceMark?: number;
  /**
   * With bandwidthBps: an ECT packet that finds at least this many bytes queued ahead of it (the one
   * being serialized included) is marked CE — a step marker on the queue length, as DCTCP-style AQMs
   * use. Not-ECT packets just queue (and tail-drop at queueLimitBytes). 0/absent = off.
   */
  readonly ceThresholdBytes?: number;
}

export interface SimNetworkOptions {
  /** Seed of the network's randomness (default 1). Ignored when `rng` is given. */
  readonly seed?: number;
  /** A stream to fork the ports' streams from (e.g. `simulation.rng.fork()`). */
  readonly rng?: SeededRng;
  /** Limits of the network's own pool, which holds every in-flight packet. */
  readonly poolLimits?: MbufPoolLimits;
  /** Most packets in flight at once across the network; beyond, tail drop ('queue-full'). Default 100000. */
  readonly maxInFlight?: number;
  /** IPv4 subnets whose directed-broadcast address is flooded (attached IpCidrs' are added too). */
  readonly subnets?: readonly IpCidr[];
}

interface Route {
  readonly port: SimPort;
  readonly family: 4 | 6;
  readonly prefix: IpCidr;
}

/** The packet's ECN field is ECT(0) or ECT(1) (a CE packet stays CE, Not-ECT is never marked). */
function markableEct(m: Mbuf): boolean {
  const b = m.buf;
  const o = m.data;
  const ecn = (b[o]! >>> 4) === 4 ? b[o + 1]! & 3 : (b[o + 1]! >>> 4) & 3;
  return ecn === 1 || ecn === 2;
}

/** Sets the ECN field to CE (IPv4: TOS low bits, header checksum redone; IPv6: traffic class low bits). */
function markCe(m: Mbuf): void {
  const b = m.buf;
  const o = m.data;
  if ((b[o]! >>> 4) === 6) {
    b[o + 1] = b[o + 1]! | 0x30;
    return;
  }
  b[o + 1] = b[o + 1]! | 3;
  const hl = (b[o]! & 15) * 4;
  b[o + 10] = 0;
  b[o + 11] = 0;
  let sum = 0;
  for (let i = 0; i < hl; i += 2) sum += (b[o + i]! << 8) | b[o + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  b[o + 10] = c >>> 8;
  b[o + 11] = c & 0xff;
}

/** Impairments in the units the hot path uses. */
class PortImpairments {
  loss = 0; delayUs = 0; jitterUs = 0; reorder = 0; reorderDelayUs = 10_000; duplicate = 0; corrupt = 0;
  bandwidthBps = 0; queueLimitBytes = 0; mtu = Infinity; ceMark = 0; ceThresholdBytes = 0;

  constructor(i: Impairments) {
    const prob = (name: string, v: number | undefined): number => {
      if (v === undefined) return 0;
      if (!(v >= 0 && v <= 1)) throw new Error(`impairment ${name} must be a probability in [0, 1], got ${v}`);
      return v;
    };
    const nonneg = (name: string, v: number | undefined): number => {
      if (v === undefined) return 0;
      if (!(v >= 0 && Number.isFinite(v))) throw new Error(`impairment ${name} must be a finite number >= 0, got ${v}`);
      return v;
    };
    this.loss = prob('loss', i.loss);
    this.reorder = prob('reorder', i.reorder);
    this.duplicate = prob('duplicate', i.duplicate);
    this.corrupt = prob('corrupt', i.corrupt);
    this.delayUs = nonneg('delayMs', i.delayMs) * 1000;
    this.jitterUs = nonneg('jitterMs', i.jitterMs) * 1000;
    if (i.reorderDelayMs !== undefined) this.reorderDelayUs = nonneg('reorderDelayMs', i.reorderDelayMs) * 1000;
    this.bandwidthBps = nonneg('bandwidthBps', i.bandwidthBps);
    this.queueLimitBytes = nonneg('queueLimitBytes', i.queueLimitBytes);
    this.ceMark = prob('ceMark', i.ceMark);
    this.ceThresholdBytes = nonneg('ceThresholdBytes', i.ceThresholdBytes);
    if (i.mtu !== undefined) {
      if (!(Number.isInteger(i.mtu) && i.mtu >= 1)) throw new Error(`impairment mtu must be a positive integer, got ${i.mtu}`);
      this.mtu = i.mtu;
    }
  }
}

/** One host's attachment to a SimNetwork. */
export class SimPort implements Link {
  readonly stats = new LinkStats();
  receiver: LinkReceiver | null = null;
  /** @internal */
  imp: PortImpairments;
  /** @internal Largest packet delivered to the host: min(caps.mtu, mtu impairment). */
  egressMtu: number;
  /** @internal When the serializer toward the host is next free (fractional microseconds). */
  busyUntil = 0;
  /** @internal The batch array handed to the receiver. */
  readonly rxBatch: Mbuf[] = [];
  /** @internal */
  rxCount = 0;

  constructor(
    private readonly net: SimNetwork,
    readonly index: number,
    readonly name: string,
    readonly caps: LinkCaps,
    imp: Impairments,
    /** @internal This port's random stream. */
    readonly rng: SeededRng,
  ) {
    this.imp = new PortImpairments(imp);
    this.egressMtu = Math.min(caps.mtu, this.imp.mtu);
  }

  transmit(batch: readonly Mbuf[], count: number, now: Instant): void { this.net.ingress(this, batch, count, now); }

  setReceiver(rx: LinkReceiver | null): void { this.receiver = rx; }

  /** Replaces this port's impairments (e.g. loss 1 for a partition); packets already in flight keep their fate. */
  setImpairments(i: Impairments): void {
    this.imp = new PortImpairments(i);
    this.egressMtu = Math.min(this.caps.mtu, this.imp.mtu);
  }
}

export class SimNetwork implements Pollable {
  readonly seed: number;
  /** The network's pool: in-flight packets live here between transmit and delivery. */
  readonly pool: MbufPool;
  private readonly rng: SeededRng;
  private readonly ports: SimPort[] = [];
  private readonly routes: Route[] = [];
  private readonly bcast4: number[] = [0xffffffff];
  private readonly queue = new DeliveryQueue<SimPort>();
  private readonly offload = new OffloadEngine();
  private readonly segs: Mbuf[] = [];
  private readonly maxInFlight: number;
  private polling = false;

  constructor(opts: SimNetworkOptions = {}) {
    this.rng = opts.rng ?? new SeededRng(opts.seed ?? 1);
    this.seed = this.rng.seed;
    this.pool = new MbufPool(opts.poolLimits);
    this.maxInFlight = opts.maxInFlight ?? 100_000;
    for (const s of opts.subnets ?? []) this.addBroadcast(s);
  }

  /**
   * Connects a host owning `addrs` and returns its Link. An IpAddr owns that address; an IpCidr
   * `a/n` owns `a` exactly and, at lower priority, the whole prefix (longest prefix wins, ties go to
   * the port attached first), and its IPv4 directed broadcast is flooded. Throws on a duplicate name.
   */
  attach(name: string, addrs: readonly (IpAddr | IpCidr)[], impairments: Impairments = {}, caps?: Partial<LinkCaps>): SimPort {
    if (this.ports.some((p) => p.name === name)) throw new Error(`SimNetwork: port ${name} already attached`);
    const port = new SimPort(this, this.ports.length, name, resolveCaps(caps), impairments, this.rng.fork());
    this.ports.push(port);
    for (const a of addrs) {
      if (a instanceof IpCidr) {
        const full = a.addr.family === 4 ? 32 : 128;
        this.routes.push({ port, family: a.addr.family, prefix: new IpCidr(a.addr, full) });
        if (a.prefixLen < full) this.routes.push({ port, family: a.addr.family, prefix: a });
        this.addBroadcast(a);
      } else {
        this.routes.push({ port, family: a.family, prefix: new IpCidr(a, a.family === 4 ? 32 : 128) });
      }
    }
    return port;
  }

  /** The port attached under `name`; throws when there is none (test setup error). */
  port(name: string): SimPort {
    const p = this.ports.find((x) => x.name === name);
    if (p === undefined) throw new Error(`SimNetwork: no port ${name}`);
    return p;
  }

  /** Packets in flight. */
  get inFlight(): number { return this.queue.size; }

  /** Every port's counters summed. */
  totals(): LinkStats {
    const t = new LinkStats();
    for (const p of this.ports) t.add(p.stats);
    return t;
  }

  pollAt(): Instant | null { return this.queue.peekTime(); }

  /** Delivers every packet due at or before `now`: one receiveBatch per port, in attach order. */
  poll(now: Instant): void {
    if (this.polling) return; // re-entered from a receiver: what it sent is delivered on the next poll
    this.polling = true;
    try {
      for (let r = this.queue.popDue(now); r !== null; r = this.queue.popDue(now)) {
        this.deliverOne(r.port!, r.m!, r.corruptBit);
        this.queue.release(r);
      }
      const ports = this.ports;
      for (let i = 0; i < ports.length; i++) {
        const p = ports[i]!;
        const n = p.rxCount;
        if (n === 0) continue;
        p.rxCount = 0;
        const rx = p.receiver;
        if (rx !== null) {
          rx.receiveBatch(p.rxBatch, n, now);
        } else {
          // An earlier port's receiver detached this one while handling its batch.
          for (let j = 0; j < n; j++) {
            const m = p.rxBatch[j]!;
            p.stats.rxBytes -= m.len;
            mFreem(m);
          }
          p.stats.rxPackets -= n;
          p.stats.dropNoReceiver += n;
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** @internal SimPort.transmit. */
  ingress(from: SimPort, batch: readonly Mbuf[], count: number, now: Instant): void {
    const segs = this.segs;
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      const n = this.offload.materialize(m, this.pool, from.caps, segs, 0);
      from.stats.txPackets++;
      from.stats.txBytes += mLength(m);
      mFreem(m);
      if (n < 0) {
        countOffloadFailure(from.stats, n);
        continue;
      }
      for (let j = 0; j < n; j++) this.route(from, segs[j]!, now);
    }
  }

  private route(from: SimPort, m: Mbuf, now: Instant): void {
    const b = m.buf;
    const o = m.data;
    const v = m.len >= 20 ? b[o]! >>> 4 : 0;
    let dst: number;
    if (v === 4) {
      dst = o + 16;
      const d = ((b[dst]! << 24) | (b[dst + 1]! << 16) | (b[dst + 2]! << 8) | b[dst + 3]!) >>> 0;
      if ((d & 0xf0000000) >>> 0 === 0xe0000000 || this.bcast4.includes(d)) return this.flood(from, m, now);
    } else if (v === 6 && m.len >= 40) {
      dst = o + 24;
      if (b[dst] === 0xff) return this.flood(from, m, now);
    } else {
      from.stats.dropMalformed++;
      mFreem(m);
      return;
    }
    let best: Route | null = null;
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.family !== v || r.port === from) continue;
      if (best !== null && r.prefix.prefixLen <= best.prefix.prefixLen) continue;
      if (r.prefix.containsBytes(b, dst)) best = r;
    }
    if (best === null) {
      from.stats.dropNoRoute++;
      mFreem(m);
      return;
    }
    this.egress(best.port, m, now);
  }

  /** Broadcast and multicast: a copy to every port but the sender's, in attach order. */
  private flood(from: SimPort, m: Mbuf, now: Instant): void {
    let last: SimPort | null = null;
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p === from) continue;
      if (last !== null) {
        const c = mCopym(m, 0, null);
        if (c === null) last.stats.dropNoBuffers++;
        else this.egress(last, c, now);
      }
      last = p;
    }
    if (last === null) mFreem(m);
    else this.egress(last, m, now);
  }

  /** The impairments of `port`, toward its host; then into the in-flight heap. */
  private egress(port: SimPort, m: Mbuf, now: Instant): void {
    const imp = port.imp;
    const rng = port.rng;
    const st = port.stats;
    const len = m.len;
    if (len > port.egressMtu) {
      st.dropTooBig++;
      mFreem(m);
      return;
    }
    if (imp.loss > 0 && rng.nextFloat() < imp.loss) {
      st.dropLoss++;
      mFreem(m);
      return;
    }
    if (this.queue.size >= this.maxInFlight) {
      st.dropQueueFull++;
      mFreem(m);
      return;
    }
    let t = now;
    let backlogBytes = 0;
    if (imp.bandwidthBps > 0) {
      const start = port.busyUntil > now ? port.busyUntil : now;
      backlogBytes = ((start - now) * imp.bandwidthBps) / 8e6;
      if (imp.queueLimitBytes > 0 && backlogBytes + len > imp.queueLimitBytes) {
        st.dropQueueFull++;
        mFreem(m);
        return;
      }
      port.busyUntil = start + (len * 8e6) / imp.bandwidthBps;
      t = port.busyUntil;
    }
    if ((imp.ceMark > 0 || imp.ceThresholdBytes > 0) && markableEct(m) &&
        ((imp.ceThresholdBytes > 0 && imp.bandwidthBps > 0 && backlogBytes >= imp.ceThresholdBytes) ||
         (imp.ceMark > 0 && rng.nextFloat() < imp.ceMark))) {
      markCe(m);
      st.ceMarked++;
    }
    let delay = imp.delayUs;
    if (imp.jitterUs > 0) delay += rng.nextFloat() * imp.jitterUs;
    if (imp.reorder > 0 && rng.nextFloat() < imp.reorder) {
      delay += imp.reorderDelayUs;
      st.reordered++;
    }
    const at = Math.ceil(t + delay);
    const corruptBit = imp.corrupt > 0 && rng.nextFloat() < imp.corrupt ? rng.below(len * 8) : -1;
    this.queue.push(at, port, m, corruptBit);
    if (imp.duplicate > 0 && rng.nextFloat() < imp.duplicate) {
      const c = mCopym(m, 0, null);
      if (c === null) {
        st.dropNoBuffers++;
        return;
      }
      st.duplicated++;
      const bit = imp.corrupt > 0 && rng.nextFloat() < imp.corrupt ? rng.below(len * 8) : -1;
      this.queue.push(at, port, c, bit);
    }
  }

  /** Copies one due packet into the receiver's pool and onto the port's batch. */
  private deliverOne(port: SimPort, m: Mbuf, corruptBit: number): void {
    const rx = port.receiver;
    const len = m.len;
    if (rx === null) {
      port.stats.dropNoReceiver++;
      mFreem(m);
      return;
    }
    const c = rx.pool.getPacket(len);
    if (c === null) {
      port.stats.dropNoBuffers++;
      mFreem(m);
      return;
    }
    mCopydata(m, 0, len, c.buf, c.data);
    mFreem(m);
    c.len = len;
    c.pktLen = len;
    if (corruptBit >= 0) {
      c.buf[c.data + (corruptBit >>> 3)]! ^= 1 << (corruptBit & 7);
      port.stats.corrupted++;
    }
    if (port.caps.rxCsumValid) this.offload.markRxChecksum(c);
    port.stats.rxPackets++;
    port.stats.rxBytes += len;
    port.rxBatch[port.rxCount++] = c;
  }

  private addBroadcast(c: IpCidr): void {
    const b = c.broadcast;
    if (b !== null && !this.bcast4.includes(b.v4)) this.bcast4.push(b.v4);
  }
}
