// ECN end to end between two stacks on the simulated network (stack/tcp/tcp-ecn.ts, the SimNetwork
// ceThresholdBytes / ceMark impairments): a bulk transfer through a bottleneck whose queue marks
// ECT packets CE above a threshold (an AQM marking instead of dropping) completes byte-exact with
// the window reduced by ECE and (almost) no retransmission, where the same path without ECN fills
// the queue and loses packets. Each test prints its seed; SIM_SEED=n replays.

import { describe, expect, it } from 'vitest';
import type { Impairments } from '../../stack/link/sim-network.js';
import { withProfile } from '../../stack/tcp/tcp-profile.js';
import { BASE_SEED, FAST_PROFILE, countersSummary, stat, tcpPcbCount } from './harness.js';
import { describeRun, leakProblems, runTransfer, settle, transferProblems } from './scenarios.js';
import type { TransferRun, TransferSpec } from './scenarios.js';

const KB = 1024;
const MB = 1024 * 1024;
const NO_ECN = withProfile(FAST_PROFILE, { ecnInitiateOut: 0, ecnNegotiateIn: 0 });

/** A 20 Mbit/s, 2 x 10 ms path with a 96 KB queue that marks ECT packets once 24 KB wait. */
const AQM: Impairments = { delayMs: 10, bandwidthBps: 20_000_000, queueLimitBytes: 96 * KB, ceThresholdBytes: 24 * KB };

function run(spec: TransferSpec): TransferRun {
  const r = runTransfer({ profile: FAST_PROFILE, ...spec });
  const why = (): string => `${describeRun(r)}\n${countersSummary(r.world)}`;
  expect(transferProblems(r, spec), why()).toEqual([]);
  expect(settle(r), why()).toEqual([]);
  r.acceptor.close();
  r.world.sim.runUntil(() => tcpPcbCount(r.world.a.stack) === 0 && tcpPcbCount(r.world.b.stack) === 0, 300_000);
  expect(leakProblems(r.world), why()).toEqual([]);
  return r;
}

describe('ECN over a CE-marking bottleneck', () => {
  it(`4 MB a→b: CE marks, ECE reductions, no queue drop, no retransmission (seed ${BASE_SEED + 40})`, () => {
    const r = run({ seed: BASE_SEED + 40, aToB: 4 * MB, bToA: 0, impairments: AQM });
    const { a, b } = r.world;
    const why = countersSummary(r.world);
    const toB = r.world.net.port('b').stats;
    expect(stat(a.stack, 'tcps_ecn_client_setup'), why).toBe(1);
    expect(stat(a.stack, 'tcps_ecn_client_success'), why).toBe(1);
    expect(stat(b.stack, 'tcps_ecn_server_success'), why).toBe(1);
    expect(toB.ceMarked, why).toBeGreaterThan(0);
    expect(stat(b.stack, 'tcps_ecn_recv_ce'), why).toBeGreaterThan(0);
    expect(stat(b.stack, 'tcps_ecn_sent_ece'), why).toBeGreaterThan(0);
    // Several reductions (one per window of data at most), each answered with CWR.
    expect(stat(a.stack, 'tcps_ecn_recv_ece'), why).toBeGreaterThan(2);
    expect(toB.dropQueueFull, why).toBe(0);
    expect(stat(a.stack, 'tcps_sndrexmitpack'), why).toBe(0);
    expect(stat(a.stack, 'tcps_ecn_conn_recv_ece') + stat(b.stack, 'tcps_ecn_conn_recv_ce'), why).toBe(2);
    expect(stat(a.stack, 'tcps_ecn_conn_nopl_ce'), why).toBe(1);
  });

  it(`IPv6, both directions at once (seed ${BASE_SEED + 41})`, () => {
    const r = run({ seed: BASE_SEED + 41, family: 6, aToB: 2 * MB, bToA: 2 * MB, impairments: AQM });
    const why = countersSummary(r.world);
    for (const h of [r.world.a, r.world.b]) {
      expect(stat(h.stack, 'tcps_ecn_recv_ece'), why).toBeGreaterThan(0);
      expect(stat(h.stack, 'tcps_sndrexmitpack'), why).toBeLessThanOrEqual(2);
    }
  });

  it(`the same path without ECN: the marks do nothing, the queue overflows and data is retransmitted (seed ${BASE_SEED + 42})`, () => {
    const r = run({ seed: BASE_SEED + 42, aToB: 4 * MB, bToA: 0, impairments: AQM, profile: NO_ECN });
    const why = countersSummary(r.world);
    expect(r.world.net.port('b').stats.ceMarked, why).toBe(0);
    expect(stat(r.world.a.stack, 'tcps_ecn_recv_ece'), why).toBe(0);
    expect(r.world.net.port('b').stats.dropQueueFull, why).toBeGreaterThan(0);
    expect(stat(r.world.a.stack, 'tcps_sndrexmitpack'), why).toBeGreaterThan(0);
  });
});
