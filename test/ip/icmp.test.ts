// ICMP and ICMPv6: echo replies (checksums verified independently), error generation and its
// suppression rules, rate limiting on virtual time, error input reaching ctlinput, and the path
// MTU cache (updates from needfrag / packet-too-big, expiry after 10 minutes).

import { describe, expect, it } from 'vitest';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { mFreem, mFromBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import type { IpCtlInfo, IpInputInfo, IpProtocol } from '../../stack/ip/protocol.js';
import type { IpLayer } from '../../stack/ip/ip-layer.js';
import { icmpError } from '../../stack/ip/icmp.js';
import { icmp6Error } from '../../stack/ip/icmp6.js';
import { EMSGSIZE } from '../../stack/socket/errno.js';
import {
  concat, expectNoLeak, frag6, host, icmp4, icmp6, icmpChecksumOk, ipv4, ipv6, parseIp, pattern, rd16, rd32, TEST_PROTO, u16, udp,
} from './helpers.js';
import type { Host } from './helpers.js';

const A4 = '10.0.0.1', P4 = '10.0.0.2', FAR4 = '192.0.2.1';
const A6 = 'fd00::1', P6 = 'fd00::2', FAR6 = '2001:db8::1';

function h(opts: { rate?: number; mtu?: number } = {}): Host {
  const x = host({ addrs: [`${A4}/24`, `${A6}/64`], mtu: opts.mtu, ip: { icmpRatePerSec: opts.rate ?? 250 } });
  x.stack.addRoute('0.0.0.0/0', { gateway: P4 });
  x.stack.addRoute('::/0', { ifindex: 1 });
  return x;
}

/** A transport with no sockets: answers everything with port unreachable, as UDP would. */
class ClosedPorts implements IpProtocol {
  readonly ctls: IpCtlInfo[] = [];
  constructor(private readonly ip: IpLayer) {}
  input(m: Mbuf, info: IpInputInfo, now: number): void { this.ip.sendIcmpError(m, info, 'port-unreach', now); }
  ctlinput(ctl: IpCtlInfo): void { this.ctls.push(ctl); }
}

function closed(x: Host): ClosedPorts {
  const c = new ClosedPorts(x.stack.ip);
  x.stack.ip.unregisterProtocol(17);
  x.stack.ip.registerProtocol(17, c);
  return c;
}

/** Like ClosedPorts, but it validates ICMP errors itself and owns the PMTU update (as TCP does). */
class Validating extends ClosedPorts {
  readonly validatesIcmpErrors = true;
}

function validating(x: Host): Validating {
  const c = new Validating(x.stack.ip);
  x.stack.ip.unregisterProtocol(17);
  x.stack.ip.registerProtocol(17, c);
  return c;
}

describe('echo', () => {
  it('IPv4: replies from the address asked, same id/seq/data, valid checksums', () => {
    const x = h();
    const data = pattern(56, 3);
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, tos: 0x20, payload: icmp4(8, 0, [...u16(0x1234), ...u16(7)], data) }));
    x.inject(ipv4({ src: P4, dst: '10.0.0.255', proto: 1, payload: icmp4(8, 0, [0, 1, 0, 1]) }));
    x.poll();
    const out = x.link.take().map(parseIp);
    expect(out.length).toBe(1);
    const r = out[0]!;
    expect(r).toMatchObject({ src: A4, dst: P4, proto: 1, ttl: 64, tos: 0x20, headerOk: true });
    expect(icmpChecksumOk(r)).toBe(true);
    expect([r.l4[0], r.l4[1], rd16(r.l4, 4), rd16(r.l4, 6)]).toEqual([0, 0, 0x1234, 7]);
    expect(r.l4.subarray(8)).toEqual(data);
    const st = x.stack.ip.icmpstat;
    expect([st.icps_inhist[8], st.icps_outhist[0], st.icps_reflect, st.icps_bmcastecho]).toEqual([2, 1, 1, 1]);
    expectNoLeak(x.stack);
  });

  it('IPv6: replies to unicast from it and to ff02::1 from our unicast address', () => {
    const x = h();
    const data = pattern(40, 9);
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 128, 0, [0, 9, 0, 2], data) }));
    x.inject(ipv6({ src: P6, dst: 'ff02::1', nxt: 58, payload: icmp6(P6, 'ff02::1', 128, 0, [0, 9, 0, 3], data) }));
    x.poll();
    const out = x.link.take().map(parseIp);
    expect(out.map((p) => [p.src, p.dst, p.proto, p.l4[0], rd16(p.l4, 6), icmpChecksumOk(p)])).toEqual([
      [A6, P6, 58, 129, 2, true], [A6, P6, 58, 129, 3, true],
    ]);
    expect(out[1]!.l4.subarray(8)).toEqual(data);
    expectNoLeak(x.stack);
  });

  it('drops bad ICMP input by reason', () => {
    const x = h();
    const bad = icmp4(8, 0, [0, 1, 0, 1], pattern(8));
    bad[9]! ^= 1;
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: bad }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: Uint8Array.from([8, 0, 0]) }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 99, [0, 0, 0, 0], pattern(28)) }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 3, [0, 0, 0, 0], pattern(20)) }));
    const bad6 = icmp6(P6, A6, 128, 0, [0, 1, 0, 1]);
    bad6[2]! ^= 0x40;
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: bad6 }));
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 135, 0, [0, 0, 0, 0], pattern(16)) }));
    const st = x.stack.ip.icmpstat, st6 = x.stack.ip.icmp6stat;
    expect([st.icps_checksum, st.icps_tooshort, st.icps_badcode, st.icps_badlen]).toEqual([1, 1, 1, 1]);
    expect([st6.icp6s_checksum, st6.icp6s_nd_ignored, st6.icp6s_inhist[135]]).toEqual([1, 1, 1]);
    x.poll();
    expect(x.link.take().length).toBe(0);
    expectNoLeak(x.stack);
  });
});

describe('error generation', () => {
  it('port unreachable quotes up to 576 bytes (v4) and 1280 bytes (v6)', () => {
    const x = h();
    closed(x);
    const small = udp(P4, A4, 1000, 9, pattern(10));
    x.inject(ipv4({ src: P4, dst: A4, proto: 17, payload: small }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 17, payload: udp(P4, A4, 1000, 9, pattern(1400)) }));
    x.inject(ipv6({ src: P6, dst: A6, nxt: 17, payload: udp(P6, A6, 1000, 9, pattern(1400)) }));
    x.poll();
    const out = x.link.take().map(parseIp);
    expect(out.map((p) => [p.dst, p.proto, p.totalLen, p.l4[0], p.l4[1], icmpChecksumOk(p), p.headerOk])).toEqual([
      [P4, 1, 20 + 8 + 20 + small.length, 3, 3, true, true],
      [P4, 1, 576, 3, 3, true, true],
      [P6, 58, 1280, 1, 4, true, true],
    ]);
    // The quote starts with the offending IP header.
    expect(parseIp(out[0]!.l4.subarray(8))).toMatchObject({ src: P4, dst: A4, proto: 17 });
    expectNoLeak(x.stack);
  });

  it('is never sent for broadcast/multicast destinations or bad sources', () => {
    const x = h();
    closed(x);
    x.inject(ipv4({ src: P4, dst: '10.0.0.255', proto: 17, payload: udp(P4, '10.0.0.255', 1, 2) }));
    x.inject(ipv4({ src: P4, dst: '255.255.255.255', proto: 17, payload: udp(P4, '255.255.255.255', 1, 2) }));
    x.inject(ipv4({ src: '0.0.0.0', dst: A4, proto: 17, payload: udp('0.0.0.0', A4, 68, 67) }));
    x.inject(ipv4({ src: '10.0.0.255', dst: A4, proto: 17, payload: udp('10.0.0.255', A4, 1, 2) }));
    x.inject(ipv6({ src: P6, dst: 'ff02::1', nxt: 17, payload: udp(P6, 'ff02::1', 1, 2) }));
    x.inject(ipv6({ src: '::', dst: A6, nxt: 17, payload: udp('::', A6, 1, 2) }));
    x.inject(ipv4({ src: P4, dst: '224.0.0.1', proto: 99 }));
    x.poll();
    expect(x.link.take().length).toBe(0);
    const st = x.stack.ip.icmpstat, st6 = x.stack.ip.icmp6stat;
    expect([st.icps_error, st.icps_bcast, st.icps_badsrc]).toEqual([5, 3, 2]);
    expect([st6.icp6s_error, st6.icp6s_mcast, st6.icp6s_badsrc]).toEqual([2, 1, 1]);
    expectNoLeak(x.stack);
  });

  it('is never sent about ICMP errors or non-first fragments, but is about echo requests', () => {
    const x = h();
    const ip = x.stack.ip;
    const m = (b: Uint8Array) => mFromBytes(x.stack.pool, b, 0)!;
    icmpError(ip, m(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 1, [0, 0, 0, 0], pattern(28)) })), 3, 2, 0, x.now());
    icmpError(ip, m(ipv4({ src: P4, dst: A4, proto: 1, payload: Uint8Array.from([3]) })), 3, 2, 0, x.now());
    icmpError(ip, m(ipv4({ src: P4, dst: A4, proto: 17, off: 64, payload: pattern(16) })), 3, 2, 0, x.now());
    icmpError(ip, m(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(8, 0, [0, 0, 0, 0]) })), 3, 2, 0, x.now());
    icmp6Error(ip, m(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 1, 4, [0, 0, 0, 0], pattern(48)) })), 1, 4, 0, x.now());
    icmp6Error(ip, m(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 137, 0, [0, 0, 0, 0], pattern(32)) })), 1, 4, 0, x.now());
    icmp6Error(ip, m(ipv6({ src: P6, dst: A6, nxt: 44, payload: concat(frag6(17, 8, true, 5), pattern(8)) })), 1, 4, 0, x.now());
    icmp6Error(ip, m(ipv6({ src: P6, dst: 'ff02::1', nxt: 17, payload: udp(P6, 'ff02::1', 1, 2) })), 2, 0, 1280, x.now());
    const st = ip.icmpstat, st6 = ip.icmp6stat;
    expect([st.icps_oldicmp, st.icps_oldshort, st.icps_fragment, st.icps_outhist[3]]).toEqual([1, 1, 1, 1]);
    expect([st6.icp6s_canterror, st6.icp6s_fragment, st6.icp6s_outhist[2]]).toEqual([2, 1, 1]);
    x.poll();
    expect(x.link.take().length).toBe(2);
    expectNoLeak(x.stack);
  });

  it('is rate limited by a token bucket on virtual time', () => {
    const x = h({ rate: 10 });
    closed(x);
    const burst = (n: number) => {
      for (let i = 0; i < n; i++) x.inject(ipv4({ src: P4, dst: A4, proto: 17, payload: udp(P4, A4, 1, 2) }));
      x.poll();
      return x.link.take().length;
    };
    expect(burst(15)).toBe(10);
    expect(x.stack.ip.icmpstat.icps_ratelimited).toBe(5);
    x.advance(500);
    expect(burst(10)).toBe(5);
    x.advance(5000);
    expect(burst(12)).toBe(10);
    // Both families share the bucket.
    x.advance(1000);
    for (let i = 0; i < 12; i++) x.inject(ipv6({ src: P6, dst: A6, nxt: 17, payload: udp(P6, A6, 1, 2) }));
    x.poll();
    expect(x.link.take().length).toBe(10);
    expect(x.stack.ip.icmp6stat.icp6s_ratelimited).toBe(2);
    expectNoLeak(x.stack);
  });
});

describe('error input', () => {
  it('reaches the transport\'s ctlinput with the decoded quote (v4 and v6)', () => {
    const x = h();
    const c = closed(x);
    const sent4 = ipv4({ src: A4, dst: FAR4, proto: 17, payload: udp(A4, FAR4, 1000, 53, pattern(30)) });
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 3, [0, 0, 0, 0], sent4.subarray(0, 28)) }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(11, 0, [0, 0, 0, 0], sent4) }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 13, [0, 0, 0, 0], sent4) }));
    const sent6 = ipv6({ src: A6, dst: FAR6, nxt: 17, payload: udp(A6, FAR6, 2000, 443, pattern(30)) });
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 1, 4, [0, 0, 0, 0], sent6) }));
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 4, 1, [0, 0, 0, 6], sent6) }));
    const withFrag = ipv6({ src: A6, dst: FAR6, nxt: 44, payload: concat(frag6(17, 0, true, 77), udp(A6, FAR6, 2001, 444, pattern(8))) });
    x.inject(ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 3, 1, [0, 0, 0, 0], withFrag) }));
    expect(c.ctls.map((k) => [k.family, k.kind, k.icmpType, k.icmpCode, k.src.toString(), k.dst.toString(), k.srcPort, k.dstPort])).toEqual([
      [4, 'unreach-port', 3, 3, A4, FAR4, 1000, 53],
      [4, 'time-exceeded', 11, 0, A4, FAR4, 1000, 53],
      [4, 'unreach-admin', 3, 13, A4, FAR4, 1000, 53],
      [6, 'unreach-port', 1, 4, A6, FAR6, 2000, 443],
      [6, 'unreach-proto', 4, 1, A6, FAR6, 2000, 443],
      [6, 'time-exceeded', 3, 1, A6, FAR6, 2001, 444],
    ]);
    expect(c.ctls[0]!.quoted.length).toBe(8);
    expect(c.ctls[1]!.quoted.length).toBe(38);
    expect(x.stack.ip.icmpstat.icps_ctlinput).toBe(3);
    x.poll();
    expect(x.link.take().length).toBe(0);
    expectNoLeak(x.stack);
  });

  it('needfrag lowers the path MTU (RFC 1191), which expires after 10 minutes', () => {
    const x = h();
    const c = closed(x);
    const ip = x.stack.ip;
    const far = IpAddr.of(FAR4);
    const quote = (len: number) => ipv4({ src: A4, dst: FAR4, proto: 17, df: true, totalLen: len, payload: udp(A4, FAR4, 1, 2) });
    expect(ip.pathMtu(far)).toBe(1500);
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, ...u16(1200)], quote(1500)) }));
    expect(ip.pathMtu(far)).toBe(1200);
    expect(c.ctls[0]).toMatchObject({ kind: 'needfrag', mtu: 1200 });
    // A higher report is ignored; a pre-RFC 1191 router (MTU 0) makes us guess the plateau below.
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, ...u16(1400)], quote(1500)) }));
    expect(ip.pathMtu(far)).toBe(1200);
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, 0, 0], quote(1200)) }));
    expect(ip.pathMtu(far)).toBe(1006);
    // Implausible tiny reports never take us below 576.
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, 0, 40], quote(1006)) }));
    expect(ip.pathMtu(far)).toBe(576);
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, 0, 40], quote(576)) }));
    expect(ip.pathMtu(far)).toBe(576);
    expect([ip.icmpstat.icps_pmtuchanged, ip.icmpstat.icps_pmtuignored]).toEqual([3, 2]);
    // DF output above the learned MTU fails; without DF it is fragmented at it.
    const out = (n: number, df: boolean) => ip.output(mFromBytes(x.stack.pool, pattern(n), 64)!, {
      src: IpAddr.ANY4, dst: far, protocol: TEST_PROTO, ttl: 0, tos: 0, dontFrag: df, allowBroadcast: false, ifscope: 0,
    }, x.now());
    expect(out(600, true)).toBe(EMSGSIZE);
    expect(out(600, false)).toBe(0);
    x.poll();
    expect(x.link.take().map((b) => b.length)).toEqual([572, 68]);
    x.advance(599_000);
    expect(ip.pathMtu(far)).toBe(576);
    x.advance(1_000);
    expect(ip.pathMtu(far)).toBe(1500);
    expect(ip.pmtu.size).toBe(0);
    expectNoLeak(x.stack);
  });

  it('for a transport that validates ICMP errors, IP only passes the requested MTU on; the transport applies it', () => {
    const x = h({ mtu: 9000 });
    const c = validating(x);
    const ip = x.stack.ip;
    const far4 = IpAddr.of(FAR4), far6 = IpAddr.of(FAR6);
    const quote4 = (len: number) => ipv4({ src: A4, dst: FAR4, proto: 17, df: true, totalLen: len, payload: udp(A4, FAR4, 1, 2) });
    // IPv4: the reported MTU, or the RFC 1191 plateau guess, reaches ctlinput; the cache is untouched.
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, ...u16(1200)], quote4(1500)) }));
    x.inject(ipv4({ src: P4, dst: A4, proto: 1, payload: icmp4(3, 4, [0, 0, 0, 0], quote4(1500)) }));
    expect(c.ctls.map((k) => [k.kind, k.mtu])).toEqual([['needfrag', 1200], ['needfrag', 1492]]);
    expect(ip.pathMtu(far4)).toBe(9000);
    expect([ip.icmpstat.icps_pmtuchanged, ip.icmpstat.icps_pmtuignored]).toEqual([0, 0]);
    // The transport accepted the first one: IpOutput.updatePathMtu lowers (never raises) the cache.
    expect(ip.updatePathMtu(far4, c.ctls[0]!.mtu, x.now())).toBe(1200);
    expect(ip.updatePathMtu(far4, 1400, x.now())).toBe(1200);
    expect([ip.icmpstat.icps_pmtuchanged, ip.icmpstat.icps_pmtuignored]).toEqual([1, 1]);
    // IPv6: the same, after IP's own RFC 8201 §4 check (a report below 1280 is still discarded).
    const sent = ipv6({ src: A6, dst: FAR6, nxt: 17, payload: udp(A6, FAR6, 5, 6, pattern(100)) });
    const ptb = (mtu: number) => ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 2, 0, [...u16(mtu >>> 16), ...u16(mtu & 0xffff)], sent) });
    x.inject(ptb(4000));
    x.inject(ptb(1000));
    expect(c.ctls.slice(2).map((k) => [k.kind, k.mtu])).toEqual([['needfrag', 4000]]);
    expect(ip.pathMtu(far6)).toBe(9000);
    expect(ip.updatePathMtu(far6, 4000, x.now())).toBe(4000);
    expect([ip.icmp6stat.icp6s_pmtuchanged, ip.icmp6stat.icp6s_pmtuignored]).toEqual([1, 1]);
    expectNoLeak(x.stack);
  });

  it('packet too big lowers the IPv6 path MTU, never below 1280 (RFC 8201), and expires', () => {
    const x = h({ mtu: 9000 });
    const c = closed(x);
    const ip = x.stack.ip;
    const far = IpAddr.of(FAR6);
    const sent = ipv6({ src: A6, dst: FAR6, nxt: 17, payload: udp(A6, FAR6, 5, 6, pattern(100)) });
    const ptb = (mtu: number) => ipv6({ src: P6, dst: A6, nxt: 58, payload: icmp6(P6, A6, 2, 0, [...u16(mtu >>> 16), ...u16(mtu & 0xffff)], sent) });
    expect(ip.pathMtu(far)).toBe(9000);
    x.inject(ptb(4000));
    expect(ip.pathMtu(far)).toBe(4000);
    x.inject(ptb(1000));
    expect(ip.pathMtu(far)).toBe(4000);
    x.inject(ptb(20000));
    expect(ip.pathMtu(far)).toBe(4000);
    x.inject(ptb(1280));
    expect(ip.pathMtu(far)).toBe(1280);
    expect(c.ctls.map((k) => [k.kind, k.mtu])).toEqual([['needfrag', 4000], ['needfrag', 4000], ['needfrag', 1280]]);
    expect([ip.icmp6stat.icp6s_pmtuchanged, ip.icmp6stat.icp6s_pmtuignored]).toEqual([2, 2]);
    x.advance(600_000);
    expect(ip.pathMtu(far)).toBe(9000);
    expectNoLeak(x.stack);
    void rd32; void mFreem;
  });
});
