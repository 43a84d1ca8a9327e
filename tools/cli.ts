#!/usr/bin/env node
// The `tunstack` command: `start` (what `npm start` runs), `sim`, `help`, `version`.
// The TUN device mode (`tunstack up`) arrives with the TUN link; until then `start` says so and
// runs the simulated network.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionsHelp, parseOptions, UsageError } from './cli-args.js';
import { runSimCommand, SIM_OPTIONS } from './sim-command.js';

const out = (line: string): void => { process.stdout.write(`${line}\n`); };

function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  try { return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version; } catch { return 'unknown'; }
}

function usage(): string {
  return [
    'usage: tunstack <command> [options]',
    '',
    'commands:',
    '  start     run the stack: on a TUN device as root (not yet available), else the simulated network',
    '  sim       two stacks on a seeded simulated network exchange pings and UDP echoes (IPv4 and IPv6)',
    '  help      this text',
    '  version   print the version',
    '',
    'sim and start options:',
    optionsHelp(SIM_OPTIONS),
  ].join('\n');
}

function start(argv: string[]): number {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const tun = existsSync('/dev/net/tun');
  if (root && tun) {
    out('tunstack: running as root with /dev/net/tun, but the TUN link is not built yet; running the in-process simulated network instead.');
  } else {
    const why = !root ? 'not running as root' : 'no /dev/net/tun on this machine';
    out(`tunstack: ${why}; running the in-process simulated network (no real device, virtual time).`);
  }
  const { opts } = parseOptions(argv, SIM_OPTIONS);
  if (!opts.has('loss')) opts.set('loss', 0.02);
  if (!opts.has('size')) opts.set('size', 2000); // over the MTU: shows fragmentation and reassembly
  return runSimCommand(opts, out);
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start': return start(rest);
    case 'sim': {
      const { opts, rest: extra } = parseOptions(rest, SIM_OPTIONS);
      if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
      return runSimCommand(opts, out);
    }
    case 'version': case '--version': out(version()); return 0;
    case undefined: case 'help': case '--help': case '-h': out(usage()); return 0;
    default: throw new UsageError(`unknown command ${cmd}`);
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`tunstack: ${e.message} (see: tunstack help)\n`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
