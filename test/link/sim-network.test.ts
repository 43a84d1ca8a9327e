import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSink, PcapngWriter, SimNetwork, Simulation, withPcap } from '../../stack/link/index.js';
import type { Impairments, Link } from '../../stack/link/index.js';
import { MbufPool } from '../../stack/mbuf/index.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import { Collector, cksum, hex, parse, pattern, pkt, testSeed, udpPacket } from './packets.js';

const SEED = testSeed(20240601);
beforeAll(() => { console.log(`sim-network tests: seed ${SEED} (override with SIM_SEED)`); });

const H1 = '10.0.0.1', H2 = '10.0.0.2', H3 = '10.0.0.3';

/** A network with three hosts; h2 gets `imp`. Returns links, collectors and a sender pool. */
function setup(imp: Impairments = {}, seed = SEED) {
  const net = new SimNetwork({ seed, subnets: [IpCidr.of('10.0.0.0/24')] });
  const l1 = net.attach('h1', [IpAddr.of(H1), IpAddr.of('fd00::1')]);
  const l2 = net.attach('h2', [IpAddr.of(H2), IpAddr.of('fd00::2')], imp);
  const l3 = net.attach('h3', [IpAddr.of(H3)]);
  const c1 = new Collector(), c2 = new Collector(), c3 = new Collector();
  l1.setReceiver(c1); l2.setReceiver(c2); l3.setReceiver(c3);
  const sim = new Simulation({ seed });
  sim.add(net);
  return { net, sim, l1, l2, l3, c1, c2, c3, pool: new MbufPool() };
}

/** Sends `n` UDP packets h1→h2 whose UDP source port carries the index, one every `gapUs`. */
function sendSeries(s: ReturnType<typeof setup>, n: number, gapUs: number, size = 100): Uint8Array[] {
  const sent: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    s.sim.runUntil(i * gapUs);
    const b = udpPacket({ src: H1, dst: H2, sport: i, id: i, payload: pattern(size, i) });
    sent.push(b);
    s.l1.transmit([pkt(s.pool, b)], 1, s.sim.now);
  }
  return sent;
}

describe('SimNetwork routing', () => {
  it('routes IPv4 and IPv6 by destination and batches per port', () => {
    const s = setup();
    const p4 = udpPacket({ src: H1, dst: H2 });
    const p4b = udpPacket({ src: H1, dst: H3 });
    const p6 = udpPacket({ src: 'fd00::1', dst: 'fd00::2' });
    s.l1.transmit([pkt(s.pool, p4), pkt(s.pool, p4b), pkt(s.pool, p6)], 3, 0);
    expect(s.c2.got.length).toBe(0); // nothing synchronous
    s.sim.runUntilIdle(100);
    expect(s.c2.batches).toEqual([2]);
    expect(s.c2.got.map((r) => hex(r.bytes))).toEqual([hex(p4), hex(p6)]);
    expect(s.c3.got.map((r) => hex(r.bytes))).toEqual([hex(p4b)]);
    expect(s.c1.got.length).toBe(0);
    expect(s.pool.stats.mbufsInUse).toBe(0);
    expect(s.net.pool.stats.mbufsInUse).toBe(0);
    expect(s.l1.stats.txPackets).toBe(3);
    expect(s.l2.stats.rxPackets).toBe(2);
  });

  it('floods limited/subnet broadcast and multicast to every other port', () => {
    const s = setup();
    const dsts = ['255.255.255.255', '10.0.0.255', '224.0.0.251'];
    for (const d of dsts) s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: d }))], 1, 0);
    s.l1.transmit([pkt(s.pool, udpPacket({ src: 'fd00::1', dst: 'ff02::1' }))], 1, 0);
    s.sim.runUntilIdle(100);
    expect(s.c2.got.map((r) => parse(r.bytes).dst)).toEqual([...dsts, 'ff02::1']);
    expect(s.c3.got.map((r) => parse(r.bytes).dst)).toEqual([...dsts, 'ff02::1']);
    expect(s.c1.got.length).toBe(0);
    expect(s.net.pool.stats.mbufsInUse).toBe(0);
    expect(s.net.pool.stats.clusterBytesInUse).toBe(0);
  });

  it('counts unknown destinations and malformed packets on the sending port', () => {
    const s = setup();
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: '10.9.9.9' }))], 1, 0);
    s.l1.transmit([pkt(s.pool, udpPacket({ src: 'fd00::1', dst: 'fd00::99' }))], 1, 0);
    s.l1.transmit([pkt(s.pool, Uint8Array.of(0x45, 0, 0))], 1, 0);
    s.sim.runUntilIdle(100);
    expect(s.l1.stats.dropNoRoute).toBe(2);
    expect(s.l1.stats.dropMalformed).toBe(1);
    expect(s.pool.stats.mbufsInUse).toBe(0);
  });

  it('routes by longest prefix to a port owning a CIDR, never back to the sender', () => {
    const s = setup();
    const lr = s.net.attach('router', [IpCidr.of('10.0.0.254/0')]);
    const cr = new Collector();
    lr.setReceiver(cr);
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: '192.0.2.7' })), pkt(s.pool, udpPacket({ src: H1, dst: H2 }))], 2, 0);
    // The router sending to an address only it covers: no route (a switch never hairpins).
    lr.transmit([pkt(s.pool, udpPacket({ src: '10.0.0.254', dst: '192.0.2.8' }))], 1, 0);
    s.sim.runUntilIdle(100);
    expect(cr.got.map((r) => parse(r.bytes).dst)).toEqual(['192.0.2.7']);
    expect(s.c2.got.length).toBe(1);
    expect(lr.stats.dropNoRoute).toBe(1);
  });
});

describe(`SimNetwork impairments (seed ${SEED})`, () => {
  it('loss 0.3 over 1000 packets drops 200..400', () => {
    const s = setup({ loss: 0.3 });
    sendSeries(s, 1000, 100);
    s.sim.runUntilIdle(1000);
    const lost = s.l2.stats.dropLoss;
    expect(lost).toBeGreaterThanOrEqual(200);
    expect(lost).toBeLessThanOrEqual(400);
    expect(s.c2.got.length).toBe(1000 - lost);
  });

  it('delay and jitter put every delivery in [delay, delay + jitter] (rounded up to a microsecond)', () => {
    const s = setup({ delayMs: 20, jitterMs: 10 });
    const sent = sendSeries(s, 200, 0);
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.length).toBe(sent.length);
    const ts = s.c2.got.map((r) => r.t);
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(20_000);
    expect(Math.max(...ts)).toBeLessThanOrEqual(30_000);
    expect(new Set(ts).size).toBeGreaterThan(50); // spread, not one instant
  });

  it('duplicate 0.2 delivers extra copies', () => {
    const s = setup({ duplicate: 0.2 });
    sendSeries(s, 1000, 100);
    s.sim.runUntilIdle(1000);
    const dups = s.l2.stats.duplicated;
    expect(dups).toBeGreaterThanOrEqual(100);
    expect(dups).toBeLessThanOrEqual(300);
    expect(s.c2.got.length).toBe(1000 + dups);
  });

  it('reorder lets later packets overtake held-back ones', () => {
    const s = setup({ reorder: 0.2, reorderDelayMs: 5 });
    sendSeries(s, 200, 100);
    s.sim.runUntilIdle(1000);
    const order = s.c2.got.map((r) => parse(r.bytes).sport);
    expect(order.length).toBe(200);
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
    let inversions = 0;
    for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(5);
    expect(s.l2.stats.reordered).toBeGreaterThan(10);
  });

  it('corrupt flips exactly one bit in the affected packets', () => {
    const s = setup({ corrupt: 0.5 });
    const sent = sendSeries(s, 400, 100);
    s.sim.runUntilIdle(1000);
    let changed = 0;
    for (const r of s.c2.got) {
      // The sport field may itself be corrupted, so match by arrival order (no reordering here).
      const orig = sent[s.c2.got.indexOf(r)]!;
      let bits = 0;
      for (let i = 0; i < orig.length; i++) {
        let x = orig[i]! ^ r.bytes[i]!;
        while (x) { bits += x & 1; x >>= 1; }
      }
      expect(bits).toBeLessThanOrEqual(1);
      changed += bits;
    }
    expect(changed).toBe(s.l2.stats.corrupted);
    expect(changed).toBeGreaterThan(120);
    expect(changed).toBeLessThan(280);
  });

  it('bandwidth spaces deliveries by size / rate', () => {
    const s = setup({ bandwidthBps: 1_000_000, delayMs: 1 });
    // 1250-byte packets at 1 Mbit/s: 10 ms each.
    for (let i = 0; i < 5; i++) {
      const b = udpPacket({ src: H1, dst: H2, sport: i, payload: new Uint8Array(1250 - 28) });
      s.l1.transmit([pkt(s.pool, b)], 1, 0);
    }
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.map((r) => r.t)).toEqual([11_000, 21_000, 31_000, 41_000, 51_000]);
  });

  it('queueLimitBytes tail-drops what does not fit the queue', () => {
    const s = setup({ bandwidthBps: 1_000_000, queueLimitBytes: 3000 });
    for (let i = 0; i < 10; i++) {
      s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: H2, payload: new Uint8Array(1250 - 28) }))], 1, 0);
    }
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.length).toBe(2);
    expect(s.l2.stats.dropQueueFull).toBe(8);
    // After the queue drains, packets fit again.
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: H2, payload: new Uint8Array(1250 - 28) }))], 1, s.sim.now);
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.length).toBe(3);
    expect(s.net.pool.stats.mbufsInUse).toBe(0);
  });

  it('mtu drops larger packets as too-big and emits nothing else', () => {
    const s = setup({ mtu: 1280 });
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: H2, payload: new Uint8Array(1280 - 28) }))], 1, 0);
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: H2, payload: new Uint8Array(1281 - 28) }))], 1, 0);
    s.sim.runUntilIdle(100);
    expect(s.c2.got.map((r) => r.bytes.length)).toEqual([1280]);
    expect(s.l2.stats.dropTooBig).toBe(1);
    expect(s.c1.got.length).toBe(0); // no ICMP or anything else back
  });

  it('drops packets larger than the sending link MTU at ingress', () => {
    const s = setup();
    s.l1.transmit([pkt(s.pool, udpPacket({ src: H1, dst: H2, payload: new Uint8Array(1500) }))], 1, 0);
    s.sim.runUntilIdle(100);
    expect(s.l1.stats.dropTooBig).toBe(1);
  });
});

describe('SimNetwork ECN marking (an AQM that marks CE instead of dropping)', () => {
  /** `b` with the ECN field set to `ecn` (IPv4: TOS and header checksum; IPv6: traffic class). */
  function withEcn(b: Uint8Array, ecn: number): Uint8Array {
    const c = b.slice();
    if (c[0]! >> 4 === 6) {
      c[1] = (c[1]! & ~0x30) | (ecn << 4);
      return c;
    }
    c[1] = (c[1]! & ~3) | ecn;
    c[10] = 0; c[11] = 0;
    const x = cksum([c.subarray(0, 20)]);
    c[10] = x >> 8; c[11] = x & 0xff;
    return c;
  }
  const ecnOf = (b: Uint8Array): number => (b[0]! >> 4 === 6 ? (b[1]! >> 4) & 3 : b[1]! & 3);

  it('ceMark marks ECT(0)/ECT(1) packets CE with its probability and never touches Not-ECT or CE ones', () => {
    const s = setup({ ceMark: 0.3 });
    const n = 400;
    const kinds = [0, 1, 2, 3];
    for (let i = 0; i < n; i++) {
      const e = kinds[i % 4]!;
      const v6 = i % 8 >= 4;
      const b = udpPacket({ src: v6 ? 'fd00::1' : H1, dst: v6 ? 'fd00::2' : H2, sport: i, id: i, payload: pattern(40, i) });
      s.l1.transmit([pkt(s.pool, withEcn(b, e))], 1, 0);
    }
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.length).toBe(n);
    let marked = 0;
    for (const r of s.c2.got) {
      const p = parse(r.bytes);
      const sent = kinds[p.sport % 4]!;
      const got = ecnOf(r.bytes);
      if (sent === 0 || sent === 3) expect(got).toBe(sent);
      else if (got !== sent) {
        expect(got).toBe(3);
        marked++;
      }
      // IPv4 header checksum redone; UDP checksum (no TOS in its pseudo-header) and payload untouched.
      expect([p.ipChecksumOk, p.l4ChecksumOk]).toEqual([true, true]);
      expect(p.payload).toEqual(pattern(40, p.sport));
    }
    expect(marked).toBe(s.l2.stats.ceMarked);
    // 200 ECT packets at p = 0.3: about 60.
    expect(marked).toBeGreaterThan(35);
    expect(marked).toBeLessThan(90);
    expect(s.l2.stats.drops).toBe(0);
  });

  it('ceThresholdBytes marks ECT packets that find that much queued, and only those; Not-ECT ones just queue', () => {
    const s = setup({ bandwidthBps: 1_000_000, ceThresholdBytes: 2500 });
    // Ten 1250-byte packets at once: the k-th finds (k - 1) * 1250 bytes ahead of it.
    for (let i = 0; i < 10; i++) {
      const b = udpPacket({ src: H1, dst: H2, sport: i, payload: new Uint8Array(1250 - 28) });
      s.l1.transmit([pkt(s.pool, withEcn(b, i < 8 ? 2 : 0))], 1, 0);
    }
    s.sim.runUntilIdle(1000);
    expect(s.c2.got.map((r) => ecnOf(r.bytes))).toEqual([2, 2, 3, 3, 3, 3, 3, 3, 0, 0]);
    expect(s.l2.stats.ceMarked).toBe(6);
    expect(s.l2.stats.drops).toBe(0);
    // Once the queue has drained, nothing is marked.
    s.l1.transmit([pkt(s.pool, withEcn(udpPacket({ src: H1, dst: H2, payload: new Uint8Array(100) }), 1))], 1, s.sim.now);
    s.sim.runUntilIdle(1000);
    expect(ecnOf(s.c2.got[10]!.bytes)).toBe(1);
    expect(s.net.pool.stats.mbufsInUse).toBe(0);
  });

  it('rejects a ceMark outside [0, 1]', () => {
    expect(() => setup({ ceMark: 2 })).toThrow(/ceMark/);
  });
});

describe('SimNetwork determinism', () => {
  const ALL: Impairments = {
    loss: 0.1, delayMs: 5, jitterMs: 3, reorder: 0.1, reorderDelayMs: 4, duplicate: 0.1, corrupt: 0.1,
    bandwidthBps: 20_000_000, queueLimitBytes: 20_000,
  };

  /** A scenario with every impairment on, both directions; returns a delivery log and the capture. */
  function run(seed: number): { log: string[]; pcap: Uint8Array } {
    const sim = new Simulation({ seed });
    const net = new SimNetwork({ rng: sim.rng.fork() });
    sim.add(net);
    const sink = new MemoryByteSink();
    const writer = new PcapngWriter(sink);
    const links: Link[] = [];
    const log: string[] = [];
    const pool = new MbufPool();
    for (const [i, name] of ['h1', 'h2', 'h3'].entries()) {
      const link = withPcap(net.attach(name, [IpAddr.of(`10.0.0.${i + 1}`)], ALL), writer, sim.clock);
      const c = new Collector();
      link.setReceiver({
        pool: c.pool,
        receiveBatch(batch, n, now) {
          for (let j = 0; j < n; j++) log.push(`${now} ${name} ${hex(batch[j]!.bytes())}`);
          c.receiveBatch(batch, n, now);
        },
      });
      links.push(link);
    }
    for (let i = 0; i < 300; i++) {
      sim.runUntil(i * 200);
      const from = i % 3, to = (i + 1 + (i % 2)) % 3;
      const b = udpPacket({ src: `10.0.0.${from + 1}`, dst: `10.0.0.${to + 1}`, sport: i, payload: pattern(50 + (i % 700), i) });
      links[from]!.transmit([pkt(pool, b)], 1, sim.now);
    }
    expect(sim.runUntilIdle(10_000)).toBe(true);
    return { log, pcap: sink.bytes() };
  }

  it(`the same seed (${SEED}) gives identical delivery logs and pcapng bytes; another seed differs`, () => {
    const a = run(SEED);
    const b = run(SEED);
    const c = run(SEED + 1);
    expect(a.log.length).toBeGreaterThan(200);
    expect(b.log).toEqual(a.log);
    expect(hex(b.pcap)).toBe(hex(a.pcap));
    expect(c.log).not.toEqual(a.log);
    expect(hex(c.pcap)).not.toBe(hex(a.pcap));
  });
});
