// ECN (RFC 3168) against the Linux kernel's TCP. Everything happens in the test's own namespace:
// `net.ipv4.tcp_ecn` there decides whether Linux initiates (1), only accepts (2) or refuses (0),
// and nftables in the namespace marks CE on ECT packets on the TUN's kernel side.
//  - Linux initiates, the stack accepts (XNU's default ecn_negotiate_in): the stack's tcpcb has
//    TCPCI_OPT_ECN, and Linux's TCP_INFO has TCPI_OPT_ECN and TCPI_OPT_ECN_SEEN (our ECT(0) data
//    reached it); `ss -tni` shows "ecn" too where this ss prints option words at all.
//  - the stack initiates (XNU's default ecn_initiate_out) and Linux accepts with tcp_ecn 1 or 2;
//    with 0 it does not, and the stack sends no ECT.
//  - CE marked on the kernel's packets to the stack's discard service: the stack echoes ECE on its
//    ACKs and Linux counts the acknowledged CE data (TcpExt TCPDeliveredCE).
//  - CE marked on the stack's packets: Linux echoes ECE, the stack reduces (tcps_ecn_recv_ece) and
//    the transfer completes without loss recovery.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bytesBody, HOST4, HOST6, nsPython, nsRun, run, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld, waitFor } from './harness.js';
import type { KernelWorld, RunResult } from './harness.js';
import { StackTcpClient } from './stack-client.js';
import { tcpEcnEnabled } from '../../stack/tcp/index.js';
import { TE_RECV_ECN_ECE } from '../../stack/tcp/tcp-ecn.js';
import { TCPCI_OPT_ECN, tcpConnectionInfo } from '../../stack/tcp/tcp-info.js';
import type { Tcpcb } from '../../stack/tcp/tcp-var.js';

async function setTcpEcn(netns: string, v: 0 | 1 | 2): Promise<void> {
  const r = await nsRun(netns, 'sysctl', ['-w', `net.ipv4.tcp_ecn=${v}`]);
  expect(r.code, r.stderr).toBe(0);
}

/**
 * Checks `ss -tni` in the namespace for the connection with `port` at either end: "ecn" and
 * "ecnseen" when `ecn`, neither otherwise. Some ss/kernel pairs print no option words at all (not
 * even "ts" or "sack" on a connection that has them); then there is nothing to check here and the
 * callers' TCP_INFO check stands alone.
 */
async function expectSs(netns: string, port: number, ecn: boolean): Promise<void> {
  const r = await nsRun(netns, 'ss', ['-tni', `( sport = :${port} or dport = :${port} )`]);
  expect(r.code, r.stderr).toBe(0);
  const out = r.stdout.toString();
  expect(out).toContain(`:${port}`);
  if (!/\b(ts|sack)\b/.test(out)) return;
  if (ecn) {
    expect(out).toMatch(/\becn\b/);
    expect(out).toMatch(/\becnseen\b/);
  } else {
    expect(out).not.toMatch(/\becn\b/);
    expect(out).not.toMatch(/\becnseen\b/);
  }
}

/** Linux's tcpi_options bits (include/uapi/linux/tcp.h). */
const TCPI_OPT_ECN = 8;
const TCPI_OPT_ECN_SEEN = 16;

/** A TcpExt counter of the namespace (/proc/net/netstat as seen from inside it). */
async function tcpExt(netns: string, name: string): Promise<number> {
  const r = await nsRun(netns, 'cat', ['/proc/net/netstat']);
  const lines = r.stdout.toString().split('\n').filter((l) => l.startsWith('TcpExt:'));
  const keys = lines[0]!.split(/\s+/), values = lines[1]!.split(/\s+/);
  const i = keys.indexOf(name);
  expect(i, `${name} in /proc/net/netstat`).toBeGreaterThan(0);
  return Number(values[i]);
}

/** The stack's tcpcb of the connection with local port `lport` and foreign port `fport`, if any. */
function stackTcpcb(w: KernelWorld, lport: number, fport: number): Tcpcb | undefined {
  return w.session.stack.tcp.tcpcbs().find((tp) => tp.t_inpcb.lport === lport && tp.t_inpcb.fport === fport);
}

const ciOptions = (tp: Tcpcb): number => new DataView(tcpConnectionInfo(tp).buffer).getUint32(4, true);

/**
 * Runs a python program; resolves with the first stdout line once it printed one, and the promise
 * of its exit.
 */
function startPython(netns: string, program: string, args: readonly string[], timeoutMs: number):
Promise<{ line: string; exit: Promise<RunResult> }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let seen = false;
    const exit = nsPython(netns, program, args, {
      timeoutMs,
      onStdout: (c) => {
        out += c.toString();
        const nl = out.indexOf('\n');
        if (!seen && nl >= 0) { seen = true; resolve({ line: out.slice(0, nl), exit }); }
      },
    });
    exit.then((r) => { if (!seen) reject(new Error(`no output: ${r.stderr}`)); }, reject);
  });
}

// A kernel client of the stack's echo service: 20 rounds of 10 kB echoed back, then it prints its
// port and tcpi_options and keeps the connection open for `hold` seconds.
const ECHO_CLIENT = `
import socket, sys, time
host, hold = sys.argv[1], float(sys.argv[2])
s = socket.create_connection((host, 7), timeout=15)
chunk = bytes(i % 251 for i in range(10000))
for _ in range(20):
    s.sendall(chunk)
    got = b''
    while len(got) < len(chunk):
        d = s.recv(65536)
        if not d: raise SystemExit('eof')
        got += d
    if got != chunk: raise SystemExit('mismatch')
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print(s.getsockname()[1], info[5], flush=True)
time.sleep(hold)
s.close()
`;

// A kernel client sending `n` bytes to the stack's discard service; prints its tcpi_options.
const DISCARD_CLIENT = `
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, 9), timeout=30)
s.sendall(bytes((i * 7) % 251 for i in range(n)))
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
print(info[5], flush=True)
`;

// A kernel server for the stack's client: reads to EOF, prints 'read N OPTIONS' (tcpi_options), holds the connection for
// `hold` seconds (the test looks at it meanwhile), then answers the SHA-256 of what it got
// followed by `n` pattern bytes (see tcp-client.test.ts).
const SERVER = `
import socket, sys, hashlib, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); srv.settimeout(30)
print('listening', flush=True)
c, a = srv.accept(); c.settimeout(30)
h = hashlib.sha256(); got = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); got += len(d)
info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print('read', got, info[5], flush=True)
time.sleep(hold)
c.sendall(h.hexdigest().encode() + bytes(i % 251 for i in range(n)))
c.close()
`;

/**
 * Starts SERVER; resolves once it listens, with a promise of its tcpi_options once it read
 * everything (-1 if it never did) and of its exit.
 */
function startServer(netns: string, host: string, port: number, answer: number, hold: number):
Promise<{ read: Promise<number>; exit: Promise<RunResult> }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    let readSeen!: (options: number) => void;
    const read = new Promise<number>((r) => { readSeen = r; });
    const exit = nsPython(netns, SERVER, [host, String(port), String(answer), String(hold)], {
      timeoutMs: 45_000,
      onStdout: (c) => {
        out += c.toString();
        if (!listening && out.includes('listening')) { listening = true; resolve({ read, exit }); }
        const m = /read \d+ (\d+)\n/.exec(out);
        if (m) readSeen(Number(m[1]));
      },
    });
    exit.then((r) => { readSeen(-1); if (!listening) reject(new Error(`server did not start: ${r.stderr}`)); }, reject);
  });
}

function expectedDigest(send: number, answer: number): string {
  const sent = createHash('sha256').update(bytesBody(send)).digest('hex');
  return createHash('sha256').update(Buffer.concat([Buffer.from(sent), bytesBody(answer)])).digest('hex');
}

describe.skipIf(SKIP)(`kernel peer: ECN negotiation${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'e', serve: ['echo'] }); });
  afterAll(() => { w?.close(); });

  for (const host of [STACK4, STACK6]) {
    it(`Linux (tcp_ecn=1) initiates to the stack's echo at ${host}: the stack accepts, ECT reaches Linux`, async () => {
      await setTcpEcn(w.netns, 1);
      const st = w.session.stack.tcp.stats;
      const setup0 = st.tcps_ecn_server_setup, success0 = st.tcps_ecn_server_success;
      const c = await startPython(w.netns, ECHO_CLIENT, [host, '2'], 20_000);
      const [port, linuxOpts] = c.line.split(' ').map(Number) as [number, number];
      expect(port, c.line).toBeGreaterThan(0);
      const tp = stackTcpcb(w, 7, port);
      expect(tp).toBeDefined();
      expect(tcpEcnEnabled(tp!)).toBe(true);
      expect(ciOptions(tp!) & TCPCI_OPT_ECN).toBe(TCPCI_OPT_ECN);
      expect(linuxOpts & (TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN)).toBe(TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN);
      await expectSs(w.netns, port, true);
      expect(st.tcps_ecn_server_setup - setup0).toBe(1);
      expect(st.tcps_ecn_server_success - success0).toBe(1);
      expect((await c.exit).code).toBe(0);
    }, 30_000);
  }

  it('Linux with tcp_ecn=2 (its default) does not initiate: no ECN on the accepted connection', async () => {
    await setTcpEcn(w.netns, 2);
    const st = w.session.stack.tcp.stats;
    const setup0 = st.tcps_ecn_server_setup;
    const c = await startPython(w.netns, ECHO_CLIENT, [STACK4, '2'], 20_000);
    const [port, linuxOpts] = c.line.split(' ').map(Number) as [number, number];
    const tp = stackTcpcb(w, 7, port);
    expect(tp).toBeDefined();
    expect(tcpEcnEnabled(tp!)).toBe(false);
    expect(ciOptions(tp!) & TCPCI_OPT_ECN).toBe(0);
    expect(linuxOpts & (TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN)).toBe(0);
    await expectSs(w.netns, port, false);
    expect(st.tcps_ecn_server_setup - setup0).toBe(0);
    expect((await c.exit).code).toBe(0);
  }, 30_000);

  const cases = [[2, HOST4, 5301], [1, HOST6, 5302], [0, HOST4, 5303]] as const;
  for (const [sysctl, host, port] of cases) {
    const accepts = sysctl !== 0;
    it(`the stack initiates to a Linux server at ${host} with tcp_ecn=${sysctl}: ${accepts ? 'negotiated' : 'refused'}`, async () => {
      await setTcpEcn(w.netns, sysctl);
      const st = w.session.stack.tcp.stats;
      const setup0 = st.tcps_ecn_client_setup, success0 = st.tcps_ecn_client_success;
      const notSupported0 = st.tcps_ecn_not_supported;
      const send = 1024 * 1024, answer = 100_000;
      const srv = await startServer(w.netns, host, port, answer, 1);
      const client = new StackTcpClient(w.session.stack, host, port, send);
      const linuxOpts = await srv.read;
      const tp = w.session.stack.tcp.tcpcbs().find((t) => t.t_inpcb.fport === port);
      expect(tp).toBeDefined();
      expect(tcpEcnEnabled(tp!)).toBe(accepts);
      expect(ciOptions(tp!) & TCPCI_OPT_ECN).toBe(accepts ? TCPCI_OPT_ECN : 0);
      expect(linuxOpts & (TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN)).toBe(accepts ? TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN : 0);
      await expectSs(w.netns, port, accepts);
      await Promise.race([client.done, new Promise((r) => setTimeout(r, 20_000))]);
      await srv.exit;
      expect(client.connectErrno).toBe(0);
      expect(client.endErrno).toBe(0);
      expect(client.received).toBe(64 + answer);
      expect(client.digest).toBe(expectedDigest(send, answer));
      expect(st.tcps_ecn_client_setup - setup0).toBe(1);
      expect(st.tcps_ecn_client_success - success0).toBe(accepts ? 1 : 0);
      expect(st.tcps_ecn_not_supported - notSupported0).toBe(accepts ? 0 : 1);
    }, 40_000);
  }
});

const haveNft = await run('nft', ['--version']).then((r) => r.code === 0, () => false);
const SKIP_NFT = SKIP || (!haveNft && process.env.TUNSTACK_REQUIRE_TUN !== '1');
const NOTE = SKIP ? SKIP_NOTE : !haveNft ? ' (skipped: nft (nftables) is not installed)' : '';

/** nftables rules: CE on `permille`/1000 of the ECT(0) packets going `dir` on `dev`. */
function ceRules(dev: string, dir: 'to-stack' | 'from-stack', permille: number): string {
  const [hook, match] = dir === 'to-stack' ? ['output', 'oifname'] : ['input', 'iifname'];
  return `table inet tunstack_ecn {
  chain c { type filter hook ${hook} priority 0;
    ${match} "${dev}" ip ecn ect0 numgen random mod 1000 < ${permille} ip ecn set ce counter;
    ${match} "${dev}" ip6 ecn ect0 numgen random mod 1000 < ${permille} ip6 ecn set ce counter; }
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

/** Packets the rules marked so far. */
async function marked(netns: string): Promise<number> {
  const r = await nsRun(netns, 'nft', ['list', 'ruleset']);
  let n = 0;
  for (const m of r.stdout.toString().matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
  return n;
}

describe.skipIf(SKIP_NFT)(`kernel peer: ECN over a CE-marking path${NOTE}`, () => {
  let w: KernelWorld;
  // Offloads off: every packet the rules see is one wire packet.
  beforeAll(() => { w = startWorld({ tag: 'ec', serve: ['discard'], offload: 'off' }); });
  afterAll(() => { w?.close(); });

  it('CE on the kernel\'s packets: the stack echoes ECE, Linux takes it as delivered CE (8 MB to discard)', async () => {
    await setTcpEcn(w.netns, 1);
    // The kernel's TCP hands its device super-packets that are cut up after the hook: one mark
    // covers up to 64 kB, hence the high rate.
    await setRules(w.netns, ceRules(w.dev, 'to-stack', 100));
    const st = w.session.stack.tcp.stats;
    const ce0 = st.tcps_ecn_recv_ce, ece0 = st.tcps_ecn_sent_ece, connCe0 = st.tcps_ecn_conn_recv_ce;
    const delivered0 = await tcpExt(w.netns, 'TCPDeliveredCE');
    const n = 8 * 1024 * 1024;
    const r = await nsPython(w.netns, DISCARD_CLIENT, [STACK4, String(n)], { timeoutMs: 40_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.toString().trim()) & TCPI_OPT_ECN).toBe(TCPI_OPT_ECN);
    expect(await marked(w.netns)).toBeGreaterThan(0);
    expect(st.tcps_ecn_recv_ce - ce0).toBeGreaterThan(0);
    expect(st.tcps_ecn_sent_ece - ece0).toBeGreaterThan(0);
    expect(await tcpExt(w.netns, 'TCPDeliveredCE') - delivered0).toBeGreaterThan(0);
    // Once closed, the connection's close statistics counted it as one that received CE.
    await waitFor(() => st.tcps_ecn_conn_recv_ce > connCe0, 2000);
    expect(st.tcps_ecn_conn_recv_ce - connCe0).toBe(1);
  }, 60_000);

  it('CE on the stack\'s packets: Linux echoes ECE, the stack reduces and needs no retransmission (8 MB)', async () => {
    await setTcpEcn(w.netns, 2);
    await setRules(w.netns, ceRules(w.dev, 'from-stack', 20));
    const st = w.session.stack.tcp.stats;
    const ece0 = st.tcps_ecn_recv_ece, rexmit0 = st.tcps_sndrexmitpack;
    const send = 8 * 1024 * 1024, answer = 1000;
    const srv = await startServer(w.netns, HOST4, 5311, answer, 0);
    const client = new StackTcpClient(w.session.stack, HOST4, 5311, send);
    const tp = w.session.stack.tcp.tcpcbs().find((t) => t.t_inpcb.fport === 5311);
    expect(tp).toBeDefined();
    await Promise.race([client.done, new Promise((r) => setTimeout(r, 40_000))]);
    await srv.exit;
    expect(client.endErrno).toBe(0);
    expect(client.digest).toBe(expectedDigest(send, answer));
    const marks = await marked(w.netns);
    expect(marks).toBeGreaterThan(10);
    const reductions = st.tcps_ecn_recv_ece - ece0;
    expect(reductions).toBeGreaterThan(0);
    // At most two per CE episode (tcp-ecn.ts: XNU also reduces on the ACK of the recovery point).
    expect(reductions).toBeLessThanOrEqual(2 * marks);
    // Nothing was lost, so nothing needed resending (a tail loss probe at most).
    expect(st.tcps_sndrexmitpack - rexmit0).toBeLessThan(3);
    // What tcps_ecn_conn_recv_ece will count when the connection (now in TIME_WAIT) goes away.
    expect(tp!.ecn_flags & TE_RECV_ECN_ECE).toBe(TE_RECV_ECN_ECE);
  }, 60_000);

  it('no marking left behind', async () => {
    await setRules(w.netns, null);
    expect(await marked(w.netns)).toBe(0);
  });
});
