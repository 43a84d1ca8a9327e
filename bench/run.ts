// `npm run bench`: the numbers the project is driven by. Three parts:
//   tun    the stack on a TUN device (offloads off and on) against a C client in a namespace:
//          bulk both ways, connections/s (1 and 16 at a time), 1-byte echo latency (tun-bench.ts)
//   sim    the same transfers between two stacks on the in-process simulated network: pure
//          protocol CPU cost, with and without the sim network's TSO emulation (sim-tcp.ts)
//   micro  checksum, parsing, mbufs, the UDP/ping exchange (micro.ts)
// Writes bench/results/bench-<date>.json (machine, date, every figure with its unit, the reference
// figures of lwIP and gVisor) and prints a table. Without root or /dev/net/tun the TUN part is
// skipped with the reason. Subsets: `npm run bench -- --only tun,sim --offload off --tun-steps k2s`
// (`--offload` applies to the sim part too; `--sim-steps conn1,echo` picks sim measurements)
// (with `node --cpu-prof dist/bench/run.js ...` for a profile). Not part of npm test: nothing here
// is asserted.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { formatTable, machineInfo, REFERENCE } from './report.js';
import type { Figure } from './report.js';
import { MICRO_LABELS, runMicro } from './micro.js';
import { runSimTcp, SIM_STEPS } from './sim-tcp.js';
import type { SimSelection } from './sim-tcp.js';
import { runTun, TUN_STEPS, TUN_TIMES } from './tun-bench.js';
import type { TunSelection } from './tun-bench.js';

const PARTS = ['tun', 'sim', 'micro'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npm run bench [-- [--only ${PARTS.join(',')}] [--offload off|on] [--tun-steps ${TUN_STEPS.join(',')}] [--sim-steps ${SIM_STEPS.join(',')}]]`;

/** The comma list after `flag` (all of `known` when the flag is absent); exits 64 on an unknown entry. */
function listArg<T extends string>(argv: readonly string[], flag: string, known: readonly T[]): T[] {
  const i = argv.indexOf(flag);
  if (i < 0) return [...known];
  const list = (argv[i + 1] ?? '').split(',').filter((x) => x !== '');
  if (list.length === 0 || list.some((x) => !(known as readonly string[]).includes(x))) {
    process.stderr.write(`bench: ${flag} takes a comma list of ${known.join(', ')}; got ${JSON.stringify(argv[i + 1] ?? '')}\n${USAGE}\n`);
    process.exit(64);
  }
  return list as T[];
}

function parseArgs(argv: readonly string[]): { parts: Set<Part>; tun: TunSelection; sim: SimSelection } {
  for (let i = 0; i < argv.length; i += 2) {
    if (!['--only', '--offload', '--tun-steps', '--sim-steps'].includes(argv[i]!)) {
      process.stderr.write(`bench: unknown argument ${JSON.stringify(argv[i])}\n${USAGE}\n`);
      process.exit(64);
    }
  }
  const offloads = listArg(argv, '--offload', ['off', 'on'] as const);
  return {
    parts: new Set(listArg(argv, '--only', PARTS)),
    tun: { offloads, steps: new Set(listArg(argv, '--tun-steps', TUN_STEPS)) },
    sim: { offloads, steps: new Set(listArg(argv, '--sim-steps', SIM_STEPS)) },
  };
}

/** CPUs busy (of all, from /proc/stat) over `ms` while this process sleeps, minus this process's own: other work on the machine. */
async function othersBusy(ms: number): Promise<number | null> {
  const read = (): number[] | null => {
    try {
      return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    } catch {
      return null;
    }
  };
  const a = read();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  const own = process.cpuUsage(own0);
  const ownCores = (own.user + own.system) / 1000 / (performance.now() - t0);
  if (a === null || b === null) return null;
  const d = b.map((x, i) => x - (a[i] ?? 0));
  const total = d.reduce((x, y) => x + y, 0);
  const idle = (d[3] ?? 0) + (d[4] ?? 0);
  return total > 0 ? Math.max(0, ((total - idle) / total) * cpus().length - ownCores) : null;
}

async function main(): Promise<void> {
  const { parts, tun, sim } = parseArgs(process.argv.slice(2));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const date = new Date().toISOString();
  const machine = machineInfo();
  const log = (l: string): void => { process.stdout.write(`${l}\n`); };
  log(`bench: ${machine.cpuCount} × ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}, load ${machine.loadAtStart.join(' ')}`);
  // What other processes use while we do nothing (the load average still counts the build).
  const othersBusyCores = await othersBusy(1000);
  const busy = othersBusyCores !== null && othersBusyCores > 0.3;
  if (busy) log(`bench: warning: other work uses ${othersBusyCores.toFixed(2)} of ${machine.cpuCount} CPUs: the figures will be low and noisy`);
  const t0 = performance.now();
  const figures: Figure[] = [];
  const skipped: Record<string, string> = {};

  if (parts.has('tun')) {
    log('tun: the stack on a TUN device, C client in a namespace');
    const r = await runTun(join(root, 'bench', 'client', 'tcpbench.c'), tun, log);
    if (r.skipped !== null) {
      skipped.tun = r.skipped;
      log(`tun: skipped: ${r.skipped}`);
    }
    figures.push(...r.figures);
  }
  if (parts.has('sim')) {
    log('sim: two stacks in this process on the simulated network');
    figures.push(...await runSimTcp(log, sim));
  }
  if (parts.has('micro')) {
    log('micro');
    figures.push(...runMicro());
  }
  const seconds = (performance.now() - t0) / 1000;
  const loadAtEnd = loadavg().map((x) => Number(x.toFixed(2)));

  const report = {
    date, machine, othersBusyCoresAtStart: othersBusyCores === null ? null : Number(othersBusyCores.toFixed(3)), loadAtEnd, seconds: Number(seconds.toFixed(1)), parts: [...parts], tunSelection: { offloads: tun.offloads, steps: [...tun.steps] }, skipped,
    method: {
      tun: 'stack in the bench process (startUp, as `tunstack up`), MTU 1500, kernel side in a fresh namespace; ' +
        'client bench/client/tcpbench.c (gcc -O2) via `ip netns exec`; nothing pinned except the "same CPU" echo (client and stack on CPU 0)',
      tunTimes: TUN_TIMES,
      sim: 'two stacks on tools/sim-world.ts, one thread; figures per CPU second of the process (both stacks and the network)',
    },
    reference: REFERENCE,
    figures,
  };
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  log('');
  for (const l of formatTable(figures)) log(l);
  if (skipped.tun !== undefined) log(`(TUN rows skipped: ${skipped.tun})`);
  const micro = figures.filter((f) => f.key.startsWith('micro.'));
  if (micro.length > 0) {
    log('');
    for (const f of micro) log(`${(MICRO_LABELS[f.key] ?? f.key).padEnd(28)} ${f.value === null ? 'skipped' : f.value.toFixed(2).padStart(10)} ${f.unit}`);
  }
  log('');
  log(`reference: ${REFERENCE.source}; targets: ${REFERENCE.targets}`);
  if (busy) log(`note: other work used ${othersBusyCores.toFixed(2)} of ${machine.cpuCount} CPUs when the run started: the figures are not representative`);
  log(`written to ${file} (${seconds.toFixed(0)} s)`);
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
