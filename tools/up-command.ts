// `tunstack up`: the stack on a Linux TUN device, with services, until SIGINT/SIGTERM.
//   open the TUN (TunLink) → configure its kernel side (DeviceSetup: namespace, addresses, MTU,
//   link up) → Stack + real-time driver → services → print `ready` → wait for a signal → close
//   connections, stop, close the device, undo the configuration (the namespace if we created it).
// startUp() is the in-process form, used by this command, by `tunstack start` and by the kernel
// interop tests (test/kernel), which give it unique device and namespace names.

import { closeSync, openSync, writeSync } from 'node:fs';
import { Stack } from '../stack/stack.js';
import { realEnv } from '../stack/env.js';
import type { Instant } from '../stack/time/instant.js';
import { driveRealTime } from '../stack/time/node-driver.js';
import type { RunningDriver } from '../stack/time/node-driver.js';
import { IpCidr } from '../stack/wire/ip-addr.js';
import type { Link } from '../stack/link/link.js';
import { PcapngWriter, withPcap } from '../stack/link/pcapng.js';
import type { ByteSink } from '../stack/link/pcapng.js';
import { TunLink } from '../stack/link/tun/tun-link.js';
import type { TunLinkOptions } from '../stack/link/tun/tun-link.js';
import { TUN_UNAVAILABLE_CODES, TunError } from '../stack/link/tun/tun-errors.js';
import { DeviceSetup, interfaceExists, validIfName } from '../stack/link/tun/device-setup.js';
import type { OptionSpec, ParsedOptions } from './cli-args.js';
import { UsageError } from './cli-args.js';
import { parseServeList, ServiceSet } from './services/registry.js';
import type { ServiceName } from './services/registry.js';

export const UP_DEFAULTS = {
  tun: 'tunstack0',
  netns: 'tunstack',
  addrs: ['198.18.0.2/24', '2001:db8::2/64'],
  hostAddrs: ['198.18.0.1/24', '2001:db8::1/64'],
  mtu: 1500,
} as const;

export const UP_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  tun: { kind: 'string', help: `TUN device name (default ${UP_DEFAULTS.tun})` },
  netns: { kind: 'string', help: `namespace for the device's kernel side (default ${UP_DEFAULTS.netns}; created if missing, deleted on exit if created)` },
  addr: { kind: 'strings', help: 'stack address with prefix, repeatable (default 198.18.0.2/24 and 2001:db8::2/64)' },
  'host-addr': { kind: 'strings', help: 'kernel-side address with prefix, repeatable (default 198.18.0.1/24 and 2001:db8::1/64)' },
  mtu: { kind: 'number', help: 'MTU of the link, both sides (default 1500; at least 1280 with IPv6)', min: 68, max: 65535 },
  serve: { kind: 'string', help: 'services: all (default), none, or a comma list of echo,discard,chargen,http' },
  pcap: { kind: 'string', help: 'record every packet of the stack to this pcapng file' },
  offload: { kind: 'string', help: 'on|off: TUN offloads (TSO/GRO, checksums; default on when the kernel supports them)' },
  'no-host-config': { kind: 'flag', help: 'create the TUN in the current namespace and leave its kernel side alone' },
  verbose: { kind: 'flag', help: 'one line per accepted connection' },
};

export const UP_USAGE = 'usage: tunstack up [--tun NAME] [--netns NS] [--addr CIDR]... [--host-addr CIDR]... [--mtu N] [--serve LIST] [--pcap FILE] [--offload on|off] [--no-host-config] [--verbose]';

export interface UpConfig {
  readonly tun: string;
  /** Namespace for the kernel side; null: configure it in the current namespace. Ignored without hostConfig. */
  readonly netns: string | null;
  readonly addrs: readonly string[];
  readonly hostAddrs: readonly string[];
  readonly mtu: number;
  readonly serve: readonly ServiceName[];
  readonly pcap: string | null;
  readonly offload: 'auto' | 'on' | 'off';
  readonly hostConfig: boolean;
  readonly verbose: boolean;
  /** Receive-path tuning of the TUN link (benchmarks and tests; the CLI uses the defaults). */
  readonly tuning?: Pick<TunLinkOptions, 'ringSlots' | 'batchMax' | 'copyBelow'>;
}

/** The configuration `argv` options describe, with the defaults filled in. Throws UsageError. */
export function upConfigFromOptions(o: ParsedOptions): UpConfig {
  const str = (k: string): string | undefined => o.get(k) as string | undefined;
  const list = (k: string): string[] | undefined => o.get(k) as string[] | undefined;
  const tun = str('tun') ?? UP_DEFAULTS.tun;
  if (!validIfName(tun)) throw new UsageError(`--tun must be an interface name of 1-15 bytes without spaces, '/' or ':', got ${JSON.stringify(tun)}`);
  const netns = str('netns') ?? UP_DEFAULTS.netns;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns) || netns === '.' || netns === '..') throw new UsageError(`--netns must be a namespace name (letters, digits, _ . -), got ${JSON.stringify(netns)}`);
  const addrs = list('addr') ?? [...UP_DEFAULTS.addrs];
  const hostAddrs = list('host-addr') ?? [...UP_DEFAULTS.hostAddrs];
  for (const [flag, as] of [['--addr', addrs], ['--host-addr', hostAddrs]] as const) {
    for (const a of as) {
      const c = IpCidr.parse(a);
      if (c === null || !a.includes('/')) throw new UsageError(`${flag} must be an address with a prefix length (like 198.18.0.2/24), got ${JSON.stringify(a)}`);
    }
  }
  const mtu = (o.get('mtu') as number | undefined) ?? UP_DEFAULTS.mtu;
  if (!Number.isInteger(mtu)) throw new UsageError(`--mtu must be an integer, got ${mtu}`);
  const v6 = [...addrs, ...hostAddrs].some((a) => a.includes(':'));
  if (v6 && mtu < 1280) throw new UsageError(`--mtu must be at least 1280 with IPv6 addresses (RFC 8200 §5), got ${mtu}`);
  let serve: ServiceName[];
  try {
    serve = parseServeList(str('serve') ?? 'all');
  } catch (e) {
    throw new UsageError(`--serve: ${(e as Error).message}`);
  }
  const off = str('offload');
  if (off !== undefined && off !== 'on' && off !== 'off') throw new UsageError(`--offload must be on or off, got ${JSON.stringify(off)}`);
  return {
    tun, netns, addrs, hostAddrs, mtu, serve, pcap: str('pcap') ?? null,
    offload: off === undefined ? 'auto' : off, hostConfig: o.get('no-host-config') !== true, verbose: o.get('verbose') === true,
  };
}

/** A pcapng file written in 1 MB blocks (the writer hands small chunks per packet). */
class FileByteSink implements ByteSink {
  private readonly fd: number;
  private readonly buf = new Uint8Array(1 << 20);
  private n = 0;
  constructor(path: string) { this.fd = openSync(path, 'w'); }
  write(chunk: Uint8Array): void {
    if (this.n + chunk.length > this.buf.length) this.flush();
    if (chunk.length > this.buf.length) { writeSync(this.fd, chunk); return; }
    this.buf.set(chunk, this.n);
    this.n += chunk.length;
  }
  flush(): void {
    if (this.n > 0) writeSync(this.fd, this.buf, 0, this.n);
    this.n = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export interface UpIo {
  out(line: string): void;
  err(line: string): void;
}

/** A running `up`: the stack on its TUN, with services. close() undoes everything (idempotent). */
export class UpSession {
  private closed = false;
  /** Resolves when the session ends (close(), or the device failed: then with 1). */
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;

  constructor(
    readonly cfg: UpConfig,
    readonly stack: Stack,
    readonly link: TunLink,
    readonly setup: DeviceSetup | null,
    readonly services: ServiceSet,
    private readonly driver: RunningDriver,
    private readonly pcap: FileByteSink | null,
    private readonly io: UpIo,
  ) {
    this.done = new Promise((r) => { this.resolveDone = r; });
  }

  /** The lines printed once every service listens: `ready` and how to reach the stack. */
  readyLines(): string[] {
    const c = this.cfg;
    const where = c.hostConfig ? (c.netns !== null ? ` in namespace ${c.netns}` : '') : ' (kernel side not configured: --no-host-config)';
    const svc = this.services.running.map((s) => `${s.proto} ${s.name}/${s.port}`).join(', ') || 'none';
    const lines = [
      `tunstack: ready on ${this.link.name}: stack ${c.addrs.join(' ')}, kernel side ${c.hostConfig ? c.hostAddrs.join(' ') : '-'}${where}, ` +
        `mtu ${c.mtu}, offloads ${this.link.caps.tsoMaxBytes > 0 ? 'on' : 'off'}; serving ${svc}`,
    ];
    for (const s of this.services.skipped) lines.push(`tunstack: not serving ${s.proto} ${s.name}: ${s.why}`);
    const v4 = c.addrs.map((a) => IpCidr.parse(a)!).find((a) => a.addr.family === 4)?.addr.toString();
    const v6 = c.addrs.map((a) => IpCidr.parse(a)!).find((a) => a.addr.family === 6)?.addr.toString();
    const pre = c.hostConfig && c.netns !== null ? `ip netns exec ${c.netns} ` : '';
    const has = (name: string, proto: string): boolean => this.services.running.some((s) => s.name === name && s.proto === proto);
    const tries: string[] = [];
    if (v4 !== undefined) tries.push(`${pre}ping -c 3 ${v4}`);
    if (v6 !== undefined) tries.push(`${pre}ping -6 -c 3 ${v6}`);
    if (v4 !== undefined && has('http', 'tcp')) tries.push(`${pre}curl http://${v4}/`);
    if (v4 !== undefined && has('echo', 'tcp')) tries.push(`${pre}nc ${v4} 7`);
    if (v4 !== undefined && has('echo', 'udp')) tries.push(`echo hello | ${pre}socat -t 1 - UDP:${v4}:7`);
    if (tries.length > 0) {
      lines.push(`  try: ${tries[0]}`);
      for (const t of tries.slice(1)) lines.push(`       ${t}`);
    }
    lines.push('  stop with Ctrl-C (SIGINT) or SIGTERM: the device and what was set up for it are removed');
    return lines;
  }

  /** Closes connections and services, stops, closes the device, undoes the host configuration. */
  close(code = 0): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.services.close();
      this.stack.poll(this.stack.env.clock.now()); // FINs and RSTs out before the device goes
    } catch (e) {
      this.io.err(`tunstack: error while closing services: ${(e as Error).message}`);
    }
    this.driver.stop();
    this.link.close();
    if (this.setup !== null) for (const m of this.setup.cleanup()) this.io.err(`tunstack: cleanup: ${m}`);
    if (this.pcap !== null) {
      try { this.pcap.close(); } catch (e) { this.io.err(`tunstack: pcap: ${(e as Error).message}`); }
    }
    this.stack.drain();
    this.resolveDone(code);
  }
}

/**
 * Starts the stack on a TUN device as `cfg` says. Throws TunError (device or host set-up) or Error
 * (services); whatever was set up before the failure is undone first.
 */
export function startUp(cfg: UpConfig, io: UpIo): UpSession {
  // One clock for everything: the stack's entry points (driver, received batches) and the API
  // calls services make must see the same time line (TCP timestamps must never go backwards).
  const env = realEnv();
  const clock = env.clock;
  const preexisting = interfaceExists(cfg.tun);
  let session: UpSession | null = null;
  const link = TunLink.open({
    ...cfg.tuning, name: cfg.tun, mtu: cfg.mtu, offload: cfg.offload, clock,
    onError: (e) => {
      io.err(`tunstack: ${e.message}`);
      session?.close(1);
    },
  });
  let setup: DeviceSetup | null = null;
  let pcap: FileByteSink | null = null;
  let driver: RunningDriver | null = null;
  let stack: Stack | null = null;
  try {
    if (cfg.hostConfig) {
      setup = DeviceSetup.apply({ dev: link.name, netns: cfg.netns, addrs: cfg.hostAddrs, mtu: cfg.mtu, preexisting });
    }
    // A server's listen backlog: Linux allows 4096; BSD's default 128 drops bursts of SYNs.
    stack = new Stack({ env, name: 'tunstack', sockets: { somaxconn: 1024 } });
    const s = stack;
    let attached: Link = link;
    if (cfg.pcap !== null) {
      pcap = new FileByteSink(cfg.pcap);
      attached = withPcap(link, new PcapngWriter(pcap), clock);
    }
    stack.addInterface(attached, { name: link.name, addrs: cfg.addrs.map((a) => IpCidr.of(a)) });
    // The driver re-arms its timer only after its own polls; a received batch can add an earlier
    // deadline (a TCP timer), so after each batch it is told when that happened.
    let kick: (() => void) | null = null;
    let armed: Instant | null = null;
    driver = driveRealTime({
      pollAt: () => { armed = s.pollAt(); return armed; },
      poll: (now) => s.poll(now),
      onWork: (cb) => { kick = cb; s.onWork(cb); },
    }, clock);
    link.afterReceive = () => {
      const next = s.pollAt();
      if (kick !== null && next !== null && (armed === null || next < armed)) kick();
    };
    const services = ServiceSet.start(stack, cfg.serve, { onAccept: cfg.verbose ? (l) => io.out(`tunstack: ${l}`) : null });
    session = new UpSession(cfg, stack, link, setup, services, driver, pcap, io);
    return session;
  } catch (e) {
    driver?.stop();
    link.close();
    if (setup !== null) for (const m of setup.cleanup()) io.err(`tunstack: cleanup: ${m}`);
    if (pcap !== null) pcap.close();
    stack?.drain();
    throw e;
  }
}

/**
 * Runs `up` until SIGINT/SIGTERM (exit code 0) or a device failure (1). A TunError is printed as
 * its one-line message (exit 1); `onUnavailable`, when given, is called instead for errors that
 * mean this machine cannot run a TUN here (`tunstack start` falls back to the simulation).
 */
export async function runUp(cfg: UpConfig, io: UpIo, onUnavailable?: (e: TunError) => Promise<number> | number): Promise<number> {
  // Handlers go in first and stay until the cleanup is done: with the default disposition a
  // signal during set-up, or a second one during clean-up (npm and `timeout` forward signals to
  // the whole process group, so they often come twice), would kill the process half-way and
  // leave the device's namespace behind.
  let session: UpSession | null = null;
  let stopRequested = false;
  const onSignal = (): void => {
    if (session !== null) session.close(0);
    else stopRequested = true;
  };
  // If the process dies another way (an exception), still remove the device and namespace.
  const onExit = (): void => { session?.close(1); };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  process.on('exit', onExit);
  const uninstall = (): void => {
    for (const sig of signals) process.off(sig, onSignal);
    process.off('exit', onExit);
  };
  try {
    session = startUp(cfg, io);
  } catch (e) {
    uninstall();
    if (e instanceof TunError) {
      if (onUnavailable !== undefined && TUN_UNAVAILABLE_CODES.has(e.code)) return onUnavailable(e);
      io.err(`tunstack: ${e.message}`);
      return 1;
    }
    io.err(`tunstack: ${(e as Error).message}`);
    return 1;
  }
  if (stopRequested) session.close(0);
  else for (const l of session.readyLines()) io.out(l);
  const code = await session.done;
  uninstall();
  io.out(`tunstack: stopped${code === 0 ? '' : ' (device failure)'}; ${session.link.name} closed${session.setup?.createdNetns ? `, namespace ${cfg.netns} deleted` : ''}`);
  return code;
}
