// parse(emit(repr)) == repr for every codec, with checksums verified on the way back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Icmpv4View, Icmpv6View, Ipv4View, Ipv6View, MAX_TCPOPTLEN, TcpView,
  UdpView, emitIcmpv4, emitIcmpv6, emitIpv4, emitIpv6, emitTcp, emitUdp, icmpv4ReprLen, icmpv6ReprLen,
  ipv4HeaderLen, parseIcmpv4, parseIcmpv6, parseIpv4, parseIpv6, parseTcp, parseUdp, pseudoHeaderSum4,
  pseudoHeaderSum6, tcpHeaderLen, tcpOptionsLen, udpReprLen, emitTcpOptions, parseTcpOptions, type TcpOptions,
} from '../../stack/wire/index.js';
import {
  fcParams, icmpv4Repr, icmpv6Repr, ipv4Addr, ipv4Repr, ipv6Addr, ipv6Repr, tcpOptions, tcpRepr,
} from './arbitraries.js';

/** What emit keeps of `o`: as many SACK blocks as fit in 40 bytes (the raw part always fits here). */
function expectedOptions(o: TcpOptions): TcpOptions {
  if (!o.sack) return o;
  const fixed = (o.mss !== undefined ? 4 : 0) + (o.timestamps ? 12 : o.sackPermitted ? 4 : 0) + (o.wscale !== undefined ? 4 : 0)
    + (o.fastOpen !== undefined ? 2 + o.fastOpen.length : 0);
  const raw = (o.mptcp ?? []).reduce((s, m) => s + m.length, 0) + (o.unknown ?? []).reduce((s, u) => s + 2 + u.data.length, 0);
  let n = o.sack.length;
  while (n > 0 && ((fixed + 4 + 8 * n + raw + 3) & ~3) > MAX_TCPOPTLEN) n--;
  const { sack: _drop, ...rest } = o;
  return n > 0 ? { ...rest, sack: o.sack.slice(0, n) } : rest;
}

describe('round trips', () => {
  it('IPv4', () => {
    fc.assert(fc.property(ipv4Repr, (r) => {
      const hlen = ipv4HeaderLen(r);
      const b = new Uint8Array(hlen + r.payloadLen);
      expect(emitIpv4(r, b, 0)).toBe(hlen);
      expect(parseIpv4(new Ipv4View(b))).toEqual({ ok: true, value: r });
    }), fcParams);
  });

  it('IPv6', () => {
    fc.assert(fc.property(ipv6Repr, (r) => {
      const b = new Uint8Array(40 + r.payloadLen);
      emitIpv6(r, b, 0);
      expect(parseIpv6(new Ipv6View(b))).toEqual({ ok: true, value: r });
    }), fcParams);
  });

  it('UDP over IPv4 and IPv6, with the checksum verified', () => {
    const udpRepr = fc.record({
      srcPort: fc.integer({ min: 0, max: 0xffff }), dstPort: fc.integer({ min: 0, max: 0xffff }),
      payload: fc.uint8Array({ maxLength: 100 }),
    });
    fc.assert(fc.property(udpRepr, fc.oneof(ipv4Addr, ipv6Addr), fc.oneof(ipv4Addr, ipv6Addr), ({ srcPort, dstPort, payload }, s, d) => {
      if (s.family !== d.family) return;
      const r = { srcPort, dstPort, payloadLen: payload.length };
      const len = udpReprLen(r);
      const ps = s.family === 4
        ? pseudoHeaderSum4(s.bytes, 0, d.bytes, 0, IPPROTO_UDP, len)
        : pseudoHeaderSum6(s.bytes, 0, d.bytes, 0, IPPROTO_UDP, len);
      const b = new Uint8Array(len + 3); // trailing bytes beyond the UDP length are ignored
      b.set(payload, 8);
      emitUdp(r, b, 0, ps);
      const v = new UdpView(b);
      expect(v.checksum).not.toBe(0);
      expect(parseUdp(v, s.family, ps)).toEqual({ ok: true, value: r });
    }), fcParams);
  });

  it('TCP with options, with the checksum verified', () => {
    fc.assert(fc.property(tcpRepr(), ipv6Addr, ipv6Addr, fc.uint8Array({ minLength: 300, maxLength: 300 }), (r, s, d, pay) => {
      const hlen = tcpHeaderLen(r);
      expect(hlen % 4).toBe(0);
      expect(hlen).toBeLessThanOrEqual(60);
      const b = new Uint8Array(hlen + r.payloadLen);
      b.set(pay.subarray(0, r.payloadLen), hlen);
      const ps = pseudoHeaderSum6(s.bytes, 0, d.bytes, 0, IPPROTO_TCP, b.length);
      expect(emitTcp(r, b, 0, ps)).toBe(hlen);
      const p = parseTcp(new TcpView(b), ps);
      expect(p).toEqual({ ok: true, value: { ...r, options: expectedOptions(r.options) } });
    }), fcParams);
  });

  it('TCP options alone, at an odd offset', () => {
    fc.assert(fc.property(tcpOptions, (o) => {
      const n = tcpOptionsLen(o);
      const b = new Uint8Array(3 + n + 2).fill(0xee);
      expect(emitTcpOptions(o, b, 3)).toBe(n);
      expect(b[3 + n]).toBe(0xee); // nothing written past the padded length
      expect(parseTcpOptions(b, 3, n)).toEqual(expectedOptions(o));
    }), fcParams);
  });

  it('ICMPv4', () => {
    fc.assert(fc.property(icmpv4Repr, (r) => {
      const b = new Uint8Array(icmpv4ReprLen(r));
      emitIcmpv4(r, b, 0);
      expect(parseIcmpv4(new Icmpv4View(b))).toEqual({ ok: true, value: r });
    }), fcParams);
  });

  it('ICMPv6, with the pseudo-header checksum verified', () => {
    fc.assert(fc.property(icmpv6Repr, ipv6Addr, ipv6Addr, (r, s, d) => {
      const len = icmpv6ReprLen(r);
      const ps = pseudoHeaderSum6(s.bytes, 0, d.bytes, 0, IPPROTO_ICMPV6, len);
      const b = new Uint8Array(len);
      emitIcmpv6(r, b, 0, ps);
      expect(parseIcmpv6(new Icmpv6View(b), ps)).toEqual({ ok: true, value: r });
    }), fcParams);
  });
});
