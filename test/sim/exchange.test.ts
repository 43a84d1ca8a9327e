// Two stacks on the simulated network: ping and UDP echo both ways over IPv4 and IPv6, clean and
// under impairments, in virtual time. Every run prints its seed; SIM_SEED=n replays one.

import { describe, expect, it } from 'vitest';
import { buildSimWorld } from '../../tools/sim-world.js';
import { runExchange } from '../../tools/sim-scenario.js';
import type { FlowResult } from '../../tools/sim-scenario.js';
import { MemoryByteSink, PcapngWriter } from '../../stack/link/pcapng.js';
import type { Impairments } from '../../stack/link/sim-network.js';

const BASE_SEED = Number(process.env.SIM_SEED ?? 20261121);

function label(r: FlowResult): string {
  return `${r.kind} v${r.family} ${r.from}->${r.to}`;
}

function run(seed: number, impairments: Impairments | undefined, mtu: number, size: number, count = 20) {
  const sink = new MemoryByteSink();
  const world = buildSimWorld({ seed, impairments, mtu, pcap: new PcapngWriter(sink) });
  const results = runExchange(world, { count, size, intervalMs: 20, graceMs: 3000 });
  return { world, results, pcap: sink.bytes() };
}

describe('simulated exchange between two stacks', () => {
  it(`clean network: every ping and datagram is answered exactly (seed ${BASE_SEED})`, () => {
    const { results, world } = run(BASE_SEED, undefined, 1500, 512);
    expect(results.map(label)).toEqual([
      'ping v4 a->b', 'udp v4 a->b', 'ping v6 a->b', 'udp v6 a->b',
      'ping v4 b->a', 'udp v4 b->a', 'ping v6 b->a', 'udp v6 b->a',
    ]);
    for (const r of results) {
      expect([label(r), r.answered, r.mismatched, r.duplicates]).toEqual([label(r), r.sent, 0, 0]);
    }
    // Nothing leaked: after the exchange no stack holds mbufs beyond its pools' caches.
    for (const h of [world.a, world.b]) {
      h.stack.drain();
      expect(h.stack.pool.stats.mbufsInUse).toBe(0);
    }
  });

  it(`small MTU: payloads larger than the link are fragmented and reassembled (seed ${BASE_SEED + 1})`, () => {
    // 1280 is the IPv6 minimum; 3000-byte payloads need three fragments each way.
    const { results, world } = run(BASE_SEED + 1, { delayMs: 5 }, 1280, 3000, 10);
    for (const r of results) expect([label(r), r.answered, r.mismatched]).toEqual([label(r), r.sent, 0]);
    const st = world.b.stack.ip;
    expect(st.ipstat.ips_fragmented).toBeGreaterThan(0);
    expect(st.ipstat.ips_reassembled).toBeGreaterThan(0);
    expect(st.ip6stat.ip6s_fragmented).toBeGreaterThan(0);
    expect(st.ip6stat.ip6s_reassembled).toBeGreaterThan(0);
  });

  it(`loss, reordering, duplication, corruption and jitter: answers are correct and most arrive (seed ${BASE_SEED + 2})`, () => {
    const impair: Impairments = { loss: 0.1, reorder: 0.2, duplicate: 0.1, corrupt: 0.05, delayMs: 10, jitterMs: 15 };
    const { results, world } = run(BASE_SEED + 2, impair, 1280, 2000, 40);
    let answered = 0, sent = 0;
    for (const r of results) {
      // Corrupted packets are caught by checksums, never delivered with wrong bytes.
      expect([label(r), r.mismatched]).toEqual([label(r), 0]);
      answered += r.answered;
      sent += r.sent;
    }
    // Each answer needs 4 fragment deliveries (2 fragments each way) to survive 10% loss + 5% corruption
    // on each: ~0.85^4 = 52%; demand well over a third.
    expect(answered / sent).toBeGreaterThan(0.35);
    expect(answered).toBeLessThan(sent);
    // Corrupted packets were dropped and counted somewhere: IP header checksum, UDP/ICMP checksums.
    let badsum = 0;
    for (const h of [world.a, world.b]) {
      const ip = h.stack.ip;
      badsum += ip.ipstat.ips_badsum + ip.icmpstat.icps_checksum + ip.icmp6stat.icp6s_checksum + h.stack.udp.stats.udps_badsum;
    }
    expect(badsum).toBeGreaterThan(0);
  });

  it('is deterministic: the same seed gives the same pcap bytes, another seed different ones', () => {
    const impair: Impairments = { loss: 0.05, reorder: 0.1, duplicate: 0.05, delayMs: 3, jitterMs: 4 };
    const one = run(BASE_SEED + 3, impair, 1280, 1500, 8);
    const two = run(BASE_SEED + 3, impair, 1280, 1500, 8);
    const other = run(BASE_SEED + 4, impair, 1280, 1500, 8);
    expect(one.pcap.length).toBeGreaterThan(10_000);
    expect(Buffer.from(two.pcap).equals(Buffer.from(one.pcap))).toBe(true);
    expect(Buffer.from(other.pcap).equals(Buffer.from(one.pcap))).toBe(false);
    expect(two.results).toEqual(one.results);
  });
});
