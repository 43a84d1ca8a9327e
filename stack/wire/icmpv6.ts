// ICMPv6 messages (RFC 4443) and the NDP/MLD type numbers (RFC 4861, RFC 2710/3810): Icmpv6View
// and Icmpv6Repr. The checksum covers an IPv6 pseudo-header (RFC 4443 §2.3), passed in as a sum.

import { get32 } from './bytes.js';
import { emitIcmpMessage, IcmpHeaderView, ICMP_HEADER_LEN } from './icmp-header.js';
import { l4Checksum } from './checksum.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

/** ICMPv6-only fields; the common ones are IcmpHeaderView's. */
const F = { mtu: 4, pointer: 4 } as const;

export const ICMP6_HEADER_LEN = ICMP_HEADER_LEN;

// Types (BSD <netinet/icmp6.h> names).
export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const MLD_LISTENER_QUERY = 130;
export const MLD_LISTENER_REPORT = 131;
export const MLD_LISTENER_DONE = 132;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;
export const MLDV2_LISTENER_REPORT = 143;

// Destination Unreachable codes (RFC 4443 §3.1).
export const ICMP6_DST_UNREACH_NOROUTE = 0;
export const ICMP6_DST_UNREACH_ADMIN = 1;
export const ICMP6_DST_UNREACH_BEYONDSCOPE = 2;
export const ICMP6_DST_UNREACH_ADDR = 3;
export const ICMP6_DST_UNREACH_NOPORT = 4;
export const ICMP6_DST_UNREACH_POLICY = 5;
export const ICMP6_DST_UNREACH_REJECT = 6;
// Time Exceeded codes (§3.3).
export const ICMP6_TIME_EXCEED_TRANSIT = 0;
export const ICMP6_TIME_EXCEED_REASSEMBLY = 1;
// Parameter Problem codes (§3.4; 3 is RFC 7112's incomplete header chain).
export const ICMP6_PARAMPROB_HEADER = 0;
export const ICMP6_PARAMPROB_NEXTHEADER = 1;
export const ICMP6_PARAMPROB_OPTION = 2;
export const ICMP6_PARAMPROB_FRAGHDRCHAIN = 3;

/** RFC 4443 §2.1: types 0-127 are errors (never answered with another error, §2.4(e)). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/** RFC 4861 §4: NDP types 133-137. */
export function isNdpType(type: number): boolean {
  return type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT;
}

/** RFC 2710 / RFC 3810: MLD query, report and done (130-132), MLDv2 report (143). */
export function isMldType(type: number): boolean {
  return (type >= MLD_LISTENER_QUERY && type <= MLD_LISTENER_DONE) || type === MLDV2_LISTENER_REPORT;
}

/** Re-targetable window on an ICMPv6 message; `len` is the whole message (see Icmpv4View). */
export class Icmpv6View extends IcmpHeaderView {
  /** `pseudoSum` = pseudoHeaderSum6(src, dst, 58, len). */
  verifyChecksum(pseudoSum: number): boolean { return l4Checksum(this.buf, this.off, this.len, pseudoSum) === 0; }
  fillChecksum(pseudoSum: number): void {
    this.setChecksum(0);
    this.setChecksum(l4Checksum(this.buf, this.off, this.len, pseudoSum));
  }

  /** Packet Too Big MTU (32 bits, §3.2). */
  get mtu(): number { return get32(this.buf, this.off + F.mtu); }
  /** Parameter Problem pointer (32 bits, §3.4). */
  get pointer(): number { return get32(this.buf, this.off + F.pointer); }
  get isError(): boolean { return isIcmpv6Error(this.type); }
}

interface Base {
  readonly code: number;
  /** Parsed reprs alias the packet buffer (no copy). */
  readonly data: Uint8Array;
}
export interface Icmpv6EchoRepr extends Base {
  readonly kind: 'echo-request' | 'echo-reply';
  readonly ident: number;
  readonly seq: number;
}
export interface Icmpv6DstUnreachRepr extends Base { readonly kind: 'dst-unreach' }
export interface Icmpv6PacketTooBigRepr extends Base { readonly kind: 'packet-too-big'; readonly mtu: number }
export interface Icmpv6TimeExceededRepr extends Base { readonly kind: 'time-exceeded' }
export interface Icmpv6ParamProblemRepr extends Base { readonly kind: 'param-problem'; readonly pointer: number }
/**
 * NDP (133-137) and MLD (130-132, 143): known, but their bodies are left to nd/ and mld/ code.
 * `rest` is the second header word (reserved/flags); `data` the body after it.
 */
export interface Icmpv6NdpRepr extends Base { readonly kind: 'ndp' | 'mld'; readonly type: number; readonly rest: number }
export interface Icmpv6OtherRepr extends Base { readonly kind: 'other'; readonly type: number; readonly rest: number }

export type Icmpv6Repr =
  | Icmpv6EchoRepr | Icmpv6DstUnreachRepr | Icmpv6PacketTooBigRepr | Icmpv6TimeExceededRepr
  | Icmpv6ParamProblemRepr | Icmpv6NdpRepr | Icmpv6OtherRepr;

export function icmpv6Type(r: Icmpv6Repr): number {
  switch (r.kind) {
    case 'echo-request': return ICMP6_ECHO_REQUEST;
    case 'echo-reply': return ICMP6_ECHO_REPLY;
    case 'dst-unreach': return ICMP6_DST_UNREACH;
    case 'packet-too-big': return ICMP6_PACKET_TOO_BIG;
    case 'time-exceeded': return ICMP6_TIME_EXCEEDED;
    case 'param-problem': return ICMP6_PARAM_PROB;
    case 'ndp': case 'mld': case 'other': return r.type;
  }
}

/**
 * Checks the view and, when `pseudoSum` is a number, the checksum (null: already verified, e.g. by
 * offload). Unknown types are an 'other' repr, not an error.
 */
export function parseIcmpv6(v: Icmpv6View, pseudoSum: number | null): Result<Icmpv6Repr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  if (pseudoSum !== null && !v.verifyChecksum(pseudoSum)) return err('bad-checksum');
  const code = v.code;
  const data = v.data();
  const type = v.type;
  switch (type) {
    case ICMP6_ECHO_REQUEST: return ok({ kind: 'echo-request', code, ident: v.ident, seq: v.seq, data });
    case ICMP6_ECHO_REPLY: return ok({ kind: 'echo-reply', code, ident: v.ident, seq: v.seq, data });
    case ICMP6_DST_UNREACH: return ok({ kind: 'dst-unreach', code, data });
    case ICMP6_PACKET_TOO_BIG: return ok({ kind: 'packet-too-big', code, mtu: v.mtu, data });
    case ICMP6_TIME_EXCEEDED: return ok({ kind: 'time-exceeded', code, data });
    case ICMP6_PARAM_PROB: return ok({ kind: 'param-problem', code, pointer: v.pointer, data });
    default: {
      const kind = isNdpType(type) ? 'ndp' : isMldType(type) ? 'mld' : 'other';
      return ok({ kind, type, code, rest: v.restOfHeader, data });
    }
  }
}

export function icmpv6ReprLen(r: Icmpv6Repr): number {
  return ICMP6_HEADER_LEN + r.data.length;
}

/**
 * Writes the whole message at buf[off] and returns its length. With `pseudoSum` =
 * pseudoHeaderSum6(src, dst, 58, icmpv6ReprLen(r)) the checksum is filled; with null it is left 0.
 */
export function emitIcmpv6(r: Icmpv6Repr, buf: Uint8Array, off: number, pseudoSum: number | null): number {
  return emitIcmpMessage(buf, off, icmpv6Type(r), r.code, icmpv6Rest(r), r.data, pseudoSum);
}

/** The second header word of `r`: "Unused ... MUST be initialized to zero" (§3.1, §3.3). */
function icmpv6Rest(r: Icmpv6Repr): number {
  switch (r.kind) {
    case 'echo-request':
    case 'echo-reply': return (((r.ident & 0xffff) << 16) | (r.seq & 0xffff)) >>> 0;
    case 'packet-too-big': return r.mtu;
    case 'param-problem': return r.pointer;
    case 'ndp': case 'mld': case 'other': return r.rest;
    default: return 0;
  }
}

const UNREACH_NAMES = ['no route', 'admin prohibited', 'beyond scope', 'unreachable address',
  'unreachable port', 'source address failed policy', 'reject route'];
const NDP_NAMES = ['router solicitation', 'router advertisement', 'neighbor solicitation',
  'neighbor advertisement', 'redirect'];

/** tcpdump style: `ICMP6, echo request, id 3816, seq 1, length 28`. */
export function prettyIcmpv6(v: Icmpv6View): string {
  const e = v.check();
  if (e !== null) return `ICMP6 [${e}]`;
  const n = v.len;
  const t = v.type;
  switch (t) {
    case ICMP6_ECHO_REQUEST: return `ICMP6, echo request, id ${v.ident}, seq ${v.seq}, length ${n}`;
    case ICMP6_ECHO_REPLY: return `ICMP6, echo reply, id ${v.ident}, seq ${v.seq}, length ${n}`;
    case ICMP6_DST_UNREACH:
      return `ICMP6, destination unreachable, ${UNREACH_NAMES[v.code] ?? `code ${v.code}`}, length ${n}`;
    case ICMP6_PACKET_TOO_BIG: return `ICMP6, packet too big, mtu ${v.mtu}, length ${n}`;
    case ICMP6_TIME_EXCEEDED:
      return `ICMP6, time exceeded ${v.code === ICMP6_TIME_EXCEED_REASSEMBLY ? 'reassembly' : 'in-transit'}, length ${n}`;
    case ICMP6_PARAM_PROB: return `ICMP6, parameter problem, code ${v.code}, pointer ${v.pointer}, length ${n}`;
    default:
      if (isNdpType(t)) return `ICMP6, ${NDP_NAMES[t - ND_ROUTER_SOLICIT]}, length ${n}`;
      if (isMldType(t)) return `ICMP6, multicast listener type ${t}, length ${n}`;
      return `ICMP6, type-#${t}, code ${v.code}, length ${n}`;
  }
}
