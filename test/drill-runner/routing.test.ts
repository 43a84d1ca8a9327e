// Which connection the script's packets belong to (reference §6) and which ISNs translate them:
// regression tests for three runner bugs the test/drill suite found, and for explicit addressing.
import { describe, expect, it } from 'vitest';
import { formatResult, runDrillScript } from '../../tools/drill/index.js';
import type { DrillResult } from '../../tools/drill/index.js';

async function run(text: string): Promise<DrillResult> {
  return runDrillScript(text, { file: 'inline', verbose: true });
}
async function passes(text: string): Promise<DrillResult> {
  const r = await run(text);
  expect(r.status, `${formatResult(r)}\n${r.trace.join('\n')}`).toBe('pass');
  return r;
}
/** The ports of the stack's packets in the trace, e.g. ['8080 > 40000', ...]. */
const sentPorts = (r: DrillResult): string[] =>
  r.trace.filter((l) => l.includes('(stack sent:')).map((l) => /\((\d+ > \d+)\)\)$/.exec(l)?.[1] ?? '?');

const LISTEN = `
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 5) = 0
`;
const PASSIVE_OPEN = `${LISTEN}
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.01  < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
`;

describe('connect() that fails keeps the connection record', () => {
  it('EALREADY and EISCONN do not lose the stack\'s ISN (the SYN-ACK still acks it)', async () => {
    await passes(`
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+0    connect(3, ..., ...) = -1 EALREADY (Operation already in progress)
+.05  < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win 65535
+0    connect(3, ..., ...) = -1 EISCONN (Socket is already connected)
+0    write(3, ..., 100) = 100
+0    > P. 1:101(100) ack 1 win 65535
+.01  < . 1:1(0) ack 101 win 65535
+0    %{ assert tcpi_state == TCPI_ESTABLISHED }%
`);
  });
});

describe('a later SYN belongs to the current connection (§6)', () => {
  it('passive side: a SYN after the handshake reaches the established connection, not the listener', async () => {
    const r = await passes(`${PASSIVE_OPEN}
+.1   < S 5000:5000(0) win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win 65535
+0    %{ assert tcpi_state == TCPI_ESTABLISHED }%
+0    < P. 1:11(10) ack 1 win 65535
+0    > . 1:1(0) ack 11 win 65535
+0    read(4, ..., 100) = 10
`);
    // Every packet of the stack went to the one connection (no second remote port was invented).
    expect(new Set(sentPorts(r))).toEqual(new Set(['8080 > 40000']));
  });

  it('a SYN to the listener starts a connection only while the listener itself is the socket under test', async () => {
    // A second unprefixed SYN in SYN_RECEIVED goes to the embryonic connection: no second SYN-ACK.
    const r = await run(`${LISTEN}
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.1   < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
`);
    expect(sentPorts(r).every((p) => p === '8080 > 40000'), r.trace.join('\n')).toBe(true);
    // A new socket() makes a new listener the socket under test: its first SYN starts a connection.
    const r2 = await passes(`${LISTEN}
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.1   close(3) = 0
+0    > R. 1:1(0) ack 1 win 0
+0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0    setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(5, ..., ...) = 0
+0    listen(5, 5) = 0
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
`);
    expect(sentPorts(r2).at(-1)).toBe('8080 > 40001');
  });
});

describe('relative numbers use the ISN of the connection\'s first SYN', () => {
  it('active side: a SYN with another ISN in ESTABLISHED gets the challenge ACK ack 1 (RFC 5961 §4.2)', async () => {
    await passes(`
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+.01  < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win 65535
+.1   < S 5000:5000(0) win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win 65535
+.01  < P. 1:11(10) ack 1 win 65535
+0    > . 1:1(0) ack 11 win 65535
+0    read(3, ..., 1000) = 10
`);
  });

  it('the later SYN is sent with exactly the ISN written', async () => {
    // seq 4294967295 relative to ISN 0 is out of window like any fresh ISN: same challenge ACK.
    const r = await passes(`${PASSIVE_OPEN}
+.1   < S 4294967295:4294967295(0) win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win 65535
`);
    expect(r.trace.some((l) => l.includes('. 1:1(0) ack 1 win 65535 <> (8080 > 40000)'))).toBe(true);
  });
});

describe('explicit addressing: addr[caddrN] (§6, §11)', () => {
  it('a SYN from a second peer address starts a second connection on the listener', async () => {
    const r = await passes(`${PASSIVE_OPEN}
+0    < addr[caddr1] > addr[saddr0] S 7000:7000(0) win 65535 <mss 1460>
+0    > addr[saddr0] > addr[caddr1] S. 0:0(0) ack 1 win 65535 <mss 1460>
+.01  < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 5
+0    < P. 1:11(10) ack 1 win 65535
+0    > . 1:1(0) ack 11 win 65535
+0    read(5, ..., 100) = 10
+0    < addr[caddr0] > addr[saddr0] P. 1:21(20) ack 1 win 65535
+0    > addr[saddr0] > addr[caddr0] . 1:1(0) ack 21 win 65535
+0    read(4, ..., 100) = 20
`);
    expect(sentPorts(r).slice(0, 4), r.trace.join('\n')).toEqual(['8080 > 40000', '8080 > 40001', '8080 > 40001', '8080 > 40000']);
  });

  it('the destination address of an addressed outbound packet is checked', async () => {
    const r = await run(`${LISTEN}
+0    < addr[caddr1] > addr[saddr0] S 0:0(0) win 65535 <mss 1460>
+0    > addr[saddr0] > addr[caddr0] S. 0:0(0) ack 1 win 65535 <mss 1460>
`);
    expect(r.status).toBe('fail');
    expect(r.line).toBe(9);
    expect(r.message).toMatch(/destination address mismatch: expected 192\.0\.2\.1 \(addr\[caddr0\]\) but got 192\.0\.2\.2/);
  });

  it('an extra address on the stack\'s side is unsupported', async () => {
    const r = await run(`${LISTEN}
+0    < addr[caddr0] > addr[saddr1] S 0:0(0) win 65535 <mss 1460>
`);
    expect(r.status).toBe('unsupported');
    expect(r.message).toMatch(/extra local address/);
  });
});
