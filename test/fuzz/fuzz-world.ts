// The arena of one fuzz run: two stacks on a seeded SimNetwork (tools/sim-world.ts) with the
// seed's impairments, MTU, offloads and TCP profile; the services of `tunstack up` on host b; the
// attacker's port on the same network; and a DeliveryTap in front of each host's interface.

import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import { SERVICE_NAMES, ServiceSet } from '../../tools/services/registry.js';
import type { Impairments } from '../../stack/link/sim-network.js';
import { OFFLOAD_LINK_CAPS } from '../../stack/link/link.js';
import type { LinkCaps } from '../../stack/link/link.js';
import { IpCidr } from '../../stack/wire/ip-addr.js';
import { FREEBSD_PROFILE, XNU_PROFILE, withProfile } from '../../stack/tcp/tcp-profile.js';
import type { FuzzRng } from './fuzz-rng.js';
import { Attacker } from './attacker.js';
import { DeliveryTap, ForgedPackets } from './delivery-tap.js';
import type { Wire } from './gen-context.js';

export const MALLORY_V4 = IpCidr.of('198.18.0.66/32');
export const MALLORY_V6 = IpCidr.of('2001:db8::66/128');

export interface Arena {
  readonly world: SimWorld;
  readonly attacker: Attacker;
  readonly services: ServiceSet;
  readonly taps: readonly DeliveryTap[];
  readonly forged: ForgedPackets;
  readonly wire: Wire;
  /** What the seed chose, for the report. */
  readonly setup: string;
  /** Pool usage of each host before anything ran (the leak check's baseline). */
  readonly baseline: { readonly a: readonly [number, number]; readonly b: readonly [number, number] };
}

export function buildArena(r: FuzzRng, worldSeed: number): Arena {
  const impairments: Impairments = {
    delayMs: r.pick([0, 0.5, 1, 3]),
    ...(r.chance(0.3) ? { jitterMs: r.pick([0.5, 2]) } : {}),
    ...(r.chance(0.3) ? { loss: r.pick([0.001, 0.005, 0.02]) } : {}),
    ...(r.chance(0.2) ? { reorder: 0.02 } : {}),
    ...(r.chance(0.2) ? { duplicate: 0.01 } : {}),
  };
  const mtu = r.pick([1500, 1500, 1280]);
  const caps: Partial<LinkCaps> | undefined = r.chance(0.25) ? { ...OFFLOAD_LINK_CAPS, mtu } : undefined;
  // Short MSL so that TIME_WAIT ends quickly and the leak check can run soon after the last close.
  const profile = r.chance(0.7)
    ? withProfile(XNU_PROFILE, { name: 'xnu-fuzz', mslMs: 500 })
    : withProfile(FREEBSD_PROFILE, { name: 'freebsd-fuzz', mslMs: 500 });
  const world = buildSimWorld({ seed: worldSeed, impairments, mtu, tcpProfile: profile, ...(caps !== undefined ? { caps } : {}) });
  const baseline = {
    a: [world.a.stack.pool.stats.mbufsInUse, world.a.stack.pool.stats.clusterBytesInUse] as const,
    b: [world.b.stack.pool.stats.mbufsInUse, world.b.stack.pool.stats.clusterBytesInUse] as const,
  };
  const attacker = new Attacker(world.net, [MALLORY_V4, MALLORY_V6]);
  const services = ServiceSet.start(world.b.stack, SERVICE_NAMES);
  const forged = new ForgedPackets();
  const taps = [world.a, world.b].map((h) => {
    const port = world.net.port(h.name);
    const inner = port.receiver;
    if (inner === null) throw new Error(`host ${h.name} has no receiver on its port`);
    const tap = new DeliveryTap(h.name === 'a' ? 'a' : 'b', inner, h.stack, forged);
    port.setReceiver(tap);
    return tap;
  });
  const wire: Wire = {
    a: { v4: world.a.v4.bytes, v6: world.a.v6.bytes },
    b: { v4: world.b.v4.bytes, v6: world.b.v6.bytes },
    mallory: { v4: MALLORY_V4.addr.bytes, v6: MALLORY_V6.addr.bytes },
  };
  const setup = `${profile.name}, mtu ${mtu}${caps !== undefined ? ', offloads' : ''}, impairments ${JSON.stringify(impairments)}`;
  return { world, attacker, services, taps, forged, wire, setup, baseline };
}
