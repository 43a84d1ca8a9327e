// Kernel-side configuration of a TUN device with iproute2 (`ip`, run through child_process):
// optionally move the device into a network namespace (creating the namespace when missing), set
// its MTU and addresses (IPv6 with `nodad`, so they are usable at once) and bring it up. Every
// change is recorded and `cleanup()` reverses what this object did, in reverse order: a namespace
// it created is deleted, addresses added to a device that existed before are removed and the
// device moved back. A device this process created itself (non-persistent TUN) vanishes when its
// fd closes, so close the TunLink first, then call cleanup().
//
// The commands, for --tun tunstack0 --netns tunstack:
//   ip netns add tunstack                                  (only when missing)
//   ip link set dev tunstack0 netns tunstack
//   ip -n tunstack link set dev lo up
//   ip -n tunstack link set dev tunstack0 mtu 1500
//   ip -n tunstack addr add 198.18.0.1/24 dev tunstack0
//   ip -n tunstack addr add 2001:db8::1/64 dev tunstack0 nodad
//   ip -n tunstack link set dev tunstack0 up

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { IpCidr } from '../../wire/ip-addr.js';
import { TunError } from './tun-errors.js';

export interface HostConfig {
  /** The TUN interface (already opened by TunLink in this process's namespace). */
  readonly dev: string;
  /** Namespace to move the kernel side into (created when missing); null: stay in the current one. */
  readonly netns: string | null;
  /** Addresses of the kernel side, e.g. 198.18.0.1/24 and 2001:db8::1/64. */
  readonly addrs: readonly string[];
  readonly mtu: number;
  /** The device existed before this process opened it (a persistent TUN): undo changes instead of relying on close. */
  readonly preexisting?: boolean;
}

/** Runs `ip` with `args`; throws with ip's own message on failure. Replaceable for tests. */
export type IpRunner = (args: readonly string[]) => string;

export const runIp: IpRunner = (args) => {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new TunError('ESETUP', 'the `ip` command (iproute2) is missing: install iproute2, or run with --no-host-config');
    const msg = (err.stderr ?? '').trim() || err.message;
    throw new TunError('ESETUP', `ip ${args.join(' ')}: ${msg}`);
  }
};

/** Whether network namespace `ns` exists (iproute2 keeps named namespaces under /run/netns). */
export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/** Whether an interface called `dev` exists in the current namespace. */
export function interfaceExists(dev: string): boolean {
  return existsSync(`/sys/class/net/${dev}`);
}

/** Names iproute2 and the kernel accept: 1-15 bytes, no '/', no whitespace, not '.' or '..'. */
export function validIfName(name: string): boolean {
  return name.length >= 1 && Buffer.byteLength(name) <= 15 && !/[\s/:]/.test(name) && name !== '.' && name !== '..';
}

export class DeviceSetup {
  /** The namespace was created by this setup (and will be deleted by cleanup). */
  createdNetns = false;
  private readonly undo: (readonly string[])[] = [];
  private done = false;

  private constructor(readonly cfg: HostConfig, private readonly ip: IpRunner) {}

  /** Applies `cfg`. On failure, undoes what it had done and throws a TunError. */
  static apply(cfg: HostConfig, ip: IpRunner = runIp): DeviceSetup {
    const s = new DeviceSetup(cfg, ip);
    try {
      s.run();
    } catch (e) {
      s.cleanup();
      throw e;
    }
    return s;
  }

  private run(): void {
    const { dev, netns, addrs, mtu } = this.cfg;
    const parsed = addrs.map((a) => {
      const c = IpCidr.parse(a);
      if (c === null) throw new TunError('EINVAL', `not an address with prefix: ${a}`);
      return c;
    });
    const n = netns === null ? [] : ['-n', netns];
    if (netns !== null) {
      if (!netnsExists(netns)) {
        this.ip(['netns', 'add', netns]);
        this.createdNetns = true;
        this.undo.push(['netns', 'del', netns]);
      } else if (this.linkExistsIn(netns, dev)) {
        throw new TunError('EBUSY', `namespace ${netns} already has an interface called ${dev} (another tunstack?): choose another --tun NAME or --netns NS`);
      }
      this.ip(['link', 'set', 'dev', dev, 'netns', netns]);
      if (this.cfg.preexisting) this.undo.push(['-n', netns, 'link', 'set', 'dev', dev, 'netns', String(process.pid)]);
      this.ip([...n, 'link', 'set', 'dev', 'lo', 'up']);
    }
    this.ip([...n, 'link', 'set', 'dev', dev, 'mtu', String(mtu)]);
    for (const c of parsed) {
      const args = [...n, 'addr', 'add', c.toString(), 'dev', dev];
      if (c.addr.family === 6) args.push('nodad');
      this.ip(args);
      if (this.cfg.preexisting) this.undo.push([...n, 'addr', 'del', c.toString(), 'dev', dev]);
    }
    this.ip([...n, 'link', 'set', 'dev', dev, 'up']);
  }

  private linkExistsIn(netns: string, dev: string): boolean {
    try {
      this.ip(['-n', netns, 'link', 'show', 'dev', dev]);
      return true;
    } catch {
      return false;
    }
  }

  /** Reverses every recorded change, newest first; errors are collected, not thrown. Idempotent. */
  cleanup(): string[] {
    if (this.done) return [];
    this.done = true;
    const errors: string[] = [];
    while (this.undo.length > 0) {
      const args = this.undo.pop()!;
      try {
        this.ip(args);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return errors;
  }
}
