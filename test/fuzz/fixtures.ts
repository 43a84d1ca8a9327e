// Deterministic set-ups for the fuzzer's regression cases: the two-host world with the services on
// host b and the attacker's port, without any randomness beyond the world's seed, and a way to
// read the live tcpcb of a client socket to forge segments exactly at it.

import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import { SERVICE_NAMES, ServiceSet } from '../../tools/services/registry.js';
import { XNU_PROFILE, withProfile, tcpcbOf } from '../../stack/tcp/index.js';
import type { Tcpcb } from '../../stack/tcp/index.js';
import type { Socket } from '../../stack/socket/socket.js';
import { Attacker } from './attacker.js';
import { MALLORY_V4, MALLORY_V6 } from './fuzz-world.js';
import { ip4, setL4Checksum } from './wire-build.js';

export interface Fixture {
  readonly world: SimWorld;
  readonly attacker: Attacker;
  readonly services: ServiceSet;
}

export function fixture(seed: number, delayMs = 1): Fixture {
  const world = buildSimWorld({
    seed, impairments: { delayMs }, tcpProfile: withProfile(XNU_PROFILE, { name: 'xnu-fuzz', mslMs: 500 }),
  });
  const attacker = new Attacker(world.net, [MALLORY_V4, MALLORY_V6]);
  const services = ServiceSet.start(world.b.stack, SERVICE_NAMES);
  return { world, attacker, services };
}

/** The tcpcb behind a socket; throws when it is gone (a setup error in a test). */
export function liveTcpcb(so: Socket): Tcpcb {
  const tp = tcpcbOf(so);
  if (tp === null) throw new Error('the socket has no tcpcb');
  return tp;
}

/** Puts an IPv4 packet from `src` to `dst` carrying `l4` (checksum filled in) on the wire, from the attacker's port. */
export function forge4(f: Fixture, src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array): void {
  setL4Checksum(4, src, dst, proto, l4);
  f.attacker.send([ip4({ src, dst, proto, payload: l4 })], f.world.sim.now);
}
