// The TUN measurements: the stack runs in this process on a fresh TUN device exactly as `tunstack
// up` runs it (startUp from tools/up-command.ts, services echo/discard/chargen), with the
// device's kernel side in a network namespace created for the run and deleted after it. The
// kernel-side client is bench/client/tcpbench.c, compiled here with gcc -O2 and run with
// `ip netns exec NS`; it prints JSON. Once with TUN offloads off, once with them on.
//
// Network safety: all traffic goes to 198.18.0.0/15 and 2001:db8::/32 addresses inside the
// namespace created here; the namespace and device are removed in a finally block, by the
// cleanup hooks on SIGINT/SIGTERM/SIGHUP and on exit. Every client run is bounded in time (its own
// alarm, and a SIGKILL from here).

import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startUp } from '../tools/up-command.js';
import type { UpConfig, UpSession } from '../tools/up-command.js';
import { loadTunAddon, TunAddonMissing } from '../stack/link/tun/tun-native.js';
import { TunError } from '../stack/link/tun/tun-errors.js';
import type { Figure } from './report.js';
import { onCleanup } from './cleanup.js';

const STACK4 = '198.18.0.2';
const HOST4 = '198.18.0.1';

/** Durations of the measurements (seconds). */
export const TUN_TIMES = { bulk: 4, bulkWarm: 0.5, conn: 3, connWarm: 0.5, echoMax: 3, echoRoundTrips: 20_000 } as const;

/** Why the TUN part cannot run here (null: it can). */
export function tunUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m === null || (BigInt(`0x${m[1]}`) & (1n << 12n)) === 0n) return 'no CAP_NET_ADMIN';
  } catch {
    return 'cannot read /proc/self/status';
  }
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  const addon = loadTunAddon();
  if (addon instanceof TunAddonMissing) return addon.message;
  return null;
}

/** Compiles the client into a cache directory keyed by the source's hash; returns its path. Throws with gcc's message. */
export function buildClient(srcPath: string): string {
  const src = readFileSync(srcPath);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tunstack-bench');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `tcpbench-${hash}`);
  if (existsSync(bin)) return bin;
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', tmp, srcPath], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; message: string };
    if (err.code === 'ENOENT') throw new Error('gcc not found');
    throw new Error(`gcc failed: ${(err.stderr?.toString() ?? err.message).trim()}`);
  }
  renameSync(tmp, bin);
  return bin;
}

interface ClientRun {
  readonly json: Record<string, unknown> | null;
  readonly error: string | null;
  /** CPU this (the stack's) process used during the run, as a fraction of one core. */
  readonly stackCpu: number;
  readonly wallS: number;
}

const children = new Set<ChildProcess>();
onCleanup(() => { for (const c of children) c.kill('SIGKILL'); });

/** Runs the client inside `netns` asynchronously (the stack must keep running on this event loop). */
function runClient(netns: string, bin: string, args: readonly string[], timeoutS: number): Promise<ClientRun> {
  return new Promise((resolve) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const child = spawn('ip', ['netns', 'exec', netns, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '', err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    const finish = (why: string | null): void => {
      clearTimeout(timer);
      children.delete(child);
      const wallS = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const stackCpu = (c.user + c.system) / 1e6 / wallS;
      let json: Record<string, unknown> | null = null;
      try { json = JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>; } catch { json = null; }
      const error = why ?? (json === null ? `no JSON from client (stderr: ${err.trim() || '-'})` : typeof json.error === 'string' ? json.error : null);
      resolve({ json, error, stackCpu, wallS });
    };
    child.on('error', (e) => finish(`spawn: ${e.message}`));
    child.on('close', (code, signal) => finish(signal !== null ? `client killed by ${signal}` : code !== 0 && out === '' ? `client exit ${code}: ${err.trim()}` : null));
  });
}

/** Runs a short command to completion without blocking the event loop (the stack keeps running). */
function runQuiet(cmd: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (e) => { clearTimeout(timer); resolve(e.message); });
    child.on('close', (code) => { clearTimeout(timer); resolve(code === 0 ? null : err.trim() || `exit ${code}`); });
  });
}

/** This process's CPU affinity list (taskset), or null when it cannot be read. */
function affinity(): string | null {
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8', timeout: 5000 });
    return /:\s*(\S+)\s*$/.exec(out.trim())?.[1] ?? null;
  } catch {
    return null;
  }
}

function setAffinity(list: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat), to tell how much of the machine a run used. */
function cpuJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** The kernel side's counters of the device (in the namespace): tx_dropped there means the stack did not read fast enough. */
function kernelSideStats(netns: string, dev: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const j = JSON.parse(execFileSync('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8', timeout: 5000 })) as
      Array<{ stats64?: Record<string, Record<string, number>> }>;
    for (const [dir, o] of Object.entries(j[0]?.stats64 ?? {})) for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[`kernel.${dir}.${k}`] = v;
  } catch { /* counters are informative only */ }
  return out;
}

/** The stack's TCP counters, the link's counters and the kernel side's device counters, for deltas. */
function snapshot(s: UpSession, netns: string): Record<string, number> {
  const out: Record<string, number> = kernelSideStats(netns, s.link.name);
  for (const [k, v] of Object.entries(s.stack.tcp.stats as unknown as Record<string, unknown>)) if (typeof v === 'number') out[`tcp.${k}`] = v;
  for (const [k, v] of Object.entries(s.link.stats as unknown as Record<string, unknown>)) if (typeof v === 'number') out[`link.${k}`] = v;
  return out;
}
function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v !== (a[k] ?? 0)) out[k] = v - (a[k] ?? 0);
  return out;
}

/** The TUN measurements by name (`npm run bench -- --tun-steps k2s,s2k` runs a subset). */
export const TUN_STEPS = ['k2s', 's2k', 'conn1', 'conn16', 'echo', 'echo-pinned'] as const;
export type TunStep = (typeof TUN_STEPS)[number];

export interface TunSelection {
  readonly offloads: readonly ('off' | 'on')[];
  readonly steps: ReadonlySet<TunStep>;
}

/** The figure keys each step produces. */
const STEP_KEYS: Readonly<Record<TunStep, ReadonlyArray<readonly [string, string]>>> = {
  k2s: [['tun.k2s.gbps', 'Gbit/s']], s2k: [['tun.s2k.gbps', 'Gbit/s']],
  conn1: [['tun.conn1.rate', 'connections/s']], conn16: [['tun.conn16.rate', 'connections/s']],
  echo: [['tun.echo.p50', 'µs'], ['tun.echo.p99', 'µs']], 'echo-pinned': [['tun.echoPinned.p50', 'µs'], ['tun.echoPinned.p99', 'µs']],
};

/** Null figures (with the reason) for every selected step: printed as "skipped". */
function skipFigures(offloads: readonly ('off' | 'on')[], steps: ReadonlySet<TunStep>, why: string): Figure[] {
  return offloads.flatMap((offload) => [...steps].flatMap((st) => STEP_KEYS[st]).map(([key, unit]) => ({ key, offload, value: null, unit, note: why })));
}

let nameCounter = 0;

/** Measures one configuration (offloads off or on). Returns its figures (value null and a note when a step failed). */
async function measureConfig(offload: 'off' | 'on', bin: string, steps: ReadonlySet<TunStep>, log: (l: string) => void): Promise<Figure[]> {
  const n = (nameCounter++).toString(36);
  const pid = (process.pid % 1_000_000).toString(36);
  const dev = `tb${offload}${pid}${n}`.slice(0, 15);
  const netns = `tunstack-bench-${process.pid}-${n}`;
  const cfg: UpConfig = {
    tun: dev, netns, addrs: [`${STACK4}/24`, '2001:db8::2/64'], hostAddrs: [`${HOST4}/24`, '2001:db8::1/64'], mtu: 1500,
    serve: ['echo', 'discard', 'chargen'], pcap: null, offload, hostConfig: true, verbose: false,
  };
  const skipAll = (why: string): Figure[] => skipFigures([offload], steps, why);
  const logs: string[] = [];
  let session: UpSession;
  try {
    session = startUp(cfg, { out: (l) => logs.push(l), err: (l) => logs.push(l) });
  } catch (e) {
    const why = e instanceof TunError ? e.message : (e as Error).message;
    log(`  tun ${offload}: skipped: ${why}`);
    return skipAll(why);
  }
  const s = session;
  const unregister = onCleanup(() => s.close(1));
  const out: Figure[] = [];
  try {
    const actual = s.link.caps.tsoMaxBytes > 0 ? 'on' : 'off';
    if (actual !== offload) return skipAll(`asked for offloads ${offload}, the device has them ${actual}`);
    // Enough ephemeral ports and TIME_WAIT reuse for the connection-rate runs (this namespace only).
    const sysctlErr = await runQuiet('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);
    if (sysctlErr !== null) log(`  tun ${offload}: sysctl: ${sysctlErr}`);
    const probe = await runClient(netns, bin, ['echo', STACK4, '7', '-n', '200', '-t', '3'], 15);
    if (probe.error !== null) return skipAll(`the stack did not answer an echo probe: ${probe.error}`);

    const step = async (key: TunStep, args: string[], timeoutS: number, pick: (j: Record<string, unknown>) => Array<[string, number, string]>, note: string): Promise<void> => {
      if (!steps.has(key)) return;
      const before = snapshot(s, netns);
      const j0 = cpuJiffies();
      const r = await runClient(netns, bin, args, timeoutS);
      const j1 = cpuJiffies();
      const counters = delta(before, snapshot(s, netns));
      const machineBusyCores = j1.total > j0.total ? ((j1.busy - j0.busy) / (j1.total - j0.total)) * cpus().length : null;
      const detail = {
        client: r.json, stackCpuCores: Number(r.stackCpu.toFixed(3)),
        machineBusyCores: machineBusyCores === null ? null : Number(machineBusyCores.toFixed(3)), wallS: Number(r.wallS.toFixed(3)), counters, args,
      };
      if (r.error !== null || r.json === null) {
        for (const [k, , unit] of pick({})) out.push({ key: k, offload, value: null, unit, note: r.error ?? 'failed', detail });
        log(`  tun ${offload}: ${key}: failed: ${r.error}`);
        return;
      }
      const figs = pick(r.json);
      for (const [k, v, unit] of figs) out.push({ key: k, offload, value: Number.isFinite(v) ? v : null, unit, note: Number.isFinite(v) ? note : `no ${k} in the client output`, detail });
      const j = r.json;
      const phases = typeof j.mean_connect_us === 'number' ? `, mean connect ${(j.mean_connect_us as number).toFixed(0)} µs + close ${(j.mean_close_us as number).toFixed(0)} µs` : '';
      log(`  tun ${offload}: ${key}: ${figs.map(([k, v, u]) => `${k.split('.').pop()}=${v.toFixed(2)} ${u}`).join(', ')}${phases} (CPUs busy: stack process ${r.stackCpu.toFixed(2)}, machine ${machineBusyCores === null ? '?' : machineBusyCores.toFixed(2)} of ${cpus().length})`);
    };
    const T = TUN_TIMES;
    const num = (j: Record<string, unknown>, f: string): number => (typeof j[f] === 'number' ? j[f] as number : NaN);
    await step('k2s', ['send', STACK4, '9', '-t', String(T.bulk), '-w', String(T.bulkWarm)], T.bulk + 25,
      (j) => [['tun.k2s.gbps', num(j, 'gbps'), 'Gbit/s']], `client writes 128 KB blocks to discard for ${T.bulk} s (first ${T.bulkWarm} s excluded)`);
    await step('s2k', ['recv', STACK4, '19', '-t', String(T.bulk), '-w', String(T.bulkWarm)], T.bulk + 25,
      (j) => [['tun.s2k.gbps', num(j, 'gbps'), 'Gbit/s']], `client reads from chargen for ${T.bulk} s (first ${T.bulkWarm} s excluded)`);
    for (const p of [1, 16] as const) {
      await step(`conn${p}`, ['connrate', STACK4, '9', '-t', String(T.conn), '-w', String(T.connWarm), '-p', String(p)], T.conn + 25,
        (j) => [[`tun.conn${p}.rate`, num(j, 'per_second'), 'connections/s']],
        `connect, FIN, wait for the stack's FIN, close (discard), ${p} at a time, ${T.conn} s`);
    }
    const echoArgs = ['echo', STACK4, '7', '-n', String(T.echoRoundTrips), '-t', String(T.echoMax)];
    await step('echo', echoArgs, T.echoMax + 25,
      (j) => [['tun.echo.p50', num(j, 'p50_us'), 'µs'], ['tun.echo.p99', num(j, 'p99_us'), 'µs']],
      `${T.echoRoundTrips} 1-byte round trips, TCP_NODELAY, nothing pinned`);
    // The reference condition for latency: client and stack share one CPU.
    const orig = steps.has('echo-pinned') ? affinity() : null;
    if (steps.has('echo-pinned') && (orig === null || !setAffinity('0'))) {
      for (const k of STEP_KEYS['echo-pinned']) out.push({ key: k[0], offload, value: null, unit: k[1], note: 'cannot set CPU affinity (taskset)' });
    } else if (orig !== null) {
      const restore = onCleanup(() => { setAffinity(orig); });
      try {
        await step('echo-pinned', [...echoArgs, '-c', '0'], T.echoMax + 25,
          (j) => [['tun.echoPinned.p50', num(j, 'p50_us'), 'µs'], ['tun.echoPinned.p99', num(j, 'p99_us'), 'µs']],
          `${T.echoRoundTrips} 1-byte round trips, TCP_NODELAY, client and stack process pinned to CPU 0`);
      } finally {
        setAffinity(orig);
        restore();
      }
    }
    return out;
  } finally {
    s.close(0);
    unregister();
    for (const l of logs) if (/error|cleanup|fail/i.test(l)) log(`  tun ${offload}: ${l}`);
  }
}

export interface TunOutcome {
  readonly skipped: string | null;
  readonly figures: Figure[];
  readonly client: string | null;
}

export async function runTun(clientSrc: string, sel: TunSelection, log: (l: string) => void): Promise<TunOutcome> {
  const why = tunUnavailable();
  if (why !== null) return { skipped: why, figures: skipFigures(sel.offloads, sel.steps, why), client: null };
  let bin: string;
  try {
    bin = buildClient(clientSrc);
  } catch (e) {
    const msg = `cannot build the C client: ${(e as Error).message}`;
    return { skipped: msg, figures: skipFigures(sel.offloads, sel.steps, msg), client: null };
  }
  log(`  tun: client ${bin}`);
  const figures: Figure[] = [];
  for (const off of sel.offloads) figures.push(...await measureConfig(off, bin, sel.steps, log));
  return { skipped: null, figures, client: bin };
}
