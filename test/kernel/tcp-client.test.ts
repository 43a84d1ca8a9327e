// The stack as TCP client of the Linux kernel: a python3 server in the namespace takes 8 MB from
// the stack, answers its SHA-256 and then 4 MB of its own (IPv4 and IPv6); a connect to a closed
// kernel port fails with ECONNREFUSED (the kernel's RST).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bytesBody, HOST4, HOST6, nsPython, SKIP, SKIP_NOTE, startWorld } from './harness.js';
import type { KernelWorld, RunResult } from './harness.js';
import { StackTcpClient } from './stack-client.js';
import { ECONNREFUSED } from '../../stack/errno.js';

const SERVER = `
import socket, sys, hashlib
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(1)
srv.settimeout(15)
print('listening', flush=True)
c, a = srv.accept()
c.settimeout(15)
h = hashlib.sha256()
got = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d)
    got += len(d)
c.sendall(h.hexdigest().encode() + bytes(i % 251 for i in range(n)))
c.close()
print(got, a[0], flush=True)
`;

/** Starts the server; resolves once it listens, with the promise of its exit. */
function startServer(netns: string, host: string, port: number, n: number): Promise<{ exit: Promise<RunResult> }> {
  return new Promise((resolve, reject) => {
    let seen = false;
    const exit = nsPython(netns, SERVER, [host, String(port), String(n)], {
      timeoutMs: 30_000,
      onStdout: (c) => {
        if (!seen && c.toString().includes('listening')) { seen = true; resolve({ exit }); }
      },
    });
    exit.then((r) => { if (!seen) reject(new Error(`server did not start: ${r.stderr}`)); }, reject);
  });
}

describe.skipIf(SKIP)(`kernel peer: the stack as TCP client${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'c', serve: [] }); });
  afterAll(() => { w?.close(); });

  for (const [host, port] of [[HOST4, 5001], [HOST6, 5002]] as const) {
    it(`sends 8 MB to a kernel server at ${host} and reads its 4 MB answer`, async () => {
      const send = 8 * 1024 * 1024, answer = 4 * 1024 * 1024;
      const srv = await startServer(w.netns, host, port, answer);
      const client = new StackTcpClient(w.session.stack, host, port, send);
      await Promise.race([client.done, new Promise((r) => setTimeout(r, 25_000))]);
      const out = await srv.exit;
      expect(client.connectErrno).toBe(0);
      expect(client.endErrno).toBe(0);
      const [got, peer] = out.stdout.toString().trim().split('\n').pop()!.split(' ');
      expect(Number(got)).toBe(send);
      expect(peer).toBe(host === HOST4 ? '198.18.0.2' : '2001:db8::2');
      const sentDigest = createHash('sha256').update(bytesBody(send)).digest('hex');
      const expected = createHash('sha256').update(Buffer.concat([Buffer.from(sentDigest), bytesBody(answer)])).digest('hex');
      expect(client.received).toBe(64 + answer);
      expect(client.digest).toBe(expected);
    }, 40_000);
  }

  it('gets ECONNREFUSED from a closed kernel port (IPv4 and IPv6)', async () => {
    const a = new StackTcpClient(w.session.stack, HOST4, 5999, 0);
    const b = new StackTcpClient(w.session.stack, HOST6, 5999, 0);
    await Promise.race([Promise.all([a.done, b.done]), new Promise((r) => setTimeout(r, 10_000))]);
    expect(a.connectErrno).toBe(ECONNREFUSED);
    expect(b.connectErrno).toBe(ECONNREFUSED);
  });
});
