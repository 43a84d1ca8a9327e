// CFSocket over the KPI on the simulated network (virtual time): every function and callback
// type, Apple's disable/re-enable rules, EOF as an empty CFData, background connects, write
// callbacks when the send buffer drains, invalidation with and without kCFSocketCloseOnInvalidate.

import { describe, expect, it } from 'vitest';
import {
  ECONNREFUSED, EWOULDBLOCK, FIONBIO, IPPROTO_TCP, IPPROTO_UDP, MSG_DONTWAIT, PF_INET, PF_INET6, SOCK_DGRAM, SOCK_STREAM,
  SOL_SOCKET, SO_NWRITE, SO_SNDBUF, SO_SNDTIMEO, getsockoptInt, getsockoptTimeval, newMsghdr, readSockaddr, setsockoptInt, sock_gettype, sock_ioctl,
  sock_receive, sock_send, sockaddrIn,
} from '../../kpi/index.js';
import type { Box, socket_t } from '../../kpi/index.js';
import {
  CFAllocatorGetDefault, CFAllocatorSetDefault, CFDataCreate, CFDataGetBytePtr, CFDataGetLength, CFGetRetainCount, CFGetTypeID,
  CFRelease, CFRunLoopAddSource, CFRunLoopContainsSource, CFRunLoopRemoveSource, CFRunLoopRunInMode, CFRunLoopSourceIsSignalled, CFRunLoopSourceIsValid,
  CFSocketConnectToAddress, CFSocketCopyAddress, CFSocketCopyPeerAddress, CFSocketCreate, CFSocketCreateConnectedToSocketSignature,
  CFSocketCreateRunLoopSource, CFSocketCreateWithNative, CFSocketCreateWithSocketSignature, CFSocketDisableCallBacks,
  CFSocketEnableCallBacks, CFSocketGetContext, CFSocketGetNative, CFSocketGetSocketFlags, CFSocketGetTypeID, CFSocketInvalidate,
  CFSocketIsValid, CFSocketNativeHandleClose, CFSocketNativeHandleCreate, CFSocketNativeHandleGetSocket, CFSocketSendData,
  CFSocketSetAddress, CFSocketSetSocketFlags, kCFAllocatorSystemDefault, kCFRunLoopDefaultMode, kCFRunLoopRunFinished,
  kCFRunLoopRunHandledSource, kCFRunLoopRunTimedOut, kCFSocketAcceptCallBack, kCFSocketAutomaticallyReenableReadCallBack,
  kCFSocketAutomaticallyReenableWriteCallBack, kCFSocketCloseOnInvalidate, kCFSocketConnectCallBack, kCFSocketDataCallBack,
  kCFSocketError, kCFSocketLeaveErrors, kCFSocketNoCallBack, kCFSocketReadCallBack, kCFSocketSuccess, kCFSocketTimeout,
  kCFSocketWriteCallBack,
} from '../../cfsocket/index.js';
import type { CFData, CFSocket, CFSocketCallBack } from '../../cfsocket/index.js';
import { addrB, cfWorld, nowMs, run } from './cf-harness.js';
import type { CFWorld } from './cf-harness.js';

interface Ev { type: number; address: string | null; data: string | number | null }
const text = (d: CFData): string => new TextDecoder().decode(CFDataGetBytePtr(d));
const fmtAddr = (d: CFData | null): string | null => {
  if (d === null) return null;
  if (CFDataGetLength(d) === 0) return '';
  const r = readSockaddr(CFDataGetBytePtr(d).slice());
  return r.ok ? `${r.value.addr.toString()}:${r.value.port}` : '?';
};
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const cfd = (s: string | Uint8Array): CFData => CFDataCreate(null, typeof s === 'string' ? bytes(s) : s);

/** A recording callout; `also` runs after recording. */
function recorder(log: Ev[], also?: CFSocketCallBack): CFSocketCallBack {
  return (s, type, address, data, info) => {
    log.push({ type, address: fmtAddr(address), data: data === null ? null : typeof data === 'number' ? data : text(data) });
    return also?.(s, type, address, data, info);
  };
}

function schedule(cw: CFWorld, s: CFSocket, order = 0): void {
  const src = CFSocketCreateRunLoopSource(null, s, order)!;
  CFRunLoopAddSource(cw.rl, src, kCFRunLoopDefaultMode);
  CFRelease(src);
}

/** Runs cw.rl in the default mode for `seconds` of virtual time. */
function pump(cw: CFWorld, seconds: number, returnAfter = false): Promise<number> {
  return run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, seconds, returnAfter, cw.rl));
}

/** A TCP listener on b:port with the accept callback. */
function server(cw: CFWorld, port: number, log: Ev[], also?: CFSocketCallBack): CFSocket {
  const s = CFSocketCreateWithSocketSignature(cw.ab, { protocolFamily: PF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, address: cfd(sockaddrIn('0.0.0.0', port)) },
    kCFSocketAcceptCallBack, recorder(log, also), null)!;
  expect(s).not.toBeNull();
  return s;
}

describe('creation, identity, flags, context', () => {
  it('CFSocketCreate defaults (PF_INET, stream, TCP; UDP for datagrams) and the default flags', () => {
    const cw = cfWorld();
    const t = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketReadCallBack, null)!;
    const gt = (s: CFSocket): number[] => {
      const d = { value: 0 }, ty = { value: 0 }, p = { value: 0 };
      sock_gettype(CFSocketNativeHandleGetSocket(CFSocketGetNative(s)), d, ty, p);
      return [d.value, ty.value, p.value];
    };
    expect(gt(t)).toEqual([PF_INET, SOCK_STREAM, IPPROTO_TCP]);
    const u = CFSocketCreate(cw.aa, PF_INET, SOCK_DGRAM, -1, kCFSocketDataCallBack, null)!;
    expect(gt(u)).toEqual([PF_INET, SOCK_DGRAM, IPPROTO_UDP]);
    expect(CFSocketCreate(cw.aa, PF_INET6, 0, 0, 0, null)).toBeNull(); // no defaults for PF_INET6
    expect(CFGetTypeID(t)).toBe(CFSocketGetTypeID());
    expect(CFSocketGetSocketFlags(t)).toBe(129);
    expect(CFSocketGetSocketFlags(u)).toBe(131);
    const a = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketAcceptCallBack | kCFSocketWriteCallBack, null)!;
    expect(CFSocketGetSocketFlags(a)).toBe(130);
    const n = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketNoCallBack, null)!;
    expect(CFSocketGetSocketFlags(n)).toBe(128);
    CFSocketSetSocketFlags(n, kCFSocketLeaveErrors);
    expect(CFSocketGetSocketFlags(n)).toBe(kCFSocketLeaveErrors);
    for (const s of [t, u, a, n]) { CFSocketInvalidate(s); CFRelease(s); }
  });

  it('the allocator picks the kernel; the default allocator (settable) is used for NULL', () => {
    const cw = cfWorld();
    expect(CFSocketCreate(null, 0, 0, 0, 0, null)).toBeNull(); // default: bound to no kernel
    CFAllocatorSetDefault(cw.ab);
    try {
      const s = CFSocketCreate(null, 0, 0, 0, 0, null)!;
      expect(CFSocketNativeHandleGetSocket(CFSocketGetNative(s))!.kernel).toBe(cw.kb);
      CFSocketInvalidate(s); CFRelease(s);
    } finally {
      CFAllocatorSetDefault(kCFAllocatorSystemDefault);
    }
    expect(CFAllocatorGetDefault()).toBe(kCFAllocatorSystemDefault);
  });

  it('CreateWithNative returns the same object for the same handle and ignores the new arguments', () => {
    const cw = cfWorld();
    const events: string[] = [];
    const ctx = { version: 0, info: 'first', retain: (i: unknown) => { events.push(`retain ${String(i)}`); return i; }, release: (i: unknown) => { events.push(`release ${String(i)}`); } };
    const s = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketReadCallBack, null, ctx)!;
    const fd = CFSocketGetNative(s);
    expect(fd).toBeGreaterThanOrEqual(3);
    expect(CFGetRetainCount(s)).toBe(2); // the caller's and the native-handle table's
    const again = CFSocketCreateWithNative(null, fd, kCFSocketDataCallBack, () => {}, { ...ctx, info: 'second' });
    expect(again).toBe(s);
    expect(CFGetRetainCount(s)).toBe(3);
    expect(CFSocketGetSocketFlags(s)).toBe(129);
    expect(CFSocketGetContext(s).info).toBe('first');
    expect(events).toEqual(['retain first']);
    CFRelease(again!);
    const invalid = CFSocketCreateWithNative(null, -1, 0, null)!;
    expect(CFSocketIsValid(invalid)).toBe(false);
    expect(CFSocketGetNative(invalid)).toBe(-1);
    expect(CFSocketCreateWithNative(null, 999, 0, null)).toBeNull();
    CFSocketInvalidate(s);
    expect(events).toEqual(['retain first', 'release first']);
    expect(CFSocketGetContext(s)).toEqual({ version: 0, info: null, retain: null, release: null, copyDescription: null });
    expect(CFSocketGetNative(s)).toBe(-1);
    expect(CFSocketCreateRunLoopSource(null, s, 0)).toBeNull();
    expect(CFGetRetainCount(s)).toBe(1);
    CFRelease(s);
  });

  it('CreateRunLoopSource returns the one source (its first order) until invalidated', () => {
    const cw = cfWorld();
    const s = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketReadCallBack, null)!;
    const a = CFSocketCreateRunLoopSource(null, s, 5)!, b = CFSocketCreateRunLoopSource(null, s, 9)!;
    expect(a).toBe(b);
    expect(a._order).toBe(5);
    CFRunLoopAddSource(cw.rl, a, kCFRunLoopDefaultMode);
    CFSocketInvalidate(s);
    expect(CFRunLoopSourceIsValid(a)).toBe(false);
    expect(CFRunLoopContainsSource(cw.rl, a, kCFRunLoopDefaultMode)).toBe(false);
    CFRelease(a); CFRelease(b); CFRelease(s);
  });
});

describe('TCP: accept, data, connect callbacks', () => {
  it('echo: accept callback (handle + peer), data chunks with the peer address, EOF as an empty CFData', async () => {
    const cw = cfWorld();
    const slog: Ev[] = [], clog: Ev[] = [], childLog: Ev[] = [];
    let child: CFSocket | null = null;
    const srv = server(cw, 7000, slog, (_s, _t, _a, data) => {
      child = CFSocketCreateWithNative(null, data as number, kCFSocketDataCallBack, recorder(childLog, (s, _t2, _a2, d) => {
        if (CFDataGetLength(d as CFData) > 0) expect(CFSocketSendData(s, null, d as CFData, 5)).toBe(kCFSocketSuccess);
      }), null);
      schedule(cw, child!);
    });
    schedule(cw, srv);
    const cl = CFSocketCreate(cw.aa, PF_INET, SOCK_STREAM, IPPROTO_TCP, kCFSocketConnectCallBack | kCFSocketDataCallBack, recorder(clog))!;
    schedule(cw, cl);
    expect(CFSocketConnectToAddress(cl, cfd(addrB(cw, 7000)), -1)).toBe(kCFSocketSuccess);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(clog).toEqual([{ type: kCFSocketConnectCallBack, address: null, data: null }]);
    expect(slog.length).toBe(1);
    expect(slog[0]!.type).toBe(kCFSocketAcceptCallBack);
    expect(typeof slog[0]!.data).toBe('number');
    const local = fmtAddr(CFSocketCopyAddress(cl));
    expect(slog[0]!.address).toBe(local);
    expect(local!.startsWith('198.18.0.1:')).toBe(true);
    expect(fmtAddr(CFSocketCopyPeerAddress(cl))).toBe('198.18.0.2:7000');
    expect(CFSocketSendData(cl, null, cfd('hello'), 5)).toBe(kCFSocketSuccess);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(childLog).toEqual([{ type: kCFSocketDataCallBack, address: local, data: 'hello' }]);
    expect(clog.slice(1)).toEqual([{ type: kCFSocketDataCallBack, address: '198.18.0.2:7000', data: 'hello' }]);
    // The client closes: the child gets an empty CFData and CF invalidates it.
    CFSocketInvalidate(cl);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(childLog.slice(1)).toEqual([{ type: kCFSocketDataCallBack, address: local, data: '' }]);
    expect(CFSocketIsValid(child!)).toBe(false);
    CFSocketInvalidate(srv);
    // Nothing left in the mode: the run finishes.
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunFinished);
  });

  it('large data arrives in chunks of at most 32768 bytes, one per callout (HandledSource each)', async () => {
    const cw = cfWorld();
    const sizes: number[] = [];
    let child: CFSocket | null = null;
    const srv = server(cw, 7001, [], (_s, _t, _a, data) => {
      child = CFSocketCreateWithNative(null, data as number, kCFSocketDataCallBack, (_c, _ty, _ad, d) => { sizes.push(CFDataGetLength(d as CFData)); }, null);
      schedule(cw, child!);
    });
    schedule(cw, srv);
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketNoCallBack, null)!;
    expect(await run(cw, CFSocketConnectToAddress(cl, cfd(addrB(cw, 7001)), 10))).toBe(kCFSocketSuccess);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut); // accept
    expect(await run(cw, CFSocketSendData(cl, null, cfd(new Uint8Array(100_000)), 10))).toBe(kCFSocketSuccess);
    while (sizes.reduce((a, b) => a + b, 0) < 100_000) {
      expect(await pump(cw, 5, true)).toBe(kCFRunLoopRunHandledSource);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32768);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100_000);
    CFSocketInvalidate(cl); CFSocketInvalidate(srv); CFSocketInvalidate(child!);
  });

  it('background connect failure: connect callback with ECONNREFUSED, no write callback', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketConnectCallBack | kCFSocketWriteCallBack, recorder(log))!;
    schedule(cw, cl);
    expect(CFSocketConnectToAddress(cl, cfd(addrB(cw, 7999)), -1)).toBe(kCFSocketSuccess);
    expect(await pump(cw, 2)).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual([{ type: kCFSocketConnectCallBack, address: null, data: ECONNREFUSED }]);
    CFSocketInvalidate(cl);
  });

  it('kCFSocketLeaveErrors makes a failed connect look successful', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketConnectCallBack, recorder(log))!;
    CFSocketSetSocketFlags(cl, CFSocketGetSocketFlags(cl) | kCFSocketLeaveErrors);
    schedule(cw, cl);
    expect(CFSocketConnectToAddress(cl, cfd(addrB(cw, 7999)), -1)).toBe(kCFSocketSuccess);
    expect(await pump(cw, 2)).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual([{ type: kCFSocketConnectCallBack, address: null, data: null }]);
    CFSocketInvalidate(cl);
  });

  it('background connect success with Connect|Write: connect then write in the same perform; write not re-enabled', async () => {
    const cw = cfWorld();
    const srv = server(cw, 7002, []);
    schedule(cw, srv);
    const log: Ev[] = [];
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketConnectCallBack | kCFSocketWriteCallBack, recorder(log))!;
    schedule(cw, cl);
    expect(CFSocketConnectToAddress(cl, cfd(addrB(cw, 7002)), -1)).toBe(kCFSocketSuccess);
    const rl = cw.rl;
    // returnAfterSourceHandled: both callouts come from one perform (one handled source).
    let r = await pump(cw, 2, true);
    while (r === kCFRunLoopRunHandledSource && log.length === 0) r = await pump(cw, 2, true);
    expect(log.map((e) => e.type)).toEqual([kCFSocketConnectCallBack, kCFSocketWriteCallBack]);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.length).toBe(2); // the write callback is not automatically re-enabled
    CFSocketEnableCallBacks(cl, kCFSocketWriteCallBack);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.map((e) => e.type)).toEqual([kCFSocketConnectCallBack, kCFSocketWriteCallBack, kCFSocketWriteCallBack]);
    CFSocketEnableCallBacks(cl, kCFSocketConnectCallBack); // connect fires at most once
    CFSocketSetSocketFlags(cl, CFSocketGetSocketFlags(cl) | kCFSocketAutomaticallyReenableWriteCallBack);
    CFSocketEnableCallBacks(cl, kCFSocketWriteCallBack);
    for (let i = 0; i < 3; i++) expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1, true, rl))).toBe(kCFRunLoopRunHandledSource);
    const writes = log.filter((e) => e.type === kCFSocketWriteCallBack).length;
    expect(writes).toBe(5); // auto-re-enabled: again on every pass while writable
    expect(log.filter((e) => e.type === kCFSocketConnectCallBack).length).toBe(1);
    CFSocketInvalidate(cl); CFSocketInvalidate(srv);
  });

  it('write callback when the send buffer drains', async () => {
    const cw = cfWorld();
    let child: CFSocket | null = null;
    const srv = server(cw, 7003, [], (_s, _t, _a, data) => {
      child = CFSocketCreateWithNative(null, data as number, kCFSocketNoCallBack, null, null);
    });
    schedule(cw, srv);
    const log: Ev[] = [];
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketWriteCallBack, recorder(log))!;
    const so = CFSocketNativeHandleGetSocket(CFSocketGetNative(cl))!;
    expect(setsockoptInt(so, SOL_SOCKET, SO_SNDBUF, 8192)).toBe(0);
    expect(await run(cw, CFSocketConnectToAddress(cl, cfd(addrB(cw, 7003)), 5))).toBe(kCFSocketSuccess);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut); // accept
    expect(child).not.toBeNull();
    schedule(cw, cl);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut);
    expect(log.length).toBe(1); // the initial write callback (scheduling enables everything)
    // Fill the send buffer without blocking (the simulation does not run meanwhile).
    expect(sock_ioctl(so, FIONBIO, { value: 1 })).toBe(0);
    let e = 0;
    for (let i = 0; i < 100 && e === 0; i++) e = sock_send(so, newMsghdr([new Uint8Array(4096)]), 0, { value: 0 }) as number;
    expect(e).toBe(EWOULDBLOCK);
    const nwrite = (): number => { const v = { value: -1 }; getsockoptInt(so, SOL_SOCKET, SO_NWRITE, v); return v.value; };
    expect(nwrite()).toBe(8192);
    CFSocketEnableCallBacks(cl, kCFSocketWriteCallBack);
    await new Promise<void>((r) => { setImmediate(r); }); // a manager pass while the buffer is full
    const src = CFSocketCreateRunLoopSource(null, cl, 0)!;
    expect(CFRunLoopSourceIsSignalled(src)).toBe(false);
    CFRelease(src);
    expect(await pump(cw, 5, true)).toBe(kCFRunLoopRunHandledSource); // the network runs: ACKs free space
    expect(log.length).toBe(2);
    expect(nwrite()).toBeLessThan(8192 - 2048);
    expect(child).not.toBeNull();
    CFSocketInvalidate(cl); CFSocketInvalidate(srv); CFSocketInvalidate(child!);
  });
});

describe('read callback, disable and re-enable', () => {
  async function pair(cw: CFWorld, port: number, clientTypes: number, log: Ev[]): Promise<{ cl: CFSocket; peer: socket_t; srv: CFSocket }> {
    let peerFd = -1;
    const srv = server(cw, port, [], (_s, _t, _a, data) => { peerFd = data as number; });
    schedule(cw, srv);
    const cl = CFSocketCreate(cw.aa, 0, 0, 0, clientTypes, recorder(log))!;
    expect(await run(cw, CFSocketConnectToAddress(cl, cfd(addrB(cw, port)), 5))).toBe(kCFSocketSuccess);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut);
    expect(peerFd).toBeGreaterThan(0);
    CFRunLoopRemoveSource(cw.rl, CFSocketCreateRunLoopSource(null, srv, 0)!, kCFRunLoopDefaultMode);
    return { cl, peer: CFSocketNativeHandleGetSocket(peerFd)!, srv };
  }
  const send = (so: socket_t, s: string): unknown => sock_send(so, newMsghdr([bytes(s)]), 0, { value: 0 });

  it('read callback: nothing is read for you; auto-re-enabled while the data stays unread', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const { cl, peer, srv } = await pair(cw, 7010, kCFSocketReadCallBack, log);
    schedule(cw, cl);
    send(peer, 'abc');
    expect(await pump(cw, 1, true)).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual([{ type: kCFSocketReadCallBack, address: null, data: null }]);
    expect(await pump(cw, 1, true)).toBe(kCFRunLoopRunHandledSource); // level-triggered: again
    const so = CFSocketNativeHandleGetSocket(CFSocketGetNative(cl))!;
    const n = { value: 0 };
    expect(sock_receive(so, newMsghdr([new Uint8Array(10)]), MSG_DONTWAIT, n)).toBe(0);
    expect(n.value).toBe(3);
    expect(await pump(cw, 1, true)).toBe(kCFRunLoopRunTimedOut); // drained: no more callbacks
    // Without auto-re-enable: one callback, then silence until CFSocketEnableCallBacks.
    CFSocketSetSocketFlags(cl, CFSocketGetSocketFlags(cl) & ~kCFSocketAutomaticallyReenableReadCallBack);
    send(peer, 'def');
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.length).toBe(3);
    CFSocketEnableCallBacks(cl, kCFSocketReadCallBack);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.length).toBe(4);
    CFSocketInvalidate(cl); CFSocketInvalidate(srv);
  });

  it('DisableCallBacks stops data callbacks (also from inside the callout) until EnableCallBacks', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const { cl, peer, srv } = await pair(cw, 7011, kCFSocketDataCallBack, log);
    CFSocketDisableCallBacks(cl, kCFSocketDataCallBack); // not scheduled yet: lost
    schedule(cw, cl); // scheduling enables every type
    send(peer, 'one');
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.map((e) => e.data)).toEqual(['one']);
    CFSocketDisableCallBacks(cl, kCFSocketDataCallBack);
    send(peer, 'two');
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.map((e) => e.data)).toEqual(['one']);
    CFSocketEnableCallBacks(cl, kCFSocketDataCallBack);
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    expect(log.map((e) => e.data)).toEqual(['one', 'two']);
    CFSocketInvalidate(cl); CFSocketInvalidate(srv);
  });

  it('callbacks run only while the loop runs a mode the source is in', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const { cl, peer, srv } = await pair(cw, 7012, kCFSocketDataCallBack, log);
    const src = CFSocketCreateRunLoopSource(null, cl, 0)!;
    CFRunLoopAddSource(cw.rl, src, 'private');
    send(peer, 'x');
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunFinished); // default mode: empty
    expect(log).toEqual([]);
    expect(await run(cw, CFRunLoopRunInMode('private', 1, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log.map((e) => e.data)).toEqual(['x']);
    CFSocketInvalidate(cl); CFSocketInvalidate(srv);
  });
});

describe('invalidation, addresses, UDP, synchronous connects', () => {
  it('invalidate closes the native socket (peer sees EOF) unless kCFSocketCloseOnInvalidate is cleared', async () => {
    const cw = cfWorld();
    const srvLog: Ev[] = [], childLog: Ev[] = [];
    const srv = server(cw, 7020, srvLog, (_s, _t, _a, data) => {
      const c = CFSocketCreateWithNative(null, data as number, kCFSocketDataCallBack, recorder(childLog), null)!;
      schedule(cw, c);
    });
    schedule(cw, srv);
    const keep = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketNoCallBack, null)!;
    const drop = CFSocketCreate(cw.aa, 0, 0, 0, kCFSocketNoCallBack, null)!;
    for (const s of [keep, drop]) expect(await run(cw, CFSocketConnectToAddress(s, cfd(addrB(cw, 7020)), 5))).toBe(kCFSocketSuccess);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut);
    expect(srvLog.length).toBe(2);
    const keepFd = CFSocketGetNative(keep), dropFd = CFSocketGetNative(drop);
    CFSocketSetSocketFlags(keep, CFSocketGetSocketFlags(keep) & ~kCFSocketCloseOnInvalidate);
    CFSocketInvalidate(keep);
    CFSocketInvalidate(drop);
    expect(CFSocketNativeHandleGetSocket(dropFd)).toBeNull();
    const so = CFSocketNativeHandleGetSocket(keepFd)!;
    expect(so).not.toBeNull();
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut);
    expect(childLog.map((e) => e.data)).toEqual(['']); // one EOF: the closed one
    expect(sock_send(so, newMsghdr([bytes('still open')]), 0, { value: 0 })).toBe(0);
    expect(await pump(cw, 0.5)).toBe(kCFRunLoopRunTimedOut);
    expect(childLog.map((e) => e.data)).toEqual(['', 'still open']);
    // A new CFSocket for the handle is a new object now.
    const again = CFSocketCreateWithNative(null, keepFd, kCFSocketNoCallBack, null)!;
    expect(again).not.toBe(keep);
    CFSocketInvalidate(again);
    expect(CFSocketNativeHandleGetSocket(keepFd)).toBeNull();
    CFSocketInvalidate(srv);
  });

  it('SetAddress binds and listens; CopyAddress caches the first answer; errors are -1', () => {
    const cw = cfWorld();
    const s = CFSocketCreate(cw.ab, 0, 0, 0, kCFSocketAcceptCallBack, null)!;
    expect(fmtAddr(CFSocketCopyAddress(s))).toBe('0.0.0.0:0'); // cached forever
    expect(CFSocketSetAddress(s, cfd(sockaddrIn('198.18.0.2', 7030)))).toBe(kCFSocketSuccess);
    expect(fmtAddr(CFSocketCopyAddress(s))).toBe('0.0.0.0:0');
    expect(CFSocketCopyPeerAddress(s)).toBeNull();
    const t = CFSocketCreate(cw.ab, 0, 0, 0, kCFSocketAcceptCallBack, null)!;
    expect(CFSocketSetAddress(t, cfd(sockaddrIn('198.18.0.2', 7030)))).toBe(kCFSocketError); // EADDRINUSE
    expect(CFSocketSetAddress(t, cfd(new Uint8Array(0)))).toBe(kCFSocketError);
    expect(CFSocketSetAddress(t, cfd(sockaddrIn('198.18.0.2', 7031)))).toBe(kCFSocketSuccess);
    expect(fmtAddr(CFSocketCopyAddress(t))).toBe('198.18.0.2:7031');
    const u = CFSocketCreate(cw.ab, PF_INET, SOCK_DGRAM, 0, kCFSocketDataCallBack, null)!;
    expect(CFSocketSetAddress(u, cfd(sockaddrIn('0.0.0.0', 7032)))).toBe(kCFSocketSuccess); // listen fails, ignored
    expect(CFSocketCreateWithSocketSignature(cw.ab, { protocolFamily: PF_INET, socketType: SOCK_STREAM, protocol: 0, address: cfd(sockaddrIn('198.18.0.2', 7031)) }, 0, null)).toBeNull();
    for (const x of [s, t, u]) CFSocketInvalidate(x);
    expect(CFSocketSetAddress(s, cfd(sockaddrIn('0.0.0.0', 7033)))).toBe(kCFSocketError);
  });

  it('UDP: data callback with the source address; SendData with an address; SO_SNDTIMEO set', async () => {
    const cw = cfWorld();
    const log: Ev[] = [];
    const u = CFSocketCreateWithSocketSignature(cw.ab, { protocolFamily: PF_INET, socketType: SOCK_DGRAM, protocol: IPPROTO_UDP, address: cfd(sockaddrIn('0.0.0.0', 7040)) },
      kCFSocketDataCallBack, recorder(log, (s, _t, addr, d) => { CFSocketSendData(s, addr, d as CFData, 1); }))!;
    schedule(cw, u);
    const c = CFSocketCreate(cw.aa, PF_INET, SOCK_DGRAM, 0, kCFSocketDataCallBack, recorder(log))!;
    schedule(cw, c);
    expect(CFSocketSendData(c, cfd(addrB(cw, 7040)), cfd('ping'), 2.5)).toBe(kCFSocketSuccess);
    const tv = { value: { tv_sec: 0, tv_usec: 0 } };
    getsockoptTimeval(CFSocketNativeHandleGetSocket(CFSocketGetNative(c)), SO_SNDTIMEO, tv);
    expect(tv.value).toEqual({ tv_sec: 2, tv_usec: 500000 });
    expect(await pump(cw, 1)).toBe(kCFRunLoopRunTimedOut);
    const caddr = `198.18.0.1:${fmtAddr(CFSocketCopyAddress(c))!.split(':')[1]}`;
    expect(log).toEqual([
      { type: kCFSocketDataCallBack, address: caddr, data: 'ping' },
      { type: kCFSocketDataCallBack, address: '198.18.0.2:7040', data: 'ping' },
    ]);
    expect(CFSocketSendData(c, cfd(addrB(cw, 7040)), cfd(''), 1)).toBe(kCFSocketError); // nothing sent
    CFSocketInvalidate(u);
    expect(CFSocketSendData(u, null, cfd('x'), 1)).toBe(kCFSocketError);
    CFSocketInvalidate(c);
  });

  it('synchronous connects: success, refusal, timeout; CreateConnectedToSocketSignature', async () => {
    const cw = cfWorld();
    const srv = server(cw, 7050, []);
    const ok = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    expect(await run(cw, CFSocketConnectToAddress(ok, cfd(addrB(cw, 7050)), 5))).toBe(kCFSocketSuccess);
    const refused = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    expect(await run(cw, CFSocketConnectToAddress(refused, cfd(addrB(cw, 7051)), 5))).toBe(kCFSocketError);
    const blocking = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    expect(await run(cw, CFSocketConnectToAddress(blocking, cfd(addrB(cw, 7050)), 0))).toBe(kCFSocketSuccess);
    // Nobody answers at 198.18.0.99: the attempt times out (and is not cancelled).
    const lost = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    const t0 = nowMs(cw);
    expect(await run(cw, CFSocketConnectToAddress(lost, cfd(sockaddrIn('198.18.0.99', 7050)), 1.5))).toBe(kCFSocketTimeout);
    expect(nowMs(cw) - t0).toBe(1500);
    const sig = { protocolFamily: PF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, address: cfd(addrB(cw, 7050)) };
    const conn = await run(cw, CFSocketCreateConnectedToSocketSignature(cw.aa, sig, 0, null, null, 5));
    expect(conn).not.toBeNull();
    expect(fmtAddr(CFSocketCopyPeerAddress(conn!))).toBe('198.18.0.2:7050');
    expect(await run(cw, CFSocketCreateConnectedToSocketSignature(cw.aa, { ...sig, address: cfd(addrB(cw, 7052)) }, 0, null, null, 5))).toBeNull();
    const bg = CFSocketCreateConnectedToSocketSignature(cw.aa, sig, 0, null, null, -1);
    expect(bg).not.toBeNull();
    expect(bg instanceof Promise).toBe(false);
    for (const s of [srv, ok, refused, blocking, lost, conn!, bg as CFSocket]) CFSocketInvalidate(s);
  });

  it('native handles: lowest free number, close frees it', () => {
    const cw = cfWorld();
    const s = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    const fd = CFSocketGetNative(s);
    CFSocketInvalidate(s);
    const t = CFSocketCreate(cw.aa, 0, 0, 0, 0, null)!;
    expect(CFSocketGetNative(t)).toBe(fd);
    const so = CFSocketNativeHandleGetSocket(fd)!;
    expect(CFSocketNativeHandleCreate(so)).toBe(fd);
    CFSocketInvalidate(t);
    expect(CFSocketNativeHandleClose(fd)).toBeUndefined();
  });
});
