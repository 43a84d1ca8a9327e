import { beforeAll, describe, expect, it } from 'vitest';
import { SimNetwork, Simulation } from '../../stack/link/index.js';
import type { Link, LinkReceiver, Pollable } from '../../stack/link/index.js';
import { MbufPool, mFreem } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { Collector, pkt, testSeed, udpPacket } from './packets.js';

const SEED = testSeed(42);
beforeAll(() => { console.log(`simulation tests: seed ${SEED} (override with SIM_SEED)`); });

/** Sends one UDP packet every `periodMs` on `link`. */
class Ticker implements Pollable {
  next = 0;
  sent = 0;
  readonly pool = new MbufPool();
  constructor(private readonly link: Link, private readonly periodMs: number, private readonly bytes: Uint8Array) {}
  pollAt(): number { return this.next; }
  poll(now: number): void {
    this.link.transmit([pkt(this.pool, this.bytes)], 1, now);
    this.sent++;
    this.next += this.periodMs * 1000;
  }
}

/** Answers every packet with `reply`, from inside receiveBatch (the network delivers it later). */
class Echo implements LinkReceiver {
  readonly pool = new MbufPool();
  constructor(private readonly link: Link, private readonly reply: Uint8Array) {}
  receiveBatch(batch: Mbuf[], count: number, now: number): void {
    const out: Mbuf[] = [];
    for (let i = 0; i < count; i++) {
      mFreem(batch[i]!);
      out.push(pkt(this.pool, this.reply));
    }
    this.link.transmit(out, out.length, now);
  }
}

function pingPong(seed: number) {
  const sim = new Simulation({ seed });
  const net = sim.add(new SimNetwork({ rng: sim.rng.fork() }));
  const l1 = net.attach('h1', [IpAddr.of('10.0.0.1')], { delayMs: 25 });
  const l2 = net.attach('h2', [IpAddr.of('10.0.0.2')], { delayMs: 25 });
  const c1 = new Collector();
  l1.setReceiver(c1);
  l2.setReceiver(new Echo(l2, udpPacket({ src: '10.0.0.2', dst: '10.0.0.1' })));
  const ticker = sim.add(new Ticker(l1, 100, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2' })));
  return { sim, net, c1, ticker };
}

describe(`Simulation (seed ${SEED})`, () => {
  it('runs a 10-second scenario in virtual time', () => {
    const { sim, c1, ticker } = pingPong(SEED);
    const t0 = performance.now();
    sim.runFor(10_000);
    const realMs = performance.now() - t0;
    console.log(`10 s of virtual time took ${realMs.toFixed(1)} ms real time, ${sim.iterations} iterations`);
    expect(sim.now).toBe(10_000_000);
    expect(ticker.sent).toBe(101); // t = 0, 100, ..., 10000 ms
    expect(c1.got.length).toBe(100); // the echo of the last send is still in flight
    expect(c1.got[0]!.t).toBe(50_000);
    expect(c1.got[99]!.t).toBe(9_950_000);
    // A sanity bound, not a benchmark: virtual time must not be waited for.
    expect(realMs).toBeLessThan(5_000);
  });

  it('runUntil(predicate) stops at the event that satisfies it; false at the deadline otherwise', () => {
    const { sim, c1 } = pingPong(SEED);
    expect(sim.runUntil(() => c1.got.length >= 3, 10_000)).toBe(true);
    expect(sim.now).toBe(250_000);
    expect(sim.runUntil(() => false, 1_000)).toBe(false);
    expect(sim.now).toBe(1_250_000);
    sim.runUntil(2_000_000);
    expect(sim.now).toBe(2_000_000);
  });

  it('runUntilIdle stops at the last event; polls overdue participants without going back in time', () => {
    const sim = new Simulation({ seed: SEED, start: 1_000 });
    const order: string[] = [];
    const mk = (name: string, times: number[]): Pollable => ({
      pollAt: () => (times.length > 0 ? times[0]! : null),
      poll: (now) => { order.push(`${name}@${now}`); times.shift(); },
    });
    sim.add(mk('b', [500, 2_000, 3_000]));
    sim.add(mk('a', [2_000]));
    expect(sim.runUntilIdle(100)).toBe(true);
    expect(order).toEqual(['b@1000', 'b@2000', 'a@2000', 'b@3000']);
    expect(sim.now).toBe(3_000);
    expect(sim.runUntilIdle(100)).toBe(true);
    sim.add(mk('c', [10_000_000]));
    expect(sim.runUntilIdle(5)).toBe(false);
    expect(sim.now).toBe(8_000);
  });

  it('throws a descriptive error when a participant never stops asking for time', () => {
    const sim = new Simulation({ seed: SEED, maxIterations: 1000 });
    sim.add({ pollAt: () => 0, poll: () => {} });
    expect(() => sim.runFor(1)).toThrow(new RegExp(`seed ${SEED}.*1000 iterations`));
  });

  it('is deterministic for a seed', () => {
    const a = pingPong(SEED), b = pingPong(SEED);
    a.sim.runFor(1_000);
    b.sim.runFor(1_000);
    expect(b.c1.got.map((r) => r.t)).toEqual(a.c1.got.map((r) => r.t));
    expect(a.sim.seed).toBe(SEED);
  });
});
