// The Fast Open option (RFC 7413 §4.1.1, kind 34): parse, emit, the allocation-free scan as XNU's
// tcp_dooptions records it (request, or a 4..16-byte cookie; other lengths ignored), tcpdump-style
// text; the experimental kind 254 is not Fast Open to XNU, so it stays an unknown option.

import { describe, expect, it } from 'vitest';
import {
  TcpOptionsScratch, emitTcpOptions, parseTcpOptions, prettyTcpOptions, scanTcpOptions, tcpOptionsLen,
  TCPOPT_FASTOPEN, TCPOPT_FASTOPEN_EXP,
} from '../../stack/wire/tcp-options.js';

const scan = (bytes: number[]): TcpOptionsScratch => {
  const s = new TcpOptionsScratch();
  expect(scanTcpOptions(Uint8Array.from(bytes), 0, bytes.length, s)).toBeNull();
  return s;
};

describe('Fast Open option', () => {
  it('parses a request and a cookie, and emits them back after the window scale', () => {
    const req = Uint8Array.from([2, 4, 5, 180, 34, 2, 0, 0]);
    expect(parseTcpOptions(req, 0, req.length)).toEqual({ mss: 1460, fastOpen: new Uint8Array(0) });
    const cookie = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const o = { mss: 1460, wscale: 7, fastOpen: cookie };
    expect(tcpOptionsLen(o)).toBe(20);
    const b = new Uint8Array(20);
    expect(emitTcpOptions(o, b, 0)).toBe(20);
    expect(Array.from(b)).toEqual([2, 4, 5, 180, 1, 3, 3, 7, TCPOPT_FASTOPEN, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
    expect(parseTcpOptions(b, 0, 20)).toEqual(o);
    expect(prettyTcpOptions(b, 0, 20)).toBe('mss 1460,nop,wscale 7,tfo cookie 0102030405060708,eol');
    expect(prettyTcpOptions(req, 0, req.length)).toBe('mss 1460,tfo cookiereq,eol');
  });

  it('scans a request, a 4..16-byte cookie (copied out), and ignores other lengths as XNU does', () => {
    expect(scan([34, 2]).foReq).toBe(true);
    const c4 = scan([34, 6, 9, 8, 7, 6]);
    expect(c4.foReq).toBe(false);
    expect(Array.from(c4.foCookie.subarray(0, c4.foCookieLen))).toEqual([9, 8, 7, 6]);
    const c16 = scan([34, 18, ...Array.from({ length: 16 }, (_, i) => i)]);
    expect(c16.foCookieLen).toBe(16);
    expect(c16.foCookie[15]).toBe(15);
    for (const bad of [[34, 3, 1], [34, 5, 1, 2, 3], [34, 19, ...new Array<number>(17).fill(1)]]) {
      const s = scan(bad);
      expect(s.foReq).toBe(false);
      expect(s.foCookieLen).toBe(0);
    }
    // The last valid cookie wins; a request is remembered beside it.
    const two = scan([34, 6, 1, 1, 1, 1, 34, 2, 34, 6, 2, 2, 2, 2]);
    expect(two.foReq).toBe(true);
    expect(Array.from(two.foCookie.subarray(0, two.foCookieLen))).toEqual([2, 2, 2, 2]);
    expect(scan([2, 4, 5, 180]).foCookieLen).toBe(0);
  });

  it('the experimental kind 254 (magic 0xF989) is an unknown option, not Fast Open', () => {
    const b = [TCPOPT_FASTOPEN_EXP, 8, 0xf9, 0x89, 1, 2, 3, 4];
    const s = scan(b);
    expect(s.foReq || s.foCookieLen > 0).toBe(false);
    expect(s.unknownCount).toBe(1);
    expect(parseTcpOptions(Uint8Array.from(b), 0, b.length)).toEqual({
      unknown: [{ kind: 254, data: Uint8Array.from([0xf9, 0x89, 1, 2, 3, 4]) }],
    });
  });
});
