// Congestion-control algorithms by name, as XNU's net.inet.tcp.cc_algorithm sysctl / TCP_CONGESTION
// socket option select them. The core resolves profile.congestionControl (or a socket option) here
// when it creates a tcpcb: tcp_newtcpcb → ccByName(name).newState().

import type { CongestionControl } from './tcp-cc.js';
import { NewReno } from './tcp-cc-newreno.js';
import { Cubic } from './tcp-cc-cubic.js';

/** Names accepted by ccByName, in the order `sysctl net.inet.tcp.available_cc` would list them. */
export const CC_NAMES: readonly string[] = ['newreno', 'cubic'];

/** The algorithm called `name` ('newreno' or 'cubic', case-insensitive), or null. */
export function ccByName(name: 'newreno' | 'cubic'): CongestionControl;
export function ccByName(name: string): CongestionControl | null;
export function ccByName(name: string): CongestionControl | null {
  switch (name.toLowerCase()) {
    case 'newreno': return NewReno;
    case 'cubic': return Cubic;
    default: return null;
  }
}
