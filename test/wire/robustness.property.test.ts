// Hostile bytes: no parser throws, loops or reads outside its window; after check() every getter
// is a non-negative integer or a boolean. Reads are policed by a Proxy that throws on any index
// outside [off, off + len), so a silent `undefined` from an out-of-bounds read cannot hide.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Icmpv4View, Icmpv6View, Ipv4View, Ipv6View,
  TcpOptionsScratch, TcpView, UdpView, parseIcmpv4, parseIcmpv6, parseIpv4, parseIpv6, parseTcp, parseTcpOptions,
  parseUdp, prettyIcmpv4, prettyIcmpv6, prettyIpv4, prettyIpv6, prettyTcp, prettyTcpOptions, prettyUdp,
  pseudoHeaderSum4, pseudoHeaderSum6, scanTcpOptions, walkIpv6ExtHeaders,
} from '../../stack/wire/index.js';
import { fcParams } from './arbitraries.js';
import * as linux from './fixtures/linux-lo.js';
import * as scapy from './fixtures/scapy-built.js';

/** A Uint8Array whose indexed reads outside [lo, hi) throw. Methods run on the real array. */
function guarded(buf: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(buf, {
    get(t, p) {
      if (typeof p === 'string' && /^-?\d+$|^NaN$/.test(p)) {
        const i = Number(p);
        if (!(i >= lo && i < hi)) throw new RangeError(`read at ${p} outside [${lo}, ${hi})`);
        return t[i];
      }
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

type AnyView = { check(): string | null; off: number; len: number };

/** Reads every getter of a checked view: each must be a non-negative integer or a boolean. */
function readAllGetters(v: AnyView): void {
  const proto = Object.getPrototypeOf(v) as object;
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
    if (!d.get) continue;
    const x: unknown = d.get.call(v);
    if (typeof x === 'boolean') continue;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new Error(`${proto.constructor.name}.${name} = ${String(x)}`);
  }
}

/** Every payload/data accessor stays inside the window. */
function inWindow(v: AnyView, sub: Uint8Array, buf: Uint8Array): void {
  const start = sub.byteOffset - buf.byteOffset;
  expect(start).toBeGreaterThanOrEqual(v.off);
  expect(start + sub.length).toBeLessThanOrEqual(v.off + v.len);
}

const ip4 = new Ipv4View();
const ip6 = new Ipv6View();
const udp = new UdpView();
const tcp = new TcpView();
const icmp4 = new Icmpv4View();
const icmp6 = new Icmpv6View();
const scratch = new TcpOptionsScratch();

/** The whole ingress decode, as the stack would run it, on buf[off, off + len). */
function decodeAll(raw: Uint8Array, off: number, len: number): void {
  const buf = guarded(raw, off, off + len);
  let l4: { proto: number; off: number; len: number; ps4: number | null; ps6: number | null } | null = null;
  if (ip4.wrap(buf, off, len).check() === null) {
    readAllGetters(ip4);
    inWindow(ip4, ip4.payload(), raw);
    ip4.verifyChecksum();
    expect(typeof parseIpv4(ip4).ok).toBe('boolean');
    expect(typeof prettyIpv4(ip4)).toBe('string');
    const ps = pseudoHeaderSum4(buf, ip4.srcOffset, buf, ip4.dstOffset, ip4.protocol, ip4.payloadLen);
    l4 = { proto: ip4.protocol, off: ip4.payloadOffset, len: ip4.payloadLen, ps4: ps, ps6: null };
  } else if (ip6.wrap(buf, off, len).check() === null) {
    readAllGetters(ip6);
    inWindow(ip6, ip6.payload(), raw);
    expect(parseIpv6(ip6).ok).toBe(true);
    expect(typeof prettyIpv6(ip6)).toBe('string');
    const w = walkIpv6ExtHeaders(buf, ip6.payloadOffset, ip6.payloadLen, ip6.nextHeader);
    if (typeof w !== 'string') {
      const end = ip6.payloadOffset + ip6.payloadLen;
      expect(w.upperOffset).toBeLessThanOrEqual(end);
      const l = end - w.upperOffset;
      const ps = pseudoHeaderSum6(buf, ip6.srcOffset, buf, ip6.dstOffset, w.upperProtocol, l);
      l4 = { proto: w.upperProtocol, off: w.upperOffset, len: l, ps4: null, ps6: ps };
    }
  } else {
    expect(typeof (prettyIpv4(ip4) + prettyIpv6(ip6))).toBe('string');
  }
  // Whatever the IP layer said, also try every transport decoder directly on the whole window.
  const targets = [{ proto: -1, off, len, ps4: 0, ps6: 0 }, ...(l4 ? [l4] : [])];
  for (const t of targets) {
    const ps = t.ps4 ?? t.ps6 ?? 0;
    if (t.proto === -1 || t.proto === IPPROTO_UDP) {
      if (udp.wrap(buf, t.off, t.len).check() === null) {
        readAllGetters(udp);
        inWindow(udp, udp.payload(), raw);
        parseUdp(udp, t.ps6 !== null ? 6 : 4, ps);
      }
      prettyUdp(udp);
    }
    if (t.proto === -1 || t.proto === IPPROTO_TCP) {
      if (tcp.wrap(buf, t.off, t.len).check() === null) {
        readAllGetters(tcp);
        inWindow(tcp, tcp.payload(), raw);
        tcp.scanOptions(scratch);
        parseTcp(tcp, ps);
        parseTcp(tcp, null);
      }
      prettyTcp(tcp);
    }
    if (t.proto === -1 || t.proto === IPPROTO_ICMP) {
      if (icmp4.wrap(buf, t.off, t.len).check() === null) {
        readAllGetters(icmp4);
        inWindow(icmp4, icmp4.data(), raw);
        parseIcmpv4(icmp4);
        parseIcmpv4(icmp4, false);
      }
      prettyIcmpv4(icmp4);
    }
    if (t.proto === -1 || t.proto === IPPROTO_ICMPV6) {
      if (icmp6.wrap(buf, t.off, t.len).check() === null) {
        readAllGetters(icmp6);
        inWindow(icmp6, icmp6.data(), raw);
        parseIcmpv6(icmp6, ps);
        parseIcmpv6(icmp6, null);
      }
      prettyIcmpv6(icmp6);
    }
  }
  // Options and extension headers straight from the raw window.
  parseTcpOptions(buf, off, len);
  scanTcpOptions(buf, off, len, scratch);
  prettyTcpOptions(buf, off, len);
  for (const nh of [0, 43, 44, 60]) checkWalk(buf, off, len, nh);
}

/** walkIpv6ExtHeaders never reports an upper layer or fragment header outside the window. */
function checkWalk(buf: Uint8Array, off: number, len: number, nh: number): void {
  const w = walkIpv6ExtHeaders(buf, off, len, nh);
  if (typeof w === 'string') return;
  expect(w.upperOffset).toBeGreaterThanOrEqual(off);
  expect(w.upperOffset).toBeLessThanOrEqual(off + len);
  expect(w.count).toBeLessThanOrEqual(16);
  if (w.fragment) expect(w.fragment.fragHeaderOffset + 8).toBeLessThanOrEqual(off + len);
}

/** A window inside a buffer with guard bytes on both sides. */
const windowed = (body: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(fc.uint8Array({ maxLength: 8 }), body, fc.uint8Array({ maxLength: 8 })).map(([pre, b, post]) => {
    const raw = new Uint8Array(pre.length + b.length + post.length);
    raw.set(pre, 0); raw.set(b, pre.length); raw.set(post, pre.length + b.length);
    return { raw, off: pre.length, len: b.length };
  });

const fixtures: Uint8Array[] = [...Object.values(linux), ...Object.values(scapy)].filter((x) => x instanceof Uint8Array);

/** A real packet with a few bytes overwritten, maybe truncated. */
const mutated = fc.tuple(
  fc.constantFrom(...fixtures),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
  fc.option(fc.nat()),
).map(([p, edits, cut]) => {
  const b = p.slice(0, cut === null ? p.length : cut % (p.length + 1));
  for (const [i, x] of edits) if (b.length > 0) b[i % Math.min(b.length, 80)] = x; // mostly headers
  return b;
});

/** Chains of extension headers with random next-header and length bytes, possibly cut short. */
const extChain = fc.array(fc.tuple(fc.constantFrom(0, 43, 44, 60, 6, 17, 59, 58), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 6 })),
  { minLength: 1, maxLength: 20 }).chain((hs) => {
  const parts: number[] = [];
  for (const [nh, l, junk] of hs) {
    const h = new Array<number>(8 * (l + 1)).fill(0);
    h[0] = nh; h[1] = l;
    junk.forEach((x, i) => { h[2 + i] = x; });
    parts.push(...h);
  }
  return fc.record({ b: fc.constant(Uint8Array.from(parts)), cut: fc.nat({ max: parts.length }), first: fc.constantFrom(0, 43, 44, 60) });
});

describe('robustness', () => {
  it('random extension-header chains are walked safely', () => {
    fc.assert(fc.property(extChain, ({ b, cut, first }) => {
      checkWalk(guarded(b, 0, cut), 0, cut, first);
      checkWalk(guarded(b, 0, b.length), 0, b.length, first);
    }), { ...fcParams, numRuns: 300 });
  });

  it('the guard catches out-of-window reads', () => {
    const g = guarded(new Uint8Array(10), 2, 4);
    expect(() => g[1]).toThrow(RangeError);
    expect(() => g[4]).toThrow(RangeError);
    expect(g[3]).toBe(0);
    expect(g.subarray(0, 2).length).toBe(2);
  });

  it('valid fixtures decode through the full pipeline', () => {
    for (const p of fixtures) decodeAll(p, 0, p.length);
  });

  it('arbitrary bytes never throw or read out of the window', () => {
    fc.assert(fc.property(windowed(fc.uint8Array({ maxLength: 200 })), ({ raw, off, len }) => {
      decodeAll(raw, off, len);
    }), { ...fcParams, numRuns: 300 });
  });

  it('bytes shaped like IP headers never throw or read out of the window', () => {
    const ipish = fc.tuple(fc.constantFrom(0x45, 0x46, 0x4f, 0x60, 0x61), fc.uint8Array({ minLength: 19, maxLength: 120 }))
      .map(([first, rest]) => { const b = new Uint8Array(1 + rest.length); b[0] = first; b.set(rest, 1); return b; });
    fc.assert(fc.property(windowed(ipish), ({ raw, off, len }) => decodeAll(raw, off, len)), { ...fcParams, numRuns: 300 });
  });

  it('mutated real packets never throw or read out of the window', () => {
    fc.assert(fc.property(windowed(mutated), ({ raw, off, len }) => decodeAll(raw, off, len)), { ...fcParams, numRuns: 300 });
  });
});
