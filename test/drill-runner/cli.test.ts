// `tunstack drill`: exit codes (0 all pass, 1 failure, 2 usage, 3 unsupported only) and output.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../tools/cli-args.js';
import { runDrillCommand } from '../../tools/drill-command.js';

const dir = mkdtempSync(join(tmpdir(), 'tunstack-drill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p; };

// ECN off, so the same first SYN (no ECE|CWR) goes out under both profiles.
const PASS = file('pass.pkt', `\`sysctl -w net.inet.tcp.ecn.enable=0\`
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) <...>
+1    > S 0:0(0) <...>
`);
const FAIL = file('fail.pkt', `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 5) = 0
+0    close(3) = -1 EBADF
`);
const UNSUP = file('unsup.pkt', '`iptables -A INPUT -j DROP`\n');
const FREEBSD = file('freebsd.pkt', `
#ifdef FreeBSD
\`sysctl -w net.inet.tcp.msl=30000\`
#endif
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0>
`);

async function drill(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runDrillCommand(argv, (l) => lines.push(l));
  return { code, out: lines.join('\n') };
}

describe('tunstack drill', () => {
  it('exit 0 when every script passes', async () => {
    const r = await drill(PASS, FREEBSD, '--profile', 'freebsd');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PASS .*pass\.pkt/);
    expect(r.out).toMatch(/2 script\(s\): 2 passed/);
  });

  it('exit 1 on a failure, with line, expected and actual', async () => {
    const r = await drill(PASS, FAIL, UNSUP);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL .*fail\.pkt:5: close\(\): expected result -1 EBADF but got 0/);
    expect(r.out).toMatch(/expected: -1 EBADF/);
    expect(r.out).toMatch(/actual: {3}0/);
  });

  it('exit 3 when scripts are only unsupported (besides passes)', async () => {
    const r = await drill(PASS, UNSUP);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/UNSUPPORTED .*unsup\.pkt:1: unsupported: command/);
  });

  it('usage errors (exit 2 in the CLI) for no file, bad options and bad values', async () => {
    await expect(drill()).rejects.toThrow(UsageError);
    await expect(drill('--nope', PASS)).rejects.toThrow(/unknown option --nope/);
    await expect(drill('--profile', 'linux', PASS)).rejects.toThrow(/--profile/);
    await expect(drill('--sysctl', 'novalue', PASS)).rejects.toThrow(/name=value/);
  });

  it('--verbose prints every event with its virtual time; --sysctl and CLI packetdrill options apply', async () => {
    const r = await drill('--verbose', PASS);
    expect(r.out).toMatch(/1\.000 s {2}\+1 > S 0:0\(0\) <\.\.\.>/);
    const s = await drill('--sysctl', 'net.inet.tcp.rexmit_initial=2000', PASS);
    expect(s.code).toBe(1);
    expect(s.out).toMatch(/pass\.pkt:6: expected outbound packet not seen \(expected at 1\.000 s/);
    expect((await drill('--sysctl', 'net.inet.tcp.rexmit_initial=2000', '--tolerance_usecs', '1000000', PASS)).code).toBe(0);
    expect((await drill('--sysctl', 'net.inet.tcp.bogus=1', PASS)).code).toBe(3);
  });

  it('a missing file is an error (exit 1)', async () => {
    const r = await drill(join(dir, 'none.pkt'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ERROR .*none\.pkt: cannot read/);
  });
});
