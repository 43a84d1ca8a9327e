// The environment a Stack runs in: clock, randomness and logging, injected so that a simulation
// with a VirtualClock and a SeededRng replays byte for byte.

import type { Clock } from './time/clock.js';
import { VirtualClock, RealClock } from './time/clock.js';
import type { Rng } from './random/rng.js';
import { SeededRng, CryptoRng } from './random/rng.js';

export type LogCategory = 'link' | 'ip' | 'icmp' | 'udp' | 'tcp' | 'socket' | 'kpi' | 'cf' | 'sim';

export interface Logger {
  /** False when tracing is off: callers test it before building a message, so a hot path costs one read. */
  readonly enabled: boolean;
  log(cat: LogCategory, msg: string): void;
}

export const nullLogger: Logger = { enabled: false, log() {} };

export interface Env {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
}

/** A deterministic environment: virtual time from 0 and a seeded RNG. */
export function simEnv(seed: number, clock = new VirtualClock(), log: Logger = nullLogger): Env & { clock: VirtualClock; rng: SeededRng } {
  return { clock, rng: new SeededRng(seed), log };
}

/** The production environment: the machine's monotonic clock and crypto-strong randomness. */
export function realEnv(log: Logger = nullLogger): Env {
  return { clock: new RealClock(), rng: new CryptoRng(), log };
}
