// `tunstack up` as a process: it prints `ready`, serves UDP echo to the kernel side, and on SIGTERM
// exits 0 having removed its TUN device and the namespace it created. Also its usage errors (exit
// 2), the one-line errors for a name in use and for a missing CAP_NET_ADMIN, and `start` falling
// back to the simulation without the capability. The CLI is compiled once with tsc into
// node_modules/.cache (inside the package, so the addon is found from there).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interfaceExists, netnsExists } from '../../stack/link/tun/device-setup.js';
import { TunLink } from '../../stack/link/tun/tun-link.js';
import { RealClock } from '../../stack/time/clock.js';
import { nsRun, run, SKIP, SKIP_NOTE, STACK4, uniqueNames, waitFor } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'node_modules', '.cache', `tunstack-kernel-cli-${process.pid}`);
const CLI = join(OUT, 'tools', 'cli.js');

/** Runs the compiled CLI to completion. */
function cli(args: readonly string[], prefix: readonly string[] = []): ReturnType<typeof run> {
  const [cmd, ...rest] = [...prefix, process.execPath, CLI, ...args];
  return run(cmd!, rest, { timeoutMs: 20_000 });
}

describe.skipIf(SKIP)(`tunstack up, as a process${SKIP_NOTE}`, () => {
  const procs: ChildProcess[] = [];
  const names: { dev: string; netns: string }[] = [];

  beforeAll(async () => {
    // Type errors elsewhere do not stop tsc from emitting; what matters is that cli.js exists.
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'),
      '--outDir', OUT, '--declaration', 'false', '--sourceMap', 'false'], { timeoutMs: 60_000 });
    expect(existsSync(CLI)).toBe(true);
  }, 70_000);

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    // Whatever a failed test left behind.
    for (const n of names) {
      if (netnsExists(n.netns)) await run('ip', ['netns', 'del', n.netns]);
      if (interfaceExists(n.dev)) await run('ip', ['link', 'del', n.dev]);
    }
    rmSync(OUT, { recursive: true, force: true });
  });

  it('starts, prints ready, serves UDP echo, and on SIGTERM exits 0 and removes its device and namespace', async () => {
    const n = uniqueNames('p');
    names.push(n);
    const child = spawn(process.execPath, [CLI, 'up', '--tun', n.dev, '--netns', n.netns, '--serve', 'echo,discard'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(child);
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const ready = await new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/\bready\b/.test(out)) { clearTimeout(t); r(true); }
      });
      void exited.then(() => { clearTimeout(t); r(false); });
    });
    expect(ready, `stdout: ${out}\nstderr: ${err}`).toBe(true);
    // How to reach it follows the ready line.
    expect(await waitFor(() => out.includes(`ip netns exec ${n.netns} `), 3000), out).toBe(true);
    expect(netnsExists(n.netns)).toBe(true);

    const echo = await nsRun(n.netns, 'socat', ['-t', '2', '-', `UDP:${STACK4}:7`], { input: 'hello through the CLI\n' });
    expect(echo.stdout.toString()).toBe('hello through the CLI\n');

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(code).toBe(0);
    expect(netnsExists(n.netns)).toBe(false);
    expect(interfaceExists(n.dev)).toBe(false);
    expect(out).toMatch(/stopped/);
  }, 40_000);

  it('prints a usage line and exits 2 on unknown flags and bad values; --help exits 0', async () => {
    for (const args of [['up', '--bogus'], ['up', '--offload', 'maybe'], ['up', '--mtu', '1000'], ['up', '--addr', '198.18.0.2'], ['up', '--serve', 'ftp'], ['sim', '--nope']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: tunstack/);
    }
    for (const cmd of ['up', 'sim', 'start']) {
      const r = await cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toMatch(/usage: tunstack/);
    }
  }, 60_000);

  it('says which name is busy when the TUN device is held by someone else (exit 1)', async () => {
    const n = uniqueNames('b');
    names.push(n);
    const holder = TunLink.open({ name: n.dev, clock: new RealClock(), offload: 'off' });
    try {
      const r = await cli(['up', '--tun', n.dev, '--no-host-config']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`TUN device name ${n.dev} is in use.*--tun NAME`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      holder.close();
    }
  }, 30_000);

  it('names the missing CAP_NET_ADMIN, and `start` then runs the simulation', async () => {
    const n = uniqueNames('n');
    names.push(n);
    const noCap = ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin', '--'];
    const up = await cli(['up', '--tun', n.dev, '--netns', n.netns], noCap);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/needs CAP_NET_ADMIN.*run as root/);
    expect(netnsExists(n.netns)).toBe(false);
    const start = await cli(['start', '--tun', n.dev, '--netns', n.netns, '--count', '2'], noCap);
    expect(start.code).toBe(0);
    expect(start.stdout.toString()).toMatch(/cannot run on a TUN device here.*simulated network/);
    expect(start.stdout.toString()).toMatch(/answered/);
  }, 60_000);
});
