// kpi/sockaddr.ts: Darwin sockaddr_in / sockaddr_in6 bytes, built and read, and the errors the
// KPI gives for wrong lengths and families (EINVAL / EAFNOSUPPORT), end to end through sock_bind.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AF_INET, AF_INET6, EAFNOSUPPORT, EINVAL, IpAddr, SOCK_DGRAM, checkSockaddr, formatSockaddr,
  readSockaddr, sock_bind, sock_connect, sockaddrAny, sockaddrFamily, sockaddrFromString, sockaddrIn,
  sockaddrIn6, sockaddrLen, sockaddrPort, sockaddrStorage,
} from '../../kpi/index.js';
import { kpiWorld, sock } from './kpi-harness.js';

describe('sockaddr bytes', () => {
  it('sockaddr_in: 16 bytes, sin_len 16, family 2, port big-endian, sin_zero', () => {
    const sa = sockaddrIn('198.18.0.2', 0x1234);
    expect([...sa]).toEqual([16, 2, 0x12, 0x34, 198, 18, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([sockaddrLen(sa), sockaddrFamily(sa), sockaddrPort(sa)]).toEqual([16, AF_INET, 0x1234]);
    expect(formatSockaddr(sa)).toBe('198.18.0.2:4660');
  });

  it('sockaddr_in6: 28 bytes, family 30, flowinfo, address, scope id little-endian', () => {
    const sa = sockaddrIn6('fe80::1', 80, 0x01020304, 0xa0b0c0d0);
    expect(sa.length).toBe(28);
    expect([sa[0], sa[1], sa[2], sa[3]]).toEqual([28, 30, 0, 80]);
    expect([...sa.subarray(4, 8)]).toEqual([0xa0, 0xb0, 0xc0, 0xd0]);
    expect([sa[8], sa[9], sa[23]]).toEqual([0xfe, 0x80, 1]);
    expect([...sa.subarray(24, 28)]).toEqual([4, 3, 2, 1]);
    const r = readSockaddr(sa);
    expect(r.ok && r.value.scopeId).toBe(0x01020304);
    expect(r.ok && r.value.flowinfo).toBe(0xa0b0c0d0);
  });

  it('parses text, builds wildcards and storage', () => {
    expect(sockaddrFromString('198.18.0.1:7')).toEqual(sockaddrIn('198.18.0.1', 7));
    expect(sockaddrFromString('[2001:db8::2]:7')).toEqual(sockaddrIn6('2001:db8::2', 7));
    expect(sockaddrFromString('[fe80::1%3]:9')).toEqual(sockaddrIn6('fe80::1', 9, 3));
    expect(sockaddrFromString('nonsense')).toBeNull();
    expect(sockaddrFromString('1.2.3.4:70000')).toBeNull();
    expect(sockaddrAny(4, 5)).toEqual(sockaddrIn(IpAddr.ANY4, 5));
    expect(sockaddrAny(6)).toEqual(sockaddrIn6('::', 0));
    expect(sockaddrStorage().length).toBe(128);
    expect(() => sockaddrIn('::1', 1)).toThrow(TypeError);
  });

  it('round-trips any address and port', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 65535 }), (b, port) => {
      const r = readSockaddr(sockaddrIn(IpAddr.fromBytes(b, 0, 4), port));
      return r.ok && r.value.port === port && r.value.addr.bytes.every((x, i) => x === b[i]);
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }), (b, port) => {
      const r = readSockaddr(sockaddrIn6(IpAddr.fromBytes(b, 0, 16), port));
      return r.ok && r.value.port === port && r.value.addr.bytes.every((x, i) => x === b[i]);
    }));
  });

  it('wrong lengths are EINVAL, wrong families EAFNOSUPPORT', () => {
    const v4 = sockaddrIn('198.18.0.1', 1);
    expect(checkSockaddr(v4)).toBe(0);
    expect(checkSockaddr(new Uint8Array(0))).toBe(EINVAL);
    expect(checkSockaddr(v4.subarray(0, 8))).toBe(EINVAL);
    const badLen = v4.slice(); badLen[0] = 15;
    expect(checkSockaddr(badLen)).toBe(EINVAL);
    const badFam = v4.slice(); badFam[1] = 7;
    expect(checkSockaddr(badFam)).toBe(EAFNOSUPPORT);
    expect(checkSockaddr(v4, AF_INET6)).toBe(EINVAL); // sa_len 16 is not sizeof(sockaddr_in6)
    expect(checkSockaddr(sockaddrIn6('::1', 1), AF_INET)).toBe(EINVAL);
    expect(checkSockaddr(v4, 99)).toBe(EAFNOSUPPORT);
  });

  it('the same errors come back from sock_bind and sock_connect', () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM);
    const badLen = sockaddrIn('198.18.0.1', 1); badLen[0] = 12;
    expect(sock_bind(u, badLen)).toBe(EINVAL);
    const badFam = sockaddrIn('198.18.0.1', 1); badFam[1] = 99;
    expect(sock_bind(u, badFam)).toBe(EAFNOSUPPORT);
    expect(sock_bind(u, sockaddrIn6('::', 1))).toBe(EINVAL);
    expect(sock_connect(u, badLen, 0)).toBe(EINVAL);
    expect(sock_bind(u, new Uint8Array(1))).toBe(EINVAL);
  });
});
