// CFMessagePort within one process: request/reply between two run loops, naming, timeouts both
// ways, one-way sends, large and many concurrent messages, invalidation, stale names, the
// dispatch-queue mapping, and the frame codec. Sockets live in a private directory that must be
// empty at the end.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CFRelease } from '../../cfsocket/cf-base.js';
import { CFDataCreate, CFDataGetLength } from '../../cfsocket/cf-data.js';
import type { CFData } from '../../cfsocket/cf-data.js';
import {
  CFRunLoopAddSource, CFRunLoopCreateWithClock, CFRunLoopRunInMode, CFRunLoopStop, kCFRunLoopDefaultMode,
} from '../../cfsocket/cf-runloop.js';
import type { CFRunLoop } from '../../cfsocket/cf-runloop.js';
import {
  CFMessagePortCreateLocal, CFMessagePortCreateRemote, CFMessagePortCreateRunLoopSource, CFMessagePortGetContext,
  CFMessagePortGetName, CFMessagePortInvalidate, CFMessagePortIsRemote, CFMessagePortIsValid, CFMessagePortSendRequest,
  CFMessagePortSetDispatchQueue, CFMessagePortSetInvalidationCallBack, CFMessagePortSetName,
  kCFMessagePortBecameInvalidError, kCFMessagePortIsInvalid, kCFMessagePortReceiveTimeout, kCFMessagePortSendTimeout,
  kCFMessagePortSuccess, kCFMessagePortTransportError, kCFMessagePortMaxMessageSize,
  tunstack_CFMessagePortSetInvalidatesWhenClientLeaves,
} from '../../cfsocket/message-port.js';
import type { CFMessagePort, CFMessagePortCallBack, CFMessagePortContext } from '../../cfsocket/message-port.js';
import { dispatch_queue_create } from '../../cfsocket/message-port-dispatch.js';
import { FrameDecoder, encodeFrameHeader } from '../../cfsocket/ipc/frame.js';
import type { Frame } from '../../cfsocket/ipc/frame.js';
import { pathForName } from '../../cfsocket/ipc/registry.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (d: CFData | null): string => (d === null ? '<null>' : dec.decode(d.bytes));
let dir = '';
let seq = 0;
const uniq = (what: string): string => `test.${process.pid}.${what}.${++seq}`;

/** Echo (1), slow echo after `ms` in the payload (2), NULL reply (3), anything else: empty. */
const serverCallout: CFMessagePortCallBack = (_l, msgid, data) => {
  if (msgid === 1) return CFDataCreate(null, data.bytes);
  if (msgid === 2) {
    const ms = Number(text(data));
    return new Promise((r) => setTimeout(() => r(CFDataCreate(null, enc.encode('slow'))), ms));
  }
  return null;
};

interface Server { port: CFMessagePort; loop: CFRunLoop; running: Promise<unknown>; stop(): Promise<void> }

/** A local port served by its own run loop ("another thread"), running until stop(). */
async function serve(name: string, callout: CFMessagePortCallBack = serverCallout): Promise<Server> {
  const port = await CFMessagePortCreateLocal(null, name, callout, null, null);
  expect(port).not.toBeNull();
  const loop = CFRunLoopCreateWithClock();
  const src = CFMessagePortCreateRunLoopSource(null, port!, 0)!;
  CFRunLoopAddSource(loop, src, kCFRunLoopDefaultMode);
  CFRelease(src);
  const running = (async () => { while (CFMessagePortIsValid(port!)) if (await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, loop) === 1) break; })();
  return {
    port: port!, loop, running,
    async stop() { CFMessagePortInvalidate(port!); CFRunLoopStop(loop); await running; },
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfmp-test-'));
  process.env['TUNSTACK_CFMP_DIR'] = dir;
});

afterAll(() => {
  const left = readdirSync(dir);
  rmSync(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe('CFMessagePort in one process', () => {
  it('request/reply between two run loops; NULL data and NULL replies arrive as empty CFData', async () => {
    let seen: number[] = [];
    const s = await serve(uniq('rr'), (_l, msgid, data) => {
      seen.push(CFDataGetLength(data));
      return msgid === 3 ? null : CFDataCreate(null, enc.encode(`re:${text(data)}`));
    });
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(s.port)))!;
    expect(CFMessagePortIsRemote(remote)).toBe(true);
    expect(CFMessagePortIsRemote(s.port)).toBe(false);
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('hi')), 1, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(text(box.value)).toBe('re:hi');
    expect(await CFMessagePortSendRequest(remote, 3, null, 1, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(box.value).not.toBeNull();
    expect(CFDataGetLength(box.value!)).toBe(0);
    expect(seen).toEqual([2, 0]);
    seen = [];
    CFMessagePortInvalidate(remote);
    await s.stop();
  });

  it('names: an in-process duplicate returns the same port with shouldFreeInfo true; missing remote is null; SetName', async () => {
    const name = uniq('dup');
    const released: unknown[] = [];
    const ctx: CFMessagePortContext = { version: 0, info: 'first', retain: (i) => i, release: (i) => { released.push(i); }, copyDescription: null };
    const free = { value: false };
    const a = (await CFMessagePortCreateLocal(null, name, serverCallout, ctx, free))!;
    expect(free.value).toBe(false);
    const free2 = { value: false };
    const b = await CFMessagePortCreateLocal(null, name, serverCallout, { ...ctx, info: 'second' }, free2);
    expect(b).toBe(a);
    expect(free2.value).toBe(true);
    const got: CFMessagePortContext = { version: 0, info: null };
    CFMessagePortGetContext(a, got);
    expect(got.info).toBe('first');
    expect(await CFMessagePortCreateRemote(null, uniq('missing'))).toBeNull();
    expect(await CFMessagePortCreateLocal(null, 'bad\0name', serverCallout, null, null)).toBeNull();
    // Rename: the new name is reachable, the old one is gone.
    const other = uniq('renamed');
    expect(await CFMessagePortSetName(a, other)).toBe(true);
    expect(CFMessagePortGetName(a)).toBe(other);
    expect(await CFMessagePortCreateRemote(null, name)).toBeNull();
    const r = (await CFMessagePortCreateRemote(null, other))!;
    expect(await CFMessagePortSetName(r, uniq('x'))).toBe(false);   // remote
    CFMessagePortInvalidate(r);
    CFRelease(b!);
    CFMessagePortInvalidate(a);
    expect(released).toEqual(['first']);
    expect(existsSync(pathForName(enc.encode(other))!)).toBe(false);
  });

  it('receive timeout when the callout is slow; the late reply is discarded; the port stays usable', async () => {
    const s = await serve(uniq('slow'));
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(s.port)))!;
    const box = { value: null as CFData | null };
    // The callout answers after 400 ms; a 0.1 s receive timeout must give up first (had it waited,
    // the result would be success with the reply in the box).
    expect(await CFMessagePortSendRequest(remote, 2, CFDataCreate(null, enc.encode('400')), 1, 0.1, 'reply', box)).toBe(kCFMessagePortReceiveTimeout);
    expect(box.value).toBeNull();
    // Let the slow callout finish (its late reply is dropped), then the port serves again.
    await new Promise((r) => setTimeout(r, 400));
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('after')), 1, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(text(box.value)).toBe('after');
    CFMessagePortInvalidate(remote);
    await s.stop();
  });

  it('send timeout when the local port never reads; nothing half-sent', async () => {
    const port = (await CFMessagePortCreateLocal(null, uniq('idle'), serverCallout, null, null))!;
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(port)))!;
    const mb = CFDataCreate(null, new Uint8Array(1 << 20));
    let status = kCFMessagePortSuccess;
    let sent = 0;
    for (; sent < 100 && status === kCFMessagePortSuccess; sent++) status = await CFMessagePortSendRequest(remote, 4, mb, 0.05, 0, null, null);
    expect(status).toBe(kCFMessagePortSendTimeout);
    expect(sent).toBeGreaterThan(1);
    expect(sent).toBeLessThan(100);
    expect(CFMessagePortIsValid(remote)).toBe(true);
    CFMessagePortInvalidate(remote);
    CFMessagePortInvalidate(port);
  });

  it('1 MB both ways, 200 requests in flight, one-way sends, oversized data', async () => {
    let oneWay = 0;
    const s = await serve(uniq('big'), (_l, msgid, data) => {
      if (msgid === 4) { oneWay++; return CFDataCreate(null, enc.encode('ignored')); }
      return CFDataCreate(null, data.bytes);
    });
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(s.port)))!;
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, big), 5, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(Buffer.compare(Buffer.from(box.value!.bytes), Buffer.from(big))).toBe(0);

    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const b = { value: null as CFData | null };
      const st = await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode(`n${i}`)), 5, 10, 'reply', b);
      return `${st}:${text(b.value)}`;
    }));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => `0:n${i}`));

    for (let i = 0; i < 10; i++) expect(await CFMessagePortSendRequest(remote, 4, null, 1, 1, null, null)).toBe(kCFMessagePortSuccess);
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('sync')), 1, 5, 'reply', box)).toBe(0);
    expect(oneWay).toBe(10);

    const huge = CFDataCreate(null, new Uint8Array(kCFMessagePortMaxMessageSize + 1));
    expect(await CFMessagePortSendRequest(remote, 1, huge, 1, 1, 'reply', box)).toBe(kCFMessagePortTransportError);
    CFMessagePortInvalidate(remote);
    await s.stop();
  });

  it('invalidation: the remote learns (callback, BecameInvalid for a waiting request, IsInvalid after)', async () => {
    const s = await serve(uniq('inv'));
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(s.port)))!;
    const calls: string[] = [];
    CFMessagePortSetInvalidationCallBack(remote, (ms, info) => { calls.push(`remote ${ms === remote} ${String(info)}`); });
    CFMessagePortSetInvalidationCallBack(s.port, (_ms, info) => { calls.push(`local ${String(info)}`); });
    const waiting = CFMessagePortSendRequest(remote, 2, CFDataCreate(null, enc.encode('300')), 1, 5, 'reply', null);
    await new Promise((r) => setTimeout(r, 50));
    await s.stop();
    expect(await waiting).toBe(kCFMessagePortBecameInvalidError);
    expect(CFMessagePortIsValid(remote)).toBe(false);
    expect(await CFMessagePortSendRequest(remote, 1, null, 1, 1, 'reply', null)).toBe(kCFMessagePortIsInvalid);
    expect(calls).toEqual(['local null', 'remote true null']);
    // Setting a callback on an invalid port calls it at once.
    let now = false;
    CFMessagePortSetInvalidationCallBack(remote, () => { now = true; });
    expect(now).toBe(true);
    // A remote for a dead name is null.
    expect(await CFMessagePortCreateRemote(null, CFMessagePortGetName(s.port))).toBeNull();
  });

  it('a stale name (socket file nobody listens on) is removed and reused; a live one never is', async () => {
    const name = uniq('stale');
    const path = pathForName(enc.encode(name))!;
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(`${path}.tmp`, () => r()));
    linkSync(`${path}.tmp`, path);
    await new Promise<void>((r) => srv.close(() => r()));   // unlinks .tmp; `path` now refuses
    expect(existsSync(path)).toBe(true);
    expect(await CFMessagePortCreateRemote(null, name)).toBeNull();
    const s = await serve(name);
    expect(existsSync(path)).toBe(true);
    // Live: a second registrant (as another process would, bypassing the in-process table) fails.
    const { registerName } = await import('../../cfsocket/ipc/registry.js');
    expect((await registerName(enc.encode(name), { onFrame: () => {}, onClose: () => {} })).kind).toBe('taken');
    const remote = (await CFMessagePortCreateRemote(null, name))!;
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('alive')), 1, 5, 'reply', box)).toBe(0);
    expect(text(box.value)).toBe('alive');
    CFMessagePortInvalidate(remote);
    await s.stop();
    expect(existsSync(path)).toBe(false);
  });

  it("a client's invalidation is never seen by the local port (CF), unless the tunstack extension asks for it", async () => {
    // Default: CF's server never learns of a client's end.
    const apple = await serve(uniq('apple'));
    let appleCalls = 0;
    CFMessagePortSetInvalidationCallBack(apple.port, () => { appleCalls++; });
    const r1 = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(apple.port)))!;
    expect(await CFMessagePortSendRequest(r1, 1, null, 1, 5, 'reply', null)).toBe(kCFMessagePortSuccess);
    CFMessagePortInvalidate(r1);
    await new Promise((r) => setTimeout(r, 100));
    expect(CFMessagePortIsValid(apple.port)).toBe(true);
    expect(appleCalls).toBe(0);
    await apple.stop();
    expect(appleCalls).toBe(1);

    // Extension on: the client's Invalidate invalidates the local port, with its context info.
    const released: unknown[] = [];
    const ctx: CFMessagePortContext = { version: 0, info: 'srv', retain: null, release: (i) => { released.push(i); }, copyDescription: null };
    const port = (await CFMessagePortCreateLocal(null, uniq('both'), serverCallout, ctx, null))!;
    const name = CFMessagePortGetName(port)!;
    const loop = CFRunLoopCreateWithClock();
    CFRunLoopAddSource(loop, CFMessagePortCreateRunLoopSource(null, port, 0)!, kCFRunLoopDefaultMode);
    const running = (async () => { while (CFMessagePortIsValid(port)) if (await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, loop) === 1) break; })();
    expect(tunstack_CFMessagePortSetInvalidatesWhenClientLeaves(port, true)).toBe(true);
    const calls: unknown[] = [];
    CFMessagePortSetInvalidationCallBack(port, (ms, info) => { calls.push(ms === port ? info : 'wrong port'); });
    // Renaming closes the old name's listener ourselves: that is not a client leaving.
    const renamed = uniq('both-renamed');
    expect(await CFMessagePortSetName(port, renamed)).toBe(true);
    expect(CFMessagePortIsValid(port)).toBe(true);
    const r2 = (await CFMessagePortCreateRemote(null, renamed))!;
    expect(tunstack_CFMessagePortSetInvalidatesWhenClientLeaves(r2, true)).toBe(false);   // remote
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(r2, 1, CFDataCreate(null, enc.encode('x')), 1, 5, 'reply', box)).toBe(kCFMessagePortSuccess);
    expect(text(box.value)).toBe('x');
    expect(CFMessagePortIsValid(port)).toBe(true);
    CFMessagePortInvalidate(r2);
    for (let i = 0; i < 200 && CFMessagePortIsValid(port); i++) await new Promise((r) => setTimeout(r, 10));
    expect(CFMessagePortIsValid(port)).toBe(false);
    expect(calls).toEqual(['srv']);
    expect(released).toEqual(['srv']);
    expect(existsSync(pathForName(enc.encode(renamed))!)).toBe(false);
    expect(name).not.toBe(renamed);
    expect(tunstack_CFMessagePortSetInvalidatesWhenClientLeaves(port, true)).toBe(false);   // invalid
    CFRunLoopStop(loop);
    await running;
  });

  it('the context retain/release bracket each callout only when a retain callback exists (CF)', async () => {
    const log: string[] = [];
    const withRetain: CFMessagePortContext = { version: 0, info: 'i', retain: (i) => { log.push('retain'); return `${String(i)}+`; }, release: (i) => { log.push(`release ${String(i)}`); }, copyDescription: null };
    const port = (await CFMessagePortCreateLocal(null, uniq('ctx2'), (_l, _id, _d, info) => { log.push(`callout ${String(info)}`); return null; }, withRetain, null))!;
    const loop = CFRunLoopCreateWithClock();
    CFRunLoopAddSource(loop, CFMessagePortCreateRunLoopSource(null, port, 0)!, kCFRunLoopDefaultMode);
    const running = (async () => { while (CFMessagePortIsValid(port)) if (await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, loop) === 1) break; })();
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(port)))!;
    expect(await CFMessagePortSendRequest(remote, 1, null, 1, 5, 'reply', null)).toBe(kCFMessagePortSuccess);
    // Creation retains once ('i+' stored); the callout gets a second retain's result and releases it.
    expect(log).toEqual(['retain', 'retain', 'callout i++', 'release i++']);
    CFMessagePortInvalidate(remote);
    CFMessagePortInvalidate(port);
    expect(log.at(-1)).toBe('release i+');
    CFRunLoopStop(loop);
    await running;
  });

  it('SetDispatchQueue: requests are served serially without any run loop', async () => {
    const port = (await CFMessagePortCreateLocal(null, uniq('dq'), (_l, _id, d) => CFDataCreate(null, enc.encode(`q:${text(d)}`)), null, null))!;
    CFMessagePortSetDispatchQueue(port, dispatch_queue_create('test', null));
    expect(CFMessagePortCreateRunLoopSource(null, port, 0)).toBeNull();
    const remote = (await CFMessagePortCreateRemote(null, CFMessagePortGetName(port)))!;
    const box = { value: null as CFData | null };
    expect(await CFMessagePortSendRequest(remote, 1, CFDataCreate(null, enc.encode('x')), 1, 5, 'reply', box)).toBe(0);
    expect(text(box.value)).toBe('q:x');
    CFMessagePortInvalidate(remote);
    CFMessagePortInvalidate(port);
  });
});

describe('message-port frames', () => {
  it('decodes frames split at every byte boundary and rejects a bad magic', () => {
    const payload = enc.encode('hello');
    const h = encodeFrameHeader(1, 7, 3, payload);
    const whole = new Uint8Array([...h, ...payload, ...encodeFrameHeader(0, 8, -3, null)]);
    for (let cut = 1; cut < whole.length; cut++) {
      const got: Frame[] = [];
      const d = new FrameDecoder((f) => got.push(f));
      expect(d.push(whole.subarray(0, cut))).toBeNull();
      expect(d.push(whole.subarray(cut))).toBeNull();
      expect(got.map((f) => [f.flags, f.msgid, f.conv, f.payload === null ? null : dec.decode(f.payload)])).toEqual([[1, 7, 3, 'hello'], [0, 8, -3, null]]);
    }
    const bad = whole.slice();
    bad[0] = 0;
    expect(new FrameDecoder(() => {}).push(bad)).toBe('bad-magic');
    const big = encodeFrameHeader(0, 1, 1, null);
    new DataView(big.buffer).setInt32(16, kCFMessagePortMaxMessageSize + 1, true);
    expect(new FrameDecoder(() => {}).push(big)).toBe('bad-length');
    // Hello (flag 2) decodes; hello together with reply-wanted, or unknown flags, do not.
    const hello: Frame[] = [];
    expect(new FrameDecoder((f) => hello.push(f)).push(encodeFrameHeader(2, 0, 1, null))).toBeNull();
    expect(hello.map((f) => f.flags)).toEqual([2]);
    expect(new FrameDecoder(() => {}).push(encodeFrameHeader(3, 0, 1, null))).toBe('bad-flags');
    expect(new FrameDecoder(() => {}).push(encodeFrameHeader(4, 0, 1, null))).toBe('bad-flags');
  });
});
