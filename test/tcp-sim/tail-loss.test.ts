// Tail loss on short request/response exchanges, in virtual time: with XNU's tail loss probes
// (net.inet.tcp.enable_tlp=1, the default) a lost last segment costs about two RTTs (the PTO) and
// recovers without a retransmission timeout; without them it waits for the RTO (RTT + 200 ms slop
// at least). Same seeds, same random loss on both runs; the probes must make the exchanges finish
// much sooner and replace most timeouts. Each run prints its seed; SIM_SEED=n replays.

import { describe, expect, it } from 'vitest';
import { EchoConn, PingPongClient, connect, listen } from './apps.js';
import { BASE_SEED, TCP_NODELAY, countersSummary, sa, setTcpInt, stat, tcpWorld } from './harness.js';
import { XNU_PROFILE, withProfile } from '../../stack/tcp/index.js';
import type { TcpProfile } from '../../stack/tcp/index.js';

const EXCHANGES = 300;
/** Two segments each way (MSS 1448 beside timestamps): every other loss is a tail. */
const BYTES = 2 * 1448;

interface Outcome { totalMs: number; rto: number; pto: number; slow: number; summary: string }

function run(seed: number, profile: TcpProfile): Outcome {
  const w = tcpWorld({ seed, profile, impairments: { loss: 0.03, delayMs: 10 } });
  const nodelay = (so: Parameters<typeof setTcpInt>[0]): void => { expect(setTcpInt(so, TCP_NODELAY, 1)).toBe(0); };
  listen(w.b.stack, { family: 4, port: 7, before: nodelay }, (s, so) => new EchoConn(s, so));
  const cli = connect(w.a.stack, { family: 4, to: sa(w.b, 4, 7), before: nodelay },
    (s, so) => new PingPongClient(s, so, { exchanges: EXCHANGES, bytes: BYTES }));
  expect(w.sim.runUntil(() => cli.done, 3_600_000), `seed ${seed}: not done\n${countersSummary(w)}`).toBe(true);
  expect(cli.errors).toEqual([]);
  const both = (n: Parameters<typeof stat>[1]): number => stat(w.a.stack, n) + stat(w.b.stack, n);
  const l = cli.latenciesUs;
  return {
    totalMs: l.reduce((a, b) => a + b, 0) / 1000,
    rto: both('tcps_rexmttimeo'),
    pto: both('tcps_pto'),
    // An exchange on a 20 ms RTT that took over 200 ms waited for a timeout.
    slow: l.filter((us) => us > 200_000).length,
    summary: countersSummary(w),
  };
}

describe(`request/response with random tail loss (3% each way, RTT 20 ms; seed ${BASE_SEED})`, () => {
  it('finishes much sooner with tail loss probes, with far fewer retransmission timeouts', () => {
    const noTlp = withProfile(XNU_PROFILE, { tailLossProbe: false });
    let with_ = { totalMs: 0, rto: 0, pto: 0, slow: 0 };
    let without = { totalMs: 0, rto: 0, pto: 0, slow: 0 };
    for (let i = 0; i < 3; i++) {
      const seed = BASE_SEED + 700 + i;
      const a = run(seed, XNU_PROFILE);
      const b = run(seed, noTlp);
      console.log(`seed ${seed}: TLP ${a.totalMs.toFixed(0)} ms, ${a.rto} RTOs, ${a.pto} PTOs, ${a.slow} slow; ` +
        `no TLP ${b.totalMs.toFixed(0)} ms, ${b.rto} RTOs, ${b.slow} slow`);
      expect(b.pto, b.summary).toBe(0);
      with_ = { totalMs: with_.totalMs + a.totalMs, rto: with_.rto + a.rto, pto: with_.pto + a.pto, slow: with_.slow + a.slow };
      without = { totalMs: without.totalMs + b.totalMs, rto: without.rto + b.rto, pto: 0, slow: without.slow + b.slow };
    }
    expect(with_.pto).toBeGreaterThan(0);
    expect(with_.totalMs).toBeLessThan(0.75 * without.totalMs);
    expect(with_.rto).toBeLessThan(0.3 * without.rto);
    expect(with_.slow).toBeLessThan(0.5 * without.slow);
  });
});
