// PMTU black hole on the simulated network: the path between the hosts silently drops every
// packet larger than 1300 bytes (SimNetwork's mtu impairment: no ICMP, DF or not) while both
// links have a 1500-byte MTU, so TCP's 1460-byte MSS never gets through. With XNU's black-hole
// detection (the default) the sender lowers t_maxopd to 1200 at the second RTO and a 512 KB
// upload completes byte-exact; with net.inet.tcp.pmtud_blackhole_detection=0 it stalls until the
// retransmissions run out (ETIMEDOUT). XNU detects only in ESTABLISHED: an uploader whose peer
// has already sent its FIN (CLOSE_WAIT) is not rescued. Each test prints its seed; SIM_SEED=n replays.

import { describe, expect, it } from 'vitest';
import type { Impairments } from '../../stack/link/sim-network.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';
import { sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { ETIMEDOUT } from '../../stack/socket/errno.js';
import { BulkEndpoint, connect, listen, streamDigest } from './apps.js';
import { BASE_SEED, FAST_PROFILE, countersSummary, sa, stat, tcpPcbCount, tcpWorld, tcpcbOf } from './harness.js';
import type { TcpcbLike } from './harness.js';
import { leakProblems, runTransfer } from './scenarios.js';
import type { SimWorld } from '../../tools/sim-world.js';

const KB = 1024;
const BLACK_HOLE: Impairments = { mtu: 1300, delayMs: 5 };

function profileWith(name: string, value: string): TcpProfile {
  const r = sysctlSet(FAST_PROFILE, name, value);
  if (!r.ok) throw new Error(r.message);
  return r.profile;
}

interface Upload { w: SimWorld; client: BulkEndpoint; server: BulkEndpoint | null; clientTp: TcpcbLike | null; why: () => string }

/**
 * a uploads `bytes` to b; b reads to EOF and only then closes (so a stays in ESTABLISHED while it
 * sends). Runs until both closed or `maxMs` of virtual time.
 */
function upload(seed: number, family: IpFamily, bytes: number, profile: TcpProfile, maxMs: number): Upload {
  const w = tcpWorld({ seed, impairments: BLACK_HOLE, profile });
  const dataSeed = (seed * 2 + 1) >>> 0;
  const acc = listen(w.b.stack, { family, port: 5001 }, (st, so) =>
    new BulkEndpoint(st, so, { sendBytes: 0, afterSend: 'none', expectSeed: dataSeed, closeOnEof: true }));
  const client = connect(w.a.stack, { family, to: sa(w.b, family, 5001) }, (st, so) =>
    new BulkEndpoint(st, so, { sendBytes: bytes, sendSeed: dataSeed, afterSend: 'shutdown', closeOnEof: true }));
  w.sim.runUntil(() => client.connectErrno !== null && acc.apps.length > 0, 10_000);
  const clientTp = tcpcbOf(client.so);
  const server = acc.apps[0] ?? null;
  w.sim.runUntil(() => client.closed && server !== null && server.closed, maxMs);
  acc.close();
  const why = () => `seed ${seed} t=${w.sim.now / 1000}ms client errors [${client.errors.join(',')}] ` +
    `server received ${server?.received} eof ${server?.eof}\n${countersSummary(w)}`;
  return { w, client, server, clientTp, why };
}

describe('PMTU black hole (packets > 1300 bytes silently dropped)', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: a 512 KB upload completes because the MSS drops to 1200 (seed ${BASE_SEED + 40 + family})`, () => {
      const seed = BASE_SEED + 40 + family;
      const u = upload(seed, family, 512 * KB, FAST_PROFILE, 600_000);
      const { w, server, why } = u;
      expect(u.client.errors, why()).toEqual([]);
      expect(server?.received, why()).toBe(512 * KB);
      expect(server?.mismatchAt, why()).toBe(-1);
      expect(server?.receivedDigest(), why()).toBe(streamDigest((seed * 2 + 1) >>> 0, 512 * KB));
      expect(u.client.closed && server?.closed, why()).toBe(true);
      const a = w.a.stack;
      // Detected once after two RTOs, never reverted: the smaller segments keep getting through.
      expect(stat(a, 'tcps_pmtud_blackhole_activated'), why()).toBe(1);
      expect(stat(a, 'tcps_pmtudbh_reverted'), why()).toBe(0);
      expect(stat(a, 'tcps_rexmttimeo'), why()).toBeGreaterThanOrEqual(2);
      expect(u.clientTp!.t_maxopd).toBe(1200);
      // The path dropped the full-size packets; the hosts fragmented nothing.
      expect(w.net.totals().dropTooBig).toBeGreaterThan(0);
      expect(family === 4 ? a.ip.ipstat.ips_fragmented : a.ip.ip6stat.ip6s_fragmented).toBe(0);
      w.sim.runUntil(() => tcpPcbCount(a) === 0 && tcpPcbCount(w.b.stack) === 0, 300_000);
      expect(leakProblems(w), why()).toEqual([]);
    });
  }

  it(`with net.inet.tcp.pmtud_blackhole_detection=0 the upload stalls and times out (seed ${BASE_SEED + 47})`, () => {
    const profile = profileWith('net.inet.tcp.pmtud_blackhole_detection', '0');
    const u = upload(BASE_SEED + 47, 4, 512 * KB, profile, 900_000);
    const { w, why } = u;
    expect(u.client.connectErrno, why()).toBe(0);
    // Not one data segment arrived: every one is 1500 bytes on the wire.
    expect(u.server?.received, why()).toBe(0);
    expect(u.client.errors, why()).toContain(ETIMEDOUT);
    expect(stat(w.a.stack, 'tcps_timeoutdrop'), why()).toBe(1);
    expect(stat(w.a.stack, 'tcps_pmtud_blackhole_activated')).toBe(0);
    expect(w.net.totals().dropTooBig).toBeGreaterThan(12);
  });

  it(`XNU detects in ESTABLISHED only: an uploader in CLOSE_WAIT is not rescued (seed ${BASE_SEED + 48})`, () => {
    // runTransfer's server shuts its side down at once (it has nothing to send): its FIN is small.
    const r = runTransfer({ seed: BASE_SEED + 48, impairments: BLACK_HOLE, aToB: 64 * KB, bToA: 0, profile: FAST_PROFILE, maxMs: 900_000 });
    const why = () => countersSummary(r.world);
    expect(r.server?.received, why()).toBe(0);
    expect(r.client.errors.length, why()).toBeGreaterThan(0);
    expect(stat(r.world.a.stack, 'tcps_timeoutdrop'), why()).toBe(1);
    expect(stat(r.world.a.stack, 'tcps_pmtud_blackhole_activated'), why()).toBe(0);
  });
});
