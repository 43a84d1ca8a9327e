// CFMessagePort between processes: the child (test/cf/fixtures/message-port-child.mjs) runs the
// real CFMessagePort code, compiled once with tsc into node_modules/.cache. Request/reply both
// directions, a name held by another process, receive and send timeouts, SIGKILL of the server
// (the remote's invalidation callback, BecameInvalid, then a stale name that is cleaned up), and
// the invalidation reaching a remote in another process; a killed client, with and without the
// tunstack extension that lets the local port learn of it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CFDataCreate } from '../../cfsocket/cf-data.js';
import type { CFData } from '../../cfsocket/cf-data.js';
import { CFRunLoopAddSource, CFRunLoopCreateWithClock, CFRunLoopRunInMode, CFRunLoopStop, kCFRunLoopDefaultMode } from '../../cfsocket/cf-runloop.js';
import {
  CFMessagePortCreateLocal, CFMessagePortCreateRemote, CFMessagePortCreateRunLoopSource, CFMessagePortInvalidate,
  CFMessagePortIsValid, CFMessagePortSendRequest, CFMessagePortSetInvalidationCallBack,
  kCFMessagePortBecameInvalidError, kCFMessagePortReceiveTimeout, kCFMessagePortSendTimeout, kCFMessagePortSuccess,
  tunstack_CFMessagePortSetInvalidatesWhenClientLeaves,
} from '../../cfsocket/message-port.js';
import { pathForName } from '../../cfsocket/ipc/registry.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'node_modules', '.cache', `tunstack-cfmp-${process.pid}`);
const CHILD = join(ROOT, 'test', 'cf', 'fixtures', 'message-port-child.mjs');
const enc = new TextEncoder();
const dec = new TextDecoder();
const procs: ChildProcess[] = [];
let dir = '';
let seq = 0;
const uniq = (what: string): string => `proc.${process.pid}.${what}.${++seq}`;

interface Child { proc: ChildProcess; out: () => string; line(re: RegExp, ms?: number): Promise<string>; exited: Promise<number | null> }

function child(...args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, OUT, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TUNSTACK_CFMP_DIR: dir } });
  procs.push(proc);
  let out = '';
  let err = '';
  const listeners: (() => void)[] = [];
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); for (const l of listeners) l(); });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc, out: () => out, exited,
    line: (re, ms = 10_000) => new Promise<string>((res, rej) => {
      const check = (): boolean => { const m = re.exec(out); if (m) { res(m[0]); return true; } return false; };
      if (check()) return;
      const t = setTimeout(() => rej(new Error(`no ${String(re)} in ${ms} ms; stdout: ${out} stderr: ${err}`)), ms);
      listeners.push(() => { if (check()) clearTimeout(t); });
    }),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cfmp-proc-'));
  process.env['TUNSTACK_CFMP_DIR'] = dir;
  // Only the CF layer is needed; type errors elsewhere do not stop tsc from emitting.
  const tsc = spawn(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    join(ROOT, 'cfsocket', 'message-port.ts'), '--outDir', OUT, '--rootDir', ROOT, '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck',
    '--declaration', 'false', '--sourceMap', 'false'], { stdio: 'ignore' });
  await new Promise((r) => tsc.on('exit', r));
  expect(existsSync(join(OUT, 'cfsocket', 'message-port.js'))).toBe(true);
}, 60_000);

afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(OUT, { recursive: true, force: true });
  const left = readdirSync(dir);
  rmSync(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe('CFMessagePort between processes', () => {
  it('request/reply to a child; its name is taken for us; receive timeout; SIGKILL invalidates our remote; the stale name is reused', async () => {
    const name = uniq('srv');
    const c = child('server', name, '10000');
    await c.line(/ready \d+/);
    const remote = (await CFMessagePortCreateRemote(null, name))!;
    expect(remote).not.toBeNull();
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('ping')), 1, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(dec.decode(box.value!.bytes)).toBe('ping');
    // 1 MB each way.
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 13) & 0xff);
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, big), 5, 10, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(Buffer.compare(Buffer.from(box.value!.bytes), Buffer.from(big))).toBe(0);
    // One-way, then a request that reads the count (the server is serial, so all arrived first).
    for (let i = 0; i < 5; i++) expect(await CFMessagePortSendRequest(remote, 4, null, 1, 0, null, null)).toBe(0);
    expect(await CFMessagePortSendRequest(remote, 5, null, 1, 5, 'reply', box)).toBe(0);
    expect(dec.decode(box.value!.bytes)).toBe('5');
    // Another process holds the name: registration fails, and the live socket is left alone.
    expect(await CFMessagePortCreateLocal(null, name, () => null, null, { value: false })).toBeNull();
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('still')), 1, 5, 'reply', box)).toBe(0);
    // Receive timeout (the child's msgid 2 replies after 10 s... never, here).
    let invalidated = 0;
    CFMessagePortSetInvalidationCallBack(remote, () => { invalidated++; });
    const slow = CFMessagePortSendRequest(remote, 2, null, 1, 0.2, 'reply', box);
    expect(await slow).toBe(kCFMessagePortReceiveTimeout);
    // SIGKILL while a request waits: BecameInvalid, the callback, IsValid false.
    const waiting = CFMessagePortSendRequest(remote, 2, null, 1, 10, 'reply', box);
    await new Promise((r) => setTimeout(r, 50));
    c.proc.kill('SIGKILL');
    expect(await waiting).toBe(kCFMessagePortBecameInvalidError);
    expect(invalidated).toBe(1);
    expect(CFMessagePortIsValid(remote)).toBe(false);
    await c.exited;
    // The dead server left its socket file: stale. Look-up says no such port; registering reuses it.
    const path = pathForName(enc.encode(name))!;
    expect(existsSync(path)).toBe(true);
    expect(await CFMessagePortCreateRemote(null, name)).toBeNull();
    const mine = await CFMessagePortCreateLocal(null, name, () => null, null, null);
    expect(mine).not.toBeNull();
    CFMessagePortInvalidate(mine!);
    expect(existsSync(path)).toBe(false);
  }, 30_000);

  it('a child sends to our local port; our invalidation reaches a remote held by another child', async () => {
    const name = uniq('parent');
    const port = (await CFMessagePortCreateLocal(null, name, (_l, msgid, d) => CFDataCreate(null, enc.encode(`parent:${msgid}:${dec.decode(d.bytes)}`)), null, null))!;
    const loop = CFRunLoopCreateWithClock();
    CFRunLoopAddSource(loop, CFMessagePortCreateRunLoopSource(null, port, 0)!, kCFRunLoopDefaultMode);
    let stop = false;
    const running = (async () => { while (!stop && await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, loop) !== 1) { /* again */ } })();
    const client = child('client', name, '9', 'hello');
    await client.line(/status .*/);
    expect(client.out().trim()).toBe('status 0 parent:9:hello');
    expect(await client.exited).toBe(0);
    const holder = child('hold', name);
    await holder.line(/ready/);
    CFMessagePortInvalidate(port);
    await holder.line(/invalidated/);
    stop = true;
    CFRunLoopStop(loop);
    await running;
    const missing = child('client', uniq('nobody'), '1', 'x');
    expect((await missing.line(/status .*/)).trim()).toBe('status null');
  }, 30_000);

  it('a killed client: our local port stays valid (CF), or is invalidated with the tunstack extension; a probe is no client', async () => {
    const name = uniq('clients');
    const calls: unknown[] = [];
    const port = (await CFMessagePortCreateLocal(null, name, () => null, { version: 0, info: 'ours' }, null))!;
    CFMessagePortSetInvalidationCallBack(port, (_ms, info) => { calls.push(info); });
    const waitInvalid = async (): Promise<void> => {
      for (let i = 0; i < 500 && CFMessagePortIsValid(port); i++) await new Promise((r) => setTimeout(r, 10));
    };
    // CF: the server never learns.
    const first = child('hold', name);
    await first.line(/ready/);
    first.proc.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 200));
    expect(CFMessagePortIsValid(port)).toBe(true);
    expect(calls).toEqual([]);
    // Extension on. Another process trying to register the name probes it (connect, close): the
    // probe sent no hello, so it is no client, and the port stays valid.
    expect(tunstack_CFMessagePortSetInvalidatesWhenClientLeaves(port, true)).toBe(true);
    const rival = child('register', name);
    expect((await rival.line(/failed|ready/)).trim()).toBe('failed');
    await rival.exited;
    await new Promise((r) => setTimeout(r, 200));
    expect(CFMessagePortIsValid(port)).toBe(true);
    // A client process dies: the port is invalidated and the callback gets our info.
    const second = child('hold', name);
    await second.line(/ready/);
    second.proc.kill('SIGKILL');
    await second.exited;
    await waitInvalid();
    expect(CFMessagePortIsValid(port)).toBe(false);
    expect(calls).toEqual(['ours']);
    expect(existsSync(pathForName(enc.encode(name))!)).toBe(false);
  }, 30_000);

  it('send timeout when the other process never reads', async () => {
    const name = uniq('idle');
    const c = child('server-idle', name);
    await c.line(/ready \d+/);
    const remote = (await CFMessagePortCreateRemote(null, name))!;
    const mb = CFDataCreate(null, new Uint8Array(1 << 20));
    let status = kCFMessagePortSuccess;
    let n = 0;
    for (; n < 200 && status === kCFMessagePortSuccess; n++) status = await CFMessagePortSendRequest(remote, 4, mb, 0.1, 0, null, null);
    expect(status).toBe(kCFMessagePortSendTimeout);
    expect(CFMessagePortIsValid(remote)).toBe(true);
    c.proc.stdin!.write('quit\n');   // the child invalidates its port (removing its socket file) and exits
    expect(await c.exited).toBe(0);
    CFMessagePortInvalidate(remote);
  }, 30_000);
});
