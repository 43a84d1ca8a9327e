// The drill parser: every construct of the reference (/work/shared/reference/packetdrill.md) and
// syntax errors with line:column.
import { describe, expect, it } from 'vitest';
import { DrillSyntaxError, parseScript, preprocess } from '../../tools/drill/index.js';
import type { PacketEvent, SyscallEvent, TcpSpec } from '../../tools/drill/index.js';

const one = (text: string) => parseScript(text).events[0]!;
const syscall = (text: string) => one(text).action as SyscallEvent;
const packet = (text: string) => one(text).action as PacketEvent;
const tcp = (text: string) => packet(text).spec as TcpSpec;

function syntaxError(text: string, defines: string[] = []): DrillSyntaxError {
  try {
    parseScript(text, new Set(defines));
  } catch (e) {
    if (e instanceof DrillSyntaxError) return e;
    throw e;
  }
  throw new Error('no syntax error');
}

describe('times', () => {
  it('absolute, relative, ranges, * and blocking end times', () => {
    const s = parseScript(`
0.250 close(3) = 0
+0.1 close(3) = 0
.5 close(3) = 0
1. close(3) = 0
0.1~0.2 > . 1:1(0) ack 1
+0.1~+0.3 > . 1:1(0) ack 1
* > . 1:1(0) ack 1
0.1...0.3 accept(3, ..., ...) = 4
+0...+0.2 read(4, ..., 10) = 10
`);
    expect(s.events.map((e) => e.time)).toEqual([
      { kind: 'abs', us: 250_000 }, { kind: 'rel', us: 100_000 }, { kind: 'abs', us: 500_000 }, { kind: 'abs', us: 1_000_000 },
      { kind: 'range', rel: false, lo: 100_000, hi: 200_000 }, { kind: 'range', rel: true, lo: 100_000, hi: 300_000 },
      { kind: 'any' }, { kind: 'abs', us: 100_000 }, { kind: 'rel', us: 0 },
    ]);
    expect((s.events[7]!.action as SyscallEvent).end).toEqual({ rel: false, us: 300_000 });
    expect((s.events[8]!.action as SyscallEvent).end).toEqual({ rel: true, us: 200_000 });
  });

  it('* and ranges only on outbound packets', () => {
    expect(syntaxError('* close(3) = 0').reason).toMatch(/only on outbound packets/);
    expect(syntaxError('0.1~0.2 < . 1:1(0) ack 1 win 10').reason).toMatch(/only on outbound packets/);
  });
});

describe('packets', () => {
  it('TCP: flags, sequence forms, ack, win, urg and every option kind', () => {
    const t = tcp('0 < SEW 0:0(0) win 65535 <mss 1460,nop,wscale 7,sackOK,TS val 5 ecr 0,eol>');
    expect(t.flags).toBe(0x02 | 0x40 | 0x80);
    expect(t.start).toBe(0);
    expect(t.options).toEqual([
      { kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'wscale', value: 7 }, { kind: 'sackOK' },
      { kind: 'ts', val: 5, ecr: 0, ecrAbsolute: false }, { kind: 'eol' },
    ]);
    const d = tcp('0 > P. 1:1001(1000) ack 1 win 257 urg 3 <nop,nop,sack 1:2 5:9>');
    expect([d.flags, d.start, d.len, d.ack, d.win, d.urg]).toEqual([0x18, 1, 1000, 1, 257, 3]);
    expect(d.options).toEqual([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[1, 2], [5, 9]] }]);
    expect(tcp('0 > . ...(1000) ack 1 <...>')).toMatchObject({ start: null, len: 1000, options: null });
    expect(tcp('0 < R 5:5(0)! win 0')).toMatchObject({ absolute: true, flags: 0x04, ack: null });
    expect(tcp('0 < - 1:1(0) win 0').flags).toBe(0);
    expect(tcp('0 > . 1:1(0) ack 1 <TS val ... ecr 7!>').options).toEqual([{ kind: 'ts', val: null, ecr: 7, ecrAbsolute: true }]);
    expect(tcp('0 > F. 1:1(0) ack 1').options).toEqual([]);
  });

  it('ip_info and ECN markings', () => {
    expect(packet('0 > [ect0] S 0:0(0) <...>').ip).toEqual({ ecn: 'ect0' });
    for (const e of ['noecn', 'ect1', 'ce', 'ect01'] as const) expect(packet(`0 < [${e}] . 1:1(0) ack 1 win 1`).ip).toEqual({ ecn: e });
    expect(() => packet('0 < [ect2] . 1:1(0) ack 1 win 1')).toThrow(/\[noecn\], \[ect0\]/);
    // ECN's TCP flags: E (ECE), W (CWR), in any order with the others.
    expect(['SEW', 'SE.', 'E.', 'PW.', 'W.E'].map((f) => tcp(`0 > ${f} 1:1(0) ack 1`).flags)).toEqual([0xc2, 0x52, 0x50, 0x98, 0xd0]);
    expect(packet('0 < (tos 0x10) (ttl 3) S 0:0(0) win 1').ip).toEqual({ tos: 0x10, ttl: 3 });
    expect(packet('0 < (class 0x2) (hlim 9) (flowlabel 0x12345) . 1:1(0) ack 1 win 1').ip).toEqual({ tclass: 2, hlim: 9, flowlabel: 0x12345 });
  });

  it('UDP and ICMP', () => {
    expect(packet('0 < udp (100)').spec).toEqual({ proto: 'udp', len: 100 });
    expect(packet('0 < icmp unreachable frag_needed mtu 1200 [1:1001(1000)]').spec).toEqual({
      proto: 'icmp', type: 'unreachable', code: 'frag_needed', mtu: 1200, quoted: { proto: 'tcp', start: 1, len: 1000 },
    });
    expect(packet('0 < icmp unreachable port_unreachable [udp (10)]').spec).toMatchObject({ quoted: { proto: 'udp', len: 10 } });
    expect(packet('0 < icmp echo_request').spec).toMatchObject({ type: 'echo_request', code: null, quoted: null });
  });

  it('Fast Open: FO and FOEXP with an optional hex cookie (packetdrill FAST_OPEN / FAST_OPEN_EXP)', () => {
    expect(tcp('0 < S 0:0(0) win 1 <mss 1000,FO,nop>').options).toEqual([
      { kind: 'mss', value: 1000 }, { kind: 'fo', cookie: new Uint8Array(0), exp: false }, { kind: 'nop' },
    ]);
    expect(tcp('0 > S. 0:0(0) ack 1 <sackOK,FO 0123456789abcdef,eol>').options![1]).toEqual(
      { kind: 'fo', cookie: Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]), exp: false });
    // A cookie of digits only (an INTEGER to packetdrill's lexer) and the experimental option.
    expect(tcp('0 < S 0:0(0) win 1 <FOEXP 12345678>').options).toEqual(
      [{ kind: 'fo', cookie: Uint8Array.from([0x12, 0x34, 0x56, 0x78]), exp: true }]);
    expect(tcp('0 < S 0:0(0) win 1 <FOEXP>').options).toEqual([{ kind: 'fo', cookie: new Uint8Array(0), exp: true }]);
    expect(packet('0 < S 0:0(0) win 1 <FO abcd>').unsupported).toBeNull();
    expect(() => parseScript('0 < S 0:0(0) win 1 <FO abc>')).toThrow(/even number of hex digits/);
    expect(() => parseScript('0 < S 0:0(0) win 1 <FO xyz1>')).toThrow(/hex digits/);
  });

  it('unsupported options and MPTCP addressing are parsed and flagged', () => {
    expect(packet('0 < S 0:0(0) win 1 <mss 1000,md5 abcd,nop>').unsupported).toMatch(/md5/);
    expect(packet('0 < addr[caddr1] > addr[saddr1] S 0:0(0) win 65535 <mss 1000>').unsupported).toMatch(/addressing/);
    expect(packet('0 < addr[ep=inet_addr("198.51.100.2")] > addr[saddr0] S 0:0(0) win 1').unsupported).toMatch(/addressing/);
  });

  it('explicit addressing addr[caddrN] > addr[saddr0]: remote and local index by direction', () => {
    const i = packet('0 < addr[caddr2] > addr[saddr0] S 0:0(0) win 65535 <mss 1000>');
    expect([i.addr, i.unsupported, i.spec]).toMatchObject([{ remote: 2, local: 0 }, null, { proto: 'tcp', start: 0 }]);
    const o = packet('0 > addr[saddr0] > addr[caddr1] S. 0:0(0) ack 1 <...>');
    expect([o.addr, o.unsupported]).toEqual([{ remote: 1, local: 0 }, null]);
    expect(packet('0 < S 0:0(0) win 1').addr).toBeNull();
  });
});

describe('syscalls', () => {
  it('..., symbols, |, arrays, structs, calls, errno and comments; spans lines', () => {
    const c = syscall(`0 setsockopt(3, SOL_SOCKET,
        SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0`);
    expect(c.name).toBe('setsockopt');
    expect(c.args[3]).toMatchObject({ kind: 'struct', fields: [{ name: 'l_onoff' }, { name: 'l_linger' }] });
    const k = syscall('0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
    expect(k.args.map((a) => a.kind)).toEqual(['num', 'ellipsis', 'ellipsis']);
    expect(k.errno).toBe('EINPROGRESS');
    const f = syscall('0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0x2 (flags O_RDWR)');
    expect(f.args[2]!.kind).toBe('or');
    expect(f.result).toMatchObject({ kind: 'num', value: 2 });
    const g = syscall('0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0');
    expect(g.args[3]).toMatchObject({ kind: 'array', items: [{ kind: 'sym', name: 'ECONNRESET' }] });
    const p = syscall('0 poll([{fd=3, events=POLLIN, revents=POLLIN}], 1, 0) = 1');
    expect(p.args[0]).toMatchObject({ kind: 'array', items: [{ kind: 'struct' }] });
    const m = syscall('0 sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{iov_base=..., iov_len=10}], msg_flags=0}, 0) = 10');
    expect(m.args[1]).toMatchObject({ kind: 'struct', fields: [{ name: 'msg_name' }, { name: 'msg_iov' }, { name: 'msg_flags' }] });
    expect(syscall('0 bind(3, {sin_port=htons(8080)}, 16) = 0').args[1]).toMatchObject({ fields: [{ value: { kind: 'call', name: 'htons' } }] });
    expect(syscall('0 linger_test(3, linger {onoff=1, linger=0}) = 0').args[1]).toMatchObject({ kind: 'struct', type: 'linger' });
  });
});

describe('shell, code, header options, comments, #ifdef', () => {
  it('reads them all', () => {
    const s = parseScript(`// comment
--ip_version=ipv6
--tolerance_usecs=10000
/* block
   comment */
\`sysctl -w net.inet.tcp.msl=100\`
0 %{
assert tcpi_state == 4
}%
+0 \`tcpdrop -s ESTABLISHED\` // trailing
`);
    expect(s.options.map((o) => [o.name, o.value])).toEqual([['ip_version', 'ipv6'], ['tolerance_usecs', '10000']]);
    expect(s.events.map((e) => e.action.kind)).toEqual(['command', 'code', 'command']);
    expect(s.events[0]!.time).toEqual({ kind: 'rel', us: 0 });
    expect(s.events[1]!.action).toMatchObject({ code: expect.stringContaining('assert tcpi_state == 4') });
  });

  it('#ifdef keeps a block only when defined, and keeps line numbers', () => {
    const text = '0 close(3) = 0\n#ifdef FreeBSD\n+0 close(4) = 0\n#endif\n+0 close(5) = 0\n';
    expect(parseScript(text, new Set()).events.map((e) => e.loc.line)).toEqual([1, 5]);
    expect(parseScript(text, new Set(['FreeBSD'])).events.map((e) => e.loc.line)).toEqual([1, 3, 5]);
    expect(preprocess(text, new Set()).split('\n').length).toBe(text.split('\n').length);
  });
});

describe('syntax errors carry line and column', () => {
  it.each([
    ['0 close(3) = 0\n+0 > S. 0:5(0) <...>', 2, 9, /inconsistent sequence numbers/],
    ['0 close(3) = 0\n\n   +0 write(3, ..., 10 = 10', 3, 24, /',' or '\)'/],
    ['0 < . 1:1(0) ack 1', 1, 19, /window/],
    ['0 < S 0:0(0) win 1 <...>', 1, 21, /only on outbound/],
    ['0 close(3) = 0\nfoo', 2, 1, /event time/],
    ['#ifdef X\n0 close(3) = 0', 1, 1, /without #endif/],
    ['0 < S 0:0(0) win 1 <mss 1,', 1, 27, /TCP option/],
  ])('%j', (text, line, col, re) => {
    const e = syntaxError(text as string);
    expect([e.line, e.col]).toEqual([line, col]);
    expect(e.reason).toMatch(re as RegExp);
    expect(e.message).toMatch(new RegExp(`^${line}:${col}: syntax error`));
  });
});
