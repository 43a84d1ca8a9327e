import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, UsageError } from '../../tools/cli-args.js';
import { runSimCommand, SIM_OPTIONS } from '../../tools/sim-command.js';

describe('tunstack CLI options', () => {
  it('parses numbers, strings and both --k v and --k=v forms', () => {
    const { opts, rest } = parseOptions(['--seed', '7', '--loss=0.5', '--pcap', 'x.pcapng', 'extra'], SIM_OPTIONS);
    expect(opts.get('seed')).toBe(7);
    expect(opts.get('loss')).toBe(0.5);
    expect(opts.get('pcap')).toBe('x.pcapng');
    expect(rest).toEqual(['extra']);
  });

  it('rejects unknown options, missing values and out-of-range numbers with a usage error', () => {
    expect(() => parseOptions(['--nope'], SIM_OPTIONS)).toThrow(UsageError);
    expect(() => parseOptions(['--seed'], SIM_OPTIONS)).toThrow(/needs a value/);
    expect(() => parseOptions(['--loss', '2'], SIM_OPTIONS)).toThrow(/\[0, 1\]/);
    expect(() => parseOptions(['--mtu', 'abc'], SIM_OPTIONS)).toThrow(UsageError);
  });
});

describe('tunstack sim', () => {
  it('runs the exchange, prints every flow and writes a pcapng file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-cli-'));
    try {
      const file = join(dir, 'run.pcapng');
      const lines: string[] = [];
      const { opts } = parseOptions(['--seed', '3', '--count', '3', '--size', '1800', '--pcap', file], SIM_OPTIONS);
      expect(runSimCommand(opts, (l) => lines.push(l))).toBe(0);
      expect(lines[0]).toContain('seed 3');
      expect(lines.filter((l) => / 3\/3 answered/.test(l))).toHaveLength(8);
      expect(lines.some((l) => /a ip: .*ips_fragmented=/.test(l))).toBe(true);
      const bytes = readFileSync(file);
      expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a); // pcapng Section Header Block
      expect(bytes.length).toBeGreaterThan(3 * 8 * 1800);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits non-zero when a flow gets no answer at all', () => {
    const { opts } = parseOptions(['--count', '2', '--loss', '1'], SIM_OPTIONS);
    expect(runSimCommand(opts, () => {})).toBe(1);
  });
});
