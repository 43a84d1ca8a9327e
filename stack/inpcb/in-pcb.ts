// Internet protocol control blocks (bsd/netinet/in_pcb.c, netinet6/in6_pcb.c): local and foreign
// address/port of a UDP or TCP endpoint, the table that finds them for arriving packets, and the
// bind/connect rules of XNU (§6.4): EINVAL on a second bind, EADDRNOTAVAIL for a non-local
// address or an exhausted port range, EADDRINUSE per SO_REUSEADDR/SO_REUSEPORT, RFC 6056 ports.
//
// One table per protocol holds IPv4 and IPv6 PCBs (XNU's inp_vflag); an AF_INET6 socket handles
// IPv6 only (IPV6_V6ONLY is always on: no v4-mapped addresses). The socket is seen through
// InPcbOwner only, so this layer does not depend on the socket layer.
//
// udp/tcp input → InPcbTable.lookupPacket (allocation-free, on packet bytes) → pcb.owner
// udp/tcp usrreq → bind / connect / disconnect / detach

import { IpAddr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';
import type { Rng } from '../random/rng.js';
import { selectEphemeralPort } from './ephemeral-port.js';
import type { PortAvailability } from './ephemeral-port.js';
import { IPPORT_FIRSTAUTO, IPPORT_LASTAUTO, SO_REUSEADDR, SO_REUSEPORT } from '../socket/constants.js';
import { EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, ENETUNREACH } from '../socket/errno.js';
import { encodeSockaddr } from '../socket/sockaddr.js';

/** What a PCB needs to know of its socket: the option bits (SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST...). */
export interface InPcbOwner {
  readonly so_options: number;
}

/** The routing questions bind and connect ask (IpOutput answers them). */
export interface InPcbRouting {
  /** Source address for reaching `dst` (0 ifscope = any interface), or null without a route. */
  selectSource(dst: IpAddr, ifscope: number): IpAddr | null;
  /** True when `a` is one of our addresses. */
  isLocalAddress(a: IpAddr): boolean;
  /** True for a broadcast address of one of our IPv4 prefixes (bindable, like XNU's ifa_ifwithaddr). */
  isBroadcast(a: IpAddr): boolean;
}

// inp_flags
/** The local address was chosen by connect (source selection), not by bind. */
export const INP_INADDR_ANY = 0x1;
/** The local port was chosen from the ephemeral range. */
export const INP_ANONPORT = 0x2;
/** A TCP connection in TIME_WAIT: no socket, still holds its 4-tuple (a bind conflict without SO_REUSEADDR). */
export const INP_TIMEWAIT = 0x4;
/** Detached: no longer in the table. */
export const INP_DEAD = 0x8;

export class InPcb {
  laddr: IpAddr;
  lport = 0;
  faddr: IpAddr;
  fport = 0;
  /** INP_* flags. */
  flags = 0;
  /** The protocol's per-connection state (TCP's tcpcb); UDP leaves it null. */
  ppcb: unknown = null;
  /** IP_TTL / IPV6_UNICAST_HOPS; -1 means the stack default (IPv6 in6p_hops convention). */
  ttl: number;
  /** IP_TOS / IPV6_TCLASS; -1 means unset for IPv6. */
  tos: number;
  /** IP_BOUND_IF / IPV6_BOUND_IF: only this interface index (0 = any). */
  ifscope = 0;
  /** Last next-hop MTU an ICMP "fragmentation needed"/"packet too big" reported for this PCB (0 = none). */
  pmtu = 0;
  /** @internal laddr / faddr are the unspecified address (kept so lookups need no allocation). */
  laddrAny = true;
  faddrAny = true;
  /** @internal key in the table's connection hash, or -1. */
  connKey = -1;
  /** @internal The next PCB with the same connection hash key (an intrusive chain: no array per connection). */
  connNext: InPcb | null = null;

  constructor(
    readonly table: InPcbTable,
    readonly family: IpFamily,
    /** The socket; null for a TCP TIME_WAIT PCB that outlived it. */
    public owner: InPcbOwner | null,
  ) {
    const any = family === 4 ? IpAddr.ANY4 : IpAddr.ANY6;
    this.laddr = any;
    this.faddr = any;
    this.ttl = family === 4 ? 64 : -1;
    this.tos = family === 4 ? 0 : -1;
  }

  get options(): number { return this.owner !== null ? this.owner.so_options : 0; }
  get isConnected(): boolean { return !this.faddrAny; }

  /** Sets the local address (keeps the flags in step). */
  setLaddr(a: IpAddr): void {
    this.laddr = a;
    this.laddrAny = isZero(a.bytes);
  }

  /** Sets the foreign address (keeps the flags in step; the table rehashes). */
  setFaddr(a: IpAddr): void {
    this.faddr = a;
    this.faddrAny = isZero(a.bytes);
  }

  toString(): string {
    const f = (a: IpAddr, p: number) => (a.family === 4 ? `${a.toString()}:${p}` : `[${a.toString()}]:${p}`);
    return `${f(this.laddr, this.lport)} <-> ${f(this.faddr, this.fport)}`;
  }
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function isZeroAt(b: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[off + i] !== 0) return false;
  return true;
}

/**
 * @internal Hash of the foreign address's last 32 bits and both ports, kept to 30 bits so the key
 * is a small integer (an Smi): a larger number would be boxed, an allocation on every packet's lookup.
 */
export function connHash(buf: Uint8Array, off: number, alen: number, fport: number, lport: number): number {
  const o = off + alen - 4;
  const a = (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
  return (a ^ Math.imul(fport, 0x9e3779b1) ^ Math.imul(lport, 0x85ebca6b)) & 0x3fffffff;
}

export interface InPcbTableOptions {
  /** ipport_firstauto / ipport_lastauto (default 49152..65535). */
  firstAuto?: number;
  lastAuto?: number;
}

/** The PCBs of one protocol (XNU's inpcbinfo: udbinfo, tcbinfo). */
export class InPcbTable implements PortAvailability {
  readonly firstAuto: number;
  readonly lastAuto: number;
  /** Every bound PCB by local port (XNU's port hash): bind conflicts and wildcard lookups. */
  private readonly ports = new Map<number, InPcb[]>();
  /**
   * Connected PCBs by foreign address and ports: exact lookups. Each key maps to the first PCB of
   * a chain linked by connNext, in insertion order.
   */
  private readonly conns = new Map<number, InPcb>();
  private readonly all = new Set<InPcb>();
  // Scratch for portInUse (set by bind before the ephemeral search; no closure per call).
  private probeFamily: IpFamily = 4;
  private probeAddr: IpAddr = IpAddr.ANY4;
  private probeWild = true;
  /** Scratch for lookup: two addresses side by side. */
  private readonly lookupScratch = new Uint8Array(32);

  constructor(
    readonly protocol: number,
    private readonly rng: Rng,
    private readonly routing: InPcbRouting,
    opts: InPcbTableOptions = {},
  ) {
    this.firstAuto = opts.firstAuto ?? IPPORT_FIRSTAUTO;
    this.lastAuto = opts.lastAuto ?? IPPORT_LASTAUTO;
  }

  get size(): number { return this.all.size; }

  /** in_pcballoc: a new unbound PCB of `family` for `owner`. */
  alloc(owner: InPcbOwner | null, family: IpFamily): InPcb {
    const pcb = new InPcb(this, family, owner);
    this.all.add(pcb);
    return pcb;
  }

  /** in_pcbdetach + in_pcbdispose: removes the PCB from every lookup structure. */
  detach(pcb: InPcb): void {
    this.unhashConn(pcb);
    if (pcb.lport !== 0) removeFrom(this.ports, pcb.lport, pcb);
    this.all.delete(pcb);
    pcb.flags |= INP_DEAD;
    pcb.owner = null;
  }

  /**
   * in_pcbbind. `laddr` null binds the wildcard address; `lport` 0 picks an ephemeral port.
   *   EINVAL         already bound (local port or address set): a second bind is EINVAL.
   *   EAFNOSUPPORT   address family differs from the PCB's.
   *   EADDRNOTAVAIL  the address is not ours (multicast addresses excepted), or no port is free.
   *   EADDRINUSE     a conflicting PCB holds the port (§6.4): without SO_REUSEADDR/SO_REUSEPORT
   *                  any PCB on the port whose address matches or is a wildcard (either side), TIME_WAIT
   *                  ones included; with them only an unconnected PCB on exactly this address, and
   *                  then only when it and we both have SO_REUSEPORT (for a multicast address,
   *                  SO_REUSEADDR counts as SO_REUSEPORT).
   * Binding a low port needs no privilege here (in-kernel sockets are privileged).
   */
  bind(pcb: InPcb, laddr: IpAddr | null, lport: number): number {
    if (pcb.lport !== 0 || !pcb.laddrAny) return EINVAL;
    const opts = pcb.options;
    let reuseport = opts & SO_REUSEPORT;
    const wild = (opts & (SO_REUSEADDR | SO_REUSEPORT)) === 0;
    let addr = pcb.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6;
    if (laddr !== null) {
      if (laddr.family !== pcb.family) return EAFNOSUPPORT;
      if (laddr.isMulticast) {
        if ((opts & SO_REUSEADDR) !== 0) reuseport = SO_REUSEADDR | SO_REUSEPORT;
      } else if (!isZero(laddr.bytes) && !this.routing.isLocalAddress(laddr) && !this.routing.isBroadcast(laddr)) {
        return EADDRNOTAVAIL;
      }
      addr = laddr;
    }
    if (lport !== 0 && this.bindConflict(pcb, addr, lport, wild, reuseport)) return EADDRINUSE;
    pcb.setLaddr(addr);
    if (lport === 0) {
      this.probeFamily = pcb.family;
      this.probeAddr = addr;
      this.probeWild = wild;
      lport = selectEphemeralPort(this.rng, this.firstAuto, this.lastAuto, this);
      if (lport === 0) {
        pcb.setLaddr(pcb.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6);
        return EADDRNOTAVAIL;
      }
      pcb.flags |= INP_ANONPORT;
    }
    pcb.lport = lport;
    addTo(this.ports, lport, pcb);
    return 0;
  }

  /**
   * in_pcbconnect: sets the foreign address, choosing the local address by source selection
   * (IpOutput.selectSource) when the PCB is bound to the wildcard, and an ephemeral port when
   * unbound. EADDRNOTAVAIL for port 0 or an unspecified destination; ENETUNREACH without a route;
   * EADDRINUSE when the resulting 4-tuple already exists; bind errors.
   */
  connect(pcb: InPcb, faddr: IpAddr, fport: number): number {
    if (faddr.family !== pcb.family) return EAFNOSUPPORT;
    if (fport === 0 || isZero(faddr.bytes)) return EADDRNOTAVAIL;
    let laddr = pcb.laddr;
    if (pcb.laddrAny) {
      const src = this.routing.selectSource(faddr, pcb.ifscope);
      if (src === null) return ENETUNREACH;
      laddr = src;
    }
    if (pcb.lport !== 0 && this.lookup(faddr, fport, laddr, pcb.lport, false, 0) !== null) return EADDRINUSE;
    if (pcb.laddrAny) {
      if (pcb.lport === 0) {
        const e = this.bind(pcb, null, 0);
        if (e !== 0) return e;
      }
      pcb.setLaddr(laddr);
      pcb.flags |= INP_INADDR_ANY;
    }
    pcb.setFaddr(faddr);
    pcb.fport = fport;
    this.rehash(pcb);
    return 0;
  }

  /**
   * in_pcbinshash for a connection that did not bind or connect itself (a passive-open child):
   * sets both ends of the 4-tuple and enters the PCB in the port hash and the connection hash,
   * without bind's conflict test (the child shares its listener's port, as in XNU, where
   * tcp_input copies the addresses into the new inpcb and calls in_pcbinshash). Being in the port
   * hash, the child makes a later bind of that port without SO_REUSEADDR fail with EADDRINUSE.
   *   EINVAL        the PCB is already bound or connected.
   *   EAFNOSUPPORT  an address family differs from the PCB's.
   *   EADDRINUSE    the 4-tuple already exists.
   */
  insertConnected(pcb: InPcb, laddr: IpAddr, lport: number, faddr: IpAddr, fport: number): number {
    if (pcb.lport !== 0 || !pcb.laddrAny || !pcb.faddrAny) return EINVAL;
    if (laddr.family !== pcb.family || faddr.family !== pcb.family) return EAFNOSUPPORT;
    if (lport === 0 || fport === 0 || isZero(faddr.bytes) || isZero(laddr.bytes)) return EINVAL;
    if (this.lookup(faddr, fport, laddr, lport, false, 0) !== null) return EADDRINUSE;
    pcb.setLaddr(laddr);
    pcb.lport = lport;
    addTo(this.ports, lport, pcb);
    pcb.setFaddr(faddr);
    pcb.fport = fport;
    this.rehash(pcb);
    return 0;
  }

  /** in_pcbdisconnect: forgets the foreign address and port (the local ones stay). */
  disconnect(pcb: InPcb): void {
    pcb.setFaddr(pcb.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6);
    pcb.fport = 0;
    this.rehash(pcb);
  }

  /** Resets the local address to the wildcard, keeping the port (udp_disconnect). */
  clearLocalAddress(pcb: InPcb): void {
    pcb.setLaddr(pcb.family === 4 ? IpAddr.ANY4 : IpAddr.ANY6);
    pcb.flags &= ~INP_INADDR_ANY;
    this.rehash(pcb);
  }

  /**
   * in_pcblookup_hash on packet bytes, allocation-free: the PCB for a packet from
   * (buf[srcOff..], sport) to (buf[dstOff..], dport) received on `ifindex`. An exact 4-tuple match
   * (a connected PCB) first; then, with `wildcard`, an unconnected PCB on dport bound to the
   * destination address, else one bound to the wildcard address. PCBs bound to another interface
   * (IP_BOUND_IF) are skipped.
   */
  lookupPacket(family: IpFamily, buf: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number,
    wildcard: boolean, ifindex: number): InPcb | null {
    const alen = family === 4 ? 4 : 16;
    for (let p = this.conns.get(connHash(buf, srcOff, alen, sport, dport)) ?? null; p !== null; p = p.connNext) {
      if (p.family === family && p.lport === dport && p.fport === sport &&
          (p.ifscope === 0 || ifindex === 0 || p.ifscope === ifindex) &&
          p.faddr.equalsBytes(buf, srcOff) && p.laddr.equalsBytes(buf, dstOff)) return p;
    }
    if (!wildcard) return null;
    const bucket = this.ports.get(dport);
    if (bucket === undefined) return null;
    let localWild: InPcb | null = null;
    for (let i = 0; i < bucket.length; i++) {
      const p = bucket[i]!;
      if (p.family !== family || !p.faddrAny) continue;
      if (p.ifscope !== 0 && ifindex !== 0 && p.ifscope !== ifindex) continue;
      if (p.laddrAny) {
        if (localWild === null) localWild = p;
      } else if (p.laddr.equalsBytes(buf, dstOff)) {
        return p;
      }
    }
    return localWild;
  }

  /** lookupPacket with address objects (ICMP errors, connect's uniqueness check). */
  lookup(faddr: IpAddr, fport: number, laddr: IpAddr, lport: number, wildcard: boolean, ifindex: number): InPcb | null {
    if (faddr.family !== laddr.family) return null;
    // Both addresses must be readable from one buffer: copy them side by side into the table's
    // scratch (lookupPacket only reads it, and nothing it calls comes back here).
    const alen = faddr.bytes.length;
    const buf = this.lookupScratch;
    buf.set(faddr.bytes, 0);
    buf.set(laddr.bytes, alen);
    return this.lookupPacket(faddr.family, buf, 0, fport, alen, lport, wildcard, ifindex);
  }

  /** Every PCB bound to `lport` (multicast/broadcast delivery walks it), or undefined. */
  bucket(lport: number): readonly InPcb[] | undefined {
    return this.ports.get(lport);
  }

  /** Every PCB of the table (netstat). */
  pcbs(): IterableIterator<InPcb> {
    return this.all.values();
  }

  /**
   * PortAvailability for the ephemeral search: XNU's in_pcblookup_local with the bind's address
   * and wildcard mode (set in probe* by bind) finds any PCB → the port is in use.
   */
  portInUse(port: number): boolean {
    const bucket = this.ports.get(port);
    if (bucket === undefined) return false;
    const addr = this.probeAddr;
    const addrAny = isZero(addr.bytes);
    for (let i = 0; i < bucket.length; i++) {
      const t = bucket[i]!;
      if (t.family !== this.probeFamily) continue;
      if (this.probeWild) {
        if (t.laddrAny || addrAny || t.laddr.equals(addr)) return true;
      } else if (t.faddrAny && t.laddr.equals(addr)) {
        return true;
      }
    }
    return false;
  }

  /** in_pcbbind's conflict test against every PCB on `lport` (see bind). */
  private bindConflict(pcb: InPcb, laddr: IpAddr, lport: number, wild: boolean, reuseport: number): boolean {
    const bucket = this.ports.get(lport);
    if (bucket === undefined) return false;
    const addrAny = isZeroAt(laddr.bytes, 0, laddr.bytes.length);
    for (let i = 0; i < bucket.length; i++) {
      const t = bucket[i]!;
      if (t === pcb || t.family !== pcb.family) continue;
      if (wild) {
        if (!(t.laddrAny || addrAny || t.laddr.equals(laddr))) continue;
      } else if (!t.faddrAny || !t.laddr.equals(laddr)) {
        continue;
      }
      if ((reuseport & t.options) === 0) return true;
    }
    return false;
  }

  /** in_pcbrehash: moves the PCB to the connection hash slot of its current 4-tuple (or out of it). */
  private rehash(pcb: InPcb): void {
    this.unhashConn(pcb);
    if (!pcb.faddrAny && pcb.lport !== 0) {
      const key = connHash(pcb.faddr.bytes, 0, pcb.faddr.bytes.length, pcb.fport, pcb.lport);
      pcb.connKey = key;
      pcb.connNext = null;
      const first = this.conns.get(key);
      if (first === undefined) {
        this.conns.set(key, pcb);
      } else {
        let last = first;
        while (last.connNext !== null) last = last.connNext;
        last.connNext = pcb;
      }
    }
  }

  private unhashConn(pcb: InPcb): void {
    const key = pcb.connKey;
    if (key < 0) return;
    pcb.connKey = -1;
    const first = this.conns.get(key);
    if (first === pcb) {
      if (pcb.connNext === null) this.conns.delete(key);
      else this.conns.set(key, pcb.connNext);
    } else {
      for (let p = first ?? null; p !== null; p = p.connNext) {
        if (p.connNext === pcb) {
          p.connNext = pcb.connNext;
          break;
        }
      }
    }
    pcb.connNext = null;
  }
}

function addTo(map: Map<number, InPcb[]>, key: number, pcb: InPcb): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [pcb]);
  else list.push(pcb);
}

function removeFrom(map: Map<number, InPcb[]>, key: number, pcb: InPcb): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(pcb);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

/** in_getsockaddr: the PCB's local address and port as a Darwin sockaddr (0.0.0.0:0 when unbound); EINVAL without a PCB. */
export function inGetsockaddr(pcb: InPcb | null, nam: { value: Uint8Array | null }): number {
  if (pcb === null) return EINVAL;
  nam.value = encodeSockaddr({ addr: pcb.laddr, port: pcb.lport });
  return 0;
}

/** in_getpeeraddr: the foreign address and port (the socket layer checks the connection first); EINVAL without a PCB. */
export function inGetpeeraddr(pcb: InPcb | null, nam: { value: Uint8Array | null }): number {
  if (pcb === null) return EINVAL;
  nam.value = encodeSockaddr({ addr: pcb.faddr, port: pcb.fport });
  return 0;
}
