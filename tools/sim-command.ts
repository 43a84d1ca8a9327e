// `tunstack sim`: two stacks on the seeded simulated network, in virtual time. First they exchange
// pings and UDP echoes both ways over IPv4 and IPv6 (sim-scenario.ts); then host b runs the
// services of `tunstack up` and host a checks each of them over both families (sim-services.ts).
// The command prints what each flow and check saw and the counters; the same seed prints the
// same lines (virtual times included) and writes the same pcapng bytes.

import { writeFileSync } from 'node:fs';
import { buildSimWorld } from './sim-world.js';
import type { SimWorld } from './sim-world.js';
import { runExchange } from './sim-scenario.js';
import type { FlowResult } from './sim-scenario.js';
import { runServiceChecks } from './sim-services.js';
import type { CheckResult } from './sim-services.js';
import type { ServiceName } from './services/registry.js';
import { MemoryByteSink, PcapngWriter } from '../stack/link/pcapng.js';
import type { Impairments } from '../stack/link/sim-network.js';
import type { OptionSpec, ParsedOptions } from './cli-args.js';

const TCP_BYTES = 200_000;
const HTTP_BYTES = 1_000_000;
/** Virtual-time bound of one TCP check, plus 10 ms per kB of its larger body. */
const CHECK_BOUND_MS = 120_000;

export const SIM_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  seed: { kind: 'number', help: 'seed of the whole run (default: 1); the same seed replays it exactly', min: 0, max: 2 ** 32 - 1 },
  count: { kind: 'number', help: 'messages per flow (default 10)', min: 1, max: 100_000 },
  size: { kind: 'number', help: 'payload bytes per message (default 1000; above the MTU means fragments)', min: 4, max: 65000 },
  mtu: { kind: 'number', help: 'link MTU of both hosts (default 1500)', min: 1280, max: 65535 },
  loss: { kind: 'number', help: 'packet loss probability (default 0)', min: 0, max: 1 },
  delay: { kind: 'number', help: 'one-way delay in ms (default 10)', min: 0, max: 60_000 },
  jitter: { kind: 'number', help: 'extra uniform delay in ms (default 0)', min: 0, max: 60_000 },
  reorder: { kind: 'number', help: 'probability a packet is held back and overtaken (default 0)', min: 0, max: 1 },
  duplicate: { kind: 'number', help: 'duplication probability (default 0)', min: 0, max: 1 },
  corrupt: { kind: 'number', help: 'probability of one flipped bit (default 0)', min: 0, max: 1 },
  pcap: { kind: 'string', help: 'write every packet of both hosts to this pcapng file' },
  'tcp-bytes': { kind: 'number', help: `bytes sent to TCP discard and read from TCP chargen (default ${TCP_BYTES})`, min: 1, max: 1e9 },
  'http-bytes': { kind: 'number', help: `body bytes of GET /bytes/N and PUT /sha256 (default ${HTTP_BYTES})`, min: 0, max: 1e9 },
};

/** Options of runSimCommand that the command line does not offer (tests). */
export interface SimInternals {
  /** Services host b runs (default all): leaving one out makes its checks fail. */
  readonly serve?: readonly ServiceName[];
}

const num = (o: ParsedOptions, k: string, d: number): number => (o.get(k) as number | undefined) ?? d;

/** Runs the scenario; returns the process exit code (0 when every flow and every check passed). */
export function runSimCommand(o: ParsedOptions, out: (line: string) => void, internals: SimInternals = {}): number {
  const seed = num(o, 'seed', 1);
  const impairments: Impairments = {
    loss: num(o, 'loss', 0), delayMs: num(o, 'delay', 10), jitterMs: num(o, 'jitter', 0),
    reorder: num(o, 'reorder', 0), duplicate: num(o, 'duplicate', 0), corrupt: num(o, 'corrupt', 0),
  };
  const sink = o.has('pcap') ? new MemoryByteSink() : null;
  const world = buildSimWorld({ seed, impairments, mtu: num(o, 'mtu', 1500), ...(sink ? { pcap: new PcapngWriter(sink) } : {}) });
  out(`simulated network, seed ${seed}: a = ${world.a.v4} ${world.a.v6}, b = ${world.b.v4} ${world.b.v6}`);
  out(`impairments toward each host: ${JSON.stringify(impairments)}`);
  const count = num(o, 'count', 10), size = num(o, 'size', 1000);
  const results = runExchange(world, { count, size, intervalMs: 20, graceMs: 3000 });
  for (const r of results) out(formatFlow(r));
  const tcpBytes = num(o, 'tcp-bytes', TCP_BYTES), httpBytes = num(o, 'http-bytes', HTTP_BYTES);
  const svc = runServiceChecks(world, {
    count, size, intervalMs: 20, graceMs: 3000, tcpBytes, httpBytes,
    boundMs: CHECK_BOUND_MS + Math.max(tcpBytes, httpBytes) / 100, serve: internals.serve,
  });
  out(`services on b: ${svc.running.join(', ') || 'none'}; a checks each over IPv4 and IPv6:`);
  for (const c of svc.checks) out(formatCheck(c));
  const failed = svc.checks.filter((c) => !c.ok).length;
  out(`checks: ${svc.checks.length - failed} OK, ${failed} FAIL`);
  out(`virtual time elapsed: ${(world.sim.now / 1e6).toFixed(3)} s`);
  for (const line of counterLines(world)) out(line);
  if (sink) {
    const file = o.get('pcap') as string;
    writeFileSync(file, sink.bytes());
    out(`pcapng written to ${file}`);
  }
  const flowsOk = results.every((r) => r.mismatched === 0 && r.answered > 0);
  return flowsOk && failed === 0 ? 0 : 1;
}

function formatFlow(r: FlowResult): string {
  const rtts = [...r.rttMs].sort((x, y) => x - y);
  const med = rtts.length > 0 ? rtts[Math.floor(rtts.length / 2)]!.toFixed(1) : '-';
  return `${r.kind.padEnd(4)} IPv${r.family} ${r.from} -> ${r.to}: ${r.answered}/${r.sent} answered, ` +
    `${r.duplicates} duplicate, ${r.mismatched} wrong, median rtt ${med} ms`;
}

function formatCheck(c: CheckResult): string {
  const t = (us: number): string => (us / 1e6).toFixed(3);
  return `  ${c.name.padEnd(14)} IPv${c.family} ${c.ok ? 'OK  ' : 'FAIL'} ${String(c.bytes).padStart(8)} B ` +
    `${t(c.startUs).padStart(8)}+${t(c.endUs - c.startUs)} s  ${c.detail}`;
}

/** Non-zero counters of each host, one line per protocol. */
function counterLines(world: SimWorld): string[] {
  const lines: string[] = [];
  for (const h of [world.a, world.b]) {
    const ip = h.stack.ip;
    const groups: [string, object][] = [
      ['ip', ip.ipstat], ['ip6', ip.ip6stat], ['icmp', ip.icmpstat], ['icmp6', ip.icmp6stat], ['udp', h.stack.udp.stats],
      ['tcp', h.stack.tcp.stats],
    ];
    for (const [name, stats] of groups) {
      const nz = Object.entries(stats).filter(([, v]) => typeof v === 'number' && v !== 0).map(([k, v]) => `${k}=${v}`);
      if (nz.length > 0) lines.push(`  ${h.name} ${name}: ${nz.join(' ')}`);
    }
  }
  return lines;
}
