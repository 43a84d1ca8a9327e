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

  it('takes the service checks\' sizes', () => {
    const { opts } = parseOptions(['--tcp-bytes', '5000', '--http-bytes=0'], SIM_OPTIONS);
    expect(opts.get('tcp-bytes')).toBe(5000);
    expect(opts.get('http-bytes')).toBe(0);
    expect(() => parseOptions(['--tcp-bytes', '0'], SIM_OPTIONS)).toThrow(UsageError);
    expect(() => parseOptions(['--http-bytes', '-1'], SIM_OPTIONS)).toThrow(UsageError);
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

  it('checks every service over IPv4 and IPv6 and prints one line per check', () => {
    const lines: string[] = [];
    const { opts } = parseOptions(['--seed', '5', '--count', '3', '--http-bytes', '100000'], SIM_OPTIONS);
    expect(runSimCommand(opts, (l) => lines.push(l))).toBe(0);
    expect(lines).toContain('services on b: echo udp/7, echo tcp/7, discard udp/9, discard tcp/9, chargen tcp/19, http tcp/80; a checks each over IPv4 and IPv6:');
    const checks = lines.filter((l) => /^ {2}[a-z0-9-]+ +IPv[46] (OK|FAIL)/.test(l));
    expect(checks.map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual(
      ['ping', 'udp-echo', 'udp-discard', 'tcp-echo', 'tcp-discard', 'tcp-chargen', 'http-get', 'http-bytes', 'http-sha256', 'http-keepalive']
        .flatMap((n) => [`${n} IPv4 OK`, `${n} IPv6 OK`]),
    );
    expect(lines.find((l) => l.includes('http-bytes     IPv6'))).toMatch(/ 100000 B +\d+\.\d{3}\+\d+\.\d{3} s  GET \/bytes\/100000 200/);
    expect(lines).toContain('checks: 20 OK, 0 FAIL');
    expect(lines.some((l) => /^ {2}b tcp: .*tcps_accepts=14 /.test(l))).toBe(true);
  });

  it('reports every check as FAIL when nothing gets through', () => {
    const lines: string[] = [];
    const { opts } = parseOptions(['--count', '1', '--loss', '1'], SIM_OPTIONS);
    expect(runSimCommand(opts, (l) => lines.push(l))).toBe(1);
    expect(lines.filter((l) => / FAIL /.test(l))).toHaveLength(20);
    expect(lines.filter((l) => /tcp-echo .* FAIL .*connect failed: ETIMEDOUT/.test(l))).toHaveLength(2);
    expect(lines).toContain('checks: 0 OK, 20 FAIL');
  });
});
