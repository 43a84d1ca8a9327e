// fast-check arbitraries for wire reprs, shared by the property tests. Generated reprs are the
// normal form parse gives back (no empty arrays, wscale <= 14, sackPermitted true or absent).

import fc from 'fast-check';
import {
  IpAddr, TCPOPT_EOL, TCPOPT_FASTOPEN, TCPOPT_MAXSEG, TCPOPT_MPTCP, TCPOPT_NOP, TCPOPT_SACK, TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP, TCPOPT_WINDOW, type Icmpv4Repr, type Icmpv6Repr, type Ipv4Repr, type Ipv6Repr, type TcpOptions,
  type TcpRepr,
} from '../../stack/wire/index.js';

/** Runs for every property; FC_SEED=<n> replays a failure that fast-check reported. */
export const fcParams = { numRuns: 200, seed: Number(process.env.FC_SEED) || undefined };

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const ipv4Addr = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => IpAddr.fromBytes(b, 0, 4));
export const ipv6Addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => IpAddr.fromBytes(b, 0, 16));

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  src: ipv4Addr, dst: ipv4Addr, protocol: u8, ttl: u8, tos: u8, ident: u16, dontFrag: fc.boolean(),
  moreFrags: fc.boolean(), fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((n) => n * 8),
  payloadLen: fc.integer({ min: 0, max: 1500 }),
  // Options are kept as raw bytes; a multiple of 4 so the padded form equals the input.
  options: fc.integer({ min: 1, max: 10 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
}, { requiredKeys: ['src', 'dst', 'protocol', 'ttl', 'tos', 'ident', 'dontFrag', 'moreFrags', 'fragOffset', 'payloadLen'] });

export const ipv6Repr: fc.Arbitrary<Ipv6Repr> = fc.record({
  src: ipv6Addr, dst: ipv6Addr, nextHeader: u8, hopLimit: u8, trafficClass: u8,
  flowLabel: fc.integer({ min: 0, max: 0xfffff }), payloadLen: fc.integer({ min: 0, max: 1500 }),
});

const KNOWN_KINDS = new Set([TCPOPT_EOL, TCPOPT_NOP, TCPOPT_MAXSEG, TCPOPT_WINDOW, TCPOPT_SACK_PERMITTED, TCPOPT_SACK,
  TCPOPT_TIMESTAMP, TCPOPT_MPTCP, TCPOPT_FASTOPEN]);
const sackBlock = fc.tuple(u32, u32);

/** Options whose raw part (MPTCP + unknown) stays <= 16 bytes, so only SACK blocks can be trimmed. */
export const tcpOptions: fc.Arbitrary<TcpOptions> = fc.record({
  mss: u16,
  wscale: fc.integer({ min: 0, max: 14 }),
  sackPermitted: fc.constant(true),
  sack: fc.array(sackBlock, { minLength: 1, maxLength: 4 }),
  timestamps: fc.record({ tsVal: u32, tsEcr: u32 }),
  // A cookie request only: with a cookie the fixed part could leave too little room (cookies in tcp-options.test.ts).
  fastOpen: fc.constant(new Uint8Array(0)),
  mptcp: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((body) => {
    const b = new Uint8Array(2 + body.length);
    b[0] = TCPOPT_MPTCP; b[1] = b.length; b.set(body, 2);
    return [b];
  }),
  unknown: fc.array(fc.record({
    kind: u8.filter((k) => !KNOWN_KINDS.has(k)),
    data: fc.uint8Array({ maxLength: 3 }),
  }), { minLength: 1, maxLength: 2 }),
}, { requiredKeys: [] });

export const tcpRepr = (opts = tcpOptions): fc.Arbitrary<TcpRepr> => fc.record({
  srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: u8, window: u16, urgentPtr: u16,
  options: opts, payloadLen: fc.integer({ min: 0, max: 300 }),
});

const data = fc.uint8Array({ maxLength: 64 });

export const icmpv4Repr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), code: u8, ident: u16, seq: u16, data }),
  fc.record({ code: u8, mtu: u16, data }).map(({ code, mtu, data }) =>
    ({ kind: 'dst-unreach' as const, code, nextHopMtu: code === 4 ? mtu : 0, data })),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: u8, data }),
  fc.record({ kind: fc.constant('param-problem' as const), code: u8, pointer: u8, data }),
  fc.record({ kind: fc.constant('other' as const), type: u8.filter((t) => ![0, 3, 8, 11, 12].includes(t)), code: u8, rest: u32, data }),
);

export const icmpv6Repr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), code: u8, ident: u16, seq: u16, data }),
  fc.record({ kind: fc.constant('dst-unreach' as const), code: u8, data }),
  fc.record({ kind: fc.constant('packet-too-big' as const), code: u8, mtu: u32, data }),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: u8, data }),
  fc.record({ kind: fc.constant('param-problem' as const), code: u8, pointer: u32, data }),
  fc.record({ kind: fc.constant('ndp' as const), type: fc.integer({ min: 133, max: 137 }), code: u8, rest: u32, data }),
  fc.record({ kind: fc.constant('mld' as const), type: fc.constantFrom(130, 131, 132, 143), code: u8, rest: u32, data }),
  fc.record({
    kind: fc.constant('other' as const),
    type: u8.filter((t) => !(t >= 1 && t <= 4) && !(t >= 128 && t <= 137) && t !== 143), code: u8, rest: u32, data,
  }),
);
