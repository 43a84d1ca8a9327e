// The README's KPI echo example against the Linux kernel over TUN: the echo server written only
// against kpi/ runs on the TUN stack and a python3 client in the namespace checks 1 MB comes back
// byte for byte (IPv4 and IPv6); the KPI echo client talks to a python3 echo server there.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { HOST4, HOST6, nsPython, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld } from './harness.js';
import type { KernelWorld, RunResult } from './harness.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, MSG_WAITALL, SHUT_WR, SOCK_STREAM, kpiKernel, newMsghdr,
  sock_accept, sock_bind, sock_close, sock_connect, sock_listen, sock_receive, sock_send,
  sock_shutdown, sockaddrAny, sockaddrFromString,
} from '../../kpi/index.js';
import type { Box, KpiKernel, socket_t } from '../../kpi/index.js';

/** The README's echo server: accepts until the listener is closed, one async loop per connection. */
async function echoServer(kernel: KpiKernel, family: 4 | 6, port: number, listener: Box<socket_t | null>): Promise<number> {
  let e = kernel.sock_socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP, null, null, listener);
  if (e === 0) e = sock_bind(listener.value, sockaddrAny(family, port));
  if (e === 0) e = sock_listen(listener.value, 16);
  for (;;) {
    if (e !== 0) return e;
    const child: Box<socket_t | null> = { value: null };
    e = await sock_accept(listener.value, null, 0, 0, null, null, child);
    if (e === 0) void serve(child.value!);
  }
}

async function serve(so: socket_t): Promise<void> {
  const buf = new Uint8Array(65536);
  const n = { value: 0 };
  for (;;) {
    const e = await sock_receive(so, newMsghdr([buf]), 0, n);
    if (e !== 0 || n.value === 0) break;
    if (await sock_send(so, newMsghdr([buf.subarray(0, n.value)]), 0, null) !== 0) break;
  }
  sock_close(so);
}

/** The README's echo client: connect, send, half-close, read the echo back. */
async function echoClient(kernel: KpiKernel, family: 4 | 6, server: Uint8Array, message: Uint8Array): Promise<Uint8Array | number> {
  const so: Box<socket_t | null> = { value: null };
  let e = kernel.sock_socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP, null, null, so);
  if (e === 0) e = await sock_connect(so.value, server, 0);
  if (e === 0) e = await sock_send(so.value, newMsghdr([message]), 0, null);
  if (e === 0) e = sock_shutdown(so.value, SHUT_WR);
  const reply = new Uint8Array(message.length);
  const got = { value: 0 };
  if (e === 0) e = await sock_receive(so.value, newMsghdr([reply]), MSG_WAITALL, got);
  sock_close(so.value);
  return e !== 0 ? e : reply.subarray(0, got.value);
}

const KERNEL_CLIENT = `
import socket, sys, hashlib, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = bytes((i * 7) % 256 for i in range(n))
s = socket.create_connection((host, port), timeout=15)
def writer():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer); t.start()
h = hashlib.sha256(); got = 0
while True:
    d = s.recv(65536)
    if not d: break
    h.update(d); got += len(d)
t.join()
print(got, h.hexdigest() == hashlib.sha256(data).hexdigest(), flush=True)
`;

const KERNEL_ECHO_SERVER = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); srv.settimeout(15)
print('listening', flush=True)
c, _ = srv.accept(); c.settimeout(15)
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
c.close()
`;

describe.skipIf(SKIP)(`kernel peer: the KPI echo example over TUN${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'k', serve: [] }); });
  afterAll(() => { w?.close(); });

  for (const [family, host, port] of [[4, STACK4, 7007], [6, STACK6, 7008]] as const) {
    it(`KPI echo server on the stack, python3 client in the kernel (IPv${family}, 1 MB)`, async () => {
      const kernel = kpiKernel(w.session.stack);
      const listener: Box<socket_t | null> = { value: null };
      const server = echoServer(kernel, family, port, listener);
      const out: RunResult = await nsPython(w.netns, KERNEL_CLIENT, [host, String(port), String(1 << 20)], { timeoutMs: 30_000 });
      sock_close(listener.value);
      expect([out.code, out.stdout.toString().trim(), out.stderr]).toEqual([0, `${1 << 20} True`, '']);
      // The accept loop ends once the listener is closed (its pending accept fails).
      expect(typeof (await Promise.race([server, new Promise((r) => setTimeout(() => r('still running'), 5000))]))).toBe('number');
    });
  }

  for (const [family, host, port] of [[4, HOST4, 7101], [6, HOST6, 7102]] as const) {
    it(`KPI echo client on the stack, python3 echo server in the kernel (IPv${family}, 256 KB)`, async () => {
      let ready!: () => void;
      const listening = new Promise<void>((r) => { ready = r; });
      const srv = nsPython(w.netns, KERNEL_ECHO_SERVER, [host, String(port)], {
        timeoutMs: 30_000, onStdout: (c) => { if (c.toString().includes('listening')) ready(); },
      });
      await Promise.race([listening, srv]);
      const message = new Uint8Array(256 * 1024).map((_, i) => (i * 13) & 0xff);
      const target = sockaddrFromString(family === 4 ? `${host}:${port}` : `[${host}]:${port}`);
      if (target === null) throw new Error('bad test address');
      const reply = await echoClient(kpiKernel(w.session.stack), family, target, message);
      const r = await srv;
      expect(r.code).toBe(0);
      expect(typeof reply).not.toBe('number');
      const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      expect(digest(reply as Uint8Array)).toBe(digest(message));
    });
  }
});
