#!/usr/bin/env node
// The `tunstack` command: `up` (the stack on a TUN device, with services), `start` (what
// `npm start` runs: `up` when this machine can open /dev/net/tun with CAP_NET_ADMIN, else `sim`),
// `sim`, `drill` (packetdrill scripts, tools/drill-command.ts), `help`, `version`. Every command takes --help; unknown options and bad values print a
// usage line and exit 2.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionsHelp, parseOptions, UsageError } from './cli-args.js';
import type { OptionSpec, ParsedOptions } from './cli-args.js';
import { runSimCommand, SIM_OPTIONS } from './sim-command.js';
import { DRILL_USAGE, drillHelp, runDrillCommand } from './drill-command.js';
import { runUp, upConfigFromOptions, UP_OPTIONS, UP_USAGE } from './up-command.js';
import type { UpIo } from './up-command.js';

const out = (line: string): void => { process.stdout.write(`${line}\n`); };
const io: UpIo = { out, err: (line) => { process.stderr.write(`${line}\n`); } };

const SIM_USAGE = 'usage: tunstack sim [--seed N] [--count N] [--size N] [--mtu N] [--loss P] [--delay MS] [--jitter MS] [--reorder P] [--duplicate P] [--corrupt P] [--pcap FILE] [--tcp-bytes N] [--http-bytes N]';
const START_USAGE = 'usage: tunstack start [up options] (falls back to `tunstack sim` with --loss 0.02 --size 2000 when no TUN device can be opened)';

/** Options `start` accepts: those of `up`, plus the simulation's for the fallback. */
const START_OPTIONS: Readonly<Record<string, OptionSpec>> = { ...SIM_OPTIONS, ...UP_OPTIONS };

/** Usage errors carry the command's usage line. */
class CommandUsageError extends UsageError {
  constructor(message: string, readonly usageLine: string) { super(message); }
}

function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  try { return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version; } catch { return 'unknown'; }
}

function usage(): string {
  return [
    'usage: tunstack <command> [options]',
    '',
    'commands:',
    '  up        run the stack on a TUN device with services (echo, discard, chargen, http); needs root',
    '  start     `up` when /dev/net/tun can be opened with CAP_NET_ADMIN, else `sim` (what `npm start` runs)',
    '  sim       two stacks on a seeded simulated network: pings and UDP echoes both ways, then a client on a checks the services of `up` on b over IPv4 and IPv6',
    '  drill     run packetdrill scripts against the stack in virtual time (tunstack drill --help)',
    '  help      this text (and `tunstack <command> --help`)',
    '  version   print the version',
    '',
    UP_USAGE,
    optionsHelp(UP_OPTIONS),
    '',
    SIM_USAGE,
    optionsHelp(SIM_OPTIONS),
  ].join('\n');
}

function parse(argv: string[], specs: Readonly<Record<string, OptionSpec>>, usageLine: string): ParsedOptions {
  try {
    const { opts, rest } = parseOptions(argv, specs);
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
    return opts;
  } catch (e) {
    if (e instanceof UsageError) throw new CommandUsageError(e.message, usageLine);
    throw e;
  }
}

const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

function upConfig(opts: ParsedOptions, usageLine: string): ReturnType<typeof upConfigFromOptions> {
  try {
    return upConfigFromOptions(opts);
  } catch (e) {
    if (e instanceof UsageError) throw new CommandUsageError(e.message, usageLine);
    throw e;
  }
}

async function start(argv: string[]): Promise<number> {
  const opts = parse(argv, START_OPTIONS, START_USAGE);
  const upOpts: ParsedOptions = new Map([...opts].filter(([k]) => k in UP_OPTIONS));
  const simOpts: ParsedOptions = new Map([...opts].filter(([k]) => k in SIM_OPTIONS));
  const cfg = upConfig(upOpts, START_USAGE);
  return runUp(cfg, io, (e) => {
    out(`tunstack: cannot run on a TUN device here (${e.message}); running the in-process simulated network instead (no real device, virtual time).`);
    if (!simOpts.has('loss')) simOpts.set('loss', 0.02);
    if (!simOpts.has('size')) simOpts.set('size', 2000); // over the MTU: shows fragmentation and reassembly
    return runSimCommand(simOpts, out);
  });
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      if (wantsHelp(rest)) { out([UP_USAGE, optionsHelp(UP_OPTIONS)].join('\n')); return 0; }
      return runUp(upConfig(parse(rest, UP_OPTIONS, UP_USAGE), UP_USAGE), io);
    case 'start':
      if (wantsHelp(rest)) { out([START_USAGE, optionsHelp(START_OPTIONS)].join('\n')); return 0; }
      return start(rest);
    case 'sim':
      if (wantsHelp(rest)) { out([SIM_USAGE, optionsHelp(SIM_OPTIONS)].join('\n')); return 0; }
      return runSimCommand(parse(rest, SIM_OPTIONS, SIM_USAGE), out);
    case 'drill':
      if (wantsHelp(rest)) { out(drillHelp()); return 0; }
      try {
        return await runDrillCommand(rest, out);
      } catch (e) {
        if (e instanceof UsageError) throw new CommandUsageError(e.message, DRILL_USAGE);
        throw e;
      }
    case 'version': case '--version':
      out(version());
      return 0;
    case undefined: case 'help': case '--help': case '-h':
      out(usage());
      return 0;
    default:
      throw new CommandUsageError(`unknown command ${cmd}`, 'usage: tunstack <up|start|sim|drill|help|version> [options] (see: tunstack help)');
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof CommandUsageError) {
      process.stderr.write(`tunstack: ${e.message}\n${e.usageLine}\n`);
      process.exitCode = 2;
    } else if (e instanceof UsageError) {
      process.stderr.write(`tunstack: ${e.message} (see: tunstack help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tunstack: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
