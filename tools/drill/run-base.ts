// The drill interpreter's shared ground: options and results (DrillConfig, DrillResult, DrillStop),
// the capture link, and the runner state every layer works on (DrillRunnerBase, extended by
// run-packets.ts → run-syscalls.ts → run-emulations.ts → run.ts).

import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { VirtualClock } from '../../stack/time/clock.js';
import type { Link, LinkCaps, LinkReceiver } from '../../stack/link/link.js';
import { DEFAULT_LINK_CAPS } from '../../stack/link/link.js';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFreem } from '../../stack/mbuf/pool.js';
import { mToBytes } from '../../stack/mbuf/chain.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { kpiKernel } from '../../kpi/index.js';
import type { KpiKernel, KpiSocket } from '../../kpi/index.js';
import type { DrillEvent, SyscallEvent } from './ast.js';
import type { Decoded } from './packet.js';

// ---------------------------------------------------------------------------------------------
// Configuration and results

export interface DrillConfig {
  ipVersion: 'ipv4' | 'ipv6' | 'ipv4_mapped_ipv6';
  toleranceUsecs: number;
  tolerancePercent: number;
  mtu: number;
  localIp: string | null;
  remoteIp: string | null;
  bindPort: number;
  connectPort: number;
  tcpTsTickUsecs: number;
  nonFatal: Set<'packet' | 'syscall'>;
}

export const DEFAULT_CONFIG: Readonly<DrillConfig> = {
  ipVersion: 'ipv4', toleranceUsecs: 4000, tolerancePercent: 5, mtu: 1500, localIp: null, remoteIp: null,
  bindPort: 8080, connectPort: 8080, tcpTsTickUsecs: 0, nonFatal: new Set(),
};

export type DrillStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface DrillResult {
  readonly file: string;
  readonly status: DrillStatus;
  /** Where the failure, unsupported feature or error is (null for a pass). */
  readonly line: number | null;
  readonly column: number | null;
  /** The event's text (failures). */
  readonly event: string | null;
  readonly message: string | null;
  readonly expected: string | null;
  readonly actual: string | null;
  /** Non-fatal mismatches (--non_fatal), leftover outbound packets... */
  readonly warnings: readonly string[];
  /** With `verbose`: every event with its virtual time. */
  readonly trace: readonly string[];
  /** Virtual time at the end, µs. */
  readonly endTimeUs: number;
}

/** Thrown inside the runner to end a script. */
export class DrillStop extends Error {
  constructor(
    readonly status: Exclude<DrillStatus, 'pass'>, message: string, readonly line: number | null,
    readonly expected: string | null = null, readonly actual: string | null = null, readonly column: number | null = null,
    readonly kind: 'packet' | 'syscall' | 'other' = 'other',
  ) { super(message); }
}

export const unsupported = (what: string, line: number | null): DrillStop => new DrillStop('unsupported', `unsupported: ${what}`, line);

// ---------------------------------------------------------------------------------------------
// Header options

/** Applies one header option (or CLI option) to `cfg`; throws DrillStop for unknown/bad ones. */
export function applyOption(cfg: DrillConfig, name: string, value: string | null, line: number | null): void {
  const n = name.replace(/-/g, '_');
  const need = (): string => {
    if (value === null || value === '') throw new DrillStop('error', `option --${n} needs a value`, line);
    return value;
  };
  const int = (min: number, max: number): number => {
    const v = Number(need());
    if (!Number.isFinite(v) || v < min || v > max) throw new DrillStop('error', `option --${n}: bad value '${value}'`, line);
    return v;
  };
  switch (n) {
    case 'ip_version': {
      const v = need();
      if (v !== 'ipv4' && v !== 'ipv6' && v !== 'ipv4_mapped_ipv6') throw new DrillStop('error', `--ip_version must be ipv4, ipv6 or ipv4_mapped_ipv6, got '${v}'`, line);
      cfg.ipVersion = v;
      return;
    }
    case 'tolerance_usecs': cfg.toleranceUsecs = int(0, 1e9); return;
    case 'tolerance_percent': cfg.tolerancePercent = int(0, 100); return;
    case 'mtu': cfg.mtu = int(68, 65535); return;
    case 'local_ip': cfg.localIp = need(); return;
    case 'remote_ip': cfg.remoteIp = need(); return;
    case 'bind_port': cfg.bindPort = int(1, 65535); return;
    case 'connect_port': cfg.connectPort = int(1, 65535); return;
    case 'tcp_ts_tick_usecs': cfg.tcpTsTickUsecs = int(0, 1e9); return;
    case 'non_fatal': {
      for (const k of need().split(',')) {
        if (k !== 'packet' && k !== 'syscall') throw new DrillStop('error', `--non_fatal takes packet,syscall; got '${k}'`, line);
        cfg.nonFatal.add(k);
      }
      return;
    }
    default:
      throw unsupported(`option --${n}`, line);
  }
}

// ---------------------------------------------------------------------------------------------
// The capture link

class CaptureLink implements Link {
  readonly name = 'drill0';
  rx: LinkReceiver | null = null;
  constructor(readonly caps: LinkCaps, private readonly sink: (bytes: Uint8Array) => void) {}
  transmit(batch: readonly Mbuf[], count: number): void {
    for (let i = 0; i < count; i++) {
      const m = batch[i]!;
      this.sink(mToBytes(m));
      mFreem(m);
    }
  }
  setReceiver(rx: LinkReceiver | null): void { this.rx = rx; }
}

// ---------------------------------------------------------------------------------------------
// Runner state

export interface Conn {
  readonly proto: 'tcp' | 'udp';
  localPort: number | null;
  remotePort: number;
  /** The peer's address (the default remote one, or an addr[caddrN] of the script). */
  readonly remoteAddr: IpAddr;
  /** The stack's ISN (learned from its SYN / SYN-ACK). */
  localIsn: number | null;
  /** The script's ISN (from the inbound SYN). */
  remoteIsn: number | null;
  tsFirst: { script: number; live: number } | null;
  readonly tsMap: Map<number, number>;
}

export interface FdEntry {
  readonly ks: KpiSocket;
  readonly proto: 'tcp' | 'udp';
  conn: Conn | null;
}

export type CallResult = { ret: number; errno: number };

export interface Pending {
  readonly ev: DrillEvent;
  readonly call: SyscallEvent;
  readonly startUs: number;
  readonly endLo: number;
  readonly endHi: number;
  done: boolean;
  result: CallResult | null;
  doneAt: number;
  failure: unknown;
  /** For poll(): re-evaluated after every step instead of a Promise. */
  readonly recheck: (() => CallResult | null) | null;
}

export interface Outbound { readonly pkt: Decoded; readonly at: number }

export const sameAddr = (a: IpAddr, b: IpAddr): boolean => a.family === b.family && a.bytes.every((x, i) => x === b.bytes[i]);
export const settle = (): Promise<void> => new Promise<void>((r) => { setImmediate(r); });
export const fmtTime = (us: number): string => `${(us / 1e6).toFixed(3)} s`;
export const u32 = (n: number): number => n >>> 0;
export const MAX_WAIT_US = 3600 * 1_000_000;

export interface RunOptions {
  readonly profile: TcpProfile;
  readonly config: DrillConfig;
  readonly seed: number;
  readonly verbose: boolean;
}

export abstract class DrillRunnerBase {
  readonly clock = new VirtualClock();
  readonly stack: Stack;
  readonly kernel: KpiKernel;
  protected readonly link: CaptureLink;
  protected readonly cfg: DrillConfig;
  protected profile: TcpProfile;
  protected readonly family: 4 | 6;           // of the packets
  protected readonly sockFamily: 4 | 6;       // of the sockets
  protected readonly local: IpAddr;
  protected readonly remote: IpAddr;
  protected readonly fds = new Map<number, FdEntry>();
  protected sutFd: number | null = null;
  protected cur: Conn | null = null;
  /**
   * True once a connection was started (inbound SYN to the listening socket under test, or a
   * connect() that sent a SYN) since the socket under test was created: from then on that
   * connection is the socket under test, and a further inbound SYN belongs to it (reference §6).
   */
  protected sutConnStarted = false;
  protected readonly conns: Conn[] = [];
  protected readonly outq: Outbound[] = [];
  protected pending: Pending | null = null;
  protected lastActual = 0;
  protected lastExpected = 0;
  protected nextRemotePort = 40000;
  protected ipId = 1;
  readonly warnings: string[] = [];
  readonly trace: string[] = [];

  constructor(protected readonly opts: RunOptions) {
    this.cfg = opts.config;
    this.profile = opts.profile;
    const mapped = this.cfg.ipVersion === 'ipv4_mapped_ipv6';
    this.family = this.cfg.ipVersion === 'ipv6' ? 6 : 4;
    this.sockFamily = this.cfg.ipVersion === 'ipv4' ? 4 : 6;
    const l = this.cfg.localIp ?? (this.family === 4 ? '192.168.0.1' : 'fd3d:fa7b:d17d::1');
    const r = this.cfg.remoteIp ?? (this.family === 4 ? '192.0.2.1' : '2001:db8::1');
    const la = IpAddr.parse(l), ra = IpAddr.parse(r);
    if (la === null || la.family !== this.family) throw new DrillStop('error', `bad local_ip '${l}'`, null);
    if (ra === null || ra.family !== this.family) throw new DrillStop('error', `bad remote_ip '${r}'`, null);
    this.local = la;
    this.remote = ra;
    void mapped;
    this.link = new CaptureLink({ ...DEFAULT_LINK_CAPS, mtu: this.cfg.mtu }, (b) => this.onTransmit(b));
    this.stack = new Stack({ env: simEnv(opts.seed, this.clock), name: 'drill', tcp: { profile: this.profile } });
    const addrs = this.family === 4
      ? [IpCidr.of(`${l}/24`), IpCidr.of('fd3d:fa7b:d17d::1/64')]
      : [IpCidr.of('192.168.0.1/24'), IpCidr.of(`${l}/64`)];
    const ifp = this.stack.addInterface(this.link, { name: 'drill0', addrs, mtu: this.cfg.mtu });
    this.stack.addRoute('0.0.0.0/0', { ifindex: ifp.index });
    this.stack.addRoute('::/0', { ifindex: ifp.index });
    this.kernel = kpiKernel(this.stack);
  }

  get now(): number { return this.clock.now(); }

  protected log(line: string): void {
    if (this.opts.verbose) this.trace.push(`${fmtTime(this.now).padStart(10)}  ${line}`);
  }

  protected tol(expected: number, prev: number): number {
    return Math.max(this.cfg.toleranceUsecs, (this.cfg.tolerancePercent / 100) * Math.max(0, expected - prev));
  }

  // Defined by the layers below: onTransmit in run-packets.ts; the clock in run.ts.
  protected abstract onTransmit(b: Uint8Array): void;
  protected abstract checkPending(): Promise<void>;
  protected abstract step(limit: number): Promise<boolean>;
}
