// ICMPv4 messages (RFC 792, RFC 1191 next-hop MTU, RFC 1122 §3.2.2): Icmpv4View and Icmpv4Repr.
// ingress: ip/ip-input.ts → ip/icmp.ts (echo reply, errors → transport notify); egress: emitIcmpv4.

import { get16 } from './bytes.js';
import { emitIcmpMessage, IcmpHeaderView, ICMP_HEADER_LEN } from './icmp-header.js';
import { internetChecksum } from './checksum.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

/** ICMPv4-only fields; the common ones are IcmpHeaderView's. */
const F = { pointer: 4, mtu: 6 } as const;

export { ICMP_HEADER_LEN } from './icmp-header.js';
/** BSD ICMP_MINLEN: the smallest ICMP message. */
export const ICMP_MINLEN = 8;

// Types (BSD <netinet/ip_icmp.h> names).
export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_SOURCEQUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_ROUTERADVERT = 9;
export const ICMP_ROUTERSOLICIT = 10;
export const ICMP_TIMXCEED = 11;
export const ICMP_PARAMPROB = 12;
export const ICMP_TSTAMP = 13;
export const ICMP_TSTAMPREPLY = 14;
export const ICMP_IREQ = 15;
export const ICMP_IREQREPLY = 16;
export const ICMP_MASKREQ = 17;
export const ICMP_MASKREPLY = 18;

// Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
/** RFC 1191: "fragmentation needed and DF set", carries the next-hop MTU. */
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIB = 9;
export const ICMP_UNREACH_HOST_PROHIB = 10;
export const ICMP_UNREACH_TOSNET = 11;
export const ICMP_UNREACH_TOSHOST = 12;
export const ICMP_UNREACH_FILTER_PROHIB = 13;
export const ICMP_UNREACH_HOST_PRECEDENCE = 14;
export const ICMP_UNREACH_PRECEDENCE_CUTOFF = 15;
// Time Exceeded codes.
export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;
// Parameter Problem codes.
export const ICMP_PARAMPROB_ERRATPTR = 0;
export const ICMP_PARAMPROB_OPTABSENT = 1;
export const ICMP_PARAMPROB_LENGTH = 2;

/** RFC 1122 §3.2.2: error messages, about which no further ICMP error may be sent. */
export function isIcmpv4Error(type: number): boolean {
  return type === ICMP_UNREACH || type === ICMP_SOURCEQUENCH || type === ICMP_REDIRECT
    || type === ICMP_TIMXCEED || type === ICMP_PARAMPROB;
}

/**
 * BSD ICMP_INFOTYPE: query and informational types (echo, router discovery, timestamp,
 * information, mask), about which an ICMP error may be sent.
 */
export function isIcmpv4Info(type: number): boolean {
  return type === ICMP_ECHOREPLY || type === ICMP_ECHO || type === ICMP_ROUTERADVERT || type === ICMP_ROUTERSOLICIT
    || (type >= ICMP_TSTAMP && type <= ICMP_MASKREPLY);
}

/**
 * Re-targetable window on an ICMPv4 message. `len` must be the whole message (the IP payload
 * length): the checksum covers all of it. Error messages quote the offending datagram in
 * [dataOffset, dataOffset + dataLen); wrap an Ipv4View there to read it.
 */
export class Icmpv4View extends IcmpHeaderView {
  verifyChecksum(): boolean { return internetChecksum(this.buf, this.off, this.len) === 0; }
  fillChecksum(): void {
    this.setChecksum(0);
    this.setChecksum(internetChecksum(this.buf, this.off, this.len));
  }

  /** RFC 1191 next-hop MTU (Destination Unreachable, code 4); 0 from pre-1191 routers. */
  get nextHopMtu(): number { return get16(this.buf, this.off + F.mtu); }
  /** Parameter Problem pointer: offset of the bad octet in the quoted header. */
  get pointer(): number { return this.buf[this.off + F.pointer]!; }
  get isError(): boolean { return isIcmpv4Error(this.type); }
}

interface Base {
  readonly code: number;
  /** Echo data or the quoted datagram. Parsed reprs alias the packet buffer (no copy). */
  readonly data: Uint8Array;
}
export interface Icmpv4EchoRepr extends Base {
  readonly kind: 'echo-request' | 'echo-reply';
  readonly ident: number;
  readonly seq: number;
}
export interface Icmpv4DstUnreachRepr extends Base {
  readonly kind: 'dst-unreach';
  /** RFC 1191 next-hop MTU; meaningful with code ICMP_UNREACH_NEEDFRAG, 0 otherwise. */
  readonly nextHopMtu: number;
}
export interface Icmpv4TimeExceededRepr extends Base { readonly kind: 'time-exceeded' }
export interface Icmpv4ParamProblemRepr extends Base { readonly kind: 'param-problem'; readonly pointer: number }
/** Any other type, passed through with its second header word untouched. */
export interface Icmpv4OtherRepr extends Base { readonly kind: 'other'; readonly type: number; readonly rest: number }

export type Icmpv4Repr =
  | Icmpv4EchoRepr | Icmpv4DstUnreachRepr | Icmpv4TimeExceededRepr | Icmpv4ParamProblemRepr | Icmpv4OtherRepr;

export function icmpv4Type(r: Icmpv4Repr): number {
  switch (r.kind) {
    case 'echo-request': return ICMP_ECHO;
    case 'echo-reply': return ICMP_ECHOREPLY;
    case 'dst-unreach': return ICMP_UNREACH;
    case 'time-exceeded': return ICMP_TIMXCEED;
    case 'param-problem': return ICMP_PARAMPROB;
    case 'other': return r.type;
  }
}

/** Checks the view (and by default the checksum). Unknown types are an 'other' repr, not an error. */
export function parseIcmpv4(v: Icmpv4View, verifyChecksum = true): Result<Icmpv4Repr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  if (verifyChecksum && !v.verifyChecksum()) return err('bad-checksum');
  const code = v.code;
  const data = v.data();
  switch (v.type) {
    case ICMP_ECHO: return ok({ kind: 'echo-request', code, ident: v.ident, seq: v.seq, data });
    case ICMP_ECHOREPLY: return ok({ kind: 'echo-reply', code, ident: v.ident, seq: v.seq, data });
    case ICMP_UNREACH:
      return ok({ kind: 'dst-unreach', code, nextHopMtu: code === ICMP_UNREACH_NEEDFRAG ? v.nextHopMtu : 0, data });
    case ICMP_TIMXCEED: return ok({ kind: 'time-exceeded', code, data });
    case ICMP_PARAMPROB: return ok({ kind: 'param-problem', code, pointer: v.pointer, data });
    default: return ok({ kind: 'other', type: v.type, code, rest: v.restOfHeader, data });
  }
}

export function icmpv4ReprLen(r: Icmpv4Repr): number {
  return ICMP_HEADER_LEN + r.data.length;
}

/** Writes the whole message (header, data, checksum) at buf[off]; returns its length. */
export function emitIcmpv4(r: Icmpv4Repr, buf: Uint8Array, off: number): number {
  return emitIcmpMessage(buf, off, icmpv4Type(r), r.code, icmpv4Rest(r), r.data, 0);
}

/** The second header word of `r`; unused parts are zero (RFC 1191: the high half of needfrag's too). */
function icmpv4Rest(r: Icmpv4Repr): number {
  switch (r.kind) {
    case 'echo-request':
    case 'echo-reply': return (((r.ident & 0xffff) << 16) | (r.seq & 0xffff)) >>> 0;
    case 'dst-unreach': return r.nextHopMtu & 0xffff;
    case 'time-exceeded': return 0;
    case 'param-problem': return ((r.pointer & 0xff) << 24) >>> 0;
    case 'other': return r.rest;
  }
}

const UNREACH_NAMES = ['net', 'host', 'protocol', 'port', 'need to frag', 'source route failed',
  'net unknown', 'host unknown', 'isolated', 'net prohibited', 'host prohibited', 'tos net', 'tos host',
  'admin prohibited filter', 'host precedence violation', 'precedence cutoff'];

/** tcpdump style: `ICMP echo request, id 3814, seq 1, length 28`. */
export function prettyIcmpv4(v: Icmpv4View): string {
  const e = v.check();
  if (e !== null) return `ICMP [${e}]`;
  const n = v.len;
  switch (v.type) {
    case ICMP_ECHO: return `ICMP echo request, id ${v.ident}, seq ${v.seq}, length ${n}`;
    case ICMP_ECHOREPLY: return `ICMP echo reply, id ${v.ident}, seq ${v.seq}, length ${n}`;
    case ICMP_UNREACH: {
      const what = UNREACH_NAMES[v.code] ?? `code ${v.code}`;
      const mtu = v.code === ICMP_UNREACH_NEEDFRAG ? ` (mtu ${v.nextHopMtu})` : '';
      return `ICMP unreachable ${what}${mtu}, length ${n}`;
    }
    case ICMP_TIMXCEED:
      return `ICMP time exceeded ${v.code === ICMP_TIMXCEED_REASS ? 'fragment reassembly' : 'in-transit'}, length ${n}`;
    case ICMP_PARAMPROB: return `ICMP parameter problem - octet ${v.pointer}, length ${n}`;
    default: return `ICMP type-#${v.type}, code ${v.code}, length ${n}`;
  }
}
