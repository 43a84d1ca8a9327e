// Fragmentation and reassembly: output fragments are well-formed at random MTUs and reference the
// original clusters; fragments fed to a second stack in random order with duplicates give back the
// payload exactly once (fast-check); RFC 5722 overlaps; timeouts free everything and send time
// exceeded; the caps hold under a flood of random fragments.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/index.js';
import { SeededRng } from '../../stack/random/rng.js';
import {
  concat, expectNoLeak, frag6, host, icmpChecksumOk, ipv4, ipv6, parseIp, pattern, rd16, TEST_PROTO,
} from './helpers.js';
import type { Host } from './helpers.js';

const A4 = '10.0.0.1', B4 = '10.0.0.2';
const A6 = 'fd00::1', B6 = 'fd00::2';
const RUNS = 40;

function sender(mtu: number): Host {
  return host({ addrs: [`${A4}/24`, `${A6}/64`], mtu, seed: mtu });
}

function receiver(limits?: { maxFragsPerDatagram?: number; maxQueues?: number; maxBytes?: number }): Host {
  return host({ addrs: [`${B4}/24`, `${B6}/64`], mtu: 9000, ip: { reass4: limits, reass6: limits, icmpRatePerSec: 0 } });
}

/** Sends `payload` from A to B's address as protocol TEST_PROTO; returns the packets on the wire. */
function sendFrom(a: Host, family: 4 | 6, payload: Uint8Array, dontFrag = false): { err: number; pkts: Uint8Array[] } {
  const m = mFromBytes(a.stack.pool, payload, 64)!;
  const err = a.stack.ip.output(m, {
    src: IpAddr.of(family === 4 ? '0.0.0.0' : '::'), dst: IpAddr.of(family === 4 ? B4 : B6), protocol: TEST_PROTO,
    ttl: 0, tos: 0, dontFrag, allowBroadcast: false, ifscope: 0,
  }, a.now());
  a.poll();
  return { err, pkts: a.link.take() };
}

/** Checks fragments for RFC 791 / RFC 8200 §4.5 shape and returns the reassembled payload. */
function checkFragments(pkts: Uint8Array[], mtu: number, family: 4 | 6, payloadLen: number): Uint8Array {
  const ps = pkts.map(parseIp);
  const out = new Uint8Array(payloadLen);
  let expectOff = 0;
  const hl = family === 4 ? 20 : 48;
  const unit = family === 4 ? (mtu - 20) & ~7 : (mtu - 48) & ~7;
  ps.forEach((p, i) => {
    const last = i === ps.length - 1;
    expect(pkts[i]!.length).toBe(p.totalLen);
    expect(p.totalLen).toBeLessThanOrEqual(mtu);
    expect(p.headerOk).toBe(true);
    expect(p.proto).toBe(TEST_PROTO);
    expect(p.id).toBe(ps[0]!.id);
    expect(p.off % 8).toBe(0);
    expect(p.off).toBe(expectOff);
    expect(p.mf).toBe(!last);
    if (family === 6) expect(p.frag).not.toBeNull();
    const data = pkts[i]!.subarray(hl, p.totalLen);
    if (!last) expect(data.length).toBe(unit);
    out.set(data, p.off);
    expectOff += data.length;
  });
  expect(expectOff).toBe(payloadLen);
  return out;
}

describe('output fragmentation', () => {
  it('IPv4 fragments at random MTUs are well-formed (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 68, max: 1500 }), fc.integer({ min: 0, max: 5000 }), (mtu, n) => {
      const a = sender(mtu);
      const payload = pattern(n, mtu);
      const { err, pkts } = sendFrom(a, 4, payload);
      expect(err).toBe(0);
      if (n + 20 <= mtu) {
        expect(pkts.length).toBe(1);
        expect(parseIp(pkts[0]!)).toMatchObject({ mf: false, off: 0, headerOk: true });
      } else {
        expect(checkFragments(pkts, mtu, 4, n)).toEqual(payload);
        expect(a.stack.ip.ipstat.ips_ofragments).toBe(pkts.length);
      }
      expectNoLeak(a.stack);
    }), { numRuns: RUNS });
  });

  it('IPv6 fragments at random MTUs are well-formed (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 1280, max: 9000 }), fc.integer({ min: 0, max: 20000 }), (mtu, n) => {
      const a = sender(mtu);
      const payload = pattern(n, mtu);
      const { err, pkts } = sendFrom(a, 6, payload);
      expect(err).toBe(0);
      if (n + 40 <= mtu) {
        expect(pkts.length).toBe(1);
        expect(parseIp(pkts[0]!).frag).toBeNull();
      } else {
        expect(checkFragments(pkts, mtu, 6, n)).toEqual(payload);
        expect(new Set(pkts.map((p) => parseIp(p).frag!.nxt))).toEqual(new Set([TEST_PROTO]));
      }
      expectNoLeak(a.stack);
    }), { numRuns: RUNS });
  });

  it('fragments reference the original cluster instead of copying it', () => {
    const a = sender(1500);
    const m = mFromBytes(a.stack.pool, pattern(12000), 64)!;
    const before = a.stack.pool.stats.clusterBytesInUse;
    expect(a.stack.ip.output(m, {
      src: IpAddr.ANY4, dst: IpAddr.of(B4), protocol: TEST_PROTO, ttl: 0, tos: 0, dontFrag: false, allowBroadcast: false, ifscope: 0,
    }, a.now())).toBe(0);
    a.poll();
    expect(a.link.sent.length).toBe(9);
    expect(a.stack.pool.stats.clusterBytesInUse).toBe(before);
    const clusters = new Set(a.link.sent.map((f) => f.next!.ext));
    expect(clusters.size).toBe(1);
    a.link.take();
    expectNoLeak(a.stack);
  });

  it('DF set above the MTU is EMSGSIZE for both families', () => {
    const a = sender(1400);
    expect(sendFrom(a, 4, pattern(1381), true).err).toBe(40);
    expect(sendFrom(a, 6, pattern(1361), true).err).toBe(40);
    expect(sendFrom(a, 4, pattern(1380), true).pkts.length).toBe(1);
    expectNoLeak(a.stack);
  });
});

/** Random order with random duplicates; at least one fragment is never duplicated (so the copies cannot complete a second datagram). */
function scramble(pkts: Uint8Array[], seed: number): Uint8Array[] {
  const rng = new SeededRng(seed);
  const seq: Uint8Array[] = [...pkts];
  if (pkts.length > 1) {
    const keep = rng.below(pkts.length);
    pkts.forEach((p, i) => { if (i !== keep && rng.nextFloat() < 0.3) seq.push(p); });
  }
  for (let i = seq.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [seq[i], seq[j]] = [seq[j]!, seq[i]!];
  }
  return seq;
}

describe('reassembly', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: random order and duplicates give the payload back exactly once (fast-check)`, () => {
      const mtuArb = family === 4 ? fc.integer({ min: 68, max: 1500 }) : fc.integer({ min: 1280, max: 4000 });
      fc.assert(fc.property(mtuArb, fc.integer({ min: 1, max: family === 4 ? 6000 : 20000 }), fc.integer(), fc.boolean(), (mtu, n, seed, batched) => {
        const a = sender(mtu);
        const b = receiver({ maxFragsPerDatagram: 256 });
        const payload = pattern(n, seed & 0xff);
        const { pkts } = sendFrom(a, family, payload);
        const seq = scramble(pkts, seed);
        if (batched) b.inject(...seq);
        else for (const p of seq) b.inject(p);
        expect(b.proto.got.length).toBe(1);
        const g = b.proto.got[0]!;
        expect(g.l4).toEqual(payload);
        expect(g.pseudoOk).toBe(true);
        expect(g.src).toBe(family === 4 ? A4 : A6);
        if (pkts.length > 1) {
          if (family === 4) expect(b.stack.ip.ipstat.ips_reassembled).toBe(1);
          else expect(b.stack.ip.ip6stat.ip6s_reassembled).toBe(1);
        }
        // Duplicates that arrived after completion time out; nothing stays allocated.
        b.advance(61_000);
        b.link.take();
        expect(b.stack.ip.reass4.engine.queueCount + b.stack.ip.reass6.engine.queueCount).toBe(0);
        expectNoLeak(b.stack);
        expectNoLeak(a.stack);
      }), { numRuns: RUNS });
    });
  }

  it('IPv4: overlaps are trimmed BSD-style and the datagram still completes', () => {
    const b = receiver();
    const data = pattern(48, 5);
    const f = (off: number, len: number, mf: boolean) =>
      ipv4({ src: A4, dst: B4, proto: TEST_PROTO, id: 9, off, mf, payload: data.subarray(off, off + len) });
    b.inject(f(8, 16, true), f(0, 16, true), f(16, 24, true), f(16, 24, true), f(32, 16, false));
    expect(b.proto.got.length).toBe(1);
    expect(b.proto.got[0]!.l4).toEqual(data);
    const st = b.stack.ip.ipstat;
    expect(st.ips_fragments).toBe(5);
    expect(st.ips_fragdup).toBe(1);
    expect(st.ips_fragoverlap).toBeGreaterThanOrEqual(2);
    expectNoLeak(b.stack);
  });

  it('IPv6: any overlap discards the whole datagram, including later fragments (RFC 5722)', () => {
    const b = receiver();
    const f = (off: number, len: number, more: boolean) =>
      ipv6({ src: A6, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, off, more, 42), pattern(len, off)) });
    b.inject(f(0, 16, true), f(8, 16, true));
    expect(b.stack.ip.ip6stat.ip6s_fragoverlap).toBe(1);
    b.inject(f(24, 8, false), f(16, 8, true), f(0, 16, true));
    expect(b.proto.got.length).toBe(0);
    expect(b.stack.ip.ip6stat.ip6s_fragdropped).toBe(5);
    // The discarded datagram times out silently (its first fragment is gone).
    b.advance(60_000);
    expect(b.link.take().length).toBe(0);
    // An exact duplicate is not an overlap.
    b.inject(f(0, 16, true), f(0, 16, true), f(16, 8, false));
    expect(b.proto.got.length).toBe(1);
    expect(b.stack.ip.ip6stat.ip6s_fragdup).toBe(1);
    expectNoLeak(b.stack);
  });

  it('malformed fragments are counted and dropped', () => {
    const b = receiver();
    // M set and a length not a multiple of 8.
    b.inject(ipv6({ src: A6, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, 0, true, 1), pattern(12)) }));
    b.inject(ipv4({ src: A4, dst: B4, proto: TEST_PROTO, mf: true, payload: pattern(12) }));
    // Past 65535 bytes.
    b.inject(ipv4({ src: A4, dst: B4, proto: TEST_PROTO, off: 65528, payload: pattern(16) }));
    b.inject(ipv6({ src: A6, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, 65528, false, 2), pattern(16)) }));
    const st = b.stack.ip.ipstat, st6 = b.stack.ip.ip6stat;
    expect([st.ips_badfrags, st.ips_toolong, st6.ip6s_badfrags, st6.ip6s_toolong]).toEqual([1, 1, 1, 1]);
    b.poll();
    // RFC 8200 §4.5: parameter problem code 0 pointing at the fragment offset field.
    const out = b.link.take().map(parseIp);
    expect(out.map((p) => [p.l4[0], p.l4[1], rd16(p.l4, 6)])).toEqual([[4, 0, 42]]);
    expect(b.proto.got.length).toBe(0);
    expectNoLeak(b.stack);
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: a timeout frees everything and sends time exceeded when the first fragment came`, () => {
      const b = receiver();
      const ttl = family === 4 ? 30_000 : 60_000;
      const first = family === 4
        ? ipv4({ src: A4, dst: B4, proto: TEST_PROTO, id: 3, mf: true, payload: pattern(64) })
        : ipv6({ src: A6, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, 0, true, 3), pattern(64)) });
      const later = family === 4
        ? ipv4({ src: A4, dst: B4, proto: TEST_PROTO, id: 4, off: 64, mf: true, payload: pattern(64) })
        : ipv6({ src: A6, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, 64, true, 4), pattern(64)) });
      b.inject(first, later);
      expect(b.stack.pool.stats.mbufsInUse).toBeGreaterThan(0);
      b.advance(ttl - 1);
      expect(b.link.take().length).toBe(0);
      b.advance(1);
      const out = b.link.take().map(parseIp);
      expect(out.length).toBe(1);
      const p = out[0]!;
      expect(p).toMatchObject({ src: family === 4 ? B4 : B6, dst: family === 4 ? A4 : A6, proto: family === 4 ? 1 : 58 });
      expect([p.l4[0], p.l4[1]]).toEqual(family === 4 ? [11, 1] : [3, 1]);
      expect(icmpChecksumOk(p)).toBe(true);
      // The quote is the first fragment as it arrived.
      expect(p.l4.subarray(8, 8 + first.length)).toEqual(first.subarray(0, Math.min(first.length, p.l4.length - 8)));
      if (family === 4) expect(b.stack.ip.ipstat.ips_fragtimeout).toBe(2);
      else expect(b.stack.ip.ip6stat.ip6s_fragtimeout).toBe(2);
      expectNoLeak(b.stack);
    });
  }

  it('caps hold under a flood of random fragments (fast-check)', () => {
    const limits = { maxQueues: 8, maxFragsPerDatagram: 6, maxBytes: 48 * 1024 };
    const fragArb = fc.record({
      v6: fc.boolean(), src: fc.integer({ min: 1, max: 3 }), id: fc.integer({ min: 0, max: 20 }),
      off: fc.integer({ min: 0, max: 64 }), len: fc.integer({ min: 1, max: 150 }), more: fc.boolean(),
    });
    fc.assert(fc.property(fc.array(fragArb, { minLength: 1, maxLength: 300 }), (frags) => {
      const b = receiver(limits);
      const ip = b.stack.ip;
      for (const f of frags) {
        const len = f.more ? f.len * 8 : f.len;
        const data = pattern(len, f.id);
        b.inject(f.v6
          ? ipv6({ src: `fd00::a${f.src}`, dst: B6, nxt: 44, payload: concat(frag6(TEST_PROTO, f.off * 8, f.more, f.id), data) })
          : ipv4({ src: `10.0.0.${10 + f.src}`, dst: B4, proto: TEST_PROTO, id: f.id, off: f.off * 8, mf: f.more, payload: data }));
        for (const r of [ip.reass4.engine, ip.reass6.engine]) {
          expect(r.queueCount).toBeLessThanOrEqual(limits.maxQueues);
          expect(r.bytesHeld).toBeLessThanOrEqual(limits.maxBytes);
        }
        // Memory held overall stays bounded by the caps (two families) plus the packet in hand.
        expect(b.stack.pool.stats.mbufsInUse).toBeLessThanOrEqual(2 * limits.maxQueues * limits.maxFragsPerDatagram + 4);
      }
      b.advance(61_000);
      b.link.take();
      expect(ip.reass4.engine.queueCount + ip.reass6.engine.queueCount).toBe(0);
      expectNoLeak(b.stack);
    }), { numRuns: 30 });
  });
});

describe('ECN field of a reassembled datagram (RFC 3168 §5.3)', () => {
  const NOT = 0, ECT1 = 1, ECT0 = 2, CE = 3;
  /** Two fragments of one datagram with the given ECN fields (first, second in arrival order). */
  function twoFrags(family: 4 | 6, e1: number, e2: number, id: number, dscp = 0): Uint8Array[] {
    const d = pattern(64, id);
    return [[0, true, e1], [32, false, e2]].map(([off, more, e]) => {
      const tos = dscp | (e as number);
      const chunk = d.subarray(off as number, (off as number) + 32);
      return family === 4
        ? ipv4({ src: A4, dst: B4, proto: TEST_PROTO, id, off: off as number, mf: more as boolean, tos, payload: chunk })
        : ipv6({ src: A6, dst: B6, nxt: 44, tc: tos, payload: concat(frag6(TEST_PROTO, off as number, more as boolean, id), chunk) });
    });
  }
  const cases: [number, number, number | null][] = [
    // first, second → reassembled ECN (null: the second fragment is dropped, nothing completes)
    [ECT0, ECT0, ECT0], [ECT0, CE, CE], [CE, ECT0, CE], [ECT1, CE, CE], [NOT, NOT, NOT],
    [NOT, CE, null], [CE, NOT, null], [ECT0, NOT, null],
  ];
  for (const family of [4, 6] as const) {
    it(`IPv${family}: CE wins over ECT; CE or ECT mixed with Not-ECT drops the fragment (BSD ip_reass / frag6_input)`, () => {
      let id = 100;
      for (const [e1, e2, want] of cases) {
        const b = receiver();
        b.inject(...twoFrags(family, e1, e2, id++, 0xb8));
        const got = b.proto.got;
        if (want === null) {
          expect(got.length).toBe(0);
          expect(family === 4 ? b.stack.ip.ipstat.ips_fragdropped : b.stack.ip.ip6stat.ip6s_fragdropped).toBe(1);
          b.advance(61_000);
          b.link.take();
        } else {
          expect(got.length).toBe(1);
          expect(got[0]!.info.tos).toBe(0xb8 | want);
          expect(got[0]!.l4).toEqual(pattern(64, id - 1));
        }
        expectNoLeak(b.stack);
      }
    });
  }

  it('IPv4: the reassembled header\'s checksum is right after CE is set', () => {
    const b = receiver();
    const seen: Uint8Array[] = [];
    const orig = b.proto.input.bind(b.proto);
    b.proto.input = (m, info, now) => {
      seen.push(mToBytes(m));
      orig(m, info, now);
    };
    b.inject(...twoFrags(4, ECT0, CE, 7));
    expect(seen.length).toBe(1);
    const p = parseIp(seen[0]!);
    expect(p.tos & 3).toBe(CE);
    expect([p.headerOk, p.mf, p.off, p.totalLen]).toEqual([true, false, 0, 84]);
  });
});
