// The stack against the Linux kernel's TCP over an impaired path. The kernel has no netem here,
// so nftables in the test's own namespace does the damage, on the TUN's kernel side only:
//  - random loss both ways (`numgen random`), so both TCPs recover with SACK, fast retransmit,
//    our tail loss probes and RTOs, against a real peer;
//  - a PMTU black hole: packets from the stack above 1300 bytes vanish without an ICMP error,
//    which only our black-hole detection (XNU's) gets a transfer through.
// Offloads are off so that every packet the rules see is one wire packet.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bytesBody, HOST4, HOST6, nsPython, nsRun, run, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld } from './harness.js';
import type { KernelWorld, RunResult } from './harness.js';
import { StackTcpClient } from './stack-client.js';

/** nftables rules for the namespace: drop `permille`/1000 of the packets each way on `dev`. */
function lossRules(dev: string, permille: number): string {
  return `table inet tunstack_impair {
  chain in { type filter hook input priority 0; iifname "${dev}" numgen random mod 1000 < ${permille} counter drop; }
  chain out { type filter hook output priority 0; oifname "${dev}" numgen random mod 1000 < ${permille} counter drop; }
}
`;
}

/** Packets from the stack longer than `bytes` (IP length) are dropped silently: a black hole. */
function blackHoleRules(dev: string, bytes: number): string {
  return `table inet tunstack_impair {
  chain in { type filter hook input priority 0; iifname "${dev}" meta length > ${bytes} counter drop; }
}
`;
}

async function setRules(netns: string, rules: string | null): Promise<void> {
  const flush = await nsRun(netns, 'nft', ['flush', 'ruleset']);
  expect(flush.code, flush.stderr).toBe(0);
  if (rules === null) return;
  const r = await nsRun(netns, 'nft', ['-f', '-'], { input: rules });
  expect(r.code, r.stderr).toBe(0);
}

/** Packets the rules dropped so far (sum of every counter in the namespace's ruleset). */
async function dropped(netns: string): Promise<number> {
  const r = await nsRun(netns, 'nft', ['list', 'ruleset']);
  let n = 0;
  for (const m of r.stdout.toString().matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
  return n;
}

// A kernel client for the stack's echo service: sends `n` bytes, reads them back, prints a digest
// of each direction.
const ECHO_CLIENT = `
import socket, sys, hashlib, threading
host, n = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, 7), timeout=40)
data = bytes((i * 7) % 251 for i in range(n))
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
h = hashlib.sha256(); got = 0
while True:
    d = s.recv(65536)
    if not d: break
    h.update(d); got += len(d)
t.join(); s.close()
print(got, hashlib.sha256(data).hexdigest() == h.hexdigest(), flush=True)
`;

// A kernel server for the stack's client (see tcp-client.test.ts): reads to EOF, answers the
// SHA-256 of what it got followed by `n` pattern bytes.
const SERVER = `
import socket, sys, hashlib
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); srv.settimeout(40)
print('listening', flush=True)
c, a = srv.accept(); c.settimeout(40)
h = hashlib.sha256(); got = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); got += len(d)
c.sendall(h.hexdigest().encode() + bytes(i % 251 for i in range(n)))
c.close()
print(got, flush=True)
`;

function startServer(netns: string, host: string, port: number, n: number): Promise<{ exit: Promise<RunResult> }> {
  return new Promise((resolve, reject) => {
    let seen = false;
    const exit = nsPython(netns, SERVER, [host, String(port), String(n)], {
      timeoutMs: 50_000,
      onStdout: (c) => { if (!seen && c.toString().includes('listening')) { seen = true; resolve({ exit }); } },
    });
    exit.then((r) => { if (!seen) reject(new Error(`server did not start: ${r.stderr}`)); }, reject);
  });
}

/** The stack sends `send` bytes to a kernel server and checks the digest and the `answer` bytes back. */
async function clientTransfer(w: KernelWorld, host: string, port: number, send: number, answer: number): Promise<void> {
  const srv = await startServer(w.netns, host, port, answer);
  const client = new StackTcpClient(w.session.stack, host, port, send);
  await Promise.race([client.done, new Promise((r) => setTimeout(r, 45_000))]);
  const out = await srv.exit;
  expect(client.connectErrno).toBe(0);
  expect(client.endErrno).toBe(0);
  expect(Number(out.stdout.toString().trim().split('\n').pop())).toBe(send);
  const sentDigest = createHash('sha256').update(bytesBody(send)).digest('hex');
  const expected = createHash('sha256').update(Buffer.concat([Buffer.from(sentDigest), bytesBody(answer)])).digest('hex');
  expect(client.received).toBe(64 + answer);
  expect(client.digest).toBe(expected);
}

const haveNft = await run('nft', ['--version']).then((r) => r.code === 0, () => false);
const SKIP_NFT = SKIP || (!haveNft && process.env.TUNSTACK_REQUIRE_TUN !== '1');
const NOTE = SKIP ? SKIP_NOTE : !haveNft ? ' (skipped: nft (nftables) is not installed)' : '';

describe.skipIf(SKIP_NFT)(`kernel peer over an impaired path${NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'imp', serve: ['echo', 'http'], offload: 'off' }); });
  afterAll(() => { w?.close(); });

  it('3% loss each way: echo of 2 MB (IPv4) and an 8 MB HTTP download (IPv6) arrive intact', async () => {
    await setRules(w.netns, lossRules(w.dev, 30));
    const st = w.session.stack.tcp.stats;
    const rexmit0 = st.tcps_sndrexmitpack;
    const echo = await nsPython(w.netns, ECHO_CLIENT, [STACK4, String(2 * 1024 * 1024)], { timeoutMs: 45_000 });
    expect(echo.stdout.toString().trim(), echo.stderr).toBe(`${2 * 1024 * 1024} True`);
    const n = 8_000_000;
    const curl = await nsRun(w.netns, 'curl', ['-sS', '-g', '--max-time', '45', `http://[${STACK6}]/bytes/${n}`], { timeoutMs: 50_000 });
    expect(curl.code, curl.stderr).toBe(0);
    expect(curl.stdout.length).toBe(n);
    expect(createHash('sha256').update(curl.stdout).digest('hex')).toBe(createHash('sha256').update(bytesBody(n)).digest('hex'));
    // The path really lost packets both ways, and the stack really retransmitted.
    expect(await dropped(w.netns)).toBeGreaterThan(50);
    expect(st.tcps_sndrexmitpack - rexmit0).toBeGreaterThan(10);
  }, 120_000);

  it('3% loss each way: the stack as client sends 4 MB to a kernel server and reads 1 MB back (IPv4)', async () => {
    await setRules(w.netns, lossRules(w.dev, 30));
    await clientTransfer(w, HOST4, 5101, 4 * 1024 * 1024, 1024 * 1024);
  }, 60_000);

  it('a PMTU black hole (no ICMP) towards the kernel: black-hole detection gets 1 MB through, IPv4 and IPv6', async () => {
    await setRules(w.netns, blackHoleRules(w.dev, 1300));
    const st = w.session.stack.tcp.stats;
    const before = st.tcps_pmtud_blackhole_activated;
    await clientTransfer(w, HOST4, 5102, 1024 * 1024, 1000);
    await clientTransfer(w, HOST6, 5103, 1024 * 1024, 1000);
    expect(st.tcps_pmtud_blackhole_activated - before).toBe(2);
    expect(await dropped(w.netns)).toBeGreaterThan(0);
  }, 120_000);

  it('no impairment left behind: a clean echo works after the rules are flushed', async () => {
    await setRules(w.netns, null);
    const echo = await nsPython(w.netns, ECHO_CLIENT, [STACK4, '100000'], { timeoutMs: 20_000 });
    expect(echo.stdout.toString().trim()).toBe('100000 True');
  }, 30_000);
});
