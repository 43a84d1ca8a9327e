import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { MbufPool } from '../../stack/mbuf/pool.js';
import { MT_SONAME } from '../../stack/mbuf/constants.js';
import { decodeSockaddr, encodeSockaddr, formatSockaddr, sockaddrToMbuf } from '../../stack/socket/sockaddr.js';
import { AF_INET, AF_INET6 } from '../../stack/socket/constants.js';
import { EAFNOSUPPORT, EINVAL } from '../../stack/socket/errno.js';

describe('Darwin sockaddr codec', () => {
  it('encodes sockaddr_in: sin_len 16, family 2, port and address big-endian, zero padding', () => {
    const b = encodeSockaddr({ addr: IpAddr.of('198.18.0.1'), port: 0x1234 });
    expect(Array.from(b)).toEqual([16, 2, 0x12, 0x34, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('encodes sockaddr_in6: sin6_len 28, family 30, flowinfo as sent, scope id in host (little-endian) order', () => {
    const b = encodeSockaddr({ addr: IpAddr.of('fe80::1'), port: 53, flowinfo: 0x00012345, scopeId: 0x0102 });
    expect(b.length).toBe(28);
    expect(Array.from(b.subarray(0, 8))).toEqual([28, 30, 0, 53, 0x00, 0x01, 0x23, 0x45]);
    expect(b[8]).toBe(0xfe);
    expect(b[23]).toBe(1);
    expect(Array.from(b.subarray(24))).toEqual([0x02, 0x01, 0, 0]);
    const d = decodeSockaddr(b);
    expect(d.ok && d.value.scopeId).toBe(0x0102);
    expect(d.ok && d.value.flowinfo).toBe(0x00012345);
    expect(formatSockaddr(b)).toBe('[fe80::1%258]:53');
  });

  it('rejects a wrong sa_len with EINVAL and a wrong family with EAFNOSUPPORT', () => {
    const good = encodeSockaddr({ addr: IpAddr.of('10.0.0.1'), port: 80 });
    const badLen = good.slice();
    badLen[0] = 15;
    expect(decodeSockaddr(badLen, AF_INET)).toEqual({ ok: false, error: EINVAL });
    const badFamily = good.slice();
    badFamily[1] = 7;
    expect(decodeSockaddr(badFamily, AF_INET)).toEqual({ ok: false, error: EAFNOSUPPORT });
    // An IPv6 sockaddr given to an AF_INET socket fails the length check first (in_pcbbind).
    const v6 = encodeSockaddr({ addr: IpAddr.of('::1'), port: 80 });
    expect(decodeSockaddr(v6, AF_INET)).toEqual({ ok: false, error: EINVAL });
    // An IPv4 sockaddr given to an AF_INET6 socket: sa_len != 28.
    expect(decodeSockaddr(good, AF_INET6)).toEqual({ ok: false, error: EINVAL });
    // sa_len right for the socket but the family byte says the other family.
    const mixed = good.slice();
    mixed[1] = AF_INET6;
    expect(decodeSockaddr(mixed, AF_INET)).toEqual({ ok: false, error: EAFNOSUPPORT });
    expect(decodeSockaddr(new Uint8Array(1))).toEqual({ ok: false, error: EINVAL });
    expect(decodeSockaddr(good.subarray(0, 10), AF_INET)).toEqual({ ok: false, error: EINVAL });
  });

  it('writes a sockaddr into an MT_SONAME mbuf', () => {
    const pool = new MbufPool();
    const m = sockaddrToMbuf(pool, { addr: IpAddr.of('10.1.2.3'), port: 7 })!;
    expect(m.type).toBe(MT_SONAME);
    expect(m.len).toBe(16);
    expect(formatSockaddr(m.bytes())).toBe('10.1.2.3:7');
    pool.free(m);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('decode(encode(x)) == x for any address and port (property)', () => {
    const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 65535 }));
    const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }),
      fc.nat(), fc.nat());
    fc.assert(fc.property(v4, ([a, port]) => {
      const r = decodeSockaddr(encodeSockaddr({ addr: IpAddr.fromBytes(a, 0, 4), port }), AF_INET);
      return r.ok && r.value.port === port && r.value.addr.equals(IpAddr.fromBytes(a, 0, 4));
    }));
    fc.assert(fc.property(v6, ([a, port, flow, scope]) => {
      const r = decodeSockaddr(encodeSockaddr({ addr: IpAddr.fromBytes(a, 0, 16), port, flowinfo: flow, scopeId: scope }), AF_INET6);
      return r.ok && r.value.port === port && r.value.flowinfo === flow >>> 0 && r.value.scopeId === scope >>> 0 &&
        r.value.addr.equals(IpAddr.fromBytes(a, 0, 16));
    }));
  });
});
