// The services of `tunstack up` on the simulated network: host b runs them (tools/services
// registry), host a checks each over IPv4 and IPv6 (tools/sim-services.ts), clean and impaired,
// in virtual time. Every run prints its seed; SIM_SEED=n replays one.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSimWorld } from '../../tools/sim-world.js';
import { CHECK_NAMES, runServiceChecks } from '../../tools/sim-services.js';
import type { CheckResult, ServiceCheckOptions } from '../../tools/sim-services.js';
import { parseOptions } from '../../tools/cli-args.js';
import { runSimCommand, SIM_OPTIONS } from '../../tools/sim-command.js';
import { MemoryByteSink, PcapngWriter } from '../../stack/link/pcapng.js';
import type { Impairments } from '../../stack/link/sim-network.js';

const BASE_SEED = Number(process.env.SIM_SEED ?? 20261121);

const OPTS: ServiceCheckOptions = {
  count: 5, size: 1000, intervalMs: 20, graceMs: 3000, tcpBytes: 100_000, httpBytes: 300_000, boundMs: 300_000,
};

const label = (c: CheckResult): string => `${c.name} v${c.family}`;

function run(seed: number, impairments: Impairments | undefined, mtu: number, o: Partial<ServiceCheckOptions> = {}) {
  const sink = new MemoryByteSink();
  const world = buildSimWorld({ seed, impairments, mtu, pcap: new PcapngWriter(sink) });
  const result = runServiceChecks(world, { ...OPTS, ...o });
  return { world, result, pcap: sink.bytes() };
}

function expectAllOk(checks: readonly CheckResult[]): void {
  expect(checks.map(label)).toEqual(CHECK_NAMES.flatMap((n) => [`${n} v4`, `${n} v6`]));
  for (const c of checks) expect([label(c), c.ok, c.detail]).toEqual([label(c), true, c.detail]);
}

function simLines(argv: string[], internals = {}): { code: number; lines: string[] } {
  const lines: string[] = [];
  const { opts } = parseOptions(argv, SIM_OPTIONS);
  const code = runSimCommand(opts, (l) => lines.push(l), internals);
  return { code, lines };
}

describe('services on the simulated network', () => {
  it(`clean network: every service answers correctly over IPv4 and IPv6 (seed ${BASE_SEED})`, () => {
    const { world, result } = run(BASE_SEED, { delayMs: 10 }, 1500);
    expectAllOk(result.checks);
    expect(result.running).toEqual(['echo udp/7', 'echo tcp/7', 'discard udp/9', 'discard tcp/9', 'chargen tcp/19', 'http tcp/80']);
    const by = (name: string, family: 4 | 6) => result.checks.find((c) => c.name === name && c.family === family)!;
    for (const f of [4, 6] as const) {
      expect(by('ping', f).detail).toBe('5 of 5 pings answered byte-exact');
      expect(by('udp-echo', f).bytes).toBe(5 * 1000);
      expect(by('udp-discard', f).detail).toBe('the server counted 5 of 5 datagrams sent');
      expect(by('tcp-echo', f).bytes).toBe(5 * 1000);
      expect(by('tcp-discard', f).bytes).toBe(OPTS.tcpBytes);
      expect(by('tcp-chargen', f).bytes).toBeGreaterThanOrEqual(OPTS.tcpBytes);
      expect(by('http-bytes', f).bytes).toBe(OPTS.httpBytes);
      expect(by('http-sha256', f).bytes).toBe(OPTS.httpBytes);
    }
    // Checks run one after the other in virtual time.
    for (let i = 1; i < result.checks.length; i++) expect(result.checks[i]!.startUs).toBe(result.checks[i - 1]!.endUs);
    // After TIME_WAIT nothing is left: no socket, no PCB, no mbuf.
    world.sim.runFor(60_000);
    for (const h of [world.a, world.b]) {
      h.stack.drain();
      expect([h.name, [...h.stack.sockets.sockets()].length, h.stack.tcp.pcbs.size, h.stack.pool.stats.mbufsInUse]).toEqual([h.name, 0, 0, 0]);
    }
  });

  it(`loss, reordering, duplication, corruption, jitter and a 1280-byte MTU: TCP still delivers byte-exact (seed ${BASE_SEED + 1})`, () => {
    const impair: Impairments = { loss: 0.05, reorder: 0.1, duplicate: 0.05, corrupt: 0.02, delayMs: 10, jitterMs: 5 };
    const { world, result } = run(BASE_SEED + 1, impair, 1280, { size: 2000, count: 10 });
    expectAllOk(result.checks);
    // The impairments did hit: TCP retransmitted and saw duplicates, IP fragmented (2000-byte datagrams).
    const tcp = (k: 'tcps_sndrexmitpack' | 'tcps_rcvduppack'): number => world.a.stack.tcp.stats[k] + world.b.stack.tcp.stats[k];
    expect(tcp('tcps_sndrexmitpack')).toBeGreaterThan(0);
    expect(tcp('tcps_rcvduppack')).toBeGreaterThan(0);
    expect(world.a.stack.ip.ipstat.ips_fragmented).toBeGreaterThan(0);
    expect(world.a.stack.ip.ip6stat.ip6s_fragmented).toBeGreaterThan(0);
  });

  it(`a service that is not running fails its checks and only those (seed ${BASE_SEED + 2})`, () => {
    const { code, lines } = simLines(['--seed', String(BASE_SEED + 2), '--count', '3', '--http-bytes', '10000'], { serve: ['echo', 'discard', 'chargen'] });
    expect(code).toBe(1);
    const fails = lines.filter((l) => / FAIL /.test(l));
    expect(fails.map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'http-get IPv4', 'http-get IPv6', 'http-bytes IPv4', 'http-bytes IPv6',
      'http-sha256 IPv4', 'http-sha256 IPv6', 'http-keepalive IPv4', 'http-keepalive IPv6',
    ]);
    for (const l of fails) expect(l).toContain('connect failed: ECONNREFUSED');
    expect(lines).toContain('checks: 12 OK, 8 FAIL');

    const noDiscard = simLines(['--seed', String(BASE_SEED + 2), '--count', '3', '--http-bytes', '10000'], { serve: ['echo', 'chargen', 'http'] });
    expect(noDiscard.code).toBe(1);
    expect(noDiscard.lines.filter((l) => / FAIL /.test(l)).map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'udp-discard', 'udp-discard', 'tcp-discard', 'tcp-discard',
    ]);
  });

  it('is deterministic: the same seed prints the same summary (virtual times included) and writes the same pcap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-sim-'));
    try {
      const file = join(dir, 'run.pcapng');
      const argv = (seed: number) => ['--seed', String(seed), '--count', '4', '--loss', '0.03', '--reorder', '0.05', '--duplicate', '0.03',
        '--jitter', '3', '--mtu', '1280', '--size', '1500', '--tcp-bytes', '50000', '--http-bytes', '200000', '--pcap', file];
      const one = simLines(argv(BASE_SEED + 3));
      const pcapOne = readFileSync(file);
      const two = simLines(argv(BASE_SEED + 3));
      const pcapTwo = readFileSync(file);
      const other = simLines(argv(BASE_SEED + 4));
      const pcapOther = readFileSync(file);
      expect(one.code).toBe(0);
      expect(one.lines.filter((l) => / OK /.test(l))).toHaveLength(20);
      expect(two.lines).toEqual(one.lines);
      expect(pcapOne.length).toBeGreaterThan(2 * 200_000);
      expect(pcapTwo.equals(pcapOne)).toBe(true);
      expect(pcapOther.equals(pcapOne)).toBe(false);
      expect(other.lines).not.toEqual(one.lines);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
