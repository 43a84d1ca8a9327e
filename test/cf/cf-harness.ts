// Shared plumbing of the CF tests: a two-host simulated world (tools/sim-world.ts) with a KPI
// kernel and a CFAllocator on each host, run loops on the stacks' virtual clock, and `run` to
// settle a Promise (a run loop run, a connect) while the simulation advances (kpi/sock-sim.ts).

import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import { kpiKernel, kpiRun, kpiRunUntil, sockaddrIn } from '../../kpi/index.js';
import type { KpiKernel } from '../../kpi/index.js';
import { CFAllocatorCreateForKernel, CFRunLoopCreateWithClock, kpiKernelClock } from '../../cfsocket/index.js';
import type { CFAllocator, CFRunLoop } from '../../cfsocket/index.js';

export interface CFWorld {
  readonly w: SimWorld;
  readonly ka: KpiKernel;
  readonly kb: KpiKernel;
  /** Allocators naming host a's and host b's kernels. */
  readonly aa: CFAllocator;
  readonly ab: CFAllocator;
  /** A run loop on the simulation's virtual clock. */
  readonly rl: CFRunLoop;
}

export function cfWorld(seed = 7): CFWorld {
  const w = buildSimWorld({ seed });
  const ka = kpiKernel(w.a.stack), kb = kpiKernel(w.b.stack);
  return {
    w, ka, kb, aa: CFAllocatorCreateForKernel(ka), ab: CFAllocatorCreateForKernel(kb),
    rl: CFRunLoopCreateWithClock(kpiKernelClock(ka)),
  };
}

/** Settles `p` while the simulation runs (rejects after `maxMs` of virtual time). */
export function run<T>(cw: CFWorld, p: T | Promise<T>, maxMs = 60_000): Promise<T> {
  return kpiRun(cw.w.sim, p, maxMs);
}

/** Runs the simulation until `pred` holds or `maxMs` pass. */
export function runUntil(cw: CFWorld, pred: () => boolean, maxMs = 10_000): Promise<boolean> {
  return kpiRunUntil(cw.w.sim, pred, maxMs);
}

/** Virtual milliseconds since the simulation started. */
export const nowMs = (cw: CFWorld): number => cw.w.sim.now / 1000;

/** b's IPv4 address and `port` as sockaddr bytes. */
export const addrB = (cw: CFWorld, port: number): Uint8Array => sockaddrIn(cw.w.b.v4, port);
export const addrA = (cw: CFWorld, port: number): Uint8Array => sockaddrIn(cw.w.a.v4, port);
