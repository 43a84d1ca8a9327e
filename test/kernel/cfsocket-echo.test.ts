// A CFSocket echo server on the stack (accept callback, then a data callback per connection that
// echoes with CFSocketSendData), reached by the Linux kernel's TCP from the namespace over TUN.
// The run loop runs on real time in-process while python3 in the namespace connects. The README's
// runnable example (tools/examples/cfsocket-echo.ts) is then reached with nc, as README says.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPPROTO_TCP, PF_INET, SOCK_STREAM, kpiKernel, sockaddrIn } from '../../kpi/index.js';
import {
  CFAllocatorCreateForKernel, CFDataCreate, CFDataGetLength, CFRelease, CFRunLoopAddSource, CFRunLoopCreateWithClock,
  CFRunLoopRunInMode, CFRunLoopStop, CFSocketCreateRunLoopSource, CFSocketCreateWithNative, CFSocketCreateWithSocketSignature,
  CFSocketInvalidate, CFSocketSendData, kCFRunLoopDefaultMode, kCFRunLoopRunStopped, kCFSocketAcceptCallBack,
  kCFSocketDataCallBack,
} from '../../cfsocket/index.js';
import type { CFData, CFSocket } from '../../cfsocket/index.js';
import { cfEchoServer } from '../../tools/examples/cfsocket-echo.js';
import { nsPython, nsRun, SKIP, SKIP_NOTE, STACK4, startWorld } from './harness.js';
import type { KernelWorld } from './harness.js';

const PORT = 7007;

const CLIENT = `
import socket, sys, os
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
data = os.urandom(200000)
s.sendall(data)
got = bytearray()
while len(got) < len(data):
    d = s.recv(65536)
    if not d: break
    got += d
s.close()
print('ok' if bytes(got) == data else 'mismatch %d' % len(got))
`;

describe.skipIf(SKIP)(`kernel peer: CFSocket echo server${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'cf', serve: [] }); });
  afterAll(() => { w?.close(); });

  it('echoes 200 kB for a python3 client in the namespace, and sees its EOF', async () => {
    const alloc = CFAllocatorCreateForKernel(kpiKernel(w.session.stack));
    const rl = CFRunLoopCreateWithClock(); // real time
    const children: CFSocket[] = [];
    let eofs = 0;
    const echo = (s: CFSocket, _t: number, _a: CFData | null, data: CFData | number | null): void => {
      const d = data as CFData;
      if (CFDataGetLength(d) === 0) { eofs++; return; } // CF invalidates the socket after this
      void CFSocketSendData(s, null, d, 10);
    };
    const srv = CFSocketCreateWithSocketSignature(alloc, {
      protocolFamily: PF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, address: CFDataCreate(null, sockaddrIn('0.0.0.0', PORT)),
    }, kCFSocketAcceptCallBack, (_s, _t, _a, data) => {
      const c = CFSocketCreateWithNative(null, data as number, kCFSocketDataCallBack, echo, null)!;
      children.push(c);
      const src = CFSocketCreateRunLoopSource(null, c, 0)!;
      CFRunLoopAddSource(rl, src, kCFRunLoopDefaultMode);
      CFRelease(src);
    }, null)!;
    expect(srv).not.toBeNull();
    const src = CFSocketCreateRunLoopSource(null, srv, 0)!;
    CFRunLoopAddSource(rl, src, kCFRunLoopDefaultMode);
    const running = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, rl);
    try {
      const r = await nsPython(w.netns, CLIENT, [STACK4, String(PORT)], { timeoutMs: 20_000 });
      expect(r.stdout.toString().trim()).toBe('ok');
      const t0 = Date.now();
      while (eofs === 0 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 20));
      expect(eofs).toBe(1);
      expect(children.length).toBe(1);
    } finally {
      CFRunLoopStop(rl);
      expect(await running).toBe(kCFRunLoopRunStopped);
      CFSocketInvalidate(srv);
      for (const c of children) CFSocketInvalidate(c);
    }
  }, 40_000);

  it("the README example's server (tools/examples/cfsocket-echo.ts) echoes for nc from the namespace", async () => {
    const rl = CFRunLoopCreateWithClock();
    const srv = cfEchoServer(CFAllocatorCreateForKernel(kpiKernel(w.session.stack)), rl, PORT + 1)!;
    expect(srv).not.toBeNull();
    const running = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 30, false, rl);
    try {
      const lines = Array.from({ length: 200 }, (_, i) => `line ${i} of the nc test`).join('\n') + '\n';
      const r = await nsRun(w.netns, 'nc', ['-N', STACK4, String(PORT + 1)], { input: lines, timeoutMs: 15_000 });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(lines);
    } finally {
      CFRunLoopStop(rl);
      expect(await running).toBe(kCFRunLoopRunStopped);
      CFSocketInvalidate(srv);
    }
  }, 30_000);
});
