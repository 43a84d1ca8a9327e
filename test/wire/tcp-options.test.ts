// TCP options: validation rules of RFC 9293 §3.2 / RFC 7323 / RFC 2018, layouts, the 40-byte cap.

import { describe, expect, it } from 'vitest';
import {
  MAX_TCPOPTLEN, TCP_MPTCP_SCAN_SLOTS, TcpOptionsScratch, emitTcpOptions, parseTcpOptions, prettyTcpOptions,
  scanTcpOptions, tcpOptionsLen, type TcpOptions,
} from '../../stack/wire/index.js';
import { hex, toHexString } from './fixtures/hex.js';

const parse = (h: string) => { const b = hex(h); return parseTcpOptions(b, 0, b.length); };
const scan = (h: string) => { const b = hex(h); return scanTcpOptions(b, 0, b.length, new TcpOptionsScratch()); };
const emit = (o: TcpOptions): string => {
  const b = new Uint8Array(MAX_TCPOPTLEN);
  const n = emitTcpOptions(o, b, 0);
  expect(n).toBe(tcpOptionsLen(o));
  return toHexString(b.subarray(0, n));
};

describe('parseTcpOptions', () => {
  it('reads the classic SYN options and skips NOPs', () => {
    expect(parse('020405b4 0402 080a 00000001 00000000 01 030307')).toEqual({
      mss: 1460, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 }, wscale: 7,
    });
  });

  it('stops at EOL and ignores what follows', () => {
    expect(parse('020405b4 00 ff ff ff')).toEqual({ mss: 1460 });
    expect(parse('')).toEqual({});
  });

  it('clamps a window scale above 14 and keeps the raw value (RFC 7323 §2.3)', () => {
    expect(parse('01 03030f')).toEqual({ wscale: 14, wscaleRaw: 15 });
    expect(parse('01 0303ff')).toEqual({ wscale: 14, wscaleRaw: 255 });
    expect(parse('01 03030e')).toEqual({ wscale: 14 });
  });

  it('reads 1 to 4 SACK blocks', () => {
    expect(parse('0101 050a 00000001 00000002')).toEqual({ sack: [[1, 2]] });
    expect(parse('0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008'))
      .toEqual({ sack: [[1, 2], [3, 4], [5, 6], [7, 8]] });
  });

  it('keeps MPTCP (kind 30) raw and unknown kinds with their data', () => {
    const o = parse('1e04 0181 fd04 abcd 1b02');
    if (typeof o === 'string') throw new Error(o);
    expect(o.mptcp?.map(toHexString)).toEqual(['1e040181']);
    expect(o.unknown?.map((u) => [u.kind, toHexString(u.data)])).toEqual([[0xfd, 'abcd'], [0x1b, '']]);
  });

  it.each([
    ['zero-length option', '0200'],
    ['one-length option', 'fd01'],
    ['length byte missing at the end', '0101 02'],
    ['length runs past the options area', '020405'],
    ['unknown option runs past the area', 'fd08 0000'],
    ['MSS with length 3', '020305 00'],
    ['window scale with length 4', '03040700'],
    ['SACK-permitted with length 3', '040300 00'],
    ['timestamps with length 8', '0808 000000000000'],
    ['SACK with no block', '0502'],
    ['SACK with a partial block', '0509 0000000100000002 00'],
    ['SACK with 5 blocks', '052a' + '00'.repeat(40)],
    ['MPTCP without a subtype', '1e02'],
  ])('rejects %s', (_name, h) => {
    expect(parse(h)).toBe('bad-option');
    expect(scan(h)).toBe('bad-option');
  });
});

describe('scanTcpOptions', () => {
  it('matches parseTcpOptions and resets between scans', () => {
    const s = new TcpOptionsScratch();
    const b = hex('020405b4 0402 080a 00000001 00000002 01 030309');
    expect(scanTcpOptions(b, 0, b.length, s)).toBeNull();
    expect([s.mss, s.sackPermitted, s.tsPresent, s.tsVal, s.tsEcr, s.wscale]).toEqual([1460, true, true, 1, 2, 9]);
    const c = hex('01 03031f 0101050a0000000a00000014 fd02');
    expect(scanTcpOptions(c, 0, c.length, s)).toBeNull();
    expect([s.mss, s.sackPermitted, s.tsPresent, s.wscale, s.sackCount, s.unknownCount]).toEqual([-1, false, false, 14, 1, 1]);
    expect([s.sackBlocks[0], s.sackBlocks[1]]).toEqual([10, 20]);
  });

  it('counts more MPTCP options than it has slots for', () => {
    const b = hex('1e030010'.slice(0, 6).repeat(TCP_MPTCP_SCAN_SLOTS + 2));
    const s = new TcpOptionsScratch();
    expect(scanTcpOptions(b, 0, b.length, s)).toBeNull();
    expect(s.mptcpCount).toBe(TCP_MPTCP_SCAN_SLOTS + 2);
    expect(Array.from(s.mptcpOffsets)).toEqual([0, 3, 6, 9]);
  });
});

describe('emitTcpOptions', () => {
  it('lays out a Linux SYN: MSS, SACK_PERM, TS, NOP, WS', () => {
    expect(emit({ mss: 1460, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 }, wscale: 7 }))
      .toBe('020405b4' + '0402080a0000000100000000' + '01030307');
  });

  it('uses NOP padding so every option stays aligned', () => {
    expect(emit({ mss: 536, sackPermitted: true, wscale: 0 })).toBe('02040218' + '01010402' + '01030300');
    expect(emit({ timestamps: { tsVal: 5, tsEcr: 6 } })).toBe('0101080a0000000500000006');
    expect(emit({ sack: [[1, 2]] })).toBe('0101050a0000000100000002');
    expect(emit({})).toBe('');
  });

  it('pads raw options with EOL (zero) to a multiple of 4', () => {
    expect(emit({ mptcp: [hex('1e050000ff')] })).toBe('1e050000ff000000');
    expect(emit({ unknown: [{ kind: 0xfd, data: hex('01') }] })).toBe('fd030100');
  });

  it('drops SACK blocks from the end to stay within 40 bytes', () => {
    const sack: Array<[number, number]> = [[1, 2], [3, 4], [5, 6], [7, 8]];
    expect(tcpOptionsLen({ sack })).toBe(36);
    const withTs: TcpOptions = { timestamps: { tsVal: 1, tsEcr: 2 }, sack };
    expect(tcpOptionsLen(withTs)).toBe(40); // 12 + 4 + 3 * 8
    const b = new Uint8Array(40);
    emitTcpOptions(withTs, b, 0);
    expect(parseTcpOptions(b, 0, 40)).toEqual({ timestamps: { tsVal: 1, tsEcr: 2 }, sack: sack.slice(0, 3) });
    // Never more than 4 blocks, even if the caller passes more.
    expect(tcpOptionsLen({ sack: [...sack, [9, 10]] })).toBe(36);
  });

  it('drops unknown and then MPTCP options that cannot fit', () => {
    const o: TcpOptions = {
      mss: 1460, timestamps: { tsVal: 1, tsEcr: 2 }, wscale: 1,
      mptcp: [hex('1e0c' + '00'.repeat(10))], unknown: [{ kind: 0xfe, data: new Uint8Array(7) }],
    };
    expect(tcpOptionsLen(o)).toBe(32); // 20 fixed + 12 MPTCP; the 9-byte unknown option is dropped
    expect(tcpOptionsLen({ ...o, mptcp: [hex('1e16' + '00'.repeat(20))] })).toBe(20); // both dropped
    expect(tcpOptionsLen({ ...o, unknown: [{ kind: 0xfe, data: new Uint8Array(6) }] })).toBe(40); // exactly fits
  });

  it('prints in wire order like tcpdump', () => {
    const b = hex('020405b4 0402 080a 00000001 00000000 01 030307 00');
    expect(prettyTcpOptions(b, 0, b.length)).toBe('mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,eol');
    expect(prettyTcpOptions(hex('0200'), 0, 2)).toBe('[bad opt]');
  });
});
