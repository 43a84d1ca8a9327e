// `tunstack drill [options] FILE...`: runs packetdrill scripts (tools/drill/) and prints PASS/FAIL
// per script. Exit 0 all pass, 1 any failure or error, 2 usage, 3 unsupported (no failure).

import { optionsHelp, parseOptions, UsageError } from './cli-args.js';
import type { OptionSpec } from './cli-args.js';
import { exitCodeFor, formatResult, PROFILES, runDrillFile } from './drill/index.js';
import type { DrillResult } from './drill/index.js';

export const DRILL_USAGE = 'usage: tunstack drill [--profile xnu|freebsd] [--sysctl name=value]... [--define NAME]... [--verbose] [packetdrill options] FILE...';

export const DRILL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  profile: { kind: 'string', help: 'kernel profile: xnu (default) or freebsd' },
  sysctl: { kind: 'strings', help: 'name=value: a BSD sysctl applied before each script (repeatable)' },
  define: { kind: 'strings', help: 'NAME for #ifdef blocks (repeatable; default STANDARD TUNSTACK and XNU/FreeBSD)' },
  verbose: { kind: 'flag', help: 'print every event with its virtual time' },
  seed: { kind: 'number', help: 'RNG seed of the stack (default 1)', min: 0, max: 0xffffffff },
  ip_version: { kind: 'string', help: 'ipv4 (default), ipv6 or ipv4_mapped_ipv6' },
  tolerance_usecs: { kind: 'number', help: 'timing tolerance in µs (default 4000)', min: 0 },
  tolerance_percent: { kind: 'number', help: 'relative timing tolerance (default 5)', min: 0, max: 100 },
  mtu: { kind: 'number', help: 'MTU of the virtual link (default 1500)', min: 68, max: 65535 },
  local_ip: { kind: 'string', help: 'address of the stack' },
  remote_ip: { kind: 'string', help: 'address of the script\'s peer' },
  bind_port: { kind: 'number', help: 'port for bind(..., ...) (default 8080)', min: 1, max: 65535 },
  connect_port: { kind: 'number', help: 'port for connect(..., ...) (default 8080)', min: 1, max: 65535 },
  tcp_ts_tick_usecs: { kind: 'number', help: 'check outbound TS val with this tick (default 0: off)', min: 0 },
  non_fatal: { kind: 'string', help: 'packet,syscall: report these mismatches without stopping' },
};

const PASSTHROUGH = ['ip_version', 'tolerance_usecs', 'tolerance_percent', 'mtu', 'local_ip', 'remote_ip', 'bind_port',
  'connect_port', 'tcp_ts_tick_usecs', 'non_fatal'] as const;

export function drillHelp(): string {
  return [DRILL_USAGE, optionsHelp(DRILL_OPTIONS), '', 'exit status: 0 all pass, 1 a failure or error, 2 usage, 3 unsupported features only'].join('\n');
}

/** Runs the command; returns the exit code. Usage problems throw UsageError (exit 2 in the CLI). */
export async function runDrillCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { opts, rest } = parseOptions(argv, DRILL_OPTIONS);
  if (rest.length === 0) throw new UsageError('no script FILE given');
  const profile = (opts.get('profile') as string | undefined) ?? 'xnu';
  if (PROFILES[profile] === undefined) throw new UsageError(`--profile must be xnu or freebsd, got ${profile}`);
  const sysctls = (opts.get('sysctl') as string[] | undefined) ?? [];
  for (const s of sysctls) if (s.indexOf('=') <= 0) throw new UsageError(`--sysctl needs name=value, got ${s}`);
  const defines = opts.get('define') as string[] | undefined;
  const options: Record<string, string> = {};
  for (const k of PASSTHROUGH) {
    const v = opts.get(k);
    if (v !== undefined) options[k] = String(v);
  }
  const verbose = opts.get('verbose') === true;
  const seed = opts.get('seed') as number | undefined;
  const results: DrillResult[] = [];
  for (const file of rest) {
    const t0 = performance.now();
    const r = await runDrillFile(file, {
      profile: profile as 'xnu' | 'freebsd', sysctls, options, verbose,
      ...(defines !== undefined ? { defines: defines } : {}), ...(seed !== undefined ? { seed } : {}),
    });
    results.push(r);
    if (verbose) for (const l of r.trace) out(`  ${l}`);
    out(`${formatResult(r)}${r.status === 'pass' ? ` (${(r.endTimeUs / 1e6).toFixed(3)} s virtual, ${(performance.now() - t0).toFixed(0)} ms real)` : ''}`);
  }
  const count = (s: DrillResult['status']): number => results.filter((r) => r.status === s).length;
  out(`${results.length} script(s): ${count('pass')} passed, ${count('fail')} failed, ${count('error')} errors, ${count('unsupported')} unsupported`);
  return exitCodeFor(results);
}
