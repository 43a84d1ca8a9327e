// Ephemeral port selection, RFC 6056 §3.3.1 "Algorithm 1: Simple Port Randomization": start at a
// random port of the range, then probe upwards (wrapping) until a free one is found, at most
// once per port of the range. The Rng is injected, so a seeded stack picks the same ports.
// XNU picks a random starting point too when net.inet.ip.portrange.randomized is 1 (the macOS
// default) or SO_RANDOMPORT is set; we always randomize.

import type { Rng } from '../random/rng.js';

/** Answers whether a port may be used; the PCB table implements it with XNU's lookup rules. */
export interface PortAvailability {
  portInUse(port: number): boolean;
}

/**
 * RFC 6056 Algorithm 1 over [first, last]:
 *
 *   num_ephemeral = max_ephemeral - min_ephemeral + 1;
 *   next_ephemeral = min_ephemeral + (random() % num_ephemeral);
 *   count = num_ephemeral;
 *   do {
 *       if (check_suitable_port(port)) return next_ephemeral;
 *       if (next_ephemeral == max_ephemeral) next_ephemeral = min_ephemeral;
 *       else next_ephemeral++;
 *       count--;
 *   } while (count > 0);
 *   return ERROR;
 *
 * Returns the port, or 0 when every port of the range is taken (the caller's EADDRNOTAVAIL).
 */
export function selectEphemeralPort(rng: Rng, first: number, last: number, ports: PortAvailability): number {
  if (last < first) return 0;
  const num = last - first + 1;
  let port = first + rng.below(num);
  for (let count = num; count > 0; count--) {
    if (!ports.portInUse(port)) return port;
    port = port === last ? first : port + 1;
  }
  return 0;
}
