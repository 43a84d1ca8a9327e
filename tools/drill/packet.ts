// Packet bytes for the drill runner: building the inbound IPv4/IPv6 + TCP/UDP/ICMP packets a
// script injects (checksums computed here, over bytes built here), decoding what the stack sends,
// and tcpdump-like text for both. Independent of the stack's own wire code on purpose: the runner
// checks the stack, so it must not share its encoder.

import { IpAddr } from '../../stack/wire/ip-addr.js';
import { internetChecksum, l4Checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../stack/wire/checksum.js';

export const TH = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/** One TCP option as it is on the wire, in order. */
export type WireOpt =
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly value: number }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'sack'; readonly blocks: readonly (readonly [number, number])[] }
  | { readonly kind: 'ts'; readonly val: number; readonly ecr: number }
  /** Fast Open: kind 34, or with `exp` the experimental kind 254 with the magic 0xF989. */
  | { readonly kind: 'fo'; readonly cookie: Uint8Array; readonly exp: boolean }
  | { readonly kind: 'other'; readonly code: number; readonly len: number };

export interface IpFields {
  readonly family: 4 | 6;
  readonly src: IpAddr;
  readonly dst: IpAddr;
  /** IPv4 TOS or IPv6 traffic class (ECN in the low 2 bits). */
  readonly tos: number;
  /** TTL / hop limit. */
  readonly ttl: number;
  readonly flowlabel: number;
}

export interface TcpFields {
  readonly sport: number; readonly dport: number; readonly seq: number; readonly ack: number;
  readonly flags: number; readonly win: number; readonly urg: number;
  readonly options: readonly WireOpt[];
  readonly payloadLen: number;
}

export interface Decoded {
  readonly ip: IpFields;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly tcp?: TcpFields;
  readonly udp?: { readonly sport: number; readonly dport: number; readonly len: number };
  readonly icmp?: { readonly type: number; readonly code: number };
  readonly bytes: Uint8Array;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const put16 = (b: Uint8Array, o: number, v: number): void => { b[o] = (v >>> 8) & 255; b[o + 1] = v & 255; };
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 255; b[o + 1] = (v >>> 16) & 255; b[o + 2] = (v >>> 8) & 255; b[o + 3] = v & 255;
};

export function encodeOptions(opts: readonly WireOpt[]): Uint8Array {
  const out: number[] = [];
  for (const o of opts) {
    switch (o.kind) {
      case 'nop': out.push(1); break;
      case 'eol': out.push(0); break;
      case 'mss': out.push(2, 4, (o.value >>> 8) & 255, o.value & 255); break;
      case 'wscale': out.push(3, 3, o.value & 255); break;
      case 'sackOK': out.push(4, 2); break;
      case 'sack': {
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) for (const v of [l >>> 0, r >>> 0]) out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
        break;
      }
      case 'ts': {
        out.push(8, 10);
        for (const v of [o.val >>> 0, o.ecr >>> 0]) out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
        break;
      }
      case 'fo':
        if (o.exp) out.push(254, 4 + o.cookie.length, 0xf9, 0x89, ...o.cookie);
        else out.push(34, 2 + o.cookie.length, ...o.cookie);
        break;
      case 'other': out.push(o.code, o.len); for (let i = 2; i < o.len; i++) out.push(0); break;
    }
  }
  while (out.length % 4 !== 0) out.push(0);
  return Uint8Array.from(out);
}

export function decodeOptions(b: Uint8Array): WireOpt[] {
  const out: WireOpt[] = [];
  for (let i = 0; i < b.length;) {
    const k = b[i]!;
    if (k === 0) {
      // EOL: the rest is padding; report one eol (packetdrill prints the list up to EOL).
      out.push({ kind: 'eol' });
      break;
    }
    if (k === 1) { out.push({ kind: 'nop' }); i++; continue; }
    const l = b[i + 1] ?? 0;
    if (l < 2 || i + l > b.length) { out.push({ kind: 'other', code: k, len: l }); break; }
    if (k === 2 && l === 4) out.push({ kind: 'mss', value: be16(b, i + 2) });
    else if (k === 3 && l === 3) out.push({ kind: 'wscale', value: b[i + 2]! });
    else if (k === 4 && l === 2) out.push({ kind: 'sackOK' });
    else if (k === 5 && (l - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let j = i + 2; j < i + l; j += 8) blocks.push([be32(b, j), be32(b, j + 4)]);
      out.push({ kind: 'sack', blocks });
    } else if (k === 8 && l === 10) out.push({ kind: 'ts', val: be32(b, i + 2), ecr: be32(b, i + 6) });
    else if (k === 34) out.push({ kind: 'fo', cookie: b.slice(i + 2, i + l), exp: false });
    else if (k === 254 && l >= 4 && be16(b, i + 2) === 0xf989) out.push({ kind: 'fo', cookie: b.slice(i + 4, i + l), exp: true });
    else out.push({ kind: 'other', code: k, len: l });
    i += l;
  }
  return out;
}

export function formatOptions(opts: readonly WireOpt[]): string {
  return opts.map((o) => {
    switch (o.kind) {
      case 'nop': return 'nop';
      case 'eol': return 'eol';
      case 'mss': return `mss ${o.value}`;
      case 'wscale': return `wscale ${o.value}`;
      case 'sackOK': return 'sackOK';
      case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l >>> 0}:${r >>> 0}`).join(' ')}`;
      case 'ts': return `TS val ${o.val >>> 0} ecr ${o.ecr >>> 0}`;
      case 'fo': return foText(o.cookie, o.exp);
      case 'other': return `opt${o.code}(len ${o.len})`;
    }
  }).join(',');
}

/** packetdrill's spelling of a Fast Open option: `FO`, `FO 0123abcd`, `FOEXP ...`. */
export function foText(cookie: Uint8Array, exp: boolean): string {
  const hex = Array.from(cookie, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${exp ? 'FOEXP' : 'FO'}${hex === '' ? '' : ` ${hex}`}`;
}

export function flagString(f: number): string {
  let s = '';
  if (f & TH.SYN) s += 'S';
  if (f & TH.FIN) s += 'F';
  if (f & TH.RST) s += 'R';
  if (f & TH.PSH) s += 'P';
  if (f & TH.URG) s += 'U';
  if (f & TH.ECE) s += 'E';
  if (f & TH.CWR) s += 'W';
  if (f & TH.ACK) s += '.';
  return s === '' ? '-' : s;
}

/** IP header (+ L4 bytes already holding a zero checksum field at `csumOff`, or -1) → packet. */
function wrap(ip: IpFields, proto: number, l4: Uint8Array, csumOff: number, ident: number): Uint8Array {
  if (ip.family === 4) {
    const pkt = new Uint8Array(20 + l4.length);
    pkt[0] = 0x45; pkt[1] = ip.tos & 255;
    put16(pkt, 2, pkt.length); put16(pkt, 4, ident & 0xffff); put16(pkt, 6, 0x4000);
    pkt[8] = ip.ttl; pkt[9] = proto;
    pkt.set(ip.src.bytes, 12); pkt.set(ip.dst.bytes, 16);
    put16(pkt, 10, internetChecksum(pkt, 0, 20));
    pkt.set(l4, 20);
    if (csumOff >= 0) {
      const ps = pseudoHeaderSum4(pkt, 12, pkt, 16, proto, l4.length);
      put16(pkt, 20 + csumOff, l4Checksum(pkt, 20, l4.length, ps) || (proto === 17 ? 0xffff : 0));
    } else if (proto === 1) {
      put16(pkt, 22, internetChecksum(pkt, 20, l4.length));
    }
    return pkt;
  }
  const pkt = new Uint8Array(40 + l4.length);
  put32(pkt, 0, (6 << 28) | ((ip.tos & 255) << 20) | (ip.flowlabel & 0xfffff));
  put16(pkt, 4, l4.length); pkt[6] = proto; pkt[7] = ip.ttl;
  pkt.set(ip.src.bytes, 8); pkt.set(ip.dst.bytes, 24);
  pkt.set(l4, 40);
  if (csumOff >= 0 || proto === 58) {
    const ps = pseudoHeaderSum6(pkt, 8, pkt, 24, proto, l4.length);
    const off = csumOff >= 0 ? csumOff : 2;
    put16(pkt, 40 + off, l4Checksum(pkt, 40, l4.length, ps) || (proto === 17 ? 0xffff : 0));
  }
  return pkt;
}

export function tcpBytes(t: TcpFields, optBytes: Uint8Array): Uint8Array {
  const hlen = 20 + optBytes.length;
  const seg = new Uint8Array(hlen + t.payloadLen);
  put16(seg, 0, t.sport); put16(seg, 2, t.dport); put32(seg, 4, t.seq >>> 0); put32(seg, 8, t.ack >>> 0);
  seg[12] = (hlen / 4) << 4; seg[13] = t.flags & 255; put16(seg, 14, t.win); put16(seg, 18, t.urg);
  seg.set(optBytes, 20);
  return seg;
}

export function buildTcp(ip: IpFields, t: TcpFields, ident: number): Uint8Array {
  return wrap(ip, 6, tcpBytes(t, encodeOptions(t.options)), 16, ident);
}

export function buildUdp(ip: IpFields, sport: number, dport: number, len: number, ident: number): Uint8Array {
  const d = new Uint8Array(8 + len);
  put16(d, 0, sport); put16(d, 2, dport); put16(d, 4, d.length);
  return wrap(ip, 17, d, 6, ident);
}

/** ICMP / ICMPv6 error: type, code, the 32-bit "rest" word and the quoted packet. */
export function buildIcmp(ip: IpFields, type: number, code: number, rest: number, quoted: Uint8Array, ident: number): Uint8Array {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type; m[1] = code; put32(m, 4, rest >>> 0);
  m.set(quoted, 8);
  return wrap(ip, ip.family === 4 ? 1 : 58, m, -1, ident);
}

/** A packet as the stack would have sent it (for ICMP quotes): IP header + the L4 header bytes. */
export function quotePacket(ip: IpFields, proto: number, l4: Uint8Array): Uint8Array {
  return wrap(ip, proto, l4, -1, 0);
}

export function decode(b: Uint8Array): Decoded | null {
  const v = b[0]! >>> 4;
  let ip: IpFields, proto: number, l4: Uint8Array;
  if (v === 4) {
    const ihl = (b[0]! & 15) * 4;
    const total = be16(b, 2);
    ip = { family: 4, src: IpAddr.fromBytes(b, 12, 4), dst: IpAddr.fromBytes(b, 16, 4), tos: b[1]!, ttl: b[8]!, flowlabel: 0 };
    proto = b[9]!;
    l4 = b.subarray(ihl, Math.min(total, b.length));
  } else if (v === 6) {
    const w = be32(b, 0);
    ip = { family: 6, src: IpAddr.fromBytes(b, 8, 16), dst: IpAddr.fromBytes(b, 24, 16), tos: (w >>> 20) & 255, ttl: b[7]!, flowlabel: w & 0xfffff };
    proto = b[6]!;
    l4 = b.subarray(40, 40 + be16(b, 4));
  } else {
    return null;
  }
  if (proto === 6 && l4.length >= 20) {
    const hlen = (l4[12]! >>> 4) * 4;
    return {
      ip, proto: 'tcp', bytes: b,
      tcp: {
        sport: be16(l4, 0), dport: be16(l4, 2), seq: be32(l4, 4), ack: be32(l4, 8), flags: l4[13]!, win: be16(l4, 14),
        urg: be16(l4, 18), options: decodeOptions(l4.subarray(20, hlen)), payloadLen: l4.length - hlen,
      },
    };
  }
  if (proto === 17 && l4.length >= 8) {
    return { ip, proto: 'udp', bytes: b, udp: { sport: be16(l4, 0), dport: be16(l4, 2), len: be16(l4, 4) - 8 } };
  }
  if ((proto === 1 || proto === 58) && l4.length >= 4) {
    return { ip, proto: 'icmp', bytes: b, icmp: { type: l4[0]!, code: l4[1]! } };
  }
  return null;
}

// ---- ICMP names (reference §7.4) ----

export const ICMP4_TYPES: Readonly<Record<string, number>> = {
  echo_reply: 0, unreachable: 3, source_quench: 4, redirect: 5, echo_request: 8, time_exceeded: 11, parameter_problem: 12,
  timestamp_request: 13, timestamp_reply: 14,
};
export const ICMP4_CODES: Readonly<Record<string, number>> = {
  net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4,
  source_route_failed: 5, net_unknown: 6, host_unknown: 7, source_host_isolated: 8, net_prohibited: 9,
  host_prohibited: 10, net_unreachable_for_tos: 11, host_unreachable_for_tos: 12, packet_filtered: 13,
  precedence_violation: 14, precedence_cutoff: 15, ttl_exceeded_in_transit: 0, frag_reass_exceeded: 1,
};
export const ICMP6_TYPES: Readonly<Record<string, number>> = {
  unreachable: 1, packet_too_big: 2, time_exceeded: 3, parameter_problem: 4, echo_request: 128, echo_reply: 129,
};
export const ICMP6_CODES: Readonly<Record<string, number>> = {
  no_route: 0, admin_prohibited: 1, beyond_scope: 2, address_unreachable: 3, port_unreachable: 4,
  exceeded_hop_limit: 0, fragment_reassembly_time_exceeded: 1,
  header_field: 0, unknown_next_header: 1, unknown_option: 2,
};
