// Two stacks ping each other over a MemoryLinkPair and over a SimNetwork, on virtual time driven by
// a Simulation: IPv4 and IPv6, including payloads above the MTU (fragmented request, reassembly,
// fragmented reply, reassembly again).

import { describe, expect, it } from 'vitest';
import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import { MemoryLinkPair, SimNetwork, Simulation } from '../../stack/link/index.js';
import type { EchoReply } from '../../stack/ip/ip-layer.js';
import { expectNoLeak, pattern } from './helpers.js';

const SEED = Number(process.env.SIM_SEED ?? 7) >>> 0;

function pair(mtu: number) {
  const sim = new Simulation({ seed: SEED });
  const a = new Stack({ env: simEnv(1, sim.clock), name: 'a' });
  const b = new Stack({ env: simEnv(2, sim.clock), name: 'b' });
  const link = new MemoryLinkPair({ caps: { mtu } });
  a.addInterface(link.a, { addrs: [IpCidr.of('10.0.0.1/24'), IpCidr.of('fd00::1/64')] });
  b.addInterface(link.b, { addrs: [IpCidr.of('10.0.0.2/24'), IpCidr.of('fd00::2/64')] });
  sim.add(link);
  sim.add(a);
  sim.add(b);
  return { sim, a, b, link };
}

function listen(s: Stack): EchoReply[] {
  const got: EchoReply[] = [];
  s.ip.setEchoListener({ onEchoReply: (r) => got.push(r) });
  return got;
}

describe('ping between two stacks', () => {
  for (const [family, aAddr, bAddr] of [[4, '10.0.0.1', '10.0.0.2'], [6, 'fd00::1', 'fd00::2']] as const) {
    it(`IPv${family} over a MemoryLinkPair, both ways, small and fragmented`, () => {
      const { sim, a, b } = pair(1500);
      const gotA = listen(a), gotB = listen(b);
      for (const [i, n] of [56, 1400, 4000, 20000].entries()) {
        expect(a.ip.sendEcho(IpAddr.of(bAddr), 0x77, i, pattern(n, i), sim.now)).toBe(0);
      }
      expect(b.ip.sendEcho(IpAddr.of(aAddr), 0x88, 1, pattern(3000, 9), sim.now)).toBe(0);
      expect(sim.runUntilIdle(1000)).toBe(true);
      expect(gotA.map((r) => [r.family, r.src.toString(), r.ident, r.seq, r.payload.length, r.hopLimit])).toEqual([
        [family, bAddr, 0x77, 0, 56, 64], [family, bAddr, 0x77, 1, 1400, 64],
        [family, bAddr, 0x77, 2, 4000, 64], [family, bAddr, 0x77, 3, 20000, 64],
      ]);
      gotA.forEach((r, i) => expect(r.payload).toEqual(pattern(r.payload.length, i)));
      expect(gotB.map((r) => [r.src.toString(), r.seq])).toEqual([[aAddr, 1]]);
      expect(gotB[0]!.payload).toEqual(pattern(3000, 9));
      if (family === 4) {
        // 4000 and 20000 each way, plus the 3000-byte ping from b (1400 fits the MTU).
        expect(b.ip.ipstat.ips_reassembled).toBe(3);
        expect(a.ip.ipstat.ips_reassembled).toBe(3);
        expect(b.ip.ipstat.ips_fragmented).toBe(3);
      } else {
        expect(b.ip.ip6stat.ip6s_reassembled).toBe(3);
        expect(a.ip.ip6stat.ip6s_fragmented).toBe(3);
      }
      expect(sim.now).toBe(0);
      expectNoLeak(a);
      expectNoLeak(b);
    });
  }

  it('over a SimNetwork with delay, reordering and duplication, to a stack behind a smaller MTU', () => {
    const sim = new Simulation({ seed: SEED });
    const net = new SimNetwork({ rng: sim.rng.fork() });
    const a = new Stack({ env: simEnv(3, sim.clock), name: 'a' });
    const b = new Stack({ env: simEnv(4, sim.clock), name: 'b' });
    const pa = net.attach('a', [IpCidr.of('10.1.0.1/16'), IpCidr.of('fd01::1/64')],
      { delayMs: 5, jitterMs: 3, reorder: 0.2, duplicate: 0.2 }, { mtu: 1500 });
    const pb = net.attach('b', [IpCidr.of('10.1.0.2/16'), IpCidr.of('fd01::2/64')], { delayMs: 5 }, { mtu: 1280 });
    a.addInterface(pa, { addrs: [IpCidr.of('10.1.0.1/16'), IpCidr.of('fd01::1/64')] });
    b.addInterface(pb, { addrs: [IpCidr.of('10.1.0.2/16'), IpCidr.of('fd01::2/64')] });
    // a knows b's path MTU by configuration (a route MTU): what PMTU discovery would teach it.
    a.addRoute('10.1.0.2/32', { ifindex: 1, mtu: 1280 });
    a.addRoute('fd01::2/128', { ifindex: 1, mtu: 1280 });
    sim.add(net); sim.add(a); sim.add(b);
    const got = listen(a);
    for (let i = 0; i < 5; i++) {
      expect(a.ip.sendEcho(IpAddr.of('10.1.0.2'), 1, i, pattern(3000 + i, i), sim.now)).toBe(0);
      expect(a.ip.sendEcho(IpAddr.of('fd01::2'), 2, i, pattern(5000 + i, i), sim.now)).toBe(0);
    }
    expect(sim.runUntilIdle(120_000)).toBe(true);
    // Duplicated fragments may complete a second copy of a datagram; every copy is intact.
    const seen = new Set(got.map((r) => `${r.family}/${r.seq}`));
    expect(seen.size).toBe(10);
    for (const r of got) expect(r.payload).toEqual(pattern((r.family === 4 ? 3000 : 5000) + r.seq, r.seq));
    expect(net.totals().dropTooBig).toBe(0);
    expectNoLeak(a);
    expectNoLeak(b);
  });
});
