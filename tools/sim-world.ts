// A simulated world for the CLI, the benchmarks and the simulation tests: two stacks ("a" and
// "b") on a seeded SimNetwork, each with an IPv4 and an IPv6 address in the documentation ranges,
// optionally recorded to pcapng. Everything runs in virtual time and replays from the seed.

import { Stack } from '../stack/stack.js';
import { simEnv } from '../stack/env.js';
import { Simulation } from '../stack/link/simulation.js';
import { SimNetwork } from '../stack/link/sim-network.js';
import type { Impairments } from '../stack/link/sim-network.js';
import { PcapngWriter, withPcap } from '../stack/link/pcapng.js';
import type { LinkCaps } from '../stack/link/link.js';
import { IpAddr, IpCidr } from '../stack/wire/ip-addr.js';
import { DEFAULT_POOL_LIMITS } from '../stack/mbuf/pool.js';
import type { MbufPoolLimits } from '../stack/mbuf/pool.js';
import type { TcpProfile } from '../stack/tcp/tcp-profile.js';

export interface SimHost {
  readonly name: string;
  readonly stack: Stack;
  readonly v4: IpAddr;
  readonly v6: IpAddr;
}

export interface SimWorld {
  readonly seed: number;
  readonly sim: Simulation;
  readonly net: SimNetwork;
  readonly a: SimHost;
  readonly b: SimHost;
}

export interface SimWorldOptions {
  readonly seed: number;
  /** Applied on the way to each host (so both directions are impaired). */
  readonly impairments?: Impairments;
  /** Link MTU of both hosts' interfaces (default 1500). */
  readonly mtu?: number;
  /** Record both hosts' links into this writer. */
  readonly pcap?: PcapngWriter;
  readonly caps?: Partial<LinkCaps>;
  /** TCP kernel profile of both stacks (default XNU_PROFILE). */
  readonly tcpProfile?: TcpProfile;
  /** Mbuf pool limits per host, on top of the defaults (memory-pressure tests). */
  readonly poolLimits?: { readonly a?: Partial<MbufPoolLimits>; readonly b?: Partial<MbufPoolLimits> };
}

const HOSTS = [
  { name: 'a', v4: '198.18.0.1/24', v6: '2001:db8::1/64' },
  { name: 'b', v4: '198.18.0.2/24', v6: '2001:db8::2/64' },
] as const;

export function buildSimWorld(opts: SimWorldOptions): SimWorld {
  const sim = new Simulation({ seed: opts.seed });
  const net = new SimNetwork({ rng: sim.rng.fork() });
  sim.add(net);
  const mtu = opts.mtu ?? 1500;
  const hosts = HOSTS.map((h) => {
    const v4 = IpCidr.of(h.v4), v6 = IpCidr.of(h.v6);
    const link = net.attach(h.name, [v4, v6], opts.impairments, { mtu, ...opts.caps });
    const limits = opts.poolLimits?.[h.name];
    const stack = new Stack({
      env: simEnv(sim.rng.nextU32(), sim.clock), name: h.name,
      ...(limits !== undefined ? { poolLimits: { ...DEFAULT_POOL_LIMITS, ...limits } } : {}),
      ...(opts.tcpProfile !== undefined ? { tcp: { profile: opts.tcpProfile } } : {}),
    });
    const tapped = opts.pcap ? withPcap(link, opts.pcap, sim.clock) : link;
    stack.addInterface(tapped, { name: `sim-${h.name}`, addrs: [v4, v6] });
    sim.add(stack);
    return { name: h.name, stack, v4: v4.addr, v6: v6.addr };
  });
  return { seed: opts.seed, sim, net, a: hosts[0]!, b: hosts[1]! };
}
