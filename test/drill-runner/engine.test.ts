// The drill engine on small inline scripts: scripts that must pass, scripts that must fail with
// the right line and message, unsupported features, sysctls, emulations and code events.
import { describe, expect, it } from 'vitest';
import { evalAssert, formatResult, runDrillScript } from '../../tools/drill/index.js';
import type { DrillOptions, DrillResult } from '../../tools/drill/index.js';

const run = (text: string, o: DrillOptions = {}): Promise<DrillResult> => runDrillScript(text, { file: 'inline', ...o });

async function passes(text: string, o: DrillOptions = {}): Promise<DrillResult> {
  const r = await run(text, { ...o, verbose: true });
  expect(r.status, `${formatResult(r)}\n${r.trace.join('\n')}`).toBe('pass');
  return r;
}

// The stack's XNU-profile answers, as these scripts expect them.
const PASSIVE = `
// Passive open, receive 1000 bytes, active close.
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 5) = 0
+0.1  < S 0:0(0) win 65535 <mss 1460,nop,wscale 3,sackOK>
+0    > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7,sackOK,eol>
+0.01 < . 1:1(0) ack 1 win 8192
+0    > . 1:1(0) ack 1 win 4344
+0    accept(3, ..., ...) = 4
+0    < P. 1:1001(1000) ack 1 win 8192
+0    recv(4, ..., 4096, 0) = 1000
*     > . 1:1(0) ack 1001 <...>
+0.1  close(4) = 0
+0    > F. 1:1(0) ack 1001 <...>
+0.01 < F. 1001:1001(0) ack 2 win 8192
+0    > . 2:2(0) ack 1002 <...>
`;

const ACTIVE = `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    fcntl(3, F_GETFL) = 0x6
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) win 65535 <mss 1460,nop,wscale 7,nop,nop,TS val 100 ecr 0,sackOK,eol>
+0.05 < S. 0:0(0) ack 1 win 65535 <mss 1400,nop,wscale 2,sackOK,TS val 700 ecr 100>
+0    > . 1:1(0) ack 1 <nop,nop,TS val 105 ecr 700>
+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0    %{
assert tcpi_state == TCPI_ESTABLISHED
assert tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS) == 3
assert tcpi_snd_mss == 1400 - 12
}%
+0    write(3, ..., 1388) = 1388
+0    > P. 1:1389(1388) ack 1 <nop,nop,TS val 105 ecr 700>
+0.05 < . 1:1(0) ack 1389 win 1000 <nop,nop,TS val 710 ecr 105>
+0    \`sockstat -46 -c -P tcp -p 8080 | grep -c ESTABLISHED\`
`;

describe('scripts that pass', () => {
  it('a passive open, data and close (with the timing of every event)', async () => {
    const r = await passes(PASSIVE);
    expect(r.endTimeUs).toBe(220_000);
    expect(r.trace.some((l) => l.includes('0.210 s') && l.includes('close(4)'))).toBe(true);
  });

  it('an active open with timestamps (TS val/ecr translation), tcp_info asserts and a sockstat count', async () => {
    await passes(ACTIVE);
  });

  it('a blocking connect completes while later events run', async () => {
    await passes(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...0.05 connect(3, ..., ...) = 0
+0    > SEW 0:0(0) <...>
+0.05 < S. 0:0(0) ack 1 win 65535 <mss 1400>
+0    > . 1:1(0) ack 1 <...>
+0    close(3) = 0
+0    > F. 1:1(0) ack 1 <...>
`);
  });

  it('a UDP echo over IPv6', async () => {
    await passes(`
--ip_version=ipv6
0     socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0    bind(3, ..., ...) = 0
+0.1  < udp (10)
+0    recvfrom(3, ..., 100, 0, ..., ...) = 10
+0    sendto(3, ..., 10, 0, ..., ...) = 10
+0    > udp (10)
`);
  });

  it('a UDP echo over IPv4 with read, write and poll', async () => {
    await passes(`
0     socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0    bind(3, ..., ...) = 0
+0    connect(3, ..., ...) = 0
+0    poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0
+0.1  < udp (20)
+0    poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT}], 1, 0) = 1
+0    read(3, ..., 100) = 20
+0    write(3, ..., 20) = 20
+0    > udp (20)
`);
  });

  it('an ICMP port unreachable quoting the SYN resets the connect (SO_ERROR)', async () => {
    await passes(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+0.01 < icmp unreachable port_unreachable [0:0(0)]
+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
`);
  });

  it('virtual time: a 75 s keepinit timeout takes milliseconds', async () => {
    const t0 = performance.now();
    await passes(`
--tolerance_usecs=300000
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...75 connect(3, ..., ...) = -1 ETIMEDOUT
*     > S 0:0(0) <...>
`, { options: { non_fatal: 'packet' } });
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('sysctl lines change the profile: rexmit_initial moves the SYN retransmission', async () => {
    await passes(`
\`sysctl -w net.inet.tcp.rexmit_initial=3000\`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+3    > S 0:0(0) <...>
`);
    const r = await run(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+3    > S 0:0(0) <...>
`, { sysctls: ['net.inet.tcp.rexmit_initial=1000'] });
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/timing error: expected outbound packet at 3\.000 s but happened at 1\.000 s/);
  });

  it('the freebsd profile offers FreeBSD\'s SYN option layout', async () => {
    await passes(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0>
`, { profile: 'freebsd' });
  });

  it('tcpdrop -s drops the connection: the peer sees a RST', async () => {
    await passes(PASSIVE.split('+0    accept')[0] + `
+0    \`tcpdrop -s ESTABLISHED\`
+0    > R. 1:1(0) ack 1 <...>
+0    \`sockstat -4 -c | grep -c ESTABLISHED -eq 0\`
`);
  });
});

describe('scripts that fail, with line and message', () => {
  const fail = async (text: string, line: number, re: RegExp, o: DrillOptions = {}): Promise<DrillResult> => {
    const r = await run(text, o);
    expect(r.status, formatResult(r)).toBe('fail');
    expect(r.line).toBe(line);
    expect(r.message).toMatch(re);
    return r;
  };

  it('ECN: the IP ECN field and the E/W flags of outbound packets are checked', async () => {
    // The SYN-ACK answers the ECN-setup SYN with ECE: expecting none is a flags mismatch.
    const ecnSyn = PASSIVE.replace('+0.1  < S 0:0(0)', '+0.1  < SEW 0:0(0)');
    await fail(ecnSyn, 9, /flags mismatch: expected S\. but got SE\./);
    const ok = ecnSyn.replace('> S. 0:0(0) ack 1 win 65535', '> SE. 0:0(0) ack 1 win 65535');
    await passes(ok);
    // The pure ACK goes out Not-ECT: an [ect0] annotation fails on the ECN field.
    await fail(ok.replace('+0    > . 1:1(0) ack 1 win 4344', '+0    > [ect0] . 1:1(0) ack 1 win 4344'), 11,
      /ECN field mismatch: expected \[ect0\] but got noecn/);
  });

  it('wrong window', async () => {
    const r = await fail(PASSIVE.replace('> S. 0:0(0) ack 1 win 65535', '> S. 0:0(0) ack 1 win 29200'), 9, /window mismatch: expected 29200 but got 65535/);
    expect(r.expected).toContain('win 29200');
    expect(r.actual).toContain('win 65535');
    expect(formatResult(r)).toMatch(/^FAIL inline:9: window mismatch/);
  });

  it('wrong options', async () => {
    await fail(PASSIVE.replace('<mss 1460,nop,wscale 7,sackOK,eol>', '<mss 1460,sackOK,nop,wscale 7>'), 9,
      /TCP options mismatch: expected <mss 1460,sackOK,nop,wscale 7> but got <mss 1460,nop,wscale 7,sackOK,eol>/);
  });

  it('missing packet', async () => {
    await fail(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 5) = 0
+0.1  > S. 0:0(0) ack 1 <...>
`, 5, /expected outbound packet not seen/);
  });

  it('extra packet (the unexpected window update comes first)', async () => {
    await fail(PASSIVE.replace('+0    > . 1:1(0) ack 1 win 4344\n', ''), 14, /ack number mismatch: expected 1001 but got 1/);
  });

  it('wrong errno', async () => {
    await fail(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
`, 3, /syscall expected to be non-blocking blocked/);
    const r = await fail(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    listen(3, 1) = 0
+0    connect(3, ..., ...) = -1 ECONNREFUSED
`, 4, /connect\(\): expected result -1 ECONNREFUSED but got -1 EOPNOTSUPP/);
    expect([r.expected, r.actual]).toEqual(['-1 ECONNREFUSED', '-1 EOPNOTSUPP']);
  });

  it('timing outside the tolerance', async () => {
    await fail(`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > SEW 0:0(0) <...>
+1.2  > S 0:0(0) <...>
`, 6, /timing error: expected outbound packet at 1\.200 s but happened at 1\.000 s/);
  });

  it('a failed assert and a failed command', async () => {
    await fail(ACTIVE.replace('tcpi_snd_mss == 1400 - 12', 'tcpi_snd_mss == 1460'), 14, /assertion failed: tcpi_snd_mss == 1460 \(1388 == 1460/);
    await fail(ACTIVE.replace('grep -c ESTABLISHED', 'grep -c TIME_WAIT'), 19, /command .* failed \(emulated: 0 matching/);
  });

  it('a mapping error is a script error', async () => {
    const r = await run(ACTIVE.replace('TS val 700 ecr 100>', 'TS val 700 ecr 99>'));
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/no outbound TS val 99 to map ecr to/);
  });

  it('a syntax error is an error with line and column', async () => {
    const r = await run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S. 0:1(0) <...>');
    expect([r.status, r.line, r.column]).toEqual(['error', 2, 9]);
    expect(formatResult(r)).toMatch(/^ERROR inline:2:9: syntax error: inconsistent/);
  });
});

describe('unsupported features are reported, not ignored', () => {
  it.each([
    ['--ip_fancy=1\n0 close(3) = -1 EBADF', /option --ip_fancy/],
    ['0 socket(..., SOCK_STREAM, IPPROTO_MPTCP) = 3', /IPPROTO_MPTCP/],
    ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 splice(3, 4) = 0', /syscall splice/],
    ['`ip route add 10.0.0.0/8 dev tun0`', /command/],
    ['`sysctl -w net.inet.tcp.no_such_knob=1`', /unknown sysctl 'net.inet.tcp.no_such_knob'/],
    ['`sysctl -w net.inet.tcp.syncookies=1`', /not implemented/],
    ['0 < S 0:0(0) win 1 <md5 abcd>', /TCP option 'md5'/],
    ['%{ import os }%', /only 'assert/],
  ])('%s', async (text, re) => {
    const r = await run(text);
    expect(r.status, formatResult(r)).toBe('unsupported');
    expect(r.message).toMatch(re);
  });

  it('setting an unimplemented knob to the stack\'s value passes', async () => {
    expect((await run('`sysctl -w net.inet.tcp.syncookies=0`')).status).toBe('pass');
  });
});

describe('assert evaluator', () => {
  it('evaluates | & + - * / ( ) and comparisons', () => {
    expect(evalAssert('(a | 4) & 6 == 2 * 3 - 1 + 1', { a: 2 })).toMatchObject({ ok: true, left: 6, right: 6 });
    expect(evalAssert('a / 2 >= 3', { a: 7 })).toMatchObject({ ok: true });
    expect(evalAssert('b == 1', {})).toMatch(/not available/);
  });
});
