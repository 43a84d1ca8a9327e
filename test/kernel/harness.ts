// Shared plumbing of the kernel interop tests: whether they can run here, unique device and
// namespace names, the stack on a TUN in-process (startUp, exactly what `tunstack up` runs) with
// the kernel side in a namespace the test creates, and async runners for the kernel's tools inside
// that namespace. Tools MUST be run asynchronously: the stack runs on this process's event loop,
// so a synchronous child process would stop it from answering.
//
// Network safety: every address used is inside 198.18.0.0/15 or 2001:db8::/32, on a device whose
// kernel side is in a namespace created here and deleted afterwards.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadTunAddon, TunAddonMissing } from '../../stack/link/tun/tun-native.js';
import { startUp } from '../../tools/up-command.js';
import type { UpConfig, UpSession } from '../../tools/up-command.js';
import type { ServiceName } from '../../tools/services/registry.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const addon = loadTunAddon();

/** CAP_NET_ADMIN (bit 12) in this process's effective capability set (root without it cannot create devices). */
function hasNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n;
  } catch {
    return false;
  }
}

/** Why the kernel tests cannot run here (null: they can). */
export const cannotRun: string | null =
  process.platform !== 'linux' ? 'needs Linux'
    : !isRoot ? 'not root'
      : !hasNetAdmin() ? 'no CAP_NET_ADMIN'
        : !existsSync('/dev/net/tun') ? 'no /dev/net/tun'
          : addon instanceof TunAddonMissing ? addon.message
            : null;

/** TUNSTACK_REQUIRE_TUN=1 (CI): the tests must run, so they fail instead of skipping. */
export const REQUIRED = process.env.TUNSTACK_REQUIRE_TUN === '1';
/** describe.skipIf(SKIP) */
export const SKIP = cannotRun !== null && !REQUIRED;
/** Suffix for describe titles, saying why they skip. */
export const SKIP_NOTE = SKIP ? ` (skipped: needs root and /dev/net/tun; here: ${cannotRun})` : '';

let counter = 0;

/** Names unique to this process and call: a device of at most 15 bytes and a namespace. */
export function uniqueNames(tag: string): { dev: string; netns: string } {
  const n = (counter++).toString(36);
  const pid = (process.pid % 1_000_000).toString(36);
  return { dev: `tk${tag}${pid}${n}`.slice(0, 15), netns: `tunstack-test-${tag}-${process.pid}-${n}` };
}

export interface WorldOptions {
  readonly tag: string;
  readonly offload?: 'auto' | 'on' | 'off';
  readonly mtu?: number;
  readonly serve?: readonly ServiceName[];
  readonly tuning?: UpConfig['tuning'];
}

/** The stack on its own TUN with the kernel side in its own namespace. */
export interface KernelWorld {
  readonly session: UpSession;
  readonly netns: string;
  readonly dev: string;
  /** Log lines the session printed (errors, accepted connections). */
  readonly log: string[];
  /** Closes everything (idempotent); asserts nothing. */
  close(): void;
}

export const STACK4 = '198.18.0.2';
export const STACK6 = '2001:db8::2';
export const HOST4 = '198.18.0.1';
export const HOST6 = '2001:db8::1';

export function startWorld(o: WorldOptions): KernelWorld {
  const { dev, netns } = uniqueNames(o.tag);
  const cfg: UpConfig = {
    tun: dev, netns, addrs: [`${STACK4}/24`, `${STACK6}/64`], hostAddrs: [`${HOST4}/24`, `${HOST6}/64`],
    mtu: o.mtu ?? 1500, serve: o.serve ?? ['echo', 'discard', 'chargen', 'http'], pcap: null,
    offload: o.offload ?? 'auto', hostConfig: true, verbose: false, ...(o.tuning ? { tuning: o.tuning } : {}),
  };
  const log: string[] = [];
  const session = startUp(cfg, { out: (l) => log.push(l), err: (l) => log.push(l) });
  const onExit = (): void => session.close(1);
  process.once('exit', onExit); // a crashed worker still removes its namespace
  return {
    session, netns, dev, log,
    close(): void {
      process.off('exit', onExit);
      session.close(0);
    },
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Killed (SIGKILL) after this long; default 20 s. */
  readonly timeoutMs?: number;
  /** Called with stdout chunks as they arrive. */
  readonly onStdout?: (chunk: Buffer) => void;
}

/** Runs `cmd args` (no shell) inside `netns`; resolves when it exits. Never rejects for a non-zero exit. */
export function nsRun(netns: string, cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', netns, cmd, ...args], o);
}

/** Runs a python3 program inside `netns` (argv after the program: sys.argv[1:]). */
export function nsPython(netns: string, program: string, args: readonly string[] = [], o: RunOptions = {}): Promise<RunResult> {
  return nsRun(netns, 'python3', ['-c', program, ...args], o);
}

export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out.push(c); o.onStdout?.(c); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on('error', () => {}); // the tool may exit before reading everything
    if (o.input !== undefined) child.stdin.end(o.input);
    else child.stdin.end();
  });
}

/** Waits until `cond()` holds, polling every 20 ms, for at most `ms`; returns whether it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** The /bytes/N body: byte i is i mod 251. */
export function bytesBody(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}
