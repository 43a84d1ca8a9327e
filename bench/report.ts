// The shape of a bench run's results (every figure with its unit), the machine description, the
// reference figures of other stacks (from shared/reference/tun-performance.md) and the printed
// table: measure | offload off | offload on | lwIP | gVisor.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';

/** Which column a figure belongs to: the TUN offloads (or the sim network's TSO emulation) off or on; null: neither. */
export type OffloadCol = 'off' | 'on' | null;

export interface Figure {
  /** Stable identifier of the measure, e.g. 'tun.k2s.gbps'. */
  readonly key: string;
  readonly offload: OffloadCol;
  /** null: not measured (see `note`). */
  readonly value: number | null;
  readonly unit: string;
  readonly note?: string;
  /** Raw output of the measurement (client JSON, CPU use, counters). */
  readonly detail?: unknown;
}

export interface Machine {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly os: string;
  readonly kernel: string;
  readonly node: string;
  readonly memoryBytes: number;
  readonly gcc: string | null;
  /** 1/5/15-minute load averages when the run started: anything well above 0 means other work shared the CPUs. */
  readonly loadAtStart: readonly number[];
}

export function machineInfo(): Machine {
  const c = cpus();
  let gcc: string | null = null;
  try {
    gcc = execFileSync('gcc', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0] ?? null;
  } catch {
    gcc = null;
  }
  return {
    cpuModel: c[0]?.model ?? 'unknown', cpuCount: c.length, os: type(), kernel: release(), node: process.version,
    memoryBytes: totalmem(), gcc, loadAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/**
 * Other stacks on the same set-up (2 vCPUs, MTU 1500, one read/write per packet, no offloads,
 * kernel side in a namespace, C client), from shared/reference/tun-performance.md.
 */
export const REFERENCE = {
  source: 'shared/reference/tun-performance.md (measured 2026-11-21 on this machine class; no offloads)',
  lwip: { name: 'lwIP 2.1.3', k2sGbps: 2.9, s2kGbps: 2.3, connPerSec1: 10_000, connPerSec16: 39_000, echoP50SameCpuUs: 12 },
  gvisor: { name: 'gVisor netstack', k2sGbps: 2.0, s2kGbps: 0.7, connPerSec1: 3_700, connPerSec16: 6_900, echoP50SameCpuUs: 46 },
  linuxVeth: { name: 'Linux kernel over veth, offloads off', k2sGbps: 7.7, s2kGbps: 7.0, connPerSec1: 12_000, connPerSec16: 35_000, echoP50SameCpuUs: 16 },
  targets: 'first: lwIP with offloads off; with offloads on at least twice lwIP (>= 6 Gbit/s)',
} as const;

type RefKey = 'k2sGbps' | 's2kGbps' | 'connPerSec1' | 'connPerSec16' | 'echoP50SameCpuUs';

interface Row {
  readonly label: string;
  readonly key: string;
  readonly ref?: RefKey;
  /** How values print. */
  readonly fmt: (v: number) => string;
}

const gbps = (v: number): string => `${v.toFixed(2)} Gbit/s`;
const perSec = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(1)} k/s` : `${v.toFixed(0)} /s`);
const us = (v: number): string => `${v.toFixed(1)} µs`;

export const TABLE_ROWS: readonly Row[] = [
  { label: 'TUN kernel→stack bulk (discard)', key: 'tun.k2s.gbps', ref: 'k2sGbps', fmt: gbps },
  { label: 'TUN stack→kernel bulk (chargen)', key: 'tun.s2k.gbps', ref: 's2kGbps', fmt: gbps },
  { label: 'TUN connections/s, 1 at a time', key: 'tun.conn1.rate', ref: 'connPerSec1', fmt: perSec },
  { label: 'TUN connections/s, 16 parallel', key: 'tun.conn16.rate', ref: 'connPerSec16', fmt: perSec },
  { label: 'TUN 1-byte echo RTT p50, same CPU', key: 'tun.echoPinned.p50', ref: 'echoP50SameCpuUs', fmt: us },
  { label: 'TUN 1-byte echo RTT p99, same CPU', key: 'tun.echoPinned.p99', fmt: us },
  { label: 'TUN 1-byte echo RTT p50, unpinned', key: 'tun.echo.p50', fmt: us },
  { label: 'TUN 1-byte echo RTT p99, unpinned', key: 'tun.echo.p99', fmt: us },
  { label: 'in-process client→server bulk (CPU)', key: 'sim.c2s.gbps', fmt: gbps },
  { label: 'in-process server→client bulk (CPU)', key: 'sim.s2c.gbps', fmt: gbps },
  { label: 'in-process connections/s, 1 at a time', key: 'sim.conn1.rate', fmt: perSec },
  { label: 'in-process connections/s, 16 parallel', key: 'sim.conn16.rate', fmt: perSec },
  { label: 'in-process 1-byte echo, CPU per RTT', key: 'sim.echo.cpuUs', fmt: us },
];

/** The table as lines of text; figures not in `figures` print as "-", skipped ones as "skipped". */
export function formatTable(figures: readonly Figure[]): string[] {
  const cell = (key: string, off: OffloadCol, fmt: (v: number) => string): string => {
    const f = figures.find((x) => x.key === key && x.offload === off);
    if (f === undefined) return '-';
    return f.value === null ? 'skipped' : fmt(f.value);
  };
  const header = ['measure', 'offload off', 'offload on', 'lwIP', 'gVisor'];
  const rows = TABLE_ROWS.map((r) => [
    r.label, cell(r.key, 'off', r.fmt), cell(r.key, 'on', r.fmt),
    r.ref !== undefined ? r.fmt(REFERENCE.lwip[r.ref]) : '-',
    r.ref !== undefined ? r.fmt(REFERENCE.gvisor[r.ref]) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)];
}
