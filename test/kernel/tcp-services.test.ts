// The Linux kernel's TCP as client of the stack's TCP services: echo, discard, chargen, http
// (curl: the index page, 50 MB checked byte for byte, a 50 MB upload hashed by the stack, chunked
// uploads, keep-alive, IPv6), 200 parallel connections, a client that resets mid-transfer, and a
// closed port answered with RST.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesBody, nsPython, nsRun, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld, waitFor } from './harness.js';
import type { KernelWorld } from './harness.js';

const MB = 1024 * 1024;

/** Sends argv[3] random bytes to the echo port from a thread while reading the echo; then half-closes and expects EOF. */
const TCP_ECHO = `
import socket, sys, os, threading, hashlib
host, fam, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if fam == '6' else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(15)
s.connect((host, 7))
data = os.urandom(n)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    d = s.recv(65536)
    if not d: break
    got += d
t.join()
print('ok' if bytes(got) == data else 'mismatch %d/%d' % (len(got), n))
`;

for (const offload of ['on', 'off'] as const) {
  describe.skipIf(SKIP)(`kernel peer: TCP services, offloads ${offload}${SKIP_NOTE}`, () => {
    let w: KernelWorld;
    let dir: string;
    beforeAll(() => {
      w = startWorld({ tag: offload === 'on' ? 't' : 'o', offload });
      dir = mkdtempSync(join(tmpdir(), 'tunstack-kernel-'));
    });
    afterAll(() => {
      w?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('serves the index page to curl', async () => {
      const r = await nsRun(w.netns, 'curl', ['-sS', '-m', '10', `http://${STACK4}/`]);
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toMatch(/<h1>tunstack<\/h1>/);
    });

    it('sends /bytes/50000000 correct byte for byte', async () => {
      const n = 50_000_000;
      const r = await nsRun(w.netns, 'curl', ['-sS', '-m', '60', `http://${STACK4}/bytes/${n}`], { timeoutMs: 70_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.length).toBe(n);
      expect(r.stdout.equals(bytesBody(n))).toBe(true);
      if (offload === 'on') {
        // TSO: the stack handed the kernel super-packets, far fewer than one per MSS.
        expect(w.session.link.stats.txPackets).toBeLessThan(n / 1448 / 4);
      }
    }, 80_000);

    it('hashes a 50 MB upload (PUT with Content-Length)', async () => {
      const file = join(dir, 'upload.bin');
      const data = randomBytes(50 * MB);
      writeFileSync(file, data);
      const rx0 = w.session.link.stats.rxPackets;
      const r = await nsRun(w.netns, 'curl', ['-sS', '-m', '60', '-T', file, `http://${STACK4}/sha256`], { timeoutMs: 70_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe(`${createHash('sha256').update(data).digest('hex')}\n`);
      if (offload === 'on') {
        // GSO from the kernel: the stack took super-packets, far fewer than one per MSS.
        expect(w.session.link.stats.rxPackets - rx0).toBeLessThan(data.length / 1448 / 4);
      }
    }, 80_000);

    it('hashes a chunked POST, keeps the connection alive, and speaks IPv6', async () => {
      const file = join(dir, 'chunked.bin');
      const data = randomBytes(3 * MB + 17);
      writeFileSync(file, data);
      const post = await nsRun(w.netns, 'curl', ['-sS', '-m', '20', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `http://${STACK4}/sha256`]);
      expect(post.stdout.toString()).toBe(`${createHash('sha256').update(data).digest('hex')}\n`);
      const two = await nsRun(w.netns, 'curl', ['-sSv', '-m', '10', `http://${STACK4}/bytes/10`, `http://${STACK4}/bytes/5`]);
      expect([...two.stdout]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
      expect(two.stderr).toMatch(/Re-using existing connection|Reusing existing connection/);
      const v6 = await nsRun(w.netns, 'curl', ['-sS', '-g', '-m', '10', `http://[${STACK6}]/bytes/100000`]);
      expect(v6.stdout.equals(bytesBody(100_000))).toBe(true);
      const missing = await nsRun(w.netns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '10', `http://${STACK4}/nope`]);
      expect(missing.stdout.toString()).toBe('404');
    }, 40_000);

    it('echoes 4 MB over IPv4 and 1 MB over IPv6 and closes after the client half-closes', async () => {
      const [a, b] = await Promise.all([
        nsPython(w.netns, TCP_ECHO, [STACK4, '4', String(4 * MB)], { timeoutMs: 30_000 }),
        nsPython(w.netns, TCP_ECHO, [STACK6, '6', String(MB)], { timeoutMs: 30_000 }),
      ]);
      expect(a.stdout.toString().trim() || a.stderr).toBe('ok');
      expect(b.stdout.toString().trim() || b.stderr).toBe('ok');
    }, 40_000);

    it('discards 8 MB and closes after the client FIN', async () => {
      const r = await nsPython(w.netns, `
import socket
s = socket.create_connection(('${STACK4}', 9), timeout=15)
s.sendall(b'\\x55' * ${8 * MB})
s.shutdown(socket.SHUT_WR)
print('eof' if s.recv(10) == b'' else 'data')
`, [], { timeoutMs: 30_000 });
      expect(r.stdout.toString().trim() || r.stderr).toBe('eof');
    }, 40_000);

    it('generates the RFC 864 pattern until the client closes', async () => {
      const r = await nsPython(w.netns, `
import socket
s = socket.create_connection(('${STACK4}', 19), timeout=10)
want = 200000
got = bytearray()
while len(got) < want:
    d = s.recv(65536)
    if not d: break
    got += d
s.close()
lines = bytes(got[:want]).split(b'\\r\\n')[:-1]
ok = all(line == bytes(32 + (k + i) % 95 for i in range(72)) for k, line in enumerate(lines))
print('ok %d' % len(lines) if ok and len(lines) > 2000 else 'bad')
`, [], { timeoutMs: 20_000 });
      expect(r.stdout.toString().trim() || r.stderr).toMatch(/^ok \d+$/);
      expect(await waitFor(() => w.session.services.tcpServers.find((s) => s.name === 'chargen')!.conns.size === 0, 5000)).toBe(true);
    }, 30_000);

    it('accepts 200 parallel connections', async () => {
      const r = await nsPython(w.netns, `
import asyncio, os
async def one(i):
    r, w = await asyncio.open_connection('${STACK4}', 7)
    msg = os.urandom(1000)
    w.write(msg)
    await w.drain()
    got = await r.readexactly(1000)
    w.close()
    await w.wait_closed()
    return got == msg
async def main():
    res = await asyncio.wait_for(asyncio.gather(*[one(i) for i in range(200)], return_exceptions=True), 20)
    print(sum(1 for x in res if x is True))
asyncio.run(main())
`, [], { timeoutMs: 30_000 });
      expect(r.stdout.toString().trim() || r.stderr).toBe('200');
      expect(await waitFor(() => w.session.services.connections === 0, 5000)).toBe(true);
    }, 40_000);

    it('survives a client that resets mid-transfer, and serves the next one', async () => {
      const http = w.session.services.tcpServers.find((s) => s.name === 'http')!;
      const r = await nsPython(w.netns, `
import socket, struct
s = socket.create_connection(('${STACK4}', 80), timeout=10)
s.sendall(b'GET /bytes/1000000000 HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n')
got = 0
while got < 3000000:
    d = s.recv(65536)
    if not d: break
    got += len(d)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
print(got >= 3000000)
`, [], { timeoutMs: 20_000 });
      expect(r.stdout.toString().trim() || r.stderr).toBe('True');
      expect(await waitFor(() => http.conns.size === 0, 5000)).toBe(true);
      const next = await nsRun(w.netns, 'curl', ['-sS', '-m', '10', `http://${STACK4}/bytes/1000`]);
      expect(next.stdout.equals(bytesBody(1000))).toBe(true);
    }, 30_000);

    it('refuses a closed port with RST (IPv4 and IPv6)', async () => {
      const prog = `
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect((sys.argv[1], 5555)); print('connected')
except ConnectionRefusedError:
    print('refused')
except socket.timeout:
    print('timeout')
`;
      const [a, b] = await Promise.all([nsPython(w.netns, prog, [STACK4]), nsPython(w.netns, prog, [STACK6])]);
      expect(a.stdout.toString().trim()).toBe('refused');
      expect(b.stdout.toString().trim()).toBe('refused');
    });
  });
}
