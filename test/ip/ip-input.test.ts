// IPv4 and IPv6 input: each drop reason moves its own counter; accepted packets reach the
// transport trimmed, with headers contiguous and IpInputInfo right; output defaults; loopback.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { mFromBytes } from '../../stack/mbuf/index.js';
import type { IpStats, Ip6Stats } from '../../stack/ip/ip-stats.js';
import { EACCES, EMSGSIZE } from '../../stack/socket/errno.js';
import { concat, expectNoLeak, frag6, host, icmp4, icmp6, ipv4, ipv6, parseIp, pattern, TEST_PROTO, udp } from './helpers.js';

const A4 = '10.0.0.1', P4 = '10.0.0.2';
const A6 = 'fd00::1', P6 = 'fd00::2';

function h4() { return host({ addrs: [`${A4}/24`, `${A6}/64`] }); }

/** Only these counters (besides the total) moved. */
function expectOnly<T extends object>(st: T, want: Partial<Record<keyof T, number>>, ignore: (keyof T)[] = []): void {
  for (const [k, v] of Object.entries(st) as [keyof T, unknown][]) {
    if (typeof v !== 'number' || ignore.includes(k)) continue;
    expect([k, v]).toEqual([k, (want as Record<keyof T, number>)[k] ?? 0]);
  }
}

describe('IPv4 input drops', () => {
  const good = () => ipv4({ src: P4, dst: A4, proto: 17, payload: udp(P4, A4, 1, 2, pattern(20)) });
  const cases: [string, () => Uint8Array, keyof IpStats][] = [
    ['short packet', () => good().subarray(0, 19), 'ips_toosmall'],
    ['bad version', () => ipv4({ src: P4, dst: A4, proto: 17, version: 5 }), 'ips_badvers'],
    ['header length < 20', () => ipv4({ src: P4, dst: A4, proto: 17, ihl: 4 }), 'ips_badhlen'],
    ['header length past the packet', () => ipv4({ src: P4, dst: A4, proto: 17, ihl: 15 }), 'ips_badhlen'],
    ['bad header checksum', () => ipv4({ src: P4, dst: A4, proto: 17, badSum: true }), 'ips_badsum'],
    ['total length < header', () => ipv4({ src: P4, dst: A4, proto: 17, totalLen: 19 }), 'ips_badlen'],
    ['total length > packet', () => ipv4({ src: P4, dst: A4, proto: 17, payload: pattern(8), totalLen: 40 }), 'ips_tooshort'],
    ['not for us', () => ipv4({ src: P4, dst: '10.0.0.3', proto: 17, payload: udp(P4, '10.0.0.3', 1, 2) }), 'ips_notforus'],
    ['multicast source', () => ipv4({ src: '224.0.0.5', dst: A4, proto: 17 }), 'ips_badaddr'],
    ['loopback source from a link', () => ipv4({ src: '127.0.0.1', dst: A4, proto: 17 }), 'ips_badaddr'],
    ['other multicast group', () => ipv4({ src: P4, dst: '224.0.0.9', proto: 17 }), 'ips_notmember'],
  ];
  for (const [name, make, counter] of cases) {
    it(`${name} → ${String(counter)}`, () => {
      const h = h4();
      h.inject(make());
      const st = h.stack.ip.ipstat;
      expectOnly(st, { ips_total: 1, [counter]: 1 } as Partial<Record<keyof IpStats, number>>);
      expect(h.proto.got.length).toBe(0);
      expect(h.link.take().length).toBe(0);
      expectNoLeak(h.stack);
    });
  }

  it('accepts our address, limited and directed broadcast, and all-hosts', () => {
    const h = h4();
    for (const dst of [A4, '255.255.255.255', '10.0.0.255', '224.0.0.1']) {
      h.inject(ipv4({ src: P4, dst, proto: 17, payload: udp(P4, dst, 1, 2, pattern(5)) }));
    }
    expect(h.proto.got.map((g) => [g.dst, g.info.dstIsBroadcastOrMulticast])).toEqual([
      [A4, false], ['255.255.255.255', true], ['10.0.0.255', true], ['224.0.0.1', true],
    ]);
    expect(h.stack.ip.ipstat.ips_delivered).toBe(4);
    expectNoLeak(h.stack);
  });

  it('trims link padding and hands contiguous headers with a correct IpInputInfo', () => {
    const h = h4();
    const u = udp(P4, A4, 1000, 53, pattern(30));
    const pkt = concat(ipv4({ src: P4, dst: A4, proto: 17, payload: u, ttl: 33, tos: 0x10, options: [1, 1, 1, 0] }), new Uint8Array(17));
    // Split the packet over a chain so the transport header starts in the second mbuf.
    const m = mFromBytes(h.stack.pool, pkt, 0)!;
    h.ifp.receiveBatch([m], 1, h.now());
    const g = h.proto.got[0]!;
    expect(g.l4).toEqual(u);
    expect(g.info).toMatchObject({ family: 4, l4Off: 24, l4Len: u.length, ifindex: 1, ttlOrHopLimit: 33, tos: 0x10 });
    expect(g.headContiguous).toBe(true);
    expect(g.pseudoOk).toBe(true);
    expectNoLeak(h.stack);
  });

  it('answers an unknown protocol with protocol unreachable', () => {
    const h = h4();
    h.inject(ipv4({ src: P4, dst: A4, proto: 99, payload: pattern(12) }));
    expect(h.stack.ip.ipstat.ips_noproto).toBe(1);
    h.poll();
    const out = h.link.take().map(parseIp);
    expect(out.length).toBe(1);
    expect(out[0]).toMatchObject({ src: A4, dst: P4, proto: 1, ttl: 64 });
    expect([out[0]!.l4[0], out[0]!.l4[1]]).toEqual([3, 2]);
    expectNoLeak(h.stack);
  });
});

describe('IPv6 input drops', () => {
  const goodUdp = () => ipv6({ src: P6, dst: A6, nxt: 17, payload: udp(P6, A6, 1, 2, pattern(20)) });
  const cases: [string, () => Uint8Array, keyof Ip6Stats][] = [
    ['short packet', () => goodUdp().subarray(0, 39), 'ip6s_toosmall'],
    ['payload length > packet', () => ipv6({ src: P6, dst: A6, nxt: 17, payload: pattern(8), plen: 100 }), 'ip6s_tooshort'],
    ['multicast source', () => ipv6({ src: 'ff02::1', dst: A6, nxt: 17 }), 'ip6s_badscope'],
    ['::1 from a link', () => ipv6({ src: '::1', dst: A6, nxt: 17 }), 'ip6s_badscope'],
    ['not for us', () => ipv6({ src: P6, dst: 'fd00::3', nxt: 17 }), 'ip6s_notforus'],
    ['other multicast', () => ipv6({ src: P6, dst: 'ff02::fb', nxt: 17 }), 'ip6s_notmember'],
    ['no next header', () => ipv6({ src: P6, dst: A6, nxt: 59 }), 'ip6s_nonext'],
  ];
  for (const [name, make, counter] of cases) {
    it(`${name} → ${String(counter)}`, () => {
      const h = h4();
      h.inject(make());
      expectOnly(h.stack.ip.ip6stat, { ip6s_total: 1, [counter]: 1 } as Partial<Record<keyof Ip6Stats, number>>);
      expect(h.proto.got.length).toBe(0);
      expectNoLeak(h.stack);
    });
  }

  it('a version other than 4 or 6 counts as IPv4 ips_badvers (dispatch is by the version nibble)', () => {
    const h = h4();
    h.inject(ipv6({ src: P6, dst: A6, nxt: 17, version: 7 }));
    expect(h.stack.ip.ipstat.ips_badvers).toBe(1);
    expect(h.stack.ip.ip6stat.ip6s_total).toBe(0);
    expectNoLeak(h.stack);
  });

  it('accepts all-nodes and our solicited-node group; walks options to the transport', () => {
    const h = h4();
    const u = udp(P6, 'ff02::1', 1, 2, pattern(7));
    h.inject(ipv6({ src: P6, dst: 'ff02::1', nxt: 17, payload: u }));
    const sn = 'ff02::1:ff00:1';
    h.inject(ipv6({ src: P6, dst: sn, nxt: 17, payload: udp(P6, sn, 1, 2) }));
    // Hop-by-hop (PadN + router alert) then destination options then UDP.
    const u2 = udp(P6, A6, 5, 6, pattern(9));
    const hbh = Uint8Array.from([60, 0, 5, 2, 0, 0, 1, 0]);
    const dst = Uint8Array.from([17, 0, 1, 4, 0, 0, 0, 0]);
    h.inject(ipv6({ src: P6, dst: A6, nxt: 0, payload: concat(hbh, dst, u2) }));
    expect(h.proto.got.length).toBe(3);
    expect(h.proto.got[2]!.info).toMatchObject({ family: 6, l4Off: 56, l4Len: u2.length });
    expect(h.proto.got[2]!.l4).toEqual(u2);
    expect(h.proto.got.every((g) => g.pseudoOk && g.headContiguous)).toBe(true);
    expect(h.proto.got[0]!.info.dstIsBroadcastOrMulticast).toBe(true);
    expectNoLeak(h.stack);
  });

  it('unknown next header → parameter problem code 1 pointing at the next-header field', () => {
    const h = h4();
    const dstopts = Uint8Array.from([99, 0, 1, 4, 0, 0, 0, 0]);
    h.inject(ipv6({ src: P6, dst: A6, nxt: 60, payload: concat(dstopts, pattern(8)) }));
    h.poll();
    const [p] = h.link.take().map(parseIp);
    expect(p).toMatchObject({ src: A6, dst: P6, proto: 58 });
    expect(Array.from(p!.l4.subarray(0, 8))).toEqual([4, 1, p!.l4[2], p!.l4[3], 0, 0, 0, 40]);
    expect(h.stack.ip.ip6stat.ip6s_noproto).toBe(1);
    expectNoLeak(h.stack);
  });

  it('drops bad options per their action bits and hop-by-hop not first', () => {
    const h = h4();
    // Option type 0x80 (action 10: discard and send parameter problem code 2).
    const hbh = Uint8Array.from([17, 0, 0x80, 2, 0, 0, 1, 0]);
    h.inject(ipv6({ src: P6, dst: A6, nxt: 0, payload: concat(hbh, udp(P6, A6, 1, 2)) }));
    // Option type 0x40 (action 01: discard silently).
    const hbh2 = Uint8Array.from([17, 0, 0x40, 2, 0, 0, 1, 0]);
    h.inject(ipv6({ src: P6, dst: A6, nxt: 0, payload: concat(hbh2, udp(P6, A6, 1, 2)) }));
    // Hop-by-hop after a destination options header.
    const d = Uint8Array.from([0, 0, 1, 4, 0, 0, 0, 0]);
    h.inject(ipv6({ src: P6, dst: A6, nxt: 60, payload: concat(d, Uint8Array.from([17, 0, 1, 4, 0, 0, 0, 0]), udp(P6, A6, 1, 2)) }));
    // Routing header with segments left.
    h.inject(ipv6({ src: P6, dst: A6, nxt: 43, payload: concat(Uint8Array.from([17, 0, 4, 1, 0, 0, 0, 0]), udp(P6, A6, 1, 2)) }));
    expect(h.stack.ip.ip6stat.ip6s_badoptions).toBe(4);
    h.poll();
    const out = h.link.take().map(parseIp);
    expect(out.map((p) => [p.l4[0], p.l4[1], p.l4[7]])).toEqual([[4, 2, 42], [4, 1, 40], [4, 0, 42]]);
    expect(h.proto.got.length).toBe(0);
    expectNoLeak(h.stack);
  });
});

describe('output defaults and loopback', () => {
  it('sends with TTL/hop limit 64 by default, settable per send', () => {
    const h = h4();
    const ip = h.stack.ip;
    const send = (dst: string, ttl: number) => {
      const m = mFromBytes(h.stack.pool, pattern(10), 64)!;
      return ip.output(m, {
        src: IpAddr.of(dst.includes(':') ? '::' : '0.0.0.0'), dst: IpAddr.of(dst), protocol: TEST_PROTO, ttl, tos: 0,
        dontFrag: false, allowBroadcast: false, ifscope: 0,
      }, h.now());
    };
    expect(send(P4, 0)).toBe(0);
    expect(send(P4, 7)).toBe(0);
    expect(send(P6, 0)).toBe(0);
    expect(send(P6, 9)).toBe(0);
    expect(send('10.0.0.255', 0)).toBe(EACCES);
    h.poll();
    const out = h.link.take().map(parseIp);
    expect(out.map((p) => [p.src, p.ttl, p.headerOk])).toEqual([[A4, 64, true], [A4, 7, true], [A6, 64, true], [A6, 9, true]]);
    expect(out[0]!.l4).toEqual(pattern(10));
    // One transmit call for the whole batch.
    expect(h.link.transmits).toBe(1);
    expectNoLeak(h.stack);
  });

  it('delivers to our own addresses through the loopback queue, without the link', () => {
    const h = h4();
    const ip = h.stack.ip;
    for (const dst of [A4, '127.0.0.1', A6, '::1']) {
      const m = mFromBytes(h.stack.pool, udp(dst, dst, 7, 8, pattern(3)), 64)!;
      expect(ip.output(m, {
        src: IpAddr.of(dst), dst: IpAddr.of(dst), protocol: 17, ttl: 0, tos: 0, dontFrag: true, allowBroadcast: false, ifscope: 0,
      }, h.now())).toBe(0);
    }
    expect(h.proto.got.length).toBe(0);
    expect(h.stack.pollAt()).toBe(h.now());
    h.poll();
    expect(h.proto.got.map((g) => [g.dst, g.info.ifindex])).toEqual([[A4, 1], ['127.0.0.1', 0], [A6, 1], ['::1', 0]]);
    expect(h.link.take().length).toBe(0);
    expect(ip.ipstat.ips_looped).toBe(2);
    expect(ip.ip6stat.ip6s_looped).toBe(2);
    // A big datagram to ourselves is not fragmented, and DF does not matter on loopback.
    const big = mFromBytes(h.stack.pool, pattern(9000), 64)!;
    expect(ip.output(big, {
      src: IpAddr.of(A4), dst: IpAddr.of(A4), protocol: TEST_PROTO, ttl: 0, tos: 0, dontFrag: true, allowBroadcast: false, ifscope: 0,
    }, h.now())).toBe(0);
    h.poll();
    expect(h.proto.got[4]!.l4).toEqual(pattern(9000));
    expect(h.stack.pollAt()).toBeNull();
    expectNoLeak(h.stack);
  });

  it('pings itself over loopback', () => {
    const h = h4();
    const replies: number[] = [];
    h.stack.ip.setEchoListener({ onEchoReply: (r) => replies.push(r.seq) });
    expect(h.stack.ip.sendEcho(IpAddr.of(A4), 1, 5, pattern(4), h.now())).toBe(0);
    expect(h.stack.ip.sendEcho(IpAddr.of('::1'), 1, 6, pattern(4), h.now())).toBe(0);
    h.poll();
    expect(replies).toEqual([5, 6]);
    expectNoLeak(h.stack);
  });

  it('DF above the MTU is EMSGSIZE', () => {
    const h = host({ addrs: [`${A4}/24`, `${A6}/64`], mtu: 1280 });
    const send = (dst: string, n: number) => h.stack.ip.output(mFromBytes(h.stack.pool, pattern(n), 64)!, {
      src: IpAddr.of(dst.includes(':') ? '::' : '0.0.0.0'), dst: IpAddr.of(dst), protocol: TEST_PROTO, ttl: 0, tos: 0,
      dontFrag: true, allowBroadcast: false, ifscope: 0,
    }, h.now());
    expect(send(P4, 1260)).toBe(0);
    expect(send(P4, 1261)).toBe(EMSGSIZE);
    expect(send(P6, 1240)).toBe(0);
    expect(send(P6, 1241)).toBe(EMSGSIZE);
    expect(h.stack.ip.ipstat.ips_cantfrag).toBe(1);
    expect(h.stack.ip.ip6stat.ip6s_cantfrag).toBe(1);
    h.poll();
    expect(h.link.take().length).toBe(2);
    expectNoLeak(h.stack);
  });
});


describe('hostile input', () => {
  it('mutated packets never throw and leak nothing (fast-check)', () => {
    const seeds = [
      ipv4({ src: P4, dst: A4, proto: 17, payload: udp(P4, A4, 1, 2, pattern(40)) }),
      ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, 2, 0], ipv4({ src: A4, dst: P4, proto: 17, payload: udp(A4, P4, 1, 2) })) }),
      ipv4({ src: P4, dst: A4, proto: 1, mf: true, payload: icmp4(8, 0, [0, 1, 0, 1], pattern(40)) }),
      ipv6({ src: P6, dst: A6, nxt: 0, payload: concat(Uint8Array.from([44, 0, 1, 4, 0, 0, 0, 0]), frag6(58, 0, true, 9), pattern(32)) }),
      ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 2, 0, [0, 0, 5, 0], ipv6({ src: A6, dst: P6, nxt: 17, payload: udp(A6, P6, 1, 2) })) }),
    ];
    const mutation = fc.record({ seed: fc.integer({ min: 0, max: seeds.length - 1 }), edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), cut: fc.nat() });
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 20 }), (ms) => {
      const h = h4();
      for (const mu of ms) {
        const p = seeds[mu.seed]!.slice();
        for (const [at, v] of mu.edits) p[at % p.length] = v;
        h.inject(p.subarray(0, p.length - (mu.cut % 8 === 0 ? mu.cut % p.length : 0)));
      }
      h.advance(61_000);
      h.link.take();
      expectNoLeak(h.stack);
    }), { numRuns: 200 });
  });
});
