// The link contract: how the IP layer hands packets to a link and how a link hands packets up.
// egress:  ip/output.ts → Link.transmit(batch) → (TUN addon | MemoryLinkPair | SimNetwork port)
// ingress: (TUN addon | MemoryLinkPair.poll | SimNetwork.poll) → LinkReceiver.receiveBatch(batch) → ip/input.ts
// Links move batches (one call per wakeup, not per packet) and never call back synchronously from
// transmit: delivery happens when the driver polls, so a stack is never re-entered by its own send.

import type { Mbuf, MbufPool } from '../mbuf/index.js';
import type { Instant } from '../time/index.js';

export interface LinkCaps {
  readonly mtu: number;               // largest IP packet the link carries
  readonly tsoMaxBytes: number;       // >0: accepts TCP super-segments up to this size with gsoType/gsoSize set (segmentation offload); 0: none
  readonly txCsumOffload: boolean;    // may hand packets with CSUM_NEEDS (transport checksum left to the link)
  readonly rxCsumValid: boolean;      // marks received packets CSUM_DATA_VALID
}

/** A plain link: 1500-byte MTU, no offloads. */
export const DEFAULT_LINK_CAPS: LinkCaps = { mtu: 1500, tsoMaxBytes: 0, txCsumOffload: false, rxCsumValid: false };

/** What a Linux TUN with IFF_VNET_HDR (TSO4/TSO6, checksum offload) offers. */
export const OFFLOAD_LINK_CAPS: LinkCaps = { mtu: 1500, tsoMaxBytes: 65536, txCsumOffload: true, rxCsumValid: true };

export interface LinkReceiver {
  readonly pool: MbufPool;            // the receiving stack's pool: links copy/convert packets into it
  /** Takes ownership of batch[0..count). The array is the link's and is reused after return. */
  receiveBatch(batch: Mbuf[], count: number, now: Instant): void;
}

export interface Link {
  readonly name: string;
  readonly caps: LinkCaps;
  /** Takes ownership of batch[0..count) (each a packet-header mbuf chain holding one IP packet); the array stays the caller's. */
  transmit(batch: readonly Mbuf[], count: number, now: Instant): void;
  setReceiver(rx: LinkReceiver | null): void;
}

/** Anything the simulation loop drives: it says when it next needs time and is polled then. */
export interface Pollable { pollAt(): Instant | null; poll(now: Instant): void; }

/** The drop counters of LinkStats, by the name a report prints. */
export type LinkDropReason =
  | 'too-big' | 'no-route' | 'malformed' | 'offload-unsupported' | 'no-buffers'
  | 'no-receiver' | 'queue-full' | 'loss';

/**
 * Per-link counters. Each moves exactly when its comment says. For a SimNetwork port, tx* and the
 * ingress drops (no-route, malformed, offload-unsupported, ingress too-big, no-buffers at ingress)
 * count on the sending port; rx*, impairment drops and delivery drops on the receiving port.
 */
export class LinkStats {
  /** Packets handed to transmit() (a TSO super-packet counts once), before any drop. */
  txPackets = 0;
  /** Bytes of those packets (IP header included, no link-layer framing). */
  txBytes = 0;
  /** Packets handed to the receiver's receiveBatch (each TSO segment counts). */
  rxPackets = 0;
  /** Bytes of those packets. */
  rxBytes = 0;

  /** 'too-big': larger than the link MTU (or a port's `mtu` impairment), or a TSO packet above tsoMaxBytes. */
  dropTooBig = 0;
  /** 'no-route': no SimNetwork port (other than the sender's) owns the destination address. */
  dropNoRoute = 0;
  /** 'malformed': not an IPv4/IPv6 packet the link can route or offload (short, bad version or header length). */
  dropMalformed = 0;
  /** 'offload-unsupported': asks for an offload the link did not advertise (CSUM_NEEDS without txCsumOffload, GSO without tsoMaxBytes, GSO other than TCP). */
  dropOffloadUnsupported = 0;
  /** 'no-buffers': the pool a copy was to go into (receiver's or network's) was exhausted. */
  dropNoBuffers = 0;
  /** 'no-receiver': a packet was due for delivery while no receiver was set. */
  dropNoReceiver = 0;
  /** 'queue-full': tail drop at a full queue (pair's queueLimit, port's queueLimitBytes, network's maxInFlight). */
  dropQueueFull = 0;
  /** 'loss': dropped by the random loss impairment. */
  dropLoss = 0;

  /** Impairment events, not drops: an extra copy was queued by the duplicate impairment. */
  duplicated = 0;
  /** A packet was delivered with one bit flipped by the corrupt impairment. */
  corrupted = 0;
  /** A packet was held back by reorderDelayMs by the reorder impairment. */
  reordered = 0;
  /** An ECT packet's ECN field was set to CE by the ceMark / ceThresholdBytes impairment (RFC 3168). */
  ceMarked = 0;

  /** Sum of all drop counters. */
  get drops(): number {
    return this.dropTooBig + this.dropNoRoute + this.dropMalformed + this.dropOffloadUnsupported
      + this.dropNoBuffers + this.dropNoReceiver + this.dropQueueFull + this.dropLoss;
  }

  /** The drop counters by reason (for reports and tests; allocates). */
  dropsByReason(): Record<LinkDropReason, number> {
    return {
      'too-big': this.dropTooBig, 'no-route': this.dropNoRoute, malformed: this.dropMalformed,
      'offload-unsupported': this.dropOffloadUnsupported, 'no-buffers': this.dropNoBuffers,
      'no-receiver': this.dropNoReceiver, 'queue-full': this.dropQueueFull, loss: this.dropLoss,
    };
  }

  /** Adds every counter of `o` into this one (totals over several ports). */
  add(o: LinkStats): void {
    this.txPackets += o.txPackets; this.txBytes += o.txBytes;
    this.rxPackets += o.rxPackets; this.rxBytes += o.rxBytes;
    this.dropTooBig += o.dropTooBig; this.dropNoRoute += o.dropNoRoute; this.dropMalformed += o.dropMalformed;
    this.dropOffloadUnsupported += o.dropOffloadUnsupported; this.dropNoBuffers += o.dropNoBuffers;
    this.dropNoReceiver += o.dropNoReceiver; this.dropQueueFull += o.dropQueueFull; this.dropLoss += o.dropLoss;
    this.duplicated += o.duplicated; this.corrupted += o.corrupted; this.reordered += o.reordered;
    this.ceMarked += o.ceMarked;
  }
}

/** Caps with defaults filled in and sanity-checked (configuration, so a bad value throws). */
export function resolveCaps(c: Partial<LinkCaps> | undefined, base: LinkCaps = DEFAULT_LINK_CAPS): LinkCaps {
  const caps: LinkCaps = { ...base, ...c };
  if (!Number.isInteger(caps.mtu) || caps.mtu < 68 || caps.mtu > 65535) {
    throw new Error(`link mtu must be an integer in [68, 65535], got ${caps.mtu}`);
  }
  if (!Number.isInteger(caps.tsoMaxBytes) || caps.tsoMaxBytes < 0 || caps.tsoMaxBytes > 65536) {
    throw new Error(`tsoMaxBytes must be an integer in [0, 65536], got ${caps.tsoMaxBytes}`);
  }
  return caps;
}
